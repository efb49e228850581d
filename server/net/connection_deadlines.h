// ConnectionDeadlines: which timeout a connection is under and when it
// fires, as a function of its phase and the times it records, free of
// libuv so the rules are tested with a hand-moved clock. The Connection
// keeps one, tells it what happens (bytes received, IDLE started) and arms
// its timer for next().
//
//   phase                     deadline
//   not authenticated         the earlier of: last activity + pre_auth
//                             (inactivity), and opened + login (the whole
//                             pre-login phase: trickling bytes does not
//                             extend it)
//   authenticated, selected   last activity + autologout (RFC 3501 5.4)
//   idling (RFC 2177)         IDLE start + idle (activity does not extend it)
//   any, unsent output above  the moment it went above + output_backlog:
//   max_output_backlog        a client that does not read what it asked for
//                             (or what IDLE pushes) is ended, not buffered for
//
// While the session waits on the server (a failed login's delay, a password
// being verified) the client is not inactive: only the login and backlog
// deadlines run.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace imap::server {

// Config: pre_auth_timeout, login_timeout, autologout, idle_timeout,
// output_backlog_timeout, max_output_backlog.
struct DeadlineSettings {
    std::chrono::milliseconds pre_auth{60'000};
    std::chrono::milliseconds login{180'000};
    std::chrono::milliseconds autologout{30 * 60'000};
    std::chrono::milliseconds idle{30 * 60'000};
    std::chrono::milliseconds output_backlog{60'000};
    std::size_t max_output_backlog = 8 * 1024 * 1024;
};

class ConnectionDeadlines {
  public:
    using Clock = std::chrono::steady_clock;

    enum class Phase { NotAuthenticated, Authenticated, Idling };

    enum class Kind {
        Inactivity,  // pre_auth or autologout
        Login,       // the pre-login phase took too long
        Idle,        // IDLE lasted too long
        Backlog,     // unsent output stayed above max_output_backlog
    };

    struct Deadline {
        Clock::time_point when;
        Kind kind;
    };

    ConnectionDeadlines(DeadlineSettings settings, Clock::time_point opened)
        : settings_(settings), opened_(opened), last_activity_(opened) {}

    // Bytes arrived from the client.
    void activity(Clock::time_point now) { last_activity_ = now; }
    // The session entered IDLE.
    void idle_started(Clock::time_point now) { idle_started_ = now; }
    // The connection's unsent output now (after every write and every
    // write completion).
    void unsent_output(std::size_t bytes, Clock::time_point now);

    // The deadline that applies; nullopt when none does (an authenticated
    // session waiting on the server).
    std::optional<Deadline> next(Phase phase, bool waiting_on_server) const;

  private:
    std::optional<Deadline> phase_deadline(Phase phase, bool waiting_on_server) const;

    DeadlineSettings settings_;
    Clock::time_point opened_;
    Clock::time_point last_activity_;
    Clock::time_point idle_started_{};
    // Since when the unsent output is above max_output_backlog; nullopt
    // while it is not.
    std::optional<Clock::time_point> backlog_since_;
};

// "inactivity", "login", "idle" (for logs).
std::string_view to_string(ConnectionDeadlines::Kind kind);

}  // namespace imap::server
