// TLS for imapd: OpenSSL through a pair of memory BIOs, free of libuv and of
// any I/O, so it is tested in memory (tests/unit/tls.cpp) and the
// Connection only moves bytes between its socket and a TlsSession.
//
// Policy (TlsContext, server side), after BCP 195 (RFC 7525 / RFC 9325) and
// RFC 8314:
// - TLS 1.2 and 1.3 only (RFC 8996 deprecates 1.0 and 1.1); 1.3 preferred.
// - TLS 1.2 ciphers: ECDHE key exchange with AEAD only (AES-GCM,
//   ChaCha20-Poly1305): forward secrecy, no CBC, no RSA key transport
//   (RFC 7525 4.2). TLS 1.3: OpenSSL's three standard suites.
// - Server cipher preference, with ChaCha20 moved first only when the client
//   put it first (SSL_OP_PRIORITIZE_CHACHA): phones without AES hardware get
//   the cipher that is fast for them, everyone else gets AES-GCM.
// - No compression (CRIME; RFC 7525 3.3).
// - Renegotiation refused (SSL_OP_NO_RENEGOTIATION): a client's renegotiation
//   ClientHello gets a no_renegotiation alert and is ignored; the connection
//   stays in its first handshake's keys. Renegotiation is the source of
//   CVE-2009-3555 and of CPU-exhaustion attacks, and IMAP clients never need
//   it. TLS 1.3 has none; KeyUpdate (which is not renegotiation) is allowed.
// - No session resumption: no tickets (SSL_OP_NO_TICKET, 0 TLS 1.3 tickets)
//   and no server session cache. IMAP connections are long-lived (IDLE), so
//   a full handshake per connection costs little; in exchange there are no
//   long-lived ticket keys that would undo forward secrecy until rotated,
//   no per-server cache memory, and a context swapped on SIGHUP has no
//   resumption state to carry over. No TLS 1.3 early data either: 0-RTT data
//   can be replayed (RFC 8446 8), and a replayed IMAP command is not safe.
//
// Certificate reload: the server holds a std::shared_ptr<const TlsContext>.
// SIGHUP builds a new context (from_files) and, if that succeeded, swaps the
// pointer; new connections get the new one. Each TlsSession holds the
// shared_ptr it was made with, so open connections keep their context alive
// and are not dropped. A failed reload leaves the old context in place.
//
// STARTTLS (RFC 3501 6.2.1): the Connection calls Framer::discard_buffered()
// after the STARTTLS line, so bytes the client pipelined after it are dropped
// and never executed (the CVE-2011-0411 class); it sends the tagged OK in
// plaintext, and only then creates the TlsSession. Every byte read from the
// socket after that is fed to feed_ciphertext(), never to the framer.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "server/auth/sasl.h"

