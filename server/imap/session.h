// Session: one IMAP connection's protocol state machine (RFC 3501 section 3),
// free of sockets, libuv and OpenSSL. The transport feeds it the plaintext
// bytes it received and sends what it writes to output(); tests do the same
// with strings (tests/support/session_driver.h).
//
//   Session s(context, authenticator);
//   s.greeting();
//   s.receive(bytes);            // runs every complete command, in order
//   send(s.output());            // the responses, "+" continuations included
//   if (s.starttls_requested()) { start TLS; s.tls_started(); }
//   if (s.wants_close()) { flush output, close }
//
// Pipelining (RFC 3501 5.5): every command complete in the buffered bytes
// runs in the order received, each answered with its own tagged response.
// When output() grows past kOutputHighWater the session stops taking
// commands (input_paused()); the transport stops reading, drains the output
// and calls resume(). After its TurnBudget it stops too (yielded()), and
// the transport resumes it once the other clients had their turn.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/command.h"
#include "protocol/framer.h"
#include "protocol/output_buffer.h"
#include "protocol/response_writer.h"
#include "server/imap/authenticator.h"
#include "server/imap/command_table.h"
#include "server/imap/selected_mailbox.h"
#include "server/imap/user_mail.h"

namespace imap::server {

// How much one receive() or resume() may do before it returns, so that one
// client's burst of pipelined commands does not hold up every other client
// of the loop: after max_commands events (commands, literal decisions,
// steps of a resumable command) or max_time, whichever comes first, the
// session stops with yielded() true and the transport calls resume() on its
// next turn. Zero: no limit (tests, tools).
struct TurnBudget {
    std::size_t max_commands = 0;
    std::chrono::microseconds max_time{0};
};

struct SessionContext {
    // The connection is already encrypted (implicit TLS, port 993).
    bool tls = false;
    // STARTTLS can be offered (the server has a certificate).
    bool starttls_available = true;
    // The peer may use plaintext authentication without TLS. The transport
    // sets it for loopback peers (Dovecot's default: login_trusted_networks
    // aside, 127.0.0.1 and ::1 count as secure), or when the configuration
    // allows plaintext authentication everywhere.
    bool plaintext_auth_allowed = false;
    // The peer's address, for logs and the authenticator's per-IP delay.
    std::string peer;
    // How an authenticator working on another thread answers on this
    // session's loop (AuthRequest::post_to_loop); empty: it answers inline.
    PostToLoop post_to_loop;
    // After a successful password check, before the session opens the
    // user's mail: runs the rest of the login (`then`) where that user's mail
    // may be used, i.e. on the user's strand in the multi-threaded server
    // (server/net/session_host.h); the session waits meanwhile. Empty: the
    // rest runs at once, here.
    std::function<void(std::string_view user, std::function<void()> then)> run_as_user;
    FramerLimits framer_limits{};
    // The server's per-user connection limit and failed-login delay,
    // consulted at the end of every authentication; nullptr: neither. Must
    // outlive the session.
    LoginGate* login_gate = nullptr;
    TurnBudget turn_budget{};
};

class Session {
  public:
    // Past this many bytes of pending output, no further command is started
    // until resume(): a client pipelining commands without reading the
    // answers cannot make the server buffer without bound.
    static constexpr std::size_t kOutputHighWater = 256 * 1024;

    // `authenticator`, `mail_access` and `table` must outlive the session.
    // Without `mail_access` every command that needs mail answers
    // "NO [UNAVAILABLE]".
    Session(SessionContext context, Authenticator& authenticator, MailAccess* mail_access = nullptr,
            const CommandTable& table = CommandTable::builtin());
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // "* OK [CAPABILITY ...] imapd ready." (RFC 3501 7.1.1; the capability
    // code saves clients a round trip).
    void greeting();

    // Feeds bytes the client sent (after TLS decryption) and runs every
    // command they complete. Ignored once wants_close() or while
    // starttls_requested(): bytes that arrive in plaintext before the TLS
    // handshake must never be executed (RFC 3501 6.2.1, CVE-2011-0411).
    void receive(std::string_view plaintext);

