// Two sessions on one mailbox, byte for byte through the Session: what a
// session answers about messages another session expunged before it was
// told (RFC 2180 4, RFC 5530 EXPUNGEISSUED, RFC 3501 7.4.1), SEARCH with
// message numbers past EXISTS (RFC 3501 6.4.4), the ESEARCH MODSEQ of RFC
// 4731 3.2, and "* n RECENT" after expunges (RFC 3501 7.3.2). Expected
// answers follow Dovecot 2.3's to the same conversation except where a
// comment says otherwise (docs/rfc-coverage.md lists the differences).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/session_driver.h"
#include "support/store_support.h"

using imap::server::UserMailRegistry;
using imap::test::drain;
using imap::test::SessionDriver;
namespace store = imap::store;
namespace flag = imap::store::flag;

namespace {

const std::string kIssued = " OK [EXPUNGEISSUED] Some messages were already expunged\r\n";
const std::string kGone = " NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n";
const std::string kSystemFlags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

std::string n(std::uint64_t value) {
    return std::to_string(value);
}

// "Subject: m<i>" CRLF CRLF "body <i>" CRLF: 23 bytes for i < 10.
std::string raw(int i) {
    return "Subject: m" + n(static_cast<std::uint64_t>(i)) + "\r\n\r\nbody " +
           n(static_cast<std::uint64_t>(i)) + "\r\n";
}

std::string literal(const std::string& s) {
    return "{" + n(s.size()) + "}\r\n" + s;
}

// One server, two sessions of alice with INBOX selected, `count` messages
// raw(1)..raw(count) with UIDs 1..count. `a` selected first and claimed
// them all as \Recent; `b` has none. `a_enables`: ENABLE first (RFC 5161:
// in the authenticated state only).
struct Pair {
    UserMailRegistry mail{store::DataDir::in_memory()};
    SessionDriver a{mail}, b{mail};

    explicit Pair(const std::string& a_enables = "", int count = 5) {
        a.login();
        b.login();
        if (!a_enables.empty()) {
            REQUIRE(a.send("e ENABLE " + a_enables + "\r\n") ==
                    "* ENABLED " + a_enables + "\r\ne OK ENABLE completed\r\n");
        }
        for (int i = 1; i <= count; ++i) {
            const std::string bytes = raw(i);
            store::AppendRequest request;
            request.message = bytes;
            request.internal_date = 1704217272;  // 02-Jan-2024 17:41:12 +0000
            store().append(inbox(), request);
        }
        REQUIRE(a.send("s SELECT INBOX\r\n").ends_with("s OK [READ-WRITE] SELECT completed\r\n"));
        REQUIRE(b.send("s SELECT INBOX\r\n").ends_with("s OK [READ-WRITE] SELECT completed\r\n"));
    }
    store::MailStore& store() { return mail.open("alice")->store(); }
    store::MailboxId inbox() { return store().open_mailbox("INBOX").id; }
    std::uint64_t highest() { return store().mailbox(inbox()).highestmodseq; }
    std::uint64_t modseq_of(std::uint32_t uid) {
        const store::UidRange one{uid, uid};
        store::FetchOptions options;
        options.expunged_after = 0;
        const auto rows = store().fetch(inbox(), store::UidSpan(&one, 1), options);
        REQUIRE(rows.size() == 1);
        return rows[0].modseq;
    }
    // b marks its 1:2 \Deleted and expunges them; a is not told yet.
    void b_expunges_first_two() {
        REQUIRE(b.send("x STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n")
                    .ends_with("x OK STORE completed\r\n"));
        REQUIRE(b.send("y EXPUNGE\r\n").ends_with("y OK EXPUNGE completed\r\n"));
    }
};

}  // namespace

// ---- A.1: bodies outlive their expunge while a view shows them ----------------------

