// The SEARCH extensions through a whole session: WITHIN (RFC 5032),
// SEARCHRES (RFC 5182) and PARTIAL (RFC 9394), in SEARCH, UID SEARCH, SORT,
// THREAD and the ESEARCH forms; the RFC's examples, the responses byte for
// byte, and the errors.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/hostile_bound.h"
#include "support/session_driver.h"

namespace {

using imap::test::SessionDriver;
namespace store = imap::store;

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};
    store::MailStore& store() { return mail.open("alice")->store(); }
    void add(std::int64_t internal_date, std::uint32_t flags = 0,
             const std::string& subject = "hello") {
        // AppendRequest::message is a view: the bytes must outlive append().
        const std::string text = "From: a@example.org\r\nSubject: " + subject + "\r\n\r\nbody\r\n";
        store::AppendRequest request;
        request.message = text;
        request.internal_date = internal_date;
        request.flags.system = flags;
        store().append(store().open_mailbox("INBOX").id, request);
    }
};

struct Client {
    explicit Client(Server& server) : d(server.mail) {
        d.login();
        d.send("s SELECT INBOX\r\n");
    }
    std::string send(const std::string& line) { return d.send(line); }
    SessionDriver d;
};

constexpr std::int64_t kDay = 86400;

// Messages 1..4 arrived 10 days, 2 days, 1 hour ago and (4) in an hour (a
// clock ahead of ours); 2 and 3 are \Seen.
void four_ages(Server& server) {
    const std::int64_t now = std::time(nullptr);
    server.add(now - 10 * kDay, 0, "old");
    server.add(now - 2 * kDay, store::flag::kSeen, "two days");
    server.add(now - 3600, store::flag::kSeen, "an hour");
    server.add(now + 3600, 0, "future");
}

}  // namespace

TEST_CASE("RFC 5032 WITHIN: OLDER and YOUNGER against INTERNALDATE", "[session][within][rfc5032]") {
    Server server;
    four_ages(server);
    Client c(server);
    // RFC 5032 4: "SEARCH UNSEEN YOUNGER 259200", the unseen messages of
    // the past three days (4 arrived after now: younger than any interval).
    CHECK(c.send("a1 SEARCH UNSEEN YOUNGER 259200\r\n") ==
          "* SEARCH 4\r\na1 OK SEARCH completed\r\n");
    CHECK(c.send("a2 SEARCH YOUNGER 259200\r\n") == "* SEARCH 2 3 4\r\na2 OK SEARCH completed\r\n");
    CHECK(c.send("a3 SEARCH OLDER 259200\r\n") == "* SEARCH 1\r\na3 OK SEARCH completed\r\n");
    CHECK(c.send("a4 SEARCH OLDER 86400\r\n") == "* SEARCH 1 2\r\na4 OK SEARCH completed\r\n");
    // Both: the messages between 1 and 3 days old.
    CHECK(c.send("a5 SEARCH OLDER 86400 YOUNGER 259200\r\n") ==
          "* SEARCH 2\r\na5 OK SEARCH completed\r\n");
    CHECK(c.send("a6 SEARCH NOT YOUNGER 7200\r\n") == "* SEARCH 1 2\r\na6 OK SEARCH completed\r\n");
    CHECK(c.send("a7 SEARCH OR OLDER 800000 YOUNGER 60\r\n") ==
          "* SEARCH 1 4\r\na7 OK SEARCH completed\r\n");
    // The UID and ESEARCH forms, SORT and THREAD take the keys too.
    CHECK(c.send("u1 UID SEARCH YOUNGER 259200\r\n") ==
          "* SEARCH 2 3 4\r\nu1 OK UID SEARCH completed\r\n");
    CHECK(c.send("e1 SEARCH RETURN (MIN COUNT) OLDER 3600\r\n") ==
          "* ESEARCH (TAG \"e1\") MIN 1 COUNT 3\r\ne1 OK SEARCH completed\r\n");
    CHECK(c.send("e2 UID SEARCH RETURN (ALL) YOUNGER 259200\r\n") ==
          "* ESEARCH (TAG \"e2\") UID ALL 2:4\r\ne2 OK UID SEARCH completed\r\n");
    CHECK(c.send("o1 SORT (REVERSE ARRIVAL) UTF-8 YOUNGER 259200\r\n") ==
          "* SORT 4 3 2\r\no1 OK SORT completed\r\n");
    CHECK(c.send("o2 SORT RETURN (ALL) (REVERSE ARRIVAL) UTF-8 OLDER 3000\r\n") ==
          "* ESEARCH (TAG \"o2\") ALL 3,2,1\r\no2 OK SORT completed\r\n");
    CHECK(c.send("t1 THREAD ORDEREDSUBJECT UTF-8 OLDER 86400\r\n") ==
          "* THREAD (1)(2)\r\nt1 OK THREAD completed\r\n");
    CHECK(c.send("t2 UID THREAD REFERENCES UTF-8 YOUNGER 3000\r\n") ==
          "* THREAD (4)\r\nt2 OK UID THREAD completed\r\n");
    // RFC 5032 3: the interval is an nz-number.
    CHECK(c.send("b1 SEARCH OLDER 0\r\n").starts_with("b1 BAD "));
    CHECK(c.send("b2 SEARCH YOUNGER x\r\n").starts_with("b2 BAD "));
    CHECK(c.send("b3 SEARCH YOUNGER\r\n").starts_with("b3 BAD "));
    // The largest interval reaches back before 1970: everything is younger.
    CHECK(c.send("m1 SEARCH YOUNGER 4294967295\r\n") ==
          "* SEARCH 1 2 3 4\r\nm1 OK SEARCH completed\r\n");
    CHECK(c.send("m2 SEARCH OLDER 4294967295\r\n") == "* SEARCH\r\nm2 OK SEARCH completed\r\n");
}

