// REPLACE and UID REPLACE (RFC 8508) through whole sessions: the RFC's
// examples, the responses byte for byte, the error cases of section 3 (and
// of APPEND, which REPLACE shares, 3.4), atomicity, and what another session
// of the same user sees.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/hostile_bound.h"
#include "support/session_driver.h"

namespace {

using imap::test::SessionDriver;
namespace store = imap::store;

// RFC 8508 3.2's new draft (312 octets there; here with CRLF line ends).
const std::string kDraft =
    "Date: Thu, 1 Jan 2015 00:05:00 -0500 (EST)\r\n"
    "From: Fritz Schmidt <fritz.ze@example.org>\r\n"
    "Subject: happy new year !!\r\n"
    "To: miss.mitzy@example.org\r\n"
    "Message-Id: <B238822388-0100000@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    "\r\n"
    "Just saw the best fireworks show. Wish you were here.\r\n";

std::string literal(const std::string& bytes) {
    return "{" + std::to_string(bytes.size()) + "}\r\n";
}

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};
    store::MailStore& store() { return mail.open("alice")->store(); }
    store::MailboxInfo box(const std::string& name) { return store().open_mailbox(name); }
    // Messages 1..n in `mailbox`, "Subject: draft i", none \Recent.
    void fill(const std::string& mailbox, int n) {
        for (int i = 1; i <= n; ++i) {
            const std::string text = "Subject: draft " + std::to_string(i) + "\r\n\r\nbody\r\n";
            store::AppendRequest request;
            request.message = text;
            request.internal_date = 1700000000;
            store().append(box(mailbox).id, request);
        }
        store().claim_recent(box(mailbox).id);
    }
    std::string uidvalidity(const std::string& name) {
        return std::to_string(box(name).uidvalidity);
    }
};

struct Client {
    explicit Client(Server& server, const std::string& select = "SELECT Drafts") : d(server.mail) {
        d.login();
        d.send("s " + select + "\r\n");
    }
    std::string send(const std::string& line) { return d.send(line); }
    SessionDriver d;
};

}  // namespace

TEST_CASE("RFC 8508 3.2: REPLACE 4 Drafts, the RFC's example", "[session][replace][rfc8508]") {
    Server server;
    server.fill("Drafts", 4);
    Client c(server);
    // RFC 8508 4.3: APPENDUID in an untagged OK before the EXPUNGE; the new
    // message's EXISTS (the target is the selected mailbox) after it.
    CHECK(c.send("A003 REPLACE 4 Drafts (\\Seen \\Draft) " + literal(kDraft) + kDraft + "\r\n") ==
          "+ Ready for literal data\r\n"
          "* OK [APPENDUID " +
              server.uidvalidity("Drafts") +
              " 5] Replacement Message ready\r\n"
              "* 4 EXPUNGE\r\n"
              "* 4 EXISTS\r\n"
              "* 1 RECENT\r\n"
              "A003 OK REPLACE completed\r\n");
    CHECK(c.send("f UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])\r\n") ==
          "* 1 FETCH (UID 1 FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {20}\r\nSubject: draft "
          "1\r\n\r\n)\r\n"
          "* 2 FETCH (UID 2 FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {20}\r\nSubject: draft "
          "2\r\n\r\n)\r\n"
          "* 3 FETCH (UID 3 FLAGS () BODY[HEADER.FIELDS (SUBJECT)] {20}\r\nSubject: draft "
          "3\r\n\r\n)\r\n"
          "* 4 FETCH (UID 5 FLAGS (\\Seen \\Draft \\Recent) BODY[HEADER.FIELDS (SUBJECT)] {30}\r\n"
          "Subject: happy new year !!\r\n\r\n)\r\n"
          "f OK UID FETCH completed\r\n");
}