TEST_CASE("RFC 2180 4.1.1: a FETCH of many messages resumed after another session's EXPUNGE",
          "[session][views][fetch][memory]") {
    // 600 messages of about 1 KB: the output passes the high-water mark
    // long before the end, so the FetchJob yields and resumes.
    UserMailRegistry mail(store::DataDir::in_memory());
    SessionDriver a(mail), b(mail);
    a.login();
    b.login();
    std::vector<std::string> bodies;
    {
        std::vector<store::AppendRequest> requests(600);
        for (std::size_t i = 0; i < requests.size(); ++i) {
            bodies.push_back("Subject: n" + n(i + 1) + "\r\n\r\n" +
                             std::string(1000, 'a' + i % 26) + "\r\n");
            requests[i].message = bodies.back();
        }
        store::MailStore& s = mail.open("alice")->store();
        s.append(s.open_mailbox("INBOX").id, requests);
    }
    REQUIRE(a.send("s SELECT INBOX\r\n").ends_with("s OK [READ-WRITE] SELECT completed\r\n"));
    REQUIRE(b.send("s SELECT INBOX\r\n").ends_with("s OK [READ-WRITE] SELECT completed\r\n"));

    std::string out = a.send("f FETCH 1:* (BODY.PEEK[])\r\n");
    REQUIRE(a.session.input_paused());
    REQUIRE(out.find("* 300 FETCH") == std::string::npos);
    // One message of the first batch, already read, and ten of a later one.
    REQUIRE(b.send("x STORE 240,400:409 +FLAGS.SILENT (\\Deleted)\r\n") ==
            "x OK STORE completed\r\n");
    REQUIRE(b.send("y EXPUNGE\r\n").ends_with("y OK EXPUNGE completed\r\n"));
    while (a.session.input_paused()) {
        a.session.resume();
        out += drain(a.session.output());
    }
    std::string expected;
    for (std::size_t i = 0; i < bodies.size(); ++i)
        expected += "* " + n(i + 1) + " FETCH (BODY[] " + literal(bodies[i]) + ")\r\n";
    // Their \Deleted, set before the expunge, is news (the EXPUNGE waits,
    // RFC 3501 7.4.1); the later batch read them as expunged: the content
    // came from what the view keeps (RFC 5530).
    expected += "* 240 FETCH (FLAGS (\\Deleted \\Recent))\r\n";
    for (int i = 400; i <= 409; ++i)
        expected +=
            "* " + n(static_cast<std::uint64_t>(i)) + " FETCH (FLAGS (\\Deleted \\Recent))\r\n";
    expected += "f" + kIssued;
    CHECK(out.size() == expected.size());
    CHECK(out == expected);
    // NOOP applies the expunges; nothing pins the bodies any more.
    const std::string noop = a.send("n NOOP\r\n");
    CHECK(noop.starts_with("* 240 EXPUNGE\r\n* 399 EXPUNGE\r\n* 399 EXPUNGE\r\n"));
    CHECK(noop.ends_with("* 399 EXPUNGE\r\n* 589 RECENT\r\nn OK NOOP completed\r\n"));
    auto q = store::test::sqlite_database(mail.open("alice")->store())
                 .prepare("SELECT count(*) FROM bodies");
    q.step();
    CHECK(q.column_int(0) == 589);
}

// ---- A.2: FETCH of a message another session expunged -------------------------------

