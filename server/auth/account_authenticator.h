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
// SCRAM: scram_credentials() reads the stored keys on the calling thread
// like login_record(); the proof is checked by the exchange
// (server/auth/sasl.h: two HMACs and a hash, no PBKDF2). An account made
// before SCRAM gets its keys after its next successful password check, in
// the same pool job as the hash (PBKDF2 per SCRAM hash at the configured
// iteration count) and written by that job: never on an event loop.
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

    // SCRAM (server/auth/sasl.h): the accounts database keeps SCRAM keys.
    bool offers_scram() const override { return true; }
    // The user's keys (AccountStore::scram_credentials), or made-up ones:
    // salt = the first kScramSaltBytes of HMAC-SHA-256(the database's
    // scram_fake_salt_key, hash name NUL canonical name), the configured
    // iteration count, random keys that no proof matches (RFC 5802 9). An
    // existing account without keys yet gets made-up ones as well, so a
    // client cannot tell it from an unknown name; it gets real keys at its
    // next successful PLAIN/LOGIN. Under the same lock as the logins' reads.
    std::optional<store::ScramCredentials> scram_credentials(std::string_view user,
                                                             store::ScramHash hash) override;

    // LMTP's RCPT (docs/lmtp.md): the account `user` delivers to, read
    // under the same lock as the logins' reads. Any thread.
    store::Recipient find_recipient(std::string_view user);

    // Password hash computations so far (a dummy one for an unknown user
    // included); a login answered from the cache adds none. For tests.
    std::uint64_t hashes_computed() const { return checker_->hashes.load(); }
    // Accounts given SCRAM keys after a successful password check. For
    // tests.
    std::uint64_t scram_migrations() const { return checker_->migrations.load(); }

  private:
    // What a pool job needs, shared with it, so a job still queued when this
    // object goes does not outlive what it uses.
    struct Checker {
        Checker(store::AccountStore& account_store,
                std::unique_ptr<CredentialCache> credential_cache)
            : accounts(account_store), cache(std::move(credential_cache)) {}
        // The hash computation, on whichever thread; remembers a match in
        // the cache and drops the user's entry on a mismatch. A match for
        // an account without current SCRAM keys derives and stores them
        // (migrate_to_scram), on the same thread: never an event loop's
        // when there is a pool.
        bool check(const AuthRequest& request,
                   const std::optional<store::AccountStore::LoginRecord>& record);
        // PBKDF2 for every SCRAM hash, then one write under the lock; a
        // failure is logged, the login goes ahead.
        void migrate_to_scram(const AuthRequest& request,
                              const store::AccountStore::LoginRecord& record);

        store::AccountStore& accounts;
        // The AccountStore's connection is used by one thread at a time.
        std::mutex accounts_mutex;
        const std::unique_ptr<CredentialCache> cache;
        std::atomic<std::uint64_t> hashes{0};
        std::atomic<std::uint64_t> migrations{0};
    };

    store::AccountStore& accounts_;
    // Read once, under the accounts mutex.
    std::optional<std::string> fake_salt_key_;
    std::atomic<WorkPool*> pool_;
    const std::shared_ptr<Checker> checker_;
};

}  // namespace imap::server
