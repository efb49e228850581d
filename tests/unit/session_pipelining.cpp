// Session: pipelining (RFC 3501 5.5), literals and their "+" (RFC 3501 7.5,
// RFC 7888), the command table's states (RFC 3501 3 and 6), errors (RFC 3501
// 7.1.3, 7.1.5) and framing limits, checked byte for byte.
#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "protocol/parser.h"
#include "server/imap/command_table.h"
#include "server/imap/commands/handlers.h"
#include "support/session_driver.h"

using imap::server::CommandTable;
using imap::server::Session;
using imap::server::SessionState;
using imap::test::SessionDriver;
using imap::test::Transport;

namespace {

constexpr Transport kTls{.tls = true};
const std::string kLoggedIn =
    "OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID NAMESPACE IDLE ENABLE COMPRESS=DEFLATE "
    "UNSELECT MOVE "
    "UIDPLUS MULTIAPPEND CHILDREN CONDSTORE QRESYNC LIST-EXTENDED LIST-STATUS SPECIAL-USE "
    "CREATE-SPECIAL-USE STATUS=SIZE APPENDLIMIT=67108864 ESEARCH BINARY SORT SORT=DISPLAY "
    "THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS ESORT WITHIN SEARCHRES XLIST PARTIAL "
    "CATENATE REPLACE URL-PARTIAL OBJECTID SAVEDATE PREVIEW CONTEXT=SEARCH CONTEXT=SORT "
    "UTF8=ACCEPT NOTIFY] Logged "
    "in\r\n";

}  // namespace

// ---- Pipelining -------------------------------------------------------------