TEST_CASE("RFC 2180 4.1.1 and RFC 5530: FETCH answers an expunged message from the view",
          "[session][views][fetch]") {
    Pair p;
    CHECK(p.a.send("a STORE 1 +FLAGS (\\Seen)\r\n") ==
          "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\na OK STORE completed\r\n");
    p.b_expunges_first_two();
    // Its last flags (\Deleted was set by b before the expunge), \Recent as
    // this view has it, and its body: Dovecot answers BODY[] NIL, imapd
    // still has the bytes. The flag changes are reported at the end too, as
    // Dovecot does.
    CHECK(p.a.send("f1 FETCH 1 (FLAGS BODY[])\r\n") ==
          "* 1 FETCH (FLAGS (\\Deleted \\Seen \\Recent) BODY[] " + literal(raw(1)) +
              ")\r\n"
              "* 1 FETCH (FLAGS (\\Deleted \\Seen \\Recent))\r\n"
              "* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\n"
              "f1" +
              kIssued);
    // Flags and UIDs only: a plain OK (as Dovecot).
    CHECK(p.a.send("f2 FETCH 1:3 (UID FLAGS)\r\n") ==
          "* 1 FETCH (UID 1 FLAGS (\\Deleted \\Seen \\Recent))\r\n"
          "* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent))\r\n"
          "* 3 FETCH (UID 3 FLAGS (\\Recent))\r\n"
          "f2 OK FETCH completed\r\n");
    // The message's data as it was; EXPUNGEISSUED since it is gone.
    CHECK(p.a.send("f3 FETCH 2 (INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE "
                   "BODY.PEEK[HEADER])\r\n") ==
          "* 2 FETCH (INTERNALDATE \"02-Jan-2024 17:41:12 +0000\" RFC822.SIZE 23 ENVELOPE (NIL "
          "\"m2\" NIL NIL NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE (\"text\" \"plain\" "
          "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1 NIL NIL NIL NIL) BODY[HEADER] {15}\r\n"
          "Subject: m2\r\n\r\n)\r\nf3" +
              kIssued);
    // RFC 3501 6.4.5's implicit \Seen is not set on a message that is gone
    // (Dovecot sets it in its view and adds FLAGS).
    CHECK(p.a.send("f4 FETCH 2 (BODY[TEXT])\r\n") ==
          "* 2 FETCH (BODY[TEXT] {8}\r\nbody 2\r\n)\r\nf4" + kIssued);
    CHECK(p.a.send("f5 FETCH 2 FLAGS\r\n") ==
          "* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\nf5 OK FETCH completed\r\n");
    // UID FETCH lets the EXPUNGEs out at its end (RFC 3501 7.4.1), then the
    // new \Recent count (7.3.2).
    CHECK(p.a.send("f6 UID FETCH 2:3 (FLAGS)\r\n") ==
          "* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent))\r\n* 3 FETCH (UID 3 FLAGS (\\Recent))\r\n"
          "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 3 RECENT\r\nf6 OK UID FETCH completed\r\n");
    CHECK(p.a.send("f7 FETCH 1 (UID)\r\n") == "* 1 FETCH (UID 3)\r\nf7 OK FETCH completed\r\n");
}

TEST_CASE("RFC 7162 3.1.4.1: MODSEQ of an expunged message is its last, CHANGEDSINCE skips it",
          "[session][views][fetch][condstore]") {
    Pair p("CONDSTORE");
    const std::uint64_t before = p.highest();
    p.b_expunges_first_two();
    const std::uint64_t deleted = p.modseq_of(1);
    REQUIRE(p.modseq_of(2) == deleted);
    REQUIRE(p.highest() > deleted);  // the expunge took the next one
    CHECK(p.a.send("f1 FETCH 1:3 (MODSEQ)\r\n") ==
          "* 1 FETCH (MODSEQ (" + n(deleted) + "))\r\n* 2 FETCH (MODSEQ (" + n(deleted) +
              "))\r\n* 3 FETCH (MODSEQ (" + n(p.modseq_of(3)) +
              "))\r\n"
              "* 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent) MODSEQ (" +
              n(deleted) + "))\r\n* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent) MODSEQ (" +
              n(deleted) + "))\r\nf1 OK FETCH completed\r\n");
    // CHANGEDSINCE reports live messages only (a QRESYNC client learns of
    // the others by VANISHED); Dovecot includes them.
    const std::uint64_t stored = p.highest() + 1;
    CHECK(p.a.send("a STORE 4 +FLAGS.SILENT (\\Seen)\r\n") ==
          "* 4 FETCH (UID 4 MODSEQ (" + n(stored) + "))\r\na OK STORE completed\r\n");
    CHECK(p.a.send("f2 FETCH 1:5 (FLAGS) (CHANGEDSINCE " + n(before) + ")\r\n") ==
          "* 4 FETCH (FLAGS (\\Seen \\Recent) MODSEQ (" + n(stored) +
              "))\r\nf2 OK FETCH completed\r\n");
}

