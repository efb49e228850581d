#include "server/net/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "server/net/certificate.h"

namespace imap::server {

namespace ossl {

std::string take_errors() {
    std::string out;
    const char* data = nullptr;
    int flags = 0;
    while (unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
        if (!out.empty()) out += "; ";
        const char* reason = ERR_reason_error_string(code);
        if (reason != nullptr) {
            out += reason;
        } else {
            char buffer[256];
            ERR_error_string_n(code, buffer, sizeof buffer);
            out += buffer;
        }
        if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
            out += " (";
            out += data;
            out += ')';
        }
    }
    if (out.empty()) out = "unknown OpenSSL error";
    return out;
}

std::string read_pem_file(const std::filesystem::path& path, std::string_view what) {
    auto error = [&](const std::string& reason) {
        return TlsError(std::string(what) + " '" + path.string() + "': " + reason);
    };
    auto close = [](std::FILE* f) { std::fclose(f); };
    std::unique_ptr<std::FILE, decltype(close)> file(std::fopen(path.c_str(), "rb"), close);
    if (!file) throw error(std::string("cannot open: ") + std::strerror(errno));
    std::string contents;
    char buffer[8192];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, file.get())) {
        contents.append(buffer, n);
        if (contents.size() > kMaxPemFileSize) throw error("larger than 1 MiB, not a PEM file");
    }
    if (std::ferror(file.get())) throw error(std::string("cannot read: ") + std::strerror(errno));
    return contents;
}

}  // namespace ossl

namespace {

using ossl::BioPtr;
using ossl::EvpPkeyPtr;
using ossl::X509Ptr;

// OpenSSL's default password callback prompts on the terminal; a server must
// fail instead.
int no_password(char*, int, int, void*) {
    return -1;
}

int version_number(TlsVersion v) {
    switch (v) {
        case TlsVersion::Tls1_0:
            return TLS1_VERSION;
        case TlsVersion::Tls1_1:
            return TLS1_1_VERSION;
        case TlsVersion::Tls1_2:
            return TLS1_2_VERSION;
        case TlsVersion::Tls1_3:
            return TLS1_3_VERSION;
    }
    return TLS1_3_VERSION;
}

BioPtr memory_bio(std::string_view pem) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) throw TlsError("cannot allocate BIO: " + ossl::take_errors());
    return bio;
}

// True when the last error is "no more PEM blocks", i.e. a clean end of input.
bool at_pem_end() {
    unsigned long code = ERR_peek_last_error();
    return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
}

std::vector<X509Ptr> parse_chain(std::string_view pem, const std::string& where) {
    std::vector<X509Ptr> chain;
    BioPtr bio = memory_bio(pem);
    ERR_clear_error();
    while (true) {
        // Non-certificate blocks (a key in a combined file) are skipped.
        X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
        if (!cert) break;
        chain.push_back(std::move(cert));
    }
    if (!at_pem_end()) throw TlsError(where + ": cannot parse certificate: " + ossl::take_errors());
    ERR_clear_error();
    if (chain.empty())
        throw TlsError(where + ": no certificate found (expected -----BEGIN CERTIFICATE-----)");
    return chain;
}

EvpPkeyPtr parse_key(std::string_view pem, const std::string& where) {
    BioPtr bio = memory_bio(pem);
    ERR_clear_error();
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    if (key) return key;
    if (pem.find("ENCRYPTED") != std::string_view::npos) {
        ERR_clear_error();
        throw TlsError(where +
                       ": the private key is encrypted; imapd needs an unencrypted key "
                       "(protect it with file permissions, e.g. mode 0600)");
    }
    // OpenSSL 3's decoders report a missing key as "unsupported"; say it
    // plainly. Any "-----BEGIN ... PRIVATE KEY-----" (PKCS#8, EC, RSA) counts.
    if (pem.find("PRIVATE KEY-----") == std::string_view::npos) {
        ERR_clear_error();
        throw TlsError(where + ": no private key found (expected -----BEGIN PRIVATE KEY-----)");
    }
    throw TlsError(where + ": cannot parse private key: " + ossl::take_errors());
}

std::string quoted(std::string_view what, std::string_view source) {
    return std::string(what) + " '" + std::string(source) + "'";
}

}  // namespace

TlsContext::TlsContext(ossl::SslCtxPtr ctx, bool server) : ctx_(std::move(ctx)), server_(server) {}
TlsContext::~TlsContext() = default;

