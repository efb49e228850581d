// Reads beside the strand (docs/architecture.md "Reads beside the strand"):
// a user's reader connections (UserMail::lease_reader, ReaderScope) and a
// Session whose read-only commands run "away" through them, driven here
// step by step: the test plays the server's worker and strand, running the
// tasks SessionContext::beside_strand hands it in the order the server
// would.
#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "server/imap/session.h"
#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "support/session_driver.h"
#include "support/temp_dir.h"

namespace {

namespace store = imap::store;
namespace server = imap::server;
using imap::test::drain;

store::OpenOptions user_options(const store::DataDir& data) {
    store::OpenOptions options = data.user_options("alice");
    // No fsync per commit: these tests append hundreds of messages.
    options.full_sync = false;
    return options;
}

// The server's mail of one user on disk, readers enabled as the server does
// when it has workers.
class MailWithReaders : public server::MailAccess {
  public:
    explicit MailWithReaders(const store::DataDir& data)
        : mail(std::make_shared<server::UserMail>("alice", user_options(data))) {
        mail->enable_readers(user_options(data));
    }
    std::shared_ptr<server::UserMail> open(std::string_view) override { return mail; }
    std::shared_ptr<server::UserMail> mail;
};

// A session whose reads go away and come home through queues the test runs.
struct ReadingSession {
    explicit ReadingSession(server::MailAccess& mail) : session(context(), auth, &mail) {
        session.greeting();
        drain(session.output());
        auth.users["alice"] = "secret";
        session.receive("L LOGIN alice secret\r\n");
        REQUIRE(drain(session.output()).find("L OK ") != std::string::npos);
    }

    server::SessionContext context() {
        server::SessionContext c = imap::test::make_context({.loopback = true});
        c.beside_strand.away = [this](std::function<void()> task) {
            away.push_back(std::move(task));
        };
        c.beside_strand.home = [this](std::function<void()> task) {
            home.push_back(std::move(task));
        };
        return c;
    }

    // Runs what went away (on "a worker"), then what came home (on "the
    // strand"); returns the output of each half.
    std::string run_away() {
        REQUIRE(away.size() == 1);
        auto task = std::move(away.front());
        away.pop_front();
        task();
        return drain_allowed();
    }
    std::string run_home() {
        REQUIRE(home.size() == 1);
        auto task = std::move(home.front());
        home.pop_front();
        task();
        return drain_allowed();
    }
    // What the host may publish now: nothing while the session holds it.
    std::string drain_allowed() {
        if (session.holds_output()) return {};
        return drain(session.output());
    }
    std::string send(std::string_view bytes) {
        session.receive(bytes);
        return drain_allowed();
    }

    imap::test::FakeAuthenticator auth;
    std::deque<std::function<void()>> away;
    std::deque<std::function<void()>> home;
    server::Session session;
};

std::string message(int n, std::size_t subject_bytes = 10) {
    return "From: a@example.org\r\nSubject: " + std::string(subject_bytes, 'x') + " " +
           std::to_string(n) + "\r\nMessage-ID: <" + std::to_string(n) +
           "@example.org>\r\n\r\nbody\r\n";
}

void append(server::UserMail& mail, int count, std::size_t subject_bytes = 10) {
    const store::MailboxInfo inbox = mail.store().open_mailbox("INBOX");
    for (int n = 1; n <= count; ++n) {
        const std::string bytes = message(n, subject_bytes);
        mail.store().append(inbox.id, store::AppendRequest{bytes, 1700000000, 0, {}});
    }
}

}  // namespace

