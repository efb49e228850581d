// Session: greeting, CAPABILITY, STARTTLS, LOGIN, AUTHENTICATE and ID,
// checked byte for byte against what RFC 3501 (3, 6.1, 6.2, 7.1, 7.5),
// RFC 4959 (SASL-IR), RFC 4616 (PLAIN), RFC 2971 (ID) and RFC 5530 (response
// codes) say the server sends. No sockets: tests/support/session_driver.h.
#include <catch2/catch.hpp>
#include <string>

#include "support/session_driver.h"

using imap::server::AuthResult;
using imap::server::SessionState;
using imap::test::SessionDriver;
using imap::test::Transport;

namespace {

// Capability lists per situation (RFC 3501 7.2.1, 6.2.1, 6.2.3; RFC 7888 5:
// LITERAL- before login, LITERAL+ after).
const std::string kCapsPlain = "IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR ID STARTTLS LOGINDISABLED";
const std::string kCapsLoopback =
    "IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR ID STARTTLS AUTH=PLAIN AUTH=LOGIN";
const std::string kCapsTls = "IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR ID AUTH=PLAIN AUTH=LOGIN";
const std::string kCapsAuthenticated =
    "IMAP4rev1 IMAP4rev2 LITERAL+ ID NAMESPACE IDLE ENABLE COMPRESS=DEFLATE UNSELECT MOVE UIDPLUS "
    "MULTIAPPEND CHILDREN CONDSTORE QRESYNC LIST-EXTENDED LIST-STATUS SPECIAL-USE "
    "CREATE-SPECIAL-USE STATUS=SIZE APPENDLIMIT=67108864 ESEARCH BINARY SORT SORT=DISPLAY "
    "THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS ESORT WITHIN SEARCHRES XLIST PARTIAL "
    "CATENATE REPLACE URL-PARTIAL OBJECTID SAVEDATE PREVIEW CONTEXT=SEARCH CONTEXT=SORT "
    "UTF8=ACCEPT NOTIFY";

const std::string kLoggedIn = "OK [CAPABILITY " + kCapsAuthenticated + "] Logged in\r\n";

constexpr Transport kTls{.tls = true};
constexpr Transport kLoopback{.loopback = true};

}  // namespace

// ---- Greeting and CAPABILITY ------------------------------------------------

TEST_CASE("RFC 3501 7.1.1: greeting carries the capabilities, plaintext has LOGINDISABLED",
          "[session][capability]") {
    SessionDriver d;
    CHECK(d.greeting() == "* OK [CAPABILITY " + kCapsPlain + "] imapd ready.\r\n");
    CHECK(d.session.state() == SessionState::NotAuthenticated);
}

TEST_CASE("RFC 3501 6.2.3: loopback may authenticate in plaintext, no LOGINDISABLED",
          "[session][capability]") {
    SessionDriver d(kLoopback);
    CHECK(d.greeting() == "* OK [CAPABILITY " + kCapsLoopback + "] imapd ready.\r\n");
}

TEST_CASE("RFC 3501 6.2.1: no STARTTLS over TLS", "[session][capability]") {
    SessionDriver d(kTls);
    CHECK(d.greeting() == "* OK [CAPABILITY " + kCapsTls + "] imapd ready.\r\n");
}

TEST_CASE("RFC 3501 6.2.1: no STARTTLS when the server has no TLS", "[session][capability]") {
    SessionDriver d(Transport{.loopback = true, .starttls_available = false});
    CHECK(d.greeting() ==
          "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL- SASL-IR ID AUTH=PLAIN AUTH=LOGIN] imapd "
          "ready.\r\n");
}

TEST_CASE("RFC 3501 6.1.1: CAPABILITY before and after login", "[session][capability]") {
    SessionDriver d(kLoopback);
    d.greeting();
    CHECK(d.send("a CAPABILITY\r\n") ==
          "* CAPABILITY " + kCapsLoopback + "\r\na OK CAPABILITY completed\r\n");
    CHECK(d.send("b LOGIN alice secret\r\n") == "b " + kLoggedIn);
    CHECK(d.send("c CAPABILITY\r\n") ==
          "* CAPABILITY " + kCapsAuthenticated + "\r\nc OK CAPABILITY completed\r\n");
}

