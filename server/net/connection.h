// Connection: one client, on one IoLoop. Owns the libuv TCP handle, its
// timers, the optional TlsSession and the SessionHost that runs its Session
// (on this loop before login, on the user's strand after: session_host.h),
// and moves bytes between them:
//
//   socket --read--> [TlsSession] --> [Compression::feed/inflate] --> host: Session::receive
//   host outbox --> [Compression::compress/flush] --> [TlsSession] --uv_write--> socket
//
// COMPRESS=DEFLATE (RFC 4978, compression.h) sits between the session's
// bytes and TLS. The host marks the end of COMPRESS's tagged OK in its
// outbox (SessionHost::take_output): the connection writes up to it as it
// is, creates the Compression (only then: no zlib memory for connections
// that never compress) and posts Session::compression_started(); from then
// on every burst of output is compressed and sync-flushed before it goes
// to TLS or the socket, and every byte read is inflated. Inflating is
// paced like reading: at most kInflateChunk bytes at a time, only while
// the session takes input (input_wanted()), and no socket read while
// compressed input is left, so a decompression bomb never inflates more
// than the input high-water mark ahead of the session.
//
// What the connection knows of its session is the SessionView of the
// session's last publish; everything it asks of the session (input, resume,
// a timeout's BYE, abandon) is a task posted to the host, run in order.
//
// Lifetime: created by its IoLoop (add_connection), freed only from the close
// callback of the last of its five handles (uv_close exactly once per handle,
// free in the close callback). Every write owns its bytes until its write
// callback. The SessionHost may outlive the connection: retired at close, it
// destroys the Session on the Session's executor.
//
// Backpressure: reading stops while the bytes not yet sent (libuv's write
// queue + pending TLS ciphertext + the host's outbox) exceed kHighWater, the
// host still has kHighWater bytes of input to run, or the Session paused
// itself; it resumes below kLowWater, as do IDLE updates the Session held
// back. Output left unread above max_output_backlog for too long ends the
// connection (ConnectionDeadlines).
//
// Timeouts (ConnectionDeadlines): one timer for the deadline of the current
// phase: pre-login inactivity and the whole pre-login phase, autologout
// (RFC 3501 5.4), IDLE; then "* BYE" and close.
//
// Delays: while the Session is delayed() (a failed login's answer held back,
// LoginGate::failed), reading stops and only the login deadline runs; a
// second timer posts Session::delay_elapsed() when the delay is over. The
// loop is never blocked.
//
// IDLE (RFC 2177): while the Session is idling(), the idle timer is the
// longer idle_timeout (restarted when IDLE starts), a poll timer posts
// Session::idle_poll() every idle_poll_interval (changes made by other
// processes), and a keepalive timer posts "* OK Still here" after
// idle_keepalive without output. Updates another session pushes
// (UserMail::notify) reach the socket through the host's publish.
//
// A logged-in session holds one of its user's slots in the LoginGate (the
// per-user connection limit) until LOGOUT, a BYE, or its host's retirement.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/imap/session.h"
#include "server/net/compression.h"
#include "server/net/connection_deadlines.h"
#include "server/net/control_socket.h"
#include "server/net/session_host.h"
#include "server/net/tls.h"

namespace imap::server {

class IoLoop;

struct ConnectionOptions {
    bool implicit_tls = false;
    std::string listener;  // "imap", "imaps", "pop3", "pop3s" (listener_name)
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

// A logged-in connection on its way from the accepting loop to a session
// loop (Connection::take_over).
struct ConnectionTransfer {
    ConnectionTransfer() = default;
    // The descriptor has one owner: a moved-from transfer closes nothing.
    ConnectionTransfer(ConnectionTransfer&& other) noexcept
        : fd(std::exchange(other.fd, -1)),
          tls(std::move(other.tls)),
          compression(std::move(other.compression)),
          host(std::move(other.host)),
          options(std::move(other.options)),
          deadlines(other.deadlines),
          opened_at(other.opened_at) {}
    ConnectionTransfer& operator=(ConnectionTransfer&&) = delete;
    // Closes a socket nobody took over (a loop that stopped meanwhile).
    ~ConnectionTransfer();