TEST_CASE("UserMail readers: lent up to kMaxReaders, reused, read-only, per thread",
          "[user_mail][readers]") {
    imap::test::UniqueTempDir dir("imapd-readers");
    const store::DataDir data(dir.path);
    server::UserMail mail("alice", user_options(data));
    // Off until enabled (one thread, tests, in-memory stores).
    CHECK_FALSE(mail.lease_reader().has_value());

    mail.enable_readers(user_options(data));
    auto first = mail.lease_reader();
    auto second = mail.lease_reader();
    REQUIRE(first.has_value());
    REQUIRE(second.has_value());
    static_assert(server::UserMail::kMaxReaders == 2);
    CHECK_FALSE(mail.lease_reader().has_value());  // both lent: the strand reads
    CHECK(mail.readers_open() == 2);
    first.reset();  // back in the pool
    auto again = mail.lease_reader();
    REQUIRE(again.has_value());
    CHECK(mail.readers_open() == 2);  // reused, not a third connection

    // A reader sees what the writer committed before it began to read.
    mail.store().create_mailbox("Work");
    CHECK(again->store().find_mailbox("Work").has_value());
    // It cannot write (PRAGMA query_only), and the writer is unharmed.
    CHECK_THROWS(again->store().create_mailbox("Other"));
    CHECK_FALSE(mail.store().find_mailbox("Other").has_value());
    mail.store().create_mailbox("Other");

    // store() is the reader inside a scope on this thread only.
    store::MailStore& writer = mail.store();
    {
        server::UserMail::ReaderScope scope(mail, again->store());
        CHECK(&mail.store() == &again->store());
        std::thread other([&] { CHECK(&mail.store() == &writer); });
        other.join();
    }
    CHECK(&mail.store() == &writer);
}

TEST_CASE("Reads beside the strand: STATUS runs away, its tagged line comes from the strand",
          "[session][readers]") {
    imap::test::UniqueTempDir dir("imapd-readers");
    const store::DataDir data(dir.path);
    MailWithReaders mail(data);
    append(*mail.mail, 2);
    ReadingSession s(mail);

    // RFC 3501 6.3.10. Pipelined behind it, NOOP waits for it to end.
    CHECK(s.send("a STATUS INBOX (MESSAGES UIDNEXT)\r\nb NOOP\r\n").empty());
    CHECK(s.home.empty());
    CHECK(s.run_away().empty());  // held: nothing goes out from a worker
    CHECK(s.session.holds_output());
    CHECK(mail.mail->readers_open() == 1);
    CHECK(s.run_home() ==
          "* STATUS INBOX (MESSAGES 2 UIDNEXT 3)\r\n"
          "a OK STATUS completed\r\n"
          "b OK NOOP completed\r\n");
    CHECK_FALSE(s.session.holds_output());

    // LIST and LSUB go away too; a command that writes never does.
    CHECK(s.send("c LIST \"\" INBOX\r\n").empty());
    s.run_away();
    // \Marked: messages arrived since the mailbox was last selected.
    CHECK(s.run_home() ==
          "* LIST (\\HasNoChildren \\Marked) \"/\" INBOX\r\nc OK LIST completed\r\n");
    // With NOTIFY on (RFC 5465), other sessions' commits reach this
    // session's notifier from the strand at any time: it reads there.
    CHECK(s.send("n NOTIFY SET (personal (MessageNew MessageExpunge))\r\n") ==
          "n OK NOTIFY completed\r\n");
    CHECK(s.send("e STATUS INBOX (MESSAGES)\r\n") ==
          "* STATUS INBOX (MESSAGES 2)\r\ne OK STATUS completed\r\n");
    CHECK(s.away.empty());
    CHECK(s.send("o NOTIFY NONE\r\n") == "o OK NOTIFY completed\r\n");
    const std::string created = s.send("d CREATE Work\r\n");
    CHECK(created == "d OK [MAILBOXID (" + mail.mail->store().open_mailbox("Work").object_id +
                         ")] CREATE completed\r\n");
    CHECK(s.away.empty());
}

