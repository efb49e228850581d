// ENABLE (RFC 5161), CONDSTORE and QRESYNC (RFC 7162), byte for byte
// through the Session: the RFC's examples adapted to this server's modseqs
// (read back from the store, since every change takes the next one), and a
// device switch where one client catches up with another's changes through
// SELECT (QRESYNC ...).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/session_driver.h"

using imap::server::UserMailRegistry;
using imap::test::SessionDriver;
namespace store = imap::store;
namespace flag = imap::store::flag;

namespace {

store::MailStore& store_of(SessionDriver& d) {
    return d.session.mail()->store();
}

store::MailboxInfo mailbox(SessionDriver& d, std::string_view name = "INBOX") {
    auto info = store_of(d).find_mailbox(name);
    REQUIRE(info);
    return *info;
}

std::uint32_t put(SessionDriver& d, std::uint32_t flags = 0, std::string_view box = "INBOX") {
    static int counter = 0;
    const std::string raw = "Subject: m" + std::to_string(++counter) + "\r\n\r\nbody\r\n";
    store::AppendRequest request;
    request.message = raw;
    request.internal_date = 760000000;
    request.flags.system = flags;
    return store_of(d).append(mailbox(d, box).id, request);
}

// The mailbox's HIGHESTMODSEQ and one message's MODSEQ, as the store has them.
std::uint64_t highest(SessionDriver& d, std::string_view box = "INBOX") {
    return mailbox(d, box).highestmodseq;
}
std::uint64_t modseq_of(SessionDriver& d, std::uint32_t uid, std::string_view box = "INBOX") {
    const store::UidRange one{uid, uid};
    auto rows = store_of(d).fetch(mailbox(d, box).id, store::UidSpan(&one, 1));
    REQUIRE(rows.size() == 1);
    return rows.front().modseq;
}
std::string n(std::uint64_t value) {
    return std::to_string(value);
}

// SELECT's responses for a mailbox without keywords and without \Recent
// messages (the fixture's first session claimed them), read-write.
std::string select_lines(std::uint32_t exists, std::optional<std::uint32_t> unseen,
                         std::uint32_t uidvalidity, std::uint32_t uidnext) {
    std::string out =
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags "
        "permitted.\r\n"
        "* " +
        n(exists) + " EXISTS\r\n* 0 RECENT\r\n";
    if (unseen) out += "* OK [UNSEEN " + n(*unseen) + "] First unseen.\r\n";
    out += "* OK [UIDVALIDITY " + n(uidvalidity) + "] UIDs valid\r\n";
    out += "* OK [UIDNEXT " + n(uidnext) + "] Predicted next UID\r\n";
    return out;
}
std::string highest_line(std::uint64_t modseq) {
    return "* OK [HIGHESTMODSEQ " + n(modseq) + "] Highest\r\n";
}
const std::string kClosed = "* OK [CLOSED] Previous mailbox closed.\r\n";
// RFC 8474 4.2's line, its value masked (SessionDriver::mask_object_ids).
const std::string kMailboxIdLine = "* OK [MAILBOXID (*)] Ok\r\n";
// What SELECT sends after UIDNEXT with CONDSTORE on.
std::string select_highest(std::uint64_t modseq) {
    return highest_line(modseq) + kMailboxIdLine;
}

// One server, a session `a` logged in, and INBOX with five messages (UIDs
// 1-5): 1 \Seen, 2 \Flagged, 3 none, 4 \Seen \Deleted, 5 none. Their
// \Recent was claimed by a SELECT that ended, so no session sees it.
struct Five {
    UserMailRegistry mail{store::DataDir::in_memory()};
    SessionDriver a{mail};
    std::uint32_t uidvalidity = 0;
    Five() {
        a.login();
        put(a, flag::kSeen);
        put(a, flag::kFlagged);
        put(a);
        put(a, flag::kSeen | flag::kDeleted);
        put(a);
        a.send("x SELECT INBOX\r\n");
        a.send("x UNSELECT\r\n");
        uidvalidity = mailbox(a).uidvalidity;
    }
    // A second connection of the same user.
    SessionDriver& other() {
        if (!b_) {
            b_ = std::make_unique<SessionDriver>(mail);
            b_->login();
        }
        return *b_;
    }

  private:
    std::unique_ptr<SessionDriver> b_;
};

}  // namespace

// =====================================================================
// ENABLE (RFC 5161) and CAPABILITY
// =====================================================================