TEST_CASE("RFC 3501 6.1.2: NOOP in every state", "[session]") {
    SessionDriver d(kTls);
    CHECK(d.send("a NOOP\r\n") == "a OK NOOP completed\r\n");
    d.send("b LOGIN alice secret\r\n");
    CHECK(d.send("c noop\r\n") == "c OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 6.1.3: LOGOUT sends BYE then the tagged OK and closes", "[session]") {
    SessionDriver d;
    CHECK(d.send("a LOGOUT\r\n") == "* BYE Logging out\r\na OK LOGOUT completed\r\n");
    CHECK(d.session.wants_close());
    CHECK(d.session.state() == SessionState::Logout);
    CHECK(d.send("b NOOP\r\n").empty());
}

// ---- STARTTLS -----------------------------------------------------------------

TEST_CASE("RFC 3501 6.2.1: STARTTLS discards commands pipelined behind it", "[session][starttls]") {
    SessionDriver d(kLoopback);
    CHECK(d.send("a STARTTLS\r\nb LOGIN alice secret\r\n") == "a OK Begin TLS negotiation now\r\n");
    CHECK(d.session.starttls_requested());
    // Plaintext arriving before the handshake is not executed either.
    CHECK(d.send("c LOGIN alice secret\r\n").empty());
    CHECK(d.auth.calls.empty());
    CHECK(d.session.state() == SessionState::NotAuthenticated);

    d.complete_starttls();
    CHECK_FALSE(d.session.starttls_requested());
    CHECK(d.session.tls_active());
    CHECK(d.send("d CAPABILITY\r\n") ==
          "* CAPABILITY " + kCapsTls + "\r\nd OK CAPABILITY completed\r\n");
}

TEST_CASE("RFC 3501 6.2.1: STARTTLS enables plaintext authentication", "[session][starttls]") {
    SessionDriver d;
    CHECK(d.send("a STARTTLS\r\n") == "a OK Begin TLS negotiation now\r\n");
    d.complete_starttls();
    CHECK(d.send("b LOGIN alice secret\r\n") == "b " + kLoggedIn);
}

TEST_CASE("RFC 3501 6.2.1: STARTTLS over TLS is BAD", "[session][starttls]") {
    SessionDriver d(kTls);
    CHECK(d.send("a STARTTLS\r\n") == "a BAD TLS is already active\r\n");
    CHECK_FALSE(d.session.starttls_requested());
}

TEST_CASE("RFC 3501 6.2.1: STARTTLS without TLS configured is BAD", "[session][starttls]") {
    SessionDriver d(Transport{.starttls_available = false});
    CHECK(d.send("a STARTTLS\r\n") == "a BAD STARTTLS is not available\r\n");
}

TEST_CASE("RFC 3501 6.2: STARTTLS after login is BAD, wrong state", "[session][starttls]") {
    SessionDriver d(kLoopback);
    d.send("a LOGIN alice secret\r\n");
    CHECK(d.send("b STARTTLS\r\n") == "b BAD STARTTLS is not valid in the authenticated state\r\n");
    CHECK_FALSE(d.session.starttls_requested());
}

// ---- LOGIN --------------------------------------------------------------------

TEST_CASE("RFC 3501 6.2.3: LOGIN over TLS, OK carries the new capabilities", "[session][login]") {
    SessionDriver d(kTls);
    CHECK(d.send("a LOGIN alice secret\r\n") == "a " + kLoggedIn);
    CHECK(d.session.state() == SessionState::Authenticated);
    CHECK(d.session.user() == "alice");
    REQUIRE(d.auth.calls.size() == 1);
    CHECK(d.auth.calls[0] == std::pair<std::string, std::string>("alice", "192.0.2.7"));
}

TEST_CASE("RFC 3501 6.2.3: LOGIN with quoted strings", "[session][login]") {
    SessionDriver d(kTls);
    d.auth.users["a.b"] = "p\"w x";
    CHECK(d.send("a LOGIN \"a.b\" \"p\\\"w x\"\r\n") == "a " + kLoggedIn);
    CHECK(d.session.user() == "a.b");
}

TEST_CASE("RFC 3501 6.2.3 and 7.5: LOGIN with synchronising literals gets + for each",
          "[session][login][literal]") {
    SessionDriver d(kTls);
    CHECK(d.send("a LOGIN {5}\r\n") == "+ Ready for literal data\r\n");
    CHECK(d.send("alice {6}\r\n") == "+ Ready for literal data\r\n");
    CHECK(d.send("secret\r\n") == "a " + kLoggedIn);
}

TEST_CASE("RFC 7888: LOGIN with non-synchronising literals gets no +",
          "[session][login][literal]") {
    SessionDriver d(kTls);
    CHECK(d.send("a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n") == "a " + kLoggedIn);
}

TEST_CASE("RFC 5530 AUTHENTICATIONFAILED: wrong password", "[session][login]") {
    SessionDriver d(kTls);
    CHECK(d.send("a LOGIN alice wrong\r\n") ==
          "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
    CHECK(d.session.state() == SessionState::NotAuthenticated);
    CHECK(d.send("b LOGIN nobody secret\r\n") ==
          "b NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
}

TEST_CASE("RFC 5530 UNAVAILABLE: the account database is down", "[session][login]") {
    SessionDriver d(kTls);
    d.auth.forced = AuthResult::Unavailable;
    CHECK(d.send("a LOGIN alice secret\r\n") ==
          "a NO [UNAVAILABLE] Authentication is temporarily unavailable, try again later\r\n");
    CHECK(d.session.state() == SessionState::NotAuthenticated);
}

TEST_CASE("RFC 3501 6.2.3 and RFC 5530 PRIVACYREQUIRED: LOGIN refused in plaintext",
          "[session][login]") {
    SessionDriver d;
    CHECK(d.send("a LOGIN alice secret\r\n") ==
          "a NO [PRIVACYREQUIRED] Plaintext authentication is not allowed without TLS\r\n");
    CHECK(d.auth.calls.empty());
    CHECK(d.session.state() == SessionState::NotAuthenticated);
}

TEST_CASE("RFC 3501 6.2.3: LOGIN literal refused in plaintext before the password is sent",
          "[session][login][literal]") {
    SessionDriver d;
    CHECK(d.send("a LOGIN alice {6}\r\n") ==
          "a NO [PRIVACYREQUIRED] Plaintext authentication is not allowed without TLS\r\n");
    // The client does not send the literal (RFC 3501 7.5): next is a command.
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}

TEST_CASE("RFC 5530 LIMIT: LOGIN literal larger than credentials can be",
          "[session][login][literal]") {
    SessionDriver d(kTls);
    CHECK(d.send("a LOGIN {8193}\r\n") ==
          "a NO [LIMIT] Literal too large for LOGIN (at most 8192 octets)\r\n");
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
    CHECK(d.auth.calls.empty());
}

// ---- Literals before login (RFC 7888, the CVE-2024-34055 class) ------------------

TEST_CASE(
    "RFC 7888 5: before login a {n+} over 4096 octets (LITERAL-) is refused at its "
    "announcement and drained",
    "[session][login][literal]") {
    SessionDriver d(kTls);
    // The answer comes before any byte of the literal: nothing is buffered.
    CHECK(d.send("a LOGIN {4097+}\r\n") ==
          "a BAD [TOOBIG] Non-synchronising literal over 4096 octets (LITERAL-); use a "
          "synchronising one\r\n");
    // What the client sends anyway, and the rest of the command, is dropped
    // unread; the next command runs.
    CHECK(d.send(std::string(4097, 'x') + " {3+}\r\nabc\r\nb NOOP\r\n") ==
          "b OK NOOP completed\r\n");
    CHECK(d.auth.calls.empty());
    // At 4096 it is read, and the login goes ahead.
    d.auth.users["alice"] = std::string(4096, 'p');
    CHECK(d.send("c LOGIN alice {4096+}\r\n" + std::string(4096, 'p') + "\r\n") ==
          "c " + kLoggedIn);
}

TEST_CASE("RFC 7888 4: a {n+} over the command's limit is refused at its announcement",
          "[session][login][literal]") {
    SessionDriver d(kTls);
    // RFC 2971 3.3: ID values are at most 1024 octets.
    CHECK(d.send("a ID (\"name\" {1025+}\r\n") ==
          "a NO [LIMIT] Literal too large for ID (at most 1024 octets)\r\n");
    CHECK(d.send(std::string(1025, 'n') + ")\r\nb NOOP\r\n") == "b OK NOOP completed\r\n");
    // Where the command is not valid, or takes no literal, as for {n}.
    CHECK(d.send("c SELECT {5+}\r\nINBOX\r\n") ==
          "c BAD SELECT is not valid in the not authenticated state\r\n");
    CHECK(d.send("d NOOP {1+}\r\nx\r\n") == "d BAD NOOP takes no literal\r\n");
    CHECK(d.send("e NOOP\r\n") == "e OK NOOP completed\r\n");
}

TEST_CASE(
    "RFC 7888 4: before login a {n+} past the pre-login command size ends the connection "
    "at once",
    "[session][login][literal]") {
    // kMaxPreAuthCommandSize (64 KiB) is all an unauthenticated command may
    // hold, and the most a refused one drains: a larger announcement gets
    // BYE before a byte of it is read.
    SessionDriver d(kTls);
    CHECK(d.send("a LOGIN {60000000+}\r\n") == "* BYE [TOOBIG] Literal too large\r\n");
    CHECK(d.session.wants_close());
    CHECK(d.send(std::string(1000, 'x') + "\r\nb NOOP\r\n").empty());
    // The same for a synchronising one: refused, it is never sent.
    SessionDriver e(kTls);
    CHECK(e.send("a LOGIN {60000000}\r\n") == "a BAD [TOOBIG] Literal too large\r\n");
    CHECK(e.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
    // Lines count too: a command of many literal-separated lines.
    SessionDriver f(kTls);
    std::string lines = "a ID (";
    for (int i = 0; i < 70; ++i)
        lines += "\"k\" {1000+}\r\n" + std::string(1000, 'v') + " ";
    CHECK(f.send(lines + ")\r\nb NOOP\r\n") ==
          "a BAD Command too large\r\nb OK NOOP completed\r\n");
}

TEST_CASE(
    "RFC 7888: after login LITERAL+ has no 4096 bound, but a {n+} over the command's "
    "limit is still refused at its announcement",
    "[session][literal]") {
    SessionDriver d(kTls);
    CHECK(d.send("a LOGIN alice secret\r\n") == "a " + kLoggedIn);
    CHECK(d.send("b ID (\"name\" {1025+}\r\n") ==
          "b NO [LIMIT] Literal too large for ID (at most 1024 octets)\r\n");
    CHECK(d.send(std::string(1025, 'n') + ")\r\nc NOOP\r\n") == "c OK NOOP completed\r\n");
    CHECK(d.send("d ID (\"name\" {1024+}\r\n" + std::string(1024, 'n') + ")\r\n")
              .ends_with("d OK ID completed\r\n"));
}

TEST_CASE("RFC 3501 6.2: LOGIN when authenticated is BAD", "[session][login]") {
    SessionDriver d(kTls);
    d.send("a LOGIN alice secret\r\n");
    CHECK(d.send("b LOGIN alice secret\r\n") ==
          "b BAD LOGIN is not valid in the authenticated state\r\n");
}

TEST_CASE("RFC 3501 6.2.3: LOGIN with a missing argument is BAD with the parser message",
          "[session][login]") {
    SessionDriver d(kTls);
    const std::string out = d.send("a LOGIN alice\r\n");
    CHECK(out.starts_with("a BAD LOGIN: "));
    CHECK(out.ends_with("\r\n"));
}

// ---- AUTHENTICATE PLAIN ---------------------------------------------------------

TEST_CASE("RFC 4959 SASL-IR: AUTHENTICATE PLAIN with an initial response",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n") == "a " + kLoggedIn);
    CHECK(d.session.user() == "alice");
}

TEST_CASE("RFC 4616 2: AUTHENTICATE PLAIN without initial response gets an empty challenge",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN\r\n") == "+ \r\n");
    CHECK(d.send("AGFsaWNlAHNlY3JldA==\r\n") == "a " + kLoggedIn);
}

TEST_CASE("RFC 3501 6.2.2: mechanism names are case-insensitive", "[session][authenticate]") {
    SessionDriver d(kLoopback);
    CHECK(d.send("a authenticate plain AGFsaWNlAHNlY3JldA==\r\n") == "a " + kLoggedIn);
}

TEST_CASE("RFC 5530 AUTHENTICATIONFAILED: AUTHENTICATE PLAIN wrong password",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN AGFsaWNlAHdyb25n\r\n") ==
          "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
    CHECK(d.session.state() == SessionState::NotAuthenticated);
}

TEST_CASE("RFC 4959 3: an initial response of = is empty, a malformed PLAIN message",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN =\r\n") == "a BAD Malformed PLAIN response\r\n");
    CHECK(d.auth.calls.empty());
}

TEST_CASE("RFC 4616 2: PLAIN message without two NULs is BAD", "[session][authenticate]") {
    SessionDriver d(kTls);
    // "\0alice": no password part.
    CHECK(d.send("a AUTHENTICATE PLAIN AGFsaWNl\r\n") == "a BAD Malformed PLAIN response\r\n");
    CHECK(d.auth.calls.empty());
}

TEST_CASE("RFC 4616 2: authzid equal to authcid is accepted", "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN YWxpY2UAYWxpY2UAc2VjcmV0\r\n") == "a " + kLoggedIn);
}

TEST_CASE("RFC 4616 2: authzid naming the same user in another case is accepted",
          "[session][authenticate]") {
    // User names are compared as the account store canonicalises them
    // (store::AccountStore::canonical_user_name: ASCII case folded).
    SessionDriver d(kTls);
    // "Alice\0alice\0secret"
    CHECK(d.send("a AUTHENTICATE PLAIN QWxpY2UAYWxpY2UAc2VjcmV0\r\n") == "a " + kLoggedIn);
    CHECK(d.session.state() == SessionState::Authenticated);
    SessionDriver upper(kTls);
    // "ALICE\0alice\0secret"
    CHECK(upper.send("a AUTHENTICATE PLAIN QUxJQ0UAYWxpY2UAc2VjcmV0\r\n") == "a " + kLoggedIn);
}

TEST_CASE("RFC 4616 2: authzid that is no user name is another user", "[session][authenticate]") {
    SessionDriver d(kTls);
    // "alice \0alice\0secret": a space makes it no valid name, never alice.
    CHECK(d.send("a AUTHENTICATE PLAIN YWxpY2UgAGFsaWNlAHNlY3JldA==\r\n") ==
          "a NO [AUTHORIZATIONFAILED] Not allowed to act as another user\r\n");
    CHECK(d.session.state() == SessionState::NotAuthenticated);
}

TEST_CASE("RFC 4616 2 and RFC 5530 AUTHORIZATIONFAILED: authzid of another user",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN Ym9iAGFsaWNlAHNlY3JldA==\r\n") ==
          "a NO [AUTHORIZATIONFAILED] Not allowed to act as another user\r\n");
    CHECK(d.session.state() == SessionState::NotAuthenticated);
}

TEST_CASE("RFC 3501 6.2.2: * cancels the exchange with a tagged BAD", "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN\r\n") == "+ \r\n");
    CHECK(d.send("*\r\n") == "a BAD Authentication cancelled\r\n");
    CHECK(d.auth.calls.empty());
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 6.2.2: invalid base64 in a response is BAD", "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN\r\n") == "+ \r\n");
    CHECK(d.send("AGFsaWNl!\r\n") == "a BAD Invalid base64 data\r\n");
    CHECK(d.send("b AUTHENTICATE PLAIN\r\n") == "+ \r\n");
    CHECK(d.send("AGFsaWNlAHNlY3JldA\r\n") == "b BAD Invalid base64 data\r\n");
    CHECK(d.auth.calls.empty());
}

