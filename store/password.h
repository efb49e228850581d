// Account passwords: crypt(3) hashes through libxcrypt (<crypt.h>, -lcrypt).
//
// New hashes are yescrypt ("$y$", libxcrypt's default cost) with a fresh salt
// from crypt_gensalt_rn(), which reads the kernel's random source itself. A
// library built without yescrypt falls back to SHA-512-crypt ("$6$");
// hash_method_in_use() says which, so the server can log it at startup.
//
// Hashes that verify: yescrypt ($y$), SHA-512-crypt ($6$), SHA-256-crypt
// ($5$) and bcrypt ($2b$, $2a$, $2y$), so accounts can be imported from
// /etc/shadow, Dovecot or htpasswd files. Everything else never matches:
// locked entries ("*", "!..." as in shadow(5)), empty or malformed strings,
// and the legacy schemes libxcrypt still computes (DES, MD5-crypt, NTHASH,
// bcrypt's buggy "$2x$"), which are too cheap to brute-force-resist.
// Note that bcrypt reads only the first 72 bytes of a password.
//
// Secrets: on the wire a password is held in an imap::Secret
// (protocol/secret.h), which wipes its bytes when it goes away and cannot be
// printed. The copies this code must make (crypt(3) wants a NUL-terminated string; its 32 KiB work
// area holds intermediate state) are wiped with OPENSSL_cleanse before their
// memory is released, so they do not linger for a core dump or a later heap
// reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/scram.h"

namespace imap::store {

// Longest password accepted: libxcrypt refuses passphrases of
// CRYPT_MAX_PASSPHRASE_SIZE (512) bytes or more, counting the NUL.
inline constexpr std::size_t kMaxPasswordBytes = 511;

// Thrown by hash_password() only: the password cannot be hashed (holds a NUL,
// is longer than kMaxPasswordBytes) or libxcrypt failed.
// Verification never throws; it answers false.
class PasswordError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Overwrites a string's whole buffer (capacity, not just size) with zeros in a
// way the compiler may not elide, then clears it.
void wipe_string(std::string& s) noexcept;

// How new hashes are made: a crypt_gensalt(3) prefix and cost. Empty prefix:
// hash_method_in_use() at the library's default cost, which libxcrypt raises
// as hardware gets faster. Tests pass a cheap method to stay fast.
// `scram_iterations`: the PBKDF2 iteration count of new SCRAM credentials
// (store/scram.h; the [auth] scram_iterations option).
struct PasswordHashing {
    std::string prefix;
    unsigned long cost = 0;
    std::uint32_t scram_iterations = kDefaultScramIterations;
};

// A hash of `password` with a fresh salt: yescrypt by default (SHA-512-crypt
// when the library lacks yescrypt). Each call gives a different string.
// Throws PasswordError.
std::string hash_password(std::string_view password, const PasswordHashing& hashing = {});

// A new random password for accounts the server creates itself (the demo
// account, `imapd user add` without --password-stdin): 20 characters from
// an alphabet without look-alikes, about 115 bits.
std::string generate_password();

// The crypt_gensalt(3) prefix hash_password() uses on this system: "$y$", or
// "$6$" if libxcrypt was built without yescrypt.
std::string_view hash_method_in_use();

// True when crypt(password, stored_hash) reproduces stored_hash exactly. The
// comparison is constant-time in the hash contents (CRYPTO_memcmp), so the
// timing of a mismatch reveals nothing about where it differs. False, without
// hashing, for unsupported or locked hashes and for passwords that hold a NUL
// or exceed kMaxPasswordBytes.
bool verify_password(std::string_view password, std::string_view stored_hash);

// For the login path: verifies against the user's hash, or, when the user
// does not exist (nullopt), against a fixed yescrypt hash at the default cost
// and returns false. Either way one yescrypt computation is spent, so the
// response time does not reveal whether the user name exists.
bool verify_login_password(std::string_view password, std::optional<std::string_view> stored_hash);

// True when `stored_hash` is a complete hash of a scheme this server verifies
// (see the top of this file): the right prefix, a setting crypt_checksalt(3)
// accepts, and a checksum of exactly the length and alphabet the scheme
// produces. For `imapd user` when it imports a hash; costs one hash
// computation.
bool is_supported_hash(std::string_view stored_hash);

}  // namespace imap::store
