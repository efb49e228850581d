#include "server/auth/account_authenticator.h"

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "server/base/log.h"
#include "store/errors.h"
#include "store/password.h"

namespace imap::server {
namespace {

// The second half, on the session's thread: the verdict, logged.
AuthResult verdict(const std::optional<store::AccountStore::LoginRecord>& record, bool match,
                   const AuthRequest& request) {
    if (record && match && !record->user.disabled) {
        log::info("login_ok", {{"user", record->user.name}, {"peer", request.peer}});
        return AuthResult::Ok;
    }
    log::info("login_failed", {{"user", request.user}, {"peer", request.peer}});
    return AuthResult::Failed;
}

}  // namespace

void AccountAuthenticator::authenticate(AuthRequest request, std::function<void(AuthResult)> done) {
    std::optional<store::AccountStore::LoginRecord> record;
    try {
        record = accounts_.login_record(request.user);
    } catch (const std::exception& error) {
        log::error("login_unavailable",
                   {{"user", request.user}, {"peer", request.peer}, {"error", error.what()}});
        done(AuthResult::Unavailable);
        return;
    }
    if (pool_ == nullptr || !request.post_to_loop) {
        // One hash computation either way (a dummy hash for unknown users),
        // so the response time does not reveal which names exist.
        const bool match = store::verify_login_password(
            request.password.reveal(),
            record ? std::optional<std::string_view>(record->password_hash) : std::nullopt);
        done(verdict(record, match, request));
        return;
    }
    // Shared between the job and the answer; the job may be dropped unrun
    // (pool destroyed), and then nothing answers: the server is stopping.
    auto shared = std::make_shared<AuthRequest>(std::move(request));
    auto shared_record =
        std::make_shared<const std::optional<store::AccountStore::LoginRecord>>(std::move(record));
    const bool queued = pool_->try_submit([shared, shared_record, done] {
        // On a worker thread: only the hash, never the store or the log.
        if (shared->cancelled && shared->cancelled->load()) return;
        const std::optional<store::AccountStore::LoginRecord>& found = *shared_record;
        const bool match = store::verify_login_password(
            shared->password.reveal(),
            found ? std::optional<std::string_view>(found->password_hash) : std::nullopt);
        shared->post_to_loop([shared, shared_record, done, match] {
            if (shared->cancelled && shared->cancelled->load()) return;
            done(verdict(*shared_record, match, *shared));
        });
    });
    if (!queued) {
        log::warning("login_overloaded", {{"user", shared->user}, {"peer", shared->peer}});
        done(AuthResult::Unavailable);
    }
}

}  // namespace imap::server