namespace {

// Ten messages, UIDs 1..10; 2, 4, 6, 8 and 10 \Flagged.
void ten(Server& server) {
    for (int i = 1; i <= 10; ++i)
        server.add(1700000000 + i, i % 2 == 0 ? store::flag::kFlagged : 0);
}

std::string flags_fetch(int sequence, int uid) {
    return "* " + std::to_string(sequence) + " FETCH (UID " + std::to_string(uid) + ")\r\n";
}

}  // namespace

TEST_CASE("RFC 5182 2.2 SEARCHRES examples: SAVE, then $ in FETCH and SEARCH",
          "[session][searchres][rfc5182]") {
    Server server;
    ten(server);
    Client c(server);
    // Example 1: SAVE alone writes no ESEARCH line.
    CHECK(c.send("A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n") ==
          "A282 OK SEARCH completed\r\n");
    CHECK(c.send("A283 FETCH $ (UID)\r\n") ==
          flags_fetch(2, 2) + flags_fetch(4, 4) + flags_fetch(6, 6) + flags_fetch(8, 8) +
              flags_fetch(10, 10) + "A283 OK FETCH completed\r\n");
    // Example 3: "$" as a search key and inside UID.
    CHECK(c.send("A301 UID SEARCH UID $ 5:*\r\n") ==
          "* SEARCH 6 8 10\r\nA301 OK UID SEARCH completed\r\n");
    CHECK(c.send("A302 UID SEARCH $ 5:*\r\n") ==
          "* SEARCH 6 8 10\r\nA302 OK UID SEARCH completed\r\n");
    // Example 4: combined with other numbers by OR.
    CHECK(c.send("P283 SEARCH CHARSET UTF-8 (OR $ 1,3) NOT 10\r\n") ==
          "* SEARCH 1 2 3 4 6 8\r\nP283 OK SEARCH completed\r\n");
    // UID FETCH, STORE and UID STORE, COPY and UID COPY, MOVE take "$".
    CHECK(c.send("u1 UID FETCH $ (UID)\r\n") ==
          flags_fetch(2, 2) + flags_fetch(4, 4) + flags_fetch(6, 6) + flags_fetch(8, 8) +
              flags_fetch(10, 10) + "u1 OK UID FETCH completed\r\n");
    CHECK(c.send("s1 STORE $ +FLAGS.SILENT (\\Seen)\r\n") == "s1 OK STORE completed\r\n");
    CHECK(c.send("s2 SEARCH SEEN\r\n") == "* SEARCH 2 4 6 8 10\r\ns2 OK SEARCH completed\r\n");
    CHECK(c.send("s3 UID STORE $ -FLAGS.SILENT (\\Seen)\r\n") == "s3 OK UID STORE completed\r\n");
    CHECK(c.send("s4 SEARCH SEEN\r\n") == "* SEARCH\r\ns4 OK SEARCH completed\r\n");
    CHECK(c.send("k1 CREATE Other\r\n") == "k1 OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("k2 COPY $ Other\r\n").ends_with(" COPY completed\r\n"));
    CHECK(c.send("k3 STATUS Other (MESSAGES)\r\n") ==
          "* STATUS Other (MESSAGES 5)\r\nk3 OK STATUS completed\r\n");
    // SORT and THREAD criteria take "$" too.
    CHECK(c.send("o1 SORT (REVERSE ARRIVAL) UTF-8 $\r\n") ==
          "* SORT 10 8 6 4 2\r\no1 OK SORT completed\r\n");
    CHECK(c.send("o2 UID THREAD ORDEREDSUBJECT UTF-8 $ 1:4\r\n") ==
          "* THREAD (2 4)\r\no2 OK UID THREAD completed\r\n");
    // MOVE of "$": the moved messages leave the view, and so "$".
    CHECK(c.send("m1 MOVE $ Other\r\n").ends_with("m1 OK MOVE completed\r\n"));
    CHECK(c.send("m2 FETCH $ (UID)\r\n") == "m2 OK FETCH completed\r\n");
    CHECK(c.send("m3 SEARCH $\r\n") == "* SEARCH\r\nm3 OK SEARCH completed\r\n");
}

TEST_CASE("RFC 5182 2.1: $ is empty before a SAVE and after SELECT, EXAMINE, CLOSE, UNSELECT",
          "[session][searchres][rfc5182]") {
    Server server;
    ten(server);
    Client c(server);
    // Example 6: the empty "$" is a valid set naming nothing.
    CHECK(c.send("e1 FETCH $ (UID)\r\n") == "e1 OK FETCH completed\r\n");
    CHECK(c.send("e2 SEARCH $\r\n") == "* SEARCH\r\ne2 OK SEARCH completed\r\n");
    CHECK(c.send("E283 COPY $ INBOX\r\n").starts_with("E283 OK "));
    CHECK(c.send("e3 UID EXPUNGE $\r\n") == "e3 OK UID EXPUNGE completed\r\n");
    const auto saved_flagged = [&c](const std::string& tag) {
        CHECK(c.send(tag + " SEARCH RETURN (SAVE) FLAGGED\r\n") ==
              tag + " OK SEARCH completed\r\n");
        CHECK(c.send(tag + "c SEARCH $\r\n") ==
              "* SEARCH 2 4 6 8 10\r\n" + tag + "c OK SEARCH completed\r\n");
    };
    saved_flagged("r1");
    CHECK(c.send("r2 SELECT INBOX\r\n").ends_with("r2 OK [READ-WRITE] SELECT completed\r\n"));
    CHECK(c.send("r3 SEARCH $\r\n") == "* SEARCH\r\nr3 OK SEARCH completed\r\n");
    saved_flagged("r4");
    CHECK(c.send("r5 EXAMINE INBOX\r\n").ends_with("r5 OK [READ-ONLY] EXAMINE completed\r\n"));
    CHECK(c.send("r6 SEARCH $\r\n") == "* SEARCH\r\nr6 OK SEARCH completed\r\n");
    saved_flagged("r7");
    CHECK(c.send("r8 UNSELECT\r\n") == "r8 OK UNSELECT completed\r\n");
    CHECK(c.send("r9 SELECT INBOX\r\n").ends_with("r9 OK [READ-WRITE] SELECT completed\r\n"));
    CHECK(c.send("r10 FETCH $ (UID)\r\n") == "r10 OK FETCH completed\r\n");
    saved_flagged("r11");
    CHECK(c.send("r12 CLOSE\r\n") == "r12 OK CLOSE completed\r\n");
    CHECK(c.send("r13 SELECT INBOX\r\n").ends_with("r13 OK [READ-WRITE] SELECT completed\r\n"));
    CHECK(c.send("r14 SEARCH $\r\n") == "* SEARCH\r\nr14 OK SEARCH completed\r\n");
    // Outside the selected state "$" is refused with the command.
    CHECK(c.send("r15 UNSELECT\r\n") == "r15 OK UNSELECT completed\r\n");
    CHECK(c.send("r16 FETCH $ (UID)\r\n").starts_with("r16 BAD "));
}

TEST_CASE(
    "RFC 5182 2.1: NO empties $ but BAD and SEARCH without SAVE keep it and expunged messages "
    "leave it",
    "[session][searchres][rfc5182]") {
    Server server;
    ten(server);
    Client c(server);
    CHECK(c.send("B282 SEARCH RETURN (SAVE) FLAGGED\r\n") == "B282 OK SEARCH completed\r\n");
    // BAD (a bad key, invalid UTF-8) and a SEARCH without SAVE keep it.
    CHECK(c.send("b1 SEARCH RETURN (SAVE) FOO\r\n").starts_with("b1 BAD "));
    CHECK(c.send("b2 SEARCH RETURN (SAVE) CHARSET UTF-8 BODY \"\xff\"\r\n").starts_with("b2 BAD "));
    CHECK(c.send("b3 SEARCH RETURN (ALL) 1:3\r\n") ==
          "* ESEARCH (TAG \"b3\") ALL 1:3\r\nb3 OK SEARCH completed\r\n");
    CHECK(c.send("b4 SEARCH KOI8-R\r\n").starts_with("b4 BAD "));
    CHECK(c.send("b5 SEARCH CHARSET KOI8-R ALL\r\n").starts_with("b5 NO [BADCHARSET"));
    CHECK(c.send("b6 SEARCH $\r\n") == "* SEARCH 2 4 6 8 10\r\nb6 OK SEARCH completed\r\n");
    // Expunged messages leave "$" (kept as UIDs: no renumbering to do).
    CHECK(c.send("x1 STORE 2,3 +FLAGS.SILENT (\\Deleted)\r\n") == "x1 OK STORE completed\r\n");
    CHECK(c.send("x2 EXPUNGE\r\n") ==
          "* 2 EXPUNGE\r\n* 2 EXPUNGE\r\n* 8 RECENT\r\nx2 OK EXPUNGE completed\r\n");
    CHECK(c.send("x3 SEARCH $\r\n") == "* SEARCH 2 4 6 8\r\nx3 OK SEARCH completed\r\n");
    CHECK(c.send("x4 UID SEARCH $\r\n") == "* SEARCH 4 6 8 10\r\nx4 OK UID SEARCH completed\r\n");
    // Example 5: a SAVE answered NO empties it.
    CHECK(c.send("B283 SEARCH RETURN (SAVE) CHARSET KOI8-R (OR $ 1,3000:3021) TEXT x\r\n")
              .starts_with("B283 NO [BADCHARSET"));
    CHECK(c.send("b7 SEARCH $\r\n") == "* SEARCH\r\nb7 OK SEARCH completed\r\n");
}

TEST_CASE("RFC 5182 2.4 example 10: SAVE with MIN, MAX, ALL and COUNT",
          "[session][searchres][rfc5182][esearch]") {
    Server server;
    ten(server);
    Client c(server);
    const auto saved = [&c](const std::string& tag) { return c.send(tag + " SEARCH $\r\n"); };
    CHECK(c.send("C283 SEARCH RETURN (ALL SAVE) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"C283\") ALL 2,4,6,8,10\r\nC283 OK SEARCH completed\r\n");
    CHECK(saved("v1") == "* SEARCH 2 4 6 8 10\r\nv1 OK SEARCH completed\r\n");
    CHECK(c.send("C284 SEARCH RETURN (SAVE MIN) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"C284\") MIN 2\r\nC284 OK SEARCH completed\r\n");
    CHECK(saved("v2") == "* SEARCH 2\r\nv2 OK SEARCH completed\r\n");
    CHECK(c.send("C285 SEARCH RETURN (MAX SAVE MIN) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"C285\") MIN 2 MAX 10\r\nC285 OK SEARCH completed\r\n");
    CHECK(saved("v3") == "* SEARCH 2 10\r\nv3 OK SEARCH completed\r\n");
    CHECK(c.send("C286 SEARCH RETURN (MAX SAVE MIN COUNT) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"C286\") MIN 2 MAX 10 COUNT 5\r\nC286 OK SEARCH completed\r\n");
    CHECK(saved("v4") == "* SEARCH 2 4 6 8 10\r\nv4 OK SEARCH completed\r\n");
    CHECK(c.send("C287 SEARCH RETURN (MAX SAVE) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"C287\") MAX 10\r\nC287 OK SEARCH completed\r\n");
    CHECK(saved("v5") == "* SEARCH 10\r\nv5 OK SEARCH completed\r\n");
    // Nothing found: "$" is empty (2.1).
    CHECK(c.send("C288 SEARCH RETURN (SAVE MIN) DELETED\r\n") ==
          "* ESEARCH (TAG \"C288\")\r\nC288 OK SEARCH completed\r\n");
    CHECK(saved("v6") == "* SEARCH\r\nv6 OK SEARCH completed\r\n");
    // SORT RETURN (SAVE MIN): the first in sort order.
    CHECK(c.send("o1 SORT RETURN (SAVE MIN) (REVERSE ARRIVAL) UTF-8 FLAGGED\r\n") ==
          "* ESEARCH (TAG \"o1\") MIN 10\r\no1 OK SORT completed\r\n");
    CHECK(saved("v7") == "* SEARCH 10\r\nv7 OK SEARCH completed\r\n");
    // A new SAVE replaces the old one (example 9); "$" in its own criteria
    // is the previous value.
    CHECK(c.send("H283 SEARCH RETURN (SAVE) OR $ 1\r\n") == "H283 OK SEARCH completed\r\n");
    CHECK(saved("v8") == "* SEARCH 1 10\r\nv8 OK SEARCH completed\r\n");
}

TEST_CASE("RFC 5182 2.3: commands pipelined after SEARCH SAVE use its result",
          "[session][searchres][rfc5182][pipelining]") {
    Server server;
    ten(server);
    Client c(server);
    // Example 7 and 2, in one read: each runs after the one before it.
    CHECK(c.send("k CREATE Spam\r\n") == "k OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("F282 SEARCH RETURN (SAVE) FLAGGED\r\n"
                 "F283 COPY $ Spam\r\n"
                 "F284 STORE $ +FLAGS.SILENT (\\Deleted)\r\n"
                 "A283 FETCH $ (UID)\r\n"
                 "F285 SEARCH RETURN (SAVE) 1\r\n"
                 "F286 FETCH $ (UID)\r\n") ==
          "F282 OK SEARCH completed\r\n"
          "F283 OK [COPYUID " +
              std::to_string(server.store().open_mailbox("Spam").uidvalidity) +
              " 2,4,6,8,10 1:5] COPY completed\r\n"
              "F284 OK STORE completed\r\n" +
              flags_fetch(2, 2) + flags_fetch(4, 4) + flags_fetch(6, 6) + flags_fetch(8, 8) +
              flags_fetch(10, 10) + "A283 OK FETCH completed\r\nF285 OK SEARCH completed\r\n" +
              flags_fetch(1, 1) + "F286 OK FETCH completed\r\n");
}

TEST_CASE("RFC 9394 3.1 PARTIAL in SEARCH, UID SEARCH and SORT", "[session][partial][rfc9394]") {
    Server server;
    ten(server);
    Client c(server);
    CHECK(c.send("A01 UID SEARCH RETURN (PARTIAL -1:-3) UNDELETED\r\n") ==
          "* ESEARCH (TAG \"A01\") UID PARTIAL (-1:-3 8:10)\r\nA01 OK UID SEARCH completed\r\n");
    CHECK(c.send("A03 UID SEARCH RETURN (PARTIAL 1:3) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A03\") UID PARTIAL (1:3 2,4,6)\r\nA03 OK UID SEARCH completed\r\n");
    // A range spanning the end of the results; one beyond it: NIL.
    CHECK(c.send("A02 UID SEARCH RETURN (PARTIAL 4:100) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A02\") UID PARTIAL (4:100 8,10)\r\nA02 OK UID SEARCH completed\r\n");
    CHECK(c.send("A04 UID SEARCH RETURN (PARTIAL 6:10) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A04\") UID PARTIAL (6:10 NIL)\r\nA04 OK UID SEARCH completed\r\n");
    CHECK(c.send("A05 SEARCH RETURN (PARTIAL -6:-9) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A05\") PARTIAL (-6:-9 NIL)\r\nA05 OK SEARCH completed\r\n");
    CHECK(c.send("A06 SEARCH RETURN (PARTIAL -3:-100) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A06\") PARTIAL (-3:-100 2,4,6)\r\nA06 OK SEARCH completed\r\n");
    // 500:400 is 400:500; the answer repeats the request.
    CHECK(c.send("A07 SEARCH RETURN (PARTIAL 3:2) ALL\r\n") ==
          "* ESEARCH (TAG \"A07\") PARTIAL (3:2 2:3)\r\nA07 OK SEARCH completed\r\n");
    // No match at all: NIL.
    CHECK(c.send("A08 SEARCH RETURN (PARTIAL 1:5) DELETED\r\n") ==
          "* ESEARCH (TAG \"A08\") PARTIAL (1:5 NIL)\r\nA08 OK SEARCH completed\r\n");
    // With MIN, MAX and COUNT (3.2).
    CHECK(c.send("A09 SEARCH RETURN (MIN MAX COUNT PARTIAL 2:3) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A09\") MIN 2 MAX 10 COUNT 5 PARTIAL (2:3 4,6)\r\n"
          "A09 OK SEARCH completed\r\n");
    // Sequence numbers after an expunge.
    CHECK(c.send("x1 STORE 1 +FLAGS.SILENT (\\Deleted)\r\n") == "x1 OK STORE completed\r\n");
    CHECK(c.send("x2 EXPUNGE\r\n") == "* 1 EXPUNGE\r\n* 9 RECENT\r\nx2 OK EXPUNGE completed\r\n");
    CHECK(c.send("A10 SEARCH RETURN (PARTIAL -1:-2) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A10\") PARTIAL (-1:-2 7,9)\r\nA10 OK SEARCH completed\r\n");
    // ESORT: counted in sort order, written in it.
    CHECK(c.send("o1 UID SORT RETURN (PARTIAL 1:3) (REVERSE ARRIVAL) UTF-8 ALL\r\n") ==
          "* ESEARCH (TAG \"o1\") UID PARTIAL (1:3 10,9,8)\r\no1 OK UID SORT completed\r\n");
    CHECK(c.send("o2 SORT RETURN (COUNT PARTIAL -1:-2) (REVERSE ARRIVAL) UTF-8 ALL\r\n") ==
          "* ESEARCH (TAG \"o2\") COUNT 9 PARTIAL (-1:-2 2,1)\r\no2 OK SORT completed\r\n");
    // A bad range, PARTIAL with ALL, twice: BAD (RFC 9394 3.1, 4).
    for (const char* bad : {"PARTIAL 0:5", "PARTIAL -1:5", "PARTIAL 1:-5", "PARTIAL 1", "PARTIAL",
                            "PARTIAL *:5", "ALL PARTIAL 1:5", "PARTIAL 1:5 ALL",
                            "PARTIAL 1:2 PARTIAL 3:4", "PARTIAL 1:4294967296"}) {
        INFO(bad);
        CHECK(c.send("b SEARCH RETURN (" + std::string(bad) + ") ALL\r\n").starts_with("b BAD "));
    }
    CHECK(c.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
}

TEST_CASE("RFC 9394 3.2: SAVE with PARTIAL keeps what PARTIAL, MIN and MAX return",
          "[session][partial][searchres][rfc9394]") {
    Server server;
    ten(server);
    Client c(server);
    const auto saved = [&c](const std::string& tag) { return c.send(tag + " UID SEARCH $\r\n"); };
    CHECK(c.send("p1 SEARCH RETURN (SAVE PARTIAL 2:3) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"p1\") PARTIAL (2:3 4,6)\r\np1 OK SEARCH completed\r\n");
    CHECK(saved("v1") == "* SEARCH 4 6\r\nv1 OK UID SEARCH completed\r\n");
    CHECK(c.send("p2 SEARCH RETURN (SAVE MAX PARTIAL 1:2) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"p2\") MAX 10 PARTIAL (1:2 2,4)\r\np2 OK SEARCH completed\r\n");
    CHECK(saved("v2") == "* SEARCH 2 4 10\r\nv2 OK UID SEARCH completed\r\n");
    CHECK(c.send("p3 SEARCH RETURN (SAVE MIN MAX PARTIAL -2:-2) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"p3\") MIN 2 MAX 10 PARTIAL (-2:-2 8)\r\np3 OK SEARCH completed\r\n");
    CHECK(saved("v3") == "* SEARCH 2 8 10\r\nv3 OK UID SEARCH completed\r\n");
    CHECK(c.send("p4 SEARCH RETURN (SAVE COUNT PARTIAL 1:1) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"p4\") COUNT 5 PARTIAL (1:1 2)\r\np4 OK SEARCH completed\r\n");
    CHECK(saved("v4") == "* SEARCH 2 4 6 8 10\r\nv4 OK UID SEARCH completed\r\n");
}

TEST_CASE("Hostile: the saved result is one set no larger than the view",
          "[session][searchres][hostile]") {
    // 4,000 messages, every other one \Flagged: "$" of FLAGGED is 2,000
    // ranges, the worst a set of this view can be. Used by 200 pipelined
    // commands, each resolves it once against the view.
    Server server;
    store::MailStore& mail = server.store();
    const auto inbox = mail.open_mailbox("INBOX").id;
    for (int i = 1; i <= 4000; ++i) {
        store::AppendRequest request;
        request.message = "Subject: x\r\n\r\nx\r\n";
        request.internal_date = 1700000000;
        request.flags.system = i % 2 == 0 ? store::flag::kFlagged : 0;
        mail.append(inbox, request);
    }
    Client c(server);
    const auto start = std::chrono::steady_clock::now();
    CHECK(c.send("h1 SEARCH RETURN (SAVE COUNT) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"h1\") COUNT 2000\r\nh1 OK SEARCH completed\r\n");
    std::string burst;
    for (int i = 0; i < 200; ++i)
        burst += "p" + std::to_string(i) + " UID SEARCH RETURN (COUNT) $ 1:1000\r\n";
    const std::string answers = c.send(burst);
    CHECK(answers.ends_with(
        "* ESEARCH (TAG \"p199\") UID COUNT 500\r\np199 OK UID SEARCH completed\r\n"));
    CHECK(std::chrono::steady_clock::now() - start < imap::test::kHostileTimeBound);
    // The session and a fresh client still answer.
    CHECK(c.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
    Client fresh(server);
    CHECK(fresh.send("f SEARCH RETURN (COUNT) $\r\n") ==
          "* ESEARCH (TAG \"f\") COUNT 0\r\nf OK SEARCH completed\r\n");
}