TEST_CASE("Reads beside the strand: FETCH of metadata runs away, a section that sets Seen does not",
          "[session][readers]") {
    imap::test::UniqueTempDir dir("imapd-readers");
    const store::DataDir data(dir.path);
    MailWithReaders mail(data);
    append(*mail.mail, 1);
    ReadingSession s(mail);
    REQUIRE(s.send("s SELECT INBOX\r\n").ends_with("s OK [READ-WRITE] SELECT completed\r\n"));

    // BODY[...] sets \Seen (RFC 3501 6.4.5), a write: on the strand, at once.
    CHECK(s.send("a FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])\r\n") ==
          "* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[HEADER.FIELDS (SUBJECT)] {25}\r\n"
          "Subject: xxxxxxxxxx 1\r\n\r\n)\r\n"
          "a OK FETCH completed\r\n");
    CHECK(s.away.empty());

    // Metadata alone goes away. Another session of the user changes the
    // message's flags while it is away: the FETCH shows what its reader
    // saw, and the update follows from the strand before the tagged line
    // (RFC 3501 7.4.1, RFC 2180 4.2: the view hears of it at command end).
    CHECK(s.send("b FETCH 1 (UID FLAGS)\r\n").empty());
    s.run_away();
    imap::test::SessionDriver other(mail);
    other.login();
    REQUIRE(other.send("o SELECT INBOX\r\n").ends_with("o OK [READ-WRITE] SELECT completed\r\n"));
    REQUIRE(other.send("p STORE 1 +FLAGS (\\Flagged)\r\n") ==
            "* 1 FETCH (FLAGS (\\Flagged \\Seen))\r\np OK STORE completed\r\n");
    CHECK(s.run_home() ==
          "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))\r\n"
          "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\n"
          "b OK FETCH completed\r\n");
}

TEST_CASE("Reads beside the strand: a FETCH past the high-water mark goes on from the strand",
          "[session][readers]") {
    imap::test::UniqueTempDir dir("imapd-readers");
    const store::DataDir data(dir.path);
    MailWithReaders mail(data);
    // About 1 KB of ENVELOPE each: 400 of them are past 256 KiB.
    constexpr int kMessages = 400;
    append(*mail.mail, kMessages, 1000);
    ReadingSession s(mail);
    REQUIRE(s.send("s EXAMINE INBOX\r\n").ends_with("s OK [READ-ONLY] EXAMINE completed\r\n"));

    CHECK(s.send("f FETCH 1:* (UID ENVELOPE)\r\nn NOOP\r\n").empty());
    s.run_away();
    // It stopped at the mark: the reader is back, the rest is the strand's.
    CHECK(s.session.output().size() >= server::Session::kOutputHighWater);
    auto reader = mail.mail->lease_reader();
    CHECK(reader.has_value());
    reader.reset();
    std::string out = s.run_home();
    CHECK(out.find("f OK") == std::string::npos);
    CHECK(s.away.empty());
    for (int turn = 0; turn < 100 && out.find("n OK NOOP completed\r\n") == std::string::npos;
         ++turn) {
        s.session.resume();
        out += s.drain_allowed();
    }
    CHECK(s.away.empty());  // the NOOP, and the FETCH's rest, ran on the strand
    std::size_t responses = 0;
    for (std::size_t at = out.find(" FETCH (UID "); at != std::string::npos;
         at = out.find(" FETCH (UID ", at + 1))
        ++responses;
    CHECK(responses == kMessages);
    CHECK(out.find("* 400 FETCH (UID 400 ENVELOPE") != std::string::npos);
    CHECK(out.ends_with("f OK FETCH completed\r\nn OK NOOP completed\r\n"));
}

