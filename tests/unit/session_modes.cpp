// The Session's modes (session_mode::Mode, one at a time) and the results
// handlers return (CommandResult): the transitions that used to be implicit
// in separate flags, byte for byte. STARTTLS then bytes (RFC 3501 6.2.1),
// commands and IDLE pipelined behind a password check or a failed login's
// delay (RFC 3501 5.5, RFC 2177), LOGOUT pipelined behind a FETCH that
// runs in steps (RFC 3501 6.1.3), and abandon() in every waiting mode.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <variant>

#include "server/imap/command_result.h"
#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/session_driver.h"
#include "support/temp_dir.h"

namespace {

using namespace std::chrono_literals;
using imap::Status;
using imap::server::CommandResult;
using imap::server::LoginGate;
using imap::server::Session;
using imap::server::SessionState;
using imap::test::drain;
using imap::test::SessionDriver;
namespace store = imap::store;
namespace mode = imap::server::session_mode;

// A gate whose failed-login delay is `delay` and that admits everyone.
class DelayGate : public LoginGate {
  public:
    std::chrono::milliseconds delay = 500ms;
    bool admit(std::string_view, std::string_view) override { return true; }
    void release(std::string_view) override {}
    std::chrono::milliseconds penalty(std::string_view) override { return 0ms; }
    std::chrono::milliseconds failed(std::string_view) override { return delay; }
    std::chrono::milliseconds unavailable(std::string_view) override { return 0ms; }
};

// A loopback session on shared mail with `gate`.
struct GatedDriver {
    explicit GatedDriver(LoginGate& gate) : session(context(gate), auth, &mail) {
        session.greeting();
        drain(session.output());
    }
    static imap::server::SessionContext context(LoginGate& gate) {
        auto c = imap::test::make_context({.loopback = true});
        c.login_gate = &gate;
        return c;
    }
    std::string send(std::string_view bytes) {
        session.receive(bytes);
        return drain(session.output());
    }
    imap::test::FakeAuthenticator auth;
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};
    Session session;
};

// The waiting modes are one variant: never two at once.
void check_one_mode(const Session& s) {
    const int waiting = int(s.idling()) + int(s.delayed()) + int(s.verifying()) +
                        int(s.starttls_requested()) + int(s.compression_requested()) +
                        int(s.wants_close()) + int(s.reading_beside());
    CHECK(waiting <= 1);
}

std::string login_ok(const Session& s) {
    std::string caps;
    for (const std::string& cap : s.capabilities())
        caps += (caps.empty() ? "" : " ") + cap;
    return "[CAPABILITY " + caps + "] Logged in";
}

}  // namespace

TEST_CASE("CommandResult: which results end the command", "[session][modes]") {
    CHECK(CommandResult::ok("x").ends_command());
    CHECK(CommandResult::no(imap::Code::Cannot, "x").ends_command());
    CHECK(CommandResult::bad_at_once("x").ends_command());
    CHECK(CommandResult::expunge_done(true, "x").ends_command());
    CHECK(CommandResult::start_tls("x").ends_command());
    CHECK(CommandResult::start_compression("x").ends_command());
    CHECK(CommandResult::logout("x").ends_command());
    CHECK(CommandResult::disconnect().ends_command());
    CHECK_FALSE(CommandResult::steps([](Session&) { return std::nullopt; }).ends_command());
    CHECK_FALSE(CommandResult::idle([](Session&, std::string_view) {
                    return CommandResult::ok("x");
                }).ends_command());
    CHECK_FALSE(
        CommandResult::delay(1ms, [](Session&) { return CommandResult::ok("x"); }).ends_command());
    // The mode type holds exactly one alternative: IDLE during a delay, a
    // step during a password check and the like cannot be represented.
    STATIC_REQUIRE(std::variant_size_v<mode::Mode> == 10);
}

TEST_CASE("RFC 3501 6.2.1: an AUTHENTICATE pipelined behind STARTTLS never starts its exchange",
          "[session][modes][starttls]") {
    SessionDriver d({.loopback = true});
    d.greeting();
    // The AUTHENTICATE is dropped with the rest of the plaintext: no "+",
    // and its would-be response line, sent before the handshake, is dropped
    // too.
    CHECK(d.send("a STARTTLS\r\nb AUTHENTICATE PLAIN\r\n") == "a OK Begin TLS negotiation now\r\n");
    check_one_mode(d.session);
    CHECK(d.send("AGFsaWNlAHNlY3JldA==\r\n").empty());
    CHECK(d.session.starttls_requested());
    d.complete_starttls();
    CHECK_FALSE(d.session.starttls_requested());
    // After the handshake the session reads commands, not an exchange.
    CHECK(d.send("c NOOP\r\n") == "c OK NOOP completed\r\n");
    CHECK(d.auth.calls.empty());
}

TEST_CASE("RFC 3501 5.5 and RFC 2177: IDLE pipelined behind a password check starts after it",
          "[session][modes][idle]") {
    SessionDriver d({.loopback = true});
    d.greeting();
    d.auth.deferred = true;
    // Everything behind the LOGIN waits for the answer, DONE included: it is
    // not a continuation line while the password is checked.
    CHECK(d.send("a LOGIN alice secret\r\nb IDLE\r\nDONE\r\nc NOOP\r\n").empty());
    CHECK(d.session.verifying());
    CHECK_FALSE(d.session.idling());
    check_one_mode(d.session);
    REQUIRE(d.auth.answer_pending() == 1);
    CHECK(drain(d.session.output()) == "a OK " + login_ok(d.session) +
                                           "\r\n+ idling\r\nb OK IDLE completed\r\n"
                                           "c OK NOOP completed\r\n");
    CHECK_FALSE(d.session.verifying());
    CHECK_FALSE(d.session.idling());
}