TEST_CASE("RFC 3501 5.5: pipelined commands in one read run in order, each tagged",
          "[session][pipelining]") {
    SessionDriver d;
    CHECK(d.send("a NOOP\r\nb NOOP\r\nc NOOP\r\n") ==
          "a OK NOOP completed\r\nb OK NOOP completed\r\nc OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 5.5: a partial command waits for the rest", "[session][pipelining]") {
    SessionDriver d;
    CHECK(d.send("a NOOP\r\nb NO") == "a OK NOOP completed\r\n");
    CHECK(d.send("OP\r\n") == "b OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 5.5: a pipelined LOGIN changes the state for the commands behind it",
          "[session][pipelining]") {
    SessionDriver d(kTls);
    // SELECT of a missing mailbox needs the authenticated state to get as
    // far as NO; STARTTLS is BAD there.
    CHECK(d.send("a LOGIN alice secret\r\nb SELECT {5}\r\n") ==
          "a " + kLoggedIn + "+ Ready for literal data\r\n");
    CHECK(d.send("nobox\r\nc STARTTLS\r\n") ==
          "b NO [NONEXISTENT] mailbox does not exist\r\n"
          "c BAD STARTTLS is not valid in the authenticated state\r\n");
}

TEST_CASE("RFC 3501 5.5: output does not depend on how the bytes are split",
          "[session][pipelining]") {
    const std::string script =
        "a CAPABILITY\r\n"
        "b LOGIN {5}\r\nalice {6}\r\nsecret\r\n"
        "c ID NIL\r\n"
        "d SELECT INBOX\r\n"
        "e FOO\r\n"
        "f LOGOUT\r\n"
        "g NOOP\r\n";
    SessionDriver whole(kTls);
    SessionDriver bytewise(kTls);
    // Each session has a store of its own, whose INBOX took its UIDVALIDITY
    // from the clock when it was created (RFC 3501 2.3.1.1): a second may
    // pass between the two.
    const auto same_uidvalidity = [](std::string out) {
        return std::regex_replace(out, std::regex("UIDVALIDITY [0-9]+"), "UIDVALIDITY n");
    };
    const std::string expected = same_uidvalidity(whole.send(script));
    CHECK(same_uidvalidity(bytewise.send_bytewise(script)) == expected);
    CHECK(expected.ends_with("* BYE Logging out\r\nf OK LOGOUT completed\r\n"));

    SessionDriver auth_whole(kTls);
    SessionDriver auth_bytewise(kTls);
    const std::string auth_script = "a AUTHENTICATE LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\nb NOOP\r\n";
    CHECK(auth_bytewise.send_bytewise(auth_script) == auth_whole.send(auth_script));
}

TEST_CASE("RFC 3501 6.2.1: STARTTLS discards pipelined bytes even when fed byte by byte",
          "[session][pipelining][starttls]") {
    SessionDriver d(Transport{.loopback = true});
    CHECK(d.send_bytewise("a STARTTLS\r\nb LOGIN alice secret\r\n") ==
          "a OK Begin TLS negotiation now\r\n");
    CHECK(d.auth.calls.empty());
}

TEST_CASE("Output above the high-water mark pauses command processing until resume",
          "[session][pipelining]") {
    SessionDriver d;
    const std::string one = "a CAPABILITY\r\n";
    std::string many;
    for (int i = 0; i < 5000; ++i)
        many += one;
    d.session.receive(many);
    CHECK(d.session.input_paused());
    CHECK(d.session.output().size() >= Session::kOutputHighWater);
    CHECK(d.session.output().size() < 2 * Session::kOutputHighWater);
    std::string out = imap::test::drain(d.session.output());
    while (d.session.input_paused()) {
        d.session.resume();
        out += imap::test::drain(d.session.output());
    }
    std::size_t completed = 0;
    for (std::size_t pos = 0;
         (pos = out.find("a OK CAPABILITY completed\r\n", pos)) != std::string::npos; ++pos)
        ++completed;
    CHECK(completed == 5000);
}

TEST_CASE("RFC 3501 5.5: a TurnBudget splits a pipelined burst into turns, same bytes in order",
          "[session][pipelining]") {
    imap::test::FakeAuthenticator auth;
    auto context = imap::test::make_context({.loopback = true});
    context.turn_budget.max_commands = 3;
    Session session(context, auth);
    std::string script;
    std::string expected;
    for (int i = 0; i < 10; ++i) {
        script += "n" + std::to_string(i) + " NOOP\r\n";
        expected += "n" + std::to_string(i) + " OK NOOP completed\r\n";
    }
    session.receive(script);
    // Three commands, then back to the transport with the rest buffered.
    CHECK(imap::test::drain(session.output()) ==
          "n0 OK NOOP completed\r\nn1 OK NOOP completed\r\nn2 OK NOOP completed\r\n");
    CHECK(session.yielded());
    std::string out = "n0 OK NOOP completed\r\nn1 OK NOOP completed\r\nn2 OK NOOP completed\r\n";
    int turns = 1;
    while (session.yielded()) {
        session.resume();
        out += imap::test::drain(session.output());
        ++turns;
    }
    CHECK(out == expected);
    CHECK(turns == 4);  // 3 + 3 + 3 + 1 (the last turn finds nothing more)
    // A time budget alone, so short that it is always used up by the time it
    // is checked: the first command of every turn still runs (a turn that
    // could end before doing anything would never make progress), so each
    // turn answers exactly one command.
    auto timed = imap::test::make_context({.loopback = true});
    timed.turn_budget.max_time = std::chrono::nanoseconds(1);
    Session slow(timed, auth);
    slow.receive(script);
    CHECK(imap::test::drain(slow.output()) == "n0 OK NOOP completed\r\n");
    for (int i = 1; i < 10; ++i) {
        REQUIRE(slow.yielded());
        slow.resume();
        CHECK(imap::test::drain(slow.output()) ==
              "n" + std::to_string(i) + " OK NOOP completed\r\n");
    }
    // Bounded, so that a turn that never makes progress fails here instead
    // of hanging the test.
    for (int turn = 0; turn < 100 && slow.yielded(); ++turn)
        slow.resume();
    CHECK_FALSE(slow.yielded());
}

// ---- Literals (RFC 3501 7.5) ----------------------------------------------------

TEST_CASE("RFC 3501 7.5: no + for a command not valid in this state", "[session][literal]") {
    SessionDriver d;
    CHECK(d.send("a SELECT {5}\r\n") ==
          "a BAD SELECT is not valid in the not authenticated state\r\n");
    // The client does not send the literal: the next line is a new command.
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 7.5: + for APPEND only in a state it is valid in", "[session][literal]") {
    // (A command without a handler gets no + either: see "commands without
    // a handler yet" below.)
    SessionDriver d(kTls);
    CHECK(d.send("a APPEND INBOX {100}\r\n") ==
          "a BAD APPEND is not valid in the not authenticated state\r\n");
    d.send("a LOGIN alice secret\r\n");
    CHECK(d.send("b APPEND INBOX {100}\r\n") == "+ Ready for literal data\r\n");
}

TEST_CASE("RFC 3501 7.5: no + for an unknown command or a bad tag", "[session][literal]") {
    SessionDriver d;
    CHECK(d.send("a FROB {5}\r\n") == "a BAD Unknown command\r\n");
    CHECK(d.send("* LOGIN {5}\r\n") == "* BAD Invalid tag\r\n");
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 7.5: no + for a command whose grammar has no literal", "[session][literal]") {
    SessionDriver d;
    CHECK(d.send("a NOOP {5}\r\n") == "a BAD NOOP takes no literal\r\n");
    CHECK(d.send("b AUTHENTICATE {5}\r\n") == "b BAD AUTHENTICATE takes no literal\r\n");
}

TEST_CASE("RFC 7888 4: a literal over the server limit is refused with TOOBIG",
          "[session][literal]") {
    SessionDriver d(kTls);
    CHECK(d.send("a LOGIN {70000000}\r\n") == "a BAD [TOOBIG] Literal too large\r\n");
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}

TEST_CASE("RFC 7888 4: a refused non-synchronising literal is drained, never executed",
          "[session][literal]") {
    SessionDriver d(kTls, imap::FramerLimits{.max_literal_size = 16});
    CHECK(d.send("a LOGIN {20+}\r\nc LOGOUT\r\nd LOGOUT\r\n rest\r\nb NOOP\r\n") ==
          "a BAD [TOOBIG] Literal too large\r\nb OK NOOP completed\r\n");
    CHECK_FALSE(d.session.wants_close());
}

TEST_CASE("RFC 7888 4 and RFC 3501 7.1.5: an undrainable literal gets BYE and close",
          "[session][literal]") {
    SessionDriver d(kTls);
    CHECK(d.send("a LOGIN {4000000000+}\r\nb NOOP\r\n") == "* BYE [TOOBIG] Literal too large\r\n");
    CHECK(d.session.wants_close());
    CHECK(d.send("c NOOP\r\n").empty());
}

// ---- States and the command table (RFC 3501 3, 6) -------------------------------

TEST_CASE("RFC 3501 6.3: authenticated-state commands are BAD before login", "[session][states]") {
    SessionDriver d;
    CHECK(d.send("a SELECT INBOX\r\n") ==
          "a BAD SELECT is not valid in the not authenticated state\r\n");
    CHECK(d.send("b LIST \"\" *\r\n") ==
          "b BAD LIST is not valid in the not authenticated state\r\n");
}

TEST_CASE("RFC 3501 6.3 and 6.4: commands without a handler yet are NO CANNOT in their state",
          "[session][states]") {
    // A table where SELECT has no handler, as every command had before its
    // handler landed: it must be NO [CANNOT], never faked, and never "+".
    static constexpr imap::server::CommandSpec kRows[] = {
        {"LOGIN", imap::server::cmd_login, imap::server::kNotAuthenticated, 0, 1024, ""},
        {"SELECT", nullptr, imap::server::kAuthenticatedOrSelected, 0, 1024, ""},
        {"FETCH", nullptr, imap::server::kSelected, 0, 1024, ""},
    };
    const CommandTable table(kRows);
    imap::test::FakeAuthenticator auth;
    imap::server::Session session(imap::test::make_context({.tls = true}), auth, nullptr, table);
    const auto send = [&](std::string_view bytes) {
        session.receive(bytes);
        return imap::test::drain(session.output());
    };
    CHECK(send("a LOGIN alice secret\r\n").starts_with("a OK "));
    CHECK(send("b SELECT INBOX\r\n") == "b NO [CANNOT] SELECT is not implemented yet\r\n");
    CHECK(send("b SELECT {5}\r\n") == "b NO [CANNOT] SELECT is not implemented yet\r\n");
    CHECK(send("c FETCH 1 FLAGS\r\n") == "c BAD FETCH is not valid in the authenticated state\r\n");
    CHECK(send("d NOOP\r\n") == "d BAD Unknown command\r\n");
}

TEST_CASE("Command table covers every command the parser knows", "[session][states]") {
    for (const auto& row : CommandTable::builtin().rows()) {
        INFO(row.name);
        CHECK(imap::is_known_command(row.name));
    }
    for (const char* name :
         {"CAPABILITY",  "NOOP",      "LOGOUT",     "STARTTLS",  "AUTHENTICATE", "LOGIN",
          "SELECT",      "EXAMINE",   "CREATE",     "DELETE",    "RENAME",       "SUBSCRIBE",
          "UNSUBSCRIBE", "LIST",      "LSUB",       "STATUS",    "APPEND",       "CHECK",
          "CLOSE",       "EXPUNGE",   "SEARCH",     "FETCH",     "STORE",        "COPY",
          "MOVE",        "UNSELECT",  "IDLE",       "NAMESPACE", "ENABLE",       "ID",
          "UID COPY",    "UID FETCH", "UID SEARCH", "UID STORE", "UID MOVE",     "UID EXPUNGE"}) {
        INFO(name);
        CHECK(imap::is_known_command(name));
        CHECK(CommandTable::builtin().find(name) != nullptr);
    }
}

// ---- Errors (RFC 3501 7.1.3) ----------------------------------------------------

TEST_CASE("RFC 3501 7.1.3: unknown command is a tagged BAD", "[session][errors]") {
    SessionDriver d;
    CHECK(d.send("a FROB\r\n") == "a BAD Unknown command FROB\r\n");
}

TEST_CASE("RFC 3501 7.1.3: a line without a valid tag gets an untagged BAD", "[session][errors]") {
    SessionDriver d;
    CHECK(d.send("* NOOP\r\n") == "* BAD Invalid tag\r\n");
    CHECK(d.send("a+ NOOP\r\n") == "* BAD Invalid tag\r\n");
    CHECK(d.send("a\r\n") == "a BAD Missing command\r\n");
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 7.1.3: arguments to a command that takes none are BAD", "[session][errors]") {
    SessionDriver d;
    const std::string out = d.send("a NOOP now\r\n");
    CHECK(out.starts_with("a BAD NOOP: "));
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}

TEST_CASE("Framing: an over-long line gets a tagged BAD and the next command runs",
          "[session][errors]") {
    SessionDriver d(Transport{}, imap::FramerLimits{.max_line_length = 64});
    CHECK(d.send("a NOOP " + std::string(100, 'x') + "\r\nb NOOP\r\n") ==
          "a BAD Line too long\r\nb OK NOOP completed\r\n");
    CHECK(d.send(std::string(100, 'x') + "\r\nc NOOP\r\n") ==
          "* BAD Line too long\r\nc OK NOOP completed\r\n");
    CHECK_FALSE(d.session.wants_close());
}

TEST_CASE("Framing: too many literals in one command is a tagged BAD", "[session][errors]") {
    SessionDriver d(kTls, imap::FramerLimits{.max_literals_per_command = 1});
    CHECK(d.send("a LOGIN {5}\r\n") == "+ Ready for literal data\r\n");
    CHECK(d.send("alice {6}\r\n") == "a BAD Too many literals in one command\r\n");
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}