TEST_CASE("RFC 2180 4.1.3: NIL for a body the view can no longer read", "[session][views][fetch]") {
    Pair p;
    p.b_expunges_first_two();
    // As if the expunge log row held no values (a database from before
    // schema version 3): only what the view itself knows is left.
    store::test::sqlite_database(p.store()).exec(
        "UPDATE expunged SET body_id = NULL, flags = NULL, keywords = NULL, internal_date = NULL, "
        "zone_minutes = NULL, size = NULL, message_modseq = NULL");
    // The flags are unknown too: the end of the command reports them empty.
    CHECK(p.a.send("f FETCH 1 (UID FLAGS RFC822.SIZE ENVELOPE BODY[] BODY.PEEK[1])\r\n") ==
          "* 1 FETCH (UID 1 FLAGS (\\Recent) RFC822.SIZE 0 ENVELOPE (NIL NIL NIL NIL NIL NIL NIL "
          "NIL NIL NIL) BODY[] NIL BODY[1] NIL)\r\n"
          "* 1 FETCH (FLAGS (\\Recent))\r\n* 2 FETCH (FLAGS (\\Recent))\r\nf" +
              kIssued);
}

// ---- A.3: STORE, COPY and MOVE of a message another session expunged ----------------

TEST_CASE("RFC 2180 4.2: STORE on an expunged message changes the view's copy, plain OK",
          "[session][views][store]") {
    Pair p;
    p.b_expunges_first_two();
    CHECK(p.a.send("f FETCH 1:2 FLAGS\r\n") ==
          "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\n"
          "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\n"
          "f OK FETCH completed\r\n");
    // Dovecot's answers, byte for byte.
    CHECK(p.a.send("s1 STORE 2 +FLAGS (\\Flagged)\r\n") ==
          "* 2 FETCH (FLAGS (\\Flagged \\Deleted \\Recent))\r\ns1 OK STORE completed\r\n");
    CHECK(p.a.send("s2 STORE 2 +FLAGS.SILENT (\\Draft)\r\n") == "s2 OK STORE completed\r\n");
    CHECK(p.a.send("s3 STORE 2 +FLAGS (\\Deleted)\r\n") == "s3 OK STORE completed\r\n");
    // Expunged and live together, in order; 3 really changes.
    CHECK(p.a.send("s4 STORE 1:3 +FLAGS (\\Answered)\r\n") ==
          "* 1 FETCH (FLAGS (\\Answered \\Deleted \\Recent))\r\n"
          "* 2 FETCH (FLAGS (\\Answered \\Flagged \\Deleted \\Draft \\Recent))\r\n"
          "* 3 FETCH (FLAGS (\\Answered \\Recent))\r\ns4 OK STORE completed\r\n");
    CHECK(p.a.send("s5 STORE 2 FLAGS (\\Seen)\r\n") ==
          "* 2 FETCH (FLAGS (\\Seen \\Recent))\r\ns5 OK STORE completed\r\n");
    // A new keyword is defined in the mailbox and announced first.
    CHECK(
        p.a.send("s6 STORE 1 +FLAGS (NewKw)\r\n") ==
        "* FLAGS (" + kSystemFlags + " NewKw)\r\n* OK [PERMANENTFLAGS (" + kSystemFlags +
            " NewKw \\*)] Flags permitted.\r\n"
            "* 1 FETCH (FLAGS (\\Answered \\Deleted \\Recent NewKw))\r\ns6 OK STORE completed\r\n");
    CHECK(p.a.send("f2 FETCH 1:2 FLAGS\r\n") ==
          "* 1 FETCH (FLAGS (\\Answered \\Deleted \\Recent NewKw))\r\n"
          "* 2 FETCH (FLAGS (\\Seen \\Recent))\r\nf2 OK FETCH completed\r\n");
    // UID STORE: the UID first (RFC 3501 6.4.8); then the EXPUNGEs may go.
    CHECK(p.a.send("s7 UID STORE 2 -FLAGS (\\Seen)\r\n") ==
          "* 2 FETCH (UID 2 FLAGS (\\Recent))\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 3 RECENT\r\n"
          "s7 OK UID STORE completed\r\n");
    // Nothing of it reached the store: b hears of message 3 (its 1) and of
    // the keyword the mailbox now has, nothing else.
    CHECK(p.b.send("n NOOP\r\n") ==
          "* FLAGS (" + kSystemFlags + " NewKw)\r\n* OK [PERMANENTFLAGS (" + kSystemFlags +
              " NewKw \\*)] Flags permitted.\r\n"
              "* 1 FETCH (FLAGS (\\Answered))\r\nn OK NOOP completed\r\n");
    CHECK(p.a.send("f3 FETCH 1 (UID FLAGS)\r\n") ==
          "* 1 FETCH (UID 3 FLAGS (\\Answered \\Recent))\r\nf3 OK FETCH completed\r\n");
}

