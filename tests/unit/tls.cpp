// TLS in memory (server/net/tls.h): a client TlsSession and a server TlsSession
// exchange ciphertext through strings, no sockets. Covers the policy of
// BCP 195 / RFC 8314 as configured in TlsContext (TLS 1.2+ only, AEAD
// ciphers, renegotiation refused), the memory-BIO contract the Connection
// relies on (any split of the input, queued early writes, large writes,
// close_notify, failures with a reason) and the errors a bad configuration
// gives at startup.
#include "server/net/tls.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>

#include "server/net/certificate.h"

using imap::server::CertificatePem;
using imap::server::TlsClientOptions;
using imap::server::TlsContext;
using imap::server::TlsError;
using imap::server::TlsSession;
using imap::server::TlsVersion;

namespace {

// Key generation is the slow part; most tests share one certificate.
const CertificatePem& test_cert() {
    static const CertificatePem pem = imap::server::generate_self_signed({});
    return pem;
}

std::shared_ptr<const TlsContext> server_context() {
    static const auto context = TlsContext::from_pem(test_cert().chain_pem, test_cert().key_pem);
    return context;
}

TlsClientOptions trusting(const CertificatePem& pem) {
    TlsClientOptions options;
    options.ca_pem = pem.chain_pem;
    return options;
}

// One side of a connection and the plaintext it has received.
struct Peer {
    TlsSession session;
    std::string received;

    explicit Peer(std::shared_ptr<const TlsContext> context, std::string_view name = {})
        : session(std::move(context), name) {}
};

constexpr std::size_t kWhole = std::numeric_limits<std::size_t>::max();

// Delivers `bytes` to `to` in pieces of `step` bytes, reading plaintext
// after every piece, as a Connection does after every socket read.
void deliver(Peer& to, const std::string& bytes, std::size_t step) {
    for (std::size_t i = 0; i < bytes.size(); i += step) {
        to.session.feed_ciphertext(std::string_view(bytes).substr(i, step));
        to.session.read_plaintext(to.received);
    }
    to.session.read_plaintext(to.received);
}

// Moves ciphertext both ways until neither side has anything to send.
void pump(Peer& a, Peer& b, std::size_t step = kWhole) {
    for (int round = 0; round < 100; ++round) {
        std::string ab = a.session.take_ciphertext();
        std::string ba = b.session.take_ciphertext();
        if (ab.empty() && ba.empty()) return;
        deliver(b, ab, step);
        deliver(a, ba, step);
    }
    FAIL("ciphertext kept flowing after 100 rounds");
}

std::string fingerprint_of_peer(const TlsSession& session) {
    imap::server::ossl::X509Ptr cert(SSL_get1_peer_certificate(session.native_handle()));
    REQUIRE(cert != nullptr);
    imap::server::ossl::BioPtr bio(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_X509(bio.get(), cert.get()) == 1);
    char* data = nullptr;
    long size = BIO_get_mem_data(bio.get(), &data);
    return imap::server::sha256_fingerprint(std::string(data, static_cast<std::size_t>(size)));
}

std::string pattern(std::size_t size) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
    return s;
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string name = (std::filesystem::temp_directory_path() / "imapd-tls-XXXXXX").string();
        REQUIRE(mkdtemp(name.data()) != nullptr);
        path = name;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::filesystem::path write(const std::string& name, const std::string& contents) const {
        std::ofstream(path / name, std::ios::binary) << contents;
        return path / name;
    }
};

}  // namespace

TEST_CASE("TLS 1.3 is negotiated by default and the client verifies the certificate") {
    Peer server(server_context());
    Peer client(TlsContext::client(trusting(test_cert())), "localhost");
    CHECK(client.session.pending_ciphertext() > 0);  // the ClientHello
    pump(client, server);
    REQUIRE(server.session.handshake_done());
    REQUIRE(client.session.handshake_done());
    CHECK_FALSE(server.session.failed());
    CHECK(server.session.protocol_version() == "TLSv1.3");
    CHECK(client.session.protocol_version() == "TLSv1.3");
    CHECK(SSL_get_verify_result(client.session.native_handle()) == X509_V_OK);
    CHECK(fingerprint_of_peer(client.session) == server_context()->fingerprint());
}