TEST_CASE("RFC 4648 3.5: initial response with non-zero pad bits is BAD",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN AB==\r\n") == "a BAD Invalid base64 data\r\n");
}

TEST_CASE("RFC 4959 and RFC 3501 9: malformed initial response is a parse error",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN AGFsa\r\n") ==
          "a BAD AUTHENTICATE: Invalid base64 initial response\r\n");
}

TEST_CASE("RFC 3501 6.2.2: unsupported mechanism is NO", "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE CRAM-MD5\r\n") == "a NO Unsupported authentication mechanism\r\n");
}

TEST_CASE("RFC 5530 PRIVACYREQUIRED: AUTHENTICATE PLAIN refused in plaintext",
          "[session][authenticate]") {
    SessionDriver d;
    CHECK(d.send("a AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n") ==
          "a NO [PRIVACYREQUIRED] Plaintext authentication is not allowed without TLS\r\n");
    // No challenge was sent: the next line is a command, not a response.
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
    CHECK(d.auth.calls.empty());
}

TEST_CASE("RFC 3501 6.2.2: AUTHENTICATE when authenticated is BAD", "[session][authenticate]") {
    SessionDriver d(kTls);
    d.send("a LOGIN alice secret\r\n");
    CHECK(d.send("b AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n") ==
          "b BAD AUTHENTICATE is not valid in the authenticated state\r\n");
}