    // Continues with commands already received after input_paused() or
    // yielded(), and sends an IDLE update held back by idle_update_pending().
    void resume();
    bool input_paused() const { return paused_; }
    // An IDLE update was held back because the client had not read enough
    // (see begin_idle): the transport calls resume() once its unsent output
    // is low again.
    bool idle_update_pending() const { return idle_update_pending_; }

    // The bytes the transport accepted from output() but has not sent yet
    // (socket write queue, TLS), so that IDLE updates obey the same
    // high-water mark as commands (kOutputHighWater, on output() plus this).
    void set_transport_unsent(std::function<std::size_t()> unsent) {
        transport_unsent_ = std::move(unsent);
    }
    // output() plus the transport's unsent bytes.
    std::size_t unsent() const;
    // The last receive() or resume() used up its TurnBudget with commands
    // possibly left to run: the transport reads nothing more (they are
    // buffered already) and calls resume() on its next turn.
    bool yielded() const { return yielded_; }

    OutputBuffer& output() { return output_; }

    // True after LOGOUT (BYE and the tagged OK are in output()) or a fatal
    // framing error (BYE): flush the output, then close.
    bool wants_close() const { return closing_; }

    // True after a successful STARTTLS: the tagged OK is the last plaintext
    // output; the transport sends it, starts the TLS handshake and calls
    // tls_started(). Bytes received before then are discarded.
    bool starttls_requested() const { return starttls_requested_; }
    void tls_started();

    SessionState state() const { return state_; }
    // The authenticated user; empty before login.
    const std::string& user() const { return user_; }

    // ---- For command handlers (server/imap/commands/) ----

    ResponseWriter& writer() { return writer_; }
    const SessionContext& context() const { return context_; }
    const CommandTable& table() const { return table_; }
    Authenticator& authenticator() { return authenticator_; }
    bool tls_active() const { return tls_; }
    // Plaintext credentials (LOGIN, AUTH=PLAIN, AUTH=LOGIN) may be sent:
    // over TLS, or from a peer the transport trusts (RFC 3501 6.2.3,
    // LOGINDISABLED).
    bool plaintext_auth_allowed() const { return tls_ || context_.plaintext_auth_allowed; }

    // The capabilities for the current state and transport, in the order
    // advertised (RFC 3501 7.2.1).
    std::vector<std::string> capabilities() const;

    // NotAuthenticated -> Authenticated, opening the user's mail. False
    // (state unchanged) when the mail cannot be opened.
    bool logged_in(std::string user);

    // The user's mail; nullptr before login or without MailAccess.
    UserMail* mail() { return mail_.get(); }

    // RFC 5161 ENABLE and RFC 7162 3.1: once CONDSTORE is enabled (by ENABLE
    // or any CONDSTORE enabling command) every FETCH response that carries
    // flags carries MODSEQ, and SELECT/EXAMINE send HIGHESTMODSEQ; QRESYNC
    // (ENABLE only) implies CONDSTORE and turns EXPUNGE into VANISHED. Both
    // last until the connection closes.
    bool condstore_enabled() const { return condstore_; }
    bool qresync_enabled() const { return qresync_; }
    // A CONDSTORE enabling command ran. The first one while a mailbox is
    // selected sends "* OK [HIGHESTMODSEQ n]" (RFC 7162 3.1).
    void enable_condstore();
    void enable_qresync();
    // The tagged OK of EXPUNGE, UID EXPUNGE and MOVE: after the sync, with
    // [HIGHESTMODSEQ n] when CONDSTORE is enabled and `expunged` (RFC 7162
    // 3.2.7 and 3.2.9 require it with QRESYNC and allow it otherwise; RFC
    // 6851 4.4). n is SelectedMailbox::reported_modseq().
    void complete_expunge(const std::string& tag, bool expunged, std::string_view text);
    // The selected mailbox's view; nullptr unless in the Selected state.
    SelectedMailbox* selected() { return selected_.get(); }
    // Authenticated/Selected -> Selected with `view` (SELECT, EXAMINE).
    void select(std::unique_ptr<SelectedMailbox> view);
    // Selected -> Authenticated (CLOSE, UNSELECT, a failed SELECT).
    void deselect();