TEST_CASE(
    "RFC 7162 3.1.1 and 3.1.3 Example 11: with CONDSTORE an expunged message is left alone, NO",
    "[session][views][store][condstore]") {
    Pair p("CONDSTORE");
    const std::uint64_t before = p.highest();
    p.b_expunges_first_two();
    const std::uint64_t deleted = p.modseq_of(1);
    CHECK(p.a.send("f FETCH 1:2 (FLAGS)\r\n").ends_with("f OK FETCH completed\r\n"));
    // A plain STORE with CONDSTORE on: a change needs a new MODSEQ (RFC 7162
    // 3.1.1), which an expunged message cannot get: left alone, NO (RFC 2180
    // 4.2.3), with .SILENT too.
    CHECK(p.a.send("s0 STORE 1 +FLAGS (\\Flagged)\r\n") == "s0" + kGone);
    CHECK(p.a.send("s0s STORE 1 +FLAGS.SILENT (\\Flagged)\r\n") == "s0s" + kGone);
    // The live message is stored; the expunged ones make it a NO.
    const std::uint64_t m3 = p.highest() + 1;
    CHECK(p.a.send("s1 STORE 1:3 (UNCHANGEDSINCE " + n(before) + ") +FLAGS (\\Answered)\r\n") ==
          "* 3 FETCH (UID 3 FLAGS (\\Answered \\Recent) MODSEQ (" + n(m3) + "))\r\ns1" + kGone);
    // One fails the test as well: MODIFIED names it (sequence numbers).
    const std::uint64_t m4 = m3 + 1;
    CHECK(p.a.send("s2 STORE 2,3,4 (UNCHANGEDSINCE " + n(before) + ") +FLAGS (\\Seen)\r\n") ==
          "* 3 FETCH (UID 3 FLAGS (\\Answered \\Recent) MODSEQ (" + n(m3) +
              "))\r\n* 4 FETCH (UID 4 FLAGS (\\Seen \\Recent) MODSEQ (" + n(m4) +
              "))\r\ns2 NO [MODIFIED 3] Some of the requested messages no longer exist\r\n");
    // None of these STOREs touched the view's copies.
    CHECK(p.a.send("f2 FETCH 1:2 (FLAGS)\r\n") ==
          "* 1 FETCH (FLAGS (\\Deleted \\Recent) MODSEQ (" + n(deleted) +
              "))\r\n* 2 FETCH (FLAGS (\\Deleted \\Recent) MODSEQ (" + n(deleted) +
              "))\r\nf2 OK FETCH completed\r\n");
    // UID STORE: UIDs in MODIFIED; the EXPUNGEs may go at its end.
    CHECK(p.a.send("u UID STORE 2,4 (UNCHANGEDSINCE " + n(before) + ") -FLAGS (\\Deleted)\r\n") ==
          "* 4 FETCH (UID 4 FLAGS (\\Seen \\Recent) MODSEQ (" + n(m4) +
              "))\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 3 RECENT\r\n"
              "u NO [MODIFIED 4] Some of the requested messages no longer exist\r\n");
}