TEST_CASE("RFC 8508 3.3: UID REPLACE 2000 Drafts, the RFC example, and into another mailbox",
          "[session][replace][rfc8508]") {
    Server server;
    server.fill("Drafts", 4);
    Client c(server);
    CHECK(c.send("A004 UID REPLACE 2 Drafts (\\Seen \\Draft) {" + std::to_string(kDraft.size()) +
                 "+}\r\n" + kDraft + "\r\n") == "* OK [APPENDUID " + server.uidvalidity("Drafts") +
                                                    " 5] Replacement Message ready\r\n"
                                                    "* 2 EXPUNGE\r\n"
                                                    "* 4 EXISTS\r\n"
                                                    "* 1 RECENT\r\n"
                                                    "A004 OK UID REPLACE completed\r\n");
    // RFC 8508 3.4: the target need not be the selected mailbox (a draft
    // replaced by its sent copy): no EXISTS here.
    CHECK(c.send("A005 UID REPLACE 5 Sent (\\Seen) {5+}\r\nsent!\r\n") ==
          "* OK [APPENDUID " + server.uidvalidity("Sent") +
              " 1] Replacement Message ready\r\n"
              "* 4 EXPUNGE\r\n"
              "* 0 RECENT\r\n"  // the replaced message was the \Recent one
              "A005 OK UID REPLACE completed\r\n");
    CHECK(c.send("u UID SEARCH ALL\r\n") == "* SEARCH 1 3 4\r\nu OK UID SEARCH completed\r\n");
    CHECK(server.store().uids(server.box("Sent").id) == std::vector<std::uint32_t>{1});
    // "*" is the last message.
    CHECK(c.send("A006 REPLACE * Sent {1+}\r\nx\r\n") == "* OK [APPENDUID " +
                                                             server.uidvalidity("Sent") +
                                                             " 2] Replacement Message ready\r\n"
                                                             "* 3 EXPUNGE\r\n"
                                                             "A006 OK REPLACE completed\r\n");
}