    // Ends the running command: first the mailbox updates this command may
    // carry (SelectedMailbox::sync: no EXPUNGE during FETCH, STORE, SEARCH
    // and COPY by sequence number, RFC 3501 7.4.1), then the tagged
    // response. Every handler of the authenticated and selected states ends
    // with one of these.
    void complete(const std::string& tag, Status status, std::string_view text);
    void complete(const std::string& tag, Status status, const ResponseCode& code,
                  std::string_view text);
    // The tagged NO for an exception a handler caught or let escape:
    // store::StoreError with its RFC 5530 code, SQLite busy as [INUSE],
    // anything else as [SERVERBUG] (and logged).
    void fail(const std::string& tag, const std::exception& error);

    // A command that produces more output than should be buffered at once
    // (FETCH of many or large messages) runs in steps: `step` is called now
    // and again each time the output drained below kOutputHighWater, until
    // it returns true, having written the tagged response (with
    // complete()). No further command starts before then. An exception from
    // a step ends the command with fail().
    using CommandStep = std::function<bool(Session&)>;
    void continue_later(std::string tag, CommandStep step);
    // After the STARTTLS handler wrote its tagged OK: drops every byte
    // pipelined behind the command and waits for tls_started().
    void begin_starttls();
    // After LOGOUT's BYE and tagged OK: nothing more is read.
    void logout();
    // The transport is closing the connection (shutdown, a timeout; its BYE
    // is written already): an answer still on its way or held back (a
    // password check, a failed login's delay) is dropped, IDLE ends, and
    // nothing more runs or is produced. wants_close() is true after it.
    void abandon();

    // Holds the conversation back for `duration` (the answer to a failed
    // login, LoginGate::failed): no further command runs until the
    // transport, `duration` after seeing pending_delay(), calls
    // delay_elapsed(), which runs `then` (it writes the held-back response)
    // and carries on with the commands received meanwhile. Output written
    // before the delay may be sent at once; the transport reads nothing
    // more while delayed().
    void delay(std::chrono::milliseconds duration, std::function<void(Session&)> then);
    bool delayed() const { return static_cast<bool>(delayed_then_); }
    // The duration asked for by delay(); zero when not delayed().
    std::chrono::milliseconds pending_delay() const { return delay_; }
    void delay_elapsed();

    // Checks credentials with the Authenticator, which may answer later
    // (the hash runs on a worker thread): meanwhile no further command runs
    // and the transport reads nothing (verifying()); then `then` runs with
    // the result (it writes the answer), and the session carries on with
    // what the client sent meanwhile and calls the output listener.
    using VerifiedHandler = std::function<void(Session&, AuthResult)>;
    void verify_credentials(std::string user, Secret password, VerifiedHandler then);
    bool verifying() const { return static_cast<bool>(verified_then_); }
    // delayed() or verifying(): the session waits on the server, not on the
    // client (the transport reads nothing; only the login deadline runs).
    bool waiting_on_server() const { return delayed() || verifying(); }

    // An exchange that reads continuation lines (AUTHENTICATE, RFC 3501
    // 6.2.2): the next client line is read raw and passed to `handler`,
    // which may call expect_continuation() again. If that line is too long,
    // the session answers "tag BAD" itself and the exchange ends.
    using ContinuationHandler = std::function<void(Session&, std::string_view line)>;
    void expect_continuation(std::string tag, ContinuationHandler handler);

