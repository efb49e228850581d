// AccountAuthenticator: the Authenticator backed by the accounts database
// (store::AccountStore). Logs every attempt with the peer's address and the
// user name as sent, never the password.
//
// The growing per-IP delay after failures (Config.failed_login_*) is not
// here: AccountStore::authenticate() is synchronous, so a delay here would
// block the reactor. LoginLimits (server/login_limits.h) computes it and the
// Connection waits it out on a timer (Session::delay).
#pragma once

#include "server/authenticator.h"
#include "store/accounts.h"

namespace imap::server {

class AccountAuthenticator : public Authenticator {
  public:
    // `accounts` must outlive this object.
    explicit AccountAuthenticator(store::AccountStore& accounts) : accounts_(accounts) {}

    AuthResult authenticate(std::string_view user, const imap::Secret& password,
                            std::string_view peer) override;

  private:
    store::AccountStore& accounts_;
};

}  // namespace imap::server
