// Two sessions on one mailbox, byte for byte through the Session: SEARCH
// with message numbers past EXISTS (RFC 3501 6.4.4), the ESEARCH MODSEQ of
// RFC 4731 3.2, and "* n RECENT" after expunges (RFC 3501 7.3.2). Expected answers follow Dovecot
// 2.3's to the same conversation except where a comment says otherwise
// (docs/rfc-coverage.md lists the differences).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/user_mail.h"
#include "store/data_dir.h"
#include "store/mail_store.h"
#include "support/session_driver.h"

using imap::server::UserMailRegistry;
using imap::test::drain;
using imap::test::SessionDriver;
namespace store = imap::store;
namespace flag = imap::store::flag;

namespace {

std::string n(std::uint64_t value) {
    return std::to_string(value);
}

// "Subject: m<i>" CRLF CRLF "body <i>" CRLF: 23 bytes for i < 10.
std::string raw(int i) {
    return "Subject: m" + n(static_cast<std::uint64_t>(i)) + "\r\n\r\nbody " +
           n(static_cast<std::uint64_t>(i)) + "\r\n";
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
        const auto rows = store().fetch(inbox(), store::UidSpan(&one, 1));
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
