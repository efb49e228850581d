// Pop3Session: one POP3 conversation (RFC 1939) without sockets: bytes in
// through receive(), bytes out in output(), driven by the same transport
// as IMAP's Session (server/net/connection.h: TLS, STLS, limits, timeouts,
// backpressure; server/imap/hosted_session.h). docs/pop3.md has the
// behaviour; in short:
//
// - AUTHORIZATION: USER/PASS and AUTH (RFC 5034: the server's SASL
//   mechanisms, server/auth/sasl.h, as IMAP AUTHENTICATE) through the same
//   Authenticator and LoginGate as IMAP LOGIN (failed-login delay, per-user
//   limit, credential cache), CAPA (RFC 2449), STLS (RFC 2595), QUIT.
//   Plaintext passwords only over TLS or from a trusted network, as IMAP
//   LOGIN.
// - After the password: the maildrop lock (RFC 1939 8, MaildropLocks: a
//   second POP3 session gets "-ERR [IN-USE]"), then a snapshot of INBOX
//   (UIDs, sizes) that numbers the messages for the whole session.
// - TRANSACTION: STAT, LIST, RETR, DELE, NOOP, RSET, TOP, UIDL, CAPA, QUIT.
//   RETR and TOP stream the body from the store in chunks (dot-stuffed,
//   CRLF line ends), pausing at the output high-water mark.
// - UPDATE (QUIT): \Seen for what RETR sent and the removal of what DELE
//   marked, in one store transaction (MailStore::update_maildrop); the
//   "+OK" waits until that commit is durable (the transport's group
//   commit). A connection that ends any other way changes nothing.
//
// Commands are case-insensitive; a line is at most limits::pop3::
// kMaxCommandLine octets; pipelined commands (RFC 2449 PIPELINING) run in
// order, at most the context's TurnBudget per receive()/resume(); after
// limits::pop3::kMaxErrors refused commands the session closes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/output_buffer.h"
#include "protocol/secret.h"
#include "server/auth/sasl.h"
#include "server/imap/authenticator.h"
#include "server/imap/hosted_session.h"
#include "server/imap/session.h"
#include "server/imap/user_mail.h"
#include "server/pop3/maildrop_locks.h"
#include "store/mail_store.h"

namespace imap::server::pop3 {

// The UIDL of a message (RFC 1939 7): UID and UIDVALIDITY as 8 lower-case
// hex digits each, "%08x%08x": what Dovecot's default pop3_uidl_format
// (%08Xu%08Xv) produces (2.3.19 writes it in lower case), so mail moved
// from Dovecot with its UIDs is not fetched again. Stable while the
// message stays in INBOX.
std::string uidl(std::uint32_t uid, std::uint32_t uidvalidity);

class Pop3Session final : public HostedSession {
  public:
    // Pauses producing output above this many unsent bytes (the IMAP
    // Session's mark).
    static constexpr std::size_t kOutputHighWater = Session::kOutputHighWater;

    // `mail_access` nullptr: no mail (a login then fails with [SYS/TEMP]).
    Pop3Session(SessionContext context, Authenticator& authenticator, MailAccess* mail_access,
                MaildropLocks& locks);
    ~Pop3Session() override;
    Pop3Session(const Pop3Session&) = delete;
    Pop3Session& operator=(const Pop3Session&) = delete;

    void greeting() override;
    void receive(std::string_view plaintext) override;
    void resume() override;
    void abandon() override;

    OutputBuffer& output() override { return output_; }
    void set_transport_unsent(std::function<std::size_t()> unsent) override {
        transport_unsent_ = std::move(unsent);
    }
    void set_output_listener(std::function<void()> listener) override {
        output_listener_ = std::move(listener);
    }
    std::size_t unsent() const override;
    bool input_paused() const override { return paused_; }
    bool yielded() const override { return yielded_; }

    SessionState state() const override;
    const std::string& user() const override { return user_; }
    bool wants_close() const override { return mode_ == Mode::Closing; }

    bool starttls_requested() const override { return mode_ == Mode::StartingTls; }
    void tls_started() override;

    bool delayed() const override { return mode_ == Mode::Delayed; }
    std::chrono::milliseconds pending_delay() const override {
        return delayed() ? delay_ : std::chrono::milliseconds{0};
    }
    void delay_elapsed() override;
    bool waiting_on_server() const override { return delayed() || mode_ == Mode::Verifying; }

