#include "server/account_authenticator.h"

#include <exception>
#include <string>

#include "server/log.h"
#include "store/errors.h"

namespace imap::server {

AuthResult AccountAuthenticator::authenticate(std::string_view user, const imap::Secret& password,
                                              std::string_view peer) {
    try {
        if (auto found = accounts_.authenticate(user, password.reveal())) {
            log::info("login_ok", {{"user", found->name}, {"peer", peer}});
            return AuthResult::Ok;
        }
        log::info("login_failed", {{"user", user}, {"peer", peer}});
        return AuthResult::Failed;
    } catch (const store::StoreError& error) {
        // An invalid name is just a failed login (the answer must not say
        // which part was wrong); anything else is the database.
        if (error.code() == store::StoreErrc::InvalidName ||
            error.code() == store::StoreErrc::NotFound) {
            log::info("login_failed", {{"user", user}, {"peer", peer}});
            return AuthResult::Failed;
        }
        log::error("login_unavailable", {{"user", user}, {"peer", peer}, {"error", error.what()}});
        return AuthResult::Unavailable;
    } catch (const std::exception& error) {
        log::error("login_unavailable", {{"user", user}, {"peer", peer}, {"error", error.what()}});
        return AuthResult::Unavailable;
    }
}

}  // namespace imap::server