TEST_CASE("RFC 3501 5.5: commands pipelined behind an AUTHENTICATE response run after it",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nb NOOP\r\n") ==
          "+ \r\na " + kLoggedIn + "b OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 6.2.2: an over-long response line ends the exchange with tagged BAD",
          "[session][authenticate]") {
    SessionDriver d(kTls, imap::FramerLimits{.max_line_length = 64});
    CHECK(d.send("a AUTHENTICATE PLAIN\r\n") == "+ \r\n");
    CHECK(d.send(std::string(100, 'A') + "\r\n") == "a BAD Line too long\r\n");
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}

// ---- AUTHENTICATE LOGIN ---------------------------------------------------------

TEST_CASE("AUTHENTICATE LOGIN: Username and Password challenges in base64",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE LOGIN\r\n") == "+ VXNlcm5hbWU6\r\n");
    CHECK(d.send("YWxpY2U=\r\n") == "+ UGFzc3dvcmQ6\r\n");
    CHECK(d.send("c2VjcmV0\r\n") == "a " + kLoggedIn);
    CHECK(d.session.user() == "alice");
}

TEST_CASE("RFC 4959: AUTHENTICATE LOGIN with the user name as initial response",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE LOGIN YWxpY2U=\r\n") == "+ UGFzc3dvcmQ6\r\n");
    CHECK(d.send("c2VjcmV0\r\n") == "a " + kLoggedIn);
}