TEST_CASE("RFC 2177: IDLE and DONE pipelined behind a failed login's delay run after it",
          "[session][modes][idle][delay]") {
    DelayGate gate;
    GatedDriver d(gate);
    CHECK(d.send("a LOGIN alice wrong\r\nb LOGIN alice secret\r\nc IDLE\r\nDONE\r\n").empty());
    CHECK(d.session.delayed());
    CHECK(d.session.pending_delay() == 500ms);
    CHECK_FALSE(d.session.idling());
    check_one_mode(d.session);
    // More bytes while delayed are kept, not run.
    CHECK(d.send("d NOOP\r\n").empty());
    d.session.delay_elapsed();
    CHECK_FALSE(d.session.delayed());
    CHECK(d.session.pending_delay() == 0ms);
    CHECK(drain(d.session.output()) ==
          "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
          "b OK " +
              login_ok(d.session) +
              "\r\n+ idling\r\nc OK IDLE completed\r\n"
              "d OK NOOP completed\r\n");
    CHECK(d.session.state() == SessionState::Authenticated);
}

TEST_CASE("RFC 3501 6.1.3: LOGOUT pipelined behind a FETCH in steps waits for it",
          "[session][modes][fetch]") {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};
    {
        store::MailStore& s = mail.open("alice")->store();
        const store::MailboxId inbox = s.open_mailbox("INBOX").id;
        const std::string body(4000, 'x');
        for (int i = 0; i < 200; ++i) {
            // AppendRequest::message is a view: the bytes outlive the call.
            const std::string message =
                "Subject: " + std::to_string(i) + "\r\n\r\n" + body + "\r\n";
            store::AppendRequest request;
            request.message = message;
            request.internal_date = 1700000000 + i;
            s.append(inbox, request);
        }
    }
    SessionDriver d(mail);
    d.login();
    REQUIRE(d.send("s EXAMINE INBOX\r\n").find("s OK [READ-ONLY]") != std::string::npos);

    d.session.receive("a FETCH 1:* (BODY.PEEK[])\r\nz LOGOUT\r\n");
    // The FETCH stopped at the high-water mark; LOGOUT has not run.
    CHECK(d.session.input_paused());
    CHECK_FALSE(d.session.wants_close());
    std::string out;
    int steps = 0;
    for (;;) {
        out += drain(d.session.output());
        if (!d.session.input_paused()) break;
        ++steps;
        d.session.resume();
    }
    CHECK(steps >= 2);
    CHECK(out.find("* BYE") == out.rfind("* BYE"));
    CHECK(out.ends_with(
        ")\r\na OK FETCH completed\r\n* BYE Logging out\r\nz OK LOGOUT completed\r\n"));
    CHECK(d.session.wants_close());
    CHECK(d.session.state() == SessionState::Logout);
    CHECK(d.send("b NOOP\r\n").empty());
}

TEST_CASE("abandon() drops a pending password check, delay, IDLE or step",
          "[session][modes][abandon]") {
    SECTION("a password check: its answer is never written") {
        SessionDriver d({.loopback = true});
        d.greeting();
        d.auth.deferred = true;
        CHECK(d.send("a LOGIN alice secret\r\n").empty());
        d.session.abandon();
        CHECK(d.session.wants_close());
        CHECK_FALSE(d.session.verifying());
        d.auth.answer_pending();
        CHECK(drain(d.session.output()).empty());
        CHECK(d.session.state() == SessionState::NotAuthenticated);
    }
    SECTION("a failed login's delay: delay_elapsed() writes nothing") {
        DelayGate gate;
        GatedDriver d(gate);
        CHECK(d.send("a LOGIN alice wrong\r\n").empty());
        d.session.abandon();
        CHECK_FALSE(d.session.delayed());
        CHECK(d.session.pending_delay() == 0ms);
        d.session.delay_elapsed();
        CHECK(drain(d.session.output()).empty());
    }
    SECTION("IDLE: another session's change is no longer pushed") {
        imap::server::UserMailRegistry mail{store::DataDir::in_memory()};
        SessionDriver idler(mail);
        idler.login();
        idler.send("s SELECT INBOX\r\n");
        SessionDriver other(mail);
        other.login();
        CHECK(idler.send("i IDLE\r\n") == "+ idling\r\n");
        idler.session.abandon();
        CHECK_FALSE(idler.session.idling());
        other.send("p APPEND INBOX {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n");
        idler.session.idle_poll();
        CHECK(drain(idler.session.output()).empty());
    }
}

TEST_CASE("RFC 2177: a line other than DONE is answered at once, without updates first",
          "[session][modes][idle]") {
    // CommandResult::bad_at_once: the BAD answers the line; pending updates
    // wait for the next command, as before the result type.
    // On disk, so that the change below can come through a second store
    // connection, as from another process (`imapd deliver`).
    imap::test::UniqueTempDir dir{"imapd-session-modes"};
    const store::DataDir data_dir{dir.path};
    imap::server::UserMailRegistry mail{data_dir};
    SessionDriver idler(mail);
    idler.login();
    idler.send("s SELECT INBOX\r\n");
    CHECK(idler.send("i IDLE\r\n") == "+ idling\r\n");
    // Another process's change, nobody told: no push (this connection's
    // change feed has no listener).
    {
        store::SqliteMailStore other(data_dir.user_options("alice"));
        store::AppendRequest request;
        request.message = "Subject: x\r\n\r\nbody\r\n";
        request.internal_date = 1700000000;
        other.append(other.open_mailbox("INBOX").id, request);
    }
    CHECK(idler.send("NOT DONE\r\n") == "i BAD Expected DONE\r\n");
    CHECK(idler.send("n NOOP\r\n") == "* 1 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed\r\n");
}