TEST_CASE("RFC 8508 3 and 3.4: REPLACE refusals change nothing", "[session][replace][rfc8508]") {
    Server server;
    server.fill("Drafts", 2);
    Client c(server);
    // RFC 3501 6.3.11 (as APPEND): a target that does not exist is NO
    // [TRYCREATE], and the message to replace stays.
    CHECK(c.send("a REPLACE 1 Nowhere {1+}\r\nx\r\n") ==
          "a NO [TRYCREATE] Mailbox does not exist\r\n");
    // RFC 3501 9: a message sequence number past EXISTS is BAD.
    CHECK(c.send("b REPLACE 3 Drafts {1+}\r\nx\r\n") ==
          "b BAD REPLACE: Message sequence number past the last message (RFC 3501 9)\r\n");
    // No message with that UID: nothing to replace.
    CHECK(c.send("c UID REPLACE 9 Drafts {1+}\r\nx\r\n") ==
          "c NO UID REPLACE: No message with that UID\r\n");
    // As APPEND: flags, an empty message.
    CHECK(c.send("d REPLACE 1 Drafts (\\Recent) {1+}\r\nx\r\n") ==
          "d BAD Invalid system flag \\Recent\r\n");
    CHECK(c.send("e REPLACE 1 Drafts {0+}\r\n\r\n") ==
          "e NO [CANNOT] Cannot save an empty message\r\n");
    // RFC 7889 4: a message over APPENDLIMIT is refused before "+".
    CHECK(c.send("f REPLACE 1 Drafts {67108865}\r\n") ==
          "f NO [TOOBIG] Message too large (at most 67108864 octets)\r\n");
    // RFC 8508 3.5: selected state only.
    SessionDriver unselected(server.mail);
    unselected.login();
    CHECK(unselected.send("g REPLACE 1 Drafts {1+}\r\nx\r\n") ==
          "g BAD REPLACE is not valid in the authenticated state\r\n");
    // A read-only (EXAMINE) mailbox cannot lose messages (RFC 3501 6.3.2).
    Client reader(server, "EXAMINE Drafts");
    CHECK(reader.send("h REPLACE 1 Drafts {1+}\r\nx\r\n") ==
          "h NO [CANNOT] The mailbox is read-only\r\n");
    CHECK(server.store().uids(server.box("Drafts").id) == std::vector<std::uint32_t>{1, 2});
    CHECK(c.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
}

TEST_CASE("RFC 8508 3.4: the append and the expunge are one transaction",
          "[session][replace][rfc8508]") {
    Server server;
    server.fill("Drafts", 2);
    Client a(server);
    Client b(server);
    // The store refuses the new message (too many keywords, NO [LIMIT]):
    // nothing is expunged.
    std::string keywords;
    for (std::size_t i = 0; i <= store::limits::kMaxKeywordsPerMessage; ++i)
        keywords += (i == 0 ? "k" : " k") + std::to_string(i);
    CHECK(
        a.send("k REPLACE 1 Drafts (" + keywords + ") {1+}\r\nx\r\n").starts_with("k NO [LIMIT] "));
    CHECK(server.store().uids(server.box("Drafts").id) == std::vector<std::uint32_t>{1, 2});
    // Another session expunges message 2; `a` has not heard of it: its
    // REPLACE finds it gone and appends nothing (RFC 2180 4.4.1, as MOVE).
    CHECK(b.send("x UID STORE 2 +FLAGS.SILENT (\\Deleted)\r\n") == "x OK UID STORE completed\r\n");
    CHECK(b.send("y EXPUNGE\r\n") == "* 2 EXPUNGE\r\ny OK EXPUNGE completed\r\n");
    // The pending EXPUNGE goes out before the tagged NO (RFC 3501 7.4.1: a
    // UID command may carry it).
    CHECK(a.send("r UID REPLACE 2 Sent {1+}\r\nx\r\n") ==
          "* 2 EXPUNGE\r\nr NO [EXPUNGEISSUED] The message to replace no longer exists\r\n");
    CHECK(server.store().uids(server.box("Sent").id).empty());
    CHECK(server.store().uids(server.box("Drafts").id) == std::vector<std::uint32_t>{1});
}

TEST_CASE("RFC 8508 3.4 and RFC 2180: another session sees the expunge and the new message",
          "[session][replace][rfc8508]") {
    Server server;
    server.fill("Drafts", 3);
    Client a(server);
    Client b(server);
    CHECK(a.send("r REPLACE 2 Drafts {5+}\r\nnew!!\r\n")
              .ends_with("* 2 EXPUNGE\r\n* 3 EXISTS\r\n* 1 RECENT\r\nr OK REPLACE completed\r\n"));
    // RFC 3501 7.4.1: the other session hears of the new message at its
    // next command (\Recent went to a), of the expunge only at one that may
    // send EXPUNGE: meanwhile message 2 is still the replaced one (RFC 2180
    // 4.1.1).
    CHECK(b.send("f FETCH 2 UID\r\n") ==
          "* 2 FETCH (UID 2)\r\n* 4 EXISTS\r\n* 0 RECENT\r\nf OK FETCH completed\r\n");
    CHECK(b.send("n NOOP\r\n") == "* 2 EXPUNGE\r\nn OK NOOP completed\r\n");
    CHECK(b.send("u UID SEARCH ALL\r\n") == "* SEARCH 1 3 4\r\nu OK UID SEARCH completed\r\n");
}

TEST_CASE("RFC 8508 4.5: with QRESYNC the replaced message is VANISHED, with HIGHESTMODSEQ",
          "[session][replace][qresync][rfc8508]") {
    Server server;
    server.fill("Drafts", 2);
    SessionDriver d(server.mail);
    d.login();
    CHECK(d.send("e ENABLE QRESYNC\r\n") == "* ENABLED QRESYNC\r\ne OK ENABLE completed\r\n");
    d.send("s SELECT Drafts\r\n");
    const std::uint64_t before = server.box("Drafts").highestmodseq;
    // The append takes one modseq, the expunge the next.
    CHECK(d.send("r UID REPLACE 1 Drafts {1+}\r\nx\r\n") ==
          "* OK [APPENDUID " + server.uidvalidity("Drafts") +
              " 3] Replacement Message ready\r\n"
              "* VANISHED 1\r\n"
              "* 2 EXISTS\r\n"
              "* 1 RECENT\r\n"
              "r OK [HIGHESTMODSEQ " +
              std::to_string(before + 2) + "] UID REPLACE completed\r\n");
}

TEST_CASE("Hostile: a pipelined flood of REPLACE stays one message at a time",
          "[session][replace][hostile][rfc8508]") {
    Server server;
    server.fill("Drafts", 3);
    Client c(server);
    // 2,000 pipelined REPLACEs of the last message, each with a small
    // literal: each runs as one transaction of one message, in order, and
    // the mailbox never holds more than it started with.
    constexpr int kFlood = 2000;
    std::string flood;
    for (int i = 0; i < kFlood; ++i)
        flood += "r" + std::to_string(i) + " REPLACE * Drafts {5+}\r\nflood\r\n";
    const auto started = std::chrono::steady_clock::now();
    const std::string out = c.send(flood);
    CHECK(std::chrono::steady_clock::now() - started < imap::test::kHostileTimeBound);
    CHECK(out.ends_with("r1999 OK REPLACE completed\r\n"));
    std::size_t completed = 0;
    for (std::size_t at = out.find(" OK REPLACE completed"); at != std::string::npos;
         at = out.find(" OK REPLACE completed", at + 1))
        ++completed;
    CHECK(completed == kFlood);
    CHECK(server.store().uids(server.box("Drafts").id).size() == 3);
    // The session and a fresh one go on.
    CHECK(c.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
    Client fresh(server);
    CHECK(fresh.send("f FETCH 3 UID\r\n") ==
          "* 3 FETCH (UID " + std::to_string(3 + kFlood) + ")\r\nf OK FETCH completed\r\n");
}
