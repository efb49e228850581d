// CommandResult: how a command handler's command ends or goes on. Every
// handler (server/imap/commands/, the FetchJob steps) returns one; only the
// Session writes the tagged line (Session::finish), after the mailbox
// updates the command may carry (RFC 3501 7.4.1), so no handler can forget
// it, write it twice, or write it before those updates.
//
//   return CommandResult::ok("NOOP completed");
//   return CommandResult::no(Code::Cannot, "The mailbox is read-only");
//   return CommandResult::steps(...);          // FETCH: more output later
//   return CommandResult::continuation(...);   // AUTHENTICATE: next line
//
// A result either ends the command (a tagged line, or none after a BYE) or
// starts an exchange that yields the next result later: steps, a
// continuation line, IDLE, a delay, a password check. The exchange's
// callback returns the next CommandResult; the Session keeps the tag.
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "protocol/response_writer.h"
#include "server/imap/authenticator.h"

namespace imap::server {

class Session;
class CommandResult;

// One step of a command that runs in steps: nullopt while there is more to
// write (called again once the output drained below
// Session::kOutputHighWater), else how the command ends.
using CommandStep = std::function<std::optional<CommandResult>(Session&)>;
// The client's next line, read raw (AUTHENTICATE responses, IDLE's DONE).
using ContinuationHandler = std::function<CommandResult(Session&, std::string_view line)>;
// What runs once a delay has elapsed.
using DelayedHandler = std::function<CommandResult(Session&)>;
// What runs with the Authenticator's answer.
using VerifiedHandler = std::function<CommandResult(Session&, AuthResult)>;

namespace outcome {

// "tag status [code] text". `with_updates`: the mailbox updates the
// command may carry go out first (Session's sync rules); false only for
// answers that must follow their trigger at once.
struct Tagged {
    Status status = Status::Ok;
    std::optional<ResponseCode> code;
    std::string text;
    bool with_updates = true;
};
// The tagged OK of EXPUNGE, UID EXPUNGE and MOVE: after the sync, with
// [HIGHESTMODSEQ n] when CONDSTORE is enabled and `expunged` (RFC 7162
// 3.2.7 and 3.2.9 require it with QRESYNC and allow it otherwise; RFC 6851
// 4.4). n is known only after the sync, so the Session computes it.
struct ExpungeTagged {
    bool expunged = false;
    std::string text;
};
// An exception the handler let escape or caught: the Session maps it to a
// tagged NO with its RFC 5530 code (Session::fail).
struct Failure {
    std::exception_ptr error;
};
// STARTTLS's tagged OK, the last plaintext line: every byte pipelined
// behind it is dropped and nothing runs until the transport's
// Session::tls_started() (RFC 3501 6.2.1, CVE-2011-0411).
struct StartTls {
    Tagged ok;
};
// COMPRESS's tagged OK (RFC 4978 3): the last uncompressed line. Every
// byte pipelined behind it is dropped (the client must wait for this OK)
// and nothing runs until the transport's Session::compression_started().
struct StartCompression {
    Tagged ok;
};
// The session ends (LOGOUT after its BYE, or a BYE a step wrote): `last`
// (without updates) if any, then nothing more is read.
struct Close {
    std::optional<Tagged> last;
};
// More output later, in steps (FETCH).
struct Steps {
    CommandStep step;
};
// The client's next line goes to `handler` raw (RFC 3501 6.2.2).
struct Continuation {
    ContinuationHandler handler;
};
// RFC 2177: pending updates, "+ idling", updates as they commit, until the
// client's next line, which goes to `on_line`.
struct Idle {
    ContinuationHandler on_line;
};
// Nothing runs for `duration` (a failed login's delay), then `then`.
struct Delay {
    std::chrono::milliseconds duration{0};
    DelayedHandler then;
};
// The credentials go to the Authenticator (which may answer from another
// thread, later); `then` runs with its answer.
// `decided`: the mechanism verified the credentials itself (SCRAM's proof,
// server/auth/sasl.h); the Authenticator is not asked, but the answer takes
// the same way into the session (SessionContext::run_as_user), so a login
// opens the user's mail where every other login does.
struct Verify {
    std::string user;
    Secret password;
    VerifiedHandler then;
    std::optional<AuthResult> decided;
};

}  // namespace outcome

class CommandResult {
  public:
    using Outcome =
        std::variant<outcome::Tagged, outcome::ExpungeTagged, outcome::Failure, outcome::StartTls,
                     outcome::StartCompression, outcome::Close, outcome::Steps,
                     outcome::Continuation, outcome::Idle, outcome::Delay, outcome::Verify>;

