// The self-signed certificate imapd makes for itself when no certificate is
// configured, so a first run speaks TLS (RFC 8314 wants implicit TLS on 993
// from the start) without anyone running openssl by hand. The server logs the
// SHA-256 fingerprint so a user can pin it in their client.
//
// Layout in the data directory (load_or_generate_self_signed):
//   self-signed-cert.pem  the certificate, mode 0644
//   self-signed-key.pem   its PKCS#8 private key, mode 0600
// Both are written atomically (temporary file, fsync, rename), key first, so
// a crash never leaves a certificate whose key is half written. With
// --ephemeral the server calls generate_self_signed() and writes nothing.
#pragma once

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace imap::server {

// Thrown for every failure here: unusable hostname, OpenSSL errors, files
// that cannot be read, written or parsed. The message names the file.
class CertificateError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A certificate chain (leaf first) and its private key, both PEM.
struct CertificatePem {
    std::string chain_pem;
    std::string key_pem;
};

struct SelfSignedOptions {
    // Added to the subjectAltName beside localhost, 127.0.0.1 and ::1, and
    // used as the subject CN; an IPv4/IPv6 literal becomes an IP SAN. Empty:
    // only the loopback names. Must be a plain DNS name (letters, digits,
    // '-', '.', a leading "*." allowed) or an IP address.
    std::string hostname;
    // 825 days: the longest lifetime Apple's TLS clients (iOS/macOS Mail)
    // accept for a server certificate, even a user-trusted one.
    int validity_days = 825;
};

// A fresh ECDSA P-256 key (the curve every TLS 1.2 and 1.3 client supports;
// Ed25519 certificates are still refused by many clients) and a self-signed
// X.509 v3 certificate: serverAuth, digitalSignature, CA:FALSE, SHA-256.
CertificatePem generate_self_signed(const SelfSignedOptions& options);

// SHA-256 over the DER of the first certificate in `pem`, as upper-case hex
// pairs joined by ':' ("AB:CD:..."), the form `openssl x509 -fingerprint
// -sha256` and most clients show.
std::string sha256_fingerprint(std::string_view certificate_pem);

// The notAfter of the first certificate in `pem`.
std::chrono::system_clock::time_point certificate_not_after(std::string_view certificate_pem);

// Writes `contents` to `path` atomically with the given mode: a temporary file
// in the same directory, fsync, rename over `path`, fsync of the directory.
// Readers see the old file or the whole new one, never a partial one.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned mode);

inline constexpr std::string_view kSelfSignedCertFile = "self-signed-cert.pem";
inline constexpr std::string_view kSelfSignedKeyFile = "self-signed-key.pem";

// Generated certificates are replaced this long before they expire, so a
// server restarted now and then never serves an expired one.
inline constexpr std::chrono::hours kSelfSignedRenewBefore{24 * 30};

struct SelfSignedResult {
    CertificatePem pem;
    std::string fingerprint;  // sha256_fingerprint(pem.chain_pem)
    bool generated = false;   // false: reused the files from an earlier run
    std::string reason;       // why it was generated ("first run", "expires soon", ...)
    std::filesystem::path cert_path;
    std::filesystem::path key_path;
};

// First run: generates into `data_dir` (created if missing). Later runs
// reuse the files, unless they are incomplete (one of the two missing), the
// certificate expires within kSelfSignedRenewBefore, or it does not name
// options.hostname; then they are regenerated. Files that exist but cannot
// be parsed, or a key that does not match the certificate, are an error
// naming the file rather than silently replaced: a user may have edited them.
SelfSignedResult load_or_generate_self_signed(const std::filesystem::path& data_dir,
                                              const SelfSignedOptions& options);

}  // namespace imap::server
