// OBJECTID (RFC 8474), SAVEDATE (RFC 8514) and PREVIEW (RFC 8970) through
// the Session, byte for byte, with the RFCs' examples where they have any.
// MAILBOXID, EMAILID and THREADID values are the store's (read from it and
// put into the expected bytes); the RFCs leave their form to the server.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "protocol/datetime.h"
#include "server/imap/user_mail.h"
#include "store/body_objects.h"
#include "store/data_dir.h"
#include "support/hostile_bound.h"
#include "support/session_driver.h"
#include "support/store_support.h"

namespace {

namespace store = imap::store;
using imap::test::drain;
using imap::test::SessionDriver;

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};

    store::MailStore& store() { return mail.open("alice")->store(); }
    store::MailboxId id(const std::string& name) { return store().open_mailbox(name).id; }
    std::string mailboxid(const std::string& name) { return store().open_mailbox(name).object_id; }

    std::uint32_t add(const std::string& raw, const std::string& mailbox = "INBOX") {
        store::AppendRequest request;
        request.message = raw;
        request.internal_date = 1521475657;  // 20-Mar-2018 03:07:37 +1100
        request.zone_minutes = 660;
        return store().append(id(mailbox), request);
    }

    store::MessageObjects objects(std::uint32_t uid, const std::string& mailbox = "INBOX") {
        const store::UidRange range{uid, uid};
        const auto rows = store().fetch(id(mailbox), store::UidSpan(&range, 1));
        REQUIRE(rows.size() == 1);
        return store().objects(rows[0].body_id);
    }

    void exec(const std::string& sql) { store::test::sqlite_database(store()).exec(sql); }
};

using imap::test::send_all;

// RFC 8474 5.3's three example messages.
const std::string kMessageA =
    "From: a@example.com\r\nSubject: Message A\r\n"
    "Message-ID: <fake.1521475657.54797@example.com>\r\n\r\nThis is message A.\r\n";
const std::string kMessageB =
    "From: b@example.org\r\nSubject: Re: Message A\r\n"
    "Message-ID: <fake.1521475657.21213@example.org>\r\n"
    "References: <fake.1521475657.54797@example.com>\r\n\r\nA reply to A.\r\n";
const std::string kMessageC =
    "From: c@example.com\r\nSubject: Message C\r\n"
    "Message-ID: <fake.1521475657.60280@example.com>\r\n\r\nMessage C here.\r\n";

std::string utc_date_time(std::int64_t unix_seconds) {
    std::string text = imap::format_date_time(imap::DateTime::from_unix(unix_seconds, 0));
    if (!text.empty() && text[0] == ' ') text[0] = '0';
    return text;
}

}  // namespace

TEST_CASE("RFC 8474 3, RFC 8514 4.1, RFC 8970: OBJECTID SAVEDATE PREVIEW are advertised",
          "[session][objectid]") {
    Server server;
    SessionDriver d(server.mail);
    d.mask_object_ids = false;
    d.login();
    const std::string reply = d.send("a CAPABILITY\r\n");
    CHECK(reply.find(" URL-PARTIAL OBJECTID SAVEDATE PREVIEW CONTEXT=SEARCH CONTEXT=SORT "
                     "UTF8=ACCEPT NOTIFY\r\n") != std::string::npos);
}