TEST_CASE("AUTHENTICATE LOGIN: wrong password, and * at the password prompt",
          "[session][authenticate]") {
    SessionDriver d(kTls);
    CHECK(d.send("a AUTHENTICATE LOGIN YWxpY2U=\r\n") == "+ UGFzc3dvcmQ6\r\n");
    CHECK(d.send("d3Jvbmc=\r\n") == "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
    CHECK(d.send("b AUTHENTICATE LOGIN\r\n") == "+ VXNlcm5hbWU6\r\n");
    CHECK(d.send("YWxpY2U=\r\n") == "+ UGFzc3dvcmQ6\r\n");
    CHECK(d.send("*\r\n") == "b BAD Authentication cancelled\r\n");
    CHECK(d.session.state() == SessionState::NotAuthenticated);
}

TEST_CASE("RFC 3501 6.2.3: loopback may use AUTHENTICATE LOGIN in plaintext",
          "[session][authenticate]") {
    SessionDriver d(kLoopback);
    CHECK(d.send("a AUTHENTICATE LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n") ==
          "+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\na " + kLoggedIn);
    REQUIRE(d.auth.calls.size() == 1);
    CHECK(d.auth.calls[0].second == "127.0.0.1");
}

// ---- ID -------------------------------------------------------------------------

TEST_CASE("RFC 2971 3.1: ID answers with the server name and version", "[session][id]") {
    SessionDriver d;
    const std::string id =
        std::string("* ID (\"name\" \"imapd\" \"version\" \"") + IMAPD_VERSION + "\")\r\n";
    CHECK(d.send("a ID NIL\r\n") == id + "a OK ID completed\r\n");
    CHECK(d.send("b ID (\"name\" \"mutt\" \"version\" NIL)\r\n") == id + "b OK ID completed\r\n");
}

TEST_CASE("RFC 2971 3: ID is valid in every state, values may be literals", "[session][id]") {
    SessionDriver d(kTls);
    d.send("a LOGIN alice secret\r\n");
    const std::string id =
        std::string("* ID (\"name\" \"imapd\" \"version\" \"") + IMAPD_VERSION + "\")\r\n";
    CHECK(d.send("b ID (\"name\" {4}\r\n") == "+ Ready for literal data\r\n");
    CHECK(d.send("mutt)\r\n") == id + "b OK ID completed\r\n");
    CHECK(d.send("c ID (\"x\" {1025}\r\n") ==
          "c NO [LIMIT] Literal too large for ID (at most 1024 octets)\r\n");
}