TEST_CASE("RFC 2180 4.4.1: COPY and MOVE of a set with an expunged message copy nothing",
          "[session][views][copy][move]") {
    Pair p;
    const std::string v = n(p.store().create_mailbox("Dest").uidvalidity);
    p.b_expunges_first_two();
    const store::MailboxId dest = p.store().open_mailbox("Dest").id;
    // As Dovecot: NO [EXPUNGEISSUED], atomic (nothing reaches Dest). The
    // \Deleted b set before its expunge is news.
    CHECK(p.a.send("c1 COPY 1:3 Dest\r\n") ==
          "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\nc1" +
              kGone);
    CHECK(p.a.send("m1 MOVE 2:4 Dest\r\n") == "m1" + kGone);
    CHECK(p.store().uids(dest).empty());
    // Only live messages: as usual, though 1:2 are gone meanwhile. MOVE's
    // own EXPUNGEs go out (with the \Recent count), b's wait.
    CHECK(p.a.send("c2 COPY 3 Dest\r\n") == "c2 OK [COPYUID " + v + " 3 1] COPY completed\r\n");
    CHECK(p.a.send("m2 MOVE 4:5 Dest\r\n") ==
          "* OK [COPYUID " + v +
              " 4:5 2:3] Moved UIDs\r\n* 4 EXPUNGE\r\n"
              "* 4 EXPUNGE\r\n* 3 RECENT\r\nm2 OK MOVE completed\r\n");
    // UID MOVE: refused too; its end lets b's EXPUNGEs out.
    CHECK(p.a.send("m3 UID MOVE 1:* Dest\r\n") ==
          "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 1 RECENT\r\nm3" + kGone);
    CHECK(p.store().uids(p.inbox()) == std::vector<std::uint32_t>{3});
    // UID COPY, the same.
    CHECK(p.b.send("x STORE 1 +FLAGS.SILENT (\\Deleted)\r\n") == "x OK STORE completed\r\n");
    CHECK(p.b.send("y EXPUNGE\r\n").ends_with("y OK EXPUNGE completed\r\n"));
    CHECK(p.a.send("c3 UID COPY 1:* Dest\r\n") == "* 1 EXPUNGE\r\n* 0 RECENT\r\nc3" + kGone);
    CHECK(p.store().uids(dest) == std::vector<std::uint32_t>{1, 2, 3});
}

// ---- A.4: SEARCH with message numbers past EXISTS -----------------------------------

TEST_CASE("RFC 3501 6.4.4: message numbers past EXISTS match nothing in SEARCH",
          "[session][views][search]") {
    Pair p;
    struct Row {
        const char* command;
        const char* answer;
    };
    // Dovecot's answers to the same commands with five messages.
    const Row rows[] = {
        {"SEARCH 99", "* SEARCH\r\n"},
        {"SEARCH 1:1000", "* SEARCH 1 2 3 4 5\r\n"},
        {"SEARCH 4:1000", "* SEARCH 4 5\r\n"},
        {"SEARCH 4294967295", "* SEARCH\r\n"},
        {"SEARCH OR 1 1000", "* SEARCH 1\r\n"},
        {"SEARCH NOT 1000", "* SEARCH 1 2 3 4 5\r\n"},
        {"SEARCH 2,1000:999 UNSEEN", "* SEARCH 2\r\n"},
        {"UID SEARCH 5:1000", "* SEARCH 5\r\n"},
        {"SEARCH RETURN () 1000", "* ESEARCH (TAG \"t\")\r\n"},
        {"SEARCH RETURN (COUNT) 1000:4", "* ESEARCH (TAG \"t\") COUNT 2\r\n"},
        {"SEARCH RETURN (MIN MAX COUNT) 3:1000", "* ESEARCH (TAG \"t\") MIN 3 MAX 5 COUNT 3\r\n"},
        {"UID SEARCH RETURN (ALL) 1:1000", "* ESEARCH (TAG \"t\") UID ALL 1:5\r\n"},
        // "*" is the last message (RFC 3501 9): 1000:* is 5:1000. Dovecot
        // drops the whole range instead.
        {"SEARCH 1000:*", "* SEARCH 5\r\n"},
    };
    for (const Row& row : rows) {
        INFO(row.command);
        const std::string name =
            std::string_view(row.command).starts_with("UID") ? "UID SEARCH" : "SEARCH";
        CHECK(p.a.send(std::string("t ") + row.command + "\r\n") ==
              std::string(row.answer) + "t OK " + name + " completed\r\n");
    }
    // FETCH, STORE, COPY and MOVE keep RFC 3501 9's BAD, as Dovecot.
    for (const char* command : {"FETCH 6 FLAGS", "FETCH 1:1000 FLAGS", "STORE 6 +FLAGS (\\Seen)",
                                "COPY 6 INBOX", "MOVE 4:6 INBOX"}) {
        INFO(command);
        const std::string_view text(command);
        const std::string name(text.substr(0, text.find(' ')));
        CHECK(p.a.send(std::string("t ") + command + "\r\n") ==
              "t BAD " + name + ": Message sequence number past the last message (RFC 3501 9)\r\n");
    }
    // The probe's case: numbers past EXISTS while the view still shows two
    // messages b expunged (they match nothing, being gone from the store).
    p.b_expunges_first_two();
    CHECK(p.a.send("t SEARCH 1:1000\r\n").starts_with("* SEARCH 3 4 5\r\n"));
}