std::shared_ptr<const TlsContext> TlsContext::from_files(const std::filesystem::path& chain_file,
                                                         const std::filesystem::path& key_file) {
    std::string chain = ossl::read_pem_file(chain_file, "TLS certificate chain");
    std::string key = ossl::read_pem_file(key_file, "TLS private key");
    return from_pem(chain, key, chain_file.string(), key_file.string());
}

std::shared_ptr<const TlsContext> TlsContext::from_pem(std::string_view chain_pem,
                                                       std::string_view key_pem,
                                                       std::string_view chain_source,
                                                       std::string_view key_source) {
    const std::string chain_where = quoted("TLS certificate chain", chain_source);
    const std::string key_where = quoted("TLS private key", key_source);
    std::vector<X509Ptr> chain = parse_chain(chain_pem, chain_where);
    EvpPkeyPtr key = parse_key(key_pem, key_where);

    ERR_clear_error();
    ossl::SslCtxPtr ctx(SSL_CTX_new_ex(nullptr, nullptr, TLS_server_method()));
    if (!ctx) throw TlsError("cannot create a TLS context: " + ossl::take_errors());
    SSL_CTX* c = ctx.get();

    // RFC 8996 / BCP 195: nothing older than TLS 1.2; no upper bound, so 1.3
    // is negotiated whenever the client has it.
    bool ok = SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) == 1 &&
              SSL_CTX_set_cipher_list(c, kTls12Ciphers) == 1 &&
              SSL_CTX_set_ciphersuites(c, kTls13Ciphersuites) == 1 &&
              SSL_CTX_set1_groups_list(c, kTlsGroups) == 1;
    if (!ok) throw TlsError("cannot configure the TLS context: " + ossl::take_errors());
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
                               SSL_OP_NO_TICKET);
    // No resumption (see tls.h): no TLS 1.3 tickets, no server-side cache.
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    // RELEASE_BUFFERS: idle connections hold no record buffers.
    // ACCEPT_MOVING_WRITE_BUFFER: a retried SSL_write may come from a
    // different address (our queue may have been reallocated).
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    if (SSL_CTX_use_certificate(c, chain.front().get()) != 1)
        throw TlsError(chain_where + ": certificate refused: " + ossl::take_errors());
    for (std::size_t i = 1; i < chain.size(); ++i) {
        if (SSL_CTX_add1_chain_cert(c, chain[i].get()) != 1)
            throw TlsError(chain_where + ": intermediate certificate " + std::to_string(i) +
                           " refused: " + ossl::take_errors());
    }
    // SSL_CTX_use_PrivateKey already compares the key with the certificate;
    // check_private_key makes that explicit and gives one message for both.
    if (SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1)
        throw TlsError(key_where + " does not match the certificate in '" +
                       std::string(chain_source) + "': " + ossl::take_errors());

    std::shared_ptr<TlsContext> context(new TlsContext(std::move(ctx), true));
    try {
        context->fingerprint_ = sha256_fingerprint(chain_pem);
        context->not_after_ = certificate_not_after(chain_pem);
    } catch (const CertificateError& e) {
        throw TlsError(chain_where + ": " + e.what());
    }
    return context;
}

std::shared_ptr<const TlsContext> TlsContext::client(const TlsClientOptions& options) {
    ERR_clear_error();
    ossl::SslCtxPtr ctx(SSL_CTX_new_ex(nullptr, nullptr, TLS_client_method()));
    if (!ctx) throw TlsError("cannot create a TLS context: " + ossl::take_errors());
    SSL_CTX* c = ctx.get();
    bool ok =
        SSL_CTX_set_min_proto_version(c, version_number(options.min_version)) == 1 &&
        SSL_CTX_set_max_proto_version(
            c, options.max_version ? version_number(*options.max_version) : 0) == 1 &&
        SSL_CTX_set_cipher_list(
            c, options.cipher_list.empty() ? kTls12Ciphers : options.cipher_list.c_str()) == 1 &&
        SSL_CTX_set_ciphersuites(c, kTls13Ciphersuites) == 1;
    if (!ok) throw TlsError("cannot configure the TLS client context: " + ossl::take_errors());
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    if (options.verify_peer) {
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
        if (options.ca_pem.empty()) {
            if (SSL_CTX_set_default_verify_paths(c) != 1)
                throw TlsError("cannot load the system CA certificates: " + ossl::take_errors());
        } else {
            X509_STORE* store = SSL_CTX_get_cert_store(c);
            for (X509Ptr& cert : parse_chain(options.ca_pem, "TLS trust anchors")) {
                if (X509_STORE_add_cert(store, cert.get()) != 1)
                    throw TlsError("cannot add a trust anchor: " + ossl::take_errors());
            }
        }
    } else {
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    }
    return std::shared_ptr<const TlsContext>(new TlsContext(std::move(ctx), false));
}