TEST_CASE("RFC 8474 4.1-4.3: MAILBOXID in CREATE, SELECT, EXAMINE, STATUS and LIST-STATUS",
          "[session][objectid]") {
    Server server;
    SessionDriver d(server.mail);
    d.mask_object_ids = false;
    d.login();
    // 4.1's example: 3 create foo / 4 create bar / 5 create foo.
    const std::string created = d.send("3 create foo\r\n");
    const std::string foo = server.mailboxid("foo");
    CHECK(created == "3 OK [MAILBOXID (" + foo + ")] CREATE completed\r\n");
    const std::string bar_reply = d.send("4 create bar\r\n");
    const std::string bar = server.mailboxid("bar");
    CHECK(bar_reply == "4 OK [MAILBOXID (" + bar + ")] CREATE completed\r\n");
    CHECK(d.send("5 create foo\r\n") == "5 NO [ALREADYEXISTS] mailbox already exists\r\n");

    // 4.3's example: STATUS MAILBOXID, stable across RENAME.
    CHECK(d.send("6 status foo (mailboxid)\r\n") ==
          "* STATUS foo (MAILBOXID (" + foo + "))\r\n6 OK STATUS completed\r\n");
    CHECK(d.send("7 status bar (mailboxid)\r\n") ==
          "* STATUS bar (MAILBOXID (" + bar + "))\r\n7 OK STATUS completed\r\n");
    CHECK(d.send("8 rename foo renamed\r\n") == "8 OK RENAME completed\r\n");
    CHECK(d.send("9 status renamed (mailboxid)\r\n") ==
          "* STATUS renamed (MAILBOXID (" + foo + "))\r\n9 OK STATUS completed\r\n");
    CHECK(d.send("10 status bar (MESSAGES MAILBOXID UIDNEXT)\r\n") ==
          "* STATUS bar (MESSAGES 0 UIDNEXT 1 MAILBOXID (" + bar +
              "))\r\n10 OK STATUS "
              "completed\r\n");
    // 4.3 with LIST-STATUS (RFC 5819).
    const std::string listed = d.send("11 list \"\" \"bar\" return (status (mailboxid))\r\n");
    CHECK(listed == "* LIST () \"/\" bar\r\n* STATUS bar (MAILBOXID (" + bar +
                        "))\r\n11 OK LIST completed\r\n");

    // 4.2: SELECT and EXAMINE carry the untagged OK.
    const std::string selected = d.send("27 select \"renamed\"\r\n");
    INFO(selected);
    CHECK(selected.find("* OK [MAILBOXID (" + foo + ")] Ok\r\n27 OK [READ-WRITE]") !=
          std::string::npos);
    const std::string examined = d.send("28 examine bar\r\n");
    CHECK(examined.find("* OK [MAILBOXID (" + bar + ")] Ok\r\n28 OK [READ-ONLY]") !=
          std::string::npos);

    // Deleted and created again: a new id.
    CHECK(d.send("29 unselect\r\n") == "29 OK UNSELECT completed\r\n");
    CHECK(d.send("30 delete bar\r\n") == "30 OK DELETE completed\r\n");
    const std::string again = d.send("31 create bar\r\n");
    CHECK(again.find(bar) == std::string::npos);
    CHECK(again == "31 OK [MAILBOXID (" + server.mailboxid("bar") + ")] CREATE completed\r\n");
}

TEST_CASE("RFC 8474 5.3: FETCH EMAILID THREADID, the RFC's example with COPY and MOVE",
          "[session][objectid]") {
    Server server;
    server.store().create_mailbox("foo");
    server.add(kMessageA);
    server.add(kMessageB);
    server.add(kMessageC);
    const store::MessageObjects a = server.objects(1), b = server.objects(2), c = server.objects(3);
    CHECK(a.thread_id == b.thread_id);
    CHECK(a.thread_id != c.thread_id);
    SessionDriver d(server.mail);
    d.mask_object_ids = false;
    d.login();
    REQUIRE(d.send("s select inbox\r\n").find("s OK") != std::string::npos);
    auto line = [](int seq, const store::MessageObjects& o) {
        return "* " + std::to_string(seq) + " FETCH (EMAILID (" + o.email_id + ") THREADID (" +
               o.thread_id.value() + "))\r\n";
    };
    CHECK(send_all(d, "22 fetch 1:* (emailid threadid)\r\n") ==
          line(1, a) + line(2, b) + line(3, c) + "22 OK FETCH completed\r\n");
    const std::string moved = send_all(d, "23 move 2 foo\r\n");
    CHECK(moved.find("* 2 EXPUNGE\r\n") != std::string::npos);
    CHECK(send_all(d, "24 fetch 1:* (emailid threadid)\r\n") ==
          line(1, a) + line(2, c) + "24 OK FETCH completed\r\n");
    REQUIRE(d.send("25 select \"foo\"\r\n").find("25 OK") != std::string::npos);
    CHECK(send_all(d, "26 fetch 1:* (emailid threadid)\r\n") ==
          line(1, b) + "26 OK FETCH completed\r\n");
    // UID FETCH puts UID first; items asked twice answer once.
    CHECK(send_all(d, "27 uid fetch 1 (threadid emailid threadid)\r\n") ==
          "* 1 FETCH (UID 1 THREADID (" + b.thread_id.value() + ") EMAILID (" + b.email_id +
              "))\r\n27 OK UID FETCH completed\r\n");
}