    void say_goodbye(std::string_view text) override;

    UserMail* mail() override { return mail_.get(); }
    std::shared_ptr<UserMail> shared_mail() const override { return mail_; }

    // For tests: the session holds the user's maildrop lock.
    bool holds_maildrop_lock() const { return lock_.held(); }

  private:
    enum class Phase { Authorization, Transaction, Done };
    enum class Mode { Ready, Streaming, Verifying, Delayed, AuthExchange, StartingTls, Closing };

    // One message of the snapshot taken at login.
    struct Message {
        std::uint32_t uid = 0;
        std::uint64_t size = 0;
        bool deleted = false;    // DELE, until RSET
        bool retrieved = false;  // RETR sent it: \Seen at QUIT
    };

    // A multi-line answer produced in steps: each call writes some output
    // and returns true once the answer ended (its "." line written).
    using Step = std::function<bool()>;

    void process();
    // One complete line (CR LF removed).
    void command(std::string_view line);
    void authorization(std::string_view name, std::string_view args);
    void transaction(std::string_view name, std::string_view args);
    void ok(std::string_view text);
    // A refused command: counted towards limits::pop3::kMaxErrors.
    void error(std::string_view text);
    void close_with(std::string_view line);

    // AUTHORIZATION.
    void capa();
    void user_command(std::string_view args);
    void pass(std::string_view args);
    void auth(std::string_view args);
    void auth_line(std::string_view line);
    bool plaintext_auth_allowed() const { return tls_ || context_.plaintext_auth_allowed; }
    // The shared login path (cmd_login.cpp's for IMAP): the LoginGate's
    // penalty, the Authenticator, then login().
    // `authzid`: SASL's authorization identity, checked once the password
    // is (empty: none).
    void authenticate(std::string user, Secret password, std::string authzid = {});
    void verify(std::string user, Secret password, bool penalised, std::string authzid);
    void verified(const std::string& user, AuthResult result, bool penalised,
                  const std::string& authzid = {});
    // AUTH (RFC 5034) over the SASL module (server/auth/sasl.h).
    sasl::Connection sasl_connection() const;
    void drive(sasl::Step step, bool penalised = false);
    void sasl_failure(const sasl::Step& step, bool penalised);
    // A mechanism that verified the user itself (SCRAM): on to login.
    void sasl_success(const std::string& user, bool penalised);
    void answer_after(std::chrono::milliseconds wait, std::function<void()> answer);
    void login(const std::string& user);

    // TRANSACTION.
    // The message `arg` numbers (1-based, not deleted), or nullptr after
    // answering -ERR.
    Message* message_arg(std::string_view arg);
    void stat();
    void list(std::string_view args);
    void uidl_command(std::string_view args);
    void retr(std::string_view args);
    void top(std::string_view args);
    void dele(std::string_view args);
    void rset();
    void quit_update();
    // Streams message `m` ("+OK" already decided): the headers and
    // `body_lines` body lines (nullopt: all of it).
    void send_message(Message& message, std::optional<std::uint64_t> body_lines);
    void start_step(Step step);
    void run_step();
    void written();

    SessionContext context_;
    Authenticator& authenticator_;
    MailAccess* mail_access_;
    MaildropLocks& locks_;
    OutputBuffer output_;
    std::string input_;
    bool discarding_line_ = false;

    Phase phase_ = Phase::Authorization;
    Mode mode_ = Mode::Ready;
    bool tls_ = false;
    bool paused_ = false;
    bool yielded_ = false;
    std::size_t errors_ = 0;

    std::string user_;          // after login
    std::string pending_user_;  // USER's argument, until PASS
    bool holds_login_slot_ = false;
    MaildropLock lock_;
    std::chrono::milliseconds delay_{0};
    std::function<void()> after_delay_;
    // AUTH: the exchange waiting for the client's next line.
    std::shared_ptr<sasl::Exchange> exchange_;

    std::shared_ptr<UserMail> mail_;
    store::MailboxId inbox_ = 0;
    std::uint32_t uidvalidity_ = 0;
    std::vector<Message> messages_;
    Step step_;

    std::function<void()> output_listener_;
    std::function<std::size_t()> transport_unsent_;
    std::shared_ptr<std::atomic<bool>> gone_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace imap::server::pop3