TEST_CASE(
    "Reads beside the strand: BODY.PEEK goes away, a body too big to write whole there does not",
    "[session][readers]") {
    imap::test::UniqueTempDir dir("imapd-readers");
    const store::DataDir data(dir.path);
    MailWithReaders mail(data);
    append(*mail.mail, 1);
    // UID 2: past FetchJob::kBodyChunk, so it is not written beside.
    const std::string big = "Subject: big\r\n\r\n" + std::string(300 * 1024, 'b') + "\r\n";
    const store::MailboxInfo inbox = mail.mail->store().open_mailbox("INBOX");
    mail.mail->store().append(inbox.id, store::AppendRequest{big, 1700000000, 0, {}});
    const std::string small = message(3);
    mail.mail->store().append(inbox.id, store::AppendRequest{small, 1700000000, 0, {}});
    ReadingSession s(mail);
    REQUIRE(s.send("s SELECT INBOX\r\n").ends_with("s OK [READ-WRITE] SELECT completed\r\n"));

    // RFC 3501 6.4.5: BODY.PEEK[] and RFC822.HEADER never set \Seen, so
    // they read beside the strand.
    CHECK(s.send("a UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n").empty());
    CHECK(s.run_away().empty());
    CHECK(
        s.run_home() ==
        "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {25}\r\nSubject: xxxxxxxxxx 1\r\n\r\n)\r\n"
        "a OK UID FETCH completed\r\n");
    CHECK(s.send("h FETCH 1 (RFC822.HEADER)\r\n").empty());
    s.run_away();
    CHECK(s.run_home().starts_with("* 1 FETCH (RFC822.HEADER {"));

    // 1:* stops before UID 2: the first message was written away, the big
    // one and the rest come from the strand, in order, with no \Seen set.
    CHECK(s.send("b FETCH 1:* (UID BODY.PEEK[])\r\n").empty());
    s.run_away();
    CHECK(s.session.output().size() < 1024);  // message 1 alone, held
    std::string out = s.run_home();
    CHECK(s.away.empty());
    for (int turn = 0; turn < 100 && !out.ends_with("b OK FETCH completed\r\n"); ++turn) {
        s.session.resume();
        out += s.drain_allowed();
    }
    const std::string expected = "* 1 FETCH (UID 1 BODY[] {" + std::to_string(message(1).size()) +
                                 "}\r\n" + message(1) + ")\r\n* 2 FETCH (UID 2 BODY[] {" +
                                 std::to_string(big.size()) + "}\r\n" + big +
                                 ")\r\n* 3 FETCH (UID 3 BODY[] {" + std::to_string(small.size()) +
                                 "}\r\n" + small + ")\r\nb OK FETCH completed\r\n";
    CHECK(out == expected);
    CHECK(s.send("f FETCH 1:3 FLAGS\r\n").empty());
    s.run_away();
    CHECK(s.run_home() ==
          "* 1 FETCH (FLAGS (\\Recent))\r\n* 2 FETCH (FLAGS (\\Recent))\r\n"
          "* 3 FETCH (FLAGS (\\Recent))\r\nf OK FETCH completed\r\n");

    // Expunged by another session after the FETCH went away and before its
    // reader began: the view still shows the message, and the reader reads
    // what the store keeps for it (RFC 2180 4.1.1), as the strand would,
    // and the EXPUNGE follows from the strand (RFC 3501 7.4.1).
    CHECK(s.send("c UID FETCH 3 (BODY.PEEK[TEXT])\r\n").empty());
    imap::test::SessionDriver other(mail);
    other.login();
    REQUIRE(other.send("o SELECT INBOX\r\n").ends_with("o OK [READ-WRITE] SELECT completed\r\n"));
    REQUIRE(other.send("p UID STORE 3 +FLAGS.SILENT (\\Deleted)\r\n") ==
            "p OK UID STORE completed\r\n");
    REQUIRE(other.send("q EXPUNGE\r\n") == "* 3 EXPUNGE\r\nq OK EXPUNGE completed\r\n");
    s.run_away();
    CHECK(s.run_home() ==
          "* 3 FETCH (UID 3 BODY[TEXT] {6}\r\nbody\r\n)\r\n"
          "* 3 EXPUNGE\r\n* 2 RECENT\r\n"
          "c OK [EXPUNGEISSUED] Some messages were already expunged\r\n");
}
