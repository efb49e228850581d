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
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/command.h"
#include "protocol/framer.h"
#include "protocol/output_buffer.h"
#include "protocol/response_writer.h"
#include "server/auth/sasl.h"
#include "server/imap/authenticator.h"
#include "server/imap/command_result.h"
#include "server/imap/command_table.h"
#include "server/imap/hosted_session.h"
#include "server/imap/notify.h"
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
    std::chrono::nanoseconds max_time{0};
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
    // The TLS channel binding (RFC 5056) of the connection once it is
    // encrypted, for SCRAM's -PLUS mechanisms (server/auth/sasl.h): set by
    // the transport, asked only while tls_active(). Empty, or nullopt from
    // it: no -PLUS mechanism is offered.
    std::function<std::optional<sasl::ChannelBinding>()> channel_binding;
    // Reads beside the strand (docs/architecture.md): `away` runs `task`
    // with this session on a worker off its user's strand, before anything
    // else queued for the session; `home` brings the session back to the
    // strand and runs `task` there first. Called from inside a task of the
    // session. Empty (one thread, session tests): every command runs where
    // the session does.
    struct BesideStrand {
        std::function<void(std::function<void()> task)> away;
        std::function<void(std::function<void()> task)> home;
    };
    BesideStrand beside_strand;
    // Runs `job`, which touches nothing of the session (decompressing the
    // bodies a FETCH sends next, BodyPrefetch), later on a worker; false
    // when refused. Empty (one thread, session tests): no such jobs, the
    // session does that work itself.
    std::function<bool(std::function<void()> job)> side_job;
};

// What the session is doing between two calls from the transport: one mode
// at a time, each with the data only it has, so impossible combinations
// (IDLE while a password is checked, a continuation handler during STARTTLS,
// a delay with a step pending) cannot be represented. A mode in which a
// command waits to go on carries that command's tag.
//
// Not modes, and so kept beside: the transport's flow (input_paused() on
// output high water, yielded() after a TurnBudget), which happens in Ready
// and RunningSteps alike; and RFC 3501's state (SessionState), which
// changes independently of what the session is waiting for.
namespace session_mode {

// Reading the next command.
struct Ready {};
// A command that runs in steps (FETCH): the next step runs once the output
// drained below Session::kOutputHighWater.
struct RunningSteps {
    std::string tag;
    CommandStep step;
};
// The client's next line is read raw and goes to `handler` (AUTHENTICATE).
struct AwaitingContinuation {
    std::string tag;
    ContinuationHandler handler;
};
// IDLE: updates are pushed (through `subscription`, which UserMail calls)
// until the client's next line, which goes to `on_line`. `update_pending`:
// an update was held back because the client is behind.
struct Idling {
    std::string tag;
    ContinuationHandler on_line;
    UserMail::Subscription subscription;
    bool update_pending = false;
};
// Nothing runs until the transport calls delay_elapsed(), `duration` after
// seeing this mode.
struct Delayed {
    std::string tag;
    std::chrono::milliseconds duration{0};
    DelayedHandler then;
};
// The Authenticator has the credentials; `then` runs with its answer.
// `in_call`: still inside Authenticator::authenticate (an answer then is
// inline, and the caller carries on).
struct Verifying {
    std::string tag;
    VerifiedHandler then;
    bool in_call = false;
};
// A read-only command runs on a worker beside the user's strand, through
// a reader connection of its own (docs/architecture.md "Reads beside the
// strand"). `result` is how it ended there, or its steps left to run on
// the strand once the client has read what it wrote.
struct ReadingBeside {
    std::string tag;
    UserMail::ReaderLease lease;
    const CommandSpec* spec = nullptr;
    Command command;
    std::optional<CommandResult> result;
};
// STARTTLS answered: nothing is read until tls_started().
struct StartingTls {};
// COMPRESS answered: nothing is read until compression_started().
struct StartingCompression {};
// LOGOUT, a fatal error or abandon(): nothing more runs.
struct Closing {};

using Mode = std::variant<Ready, RunningSteps, AwaitingContinuation, Idling, Delayed, Verifying,
                          ReadingBeside, StartingTls, StartingCompression, Closing>;

}  // namespace session_mode

class Session final : public HostedSession {
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
    void greeting() override;

    // Feeds bytes the client sent (after TLS decryption) and runs every
    // command they complete. Ignored once wants_close() or while
    // starttls_requested(): bytes that arrive in plaintext before the TLS
    // handshake must never be executed (RFC 3501 6.2.1, CVE-2011-0411).
    void receive(std::string_view plaintext) override;

