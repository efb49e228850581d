// Connection: one client. Owns the libuv TCP handle, its timers, the
// optional TlsSession and the Session, and moves bytes between them:
//
//   socket --read--> [TlsSession::feed_ciphertext/read_plaintext] --> Session::receive
//   Session::output --> [TlsSession::write_plaintext/take_ciphertext] --uv_write--> socket
//
// Lifetime: created by the Server on accept, freed only from the close
// callback of the last of its six handles (STYLE.md: uv_close exactly once
// per handle, free in the close callback). Every write owns its bytes until
// its write callback.
//
// Backpressure: reading stops while the bytes not yet sent (libuv's write
// queue + pending TLS ciphertext + Session output) exceed kHighWater, or the
// Session paused itself; it resumes below kLowWater, as do IDLE updates the
// Session held back. Output left unread above max_output_backlog for too
// long ends the connection (ConnectionDeadlines).
//
// Timeouts (ConnectionDeadlines): one timer for the deadline of the current
// phase: pre-login inactivity and the whole pre-login phase, autologout
// (RFC 3501 5.4), IDLE; then "* BYE" and close.
//
// Delays: while the Session is delayed() (a failed login's answer held back,
// LoginGate::failed), reading stops and only the login deadline runs; a
// second timer calls Session::delay_elapsed() when the delay is over. The
// loop is never blocked.
//
// IDLE (RFC 2177): while the Session is idling(), the idle timer is the
// longer idle_timeout (restarted when IDLE starts), a poll timer calls
// Session::idle_poll() every idle_poll_interval (changes made by other
// processes), and a keepalive timer writes "* OK Still here" after
// idle_keepalive without output. Updates another session pushes
// (UserMail::notify) reach the socket through the Session's output
// listener, which pumps.
//
// A logged-in connection holds one of its user's slots in the LoginGate
// (the per-user connection limit) and releases it when it closes.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "server/imap/session.h"
#include "server/net/connection_deadlines.h"
#include "server/net/tls.h"