// ---- A.5: ESEARCH MODSEQ ------------------------------------------------------------

TEST_CASE("RFC 4731 3.2: the MODSEQ of an ESEARCH is that of the messages it returns",
          "[session][views][search][condstore]") {
    Pair p;
    // Modseqs: 4 < 2 < 3 among the matches 2:4 (MODSEQ since 4's change).
    CHECK(p.a.send("a STORE 4 +FLAGS.SILENT (\\Draft)\r\n") == "a OK STORE completed\r\n");
    const std::uint64_t m4 = p.modseq_of(4);
    CHECK(p.a.send("b STORE 2 +FLAGS.SILENT (\\Draft)\r\n") == "b OK STORE completed\r\n");
    const std::uint64_t m2 = p.modseq_of(2);
    CHECK(p.a.send("c STORE 3 +FLAGS.SILENT (\\Draft)\r\n") == "c OK STORE completed\r\n");
    const std::uint64_t m3 = p.modseq_of(3);
    REQUIRE(m4 < m2);
    REQUIRE(m2 < m3);
    const std::string criteria = " MODSEQ \"/flags/\\\\draft\" all " + n(m4) + "\r\n";
    // The RFC's four examples, then the other forms.
    CHECK(p.a.send("a1 SEARCH RETURN (MIN)" + criteria) ==
          "* OK [HIGHESTMODSEQ " + n(m3) + "] Highest\r\n* ESEARCH (TAG \"a1\") MIN 2 MODSEQ " +
              n(m2) + "\r\na1 OK SEARCH completed\r\n");
    CHECK(p.a.send("a2 SEARCH RETURN (MAX)" + criteria) ==
          "* ESEARCH (TAG \"a2\") MAX 4 MODSEQ " + n(m4) + "\r\na2 OK SEARCH completed\r\n");
    CHECK(p.a.send("a3 SEARCH RETURN (MIN MAX)" + criteria) ==
          "* ESEARCH (TAG \"a3\") MIN 2 MAX 4 MODSEQ " + n(m2) + "\r\na3 OK SEARCH completed\r\n");
    CHECK(p.a.send("a4 SEARCH RETURN (MIN COUNT)" + criteria) ==
          "* ESEARCH (TAG \"a4\") MIN 2 COUNT 3 MODSEQ " + n(m3) +
              "\r\na4 OK SEARCH completed\r\n");
    CHECK(p.a.send("a5 SEARCH RETURN (COUNT)" + criteria) ==
          "* ESEARCH (TAG \"a5\") COUNT 3 MODSEQ " + n(m3) + "\r\na5 OK SEARCH completed\r\n");
    CHECK(p.a.send("a6 SEARCH RETURN ()" + criteria) ==
          "* ESEARCH (TAG \"a6\") ALL 2:4 MODSEQ " + n(m3) + "\r\na6 OK SEARCH completed\r\n");
    CHECK(p.a.send("a7 SEARCH RETURN (MAX ALL)" + criteria) ==
          "* ESEARCH (TAG \"a7\") MAX 4 ALL 2:4 MODSEQ " + n(m3) +
              "\r\na7 OK SEARCH completed\r\n");
    CHECK(p.a.send("a8 UID SEARCH RETURN (MAX)" + criteria) ==
          "* ESEARCH (TAG \"a8\") UID MAX 4 MODSEQ " + n(m4) +
              "\r\na8 OK UID SEARCH completed\r\n");
    // RFC 7162 3.1.5: the plain SEARCH, all of them.
    CHECK(p.a.send("a9 SEARCH" + criteria) ==
          "* SEARCH 2 3 4 (MODSEQ " + n(m3) + ")\r\na9 OK SEARCH completed\r\n");
    // No match: no MODSEQ.
    CHECK(p.a.send("b1 SEARCH RETURN (MIN) MODSEQ " + n(m3 + 1) + "\r\n") ==
          "* ESEARCH (TAG \"b1\")\r\nb1 OK SEARCH completed\r\n");
}