TEST_CASE("RFC 8474 6: SEARCH EMAILID and THREADID, the RFC's example", "[session][objectid]") {
    Server server;
    server.add(kMessageA);
    server.add(kMessageB);
    server.add(kMessageC);
    SessionDriver d(server.mail);
    d.mask_object_ids = false;
    d.login();
    REQUIRE(d.send("s select inbox\r\n").find("s OK") != std::string::npos);
    CHECK(d.send("27 search emailid " + server.objects(1).email_id + "\r\n") ==
          "* SEARCH 1\r\n27 OK SEARCH completed\r\n");
    CHECK(d.send("28 search threadid " + server.objects(1).thread_id.value() + "\r\n") ==
          "* SEARCH 1 2\r\n28 OK SEARCH completed\r\n");
    CHECK(d.send("29 uid search or emailid " + server.objects(1).email_id + " emailid " +
                 server.objects(3).email_id + "\r\n") ==
          "* SEARCH 1 3\r\n29 OK UID SEARCH completed\r\n");
    // An id of the right syntax that names nothing; ids are case sensitive.
    CHECK(d.send("30 search emailid M6d99ac3275bb4e\r\n") ==
          "* SEARCH\r\n30 OK SEARCH completed\r\n");
    CHECK(d.send("31 search threadid NIL\r\n") == "* SEARCH\r\n31 OK SEARCH completed\r\n");
    // 7: objectid = 1*255(ALPHA / DIGIT / "_" / "-").
    const std::string bad = d.send("32 search emailid M+1\r\n");
    CHECK(bad.starts_with("32 BAD "));
    CHECK(d.send("33 search emailid " + std::string(256, 'M') + "\r\n").starts_with("33 BAD "));
    CHECK(d.send("34 search threadid\r\n").starts_with("34 BAD "));
    CHECK(d.send("35 noop\r\n") == "35 OK NOOP completed\r\n");
}

