// AccountAuthenticator: the Authenticator backed by the accounts database
// (store::AccountStore). Logs every attempt with the peer's address and the
// user name as sent, never the password.
//
// The account row is read on the calling thread (one indexed SQLite lookup);
// then either the CredentialCache (credential_cache.h) knows this password
// was verified against this very stored hash a moment ago, and the answer is
// posted back at once without hashing, or the hash is checked on the
// WorkPool when there is one (yescrypt: 30-50 ms of CPU that must not stall
// an event loop), and the answer comes back through
// AuthRequest::post_to_loop. Both answers take the same path: the session
// sees no difference but the speed. When the pool's queue is full the
// answer is Unavailable at once; a cached login does not need the pool, so a
// flood of wrong passwords filling it does not keep out users whose
// password was verified recently. Without a pool (tests, tools) everything
// runs inline.
//
// The growing per-IP delay after failures is not here: LoginLimits
// (server/auth/login_limits.h) computes it and the Connection waits it out
// on a timer (Session::delay), before authenticate() is called, cache or not.
//
// Threads: authenticate() may be called from several threads (event loops)
// at once. The AccountStore's SQLite connection is used by one thread at a
// time (it is opened SQLITE_OPEN_NOMUTEX): reads go through a mutex of this
// object, so nothing else may use the same AccountStore while the
// authenticator is in use. The cache and the pool lock for themselves.
// verify_on() may race with authenticate() (an atomic), though the server
// calls it once, before serving.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "server/auth/credential_cache.h"
#include "server/auth/work_pool.h"
#include "server/imap/authenticator.h"
#include "store/accounts.h"
#include "store/local_delivery.h"

namespace imap::server {

class AccountAuthenticator : public Authenticator {
  public:
    // `accounts` and `pool` must outlive this object; `pool` may be null.
    // `cache` null: every login is hashed (the default is a CredentialCache
    // with kCredentialCacheTtl and kCredentialCacheEntries).
    explicit AccountAuthenticator(
        store::AccountStore& accounts, WorkPool* pool = nullptr,
        std::unique_ptr<CredentialCache> cache = std::make_unique<CredentialCache>());

    // From now on, hashes run on `pool` (the server's, once it exists);
    // nullptr: inline again.
    void verify_on(WorkPool* pool) { pool_.store(pool); }

    void authenticate(AuthRequest request, std::function<void(AuthResult)> done) override;

    // LMTP's RCPT (docs/lmtp.md): the account `user` delivers to, read
    // under the same lock as the logins' reads. Any thread.
    store::Recipient find_recipient(std::string_view user);

    // Password hash computations so far (a dummy one for an unknown user
    // included); a login answered from the cache adds none. For tests.
    std::uint64_t hashes_computed() const { return checker_->hashes.load(); }

  private:
    // What a pool job needs, shared with it, so a job still queued when this
    // object goes does not outlive what it uses.
    struct Checker {
        explicit Checker(std::unique_ptr<CredentialCache> credential_cache)
            : cache(std::move(credential_cache)) {}
        // The hash computation, on whichever thread; remembers a match in
        // the cache and drops the user's entry on a mismatch.
        bool check(const AuthRequest& request,
                   const std::optional<store::AccountStore::LoginRecord>& record);

        const std::unique_ptr<CredentialCache> cache;
        std::atomic<std::uint64_t> hashes{0};
    };

    store::AccountStore& accounts_;
    std::mutex accounts_mutex_;
    std::atomic<WorkPool*> pool_;
    const std::shared_ptr<Checker> checker_;
};

}  // namespace imap::server