// ---- C.5: RECENT after expunges -----------------------------------------------------

TEST_CASE("RFC 3501 7.3.2: expunges that change the Recent count send the new count",
          "[session][views][recent]") {
    Pair p;
    // Own EXPUNGE (Dovecot sends RECENT after the EXPUNGEs).
    CHECK(p.a.send("a STORE 1 +FLAGS.SILENT (\\Deleted)\r\n") == "a OK STORE completed\r\n");
    CHECK(p.a.send("b EXPUNGE\r\n") == "* 1 EXPUNGE\r\n* 4 RECENT\r\nb OK EXPUNGE completed\r\n");
    // b claimed none: its count does not change, nothing is sent.
    CHECK(p.b.send("n NOOP\r\n") == "* 1 EXPUNGE\r\nn OK NOOP completed\r\n");
    // Another session's, at the next command that may send EXPUNGE.
    p.b_expunges_first_two();
    CHECK(p.a.send("n NOOP\r\n") ==
          "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 2 RECENT\r\nn OK NOOP completed\r\n");
    // New messages and expunges in one sync: one RECENT, after EXISTS.
    store::AppendRequest request;
    const std::string bytes = raw(6);
    request.message = bytes;
    p.store().append(p.inbox(), request);
    CHECK(p.b.send("x STORE 1 +FLAGS.SILENT (\\Deleted)\r\n") ==
          "* 3 EXISTS\r\n* 1 RECENT\r\nx OK STORE completed\r\n");
    // b's 1 (UID 4) was not \Recent for b (UID 6 is): no RECENT for b.
    CHECK(p.b.send("y EXPUNGE\r\n") == "* 1 EXPUNGE\r\ny OK EXPUNGE completed\r\n");
    // a: UID 4 goes, UID 6 (b's \Recent) comes; 5 is a's last \Recent.
    CHECK(p.a.send("n NOOP\r\n") ==
          "* 1 EXPUNGE\r\n* 2 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 7.3.2 with RFC 7162 3.2.10: RECENT follows VANISHED, also while idling",
          "[session][views][recent][qresync]") {
    Pair p("QRESYNC");
    const std::uint64_t deleted = p.highest() + 1;
    CHECK(p.a.send("u STORE 4 +FLAGS.SILENT (\\Deleted)\r\n") ==
          "* 4 FETCH (UID 4 MODSEQ (" + n(deleted) + "))\r\nu OK STORE completed\r\n");
    const std::string expunged = p.a.send("x UID EXPUNGE 4\r\n");
    CHECK(expunged == "* VANISHED 4\r\n* 4 RECENT\r\nx OK [HIGHESTMODSEQ " + n(p.highest()) +
                          "] UID EXPUNGE completed\r\n");
    // While idling, pushed with the VANISHED.
    CHECK(p.a.send("i IDLE\r\n") == "+ idling\r\n");
    p.b_expunges_first_two();
    CHECK(drain(p.a.session.output()) ==
          "* 1 FETCH (UID 1 FLAGS (\\Deleted \\Recent) MODSEQ (" + n(p.highest() - 1) +
              "))\r\n* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent) MODSEQ (" + n(p.highest() - 1) +
              "))\r\n* VANISHED 1:2\r\n* 2 RECENT\r\n");
    CHECK(p.a.send("DONE\r\n") == "i OK IDLE completed\r\n");
}