TEST_CASE("RFC 8514 4.2-4.3: FETCH SAVEDATE and SEARCH SAVED*", "[session][savedate]") {
    Server server;
    server.store().create_mailbox("foo");
    const std::int64_t before = std::time(nullptr);
    server.add(kMessageA);
    server.add(kMessageB);
    // 4.2's example date: 01-Jan-2015 18:50:53 +0100 = 17:50:53 UTC.
    server.exec("UPDATE messages SET save_date = 1420134653 WHERE uid = 1");
    SessionDriver d(server.mail);
    d.mask_object_ids = false;
    d.login();
    REQUIRE(d.send("s select inbox\r\n").find("s OK") != std::string::npos);
    CHECK(send_all(d, "A101 FETCH 1 (SAVEDATE)\r\n") ==
          "* 1 FETCH (SAVEDATE \"01-Jan-2015 17:50:53 +0000\")\r\nA101 OK FETCH completed\r\n");
    // APPEND's save date is now, whatever INTERNALDATE says.
    const std::string appended = send_all(d, "A102 FETCH 2 (INTERNALDATE SAVEDATE)\r\n");
    CHECK(
        appended.starts_with("* 2 FETCH (INTERNALDATE \"20-Mar-2018 03:07:37 +1100\" SAVEDATE \""));
    const std::int64_t after = std::time(nullptr);
    CHECK((appended.find(utc_date_time(before)) != std::string::npos ||
           appended.find(utc_date_time(after)) != std::string::npos));
    // 4.3's keys.
    CHECK(d.send("A103 SEARCH SAVEDON 1-Jan-2015\r\n") ==
          "* SEARCH 1\r\nA103 OK SEARCH completed\r\n");
    CHECK(d.send("A104 SEARCH SAVEDBEFORE 2-Jan-2015\r\n") ==
          "* SEARCH 1\r\nA104 OK SEARCH completed\r\n");
    CHECK(d.send("A105 SEARCH SAVEDSINCE 2-Jan-2015\r\n") ==
          "* SEARCH 2\r\nA105 OK SEARCH completed\r\n");
    CHECK(d.send("A106 SEARCH SAVEDATESUPPORTED\r\n") ==
          "* SEARCH 1 2\r\nA106 OK SEARCH completed\r\n");
    CHECK(d.send("A107 SEARCH NOT SAVEDATESUPPORTED\r\n") ==
          "* SEARCH\r\nA107 OK SEARCH completed\r\n");
    CHECK(d.send("A108 SEARCH SAVEDON 31-Feb-2015\r\n").starts_with("A108 BAD "));
    // RFC 8514 3: COPY gives the copy a new save date, the source keeps its.
    CHECK(send_all(d, "A109 COPY 1 foo\r\n").find("A109 OK") != std::string::npos);
    CHECK(send_all(d, "A110 FETCH 1 (SAVEDATE)\r\n") ==
          "* 1 FETCH (SAVEDATE \"01-Jan-2015 17:50:53 +0000\")\r\nA110 OK FETCH completed\r\n");
    REQUIRE(d.send("A111 select foo\r\n").find("A111 OK") != std::string::npos);
    CHECK(d.send("A112 SEARCH SAVEDON 1-Jan-2015\r\n") ==
          "* SEARCH\r\nA112 OK SEARCH completed\r\n");
}

TEST_CASE("RFC 8970 3.2, 4.1: FETCH PREVIEW and PREVIEW (LAZY)", "[session][preview]") {
    Server server;
    server.add(kMessageA);
    server.add(
        "Subject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Caf\xC3\xA9 &amp; \"tea\"</p>\r\n");
    server.add("Subject: image\r\nContent-Type: image/png\r\n\r\nPNG\r\n");
    SessionDriver d(server.mail);
    d.mask_object_ids = false;
    d.login();
    REQUIRE(d.send("s select inbox\r\n").find("s OK") != std::string::npos);
    // 3.2's example shape: an ASCII preview is a quoted string.
    CHECK(send_all(d, "A1 FETCH 1 (PREVIEW)\r\n") ==
          "* 1 FETCH (PREVIEW \"This is message A.\")\r\nA1 OK FETCH completed\r\n");
    // UTF-8 text goes as a literal (RFC 3501 quoted strings are 7-bit).
    const std::string cafe = "Caf\xC3\xA9 & \"tea\"";
    CHECK(send_all(d, "A2 FETCH 2 (RFC822.SIZE PREVIEW)\r\n") ==
          "* 2 FETCH (RFC822.SIZE 83 PREVIEW {" + std::to_string(cafe.size()) + "}\r\n" + cafe +
              ")\r\nA2 OK FETCH completed\r\n");
    // 3.2: no text, the empty string (never NIL without LAZY).
    CHECK(send_all(d, "A3 FETCH 3 (PREVIEW)\r\n") ==
          "* 3 FETCH (PREVIEW \"\")\r\nA3 OK FETCH completed\r\n");
    // 4.1: LAZY gives the stored preview (all of these were stored at
    // delivery); the modifier may be repeated, and combined with others.
    CHECK(send_all(d, "B1 FETCH 1 (UID PREVIEW (LAZY))\r\n") ==
          "* 1 FETCH (UID 1 PREVIEW \"This is message A.\")\r\nB1 OK FETCH completed\r\n");
    CHECK(send_all(d, "B2 FETCH 1 PREVIEW (lazy LAZY)\r\n") ==
          "* 1 FETCH (PREVIEW \"This is message A.\")\r\nB2 OK FETCH completed\r\n");
    // A single PREVIEW followed by fetch-modifiers (RFC 4466 2.4) is not
    // a preview-mod list.
    CHECK(send_all(d, "B3 FETCH 1 PREVIEW (CHANGEDSINCE 1)\r\n") ==
          "* OK [HIGHESTMODSEQ 4] Highest\r\n* 1 FETCH (PREVIEW \"This is message A.\" MODSEQ "
          "(2))\r\nB3 OK FETCH completed\r\n");
    CHECK(d.send("B4 FETCH 1 (PREVIEW (FAST))\r\n").starts_with("B4 BAD "));
    CHECK(d.send("B5 FETCH 1 (PREVIEW ())\r\n").starts_with("B5 BAD "));

    // A body the v6 migration left queued: LAZY says NIL, a plain PREVIEW
    // computes it (RFC 8970 3.2: "MUST NOT return NIL ... without LAZY").
    server.exec(
        "DELETE FROM body_object; INSERT INTO object_pending (body_id) SELECT id FROM bodies");
    CHECK(send_all(d, "C1 FETCH 1:2 (PREVIEW (LAZY))\r\n") ==
          "* 1 FETCH (PREVIEW NIL)\r\n* 2 FETCH (PREVIEW NIL)\r\nC1 OK FETCH completed\r\n");
    CHECK(send_all(d, "C2 FETCH 1 (PREVIEW (LAZY) PREVIEW)\r\n") ==
          "* 1 FETCH (PREVIEW \"This is message A.\")\r\nC2 OK FETCH completed\r\n");
    // EMAILID needs nothing computed, LAZY takes what is stored, THREADID
    // computes: one response with all three.
    CHECK(send_all(d, "C4 FETCH 1 (EMAILID PREVIEW (LAZY) THREADID)\r\n") ==
          "* 1 FETCH (EMAILID (" + server.objects(1).email_id + ") PREVIEW NIL THREADID (" +
              server.objects(1).thread_id.value() + "))\r\nC4 OK FETCH completed\r\n");
    CHECK(send_all(d, "C3 FETCH 1 (PREVIEW THREADID)\r\n") ==
          "* 1 FETCH (PREVIEW \"This is message A.\" THREADID (" +
              server.objects(1).thread_id.value() + "))\r\nC3 OK FETCH completed\r\n");
}