    int fd = -1;
    std::unique_ptr<TlsSession> tls;
    std::unique_ptr<Compression> compression;
    std::shared_ptr<SessionHost> host;
    ConnectionOptions options;
    ConnectionDeadlines deadlines{DeadlineSettings{}, std::chrono::steady_clock::time_point{}};
    std::chrono::steady_clock::time_point opened_at;
};

class Connection {
  public:
    static constexpr std::size_t kHighWater = 512 * 1024;
    static constexpr std::size_t kLowWater = 64 * 1024;
    // Unread input read and dropped when the connection closes, at most
    // (discard_unread_input): a socket's receive buffer, as a client that
    // floods while being disconnected can fill it, without letting the
    // close itself take long.
    static constexpr std::size_t kMaxDiscardedOnClose = 1024 * 1024;
    // TCP_NOTSENT_LOWAT (socket_options.h): at most this much of what a
    // client has not read waits in the kernel (instead of up to tcp_wmem's
    // 4 MiB), the rest in our write queue where the high-water marks and
    // max_output_backlog see it. As large as the Session's high-water mark,
    // so a fast reader's stream never waits on it: a 20 MB FETCH over
    // loopback took the same time with and without it (within the noise
    // of a shared machine, 3 x 20 runs each).
    static constexpr std::size_t kKernelUnsent = 256 * 1024;
    // The Session's TurnBudget: how much one client runs back to back
    // before the others waiting for the same executor get theirs (the
    // loop's other connections; on a strand the user's other sessions). 5,000 pipelined NOOPs in
    // one write, best of 30 runs on a shared 2-core machine: no budget 1.9 ms; a turn per command
    // 21 ms (a loop iteration and a write each); 16 per turn 2.3 ms (+24%), 32: 2.1 ms (+10%),
    // 64: 1.9 ms (no measurable cost). 64 cheap commands take ~25 us, so that is what another
    // client waits per turn of a burst; the time bound caps a turn of commands that are each slow
    // (a SEARCH over a large mailbox), though a single command still runs to its end.
    static constexpr std::size_t kCommandsPerTurn = 64;
    static constexpr std::chrono::microseconds kTurnTime{2'000};
    // After the last response (LOGOUT's BYE, a timeout's, a TLS alert), how
    // long a peer that does not read it keeps its connection.
    static constexpr std::chrono::milliseconds kCloseFlushTimeout{10'000};
    // After the BYE of a connection ended for its output backlog: the last
    // chance to catch up, short because its unread output is what it holds.
    static constexpr std::chrono::milliseconds kBacklogFlushTimeout{500};
    // COMPRESS: inflated bytes handed to the session at a time, the size of
    // one socket read (IoLoop's read buffer), so an inflated stream is fed
    // as an uncompressed one would be.
    static constexpr std::size_t kInflateChunk = 64 * 1024;

    // Initialises the handles (on `loop`'s thread); the server then accepts
    // into tcp() and calls start(), or take_over() a moved connection.
    explicit Connection(IoLoop& loop);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection();

    // For uv_accept by the server, before start().
    uv_tcp_t* tcp() { return &tcp_; }
    // Instead of start(): carries on with a connection another loop moved
    // here after its login (docs/architecture.md "Threads").
    void take_over(ConnectionTransfer transfer);
    // Builds the session with `make` (in a SessionHost), greets, starts the
    // timer and reading. What `make` refers to (the authenticator, the
    // mail) must outlive the connection; `strands` (nullptr: the session
    // stays on this loop) too.
    void start(const SessionHost::SessionFactory& make, StrandRegistry* strands,
               ConnectionOptions options);
    // The same with an IMAP Session.
    void start(Authenticator& authenticator, MailAccess& mail, StrandRegistry* strands,
               ConnectionOptions options);
    // Instead of start(), for a client over a connection limit: closes at
    // once, after the one line `refusal` ("* BYE ..." for IMAP, "-ERR ..."
    // for POP3, CRLF included) on a plain port when the socket takes it
    // without waiting. Never counted, never greeted, never read.
    void refuse(bool implicit_tls,
                std::string_view refusal = "* BYE Too many connections from your address\r\n");

    // SIGTERM: "* BYE Server shutting down", then close once flushed.
    void shutdown();
    // "* BYE <text>" (RFC 3501 7.1.5), then close once flushed; `reason`
    // for the log. `imapd kick` and shutdown.
    void end_with_bye(std::string_view text, std::string_view reason);
    // What `imapd who` shows of this connection.
    ControlSocket::ConnectionInfo describe() const;
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
    bool counted() const { return host_ != nullptr; }
    bool closing() const { return closing_; }

  private:
    static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_timer(uv_timer_t* timer);
    static void on_delay(uv_timer_t* timer);
    static void on_idle_poll(uv_timer_t* timer);
    static void on_keepalive(uv_timer_t* timer);
    static void on_close(uv_handle_t* handle);

    void handle_input(std::string_view bytes);
    // Plaintext from the client (after TLS): to the session, through the
    // inflater once COMPRESS is active.
    void take_plaintext(std::string bytes);
    // COMPRESS: inflates queued input while the session takes input.
    void inflate_input();
    // The session takes input now: what decides reading the socket, less
    // the hysteresis (update_reading).
    bool input_wanted() const;
    // Writes the host's output through compression and TLS; starts
    // compression after COMPRESS's OK.
    void write_output();
    // The host published: a new view, maybe output.
    void on_session_update();
    // Drives the host's output to the socket and acts on the session's
    // view: STARTTLS, close, backpressure, delays, IDLE timers. Called after
    // every event.
    void pump();
    void pump_once();
    const SessionView& view() const { return host_->view(); }
    // Posts Session::resume() unless one posted is still to run.
    void post_resume();
    // Logged in on the accepting loop: once everything written so far is
    // on the wire, the socket, TLS state and session go to a session loop
    // (Server::session_loop) and this connection closes without a word.
    void move_to_session_loop();
    void write_raw(std::string bytes);
    // Reads and drops the input still in the socket before it closes.
    void discard_unread_input();
    // The chunks in order, in one write request (empty ones skipped).
    void write_chunks(std::vector<std::string> chunks);
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

    IoLoop& loop_;
    ConnectionOptions options_;
    uv_tcp_t tcp_{};
    uv_timer_t timer_{};
    uv_timer_t delay_timer_{};      // Session::delay()
    uv_timer_t poll_timer_{};       // IDLE: Session::idle_poll()
    uv_timer_t keepalive_timer_{};  // IDLE: "* OK Still here"
    std::unique_ptr<TlsSession> tls_;
    // The TLS channel binding, published by this loop once the handshake is
    // done (before the first decrypted byte reaches the session), read by
    // the session's SessionContext::channel_binding on its thread.
    struct ChannelBindingSlot {
        std::mutex mutex;
        std::optional<sasl::ChannelBinding> binding;
        bool published = false;
    };
    std::shared_ptr<ChannelBindingSlot> channel_binding_ = std::make_shared<ChannelBindingSlot>();
    std::unique_ptr<Compression> compression_;  // after COMPRESS (RFC 4978)
    std::shared_ptr<SessionHost> host_;         // from start()
    // Serials of tasks posted whose effect the view may not show yet
    // (SessionView::completed): a delay's end, a resume.
    std::uint64_t delay_elapsed_serial_ = 0;
    std::uint64_t resume_serial_ = 0;

    std::size_t writes_in_flight_ = 0;
    int open_handles_ = 0;
    bool reading_ = false;
    bool delay_armed_ = false;
    bool idle_armed_ = false;  // the IDLE timers run
    bool moving_ = false;      // waiting for writes to finish to move
    bool moved_ = false;       // moved once, or staying: never again
    bool in_pump_ = false;
    bool pump_again_ = false;
    bool closing_ = false;        // uv_close called
    bool counted_open_ = false;   // counted open in metrics() (start): closed once
    bool close_pending_ = false;  // close once everything is flushed
    std::string close_reason_;
    std::chrono::steady_clock::time_point opened_at_;
    ConnectionDeadlines deadlines_{DeadlineSettings{}, opened_at_};
};

}  // namespace imap::server