    // Continues with commands already received after input_paused() or
    // yielded(), and sends an IDLE update held back by idle_update_pending().
    void resume() override;
    bool input_paused() const override { return paused_; }
    // An IDLE update was held back because the client had not read enough
    // (see idling()): the transport calls resume() once its unsent output
    // is low again.
    bool idle_update_pending() const override {
        const auto* idle = std::get_if<session_mode::Idling>(&mode_);
        return (idle != nullptr && idle->update_pending) || notify_output_pending_;
    }

    // The bytes the transport accepted from output() but has not sent yet
    // (socket write queue, TLS), so that IDLE updates obey the same
    // high-water mark as commands (kOutputHighWater, on output() plus this).
    void set_transport_unsent(std::function<std::size_t()> unsent) override {
        transport_unsent_ = std::move(unsent);
    }
    // output() plus the transport's unsent bytes.
    std::size_t unsent() const override;
    // The last receive() or resume() used up its TurnBudget with commands
    // possibly left to run: the transport reads nothing more (they are
    // buffered already) and calls resume() on its next turn.
    bool yielded() const override { return yielded_; }

    OutputBuffer& output() override { return output_; }

    // True after LOGOUT (BYE and the tagged OK are in output()) or a fatal
    // framing error (BYE): flush the output, then close.
    bool wants_close() const override {
        return std::holds_alternative<session_mode::Closing>(mode_);
    }

    // True after a successful STARTTLS: the tagged OK is the last plaintext
    // output; the transport sends it, starts the TLS handshake and calls
    // tls_started(). Bytes received before then are discarded.
    bool starttls_requested() const override {
        return std::holds_alternative<session_mode::StartingTls>(mode_);
    }
    void tls_started() override;

    // COMPRESS (RFC 4978 3), the same way: after its tagged OK,
    // compression_requested() is true and nothing more is read or run until
    // the transport calls compression_started(); bytes received meanwhile
    // were sent before the client saw the OK (it must not send any) and are
    // discarded. The transport compresses every output byte after the
    // first compressed_output_offset() bytes of output() (the OK's CRLF),
    // and inflates every byte it reads from then on.
    bool compression_requested() const {
        return std::holds_alternative<session_mode::StartingCompression>(mode_);
    }
    // While compression is requested and the transport has not taken the
    // uncompressed output yet: how many bytes of output() go out as they
    // are. The transport calls compressed_output_marked() once it took them.
    std::optional<std::size_t> compressed_output_offset() const override {
        return plain_output_left_;
    }
    void compressed_output_marked() override { plain_output_left_.reset(); }
    void compression_started() override;
    bool compression_active() const { return compression_; }

    SessionState state() const override { return state_; }
    // The authenticated user; empty before login.
    const std::string& user() const override { return user_; }

    // ---- For command handlers (server/imap/commands/) ----

    ResponseWriter& writer() { return writer_; }
    const SessionContext& context() const { return context_; }
    const CommandTable& table() const { return table_; }
    Authenticator& authenticator() { return authenticator_; }
    const Authenticator& authenticator() const { return authenticator_; }
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
    UserMail* mail() override { return mail_.get(); }
    // The same, shared: for a caller that must keep the store alive across
    // a call that may log the session out (SessionHost's read batch).
    std::shared_ptr<UserMail> shared_mail() const override { return mail_; }

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
    // RFC 6855 3: after "ENABLE UTF8=ACCEPT" mailbox names are UTF-8 on the
    // wire both ways, quoted strings may carry UTF-8, SEARCH may not name a
    // CHARSET and APPEND may carry UTF-8 header fields. Lasts until the
    // connection closes.
    bool utf8_accept_enabled() const { return utf8_accept_; }
    void enable_utf8_accept();
    // RFC 9051 after "ENABLE IMAP4rev2": UTF-8 mailbox names and quoted
    // strings as above, no \Recent and no RECENT responses, SEARCH
    // answered with ESEARCH, SELECT/EXAMINE with a LIST response (Appendix
    // E; docs/rfc-coverage.md lists each item). Lasts until the connection
    // closes.
    bool imap4rev2_enabled() const { return imap4rev2_; }
    void enable_imap4rev2();
    // Mailbox names travel as UTF-8 rather than modified UTF-7 (RFC 6855 3,
    // RFC 9051 5.1).
    bool utf8_mailbox_names() const { return utf8_accept_ || imap4rev2_; }
    // The selected mailbox's view; nullptr unless in the Selected state.
    SelectedMailbox* selected() { return selected_.get(); }
    // Authenticated/Selected -> Selected with `view` (SELECT, EXAMINE).
    void select(std::unique_ptr<SelectedMailbox> view);
    // Selected -> Authenticated (CLOSE, UNSELECT, a failed SELECT).
    void deselect();

