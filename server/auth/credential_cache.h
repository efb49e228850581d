// CredentialCache: remembers, for a short time, that a user's password
// matched the user's stored hash, so a client that logs in again and again
// (a phone that reconnects every minute, a client with several connections)
// costs one yescrypt computation (30-50 ms of CPU) per TTL, not one per login.
//
// What is kept: per user (canonical name), one key
//   HMAC-SHA256(secret, user | stored hash | password)
// (each part length-prefixed, so no two triples give the same input), where
// `secret` is 32 random bytes drawn when the cache is made and never leaves
// the process. The password itself, or anything computable from it without
// the secret, is never stored: a memory dump of the cache does not allow an
// offline guessing attack.
//
// What a hit means: this user's current stored hash was verified against
// this very password less than `ttl` ago. The key covers the stored hash, so
// `imapd user passwd` (another process, which writes a new hash with a new
// salt) invalidates it at once: the next login reads the new hash and its
// key no longer matches, whatever the cache holds. A disabled account is
// refused by the caller whatever the cache says.
//
// What is never kept: a failed verification. A wrong password is checked
// with a full hash every time (after the failed-login delay, LoginLimits),
// so the cache never makes guessing cheaper; and a failure for a user drops
// that user's entry (forget()), so one wrong attempt ends the shortcut.
//
// Threads: every member may be called from any thread at once (one mutex;
// the HMAC is computed outside it).
#pragma once

#include <openssl/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace imap::server {

// How long a verified password is trusted without hashing it again. Five
// minutes: a client that reconnects every minute (or opens several
// connections at once) pays one hash per five minutes instead of one per
// login, while a password changed through `imapd user passwd` is not
// affected at all (the key covers the stored hash) and a stolen cache entry
// is useless (keyed with a per-process secret). Counted from the
// verification, not extended by hits, so a password is hashed again at
// least this often.
inline constexpr std::chrono::seconds kCredentialCacheTtl{300};

// At most this many users are remembered; past it the least recently used
// entry goes. Each entry is about 150 bytes (name, key, list and map nodes),
// so the cache stays under 2 MB however many users log in; a server with
// more active users than this only hashes more often.
inline constexpr std::size_t kCredentialCacheEntries = 10000;

class CredentialCache {
  public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    // `ttl` zero or `capacity` zero: nothing is ever remembered. `clock` is
    // for tests.
    explicit CredentialCache(std::chrono::steady_clock::duration ttl = kCredentialCacheTtl,
                             std::size_t capacity = kCredentialCacheEntries,
                             Clock clock = &std::chrono::steady_clock::now);
    ~CredentialCache();
    CredentialCache(const CredentialCache&) = delete;
    CredentialCache& operator=(const CredentialCache&) = delete;

    // True when remember(user, stored_hash, password) was called less than
    // the TTL ago and nothing dropped it since. A hit makes the entry the
    // most recently used; it does not extend its life.
    bool contains(std::string_view user, std::string_view stored_hash, std::string_view password);

    // `password` has just been verified against `stored_hash`, the current
    // hash of `user` (canonical name). Replaces any entry of the user.
    void remember(std::string_view user, std::string_view stored_hash, std::string_view password);

    // Drops the user's entry, if any (a failed verification for the user).
    void forget(std::string_view user);

    // Entries held, expired ones included until they are looked up or
    // evicted (for tests and logs).
    std::size_t size() const;

  private:
    using Key = std::array<unsigned char, 32>;
    struct Entry {
        std::string user;
        Key key;
        std::chrono::steady_clock::time_point verified_at;
    };
    // Most recently used first.
    using Entries = std::list<Entry>;

    // nullopt when OpenSSL fails (out of memory): then nothing is cached.
    std::optional<Key> key_of(std::string_view user, std::string_view stored_hash,
                              std::string_view password) const;
    void erase(std::map<std::string, Entries::iterator, std::less<>>::iterator found);

    const std::chrono::steady_clock::duration ttl_;
    const std::size_t capacity_;
    const Clock clock_;
    std::array<unsigned char, 32> secret_{};
    EVP_MAC* hmac_ = nullptr;  // fetched once; thread-safe to share

    mutable std::mutex mutex_;
    Entries entries_;
    std::map<std::string, Entries::iterator, std::less<>> by_user_;
};

}  // namespace imap::server