    // ---- The command ends; the Session writes the tagged line ----
    static CommandResult ok(std::string text) {
        return done(Status::Ok, std::nullopt, std::move(text));
    }
    static CommandResult ok(ResponseCode code, std::string text) {
        return done(Status::Ok, std::move(code), std::move(text));
    }
    static CommandResult no(std::string text) {
        return done(Status::No, std::nullopt, std::move(text));
    }
    static CommandResult no(ResponseCode code, std::string text) {
        return done(Status::No, std::move(code), std::move(text));
    }
    static CommandResult bad(std::string text) {
        return done(Status::Bad, std::nullopt, std::move(text));
    }
    static CommandResult done(Status status, std::optional<ResponseCode> code, std::string text) {
        return CommandResult(outcome::Tagged{status, std::move(code), std::move(text), true});
    }
    // A BAD that answers the line just read and nothing else: no mailbox
    // updates before it (IDLE's "Expected DONE", a continuation line too long).
    static CommandResult bad_at_once(std::optional<ResponseCode> code, std::string text) {
        return CommandResult(outcome::Tagged{Status::Bad, std::move(code), std::move(text), false});
    }
    static CommandResult bad_at_once(std::string text) {
        return bad_at_once(std::nullopt, std::move(text));
    }
    static CommandResult expunge_done(bool expunged, std::string text) {
        return CommandResult(outcome::ExpungeTagged{expunged, std::move(text)});
    }
    static CommandResult failed(std::exception_ptr error) {
        return CommandResult(outcome::Failure{std::move(error)});
    }
    static CommandResult start_tls(std::string text) {
        return CommandResult(
            outcome::StartTls{outcome::Tagged{Status::Ok, std::nullopt, std::move(text), true}});
    }
    static CommandResult start_compression(std::string text) {
        return CommandResult(outcome::StartCompression{
            outcome::Tagged{Status::Ok, std::nullopt, std::move(text), true}});
    }
    // After the handler's BYE: "tag OK text", then the session closes.
    static CommandResult logout(std::string text) {
        return CommandResult(
            outcome::Close{outcome::Tagged{Status::Ok, std::nullopt, std::move(text), false}});
    }
    // After a BYE that ends the connection in the middle of a command: no
    // tagged line (RFC 3501 7.1.5), the session closes.
    static CommandResult disconnect() { return CommandResult(outcome::Close{}); }

    // ---- The command goes on ----
    static CommandResult steps(CommandStep step) {
        return CommandResult(outcome::Steps{std::move(step)});
    }
    static CommandResult continuation(ContinuationHandler handler) {
        return CommandResult(outcome::Continuation{std::move(handler)});
    }
    static CommandResult idle(ContinuationHandler on_line) {
        return CommandResult(outcome::Idle{std::move(on_line)});
    }
    static CommandResult delay(std::chrono::milliseconds duration, DelayedHandler then) {
        return CommandResult(outcome::Delay{duration, std::move(then)});
    }
    static CommandResult verify(std::string user, Secret password, VerifiedHandler then) {
        return CommandResult(
            outcome::Verify{std::move(user), std::move(password), std::move(then), std::nullopt});
    }
    static CommandResult verified(std::string user, AuthResult result, VerifiedHandler then) {
        return CommandResult(outcome::Verify{std::move(user), Secret(), std::move(then), result});
    }

    // The tagged line is written with this result (nothing runs later).
    bool ends_command() const {
        return std::holds_alternative<outcome::Tagged>(outcome_) ||
               std::holds_alternative<outcome::ExpungeTagged>(outcome_) ||
               std::holds_alternative<outcome::Failure>(outcome_) ||
               std::holds_alternative<outcome::StartTls>(outcome_) ||
               std::holds_alternative<outcome::StartCompression>(outcome_) ||
               std::holds_alternative<outcome::Close>(outcome_);
    }
    const Outcome& outcome() const { return outcome_; }
    Outcome& outcome() { return outcome_; }

  private:
    explicit CommandResult(Outcome outcome) : outcome_(std::move(outcome)) {}

    Outcome outcome_;
};

// A value a shared check produced (a resolved message set, a mailbox
// name), or the answer that ends the command instead:
//   Checked<store::UidSet> uids = resolve_message_set(...);
//   if (!uids) return uids.refusal();
template <class T>
class Checked {
  public:
    Checked(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Checked(CommandResult refusal)                  // NOLINT(google-explicit-constructor)
        : value_(std::move(refusal)) {}

    explicit operator bool() const { return std::holds_alternative<T>(value_); }
    T& operator*() { return std::get<T>(value_); }
    const T& operator*() const { return std::get<T>(value_); }
    T* operator->() { return &std::get<T>(value_); }
    const T* operator->() const { return &std::get<T>(value_); }
    // Only when !*this.
    CommandResult refusal() { return std::move(std::get<CommandResult>(value_)); }

  private:
    std::variant<T, CommandResult> value_;
};

}  // namespace imap::server