namespace imap::server {

class Server;

struct ConnectionOptions {
    bool implicit_tls = false;
    std::string listener;  // "imap" / "imaps"
    // Config: the timeouts and the output backlog bound
    // (server/net/connection_deadlines.h).
    DeadlineSettings timeouts;
    // IDLE (Config: idle_poll_interval, idle_keepalive; zero keepalive:
    // none).
    std::chrono::milliseconds idle_poll_interval{2'000};
    std::chrono::milliseconds idle_keepalive{2 * 60'000};
    std::shared_ptr<const TlsContext> tls_context;
    SessionContext session_context;
};

class Connection {
  public:
    static constexpr std::size_t kHighWater = 512 * 1024;
    static constexpr std::size_t kLowWater = 64 * 1024;
    static constexpr std::size_t kReadBufferSize = 64 * 1024;
    // TCP_NOTSENT_LOWAT (socket_options.h): at most this much of what a
    // client has not read waits in the kernel (instead of up to tcp_wmem's
    // 4 MiB), the rest in our write queue where the high-water marks and
    // max_output_backlog see it. As large as the Session's high-water mark,
    // so a fast reader's stream never waits on it: a 20 MB FETCH over
    // loopback took the same time with and without it (within the noise
    // of a shared machine, 3 x 20 runs each).
    static constexpr std::size_t kKernelUnsent = 256 * 1024;
    // The Session's TurnBudget: how much one client runs back to back
    // before the loop serves the others. 5,000 pipelined NOOPs in one
    // write, best of 30 runs on a shared 2-core machine: no budget 1.9 ms;
    // a turn per command 21 ms (a loop iteration and a write each); 16 per
    // turn 2.3 ms (+24%), 32: 2.1 ms (+10%), 64: 1.9 ms (no measurable
    // cost). 64 cheap commands take ~25 us, so that is what another client
    // waits per turn of a burst; the time bound caps a turn of commands
    // that are each slow (a SEARCH over a large mailbox), though a single
    // command still runs to its end.
    static constexpr std::size_t kCommandsPerTurn = 64;
    static constexpr std::chrono::microseconds kTurnTime{2'000};
    // After the last response (LOGOUT's BYE, a timeout's, a TLS alert), how
    // long a peer that does not read it keeps its connection.
    static constexpr std::chrono::milliseconds kCloseFlushTimeout{10'000};
    // After the BYE of a connection ended for its output backlog: the last
    // chance to catch up, short because its unread output is what it holds.
    static constexpr std::chrono::milliseconds kBacklogFlushTimeout{500};

    // Initialises the handles; the server then accepts into tcp() and calls
    // start().
    explicit Connection(Server& server);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // For uv_tcp_init + uv_accept by the server, before start().
    uv_tcp_t* tcp() { return &tcp_; }
    // Builds the Session, greets, starts the timer and reading.
    // `authenticator` and `mail` must outlive the connection.
    void start(Authenticator& authenticator, MailAccess& mail, ConnectionOptions options);
    // Instead of start(), for a client over a connection limit: closes at
    // once, after a one-line "* BYE" on a plain port when the socket takes
    // it without waiting. Never counted, never greeted, never read.
    void refuse(bool implicit_tls);

    // SIGTERM: "* BYE Server shutting down", then close once flushed.
    void shutdown();
    // Closes now, dropping unsent output (fatal errors, shutdown deadline).
    void close_now(std::string_view reason);

    // Another process (`imapd deliver`) changed the mail of `user` (the
    // canonical name, store::ExternalChangeWatcher): an idling session
    // looks at once instead of at its next poll.
    void mail_changed_elsewhere(std::string_view user);

    const std::string& peer() const { return options_.session_context.peer; }
    // The authenticated user; empty before login.
    const std::string& user() const;
    // Counted against the connection limits: every started connection, in
    // its TLS handshake too.
    bool counted() const { return session_.has_value(); }
    bool closing() const { return closing_; }

  private:
    static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_timer(uv_timer_t* timer);
    static void on_delay(uv_timer_t* timer);
    static void on_idle_poll(uv_timer_t* timer);
    static void on_keepalive(uv_timer_t* timer);
    static void on_turn(uv_idle_t* idle);
    static void on_close(uv_handle_t* handle);

    void handle_input(std::string_view bytes);
    // Drives the Session output to the socket and acts on its state:
    // STARTTLS, close, backpressure. Called after every event.
    void pump();
    void write_raw(std::string bytes);
    // Bytes accepted from the Session but not on the wire: libuv's write
    // queue and TLS; unsent() adds the Session's own output.
    std::size_t transport_unsent() const;
    std::size_t unsent() const;
    void update_reading();
    // Arms timer_ for the deadline of the current phase
    // (ConnectionDeadlines).
    void arm_timer();
    ConnectionDeadlines::Phase phase() const;
    // Starts or stops the IDLE timers as the Session begins or ends IDLE.
    void update_idle();
    void arm_keepalive();
    // Stops reading and producing; closes once everything is sent, or after
    // `flush` at the latest.
    void close_after_flush(std::string_view reason,
                           std::chrono::milliseconds flush = kCloseFlushTimeout);
    bool flushed() const;

    Server& server_;
    ConnectionOptions options_;
    uv_tcp_t tcp_{};
    uv_timer_t timer_{};
    uv_timer_t delay_timer_{};      // Session::delay()
    uv_timer_t poll_timer_{};       // IDLE: Session::idle_poll()
    uv_timer_t keepalive_timer_{};  // IDLE: "* OK Still here"
    uv_idle_t turn_{};              // Session::yielded(): resume on the next turn
    std::unique_ptr<TlsSession> tls_;
    std::optional<Session> session_;  // from start()
    char read_buffer_[kReadBufferSize];

    std::size_t writes_in_flight_ = 0;
    int open_handles_ = 0;
    bool reading_ = false;
    bool delay_armed_ = false;
    bool idle_armed_ = false;     // the IDLE timers run
    bool turn_armed_ = false;     // turn_ runs
    bool closing_ = false;        // uv_close called
    bool close_pending_ = false;  // close once everything is flushed
    std::string close_reason_;
    std::chrono::steady_clock::time_point opened_at_;
    ConnectionDeadlines deadlines_{DeadlineSettings{}, opened_at_};
};

}  // namespace imap::server