namespace imap::server {

// Thrown when a context cannot be built: the message names the file (or the
// in-memory source) and carries OpenSSL's reason, e.g.
//   TLS certificate chain '/etc/imapd/cert.pem': cannot open: No such file or directory
//   TLS private key '/etc/imapd/key.pem' does not match the certificate in '/etc/imapd/cert.pem'
class TlsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// RAII and error helpers shared by the TLS and certificate code.
namespace ossl {

template <auto Free>
struct Deleter {
    template <typename T>
    void operator()(T* p) const {
        Free(p);
    }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, Deleter<SSL_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;

// Empties this thread's OpenSSL error queue into one line: the reasons,
// oldest first, joined by "; " ("key values mismatch"). Never empty.
std::string take_errors();

// A PEM file is at most this big; anything larger is not a certificate chain.
inline constexpr std::size_t kMaxPemFileSize = 1 << 20;

// Reads a whole PEM file. Throws TlsError "<what> '<path>': <reason>".
std::string read_pem_file(const std::filesystem::path& path, std::string_view what);

}  // namespace ossl

// TLS 1.2 ciphers (OpenSSL names): ECDHE + AEAD only, ECDSA before RSA.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* kTls13Ciphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
// Key exchange groups, in preference order.
inline constexpr const char* kTlsGroups = "X25519:P-256:P-384";

enum class TlsVersion { Tls1_0, Tls1_1, Tls1_2, Tls1_3 };

// Client contexts: tests, e2e tools, and perhaps an outgoing connection one
// day. Defaults are the server's policy plus certificate verification.
struct TlsClientOptions {
    // Verify the server's chain and (when the session has a server_name) its
    // name. Off only for tests and for pinning by fingerprint.
    bool verify_peer = true;
    // Trust anchors (PEM, one or more certificates). Empty: the system's
    // default CA paths.
    std::string ca_pem;
    TlsVersion min_version = TlsVersion::Tls1_2;
    std::optional<TlsVersion> max_version;  // none: the newest OpenSSL has
    // TLS <= 1.2 cipher string; empty: kTls12Ciphers. Tests that must speak
    // TLS 1.1 pass "DEFAULT:@SECLEVEL=0".
    std::string cipher_list;
};

class TlsContext {
  public:
    // Server context from a PEM certificate chain (leaf first, then
    // intermediates; the same file may also hold the key) and a PEM private
    // key (unencrypted: the server starts unattended). Throws TlsError.
    static std::shared_ptr<const TlsContext> from_files(const std::filesystem::path& chain_file,
                                                        const std::filesystem::path& key_file);

    // The same from PEM text (the generated self-signed certificate).
    // `chain_source` and `key_source` name the origin in error messages.
    static std::shared_ptr<const TlsContext> from_pem(
        std::string_view chain_pem, std::string_view key_pem,
        std::string_view chain_source = "(in-memory certificate)",
        std::string_view key_source = "(in-memory key)");

    static std::shared_ptr<const TlsContext> client(const TlsClientOptions& options = {});

    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    bool is_server() const { return server_; }
    // Server contexts: the leaf certificate's SHA-256 fingerprint
    // ("AB:CD:...") and notAfter, for the startup/reload log line.
    const std::string& fingerprint() const { return fingerprint_; }
    std::chrono::system_clock::time_point not_after() const { return not_after_; }

    // For TlsSession and for tests that need OpenSSL directly. SSL_new on a
    // shared SSL_CTX is thread-safe; changing its settings after sessions
    // exist is not, so don't.
    SSL_CTX* native_handle() const { return ctx_.get(); }

  private:
    TlsContext(ossl::SslCtxPtr ctx, bool server);

    ossl::SslCtxPtr ctx_;
    bool server_;
    std::string fingerprint_;
    std::chrono::system_clock::time_point not_after_{};
};

// One connection's TLS state: an SSL with a memory BIO on each side, and no
// I/O of its own. The Connection's loop is:
//   on socket data:   feed_ciphertext(data); framer.feed(read_plaintext());
//                     send(take_ciphertext())
//   on response:      write_plaintext(bytes); send(take_ciphertext())
//   on close:         close_notify(); send(take_ciphertext()); close socket
//   after failed():   send(take_ciphertext()) (it may hold an alert), close
//
// Bounded memory. What can grow, and who bounds it:
// - incoming ciphertext not yet decrypted: exactly what was fed since the
//   last read_plaintext(), which decrypts all complete records; left over
//   is at most one partial record (~16.7 KiB). The caller feeds one socket
//   read at a time and drains it.
// - plaintext written before the handshake finished: queued here and
//   flushed once it does (queued_plaintext()). The server writes at most its
//   greeting then.
// - outgoing ciphertext (pending_ciphertext()): grows with every
//   write_plaintext() and with protocol replies (alerts, KeyUpdate answers).
//   The Connection counts it with the socket's write queue against its
//   high-water mark: above it, resumable commands pause and the socket stops
//   reading (which also stops a peer that makes us answer KeyUpdates).
// - OpenSSL's own record buffers, one record each way, are released while
//   idle (SSL_MODE_RELEASE_BUFFERS), which matters for many IDLE clients.
class TlsSession {
  public:
    // A server session when `context` is a server context. A client session
    // otherwise: `server_name` is sent as SNI and, with verify_peer, checked
    // against the certificate; the ClientHello is ready in take_ciphertext()
    // when the constructor returns.
    explicit TlsSession(std::shared_ptr<const TlsContext> context,
                        std::string_view server_name = {});
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    // Ciphertext from the socket, any split (byte by byte is fine). Advances
    // the handshake; when it completes, plaintext queued by write_plaintext()
    // is encrypted. Ignored after failed().
    void feed_ciphertext(std::string_view bytes);