TEST_CASE("RFC 8970 hostile: PREVIEW of huge and deeply nested messages is bounded",
          "[session][preview][hostile]") {
    Server server;
    // 40 MiB of markup before the text, 16 MiB of base64 text, a part 200
    // multiparts deep: each preview reads at most kPreviewSourceBytes.
    std::string markup = "Content-Type: text/html\r\n\r\n";
    while (markup.size() < 40u * 1024 * 1024)
        markup += "<span class=\"x\"></span>";
    markup += "late text\r\n";
    std::string big = "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    while (big.size() < 16u * 1024 * 1024)
        big += "aGVsbG8gd29ybGQg\r\n";
    std::string nested;
    for (int i = 0; i < 200; ++i) {
        nested += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
                  std::to_string(i) + "\r\n";
    }
    nested += "Content-Type: text/plain\r\n\r\ndeep\r\n";
    server.add(markup);
    server.add(big);
    server.add(nested);
    // As the v6 migration leaves them: FETCH computes each from its bytes.
    server.exec(
        "DELETE FROM body_object; INSERT INTO object_pending (body_id) SELECT id FROM bodies");
    SessionDriver d(server.mail);
    d.login();
    REQUIRE(d.send("s select inbox\r\n").find("s OK") != std::string::npos);
    const auto start = std::chrono::steady_clock::now();
    const std::string reply = send_all(d, "p FETCH 1:3 (PREVIEW)\r\n");
    CHECK(std::chrono::steady_clock::now() - start < imap::test::kHostileTimeBound);
    CHECK(reply.starts_with("* 1 FETCH (PREVIEW \"\")\r\n* 2 FETCH (PREVIEW \"hello world hello"));
    CHECK(reply.ends_with("p OK FETCH completed\r\n"));
    // The server still answers, this session and a fresh one.
    CHECK(d.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
    SessionDriver fresh(server.mail);
    fresh.login();
    CHECK(fresh.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
}