TEST_CASE("TLS 1.2 uses ECDHE with an AEAD cipher") {
    TlsClientOptions options = trusting(test_cert());
    options.max_version = TlsVersion::Tls1_2;
    Peer server(server_context());
    Peer client(TlsContext::client(options), "127.0.0.1");
    pump(client, server);
    REQUIRE(server.session.handshake_done());
    CHECK(server.session.protocol_version() == "TLSv1.2");
    std::string cipher = server.session.cipher();
    CHECK(cipher.starts_with("ECDHE-ECDSA-"));
    bool aead = cipher.find("GCM") != std::string::npos ||
                cipher.find("CHACHA20-POLY1305") != std::string::npos;
    CHECK(aead);
}

TEST_CASE("TLS 1.1 is refused (RFC 8996) with a reason") {
    TlsClientOptions options;
    options.verify_peer = false;
    options.min_version = TlsVersion::Tls1_1;
    options.max_version = TlsVersion::Tls1_1;
    options.cipher_list = "DEFAULT:@SECLEVEL=0";  // let the client offer 1.1 at all
    Peer server(server_context());
    Peer client(TlsContext::client(options));
    pump(client, server);
    CHECK_FALSE(server.session.handshake_done());
    REQUIRE(server.session.failed());
    CHECK_THAT(server.session.error(),
               Catch::Contains("TLS handshake failed") && Catch::Contains("unsupported protocol"));
    CHECK(client.session.failed());  // it got the protocol_version alert
}

TEST_CASE("a TLS 1.2 client offering only CBC ciphers finds no shared cipher") {
    TlsClientOptions options;
    options.verify_peer = false;
    options.max_version = TlsVersion::Tls1_2;
    options.cipher_list = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA";
    Peer server(server_context());
    Peer client(TlsContext::client(options));
    pump(client, server);
    REQUIRE(server.session.failed());
    CHECK_THAT(server.session.error(), Catch::Contains("no shared cipher"));
}

TEST_CASE("data flows both ways, including 1 MiB in one write") {
    for (auto version : {TlsVersion::Tls1_2, TlsVersion::Tls1_3}) {
        DYNAMIC_SECTION("version " << static_cast<int>(version)) {
            TlsClientOptions options = trusting(test_cert());
            options.max_version = version;
            Peer server(server_context());
            Peer client(TlsContext::client(options), "localhost");
            pump(client, server);
            REQUIRE(server.session.handshake_done());

            client.session.write_plaintext("a001 CAPABILITY\r\n");
            server.session.write_plaintext("* CAPABILITY IMAP4rev1\r\n");
            pump(client, server);
            CHECK(server.received == "a001 CAPABILITY\r\n");
            CHECK(client.received == "* CAPABILITY IMAP4rev1\r\n");

            const std::string big = pattern(1 << 20);
            server.received.clear();
            client.received.clear();
            server.session.write_plaintext(big);
            client.session.write_plaintext(big);
            // Encrypted at once, so the caller can see and limit it.
            CHECK(server.session.pending_ciphertext() > big.size());
            CHECK(server.session.queued_plaintext() == 0);
            pump(client, server);
            CHECK(client.received.size() == big.size());
            CHECK(client.received == big);
            CHECK(server.received == big);
        }
    }
}

TEST_CASE("large writes are cut into records of at most 16 KiB") {
    Peer server(server_context());
    Peer client(TlsContext::client(trusting(test_cert())), "localhost");
    pump(client, server);
    server.session.write_plaintext(pattern(100000));
    std::string wire = server.session.take_ciphertext();
    std::size_t records = 0;
    for (std::size_t at = 0; at + 5 <= wire.size(); ++records) {
        std::size_t length = (static_cast<unsigned char>(wire[at + 3]) << 8) |
                             static_cast<unsigned char>(wire[at + 4]);
        CHECK(length <= 16384 + 256);  // RFC 8446 5.2: TLSCiphertext limit
        at += 5 + length;
    }
    CHECK(records >= 7);  // ceil(100000 / 16384)
}

TEST_CASE("ciphertext fed byte by byte gives the same result (partial records)") {
    for (auto version : {TlsVersion::Tls1_2, TlsVersion::Tls1_3}) {
        DYNAMIC_SECTION("version " << static_cast<int>(version)) {
            TlsClientOptions options = trusting(test_cert());
            options.max_version = version;
            Peer server(server_context());
            Peer client(TlsContext::client(options), "localhost");
            pump(client, server, 1);
            REQUIRE(server.session.handshake_done());
            REQUIRE(client.session.handshake_done());
            const std::string data = pattern(40000);
            client.session.write_plaintext(data);
            server.session.write_plaintext("* OK\r\n");
            pump(client, server, 1);
            CHECK(server.received == data);
            CHECK(client.received == "* OK\r\n");
        }
    }
}

