// The self-signed certificate of a first run (server/net/certificate.h): what it
// contains (ECDSA P-256, SHA-256, serverAuth, the loopback names plus the
// configured hostname in subjectAltName, RFC 6125 6.4.4), its fingerprint
// format, and the data-directory files: key mode 0600, atomic writes, reuse
// on later runs and regeneration when the files cannot be reused.
#include "server/net/certificate.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "server/net/tls.h"

using imap::server::CertificateError;
using imap::server::CertificatePem;
using imap::server::generate_self_signed;
using imap::server::load_or_generate_self_signed;
using imap::server::SelfSignedOptions;
using imap::server::sha256_fingerprint;
namespace ossl = imap::server::ossl;

namespace {

ossl::X509Ptr parse(const std::string& pem) {
    ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    ossl::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    REQUIRE(cert != nullptr);
    return cert;
}

// subjectAltName entries as "DNS:name" / "IP:address".
std::set<std::string> alt_names(X509* cert) {
    std::set<std::string> out;
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    REQUIRE(names != nullptr);
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
        if (name->type == GEN_DNS) {
            const ASN1_IA5STRING* dns = name->d.dNSName;
            out.insert("DNS:" +
                       std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                   ASN1_STRING_length(dns)));
        } else if (name->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* ip = name->d.iPAddress;
            const unsigned char* b = ASN1_STRING_get0_data(ip);
            if (ASN1_STRING_length(ip) == 4) {
                out.insert("IP:" + std::to_string(b[0]) + "." + std::to_string(b[1]) + "." +
                           std::to_string(b[2]) + "." + std::to_string(b[3]));
            } else {
                out.insert("IP:v6:" + std::to_string(ASN1_STRING_length(ip)) + ":" +
                           std::to_string(b[15]));
            }
        } else {
            out.insert("other");
        }
    }
    GENERAL_NAMES_free(names);
    return out;
}

unsigned file_mode(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string name = (std::filesystem::temp_directory_path() / "imapd-cert-XXXXXX").string();
        REQUIRE(mkdtemp(name.data()) != nullptr);
        path = name;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("generated certificate: ECDSA P-256, SHA-256, v3, a server certificate") {
    CertificatePem pem = generate_self_signed({});
    CHECK(pem.chain_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    CHECK(pem.key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));  // PKCS#8, unencrypted

    auto cert = parse(pem.chain_pem);
    CHECK(X509_get_version(cert.get()) == X509_VERSION_3);
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    REQUIRE(key != nullptr);
    CHECK(EVP_PKEY_is_a(key, "EC"));
    char group[64] = {};
    REQUIRE(EVP_PKEY_get_group_name(key, group, sizeof group, nullptr) == 1);
    CHECK(std::string(group) == "prime256v1");
    CHECK(X509_get_signature_nid(cert.get()) == NID_ecdsa_with_SHA256);
    CHECK(X509_verify(cert.get(), key) == 1);  // self-signed

    CHECK(X509_check_ca(cert.get()) == 0);  // CA:FALSE
    CHECK((X509_get_extended_key_usage(cert.get()) & XKU_SSL_SERVER) != 0);
    CHECK((X509_get_key_usage(cert.get()) & KU_DIGITAL_SIGNATURE) != 0);

    // The key loads back and matches (TlsContext checks the pair).
    auto context = imap::server::TlsContext::from_pem(pem.chain_pem, pem.key_pem);
    CHECK(context->fingerprint() == sha256_fingerprint(pem.chain_pem));
}

TEST_CASE("generated certificate: valid from about now for validity_days") {
    auto now = std::chrono::system_clock::now();
    CertificatePem pem = generate_self_signed({});
    auto not_after = imap::server::certificate_not_after(pem.chain_pem);
    auto days = std::chrono::duration_cast<std::chrono::hours>(not_after - now).count() / 24.0;
    CHECK(days > 824.9);
    CHECK(days < 825.1);
    auto cert = parse(pem.chain_pem);
    CHECK(X509_cmp_current_time(X509_get0_notBefore(cert.get())) < 0);

    SelfSignedOptions shorter;
    shorter.validity_days = 10;
    auto short_after = imap::server::certificate_not_after(generate_self_signed(shorter).chain_pem);
    CHECK(short_after < now + std::chrono::hours(24 * 11));
    shorter.validity_days = 0;
    CHECK_THROWS_AS(generate_self_signed(shorter), CertificateError);
}

TEST_CASE("generated certificate: two are never alike (serial, key, fingerprint)") {
    auto a = generate_self_signed({});
    auto b = generate_self_signed({});
    CHECK(a.key_pem != b.key_pem);
    CHECK(sha256_fingerprint(a.chain_pem) != sha256_fingerprint(b.chain_pem));
    auto ca = parse(a.chain_pem);
    auto cb = parse(b.chain_pem);
    CHECK(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca.get()), X509_get0_serialNumber(cb.get())) !=
          0);
}

