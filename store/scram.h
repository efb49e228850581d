// SCRAM credentials (RFC 5802 3): what the accounts database keeps per user
// and hash so that the server can verify a SCRAM client's proof without the
// password, and the key derivation that makes them from a password.
//
//   SaltedPassword = Hi(Normalize(password), salt, i)      (PBKDF2-HMAC)
//   ClientKey      = HMAC(SaltedPassword, "Client Key")
//   StoredKey      = H(ClientKey)
//   ServerKey      = HMAC(SaltedPassword, "Server Key")
//
// Only salt, i, StoredKey and ServerKey are stored: StoredKey does not let
// anyone log in (the proof needs ClientKey), and neither key can be turned
// back into the password except by guessing through Hi(), which costs
// `iterations` HMACs a guess.
//
// Normalize is SASLprep (RFC 4013), through libgsasl's gsasl_saslprep();
// a password SASLprep refuses (prohibited characters) gets no SCRAM
// credentials, and such a user can log in with PLAIN/LOGIN only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace imap::store {

enum class ScramHash { Sha1, Sha256 };
inline constexpr ScramHash kScramHashes[] = {ScramHash::Sha256, ScramHash::Sha1};

// "SHA-256", "SHA-1": as the mechanism names spell them, and the key of the
// accounts database's scram_credentials rows.
std::string_view scram_hash_name(ScramHash hash);
// 32, 20.
std::size_t scram_digest_size(ScramHash hash);

// RFC 7677 4 (and RFC 5802 5.1 for SHA-1): at least 4096 iterations; the
// default of new credentials and of the configuration option
// [auth] scram_iterations (docs/configuration.md).
inline constexpr std::uint32_t kDefaultScramIterations = 4096;
inline constexpr std::uint32_t kMinScramIterations = 4096;
// The most the configuration may ask for, and the most a stored credential
// may have: each PBKDF2 computation (`imapd user passwd`, or a migration
// after a PLAIN login, on the auth pool) costs about 0.25 s of CPU at this
// count, and a client must spend the same per login. OWASP's 2023 advice
// for PBKDF2-HMAC-SHA256 is 600,000.
inline constexpr std::uint32_t kMaxScramIterations = 1000000;
// Bytes of random salt in new credentials (RFC 5802 leaves it open; 16 is
// what Dovecot and Cyrus use, 128 bits).
inline constexpr std::size_t kScramSaltBytes = 16;

struct ScramCredentials {
    std::string salt;  // raw bytes
    std::uint32_t iterations = 0;
    std::string stored_key;  // raw, scram_digest_size() bytes
    std::string server_key;  // raw, scram_digest_size() bytes
};

// SASLprep (RFC 4013) of a password, for Hi(); nullopt when the password
// holds characters SASLprep prohibits, or is not UTF-8.
std::optional<std::string> scram_normalize_password(std::string_view password);

// The credentials for `password` with `salt` and `iterations` (one PBKDF2
// computation). nullopt when scram_normalize_password() refuses it.
std::optional<ScramCredentials> derive_scram_credentials(ScramHash hash, std::string_view password,
                                                         std::string_view salt,
                                                         std::uint32_t iterations);

// The same with a fresh random salt of kScramSaltBytes.
std::optional<ScramCredentials> new_scram_credentials(ScramHash hash, std::string_view password,
                                                      std::uint32_t iterations);

// HMAC(key, data) and H(data) with `hash` (RFC 5802 2.2), raw bytes.
std::string scram_hmac(ScramHash hash, std::string_view key, std::string_view data);
std::string scram_digest(ScramHash hash, std::string_view data);

// Random bytes from OpenSSL's CSPRNG; throws std::runtime_error when it
// fails.
std::string random_bytes(std::size_t count);

}  // namespace imap::store