TEST_CASE("plaintext written before the handshake is queued, never sent in clear") {
    Peer server(server_context());
    const std::string greeting = "* OK [CAPABILITY IMAP4rev1] imapd ready\r\n";
    server.session.write_plaintext(greeting);
    CHECK(server.session.queued_plaintext() == greeting.size());
    CHECK(server.session.pending_ciphertext() == 0);

    Peer client(TlsContext::client(trusting(test_cert())), "localhost");
    pump(client, server);
    REQUIRE(server.session.handshake_done());
    CHECK(server.session.queued_plaintext() == 0);
    CHECK(client.received == greeting);
}

TEST_CASE("take_ciphertext(max) hands out the output in pieces") {
    Peer server(server_context());
    Peer client(TlsContext::client(trusting(test_cert())), "localhost");
    pump(client, server);
    server.session.write_plaintext(pattern(5000));
    std::size_t total = server.session.pending_ciphertext();
    std::string first = server.session.take_ciphertext(1000);
    CHECK(first.size() == 1000);
    CHECK(server.session.pending_ciphertext() == total - 1000);
    deliver(client, first, kWhole);
    deliver(client, server.session.take_ciphertext(), kWhole);
    CHECK(client.received == pattern(5000));
}

TEST_CASE("renegotiation is refused on TLS 1.2: no second handshake, no crash") {
    TlsClientOptions options = trusting(test_cert());
    options.max_version = TlsVersion::Tls1_2;
    Peer server(server_context());
    Peer client(TlsContext::client(options), "localhost");
    // What the server does, seen through OpenSSL's info callback.
    struct Seen {
        int server_hellos = 0;
        int no_renegotiation_alerts = 0;
    };
    static Seen seen;
    seen = {};
    SSL_set_info_callback(server.session.native_handle(), [](const SSL* ssl, int where, int ret) {
        if ((where & SSL_CB_LOOP) != 0 && SSL_get_state(ssl) == TLS_ST_SW_SRVR_HELLO)
            ++seen.server_hellos;
        if ((where & SSL_CB_WRITE_ALERT) != 0 && (ret & 0xff) == SSL_AD_NO_RENEGOTIATION)
            ++seen.no_renegotiation_alerts;
    });
    pump(client, server);
    REQUIRE(server.session.handshake_done());
    CHECK(seen.server_hellos == 1);

    SSL* c = client.session.native_handle();
    REQUIRE(SSL_renegotiate(c) == 1);
    SSL_do_handshake(c);  // queues the renegotiation ClientHello
    CHECK(client.session.pending_ciphertext() > 0);
    pump(client, server);

    // The server answered the ClientHello with a no_renegotiation alert and
    // no ServerHello. OpenSSL's client then aborts with a fatal alert, which
    // ends the session cleanly with the reason.
    CHECK(seen.server_hellos == 1);
    CHECK(seen.no_renegotiation_alerts == 1);
    CHECK(client.session.failed());
    CHECK_THAT(client.session.error(), Catch::Contains("no renegotiation"));
    REQUIRE(server.session.failed());
    CHECK_THAT(server.session.error(),
               Catch::StartsWith("TLS read failed: ") && Catch::Contains("alert"));
    server.session.write_plaintext("ignored");
    CHECK(server.session.read_plaintext().empty());
}

TEST_CASE("TLS 1.3 KeyUpdate is not renegotiation and is allowed") {
    Peer server(server_context());
    Peer client(TlsContext::client(trusting(test_cert())), "localhost");
    pump(client, server);
    REQUIRE(SSL_key_update(client.session.native_handle(), SSL_KEY_UPDATE_REQUESTED) == 1);
    client.session.write_plaintext("a1 NOOP\r\n");
    pump(client, server);
    server.session.write_plaintext("a1 OK\r\n");
    pump(client, server);
    CHECK(server.received == "a1 NOOP\r\n");
    CHECK(client.received == "a1 OK\r\n");
    CHECK_FALSE(server.session.failed());
    CHECK_FALSE(client.session.failed());
}

TEST_CASE("close_notify: data before it arrives, then the peer sees the close") {
    Peer server(server_context());
    Peer client(TlsContext::client(trusting(test_cert())), "localhost");
    pump(client, server);
    client.session.write_plaintext("a9 LOGOUT\r\n");
    client.session.close_notify();
    CHECK(client.session.close_sent());
    client.session.write_plaintext("dropped after close");
    pump(client, server);
    CHECK(server.received == "a9 LOGOUT\r\n");
    CHECK(server.session.peer_closed());
    CHECK_FALSE(server.session.failed());

    server.session.write_plaintext("* BYE\r\n");
    server.session.close_notify();
    server.session.close_notify();  // idempotent
    pump(client, server);
    CHECK(client.received == "* BYE\r\n");
    CHECK(client.session.peer_closed());
    CHECK_FALSE(client.session.failed());
}