TlsSession::TlsSession(std::shared_ptr<const TlsContext> context, std::string_view server_name)
    : context_(std::move(context)) {
    ERR_clear_error();
    ssl_.reset(SSL_new(context_->native_handle()));
    in_ = BIO_new(BIO_s_mem());
    out_ = BIO_new(BIO_s_mem());
    if (!ssl_ || in_ == nullptr || out_ == nullptr) {
        BIO_free(in_);
        BIO_free(out_);
        throw TlsError("cannot create a TLS session: " + ossl::take_errors());
    }
    // An empty memory BIO means "no data yet" (retry), not end of file:
    // otherwise a handshake fed byte by byte would look like a truncation.
    BIO_set_mem_eof_return(in_, -1);
    BIO_set_mem_eof_return(out_, -1);
    SSL_set_bio(ssl_.get(), in_, out_);  // ssl_ owns both from here

    if (context_->is_server()) {
        SSL_set_accept_state(ssl_.get());
        return;
    }
    SSL_set_connect_state(ssl_.get());
    if (!server_name.empty()) {
        std::string name(server_name);
        // No SNI for IP literals (RFC 6066 3); verification still checks them.
        bool is_ip = name.find(':') != std::string::npos ||
                     name.find_first_not_of("0123456789.") == std::string::npos;
        if (!is_ip && SSL_set_tlsext_host_name(ssl_.get(), name.c_str()) != 1)
            throw TlsError("cannot set SNI '" + name + "': " + ossl::take_errors());
        if (SSL_get_verify_mode(ssl_.get()) & SSL_VERIFY_PEER) {
            X509_VERIFY_PARAM* param = SSL_get0_param(ssl_.get());
            int set = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
                            : X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
            if (set != 1)
                throw TlsError("cannot verify against '" + name + "': " + ossl::take_errors());
        }
    }
    advance();  // the ClientHello
}

TlsSession::~TlsSession() = default;

void TlsSession::fail(std::string_view phase, int ssl_error) {
    failed_ = true;
    error_ = std::string(phase) + ": ";
    if (ssl_error == SSL_ERROR_SSL || ERR_peek_error() != 0) {
        error_ += ossl::take_errors();
    } else {
        error_ += "SSL error " + std::to_string(ssl_error);
    }
    long verify = SSL_get_verify_result(ssl_.get());
    bool verifying = (SSL_get_verify_mode(ssl_.get()) & SSL_VERIFY_PEER) != 0;
    if (!context_->is_server() && verifying && verify != X509_V_OK) {
        error_ += " (";
        error_ += X509_verify_cert_error_string(verify);
        error_ += ')';
    }
    queued_.clear();
    queued_offset_ = 0;
}

void TlsSession::advance() {
    if (failed_) return;
    if (!handshake_done_) {
        ERR_clear_error();
        int r = SSL_do_handshake(ssl_.get());
        if (r != 1) {
            int e = SSL_get_error(ssl_.get(), r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                fail("TLS handshake failed", e);
            return;
        }
        handshake_done_ = true;
    }
    flush_queued();
}

void TlsSession::flush_queued() {
    // One record's worth per SSL_write: the memory BIO never refuses, so each
    // call completes, and a failure leaves an exact count of what was sent.
    constexpr std::size_t kRecord = SSL3_RT_MAX_PLAIN_LENGTH;
    while (queued_offset_ < queued_.size() && !failed_) {
        std::size_t chunk = std::min(kRecord, queued_.size() - queued_offset_);
        std::size_t written = 0;
        ERR_clear_error();
        if (SSL_write_ex(ssl_.get(), queued_.data() + queued_offset_, chunk, &written) != 1) {
            int e = SSL_get_error(ssl_.get(), 0);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) break;
            fail("TLS write failed", e);
            return;
        }
        queued_offset_ += written;
    }
    if (queued_offset_ == queued_.size()) {
        queued_.clear();
        queued_offset_ = 0;
    }
}