    // NOTIFY (RFC 5465, notify.h, cmd_notify.cpp): `rules` replace what
    // the session was told to report (nullopt: NOTIFY NONE). With
    // `write_status`, the STATUS of every watched mailbox is written now
    // (SET STATUS). From then on events of other sessions and processes go
    // out as they happen whenever no command runs (between commands and in
    // IDLE; RFC 5465 3.1: the client listens all the time), else at the end
    // of the command that runs.
    void set_notify(std::optional<NotifyRules> rules, bool write_status);
    bool notify_active() const { return notifier_ != nullptr; }
    // NOTIFY is on: the transport tells the session of other processes'
    // commits (idle_poll) even when it is not idling.
    bool notifying() const override { return notifier_ != nullptr; }

    // ---- For the transport: the session's mode (session_mode) ----

    // The transport is closing the connection (shutdown, a timeout; its BYE
    // is written already): an answer still on its way or held back (a
    // password check, a failed login's delay) is dropped, IDLE ends, and
    // nothing more runs or is produced. wants_close() is true after it.
    void abandon() override;

    // delayed(): a handler's CommandResult::delay holds the conversation
    // back (the answer to a failed login, LoginGate::failed): no further
    // command runs until the transport, pending_delay() after seeing it,
    // calls delay_elapsed(), which runs the delayed part (it answers) and
    // carries on with the commands received meanwhile. Output written
    // before the delay may be sent at once; the transport reads nothing
    // more while delayed().
    bool delayed() const override { return std::holds_alternative<session_mode::Delayed>(mode_); }
    // The duration of the pending delay; zero when not delayed().
    std::chrono::milliseconds pending_delay() const override;
    void delay_elapsed() override;

    // verifying(): a handler's CommandResult::verify handed credentials to
    // the Authenticator, which may answer later (the hash runs on a worker
    // thread): meanwhile no further command runs and the transport reads
    // nothing. The answer continues the command, the session carries on
    // with what the client sent meanwhile and calls the output listener.
    bool verifying() const { return std::holds_alternative<session_mode::Verifying>(mode_); }
    // delayed() or verifying(): the session waits on the server, not on the
    // client (the transport reads nothing; only the login deadline runs).
    bool waiting_on_server() const override { return delayed() || verifying() || reading_beside(); }
    // A read-only command (reads_beside_strand()) runs on a worker with a
    // reader of the user's store (SessionContext::beside_strand); nothing
    // else of the session runs until it is back on the strand, where its
    // tagged line (and the mailbox updates before it) is written.
    bool reading_beside() const {
        return std::holds_alternative<session_mode::ReadingBeside>(mode_);
    }
    bool holds_output() const override { return reading_beside(); }