TEST_CASE("close_notify before the handshake only stops writing") {
    Peer server(server_context());
    server.session.write_plaintext("* OK\r\n");
    server.session.close_notify();
    CHECK(server.session.close_sent());
    CHECK(server.session.queued_plaintext() == 0);
    CHECK(server.session.pending_ciphertext() == 0);
    CHECK_FALSE(server.session.failed());
}

TEST_CASE("garbage instead of a ClientHello fails with a reason") {
    // An IMAP client speaking plaintext to port 993, and random junk.
    for (std::string junk : {std::string("a001 CAPABILITY\r\n"), pattern(300)}) {
        Peer server(server_context());
        server.session.feed_ciphertext(junk);
        server.session.read_plaintext(server.received);
        REQUIRE(server.session.failed());
        CHECK_THAT(server.session.error(), Catch::StartsWith("TLS handshake failed: "));
        CHECK(server.session.error().size() > std::string("TLS handshake failed: ").size());
        CHECK(server.received.empty());
        // Further input and output are ignored, not a crash.
        server.session.feed_ciphertext(junk);
        server.session.write_plaintext("* OK\r\n");
        CHECK(server.session.read_plaintext().empty());
    }
}

TEST_CASE("a corrupted record after the handshake fails the session") {
    Peer server(server_context());
    Peer client(TlsContext::client(trusting(test_cert())), "localhost");
    pump(client, server);
    client.session.write_plaintext("a1 NOOP\r\n");
    std::string record = client.session.take_ciphertext();
    record[record.size() - 3] ^= 0x55;  // inside the AEAD tag
    deliver(server, record, kWhole);
    REQUIRE(server.session.failed());
    CHECK_THAT(server.session.error(), Catch::StartsWith("TLS read failed: "));
    CHECK(server.received.empty());
    CHECK(server.session.pending_ciphertext() > 0);  // the bad_record_mac alert
}

TEST_CASE("a verifying client refuses a wrong name or an untrusted certificate") {
    SECTION("wrong name") {
        Peer server(server_context());
        Peer client(TlsContext::client(trusting(test_cert())), "mail.example.org");
        pump(client, server);
        REQUIRE(client.session.failed());
        CHECK_THAT(client.session.error(), Catch::Contains("certificate verify failed") &&
                                               Catch::Contains("hostname mismatch"));
    }
    SECTION("untrusted certificate") {
        Peer server(server_context());
        Peer client(TlsContext::client(trusting(imap::server::generate_self_signed({}))),
                    "localhost");
        pump(client, server);
        REQUIRE(client.session.failed());
        CHECK_THAT(client.session.error(), Catch::Contains("certificate verify failed"));
    }
}

TEST_CASE("certificate files: a missing path is named in the error") {
    TempDir dir;
    auto key = dir.write("key.pem", test_cert().key_pem);
    auto missing = dir.path / "no-such-cert.pem";
    try {
        (void)TlsContext::from_files(missing, key);
        FAIL("no exception");
    } catch (const TlsError& e) {
        CHECK_THAT(e.what(), Catch::Contains("TLS certificate chain") &&
                                 Catch::Contains(missing.string()) &&
                                 Catch::Contains("No such file or directory"));
    }
    auto cert = dir.write("cert.pem", test_cert().chain_pem);
    try {
        (void)TlsContext::from_files(cert, dir.path / "no-such-key.pem");
        FAIL("no exception");
    } catch (const TlsError& e) {
        CHECK_THAT(e.what(), Catch::Contains("TLS private key") &&
                                 Catch::Contains("no-such-key.pem") &&
                                 Catch::Contains("No such file or directory"));
    }
}

TEST_CASE("certificate files: a key that does not match the certificate") {
    TempDir dir;
    auto other = imap::server::generate_self_signed({});
    auto cert = dir.write("cert.pem", test_cert().chain_pem);
    auto key = dir.write("key.pem", other.key_pem);
    try {
        (void)TlsContext::from_files(cert, key);
        FAIL("no exception");
    } catch (const TlsError& e) {
        CHECK_THAT(e.what(),
                   Catch::Contains(key.string() + "' does not match the certificate in '" +
                                   cert.string()) &&
                       Catch::Contains("mismatch"));
    }
}

