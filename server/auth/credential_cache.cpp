#include "server/auth/credential_cache.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

namespace imap::server {
namespace {

struct MacContextFree {
    void operator()(EVP_MAC_CTX* context) const { EVP_MAC_CTX_free(context); }
};

// Feeds one part of the key's input, preceded by its length (8 bytes, big
// endian), so ("ab", "c") and ("a", "bc") never give the same input.
bool update_part(EVP_MAC_CTX* context, std::string_view part) {
    std::array<unsigned char, 8> length{};
    std::uint64_t size = part.size();
    for (std::size_t i = length.size(); i-- > 0; size >>= 8)
        length[i] = static_cast<unsigned char>(size & 0xff);
    return EVP_MAC_update(context, length.data(), length.size()) == 1 &&
           EVP_MAC_update(context, reinterpret_cast<const unsigned char*>(part.data()),
                          part.size()) == 1;
}

}  // namespace

CredentialCache::CredentialCache(std::chrono::steady_clock::duration ttl, std::size_t capacity,
                                 Clock clock)
    : ttl_(ttl), capacity_(capacity), clock_(std::move(clock)) {
    if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
        throw std::runtime_error("credential cache: RAND_bytes failed");
    }
    hmac_ = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
    if (hmac_ == nullptr) {
        OPENSSL_cleanse(secret_.data(), secret_.size());
        throw std::runtime_error("credential cache: HMAC unavailable");
    }
}

CredentialCache::~CredentialCache() {
    EVP_MAC_free(hmac_);
    OPENSSL_cleanse(secret_.data(), secret_.size());
}

std::optional<CredentialCache::Key> CredentialCache::key_of(std::string_view user,
                                                            std::string_view stored_hash,
                                                            std::string_view password) const {
    const std::unique_ptr<EVP_MAC_CTX, MacContextFree> context(EVP_MAC_CTX_new(hmac_));
    char digest[] = OSSL_DIGEST_NAME_SHA2_256;
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    Key key{};
    std::size_t key_size = 0;
    if (!context || EVP_MAC_init(context.get(), secret_.data(), secret_.size(), params) != 1 ||
        !update_part(context.get(), user) || !update_part(context.get(), stored_hash) ||
        !update_part(context.get(), password) ||
        EVP_MAC_final(context.get(), key.data(), &key_size, key.size()) != 1 ||
        key_size != key.size()) {
        // Out of memory in OpenSSL, in effect: a miss (contains), nothing
        // cached (remember); the login is verified by hashing as usual.
        return std::nullopt;
    }
    return key;
}

bool CredentialCache::contains(std::string_view user, std::string_view stored_hash,
                               std::string_view password) {
    if (ttl_ <= std::chrono::steady_clock::duration::zero() || capacity_ == 0) return false;
    const std::optional<Key> key = key_of(user, stored_hash, password);
    if (!key) return false;
    const auto now = clock_();
    const std::lock_guard lock(mutex_);
    const auto found = by_user_.find(user);
    if (found == by_user_.end()) return false;
    const Entries::iterator entry = found->second;
    if (now - entry->verified_at >= ttl_) {
        erase(found);
        return false;
    }
    // Constant time, like the hash comparison it replaces.
    if (CRYPTO_memcmp(entry->key.data(), key->data(), key->size()) != 0) return false;
    entries_.splice(entries_.begin(), entries_, entry);
    return true;
}

void CredentialCache::remember(std::string_view user, std::string_view stored_hash,
                               std::string_view password) {
    if (ttl_ <= std::chrono::steady_clock::duration::zero() || capacity_ == 0) return;
    const std::optional<Key> key = key_of(user, stored_hash, password);
    if (!key) return;
    const auto now = clock_();
    const std::lock_guard lock(mutex_);
    if (const auto found = by_user_.find(user); found != by_user_.end()) {
        const Entries::iterator entry = found->second;
        entry->key = *key;
        entry->verified_at = now;
        entries_.splice(entries_.begin(), entries_, entry);
        return;
    }
    while (by_user_.size() >= capacity_)
        erase(by_user_.find(entries_.back().user));
    entries_.push_front(Entry{std::string(user), *key, now});
    by_user_.emplace(user, entries_.begin());
}

void CredentialCache::forget(std::string_view user) {
    const std::lock_guard lock(mutex_);
    if (const auto found = by_user_.find(user); found != by_user_.end()) erase(found);
}

std::size_t CredentialCache::size() const {
    const std::lock_guard lock(mutex_);
    return by_user_.size();
}

void CredentialCache::erase(std::map<std::string, Entries::iterator, std::less<>>::iterator found) {
    OPENSSL_cleanse(found->second->key.data(), found->second->key.size());
    entries_.erase(found->second);
    by_user_.erase(found);
}

}  // namespace imap::server
