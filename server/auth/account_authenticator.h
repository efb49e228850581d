// AccountAuthenticator: the Authenticator backed by the accounts database
// (store::AccountStore). Logs every attempt with the peer's address and the
// user name as sent, never the password.
//
// The account is read on the calling thread (the event loop: one indexed
// SQLite lookup; the AccountStore's connection never leaves that thread);
// the hash is checked on the WorkPool when there is one (yescrypt: 30-50 ms
// of CPU that must not stall every other client), and the answer comes back
// through AuthRequest::post_to_loop. When the pool's queue is full the
// answer is Unavailable at once. Without a pool (tests, tools) everything
// runs inline.
//
// The growing per-IP delay after failures is not here: LoginLimits
// (server/auth/login_limits.h) computes it and the Connection waits it out on a
// timer (Session::delay).
#pragma once

#include "server/imap/authenticator.h"
#include "server/auth/work_pool.h"
#include "store/accounts.h"

namespace imap::server {

class AccountAuthenticator : public Authenticator {
  public:
    // `accounts` and `pool` must outlive this object; `pool` may be null.
    explicit AccountAuthenticator(store::AccountStore& accounts, WorkPool* pool = nullptr)
        : accounts_(accounts), pool_(pool) {}

    // From now on, hashes run on `pool` (the server's, once it exists);
    // nullptr: inline again.
    void verify_on(WorkPool* pool) { pool_ = pool; }

    void authenticate(AuthRequest request, std::function<void(AuthResult)> done) override;

  private:
    store::AccountStore& accounts_;
    WorkPool* pool_;
};

}  // namespace imap::server