TEST_CASE("certificate files: wrong contents give a clear reason") {
    TempDir dir;
    auto cert = dir.write("cert.pem", test_cert().chain_pem);
    auto key = dir.write("key.pem", test_cert().key_pem);
    SECTION("a key where the certificate should be") {
        CHECK_THROWS_WITH(TlsContext::from_files(key, key),
                          Catch::Contains(key.string()) && Catch::Contains("no certificate found"));
    }
    SECTION("a certificate where the key should be") {
        CHECK_THROWS_WITH(
            TlsContext::from_files(cert, cert),
            Catch::Contains(cert.string()) && Catch::Contains("no private key found"));
    }
    SECTION("an empty file") {
        auto empty = dir.write("empty.pem", "");
        CHECK_THROWS_WITH(TlsContext::from_files(empty, key),
                          Catch::Contains("no certificate found"));
    }
    SECTION("a damaged certificate") {
        std::string damaged = test_cert().chain_pem;
        damaged[damaged.size() / 2] = '!';
        auto bad = dir.write("bad.pem", damaged);
        CHECK_THROWS_WITH(
            TlsContext::from_files(bad, key),
            Catch::Contains(bad.string()) && Catch::Contains("cannot parse certificate"));
    }
    SECTION("an encrypted key") {
        imap::server::ossl::BioPtr in(BIO_new_mem_buf(
            test_cert().key_pem.data(), static_cast<int>(test_cert().key_pem.size())));
        imap::server::ossl::EvpPkeyPtr pkey(
            PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
        REQUIRE(pkey != nullptr);
        imap::server::ossl::BioPtr out(BIO_new(BIO_s_mem()));
        char password[] = "secret";
        REQUIRE(PEM_write_bio_PKCS8PrivateKey(out.get(), pkey.get(), EVP_aes_256_cbc(), password, 6,
                                              nullptr, nullptr) == 1);
        char* data = nullptr;
        long size = BIO_get_mem_data(out.get(), &data);
        auto encrypted = dir.write("encrypted.pem", std::string(data, size));
        CHECK_THROWS_WITH(TlsContext::from_files(cert, encrypted),
                          Catch::Contains(encrypted.string()) && Catch::Contains("encrypted"));
    }
    SECTION("certificate and key in one file") {
        auto both = dir.write("both.pem", test_cert().key_pem + test_cert().chain_pem);
        auto context = TlsContext::from_files(both, both);
        CHECK(context->fingerprint() == imap::server::sha256_fingerprint(test_cert().chain_pem));
    }
}

TEST_CASE("reload: a new context serves new sessions, open sessions keep theirs") {
    auto first_pem = imap::server::generate_self_signed({});
    std::shared_ptr<const TlsContext> current =
        TlsContext::from_pem(first_pem.chain_pem, first_pem.key_pem);
    const std::string first_fingerprint = current->fingerprint();

    Peer old_server(current);
    Peer old_client(TlsContext::client(trusting(first_pem)), "localhost");
    pump(old_client, old_server);
    REQUIRE(old_server.session.handshake_done());

    // SIGHUP: build a new context and swap it in; the server's pointer no
    // longer refers to the old one, only the open session does.
    auto second_pem = imap::server::generate_self_signed({});
    current = TlsContext::from_pem(second_pem.chain_pem, second_pem.key_pem);
    CHECK(current->fingerprint() != first_fingerprint);
    CHECK(old_server.session.context().use_count() == 1);

    old_client.session.write_plaintext("a1 NOOP\r\n");
    old_server.session.write_plaintext("* 3 EXISTS\r\n");
    pump(old_client, old_server);
    CHECK(old_server.received == "a1 NOOP\r\n");
    CHECK(old_client.received == "* 3 EXISTS\r\n");

    Peer new_server(current);
    Peer new_client(TlsContext::client(trusting(second_pem)), "localhost");
    pump(new_client, new_server);
    REQUIRE(new_server.session.handshake_done());
    CHECK(fingerprint_of_peer(new_client.session) == current->fingerprint());
}

TEST_CASE("server context reports the leaf fingerprint and expiry for the log") {
    auto context = server_context();
    CHECK(context->is_server());
    CHECK(context->fingerprint() == imap::server::sha256_fingerprint(test_cert().chain_pem));
    CHECK(context->not_after() > std::chrono::system_clock::now() + std::chrono::hours(24 * 800));
    CHECK_FALSE(TlsContext::client()->is_server());
}