TEST_CASE("RFC 5161: ENABLE lists what it enabled, ignores unknown names", "[session][enable]") {
    Five f;
    CHECK(f.a.send("a ENABLE CONDSTORE X-UNKNOWN QRESYNC\r\n") ==
          "* ENABLED CONDSTORE QRESYNC\r\na OK ENABLE completed\r\n");
    CHECK(f.a.session.condstore_enabled());
    CHECK(f.a.session.qresync_enabled());
    // Already enabled: nothing new to list.
    CHECK(f.a.send("b ENABLE QRESYNC\r\n") == "* ENABLED\r\nb OK ENABLE completed\r\n");
    // An extension that needs no enabling is ignored (RFC 5161 3.1).
    CHECK(f.a.send("c enable idle\r\n") == "* ENABLED\r\nc OK ENABLE completed\r\n");
}

TEST_CASE("RFC 7162 3.2.3: ENABLE QRESYNC implies CONDSTORE, in either order",
          "[session][enable]") {
    Five f;
    CHECK(f.a.send("a ENABLE QRESYNC\r\n") == "* ENABLED QRESYNC\r\na OK ENABLE completed\r\n");
    CHECK(f.a.session.condstore_enabled());
    SessionDriver& b = f.other();
    CHECK(b.send("a ENABLE QRESYNC CONDSTORE\r\n") ==
          "* ENABLED QRESYNC CONDSTORE\r\na OK ENABLE completed\r\n");
}

TEST_CASE("RFC 5161 3.1: ENABLE is valid in the authenticated state only", "[session][enable]") {
    Five f;
    f.a.send("s SELECT INBOX\r\n");
    CHECK(f.a.send("a ENABLE CONDSTORE\r\n") ==
          "a BAD ENABLE is not valid in the selected state\r\n");
    CHECK_FALSE(f.a.session.condstore_enabled());
    SessionDriver fresh;
    fresh.greeting();
    CHECK(fresh.send("a ENABLE CONDSTORE\r\n") ==
          "a BAD ENABLE is not valid in the not authenticated state\r\n");
}

TEST_CASE("RFC 7162 3.1.1 and 3.2.2: CAPABILITY lists ENABLE, CONDSTORE and QRESYNC",
          "[session][enable]") {
    Five f;
    const std::string caps = f.a.send("a CAPABILITY\r\n");
    CHECK_THAT(caps, Catch::Matchers::Contains(" ENABLE"));
    CHECK_THAT(caps, Catch::Matchers::Contains(" CONDSTORE"));
    CHECK_THAT(caps, Catch::Matchers::Contains(" QRESYNC"));
}

// =====================================================================
// CONDSTORE (RFC 7162 3.1)
// =====================================================================

TEST_CASE("RFC 7162 3.1.2.1 example: SELECT after ENABLE CONDSTORE sends HIGHESTMODSEQ",
          "[session][condstore]") {
    Five f;
    // A plain session's SELECT is unchanged.
    CHECK(f.a.send("a SELECT INBOX\r\n") == select_lines(5, 2, f.uidvalidity, 6) + kMailboxIdLine +
                                                "a OK [READ-WRITE] SELECT completed\r\n");
    f.a.send("u UNSELECT\r\n");
    f.a.send("e ENABLE CONDSTORE\r\n");
    CHECK(f.a.send("A142 SELECT INBOX\r\n") == select_lines(5, 2, f.uidvalidity, 6) +
                                                   select_highest(highest(f.a)) +
                                                   "A142 OK [READ-WRITE] SELECT completed\r\n");
}

TEST_CASE("RFC 7162 3.1.8 example: SELECT INBOX (CONDSTORE) enables CONDSTORE",
          "[session][condstore]") {
    Five f;
    CHECK(f.a.send("A142 SELECT INBOX (CONDSTORE)\r\n") ==
          select_lines(5, 2, f.uidvalidity, 6) + select_highest(highest(f.a)) +
              "A142 OK [READ-WRITE] SELECT completed\r\n");
    CHECK(f.a.session.condstore_enabled());
    CHECK(f.a.send("b EXAMINE INBOX (CONDSTORE)\r\n").find(highest_line(highest(f.a))) !=
          std::string::npos);
}

TEST_CASE(
    "RFC 7162 3.1.3 example 3: UID STORE UNCHANGEDSINCE, all pass, .SILENT still reports MODSEQ",
    "[session][condstore]") {
    Five f;
    f.a.send("s SELECT INBOX (CONDSTORE)\r\n");
    const std::uint64_t before = highest(f.a);
    const std::string out = f.a.send("a103 UID STORE 5,3,2 (UNCHANGEDSINCE " + n(before) +
                                     ") +FLAGS.SILENT (\\Deleted)\r\n");
    const std::uint64_t m = highest(f.a);
    CHECK(m > before);
    CHECK(out == "* 2 FETCH (UID 2 MODSEQ (" + n(m) + "))\r\n* 3 FETCH (UID 3 MODSEQ (" + n(m) +
                     "))\r\n* 5 FETCH (UID 5 MODSEQ (" + n(m) +
                     "))\r\na103 OK UID STORE completed\r\n");
}