TEST_CASE("subjectAltName: loopback names plus the configured hostname (RFC 6125)") {
    SECTION("no hostname") {
        auto cert = parse(generate_self_signed({}).chain_pem);
        CHECK(alt_names(cert.get()) ==
              std::set<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:v6:16:1"});
        CHECK(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
        CHECK(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
        CHECK(X509_check_ip_asc(cert.get(), "::1", 0) == 1);
        CHECK(X509_check_host(cert.get(), "mail.example.org", 0, 0, nullptr) == 0);
    }
    SECTION("a DNS hostname") {
        SelfSignedOptions options;
        options.hostname = "mail.example.org";
        auto cert = parse(generate_self_signed(options).chain_pem);
        CHECK(alt_names(cert.get()) == std::set<std::string>{"DNS:localhost", "IP:127.0.0.1",
                                                             "IP:v6:16:1", "DNS:mail.example.org"});
        CHECK(X509_check_host(cert.get(), "mail.example.org", 0, 0, nullptr) == 1);
        CHECK(X509_check_host(cert.get(), "other.example.org", 0, 0, nullptr) == 0);
        char cn[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
        CHECK(std::string(cn) == "mail.example.org");
    }
    SECTION("an IP address hostname becomes an IP entry") {
        SelfSignedOptions options;
        options.hostname = "192.0.2.7";
        auto cert = parse(generate_self_signed(options).chain_pem);
        CHECK(alt_names(cert.get()).count("IP:192.0.2.7") == 1);
        CHECK(X509_check_ip_asc(cert.get(), "192.0.2.7", 0) == 1);
    }
    SECTION("a hostname that is not a DNS name is refused, not injected") {
        for (std::string bad :
             {std::string("mail.example.org,DNS:evil.example"), std::string("a b"),
              std::string("-bad.example"), std::string("bad-.example"), std::string("a..b"),
              std::string("x."), std::string("*."), std::string(300, 'a')}) {
            SelfSignedOptions options;
            options.hostname = bad;
            CHECK_THROWS_WITH(generate_self_signed(options),
                              Catch::Contains("neither a DNS name nor an IP address"));
        }
        SelfSignedOptions wildcard;
        wildcard.hostname = "*.example.org";
        CHECK_NOTHROW(generate_self_signed(wildcard));
    }
}

TEST_CASE("fingerprint: SHA-256 of the DER as colon-separated upper-case hex") {
    CertificatePem pem = generate_self_signed({});
    std::string fingerprint = sha256_fingerprint(pem.chain_pem);
    // "AB:CD:...": 32 pairs of upper-case hex digits. (Checked by hand: GCC 12
    // warns inside <regex> at -O2 with sanitizers.)
    REQUIRE(fingerprint.size() == 32 * 3 - 1);
    for (std::size_t i = 0; i < fingerprint.size(); ++i) {
        char c = fingerprint[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
        CHECK((i % 3 == 2 ? c == ':' : hex));
    }

    // Computed independently over i2d_X509's DER.
    auto cert = parse(pem.chain_pem);
    unsigned char* der = nullptr;
    int der_length = i2d_X509(cert.get(), &der);
    REQUIRE(der_length > 0);
    unsigned char digest[32];
    unsigned int digest_length = 0;
    REQUIRE(EVP_Digest(der, static_cast<std::size_t>(der_length), digest, &digest_length,
                       EVP_sha256(), nullptr) == 1);
    OPENSSL_free(der);
    char expected[3 * 32] = {};
    for (unsigned i = 0; i < digest_length; ++i)
        std::snprintf(expected + 3 * i, 4, i + 1 < digest_length ? "%02X:" : "%02X", digest[i]);
    CHECK(fingerprint == expected);

    CHECK_THROWS_WITH(sha256_fingerprint("not a certificate"),
                      Catch::Contains("no PEM certificate found"));
}

TEST_CASE("first run generates into the data directory, later runs reuse") {
    TempDir dir;
    auto data = dir.path / "nested" / "data";  // created when missing
    auto first = load_or_generate_self_signed(data, {});
    CHECK(first.generated);
    CHECK(first.reason == "first run");
    CHECK(first.cert_path == data / "self-signed-cert.pem");
    CHECK(first.key_path == data / "self-signed-key.pem");
    CHECK(file_mode(first.key_path) == 0600);
    CHECK(file_mode(first.cert_path) == 0644);
    CHECK(read_file(first.cert_path) == first.pem.chain_pem);
    CHECK(read_file(first.key_path) == first.pem.key_pem);
    CHECK(first.fingerprint == sha256_fingerprint(first.pem.chain_pem));
    // No temporary files left behind.
    CHECK(std::distance(std::filesystem::directory_iterator(data),
                        std::filesystem::directory_iterator()) == 2);

    auto second = load_or_generate_self_signed(data, {});
    CHECK_FALSE(second.generated);
    CHECK(second.fingerprint == first.fingerprint);
    CHECK(second.pem.key_pem == first.pem.key_pem);
    // The files from disk make a working server context.
    auto context = imap::server::TlsContext::from_files(second.cert_path, second.key_path);
    CHECK(context->fingerprint() == first.fingerprint);
}

TEST_CASE("generated files are regenerated when they cannot be reused") {
    TempDir dir;
    auto first = load_or_generate_self_signed(dir.path, {});

    SECTION("an interrupted run left only the key") {
        std::filesystem::remove(first.cert_path);
        auto again = load_or_generate_self_signed(dir.path, {});
        CHECK(again.generated);
        CHECK(again.reason == "an earlier run was interrupted");
        CHECK(again.fingerprint != first.fingerprint);
        CHECK(file_mode(again.key_path) == 0600);
    }
    SECTION("the configured hostname changed") {
        SelfSignedOptions options;
        options.hostname = "mail.example.org";
        auto again = load_or_generate_self_signed(dir.path, options);
        CHECK(again.generated);
        CHECK_THAT(again.reason, Catch::Contains("mail.example.org"));
        auto third = load_or_generate_self_signed(dir.path, options);
        CHECK_FALSE(third.generated);
        CHECK(third.fingerprint == again.fingerprint);
    }
    SECTION("the certificate expires within 30 days") {
        SelfSignedOptions soon;
        soon.validity_days = 20;
        auto pem = generate_self_signed(soon);
        imap::server::write_file_atomically(first.key_path, pem.key_pem, 0600);
        imap::server::write_file_atomically(first.cert_path, pem.chain_pem, 0644);
        auto again = load_or_generate_self_signed(dir.path, {});
        CHECK(again.generated);
        CHECK(again.reason == "the previous one expires soon");
        CHECK(imap::server::certificate_not_after(again.pem.chain_pem) >
              std::chrono::system_clock::now() + std::chrono::hours(24 * 800));
    }
}

TEST_CASE("damaged generated files are an error naming the file, never overwritten") {
    TempDir dir;
    auto first = load_or_generate_self_signed(dir.path, {});
    SECTION("unparsable certificate") {
        imap::server::write_file_atomically(first.cert_path, "garbage\n", 0644);
        CHECK_THROWS_WITH(
            load_or_generate_self_signed(dir.path, {}),
            Catch::Contains(first.cert_path.string()) && Catch::Contains("delete both files"));
        CHECK(read_file(first.cert_path) == "garbage\n");
    }
    SECTION("a key from another pair") {
        imap::server::write_file_atomically(first.key_path, generate_self_signed({}).key_pem, 0600);
        CHECK_THROWS_WITH(
            load_or_generate_self_signed(dir.path, {}),
            Catch::Contains(first.key_path.string()) && Catch::Contains("does not match"));
    }
}

TEST_CASE("write_file_atomically replaces the file whole and sets the mode") {
    TempDir dir;
    auto path = dir.path / "file.pem";
    imap::server::write_file_atomically(path, "first", 0644);
    CHECK(read_file(path) == "first");
    CHECK(file_mode(path) == 0644);
    imap::server::write_file_atomically(path, "second, longer", 0600);
    CHECK(read_file(path) == "second, longer");
    CHECK(file_mode(path) == 0600);
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path),
                        std::filesystem::directory_iterator()) == 1);
    auto missing = dir.path / "no-such-dir" / "file.pem";
    CHECK_THROWS_WITH(
        imap::server::write_file_atomically(missing, "x", 0600),
        Catch::Contains(missing.string()) && Catch::Contains("No such file or directory"));
}
