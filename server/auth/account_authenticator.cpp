#include "server/auth/account_authenticator.h"

#include <exception>
#include <string>
#include <string_view>
#include <utility>

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
    : accounts_(accounts), pool_(pool), checker_(std::make_shared<Checker>(std::move(cache))) {}

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
    return match;
}

void AccountAuthenticator::authenticate(AuthRequest request, std::function<void(AuthResult)> done) {
    Record record;
    try {
        const std::lock_guard lock(accounts_mutex_);
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
    std::lock_guard lock(accounts_mutex_);
    return store::find_recipient(accounts_, user);
}

}  // namespace imap::server