TEST_CASE("RFC 7162 3.1.3 example 5: the first enabling command while selected sends HIGHESTMODSEQ",
          "[session][condstore]") {
    Five f;
    f.a.send("s SELECT INBOX\r\n");
    const std::uint64_t before = highest(f.a);
    const std::string out =
        f.a.send("c101 STORE 4 (UNCHANGEDSINCE " + n(before) + ") -FLAGS.SILENT (\\Deleted)\r\n");
    CHECK(out == highest_line(before) + "* 4 FETCH (UID 4 MODSEQ (" + n(highest(f.a)) +
                     "))\r\nc101 OK STORE completed\r\n");
    // Only the first: the next one sends no HIGHESTMODSEQ.
    CHECK(f.a.send("d FETCH 1 (MODSEQ)\r\n") ==
          "* 1 FETCH (MODSEQ (" + n(modseq_of(f.a, 1)) + "))\r\nd OK FETCH completed\r\n");
}

TEST_CASE("RFC 7162 3.1.3 example 6: conflicts give MODIFIED and the failed messages' FETCH",
          "[session][condstore]") {
    Five f;
    f.a.send("s SELECT INBOX (CONDSTORE)\r\n");
    const std::uint64_t known = highest(f.a);
    // Another client changes messages 3 and 5 after `known`.
    SessionDriver& b = f.other();
    b.send("s SELECT INBOX\r\n");
    b.send("t STORE 3 +FLAGS (\\Answered)\r\n");
    b.send("t STORE 5 +FLAGS (\\Seen)\r\n");
    const std::uint64_t m3 = modseq_of(f.a, 3);
    const std::uint64_t m5 = modseq_of(f.a, 5);
    const std::string out = f.a.send("d105 STORE 3,2,5 (UNCHANGEDSINCE " + n(known) +
                                     ") +FLAGS.SILENT (\\Deleted)\r\n");
    const std::uint64_t m2 = modseq_of(f.a, 2);
    CHECK(m2 > m5);
    // Message 2 changed (.SILENT: UID and MODSEQ only); 3 and 5 were left
    // alone and come with their current flags (RFC 7162 Example 7's form).
    CHECK(out == "* 2 FETCH (UID 2 MODSEQ (" + n(m2) + "))\r\n" +
                     "* 3 FETCH (UID 3 FLAGS (\\Answered) MODSEQ (" + n(m3) + "))\r\n" +
                     "* 5 FETCH (UID 5 FLAGS (\\Seen) MODSEQ (" + n(m5) + "))\r\n" +
                     "d105 OK [MODIFIED 3,5] Conditional STORE failed\r\n");
    // Nothing was changed on them, and NOOP does not report them again.
    CHECK(modseq_of(f.a, 3) == m3);
    CHECK(f.a.send("e NOOP\r\n") == "e OK NOOP completed\r\n");
    // UID STORE lists UIDs; after an EXPUNGE they differ from numbers.
    f.a.send("x UID STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    f.a.send("y EXPUNGE\r\n");
    const std::string uid_out =
        f.a.send("f UID STORE 5 (UNCHANGEDSINCE 1) +FLAGS.SILENT (\\Flagged)\r\n");
    CHECK_THAT(uid_out,
               Catch::Matchers::EndsWith("f OK [MODIFIED 5] Conditional UID STORE failed\r\n"));
    const std::string seq_out =
        f.a.send("g STORE 1 (UNCHANGEDSINCE 1) +FLAGS.SILENT (\\Flagged)\r\n");
    CHECK_THAT(seq_out, Catch::Matchers::StartsWith("* 1 FETCH (UID 3 FLAGS"));
    CHECK_THAT(seq_out,
               Catch::Matchers::EndsWith("g OK [MODIFIED 1] Conditional STORE failed\r\n"));
}

TEST_CASE("RFC 7162 3.1.3 example 8: UNCHANGEDSINCE 0 always fails", "[session][condstore]") {
    Five f;
    f.a.send("s SELECT INBOX (CONDSTORE)\r\n");
    const std::uint64_t m = modseq_of(f.a, 3);
    CHECK(f.a.send("a102 STORE 3 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)\r\n") ==
          "* 3 FETCH (UID 3 FLAGS () MODSEQ (" + n(m) + "))\r\n" +
              "a102 OK [MODIFIED 3] Conditional STORE failed\r\n");
    CHECK(modseq_of(f.a, 3) == m);
}

TEST_CASE("RFC 7162 3.1.3: a STORE that changes nothing keeps the modseq and sends no FETCH",
          "[session][condstore]") {
    Five f;
    f.a.send("s SELECT INBOX (CONDSTORE)\r\n");
    const std::uint64_t m = modseq_of(f.a, 1);
    CHECK(f.a.send("a STORE 1 (UNCHANGEDSINCE " + n(highest(f.a)) + ") +FLAGS (\\Seen)\r\n") ==
          "a OK STORE completed\r\n");
    CHECK(modseq_of(f.a, 1) == m);
    // Without UNCHANGEDSINCE, once CONDSTORE is on, the FETCH has MODSEQ.
    const std::string out = f.a.send("b STORE 1 -FLAGS (\\Seen)\r\n");
    CHECK(out == "* 1 FETCH (UID 1 FLAGS () MODSEQ (" + n(modseq_of(f.a, 1)) +
                     "))\r\nb OK STORE completed\r\n");
}

TEST_CASE("RFC 7162 3.1.4 example 12: FETCH CHANGEDSINCE returns only newer messages, with MODSEQ",
          "[session][condstore]") {
    Five f;
    f.a.send("s SELECT INBOX\r\n");
    const std::uint64_t since = highest(f.a);
    SessionDriver& b = f.other();
    b.send("s SELECT INBOX\r\n");
    b.send("t STORE 2 -FLAGS (\\Flagged)\r\n");
    b.send("t STORE 4 +FLAGS ($Junk)\r\n");
    const std::string out =
        f.a.send("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + n(since) + ")\r\n");
    // CHANGEDSINCE enabled CONDSTORE: the HIGHESTMODSEQ the client may rely
    // on first, then the two changed messages. The sync at the end announces
    // the new keyword and does not report the two messages again.
    CHECK(out == highest_line(since) + "* 2 FETCH (UID 2 FLAGS () MODSEQ (" + n(modseq_of(f.a, 2)) +
                     "))\r\n" + "* 4 FETCH (UID 4 FLAGS (\\Deleted \\Seen $Junk) MODSEQ (" +
                     n(modseq_of(f.a, 4)) + "))\r\n" +
                     "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n" +
                     "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk "
                     "\\*)] Flags permitted.\r\n" +
                     "s100 OK UID FETCH completed\r\n");
    // Nothing changed since now: no FETCH at all, and no EXPUNGEISSUED.
    CHECK(f.a.send("a FETCH 1:5 (FLAGS) (CHANGEDSINCE " + n(highest(f.a)) + ")\r\n") ==
          "a OK FETCH completed\r\n");
}

TEST_CASE("RFC 7162 3.1.4.2 example 13: FETCH MODSEQ, and MODSEQ with FLAGS once enabled",
          "[session][condstore]") {
    Five f;
    f.a.send("s SELECT INBOX\r\n");
    CHECK(f.a.send("a FETCH 1:3 (MODSEQ)\r\n") ==
          highest_line(highest(f.a)) + "* 1 FETCH (MODSEQ (" + n(modseq_of(f.a, 1)) + "))\r\n" +
              "* 2 FETCH (MODSEQ (" + n(modseq_of(f.a, 2)) + "))\r\n" + "* 3 FETCH (MODSEQ (" +
              n(modseq_of(f.a, 3)) + "))\r\na OK FETCH completed\r\n");
    CHECK(f.a.send("b FETCH 2 (FLAGS UID)\r\n") == "* 2 FETCH (FLAGS (\\Flagged) UID 2 MODSEQ (" +
                                                       n(modseq_of(f.a, 2)) +
                                                       "))\r\nb OK FETCH completed\r\n");
    // A FETCH that sets \Seen reports FLAGS with UID and MODSEQ (3.2.4).
    const std::string out = f.a.send("c FETCH 3 (BODY[])\r\n");
    CHECK_THAT(out, Catch::Matchers::StartsWith("* 3 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (" +
                                                n(modseq_of(f.a, 3)) + ") BODY[] {"));
}

TEST_CASE("RFC 7162 3.1.4.2 example 14: another session's change arrives with UID and MODSEQ",
          "[session][condstore]") {
    Five f;
    f.a.send("s SELECT INBOX (CONDSTORE)\r\n");
    SessionDriver& b = f.other();
    b.send("s SELECT INBOX\r\n");
    // b is a plain session: its own STORE response has no MODSEQ.
    CHECK(b.send("A160 STORE 3 +FLAGS (\\Deleted)\r\n") ==
          "* 3 FETCH (FLAGS (\\Deleted))\r\nA160 OK STORE completed\r\n");
    CHECK(f.a.send("C180 NOOP\r\n") == "* 3 FETCH (UID 3 FLAGS (\\Deleted) MODSEQ (" +
                                           n(modseq_of(f.a, 3)) +
                                           "))\r\nC180 OK NOOP completed\r\n");
    // ...and b's NOOP after a's change has no MODSEQ either.
    f.a.send("t STORE 3 -FLAGS.SILENT (\\Deleted)\r\n");
    CHECK(b.send("D210 NOOP\r\n") == "* 3 FETCH (FLAGS ())\r\nD210 OK NOOP completed\r\n");
}

TEST_CASE("RFC 7162 3.1.5 examples 15 and 16: SEARCH MODSEQ appends the highest modseq",
          "[session][condstore]") {
    Five f;
    f.a.send("s SELECT INBOX\r\n");
    const std::uint64_t since = highest(f.a);
    f.a.send("t STORE 2,5 +FLAGS.SILENT (\\Draft)\r\n");
    f.a.send("t STORE 5 +FLAGS.SILENT (\\Answered)\r\n");
    // The first enabling command while selected: HIGHESTMODSEQ first.
    CHECK(f.a.send("a SEARCH MODSEQ \"/flags/\\\\draft\" all " + n(since + 1) + "\r\n") ==
          highest_line(highest(f.a)) + "* SEARCH 2 5 (MODSEQ " + n(modseq_of(f.a, 5)) +
              ")\r\na OK SEARCH completed\r\n");
    CHECK(f.a.send("b UID SEARCH MODSEQ " + n(modseq_of(f.a, 5)) + " ALL\r\n") ==
          "* SEARCH 5 (MODSEQ " + n(modseq_of(f.a, 5)) + ")\r\nb OK UID SEARCH completed\r\n");
    CHECK(f.a.send("t SEARCH OR NOT MODSEQ 1 LARGER 50000\r\n") ==
          "* SEARCH\r\nt OK SEARCH completed\r\n");
    // Without a MODSEQ criterion the response is as before.
    CHECK(f.a.send("c SEARCH DRAFT\r\n") == "* SEARCH 2 5\r\nc OK SEARCH completed\r\n");
}

TEST_CASE("RFC 7162 3.1.7 example 17: STATUS HIGHESTMODSEQ", "[session][condstore]") {
    Five f;
    f.a.send("c CREATE blurdybloop\r\n");
    put(f.a, 0, "blurdybloop");
    CHECK(f.a.send("A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)\r\n") ==
          "* STATUS blurdybloop (MESSAGES 1 UIDNEXT 2 HIGHESTMODSEQ " +
              n(highest(f.a, "blurdybloop")) + ")\r\nA042 OK STATUS completed\r\n");
    CHECK(f.a.session.condstore_enabled());
}

// =====================================================================
// QRESYNC (RFC 7162 3.2)
// =====================================================================

TEST_CASE("RFC 7162 3.2.5: SELECT (QRESYNC ...) without ENABLE QRESYNC is BAD",
          "[session][qresync]") {
    Five f;
    f.a.send("e ENABLE CONDSTORE\r\n");
    CHECK(f.a.send("a SELECT INBOX (QRESYNC (" + n(f.uidvalidity) + " 1))\r\n") ==
          "a BAD QRESYNC is not enabled (ENABLE QRESYNC first)\r\n");
    CHECK(f.a.session.selected() == nullptr);
    f.a.send("s SELECT INBOX\r\n");
    CHECK(f.a.send("b UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n") ==
          "b BAD UID FETCH: VANISHED needs QRESYNC enabled (RFC 7162 3.2.6)\r\n");
}

TEST_CASE("RFC 7162 3.2.5 example: a stale UIDVALIDITY gets the plain SELECT responses",
          "[session][qresync]") {
    Five f;
    f.a.send("e ENABLE QRESYNC\r\n");
    f.a.send("t SELECT INBOX\r\n");
    f.a.send("t STORE 4 +FLAGS.SILENT (\\Deleted)\r\n");
    f.a.send("t EXPUNGE\r\n");
    CHECK(f.a.send("A02 SELECT INBOX (QRESYNC (" + n(f.uidvalidity + 1) + " 1 1:5))\r\n") ==
          kClosed + select_lines(4, 2, f.uidvalidity, 6) + select_highest(highest(f.a)) +
              "A02 OK [READ-WRITE] SELECT completed\r\n");
}

TEST_CASE("RFC 7162 3.2.5.1 example: VANISHED (EARLIER) and FETCH for the known UIDs",
          "[session][qresync]") {
    Five f;
    f.a.send("e ENABLE QRESYNC\r\n");
    const std::uint64_t known = highest(f.a);
    // Another client: flags on 2 and 5, expunges 1 and 4.
    SessionDriver& b = f.other();
    b.send("s SELECT INBOX\r\n");
    b.send("t STORE 2 +FLAGS (\\Answered)\r\n");
    b.send("t STORE 1,4 +FLAGS (\\Deleted)\r\n");
    b.send("t STORE 5 +FLAGS (\\Seen)\r\n");
    b.send("t EXPUNGE\r\n");
    const std::string head = select_lines(3, 1, f.uidvalidity, 6) + select_highest(highest(f.a));
    const std::string fetch2 =
        "* 1 FETCH (UID 2 FLAGS (\\Answered \\Flagged) MODSEQ (" + n(modseq_of(f.a, 2)) + "))\r\n";
    const std::string fetch5 =
        "* 3 FETCH (UID 5 FLAGS (\\Seen) MODSEQ (" + n(modseq_of(f.a, 5)) + "))\r\n";
    SECTION("no known-uids: 1:UIDNEXT-1") {
        CHECK(f.a.send("A03 EXAMINE INBOX (QRESYNC (" + n(f.uidvalidity) + " " + n(known) +
                       "))\r\n") ==
              "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
              "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n* 3 EXISTS\r\n* 0 RECENT\r\n"
              "* OK [UNSEEN 1] First unseen.\r\n* OK [UIDVALIDITY " +
                  n(f.uidvalidity) + "] UIDs valid\r\n* OK [UIDNEXT 6] Predicted next UID\r\n" +
                  select_highest(highest(f.a)) + "* VANISHED (EARLIER) 1,4\r\n" + fetch2 + fetch5 +
                  "A03 OK [READ-ONLY] EXAMINE completed\r\n");
    }
    SECTION("known-uids ranges limit both VANISHED and FETCH") {
        CHECK(f.a.send("A03 SELECT INBOX (QRESYNC (" + n(f.uidvalidity) + " " + n(known) +
                       " 3:5))\r\n") == head + "* VANISHED (EARLIER) 4\r\n" + fetch5 +
                                            "A03 OK [READ-WRITE] SELECT completed\r\n");
        CHECK(f.a.send("A04 SELECT INBOX (QRESYNC (" + n(f.uidvalidity) + " " + n(known) +
                       " 1,2,100:200))\r\n") == kClosed + head + "* VANISHED (EARLIER) 1\r\n" +
                                                    fetch2 +
                                                    "A04 OK [READ-WRITE] SELECT completed\r\n");
    }
    SECTION("a recent modseq: only what changed after it") {
        const std::uint64_t late = modseq_of(f.a, 5);
        CHECK(f.a.send("A05 SELECT INBOX (QRESYNC (" + n(f.uidvalidity) + " " + n(late) +
                       " 1:5))\r\n") ==
              head + "* VANISHED (EARLIER) 1,4\r\n" + "A05 OK [READ-WRITE] SELECT completed\r\n");
    }
}

TEST_CASE("RFC 7162 3.2.5.2: seq-match-data leaves out the UIDs the client provably knows about",
          "[session][qresync]") {
    Five f;
    f.a.send("e ENABLE QRESYNC\r\n");
    const std::uint64_t known = highest(f.a);
    SessionDriver& b = f.other();
    b.send("s SELECT INBOX\r\n");
    b.send("t STORE 1,4 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("t EXPUNGE\r\n");
    // Now: seq 1 = UID 2, seq 2 = UID 3, seq 3 = UID 5.
    const std::string head = select_lines(3, 1, f.uidvalidity, 6) + select_highest(highest(f.a));
    const std::string select =
        "SELECT INBOX (QRESYNC (" + n(f.uidvalidity) + " " + n(known) + " 1:5 ";
    // (1,2 -> 2,3) match: the client knows of the expunge of UID 1.
    CHECK(f.a.send("a " + select + "(1:2 2:3)))\r\n") ==
          head + "* VANISHED (EARLIER) 4\r\na OK [READ-WRITE] SELECT completed\r\n");
    // (2 -> 4) does not match (seq 2 is UID 3 now): everything is reported.
    CHECK(f.a.send("b " + select + "(2 4)))\r\n") ==
          kClosed + head + "* VANISHED (EARLIER) 1,4\r\nb OK [READ-WRITE] SELECT completed\r\n");
    // The walk stops at the first mismatch: (1 -> 2) matches, (3 -> 4) not.
    CHECK(f.a.send("c " + select + "(1,3 2,4)))\r\n") ==
          kClosed + head + "* VANISHED (EARLIER) 4\r\nc OK [READ-WRITE] SELECT completed\r\n");
    // (1:3 -> 2,3,5) all match: nothing vanished past UID 5.
    CHECK(f.a.send("d " + select + "(1:3 2:3,5)))\r\n") ==
          kClosed + head + "d OK [READ-WRITE] SELECT completed\r\n");
}

TEST_CASE("RFC 7162 3.2.6 example: UID FETCH (CHANGEDSINCE n VANISHED)", "[session][qresync]") {
    Five f;
    f.a.send("e ENABLE QRESYNC\r\n");
    f.a.send("s SELECT INBOX\r\n");
    const std::uint64_t since = highest(f.a);
    SessionDriver& b = f.other();
    b.send("s SELECT INBOX\r\n");
    b.send("t STORE 3 +FLAGS.SILENT (\\Answered)\r\n");
    b.send("t STORE 4 -FLAGS.SILENT (\\Deleted)\r\n");
    b.send("t STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("t EXPUNGE\r\n");
    // a still holds UID 1 in its view: its expunge comes as a plain
    // VANISHED at the end of the command, not as VANISHED (EARLIER).
    const std::string out =
        f.a.send("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE " + n(since) + " VANISHED)\r\n");
    CHECK(out == "* 3 FETCH (UID 3 FLAGS (\\Answered) MODSEQ (" + n(modseq_of(f.a, 3)) + "))\r\n" +
                     "* 4 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (" + n(modseq_of(f.a, 4)) + "))\r\n" +
                     "* VANISHED 1\r\ns100 OK UID FETCH completed\r\n");
    // Once the view no longer has it, it is VANISHED (EARLIER) - and UIDs
    // that never existed are not made up.
    CHECK(f.a.send("s101 UID FETCH 1:10 (FLAGS) (CHANGEDSINCE " + n(highest(f.a)) +
                   " VANISHED)\r\n") == "s101 OK UID FETCH completed\r\n");
    CHECK(f.a.send("s102 UID FETCH 1:10 (FLAGS) (CHANGEDSINCE " + n(since) + " VANISHED)\r\n") ==
          "* VANISHED (EARLIER) 1\r\n"
          "* 2 FETCH (UID 3 FLAGS (\\Answered) MODSEQ (" +
              n(modseq_of(f.a, 3)) + "))\r\n" + "* 3 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (" +
              n(modseq_of(f.a, 4)) + "))\r\ns102 OK UID FETCH completed\r\n");
}

TEST_CASE(
    "RFC 7162 3.2.7 and 3.2.10.2: EXPUNGE sends VANISHED and HIGHESTMODSEQ once QRESYNC is on",
    "[session][qresync]") {
    Five f;
    f.a.send("e ENABLE QRESYNC\r\n");
    f.a.send("s SELECT INBOX\r\n");
    f.a.send("t STORE 2,5 +FLAGS.SILENT (\\Deleted)\r\n");
    const std::string expunge = f.a.send("B202 EXPUNGE\r\n");
    CHECK(expunge == "* VANISHED 2,4:5\r\nB202 OK [HIGHESTMODSEQ " + n(highest(f.a)) +
                         "] EXPUNGE completed\r\n");
    CHECK(f.a.send("c NOOP\r\n") == "c OK NOOP completed\r\n");
    // UID EXPUNGE likewise; nothing expunged: no HIGHESTMODSEQ.
    f.a.send("t STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    CHECK(f.a.send("d UID EXPUNGE 3\r\n") == "d OK UID EXPUNGE completed\r\n");
    const std::string uid_expunge = f.a.send("e UID EXPUNGE 1:3\r\n");
    CHECK(uid_expunge ==
          "* VANISHED 1\r\ne OK [HIGHESTMODSEQ " + n(highest(f.a)) + "] UID EXPUNGE completed\r\n");
    // Another session's expunge reaches this one as VANISHED too.
    SessionDriver& b = f.other();
    b.send("s SELECT INBOX\r\n");
    b.send("t STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("u EXPUNGE\r\n");
    CHECK(f.a.send("f NOOP\r\n") == "* VANISHED 3\r\nf OK NOOP completed\r\n");
}

TEST_CASE("RFC 7162 3.2.10: VANISHED is held back like EXPUNGE during FETCH by number",
          "[session][qresync]") {
    Five f;
    f.a.send("e ENABLE QRESYNC\r\n");
    f.a.send("s SELECT INBOX\r\n");
    SessionDriver& b = f.other();
    b.send("s SELECT INBOX\r\n");
    b.send("t STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("u EXPUNGE\r\n");
    const std::string fetch = f.a.send("a FETCH 2 (UID)\r\n");
    CHECK(fetch.find("VANISHED") == std::string::npos);
    CHECK_THAT(fetch, Catch::Matchers::EndsWith("a OK FETCH completed\r\n"));
    // (UID 4 had \Deleted from the start.)
    CHECK(f.a.send("b NOOP\r\n") == "* VANISHED 1,4\r\nb OK NOOP completed\r\n");
}

TEST_CASE("RFC 6851 4.4: MOVE with QRESYNC sends VANISHED and HIGHESTMODSEQ",
          "[session][qresync]") {
    Five f;
    f.a.send("c CREATE Archive\r\n");
    f.a.send("e ENABLE QRESYNC\r\n");
    f.a.send("s SELECT INBOX\r\n");
    const std::string out = f.a.send("a UID MOVE 2:3 Archive\r\n");
    CHECK_THAT(out, Catch::Matchers::Contains("* VANISHED 2:3\r\n"));
    CHECK_THAT(out, Catch::Matchers::EndsWith("a OK [HIGHESTMODSEQ " + n(highest(f.a)) +
                                              "] UID MOVE completed\r\n"));
}

TEST_CASE("RFC 7162 3.2.11: CLOSED when a SELECT closes the selected mailbox",
          "[session][qresync]") {
    Five f;
    f.a.send("c CREATE Other\r\n");
    // No mailbox selected: no CLOSED.
    CHECK_THAT(f.a.send("a SELECT INBOX\r\n"), Catch::Matchers::StartsWith("* FLAGS"));
    CHECK_THAT(f.a.send("b EXAMINE Other\r\n"), Catch::Matchers::StartsWith(kClosed + "* FLAGS"));
    // CLOSE and UNSELECT need none.
    CHECK(f.a.send("d UNSELECT\r\n") == "d OK UNSELECT completed\r\n");
    CHECK_THAT(f.a.send("e SELECT INBOX\r\n"), Catch::Matchers::StartsWith("* FLAGS"));
}

TEST_CASE("RFC 7162 3.2.5: device switch - B catches up with A's work through QRESYNC",
          "[session][qresync]") {
    Five f;
    SessionDriver& phone = f.a;
    // The laptop (B) synchronised, remembered UIDVALIDITY and HIGHESTMODSEQ,
    // then went offline.
    SessionDriver& laptop = f.other();
    laptop.send("e ENABLE QRESYNC\r\n");
    const std::string first =
        laptop.send("s SELECT INBOX (QRESYNC (" + n(f.uidvalidity) + " 1))\r\n");
    REQUIRE_THAT(first, Catch::Matchers::Contains(highest_line(highest(phone))));
    const std::uint64_t cached = highest(phone);
    laptop.send("l LOGOUT\r\n");

    // Meanwhile the phone reads 3, flags 5, deletes 2 and expunges it and 4,
    // and a new message arrives.
    phone.send("s SELECT INBOX\r\n");
    phone.send("a FETCH 3 BODY[]\r\n");
    phone.send("b STORE 5 +FLAGS ($Important)\r\n");
    phone.send("c STORE 2 +FLAGS (\\Deleted)\r\n");
    phone.send("d EXPUNGE\r\n");
    const std::uint32_t arrived = put(phone);
    phone.send("e NOOP\r\n");

    // The laptop reconnects: exactly the vanished UIDs and the changed flags
    // of messages it knows (1:5), nothing about unchanged message 1, and
    // the new message only as EXISTS/UIDNEXT.
    SessionDriver laptop2(f.mail);
    laptop2.login();
    laptop2.send("e ENABLE QRESYNC\r\n");
    const std::string out = laptop2.send("s SELECT INBOX (QRESYNC (" + n(f.uidvalidity) + " " +
                                         n(cached) + " 1:5))\r\n");
    CHECK(out ==
          "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r\n"
          "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] "
          "Flags permitted.\r\n"
          "* 4 EXISTS\r\n* 0 RECENT\r\n* OK [UNSEEN 3] First unseen.\r\n"
          "* OK [UIDVALIDITY " +
              n(f.uidvalidity) + "] UIDs valid\r\n* OK [UIDNEXT " + n(arrived + 1) +
              "] Predicted next UID\r\n" + select_highest(highest(phone)) +
              "* VANISHED (EARLIER) 2,4\r\n" + "* 2 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (" +
              n(modseq_of(phone, 3)) + "))\r\n" + "* 3 FETCH (UID 5 FLAGS ($Important) MODSEQ (" +
              n(modseq_of(phone, 5)) + "))\r\n" + "s OK [READ-WRITE] SELECT completed\r\n");
    // Caught up: a second resync from the new HIGHESTMODSEQ is silent.
    CHECK(laptop2.send("t SELECT INBOX (QRESYNC (" + n(f.uidvalidity) + " " + n(highest(phone)) +
                       " 1:" + n(arrived) + "))\r\n") ==
          kClosed +
              "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r\n"
              "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important "
              "\\*)] Flags permitted.\r\n"
              "* 4 EXISTS\r\n* 0 RECENT\r\n* OK [UNSEEN 3] First unseen.\r\n"
              "* OK [UIDVALIDITY " +
              n(f.uidvalidity) + "] UIDs valid\r\n* OK [UIDNEXT " + n(arrived + 1) +
              "] Predicted next UID\r\n" + select_highest(highest(phone)) +
              "t OK [READ-WRITE] SELECT completed\r\n");
}
