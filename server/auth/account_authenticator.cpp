#include "server/auth/account_authenticator.h"

#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/base/log.h"
#include "store/errors.h"
#include "store/password.h"

namespace imap::server {
namespace {

// How a matching password was established, for the login_ok log line.
enum class Verified { Hash, Cache };

// The second half, on the session's thread: the verdict, logged. A disabled
// account is refused here, after the check, whatever verified the password.
AuthResult verdict(const std::optional<store::AccountStore::LoginRecord>& record, bool match,
                   Verified verified, const AuthRequest& request) {
    if (record && match && !record->user.disabled) {
        log::info("login_ok", {{"user", record->user.name},
                               {"peer", request.peer},
                               {"verified", verified == Verified::Cache ? "cache" : "hash"}});
        return AuthResult::Ok;
    }
    log::info("login_failed", {{"user", request.user}, {"peer", request.peer}});
    return AuthResult::Failed;
}

using Record = std::optional<store::AccountStore::LoginRecord>;

bool is_cancelled(const AuthRequest& request) {
    return request.cancelled && request.cancelled->load();
}

}  // namespace

AccountAuthenticator::AccountAuthenticator(store::AccountStore& accounts, WorkPool* pool,
                                           std::unique_ptr<CredentialCache> cache)
    : accounts_(accounts),
      pool_(pool),
      checker_(std::make_shared<Checker>(accounts, std::move(cache))) {}

bool AccountAuthenticator::Checker::check(const AuthRequest& request, const Record& record) {
    // One hash computation either way (a dummy hash for unknown users), so
    // the response time does not reveal which names exist.
    hashes.fetch_add(1);
    const bool match = store::verify_login_password(
        request.password.reveal(),
        record ? std::optional<std::string_view>(record->password_hash) : std::nullopt);
    if (cache && record) {
        if (match) {
            cache->remember(record->user.name, record->password_hash, request.password.reveal());
        } else {
            cache->forget(record->user.name);
        }
    }
    if (match && record && !record->scram_current) migrate_to_scram(request, *record);
    return match;
}

void AccountAuthenticator::Checker::migrate_to_scram(
    const AuthRequest& request, const store::AccountStore::LoginRecord& record) {
    try {
        std::vector<std::pair<store::ScramHash, store::ScramCredentials>> credentials;
        for (store::ScramHash hash : store::kScramHashes) {
            std::optional<store::ScramCredentials> derived = store::new_scram_credentials(
                hash, request.password.reveal(), accounts.scram_iterations());
            // SASLprep refuses the password: PLAIN/LOGIN only for this user.
            if (!derived) return;
            credentials.emplace_back(hash, std::move(*derived));
        }
        bool stored = false;
        {
            const std::lock_guard lock(accounts_mutex);
            stored = accounts.store_scram_credentials(record.user.name, record.password_hash,
                                                      credentials);
        }
        if (stored) {
            migrations.fetch_add(1);
            log::info("scram_keys_stored", {{"user", record.user.name}});
        }
    } catch (const std::exception& error) {
        log::warning("scram_keys_failed", {{"user", record.user.name}, {"error", error.what()}});
    }
}

std::optional<store::ScramCredentials> AccountAuthenticator::scram_credentials(
    std::string_view user, store::ScramHash hash) {
    try {
        const std::lock_guard lock(checker_->accounts_mutex);
        if (std::optional<store::ScramCredentials> real = accounts_.scram_credentials(user, hash)) {
            return real;
        }
        if (!fake_salt_key_) fake_salt_key_ = accounts_.scram_fake_salt_key();
        std::string name(user);
        try {
            name = store::AccountStore::canonical_user_name(user);
        } catch (const store::StoreError&) {
            // Not a name the store would accept: salted as sent.
        }
        store::ScramCredentials fake;
        std::string input(store::scram_hash_name(hash));
        input += '\0';
        input += name;
        fake.salt = store::scram_hmac(store::ScramHash::Sha256, *fake_salt_key_, input)
                        .substr(0, store::kScramSaltBytes);
        fake.iterations = accounts_.scram_iterations();
        fake.stored_key = store::random_bytes(store::scram_digest_size(hash));
        fake.server_key = store::random_bytes(store::scram_digest_size(hash));
        return fake;
    } catch (const std::exception& error) {
        log::error("login_unavailable", {{"user", std::string(user)}, {"error", error.what()}});
        return std::nullopt;
    }
}

void AccountAuthenticator::authenticate(AuthRequest request, std::function<void(AuthResult)> done) {
    Record record;
    try {
        const std::lock_guard lock(checker_->accounts_mutex);
        record = accounts_.login_record(request.user);
    } catch (const std::exception& error) {
        log::error("login_unavailable",
                   {{"user", request.user}, {"peer", request.peer}, {"error", error.what()}});
        done(AuthResult::Unavailable);
        return;
    }
    WorkPool* const pool = pool_.load();
    const bool answer_inline = pool == nullptr || !request.post_to_loop;
    CredentialCache* const cache = checker_->cache.get();
    if (cache && record &&
        cache->contains(record->user.name, record->password_hash, request.password.reveal())) {
        if (answer_inline) {
            done(verdict(record, true, Verified::Cache, request));
            return;
        }
        // Posted like a hashed answer, never called from here: the session
        // sees the same sequence of events, only sooner.
        auto shared = std::make_shared<AuthRequest>(std::move(request));
        auto shared_record = std::make_shared<const Record>(std::move(record));
        shared->post_to_loop([shared, shared_record, done] {
            if (is_cancelled(*shared)) return;
            done(verdict(*shared_record, true, Verified::Cache, *shared));
        });
        return;
    }
    if (answer_inline) {
        const bool match = checker_->check(request, record);
        done(verdict(record, match, Verified::Hash, request));
        return;
    }
    // Shared between the job and the answer; the job may be dropped unrun
    // (pool destroyed), and then nothing answers: the server is stopping.
    auto shared = std::make_shared<AuthRequest>(std::move(request));
    auto shared_record = std::make_shared<const Record>(std::move(record));
    const bool queued = pool->try_submit([checker = checker_, shared, shared_record, done] {
        // On a worker thread: the hash and the cache (thread-safe), never
        // the store.
        if (is_cancelled(*shared)) return;
        const bool match = checker->check(*shared, *shared_record);
        shared->post_to_loop([shared, shared_record, done, match] {
            if (is_cancelled(*shared)) return;
            done(verdict(*shared_record, match, Verified::Hash, *shared));
        });
    });
    if (!queued) {
        log::warning("login_overloaded", {{"user", shared->user}, {"peer", shared->peer}});
        done(AuthResult::Unavailable);
    }
}

store::Recipient AccountAuthenticator::find_recipient(std::string_view user) {
    std::lock_guard lock(checker_->accounts_mutex);
    return store::find_recipient(accounts_, user);
}

}  // namespace imap::server
