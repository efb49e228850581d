// Pop3Session (server/pop3/pop3_session.h) driven byte for byte, without
// sockets: RFC 1939's example conversations, RFC 2449 CAPA and response
// codes, RFC 2595 STLS, the maildrop lock (RFC 1939 8) and the UPDATE state
// against the store. docs/pop3.md.
#include "server/pop3/pop3_session.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "protocol/limits.h"
#include "store/limits.h"
#include "store/types.h"
#include "support/session_driver.h"

using namespace imap;
using server::pop3::MaildropLocks;
using server::pop3::Pop3Session;

namespace {

// One POP3 connection to a server whose mail (and maildrop locks) may be
// shared with other drivers.
class Pop3Driver {
  public:
    Pop3Driver(server::MailAccess& mail, MaildropLocks& locks,
               test::Transport transport = {.loopback = true})
        : session(test::make_context(transport), auth, &mail, locks) {}

    std::string greeting() {
        session.greeting();
        return test::drain(session.output());
    }
    std::string send(std::string_view client) {
        session.receive(client);
        return test::drain(session.output());
    }
    std::string send_bytewise(std::string_view client) {
        std::string out;
        for (char c : client) {
            session.receive(std::string_view(&c, 1));
            out += test::drain(session.output());
        }
        return out;
    }
    // Greets and logs in as alice.
    void login() {
        greeting();
        REQUIRE(send("USER alice\r\nPASS secret\r\n") ==
                "+OK Send your password\r\n+OK Logged in\r\n");
    }

    test::FakeAuthenticator auth;
    Pop3Session session;
};

struct Fixture {
    server::UserMailRegistry mail{store::DataDir::in_memory()};
    MaildropLocks locks;