    // IDLE (RFC 2177, cmd_idle.cpp). begin_idle() sends the selected
    // mailbox's pending updates, then "+ idling", and waits: the client's
    // next line is read raw and passed to `on_line` (the wait is over by
    // then, idling() is false). Meanwhile changes go out as they commit: at
    // once when another session of this user reports one
    // (UserMail::notify), and at each idle_poll(), which the transport calls
    // on a timer while idling() to catch other processes' changes (`imapd
    // deliver`). While unsent() is at or above kOutputHighWater no update is
    // made (idle_update_pending()); the next resume() sends one sync of the
    // state by then. A too-long line ends the wait with "tag BAD".
    void begin_idle(std::string tag, ContinuationHandler on_line);
    bool idling() const { return idling_; }
    // While idling(): sends what changed in the selected mailbox (EXPUNGE
    // included, RFC 2177 3) and calls the output listener if anything was
    // written. Otherwise does nothing.
    void idle_poll();
    // Called after output() grew, or the session can go on, outside
    // receive(), resume() and delay_elapsed(): an IDLE update pushed by
    // another session's command, a password check's answer. The transport
    // sends the output and looks at the state again.
    void set_output_listener(std::function<void()> listener) {
        output_listener_ = std::move(listener);
    }

  private:
    // The framer's limits in `state`: the configured ones, lowered before
    // login (protocol/limits.h kMaxPreAuthCommandSize).
    FramerLimits framer_limits_for(SessionState state) const;
    void process();
    void on_frame(Frame frame);
    void on_literal_request(const LiteralRequest& request);
    void on_raw_line(std::string_view line);
    void on_framing_error(const FramingError& error);
    // "tag BAD/NO" when `spec` may not run now; true when it may.
    bool check_runnable(const CommandSpec* spec, std::string_view name, const std::string& tag);
    void run_handler(const CommandSpec& spec, Command& command);
    // Runs the pending command step; false while it is not finished.
    bool run_step();
    // The end of a command that waited on the server: its log line.
    void finish_waiting();
    // The Authenticator's answer to verify_credentials().
    void verified(AuthResult result);
    void sync_selected();
    void end_idle();
    // The IDLE update: a sync, unless the client is behind (then only
    // idle_update_pending_). True when it wrote anything.
    bool idle_sync();
    // The debug log line of a finished command (name, status, duration).
    void log_command_done();
    // The debug log line of a command refused before it ran (a syntax error,
    // the wrong state, a literal refused): its name when known, the status
    // and the reason the client was given.
    void log_refused(std::string_view name, Status status, std::string_view reason);

    SessionContext context_;
    Authenticator& authenticator_;
    MailAccess* mail_access_;
    const CommandTable& table_;
    Framer framer_;
    OutputBuffer output_;
    ResponseWriter writer_{output_};

    SessionState state_ = SessionState::NotAuthenticated;
    std::string user_;
    bool tls_ = false;
    bool condstore_ = false;
    bool qresync_ = false;
    bool starttls_requested_ = false;
    bool closing_ = false;
    bool paused_ = false;
    bool yielded_ = false;

    std::string continuation_tag_;
    ContinuationHandler continuation_;

    std::shared_ptr<UserMail> mail_;
    std::unique_ptr<SelectedMailbox> selected_;
    // IDLE: the wait, and the UserMail listener that pushes updates (after
    // mail_, so it is removed before the UserMail may go).
    bool idling_ = false;
    bool idle_update_pending_ = false;
    UserMail::Subscription idle_subscription_;
    std::function<void()> output_listener_;
    std::function<std::size_t()> transport_unsent_;
    // The command running now (for the sync rules of complete()).
    const CommandSpec* running_ = nullptr;
    bool running_uid_ = false;
    std::chrono::steady_clock::time_point running_since_;
    // The status of the last tagged response complete() wrote.
    Status completed_status_ = Status::Ok;
    std::string step_tag_;
    CommandStep step_;
    // delay(): what runs when it has elapsed, and how long it is.
    std::function<void(Session&)> delayed_then_;
    std::chrono::milliseconds delay_{0};
    // verify_credentials(): what runs with the answer; whether we are inside
    // the Authenticator's call (an answer then is inline).
    VerifiedHandler verified_then_;
    bool verifying_call_ = false;
    // Set when the session is destroyed, for answers still on their way.
    std::shared_ptr<std::atomic<bool>> gone_ = std::make_shared<std::atomic<bool>>(false);
};

// "not authenticated", "authenticated", "selected", "logout"
std::string_view state_name(SessionState state);

}  // namespace imap::server