    // Decrypts everything fed so far (SSL_read until it returns <= 0) and
    // appends it to `out`; returns the number of bytes appended. Sets
    // peer_closed() on the peer's close_notify and failed() on a bad record.
    std::size_t read_plaintext(std::string& out);
    std::string read_plaintext();

    // Plaintext for the peer. Before the handshake completes it is queued;
    // after close_notify() or failed() it is dropped. Large writes go out in
    // records of at most 16 KiB.
    void write_plaintext(std::string_view bytes);

    // Moves out up to `max` bytes of ciphertext for the socket.
    std::string take_ciphertext(std::size_t max = std::numeric_limits<std::size_t>::max());
    std::size_t pending_ciphertext() const;
    std::size_t queued_plaintext() const { return queued_.size() - queued_offset_; }

    bool handshake_done() const { return handshake_done_; }
    bool failed() const { return failed_; }
    // Why it failed ("TLS handshake failed: unsupported protocol"); empty
    // while !failed().
    const std::string& error() const { return error_; }

    // The peer sent close_notify: no more plaintext will come. Answer with
    // close_notify() and close once the output is flushed.
    bool peer_closed() const { return peer_closed_; }

    // Flushes queued plaintext, then queues our close_notify alert (RFC 8446
    // 6.1), so the peer can tell a complete session from a truncated one.
    // Before the handshake completes there is nothing to close: it only
    // stops further writes. Idempotent.
    void close_notify();
    bool close_sent() const { return close_sent_; }

    // After the handshake: "TLSv1.3", "TLS_AES_128_GCM_SHA256".
    std::string protocol_version() const;
    std::string cipher() const;

    // The connection's channel binding for SCRAM -PLUS (RFC 5056), once the
    // handshake is done: TLS 1.3 "tls-exporter" (RFC 9266 2: 32 bytes
    // exported with the label "EXPORTER-Channel-Binding" and no context);
    // TLS 1.2 "tls-server-end-point" (RFC 5929 4.1: the hash of our
    // certificate with its signature's hash, SHA-256 for MD5 and SHA-1),
    // because tls-exporter is not safe on TLS 1.2 without the extended
    // master secret (RFC 9266 3) and tls-unique is not defined on 1.3.
    // nullopt before the handshake or when OpenSSL cannot produce it.
    std::optional<sasl::ChannelBinding> channel_binding() const;

    const std::shared_ptr<const TlsContext>& context() const { return context_; }
    SSL* native_handle() const { return ssl_.get(); }

  private:
    void advance();
    void flush_queued();
    void fail(std::string_view phase, int ssl_error);

    std::shared_ptr<const TlsContext> context_;
    ossl::SslPtr ssl_;
    BIO* in_ = nullptr;   // ciphertext from the peer; owned by ssl_
    BIO* out_ = nullptr;  // ciphertext for the peer; owned by ssl_
    std::string queued_;  // plaintext written before the handshake finished
    std::size_t queued_offset_ = 0;
    bool handshake_done_ = false;
    bool failed_ = false;
    bool peer_closed_ = false;
    bool close_sent_ = false;
    std::string error_;
};

}  // namespace imap::server