    // IDLE (RFC 2177, cmd_idle.cpp, CommandResult::idle): the mailbox's
    // pending updates, then "+ idling"; the client's next line is read raw
    // and passed to the handler's callback (the wait is over by then,
    // idling() is false). Meanwhile changes go out as they commit: at once
    // when another session of this user reports one (UserMail::notify),
    // and at each idle_poll(), which the transport calls on a timer while
    // idling() to catch other processes' changes (`imapd deliver`). While
    // unsent() is at or above kOutputHighWater no update is made
    // (idle_update_pending()); the next resume() sends one sync of the
    // state by then. A too-long line ends the wait with "tag BAD".
    bool idling() const override { return std::holds_alternative<session_mode::Idling>(mode_); }
    // While idling(): sends what changed in the selected mailbox (EXPUNGE
    // included, RFC 2177 3) and calls the output listener if anything was
    // written. Otherwise does nothing.
    void idle_poll() override;
    void changed_elsewhere() override;
    void idle_keepalive() override;
    void say_goodbye(std::string_view text) override { writer_.bye(text); }
    // Called after output() grew, or the session can go on, outside
    // receive(), resume() and delay_elapsed(): an IDLE update pushed by
    // another session's command, a password check's answer. The transport
    // sends the output and looks at the state again.
    void set_output_listener(std::function<void()> listener) override {
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
    // Reads beside the strand: the command goes to a worker with `lease`
    // (on the strand), runs there (away), and ends back on the strand.
    void read_beside(const CommandSpec& spec, Command& command, UserMail::ReaderLease lease);
    void read_away();
    void back_from_reading();
    // Carries out what a handler (or an exchange's callback) returned for
    // the running command `tag`: the tagged line, or the mode that waits
    // for the rest. The one place a tagged line of a command is written.
    void apply(std::string tag, CommandResult result);
    // The end of the running command: its tagged line (after the sync
    // rules), its log line, and the mode after it.
    void finish(const std::string& tag, CommandResult::Outcome& result);
    // Runs the pending command step.
    void run_step();
    // Called by the Authenticator with its answer to a Verify.
    void verified(AuthResult result);
    // Sends the selected mailbox's updates the running command may carry
    // (SelectedMailbox::sync: no EXPUNGE during FETCH, STORE, SEARCH and
    // COPY by sequence number, RFC 3501 7.4.1). A deleted mailbox ends the
    // session with BYE (Closing).
    // `hold_expunges`: keep EXPUNGE back whatever runs (NOTIFY SELECTED-DELAYED).
    void sync_selected(bool hold_expunges = false);
    // sync_selected(), its errors logged: the command is answered anyway.
    // Also writes the NOTIFY events queued for other mailboxes.
    void sync_before_tagged();
    // NOTIFY: the change feed's calls (another session's or process's
    // change; the session's own are left out, RFC 5465 5).
    void notify_mailbox_changed(store::MailboxId mailbox);
    void notify_name_changed(const store::NameChange& change);
    // No command runs and the client may be told now (Ready between
    // commands, or Idling).
    bool can_push() const;
    // Writes what NOTIFY queued when it can_push() and the client is not
    // behind (else at the next command end, or resume()), and tells the
    // transport.
    void push_notifications();
    // Writes what NOTIFY queued: the overflow, events of other mailboxes,
    // and with `selected_too` the selected mailbox's (a sync with its
    // expunges held for SELECTED-DELAYED, then MessageNew's FETCH).
    void write_notifications(bool selected_too);
    // MessageNew's fetch attributes (RFC 5465 5.2) for the view's messages
    // with a UID above `after`.
    void fetch_new_messages(std::uint32_t after);
    // The tagged line after the sync; nothing when the sync closed.
    void complete(const std::string& tag, Status status, std::string_view text);
    void complete(const std::string& tag, Status status, const ResponseCode& code,
                  std::string_view text);
    // The tagged NO for an exception a handler caught or let escape:
    // store::StoreError with its RFC 5530 code, SQLite busy as [INUSE],
    // anything else as [SERVERBUG] (and logged).
    void fail(const std::string& tag, const std::exception& error);
    void complete_expunge(const std::string& tag, bool expunged, std::string_view text);
    // RFC 2177: the pending updates, "+ idling", then Idling.
    void begin_idle(std::string tag, ContinuationHandler on_line);
    // The IDLE update: a sync, unless the client is behind (then only
    // Idling::update_pending). True when it wrote anything.
    bool idle_sync();
    // Closing, in RFC 3501's Logout state.
    void close();
    // Gives back the login slot, once (holds_login_slot_).
    void release_login_slot();
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
    bool compression_ = false;
    // COMPRESS: the bytes of output_ still to be sent uncompressed.
    std::optional<std::size_t> plain_output_left_;
    bool condstore_ = false;
    bool qresync_ = false;
    bool utf8_accept_ = false;
    bool imap4rev2_ = false;
    // The transport's flow, not modes (see session_mode): set by the last
    // receive() or resume() in Ready or RunningSteps alike.
    bool paused_ = false;
    bool yielded_ = false;
    // The session holds one of its user's slots in context_.login_gate (the
    // per-user connection limit) from login until it ends: LOGOUT, a BYE
    // or abandon() give it back at once, on the session's own thread, not
    // when the transport has finally closed the socket (a client logging
    // out and straight in again must not find its old connection counted).
    bool holds_login_slot_ = false;

    std::shared_ptr<UserMail> mail_;
    std::unique_ptr<SelectedMailbox> selected_;
    // After mail_, so that an Idling mode's subscription is removed before
    // the UserMail may go.
    session_mode::Mode mode_;
    std::function<void()> output_listener_;
    std::function<std::size_t()> transport_unsent_;
    // NOTIFY (RFC 5465): its rules and queue, the change feed's
    // subscription that fills it, a selected-mailbox event not written yet,
    // and output held back because the client is behind.
    std::unique_ptr<Notifier> notifier_;
    UserMail::Subscription notify_subscription_;
    bool notify_selected_pending_ = false;
    bool notify_output_pending_ = false;
    // The command running now (for the sync rules of complete()), from its
    // handler until its tagged line, across the modes it waits in.
    const CommandSpec* running_ = nullptr;
    bool running_uid_ = false;
    std::chrono::steady_clock::time_point running_since_;
    // The status of the last tagged response complete() wrote.
    Status completed_status_ = Status::Ok;
    // Set when the session is destroyed, for answers still on their way.
    std::shared_ptr<std::atomic<bool>> gone_ = std::make_shared<std::atomic<bool>>(false);
};

// "not authenticated", "authenticated", "selected", "logout"
std::string_view state_name(SessionState state);

}  // namespace imap::server
