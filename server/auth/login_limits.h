// LoginLimits: the server's LoginGate (server/imap/authenticator.h), the two login
// policies that need to know about more than one connection:
//
// - Per-user connection limit ([limits] max_connections_per_user): counted
//   per canonical user name (store::AccountStore::canonical_user_name, so
//   "Alice" and "alice" share a count), over every address: the user's
//   devices behind different addresses all count (Dovecot's
//   mail_max_userip_connections counts per user and address; one count per
//   user bounds what a stolen password can open). A login past the limit is
//   refused with "NO [LIMIT]"; the connection stays unauthenticated.
//   Connections release their slot when they close.
//
// - Failed-login delay per address ([auth] failed_login_delay, _max,
//   _reset), d(n) = failed_login_delay * 2^(n-1), at most
//   failed_login_delay_max. An address's first failure is answered after
//   d(1); once it has n failures in a row, every attempt from it, whatever
//   its outcome, waits d(n+1) before it is even verified (penalty()), so a
//   client cannot drop the slow answers as failures and take a fast one as
//   the success (as Dovecot's auth penalty does). The count is forgotten
//   after failed_login_reset without a failure from the address, or at a
//   successful login from it. The waits are the Session's and the
//   Connection's (Session::delay, a libuv timer): the loop is never
//   blocked.
//
// Memory: one entry per address with recent failures; expired entries are
// pruned as the table grows.
//
// Threads: every member may be called from any thread at once (sessions on
// several event loops share one LoginLimits): one mutex guards both tables.
// Each call is atomic on its own; nothing is promised across calls (a
// penalty() and the failed() after it may see other threads' failures in
// between, which only makes the delay longer).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "server/base/config.h"
#include "server/imap/authenticator.h"

namespace imap::server {

class LoginLimits : public LoginGate {
  public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;

    // Reads the limits from `config` (copied). `clock` is for tests.
    explicit LoginLimits(const Config& config, Clock clock = &std::chrono::steady_clock::now);

    bool admit(std::string_view user, std::string_view peer) override;
    void release(std::string_view user) override;
    std::chrono::milliseconds penalty(std::string_view peer) override;
    std::chrono::milliseconds failed(std::string_view peer) override;
    std::chrono::milliseconds unavailable(std::string_view peer) override;

    // For tests and logs.
    std::size_t connections_of(std::string_view user) const;
    unsigned failures_from(std::string_view peer) const;
    std::size_t tracked_addresses() const;

  private:
    struct Failures {
        unsigned count = 0;
        std::chrono::steady_clock::time_point last;
    };

    static std::string canonical(std::string_view user);
    bool expired(const Failures& entry, std::chrono::steady_clock::time_point now) const;
    // d(n), capped.
    std::chrono::milliseconds delay_after(unsigned failures) const;
    // Expects mutex_ held.
    void prune(std::chrono::steady_clock::time_point now);

    std::size_t max_per_user_;
    std::chrono::milliseconds delay_;
    std::chrono::milliseconds delay_max_;
    std::chrono::milliseconds reset_after_;
    Clock clock_;

    mutable std::mutex mutex_;
    std::map<std::string, std::size_t, std::less<>> per_user_;
    std::map<std::string, Failures, std::less<>> failures_;
    std::size_t prune_at_;
};

}  // namespace imap::server