void TlsSession::feed_ciphertext(std::string_view bytes) {
    if (failed_ || bytes.empty()) return;
    // BIO_write takes an int; a memory BIO write fails only when out of memory.
    constexpr std::size_t kMaxPiece = 1 << 30;
    for (std::size_t at = 0; at < bytes.size(); at += kMaxPiece) {
        int piece = static_cast<int>(std::min(kMaxPiece, bytes.size() - at));
        if (BIO_write(in_, bytes.data() + at, piece) != piece) {
            fail("TLS input", SSL_ERROR_SSL);
            return;
        }
    }
    advance();
}

std::size_t TlsSession::read_plaintext(std::string& out) {
    advance();
    if (failed_ || !handshake_done_ || peer_closed_) return 0;
    const std::size_t start = out.size();
    constexpr std::size_t kChunk = SSL3_RT_MAX_PLAIN_LENGTH;
    while (true) {
        std::size_t used = out.size();
        out.resize(used + kChunk);
        std::size_t got = 0;
        ERR_clear_error();
        int r = SSL_read_ex(ssl_.get(), out.data() + used, kChunk, &got);
        out.resize(used + got);
        if (r == 1) continue;
        int e = SSL_get_error(ssl_.get(), r);
        if (e == SSL_ERROR_ZERO_RETURN) {
            peer_closed_ = true;
        } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            fail("TLS read failed", e);
        }
        break;
    }
    // Reading can complete work that was waiting (a refused renegotiation,
    // a KeyUpdate answer): queued plaintext goes out after it.
    flush_queued();
    return out.size() - start;
}

std::string TlsSession::read_plaintext() {
    std::string out;
    read_plaintext(out);
    return out;
}

void TlsSession::write_plaintext(std::string_view bytes) {
    if (failed_ || close_sent_ || bytes.empty()) return;
    queued_.append(bytes);
    if (handshake_done_) flush_queued();
}

std::string TlsSession::take_ciphertext(std::size_t max) {
    std::size_t n = std::min(pending_ciphertext(), max);
    std::string out(n, '\0');
    if (n == 0) return out;
    int got = BIO_read(out_, out.data(),
                       static_cast<int>(std::min<std::size_t>(n, std::numeric_limits<int>::max())));
    out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return out;
}

std::size_t TlsSession::pending_ciphertext() const {
    return BIO_ctrl_pending(out_);
}

void TlsSession::close_notify() {
    if (close_sent_ || failed_) return;
    close_sent_ = true;
    if (!handshake_done_) {
        queued_.clear();
        queued_offset_ = 0;
        return;
    }
    flush_queued();
    ERR_clear_error();
    // 0: our close_notify is queued, the peer's has not arrived; 1: both
    // done. Either way we stop here: waiting for the peer's is optional
    // (RFC 8446 6.1) and would only delay closing the socket.
    int r = SSL_shutdown(ssl_.get());
    if (r < 0) {
        int e = SSL_get_error(ssl_.get(), r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fail("TLS shutdown failed", e);
    }
}

std::string TlsSession::protocol_version() const {
    return handshake_done_ ? SSL_get_version(ssl_.get()) : "";
}

std::optional<sasl::ChannelBinding> TlsSession::channel_binding() const {
    if (!handshake_done_) return std::nullopt;
    SSL* ssl = ssl_.get();
    if (SSL_version(ssl) >= TLS1_3_VERSION) {
        static constexpr std::string_view kLabel = "EXPORTER-Channel-Binding";
        std::string data(32, '\0');
        if (SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(data.data()),
                                       data.size(), kLabel.data(), kLabel.size(), nullptr, 0,
                                       0) != 1) {
            return std::nullopt;
        }
        return sasl::ChannelBinding{"tls-exporter", std::move(data)};
    }
    X509* certificate = SSL_get_certificate(ssl);
    if (certificate == nullptr) return std::nullopt;
    int digest_nid = NID_undef;
    if (X509_get_signature_info(certificate, &digest_nid, nullptr, nullptr, nullptr) != 1) {
        return std::nullopt;
    }
    const EVP_MD* digest = EVP_get_digestbynid(digest_nid);
    if (digest == nullptr || digest_nid == NID_md5 || digest_nid == NID_sha1) {
        digest = EVP_sha256();
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (X509_digest(certificate, digest, out, &size) != 1) return std::nullopt;
    return sasl::ChannelBinding{"tls-server-end-point",
                                std::string(reinterpret_cast<const char*>(out), size)};
}

std::string TlsSession::cipher() const {
    const char* name = handshake_done_ ? SSL_get_cipher_name(ssl_.get()) : nullptr;
    return name != nullptr ? name : "";
}

}  // namespace imap::server