    store::MailStore& store() { return mail.open("alice")->store(); }
    store::MailboxId inbox() { return store().open_mailbox("INBOX").id; }
    std::uint32_t uidvalidity() { return store().open_mailbox("INBOX").uidvalidity; }
    std::uint32_t add(std::string_view message, std::uint32_t flags = 0) {
        store::AppendRequest request{message, 1'700'000'000, 0, {}};
        request.flags.system = flags;
        return store().append(inbox(), request);
    }
    std::vector<std::uint32_t> uids() { return store().uids(inbox()); }
    std::uint32_t flags_of(std::uint32_t uid) {
        const store::UidRange range{uid, uid};
        return store().fetch(inbox(), std::span(&range, 1)).at(0).flags;
    }
};

// The messages of RFC 1939's examples, with a line that needs stuffing.
constexpr std::string_view kFirst = "Subject: one\r\n\r\nHello\r\n.hidden dot\r\n";
constexpr std::string_view kSecond = "Subject: two\r\n\r\nline 1\r\nline 2\r\nline 3\r\n";

}  // namespace

TEST_CASE("RFC 1939 4-6: the example session, byte for byte", "[pop3]") {
    Fixture f;
    f.add(kFirst);
    f.add(kSecond);
    Pop3Driver c(f.mail, f.locks);
    CHECK(c.greeting() == "+OK imapd POP3 ready\r\n");
    CHECK(c.send("USER alice\r\n") == "+OK Send your password\r\n");
    CHECK(c.send("PASS secret\r\n") == "+OK Logged in\r\n");
    CHECK(c.session.state() == server::SessionState::Authenticated);
    // RFC 1939 5 STAT: "+OK nn mm".
    CHECK(c.send("STAT\r\n") == "+OK 2 " + std::to_string(kFirst.size() + kSecond.size()) + "\r\n");
    CHECK(c.send("LIST\r\n") == "+OK 2 messages (" +
                                    std::to_string(kFirst.size() + kSecond.size()) +
                                    " octets)\r\n1 " + std::to_string(kFirst.size()) + "\r\n2 " +
                                    std::to_string(kSecond.size()) + "\r\n.\r\n");
    CHECK(c.send("LIST 2\r\n") == "+OK 2 " + std::to_string(kSecond.size()) + "\r\n");
    CHECK(c.send("LIST 3\r\n") == "-ERR No such message\r\n");
    // RFC 1939 3: the line that begins with "." is byte-stuffed.
    CHECK(c.send("RETR 1\r\n") == "+OK " + std::to_string(kFirst.size()) +
                                      " octets\r\nSubject: one\r\n\r\nHello\r\n..hidden "
                                      "dot\r\n.\r\n");
    CHECK(c.send("DELE 1\r\n") == "+OK Message 1 deleted\r\n");
    // RFC 1939 5: a deleted message is not listed and cannot be referred to.
    CHECK(c.send("LIST\r\n") == "+OK 1 messages (" + std::to_string(kSecond.size()) +
                                    " octets)\r\n2 " + std::to_string(kSecond.size()) +
                                    "\r\n.\r\n");
    CHECK(c.send("RETR 1\r\n") == "-ERR Message is deleted\r\n");
    CHECK(c.send("DELE 1\r\n") == "-ERR Message is deleted\r\n");
    CHECK(c.send("NOOP\r\n") == "+OK\r\n");
    CHECK(c.send("QUIT\r\n") == "+OK Logging out, 1 messages deleted\r\n");
    CHECK(c.session.wants_close());
    CHECK(f.uids() == std::vector<std::uint32_t>{2});
}

TEST_CASE("RFC 1939 7: TOP sends the header, the blank line and n body lines", "[pop3]") {
    Fixture f;
    f.add(kSecond);
    Pop3Driver c(f.mail, f.locks);
    c.login();
    CHECK(c.send("TOP 1 0\r\n") == "+OK Top of message follows\r\nSubject: two\r\n\r\n.\r\n");
    CHECK(c.send("TOP 1 2\r\n") ==
          "+OK Top of message follows\r\nSubject: two\r\n\r\nline 1\r\nline 2\r\n.\r\n");
    // More lines than the body has: the whole message (RFC 1939 7).
    CHECK(c.send("TOP 1 18446744073709551615\r\n") ==
          "+OK Top of message follows\r\nSubject: two\r\n\r\nline 1\r\nline 2\r\nline 3\r\n.\r\n");
    CHECK(c.send("TOP 1 18446744073709551616\r\n") == "-ERR Invalid line count\r\n");
    CHECK(c.send("TOP 99999999999999999999 1\r\n") == "-ERR Invalid message number\r\n");
    CHECK(c.send("TOP 4294967297 1\r\n") == "-ERR No such message\r\n");
    CHECK(c.send("TOP 1\r\n") == "-ERR TOP needs a message number and a line count\r\n");
    CHECK(c.send("TOP 1 -1\r\n") == "-ERR Invalid line count\r\n");
    // TOP does not count as retrieval: no \Seen at QUIT.
    c.send("QUIT\r\n");
    CHECK((f.flags_of(1) & store::flag::kSeen) == 0);
}

TEST_CASE("RFC 1939 7: UIDL is UID and UIDVALIDITY in lower-case hex as Dovecot (docs/pop3.md)",
          "[pop3]") {
    CHECK(server::pop3::uidl(1, 0x5f3a0001) == "000000015f3a0001");
    CHECK(server::pop3::uidl(0xFFFFFFFF, 7) == "ffffffff00000007");
    Fixture f;
    f.add(kFirst);
    f.add(kSecond);
    const std::string validity = server::pop3::uidl(0, f.uidvalidity()).substr(8);
    Pop3Driver c(f.mail, f.locks);
    c.login();
    CHECK(c.send("UIDL\r\n") == "+OK Unique-ID listing follows\r\n1 00000001" + validity +
                                    "\r\n2 00000002" + validity + "\r\n.\r\n");
    CHECK(c.send("UIDL 2\r\n") == "+OK 2 00000002" + validity + "\r\n");
    CHECK(c.send("DELE 1\r\nUIDL\r\n") ==
          "+OK Message 1 deleted\r\n+OK Unique-ID listing "
          "follows\r\n2 00000002" +
              validity + "\r\n.\r\n");
}

TEST_CASE("RFC 1939 5: RSET unmarks and QUIT then deletes nothing", "[pop3]") {
    Fixture f;
    f.add(kFirst);
    f.add(kSecond);
    Pop3Driver c(f.mail, f.locks);
    c.login();
    CHECK(c.send("DELE 1\r\nDELE 2\r\nSTAT\r\nRSET\r\n") ==
          "+OK Message 1 deleted\r\n+OK Message 2 deleted\r\n+OK 0 0\r\n+OK 2 " +
              std::to_string(kFirst.size() + kSecond.size()) + "\r\n");
    CHECK(c.send("QUIT\r\n") == "+OK Logging out, 0 messages deleted\r\n");
    CHECK(f.uids() == std::vector<std::uint32_t>{1, 2});
}

TEST_CASE("RFC 1939 6: a connection that ends without QUIT deletes nothing", "[pop3]") {
    Fixture f;
    f.add(kFirst);
    {
        Pop3Driver c(f.mail, f.locks);
        c.login();
        c.send("RETR 1\r\nDELE 1\r\n");
        c.session.abandon();  // the transport's close
    }
    CHECK(f.uids() == std::vector<std::uint32_t>{1});
    CHECK((f.flags_of(1) & store::flag::kSeen) == 0);
}

TEST_CASE("UPDATE: the Seen flag for RETR and the deletions in one commit (docs/pop3.md)",
          "[pop3]") {
    Fixture f;
    f.add(kFirst);
    f.add(kSecond);
    f.add(kFirst);
    Pop3Driver c(f.mail, f.locks);
    c.login();
    c.send("RETR 1\r\nRETR 2\r\nDELE 2\r\nTOP 3 1\r\n");
    const std::uint64_t before = f.store().status(f.inbox()).highestmodseq;
    CHECK(c.send("QUIT\r\n") == "+OK Logging out, 1 messages deleted\r\n");
    CHECK(f.uids() == std::vector<std::uint32_t>{1, 3});
    CHECK((f.flags_of(1) & store::flag::kSeen) != 0);
    CHECK((f.flags_of(3) & store::flag::kSeen) == 0);
    // One flag change and one expunge: two modseqs, in one transaction.
    CHECK(f.store().status(f.inbox()).highestmodseq == before + 2);
}

TEST_CASE("RFC 2449 5: CAPA before and after login, with and without TLS", "[pop3]") {
    Fixture f;
    SECTION("plaintext from an untrusted address: no USER, STLS offered") {
        Pop3Driver c(f.mail, f.locks, {.loopback = false});
        c.greeting();
        CHECK(c.send("CAPA\r\n") ==
              "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
              "AUTH-RESP-CODE\r\nPIPELINING\r\nSTLS\r\nEXPIRE NEVER\r\nLOGIN-DELAY 0\r\n"
              "IMPLEMENTATION imapd\r\n.\r\n");
        // RFC 2595 4 / RFC 3206 [AUTH]: no password in clear.
        CHECK(c.send("USER alice\r\n") ==
              "-ERR [AUTH] Plaintext authentication is not allowed without TLS\r\n");
    }
    SECTION("over TLS: USER and SASL, no STLS") {
        Pop3Driver c(f.mail, f.locks, {.tls = true});
        c.greeting();
        CHECK(c.send("capa\r\n") ==
              "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
              "AUTH-RESP-CODE\r\nPIPELINING\r\nUSER\r\nSASL PLAIN LOGIN\r\nEXPIRE NEVER\r\n"
              "LOGIN-DELAY 0\r\nIMPLEMENTATION imapd\r\n.\r\n");
    }
    SECTION("without a certificate: no STLS") {
        Pop3Driver c(f.mail, f.locks, {.loopback = true, .starttls_available = false});
        c.greeting();
        CHECK(c.send("CAPA\r\n").find("STLS") == std::string::npos);
        CHECK(c.send("STLS\r\n") == "-ERR TLS is not available\r\n");
    }
    SECTION("in TRANSACTION: no USER, SASL or STLS") {
        Pop3Driver c(f.mail, f.locks);
        c.login();
        CHECK(c.send("CAPA\r\n") ==
              "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
              "AUTH-RESP-CODE\r\nPIPELINING\r\nEXPIRE NEVER\r\nLOGIN-DELAY 0\r\n"
              "IMPLEMENTATION imapd\r\n.\r\n");
    }
}

TEST_CASE("RFC 2595 4: STLS drops what was pipelined behind it (CVE-2011-0411)", "[pop3]") {
    Fixture f;
    Pop3Driver c(f.mail, f.locks, {.loopback = false});
    c.greeting();
    CHECK(c.send("STLS\r\nUSER alice\r\nPASS secret\r\n") == "+OK Begin TLS negotiation now\r\n");
    CHECK(c.session.starttls_requested());
    CHECK(c.send("CAPA\r\n").empty());  // nothing is read until TLS is up
    c.session.tls_started();
    CHECK(c.send("STLS\r\n") == "-ERR Already using TLS\r\n");
    CHECK(c.send("USER alice\r\nPASS secret\r\n") == "+OK Send your password\r\n+OK Logged in\r\n");
}

TEST_CASE("RFC 3206 4: a wrong password is -ERR [AUTH], and USER must come again", "[pop3]") {
    Fixture f;
    Pop3Driver c(f.mail, f.locks);
    c.greeting();
    CHECK(c.send("USER alice\r\nPASS wrong\r\n") ==
          "+OK Send your password\r\n-ERR [AUTH] Authentication failed\r\n");
    CHECK(c.send("PASS secret\r\n") == "-ERR USER first\r\n");
    c.auth.forced = server::AuthResult::Unavailable;
    CHECK(c.send("USER alice\r\nPASS secret\r\n") ==
          "+OK Send your password\r\n-ERR [SYS/TEMP] Authentication is temporarily unavailable, "
          "try again later\r\n");
    CHECK(c.session.state() == server::SessionState::NotAuthenticated);
}

TEST_CASE("PASS takes the rest of the line: a password with spaces", "[pop3]") {
    Fixture f;
    Pop3Driver c(f.mail, f.locks);
    c.auth.users["alice"] = "two words ";
    c.greeting();
    CHECK(c.send("USER alice\r\nPASS two words \r\n") ==
          "+OK Send your password\r\n+OK Logged in\r\n");
}

TEST_CASE("A password check answered later: pipelined commands wait for it", "[pop3]") {
    Fixture f;
    f.add(kFirst);
    Pop3Driver c(f.mail, f.locks);
    c.auth.deferred = true;
    c.greeting();
    CHECK(c.send("USER alice\r\nPASS secret\r\nSTAT\r\n") == "+OK Send your password\r\n");
    CHECK(c.session.waiting_on_server());
    CHECK(c.auth.answer_pending() == 1);
    CHECK(test::drain(c.session.output()) ==
          "+OK Logged in\r\n+OK 1 " + std::to_string(kFirst.size()) + "\r\n");
}

TEST_CASE("RFC 1939 8: a second POP3 session of the user gets -ERR [IN-USE]", "[pop3]") {
    Fixture f;
    f.add(kFirst);
    auto first = std::make_unique<Pop3Driver>(f.mail, f.locks);
    first->login();
    CHECK(first->session.holds_maildrop_lock());
    Pop3Driver second(f.mail, f.locks);
    second.greeting();
    // RFC 2449 8.1.1 IN-USE.
    CHECK(second.send("USER alice\r\nPASS secret\r\n") ==
          "+OK Send your password\r\n-ERR [IN-USE] Mailbox is locked by another POP3 "
          "session\r\n");
    CHECK(second.session.state() == server::SessionState::NotAuthenticated);
    SECTION("released by QUIT") {
        first->send("QUIT\r\n");
    }
    SECTION("released when the connection goes without QUIT") {
        first.reset();
    }
    CHECK(second.send("USER alice\r\nPASS secret\r\n") ==
          "+OK Send your password\r\n+OK Logged in\r\n");
}

TEST_CASE("RFC 1939 8: IMAP sessions of the user are not locked out", "[pop3]") {
    Fixture f;
    f.add(kFirst);
    Pop3Driver pop(f.mail, f.locks);
    pop.login();
    test::SessionDriver imap(f.mail);
    imap.login();
    CHECK(imap.send("a SELECT INBOX\r\n").find("a OK [READ-WRITE]") != std::string::npos);
    // POP3's deletion is an IMAP EXPUNGE after QUIT.
    pop.send("DELE 1\r\nQUIT\r\n");
    CHECK(imap.send("b NOOP\r\n") == "* 1 EXPUNGE\r\n* 0 RECENT\r\nb OK NOOP completed\r\n");
}

TEST_CASE("The snapshot: a message IMAP expunged after login is -ERR on RETR", "[pop3]") {
    Fixture f;
    f.add(kFirst);
    f.add(kSecond);
    Pop3Driver c(f.mail, f.locks);
    c.login();
    const store::UidRange first{1, 1};
    f.store().store_flags(f.inbox(), std::span(&first, 1), store::FlagOp::Add,
                          {store::flag::kDeleted, {}});
    f.store().expunge(f.inbox());
    // The numbering and sizes stay those of the login (RFC 1939 6).
    CHECK(c.send("STAT\r\n") == "+OK 2 " + std::to_string(kFirst.size() + kSecond.size()) + "\r\n");
    CHECK(c.send("RETR 1\r\n") == "-ERR Message was removed by another session\r\n");
    CHECK(c.send("TOP 1 0\r\n") == "-ERR Message was removed by another session\r\n");
    CHECK(c.send("RETR 2\r\n").rfind("+OK ", 0) == 0);
    CHECK(c.send("DELE 1\r\nQUIT\r\n") ==
          "+OK Message 1 deleted\r\n+OK Logging out, 0 messages deleted\r\n");
}

TEST_CASE("Messages IMAP marked Deleted are listed (as Dovecot)", "[pop3]") {
    Fixture f;
    f.add(kFirst, store::flag::kDeleted);
    Pop3Driver c(f.mail, f.locks);
    c.login();
    CHECK(c.send("STAT\r\n") == "+OK 1 " + std::to_string(kFirst.size()) + "\r\n");
}

TEST_CASE("RFC 1939 3: bare LF goes out as CRLF and a last line gets its CRLF", "[pop3]") {
    Fixture f;
    f.add("Subject: lf\n\nbody\n.dot");
    Pop3Driver c(f.mail, f.locks);
    c.login();
    const std::string reply = c.send("RETR 1\r\n");
    CHECK(reply.substr(reply.find("\r\n") + 2) == "Subject: lf\r\n\r\nbody\r\n..dot\r\n.\r\n");
    CHECK(c.send("TOP 1 0\r\n") == "+OK Top of message follows\r\nSubject: lf\r\n\r\n.\r\n");
}

TEST_CASE("RFC 1939 3: dot-stuffing across the store's read chunks", "[pop3]") {
    Fixture f;
    // Lines whose first byte falls on a chunk boundary, and a CRLF split
    // across one.
    std::string message = "Subject: big\r\n\r\n";
    message += std::string(server::pop3::Pop3Session::kOutputHighWater, 'x');  // no line end
    while (message.size() % limits::pop3::kReadChunk != limits::pop3::kReadChunk - 1)
        message += 'y';
    message += "\r\n.a\r\n";  // CR ends a chunk; LF starts the next
    message += std::string(limits::pop3::kReadChunk - 5, 'z') + "\r\n.b\r\n";
    f.add(message);
    Pop3Driver c(f.mail, f.locks);
    c.login();
    c.session.receive("RETR 1\r\n");
    std::string got;
    // The transport's loop: take the output, resume while paused.
    for (int rounds = 0; rounds < 100; ++rounds) {
        got += test::drain(c.session.output());
        if (!c.session.input_paused()) break;
        c.session.resume();
    }
    std::string expected = message;
    for (std::size_t at = expected.find("\r\n."); at != std::string::npos;
         at = expected.find("\r\n.", at + 4))
        expected.insert(at + 2, ".");
    CHECK(got == "+OK " + std::to_string(message.size()) + " octets\r\n" + expected + ".\r\n");
}

TEST_CASE("RFC 2449 6.6 PIPELINING: commands in one write are answered in order", "[pop3]") {
    Fixture f;
    f.add(kFirst);
    Pop3Driver c(f.mail, f.locks);
    c.greeting();
    const std::string reply =
        c.send("USER alice\r\nPASS secret\r\nSTAT\r\nLIST 1\r\nNOOP\r\nQUIT\r\n");
    CHECK(reply == "+OK Send your password\r\n+OK Logged in\r\n+OK 1 " +
                       std::to_string(kFirst.size()) + "\r\n+OK 1 " +
                       std::to_string(kFirst.size()) +
                       "\r\n+OK\r\n+OK Logging out, 0 messages deleted\r\n");
    // The same bytes one at a time give the same answer.
    Fixture g;
    g.add(kFirst);
    Pop3Driver d(g.mail, g.locks);
    d.greeting();
    CHECK(d.send_bytewise("USER alice\r\nPASS secret\r\nSTAT\r\nLIST 1\r\nNOOP\r\nQUIT\r\n") ==
          reply);
}

TEST_CASE("RFC 1939 3: commands are case-insensitive, arguments exact", "[pop3]") {
    Fixture f;
    f.add(kFirst);
    Pop3Driver c(f.mail, f.locks);
    c.greeting();
    CHECK(c.send("user alice\r\npAsS secret\r\nsTaT\r\n") ==
          "+OK Send your password\r\n+OK Logged in\r\n+OK 1 " + std::to_string(kFirst.size()) +
              "\r\n");
    CHECK(c.send("LIST  1\r\n") == "-ERR Invalid message number\r\n");
    CHECK(c.send("STAT 1\r\n") == "-ERR STAT takes no arguments\r\n");
}

TEST_CASE("Wrong state and unknown commands are -ERR and the session goes on", "[pop3]") {
    Fixture f;
    Pop3Driver c(f.mail, f.locks);
    c.greeting();
    CHECK(c.send("STAT\r\n") == "-ERR Not logged in\r\n");
    CHECK(c.send("XYZZY\r\n") == "-ERR Unknown command\r\n");
    CHECK(c.send("\r\n") == "-ERR Empty command\r\n");
    CHECK(c.send("APOP alice 0123\r\n") == "-ERR Unknown command\r\n");
    CHECK(c.send("QUIT\r\n") == "+OK Logging out\r\n");
}

TEST_CASE("RFC 2449 4: a command line is at most 255 octets with its CRLF", "[pop3][hostile]") {
    Fixture f;
    Pop3Driver c(f.mail, f.locks);
    c.greeting();
    const std::string longest = "NOOP" + std::string(255 - 4 - 2, 'x');  // + CRLF = 255
    CHECK(c.send(longest + "\r\n") == "-ERR Unknown command\r\n");
    CHECK(c.send(longest + "x\r\n") == "-ERR Command line too long\r\n");
    // A megabyte without a line end: answered once, never buffered, and the
    // next line is a command again.
    CHECK(c.send(std::string(1 << 20, 'a')) == "-ERR Command line too long\r\n");
    CHECK(c.send(std::string(1 << 20, 'a') + "\r\nCAPA\r\n")
              .starts_with("+OK Capability list follows\r\n"));
}

TEST_CASE("Too many refused commands close the session", "[pop3][hostile]") {
    Fixture f;
    Pop3Driver c(f.mail, f.locks);
    c.greeting();
    std::string flood;
    for (std::size_t i = 0; i < limits::pop3::kMaxErrors + 5; ++i)
        flood += "BOGUS\r\n";
    std::string expected;
    for (std::size_t i = 0; i < limits::pop3::kMaxErrors; ++i)
        expected += "-ERR Unknown command\r\n";
    expected += "-ERR Too many invalid commands, closing\r\n";
    CHECK(c.send(flood) == expected);
    CHECK(c.session.wants_close());
}

TEST_CASE("A pipelined flood stops at the output high-water mark", "[pop3][hostile]") {
    Fixture f;
    f.add(kFirst);
    Pop3Driver c(f.mail, f.locks);
    c.login();
    std::string flood;
    for (int i = 0; i < 100'000; ++i)
        flood += "LIST 1\r\n";
    c.session.receive(flood);
    // Produced up to the mark, then paused with the rest unread.
    CHECK(c.session.input_paused());
    CHECK(c.session.output().size() < Pop3Session::kOutputHighWater + 1024);
    std::size_t answers = 0;
    for (int rounds = 0; rounds < 1000 && answers < 100'000; ++rounds) {
        const std::string out = test::drain(c.session.output());
        for (std::size_t at = out.find("+OK"); at != std::string::npos;
             at = out.find("+OK", at + 1))
            ++answers;
        c.session.resume();
    }
    CHECK(answers == 100'000);
}

TEST_CASE("The turn budget: a burst yields after max_commands", "[pop3]") {
    Fixture f;
    server::SessionContext context = test::make_context({.loopback = true});
    context.turn_budget = {.max_commands = 4, .max_time = std::chrono::seconds(10)};
    test::FakeAuthenticator auth;
    Pop3Session session(context, auth, &f.mail, f.locks);
    session.greeting();
    test::drain(session.output());
    session.receive("NOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\nNOOP\r\n");
    CHECK(session.yielded());
    std::string four;
    for (int i = 0; i < 4; ++i)
        four += "-ERR Not logged in\r\n";
    CHECK(test::drain(session.output()) == four);
    session.resume();
    CHECK_FALSE(session.yielded());
    CHECK(test::drain(session.output()) == "-ERR Not logged in\r\n-ERR Not logged in\r\n");
}

// RFC 5034 AUTH over the SASL module (server/auth/sasl.h).
namespace {
std::string b64(std::string_view bytes) {
    return server::sasl::encode_base64(bytes);
}
}  // namespace

TEST_CASE("RFC 5034 4: AUTH PLAIN with an initial response, and with a challenge", "[pop3]") {
    Fixture f;
    f.add(kFirst);
    SECTION("initial response") {
        Pop3Driver c(f.mail, f.locks);
        c.greeting();
        CHECK(c.send("AUTH PLAIN " + b64(std::string("\0alice\0secret", 13)) + "\r\nSTAT\r\n") ==
              "+OK Logged in\r\n+OK 1 " + std::to_string(kFirst.size()) + "\r\n");
    }
    SECTION("an empty challenge first, then the response (pipelined)") {
        Pop3Driver c(f.mail, f.locks);
        c.greeting();
        CHECK(c.send("auth plain\r\n" + b64(std::string("alice\0alice\0secret", 18)) + "\r\n") ==
              "+ \r\n+OK Logged in\r\n");
    }
    SECTION("\"=\" is an empty initial response: PLAIN refuses it as malformed") {
        Pop3Driver c(f.mail, f.locks);
        c.greeting();
        const std::string reply = c.send("AUTH PLAIN =\r\n");
        CHECK(reply.starts_with("-ERR "));
        CHECK(c.session.state() == server::SessionState::NotAuthenticated);
    }
}

TEST_CASE("RFC 5034 4: AUTH LOGIN, cancel, bad base64, wrong password", "[pop3]") {
    Fixture f;
    Pop3Driver c(f.mail, f.locks);
    c.greeting();
    CHECK(c.send("AUTH LOGIN\r\n") == "+ " + b64("Username:") + "\r\n");
    CHECK(c.send("*\r\n") == "-ERR Authentication cancelled\r\n");
    CHECK(c.send("AUTH LOGIN\r\n!!!\r\n") ==
          "+ " + b64("Username:") + "\r\n-ERR Invalid base64 data\r\n");
    CHECK(c.send("AUTH LOGIN " + b64("alice") + "\r\n" + b64("wrong") + "\r\n") ==
          "+ " + b64("Password:") + "\r\n-ERR [AUTH] Authentication failed\r\n");
    CHECK(c.send("AUTH LOGIN " + b64("alice") + "\r\n" + b64("secret") + "\r\n") ==
          "+ " + b64("Password:") + "\r\n+OK Logged in\r\n");
}

TEST_CASE("RFC 5034: AUTH refusals: unknown mechanism, plaintext, another identity", "[pop3]") {
    Fixture f;
    SECTION("the mechanism list and an unknown mechanism") {
        Pop3Driver c(f.mail, f.locks);
        c.greeting();
        CHECK(c.send("AUTH\r\n") == "+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n");
        CHECK(c.send("AUTH X-UNKNOWN\r\n") == "-ERR Unsupported authentication mechanism\r\n");
    }
    SECTION("plaintext without TLS from an untrusted address") {
        Pop3Driver c(f.mail, f.locks, {.loopback = false});
        c.greeting();
        CHECK(c.send("AUTH PLAIN " + b64(std::string("\0alice\0secret", 13)) + "\r\n") ==
              "-ERR [AUTH] Plaintext authentication is not allowed without TLS\r\n");
    }
    SECTION("acting as another user") {
        Pop3Driver c(f.mail, f.locks);
        c.greeting();
        CHECK(c.send("AUTH PLAIN " + b64(std::string("bob\0alice\0secret", 16)) + "\r\n") ==
              "-ERR [AUTH] Not allowed to act as another user\r\n");
        CHECK(c.session.state() == server::SessionState::NotAuthenticated);
    }
    SECTION("an AUTH line past the limit") {
        Pop3Driver c(f.mail, f.locks);
        c.greeting();
        CHECK(c.send("AUTH PLAIN\r\n" + std::string(limits::pop3::kMaxAuthLine, 'A') +
                     "\r\nNOOP\r\n") ==
              "+ \r\n-ERR Authentication line too long\r\n-ERR Not logged in\r\n");
    }
}
