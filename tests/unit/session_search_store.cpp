// SEARCH, STORE, COPY and MOVE and their UID forms (RFC 3501 6.4.4, 6.4.6,
// 6.4.7, 6.4.8; RFC 4315 COPYUID; RFC 6851 MOVE), byte for byte through the
// Session, with messages put in through the store directly.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/datetime.h"
#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/session_driver.h"

using imap::DateTime;
using imap::server::UserMailRegistry;
using imap::test::SessionDriver;
namespace store = imap::store;
namespace flag = imap::store::flag;

namespace {

// Three messages with distinct headers, bodies, flags, sizes and dates. The
// internal dates are in zones whose calendar day differs from UTC's.
const std::string kM1 =
    "From: Alice <alice@example.com>\r\n"
    "To: bob@example.com\r\n"
    "Subject: hello world\r\n"
    "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
    "Message-ID: <one@example.com>\r\n"
    "\r\n"
    "body one\r\n";
const std::string kM2 =
    "From: Carol <carol@example.org>\r\n"
    "To: dave@example.org\r\n"
    "Cc: eve@example.org\r\n"
    "Bcc: frank@example.org\r\n"
    "Subject: =?UTF-8?Q?caf=C3=A9?= menu\r\n"
    "Date: Tue, 8 Feb 1994 01:00:00 +0100\r\n"
    "\r\n"
    "The caf\xc3\xa9 is open until late; the quick brown fox jumps over the lazy dog.\r\n";
const std::string kM3 =
    "From: bob@example.com\r\n"
    "Subject: third\r\n"
    "\r\n"
    "short\r\n";

// 07-Feb-1994 21:52:25 -0800 is 8 February in UTC.
const DateTime kDate1{{1994, 2, 7}, 21, 52, 25, -480};
// 08-Feb-1994 00:30:00 +0100 is 7 February in UTC.
const DateTime kDate2{{1994, 2, 8}, 0, 30, 0, 60};
const DateTime kDate3{{1994, 2, 9}, 12, 0, 0, 0};

store::MailStore& store_of(SessionDriver& d) {
    return d.session.mail()->store();
}

store::MailboxInfo mailbox(SessionDriver& d, std::string_view name) {
    auto info = store_of(d).find_mailbox(name);
    REQUIRE(info);
    return *info;
}

std::uint32_t put(SessionDriver& d, std::string_view box, const std::string& raw,
                  const DateTime& when, std::uint32_t flags = 0,
                  std::vector<std::string> keywords = {}) {
    store::AppendRequest request;
    request.message = raw;
    request.internal_date = when.to_unix();
    request.zone_minutes = when.zone_minutes;
    request.flags.system = flags;
    request.flags.keywords = std::move(keywords);
    return store_of(d).append(mailbox(d, box).id, request);
}

// The three messages in INBOX: 1 \Seen, 2 \Flagged $Work, 3 \Answered
// \Deleted \Draft.
void put_three(SessionDriver& d) {
    put(d, "INBOX", kM1, kDate1, flag::kSeen);
    put(d, "INBOX", kM2, kDate2, flag::kFlagged, {"$Work"});
    put(d, "INBOX", kM3, kDate3, flag::kAnswered | flag::kDeleted | flag::kDraft);
}

void select(SessionDriver& d, const std::string& box = "INBOX") {
    const std::string out = d.send("S SELECT " + box + "\r\n");
    REQUIRE(out.ends_with("S OK [READ-WRITE] SELECT completed\r\n"));
}

void examine(SessionDriver& d, const std::string& box = "INBOX") {
    const std::string out = d.send("E EXAMINE " + box + "\r\n");
    REQUIRE(out.ends_with("E OK [READ-ONLY] EXAMINE completed\r\n"));
}

// One logged-in session with the three messages selected.
struct Three {
    UserMailRegistry mail{store::DataDir::in_memory()};
    SessionDriver d{mail};
    Three() {
        d.login();
        put_three(d);
        select(d);
    }
    std::string search(const std::string& criteria) {
        return d.send("a SEARCH " + criteria + "\r\n");
    }
};

std::string found(const std::string& numbers, const std::string& tag = "a",
                  const std::string& name = "SEARCH") {
    return "* SEARCH" + (numbers.empty() ? "" : " " + numbers) + "\r\n" + tag + " OK " + name +
           " completed\r\n";
}

// The system flags and keywords of `uid` as the store has them.
std::pair<std::uint32_t, std::vector<std::string>> flags_of(SessionDriver& d, std::uint32_t uid,
                                                            std::string_view box = "INBOX") {
    const store::UidRange one{uid, uid};
    auto rows = store_of(d).fetch(mailbox(d, box).id, store::UidSpan(&one, 1));
    REQUIRE(rows.size() == 1);
    return {rows[0].flags, rows[0].keywords};
}

std::string uidvalidity(SessionDriver& d, std::string_view box) {
    return std::to_string(mailbox(d, box).uidvalidity);
}

const std::string kSystemFlags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

}  // namespace

// ---- SEARCH -------------------------------------------------------------------

TEST_CASE("RFC 3501 6.4.4: SEARCH by flags and keywords", "[session][search]") {
    Three t;
    CHECK(t.search("ALL") == found("1 2 3"));
    CHECK(t.search("ANSWERED") == found("3"));
    CHECK(t.search("UNANSWERED") == found("1 2"));
    CHECK(t.search("DELETED") == found("3"));
    CHECK(t.search("UNDELETED") == found("1 2"));
    CHECK(t.search("DRAFT") == found("3"));
    CHECK(t.search("UNDRAFT") == found("1 2"));
    CHECK(t.search("FLAGGED") == found("2"));
    CHECK(t.search("UNFLAGGED") == found("1 3"));
    CHECK(t.search("SEEN") == found("1"));
    CHECK(t.search("UNSEEN") == found("2 3"));
    CHECK(t.search("KEYWORD $Work") == found("2"));
    CHECK(t.search("UNKEYWORD $Work") == found("1 3"));
    // An undefined keyword matches nothing and, unlike Dovecot, is not
    // defined by the search (no FLAGS response).
    CHECK(t.search("KEYWORD $Nope") == found(""));
    CHECK(t.search("UNKEYWORD $Nope") == found("1 2 3"));
    // Several keys are ANDed.
    CHECK(t.search("UNSEEN UNDELETED") == found("2"));
}

TEST_CASE("RFC 3501 6.4.4: SEARCH by address and subject headers, HEADER", "[session][search]") {
    Three t;
    CHECK(t.search("FROM alice") == found("1"));
    CHECK(t.search("FROM \"example.com\"") == found("1 3"));
    CHECK(t.search("TO dave") == found("2"));
    CHECK(t.search("CC eve") == found("2"));
    CHECK(t.search("BCC frank") == found("2"));
    CHECK(t.search("SUBJECT HELLO") == found("1"));
    // RFC 2047 encoded words are decoded before matching.
    CHECK(t.search("SUBJECT \"menu\"") == found("2"));
    CHECK(t.search("HEADER Message-ID \"<one@\"") == found("1"));
    CHECK(t.search("HEADER message-id one") == found("1"));
    // An empty string matches every message that has the field.
    CHECK(t.search("HEADER Cc \"\"") == found("2"));
    CHECK(t.search("HEADER Date \"\"") == found("1 2"));
    CHECK(t.search("FROM nobody") == found(""));
}

TEST_CASE("RFC 3501 6.4.4: SEARCH BODY and TEXT", "[session][search]") {
    Three t;
    CHECK(t.search("BODY \"quick brown\"") == found("2"));
    CHECK(t.search("BODY one") == found("1"));
    CHECK(t.search("BODY sh") == found("3"));
    // BODY does not look at the header, TEXT does.
    CHECK(t.search("BODY carol") == found(""));
    CHECK(t.search("TEXT carol") == found("2"));
    CHECK(t.search("TEXT BODY") == found("1"));
}

TEST_CASE("RFC 3501 6.4.4: BEFORE, ON, SINCE use the internal date's own day",
          "[session][search]") {
    Three t;
    // Message 1 is 7 February in its zone (-0800) though 8 February in UTC;
    // message 2 is 8 February in +0100 though 7 February in UTC.
    CHECK(t.search("ON 7-Feb-1994") == found("1"));
    CHECK(t.search("ON 8-Feb-1994") == found("2"));
    CHECK(t.search("ON 9-feb-1994") == found("3"));
    CHECK(t.search("BEFORE 8-Feb-1994") == found("1"));
    CHECK(t.search("BEFORE 7-Feb-1994") == found(""));
    CHECK(t.search("SINCE 8-Feb-1994") == found("2 3"));
    CHECK(t.search("SINCE \"9-Feb-1994\"") == found("3"));
    CHECK(t.search("SINCE 10-Feb-1994") == found(""));
}

TEST_CASE("RFC 3501 6.4.4: SENTBEFORE, SENTON, SENTSINCE use the Date header",
          "[session][search]") {
    Three t;
    CHECK(t.search("SENTON 7-Feb-1994") == found("1"));
    CHECK(t.search("SENTON 8-Feb-1994") == found("2"));
    // Message 3 has no Date: its internal date stands in.
    CHECK(t.search("SENTON 9-Feb-1994") == found("3"));
    CHECK(t.search("SENTBEFORE 8-Feb-1994") == found("1"));
    CHECK(t.search("SENTSINCE 8-Feb-1994") == found("2 3"));
    CHECK(t.search("SENTSINCE 1-Jan-2000") == found(""));
}

TEST_CASE("RFC 3501 6.4.4: LARGER and SMALLER compare RFC822.SIZE", "[session][search]") {
    Three t;
    REQUIRE(kM3.size() < kM1.size());
    REQUIRE(kM1.size() < kM2.size());
    const std::string s1 = std::to_string(kM1.size());
    CHECK(t.search("LARGER " + s1) == found("2"));
    CHECK(t.search("SMALLER " + s1) == found("3"));
    CHECK(t.search("LARGER " + std::to_string(kM1.size() - 1)) == found("1 2"));
    CHECK(t.search("SMALLER " + std::to_string(kM1.size() + 1)) == found("1 3"));
    CHECK(t.search("LARGER 0") == found("1 2 3"));
    CHECK(t.search("SMALLER 1") == found(""));
}

TEST_CASE("RFC 3501 6.4.4: NOT, OR and parenthesised keys nest", "[session][search]") {
    Three t;
    CHECK(t.search("OR SEEN FLAGGED") == found("1 2"));
    CHECK(t.search("NOT OR SEEN FLAGGED") == found("3"));
    CHECK(t.search("NOT NOT SEEN") == found("1"));
    CHECK(t.search("OR (SEEN FROM alice) (DELETED SUBJECT third)") == found("1 3"));
    CHECK(t.search("OR (SEEN FROM carol) (DELETED SUBJECT third)") == found("3"));
    CHECK(t.search("NOT (UNSEEN UNDELETED)") == found("1 3"));
    CHECK(t.search("OR NOT 1:2 OR KEYWORD $Work SEEN") == found("1 2 3"));
    CHECK(t.search("(OR 1 2) NOT 1") == found("2"));
    CHECK(t.search("OR OR 1 3 UID 2") == found("1 2 3"));
    CHECK(t.search("NOT (OR 1 UID 3) UNSEEN") == found("2"));
}

TEST_CASE("RFC 3501 6.4.4 and 6.4.8: sequence-set and UID keys, UID SEARCH answers UIDs",
          "[session][search][uid]") {
    UserMailRegistry mail(store::DataDir::in_memory());
    SessionDriver d(mail);
    d.login();
    for (int i = 0; i < 5; ++i)
        put(d, "INBOX", kM3, kDate3);
    // UIDs 1 and 3 are gone: the view holds UIDs 2, 4, 5 as 1, 2, 3.
    const store::MailboxId inbox = mailbox(d, "INBOX").id;
    const store::UidSet gone{{1, 1}, {3, 3}};
    store_of(d).store_flags(inbox, store::UidSpan(gone), store::FlagOp::Add,
                            store::Flags{flag::kDeleted, {}});
    store_of(d).expunge(inbox);
    select(d);

    CHECK(d.send("a SEARCH ALL\r\n") == found("1 2 3"));
    CHECK(d.send("a UID SEARCH ALL\r\n") == found("2 4 5", "a", "UID SEARCH"));
    CHECK(d.send("a SEARCH 2:*\r\n") == found("2 3"));
    CHECK(d.send("a SEARCH *\r\n") == found("3"));
    CHECK(d.send("a SEARCH 3,1\r\n") == found("1 3"));
    CHECK(d.send("a UID SEARCH 2\r\n") == found("4", "a", "UID SEARCH"));
    CHECK(d.send("a SEARCH UID 4\r\n") == found("2"));
    CHECK(d.send("a SEARCH UID 3\r\n") == found(""));
    CHECK(d.send("a SEARCH UID 1:3\r\n") == found("1"));
    CHECK(d.send("a UID SEARCH UID *\r\n") == found("5", "a", "UID SEARCH"));
    // RFC 3501 6.4.8: 9:* includes the last UID even though 9 > 5.
    CHECK(d.send("a UID SEARCH UID 9:*\r\n") == found("5", "a", "UID SEARCH"));
    CHECK(d.send("a UID SEARCH UID 6:9\r\n") == found("", "a", "UID SEARCH"));
    // A message number past EXISTS matches nothing, as in Dovecot
    // (session_views has the whole table).
    CHECK(d.send("a SEARCH 4\r\n") == found(""));
    CHECK(d.send("a UID SEARCH 1:4\r\n") == found("2 4 5", "a", "UID SEARCH"));
}

TEST_CASE("RFC 3501 6.4.4: RECENT, NEW, OLD follow the session that claimed the messages",
          "[session][search][recent]") {
    UserMailRegistry mail(store::DataDir::in_memory());
    SessionDriver a(mail), b(mail);
    a.login();
    b.login();
    put_three(a);
    select(a);  // claims 1:3 as \Recent (RFC 3501 2.3.2)
    select(b);
    CHECK(a.send("a SEARCH RECENT\r\n") == found("1 2 3"));
    CHECK(a.send("a SEARCH NEW\r\n") == found("2 3"));  // RECENT UNSEEN
    CHECK(a.send("a SEARCH OLD\r\n") == found(""));
    CHECK(b.send("a SEARCH RECENT\r\n") == found(""));
    CHECK(b.send("a SEARCH NEW\r\n") == found(""));
    CHECK(b.send("a SEARCH OLD\r\n") == found("1 2 3"));

    // A fourth message: b learns of it first and claims it.
    put(a, "INBOX", kM3, kDate3);
    CHECK(b.send("n NOOP\r\n") == "* 4 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed\r\n");
    CHECK(a.send("n NOOP\r\n") == "* 4 EXISTS\r\n* 3 RECENT\r\nn OK NOOP completed\r\n");
    CHECK(a.send("a SEARCH OLD\r\n") == found("4"));
    CHECK(a.send("a SEARCH NEW\r\n") == found("2 3"));
    CHECK(b.send("a SEARCH RECENT\r\n") == found("4"));
    CHECK(b.send("a SEARCH NEW\r\n") == found("4"));
    CHECK(b.send("a UID SEARCH OLD\r\n") == found("1 2 3", "a", "UID SEARCH"));
}

TEST_CASE("RFC 3501 6.4.4: CHARSET UTF-8 and US-ASCII are accepted, others are NO BADCHARSET",
          "[session][search][charset]") {
    Three t;
    // The subject is RFC 2047-encoded "café menu"; the literal is UTF-8.
    CHECK(t.d.send("a SEARCH CHARSET UTF-8 SUBJECT {5}\r\n") == "+ Ready for literal data\r\n");
    CHECK(t.d.send("caf\xc3\xa9\r\n") == found("2"));
    CHECK(t.d.send("b SEARCH CHARSET utf-8 BODY {5+}\r\ncaf\xc3\xa9\r\n") == found("2", "b"));
    CHECK(t.search("CHARSET us-ascii SUBJECT hello") == found("1"));
    CHECK(t.search("CHARSET \"UTF-8\" ALL") == found("1 2 3"));
    CHECK(t.search("CHARSET ISO-8859-1 ALL") ==
          "a NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset\r\n");
    CHECK(t.search("CHARSET KOI8-R SUBJECT x") ==
          "a NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset\r\n");
    // Bytes that are not UTF-8 are BAD (as Dovecot answers).
    CHECK(t.d.send("c SEARCH CHARSET UTF-8 SUBJECT {2+}\r\n\xff\xfe\r\n") ==
          "c BAD SEARCH: Search string is not valid UTF-8\r\n");
}

TEST_CASE("RFC 3501 6.4.4 and 7.4.1: SEARCH sees only the view, EXPUNGE waits for a NOOP",
          "[session][search][sync]") {
    Three t;
    SessionDriver b(t.mail);
    b.login();
    select(b);
    // A message that arrived since the last EXISTS is not in the result;
    // its EXISTS follows it.
    put(b, "INBOX", kM1, kDate1);
    CHECK(t.search("FROM alice") ==
          "* SEARCH 1\r\n* 4 EXISTS\r\n* 4 RECENT\r\na OK SEARCH completed\r\n");
    CHECK(t.search("FROM alice") == found("1 4"));
    CHECK(b.send("n NOOP\r\n") == "* 4 EXISTS\r\n* 0 RECENT\r\nn OK NOOP completed\r\n");

    // b expunges message 1: t does not match it and hears of it only after
    // a command that allows EXPUNGE (not SEARCH, STORE or COPY).
    CHECK(b.send("x STORE 1 +FLAGS.SILENT (\\Deleted)\r\n") == "x OK STORE completed\r\n");
    CHECK(b.send("x EXPUNGE\r\n") == "* 1 EXPUNGE\r\n* 2 EXPUNGE\r\nx OK EXPUNGE completed\r\n");
    // UIDs 1 and 3 are gone from the store: they match nothing, though t
    // still numbers the messages as before. Message 1's \Deleted, set
    // before the expunge, is reported (as Dovecot does).
    CHECK(
        t.search("FROM alice") ==
        "* SEARCH 4\r\n* 1 FETCH (FLAGS (\\Deleted \\Seen \\Recent))\r\na OK SEARCH completed\r\n");
    CHECK(t.search("ALL") == found("2 4"));
    CHECK(t.d.send("s STORE 2 +FLAGS (\\Seen)\r\n") ==
          "* 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent $Work))\r\ns OK STORE completed\r\n");
    CHECK(t.d.send("c COPY 4 INBOX\r\n") == "* 5 EXISTS\r\n* 5 RECENT\r\nc OK [COPYUID " +
                                                uidvalidity(t.d, "INBOX") +
                                                " 4 5] COPY completed\r\n");
    // NOOP may send them (RFC 3501 7.4.1), renumbering as it goes; three
    // of t's five \Recent messages are left (RFC 3501 7.3.2).
    CHECK(t.d.send("n NOOP\r\n") ==
          "* 1 EXPUNGE\r\n* 2 EXPUNGE\r\n* 3 RECENT\r\nn OK NOOP completed\r\n");
    CHECK(t.search("ALL") == found("1 2 3"));
    CHECK(t.d.send("u UID SEARCH ALL\r\n") == found("2 4 5", "u", "UID SEARCH"));
}

// ---- STORE --------------------------------------------------------------------

TEST_CASE("RFC 3501 6.4.6: STORE FLAGS, +FLAGS, -FLAGS answer with the new flags",
          "[session][store]") {
    Three t;
    // Every message is \Recent for this session, which claimed them.
    CHECK(t.d.send("a STORE 1 +FLAGS (\\Answered)\r\n") ==
          "* 1 FETCH (FLAGS (\\Answered \\Seen \\Recent))\r\na OK STORE completed\r\n");
    CHECK(t.d.send("a STORE 1:2 -FLAGS (\\Seen \\Flagged)\r\n") ==
          "* 1 FETCH (FLAGS (\\Answered \\Recent))\r\n"
          "* 2 FETCH (FLAGS (\\Recent $Work))\r\n"
          "a OK STORE completed\r\n");
    CHECK(t.d.send("a STORE 2 FLAGS (\\Draft \\seen)\r\n") ==
          "* 2 FETCH (FLAGS (\\Seen \\Draft \\Recent))\r\na OK STORE completed\r\n");
    CHECK(flags_of(t.d, 2) ==
          std::pair<std::uint32_t, std::vector<std::string>>{flag::kSeen | flag::kDraft, {}});
    // A flag list without parentheses, and FLAGS () clears everything.
    CHECK(t.d.send("a STORE 3 FLAGS ()\r\n") ==
          "* 3 FETCH (FLAGS (\\Recent))\r\na OK STORE completed\r\n");
    CHECK(t.d.send("a STORE 3 +FLAGS \\Flagged \\Deleted\r\n") ==
          "* 3 FETCH (FLAGS (\\Flagged \\Deleted \\Recent))\r\na OK STORE completed\r\n");
    // As Dovecot: no FETCH for a message whose flags did not change.
    CHECK(t.d.send("a STORE 1:3 +FLAGS (\\Answered)\r\n") ==
          "* 2 FETCH (FLAGS (\\Answered \\Seen \\Draft \\Recent))\r\n"
          "* 3 FETCH (FLAGS (\\Answered \\Flagged \\Deleted \\Recent))\r\n"
          "a OK STORE completed\r\n");
    CHECK(t.d.send("a STORE 1 -FLAGS (\\Draft)\r\n") == "a OK STORE completed\r\n");
    CHECK(t.search("ANSWERED") == found("1 2 3"));
}

TEST_CASE("RFC 3501 6.4.6: .SILENT stores without the FETCH response", "[session][store]") {
    Three t;
    CHECK(t.d.send("a STORE 2 +FLAGS.SILENT (\\Seen)\r\n") == "a OK STORE completed\r\n");
    CHECK(flags_of(t.d, 2).first == (flag::kFlagged | flag::kSeen));
    CHECK(t.d.send("a STORE 1 -FLAGS.SILENT (\\Seen)\r\n") == "a OK STORE completed\r\n");
    CHECK(flags_of(t.d, 1).first == 0u);
    CHECK(t.d.send("a STORE 3 FLAGS.SILENT (\\Seen)\r\n") == "a OK STORE completed\r\n");
    CHECK(flags_of(t.d, 3).first == flag::kSeen);
    // The session's own silent change is not reported by the next sync.
    CHECK(t.d.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 7.2.6: a new keyword sends FLAGS and PERMANENTFLAGS before the FETCH",
          "[session][store][keyword]") {
    Three t;
    SessionDriver b(t.mail);
    b.login();
    select(b);
    CHECK(t.d.send("a STORE 1 +FLAGS (NewKw)\r\n") ==
          "* FLAGS (" + kSystemFlags +
              " $Work NewKw)\r\n"
              "* OK [PERMANENTFLAGS (" +
              kSystemFlags +
              " $Work NewKw \\*)] Flags permitted.\r\n"
              "* 1 FETCH (FLAGS (\\Seen \\Recent NewKw))\r\n"
              "a OK STORE completed\r\n");
    // An existing keyword: no FLAGS again.
    CHECK(t.d.send("a STORE 2 +FLAGS (NewKw)\r\n") ==
          "* 2 FETCH (FLAGS (\\Flagged \\Recent $Work NewKw))\r\na OK STORE completed\r\n");
    // Removing an undefined keyword defines nothing (Dovecot defines it).
    CHECK(t.d.send("a STORE 2 -FLAGS (Other)\r\n") == "a OK STORE completed\r\n");
    // The other session learns of the keyword and the changes on NOOP.
    CHECK(b.send("n NOOP\r\n") == "* FLAGS (" + kSystemFlags +
                                      " $Work NewKw)\r\n"
                                      "* OK [PERMANENTFLAGS (" +
                                      kSystemFlags +
                                      " $Work NewKw \\*)] Flags permitted.\r\n"
                                      "* 1 FETCH (FLAGS (\\Seen NewKw))\r\n"
                                      "* 2 FETCH (FLAGS (\\Flagged $Work NewKw))\r\n"
                                      "n OK NOOP completed\r\n");
    CHECK(t.search("KEYWORD NewKw") == found("1 2"));
    // FLAGS replaces keywords too.
    CHECK(t.d.send("a STORE 2 FLAGS (\\Flagged)\r\n") ==
          "* 2 FETCH (FLAGS (\\Flagged \\Recent))\r\na OK STORE completed\r\n");
    CHECK(t.search("KEYWORD NewKw") == found("1"));
    // A keyword the store refuses (too long) is NO, nothing changes.
    CHECK(t.d.send("a STORE 3 +FLAGS (" + std::string(300, 'k') + ")\r\n") ==
          "a NO [CANNOT] invalid keyword length\r\n");
}

TEST_CASE("RFC 3501 6.4.8: UID STORE puts the UID in each FETCH response",
          "[session][store][uid]") {
    Three t;
    // Dovecot's order: UID first.
    CHECK(t.d.send("a UID STORE 2:3 +FLAGS (\\Seen)\r\n") ==
          "* 2 FETCH (UID 2 FLAGS (\\Flagged \\Seen \\Recent $Work))\r\n"
          "* 3 FETCH (UID 3 FLAGS (\\Answered \\Deleted \\Seen \\Draft \\Recent))\r\n"
          "a OK UID STORE completed\r\n");
    CHECK(t.d.send("a UID STORE * -FLAGS.SILENT (\\Seen)\r\n") == "a OK UID STORE completed\r\n");
    CHECK(flags_of(t.d, 3).first == (flag::kAnswered | flag::kDeleted | flag::kDraft));
    // UIDs the view does not hold are not an error.
    CHECK(t.d.send("a UID STORE 4:9 +FLAGS (\\Seen)\r\n") == "a OK UID STORE completed\r\n");
    CHECK(t.d.send("a UID STORE 1:* -FLAGS (\\Flagged)\r\n") ==
          "* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent $Work))\r\na OK UID STORE completed\r\n");
}

TEST_CASE("RFC 3501 6.4.6: STORE of Recent, unknown system flags or past EXISTS is BAD",
          "[session][store]") {
    Three t;
    // RFC 3501 2.3.2: \Recent cannot be altered by the client (Dovecot: BAD).
    CHECK(t.d.send("a STORE 1 +FLAGS (\\Recent)\r\n") ==
          "a BAD STORE: Invalid system flag \\Recent\r\n");
    CHECK(t.d.send("a STORE 1 -FLAGS (\\recent)\r\n") ==
          "a BAD STORE: Invalid system flag \\recent\r\n");
    CHECK(t.d.send("a STORE 1 FLAGS (\\Seen \\Foo)\r\n") ==
          "a BAD STORE: Invalid system flag \\Foo\r\n");
    // "\*" is not even a flag in STORE's grammar (the parser's BAD).
    CHECK(t.d.send("a UID STORE 1 +FLAGS (\\*)\r\n").starts_with("a BAD UID STORE: "));
    CHECK(t.d.send("a STORE 4 +FLAGS (\\Seen)\r\n") ==
          "a BAD STORE: Message sequence number past the last message (RFC 3501 9)\r\n");
    // Nothing was stored.
    CHECK(flags_of(t.d, 1).first == flag::kSeen);
    CHECK(t.search("NOT KEYWORD $Work UNSEEN") == found("3"));
}

TEST_CASE("RFC 3501 6.3.2: STORE in an EXAMINEd mailbox is NO", "[session][store][readonly]") {
    UserMailRegistry mail(store::DataDir::in_memory());
    SessionDriver d(mail);
    d.login();
    put_three(d);
    examine(d);
    CHECK(d.send("a STORE 1 +FLAGS (\\Flagged)\r\n") ==
          "a NO [CANNOT] The mailbox is read-only\r\n");
    CHECK(d.send("a UID STORE 1:* FLAGS.SILENT ()\r\n") ==
          "a NO [CANNOT] The mailbox is read-only\r\n");
    CHECK(flags_of(d, 1).first == flag::kSeen);
    CHECK(flags_of(d, 2).first == flag::kFlagged);
    // Checks of the command itself come first.
    CHECK(d.send("a STORE 9 +FLAGS (\\Flagged)\r\n") ==
          "a BAD STORE: Message sequence number past the last message (RFC 3501 9)\r\n");
    // SEARCH works read-only; nothing is \Recent-claimed by EXAMINE.
    CHECK(d.send("a SEARCH RECENT FLAGGED\r\n") == found("2"));
}

TEST_CASE("RFC 3501 7.4.1: another session's STORE arrives as FETCH, EXPUNGE only after NOOP",
          "[session][store][sync]") {
    Three t;
    SessionDriver b(t.mail);
    b.login();
    select(b);
    CHECK(t.d.send("a STORE 2 +FLAGS (\\Seen)\r\n") ==
          "* 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent $Work))\r\na OK STORE completed\r\n");
    // b did not claim the messages: no \Recent.
    CHECK(b.send("n NOOP\r\n") ==
          "* 2 FETCH (FLAGS (\\Flagged \\Seen $Work))\r\nn OK NOOP completed\r\n");
    // During a UID command the unsolicited FETCH carries the UID.
    CHECK(t.d.send("a STORE 1 +FLAGS.SILENT (\\Flagged)\r\n") == "a OK STORE completed\r\n");
    CHECK(b.send("u UID SEARCH FLAGGED\r\n") ==
          "* SEARCH 1 2\r\n* 1 FETCH (UID 1 FLAGS (\\Flagged \\Seen))\r\nu OK UID SEARCH "
          "completed\r\n");

    // t expunges message 3 (\Deleted). b keeps its numbers through STORE and
    // SEARCH by sequence number and COPY, then NOOP tells it.
    CHECK(t.d.send("x EXPUNGE\r\n") == "* 3 EXPUNGE\r\n* 2 RECENT\r\nx OK EXPUNGE completed\r\n");
    CHECK(b.send("s STORE 1:2 -FLAGS (\\Flagged)\r\n") ==
          "* 1 FETCH (FLAGS (\\Seen))\r\n* 2 FETCH (FLAGS (\\Seen $Work))\r\ns OK STORE "
          "completed\r\n");
    // Message 3 is gone from the store: STORE changes b's copy of its flags
    // only (RFC 2180 4.2, as Dovecot; session_views has the details).
    CHECK(b.send("s STORE 3 +FLAGS (\\Seen)\r\n") ==
          "* 3 FETCH (FLAGS (\\Answered \\Deleted \\Seen \\Draft))\r\ns OK STORE completed\r\n");
    CHECK(b.send("f SEARCH ALL\r\n") == found("1 2", "f"));
    CHECK(b.send("f SEARCH 3\r\n") == found("", "f"));
    CHECK(b.send("n NOOP\r\n") == "* 3 EXPUNGE\r\nn OK NOOP completed\r\n");
    CHECK(b.send("f SEARCH 3\r\n") == found("", "f"));
}

TEST_CASE("RFC 3501 7.4.1: a UID command lets the held EXPUNGE out", "[session][store][sync]") {
    Three t;
    SessionDriver b(t.mail);
    b.login();
    select(b);
    CHECK(t.d.send("x EXPUNGE\r\n") == "* 3 EXPUNGE\r\n* 2 RECENT\r\nx OK EXPUNGE completed\r\n");
    CHECK(b.send("s STORE 1 +FLAGS.SILENT (\\Draft)\r\n") == "s OK STORE completed\r\n");
    CHECK(b.send("u UID STORE 1 -FLAGS.SILENT (\\Draft)\r\n") ==
          "* 3 EXPUNGE\r\nu OK UID STORE completed\r\n");
}

// ---- COPY -----------------------------------------------------------------------

TEST_CASE("RFC 4315 3: COPY answers COPYUID with matching uid-sets", "[session][copy]") {
    Three t;
    store_of(t.d).create_mailbox("Other");
    const std::string v = uidvalidity(t.d, "Other");
    CHECK(t.d.send("a COPY 1:2 Other\r\n") ==
          "a OK [COPYUID " + v + " 1:2 1:2] COPY completed\r\n");
    CHECK(t.d.send("a COPY 3,1 Other\r\n") ==
          "a OK [COPYUID " + v + " 1,3 3:4] COPY completed\r\n");
    CHECK(t.d.send("a UID COPY 2:* Other\r\n") ==
          "a OK [COPYUID " + v + " 2:3 5:6] UID COPY completed\r\n");
    // Flags and keywords go along.
    CHECK(flags_of(t.d, 5, "Other") ==
          std::pair<std::uint32_t, std::vector<std::string>>{flag::kFlagged, {"$Work"}});
    CHECK(store_of(t.d).uids(mailbox(t.d, "Other").id) ==
          std::vector<std::uint32_t>{1, 2, 3, 4, 5, 6});
    // Still selected INBOX, unchanged.
    CHECK(t.search("ALL") == found("1 2 3"));
}

TEST_CASE("RFC 3501 6.4.7: COPY to a missing mailbox is NO TRYCREATE", "[session][copy]") {
    Three t;
    CHECK(t.d.send("a COPY 1 Nope\r\n") == "a NO [TRYCREATE] Mailbox does not exist\r\n");
    CHECK(t.d.send("a UID COPY 1:* nope/deeper\r\n") ==
          "a NO [TRYCREATE] Mailbox does not exist\r\n");
    // A \Noselect placeholder is no mailbox either; CREATE would make it one.
    store_of(t.d).create_mailbox("Parent/Child");
    CHECK(t.d.send("a COPY 1 Parent\r\n") == "a NO [TRYCREATE] Mailbox does not exist\r\n");
    CHECK(t.d.send("a COPY 1 Parent/Child\r\n") ==
          "a OK [COPYUID " + uidvalidity(t.d, "Parent/Child") + " 1 1] COPY completed\r\n");
    CHECK(t.d.send("a COPY 4 Parent/Child\r\n") ==
          "a BAD COPY: Message sequence number past the last message (RFC 3501 9)\r\n");
}

TEST_CASE("RFC 3501 6.4.7: COPY into the selected mailbox reports EXISTS before the OK",
          "[session][copy]") {
    Three t;
    const std::string v = uidvalidity(t.d, "INBOX");
    CHECK(t.d.send("a COPY 2 INBOX\r\n") ==
          "* 4 EXISTS\r\n* 4 RECENT\r\na OK [COPYUID " + v + " 2 4] COPY completed\r\n");
    CHECK(t.d.send("a UID COPY 1,3 inbox\r\n") ==
          "* 6 EXISTS\r\n* 6 RECENT\r\na OK [COPYUID " + v + " 1,3 5:6] UID COPY completed\r\n");
    CHECK(t.search("KEYWORD $Work") == found("2 4"));
}

TEST_CASE("RFC 4315 and RFC 3501 6.4.8: UID COPY naming no message is OK without COPYUID",
          "[session][copy][uid]") {
    Three t;
    store_of(t.d).create_mailbox("Other");
    CHECK(t.d.send("a UID COPY 99 Other\r\n") == "a OK No messages found\r\n");
    // As Dovecot: the destination is not looked at.
    CHECK(t.d.send("a UID COPY 4:10 Nope\r\n") == "a OK No messages found\r\n");
    CHECK(store_of(t.d).uids(mailbox(t.d, "Other").id).empty());
}

TEST_CASE("RFC 5530 EXPUNGEISSUED: COPY of a message expunged meanwhile copies nothing",
          "[session][copy][sync]") {
    Three t;
    store_of(t.d).create_mailbox("Other");
    SessionDriver b(t.mail);
    b.login();
    select(b);
    CHECK(t.d.send("x EXPUNGE\r\n") == "* 3 EXPUNGE\r\n* 2 RECENT\r\nx OK EXPUNGE completed\r\n");
    CHECK(b.send("c COPY 2:3 Other\r\n") ==
          "c NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n");
    CHECK(store_of(b).uids(mailbox(b, "Other").id).empty());
    CHECK(b.send("c COPY 1:2 Other\r\n") ==
          "c OK [COPYUID " + uidvalidity(b, "Other") + " 1:2 1:2] COPY completed\r\n");
    CHECK(b.send("n NOOP\r\n") == "* 3 EXPUNGE\r\nn OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 6.4.7: COPY from an EXAMINEd mailbox works", "[session][copy][readonly]") {
    UserMailRegistry mail(store::DataDir::in_memory());
    SessionDriver d(mail);
    d.login();
    put_three(d);
    store_of(d).create_mailbox("Other");
    examine(d);
    CHECK(d.send("a COPY 1 Other\r\n") ==
          "a OK [COPYUID " + uidvalidity(d, "Other") + " 1 1] COPY completed\r\n");
}

// ---- MOVE -----------------------------------------------------------------------

TEST_CASE("RFC 6851 3.3: MOVE sends COPYUID untagged, then EXPUNGE, then OK", "[session][move]") {
    Three t;
    store_of(t.d).create_mailbox("Other");
    const std::string v = uidvalidity(t.d, "Other");
    CHECK(t.d.send("a MOVE 2 Other\r\n") == "* OK [COPYUID " + v +
                                                " 2 1] Moved UIDs\r\n"
                                                "* 2 EXPUNGE\r\n"
                                                "* 2 RECENT\r\n"
                                                "a OK MOVE completed\r\n");
    // The RFC 3501 7.4.1 renumbering: 1 and 3 are now 1 and 2.
    CHECK(t.d.send("a UID MOVE 1:* Other\r\n") == "* OK [COPYUID " + v +
                                                      " 1,3 2:3] Moved UIDs\r\n"
                                                      "* 1 EXPUNGE\r\n"
                                                      "* 1 EXPUNGE\r\n"
                                                      "* 0 RECENT\r\n"
                                                      "a OK UID MOVE completed\r\n");
    CHECK(t.search("ALL") == found(""));
    CHECK(t.d.send("u UID SEARCH ALL\r\n") == found("", "u", "UID SEARCH"));
    CHECK(store_of(t.d).uids(mailbox(t.d, "INBOX").id).empty());
    CHECK(store_of(t.d).uids(mailbox(t.d, "Other").id) == std::vector<std::uint32_t>{1, 2, 3});
    // The flags go along, and no \Deleted is added (RFC 6851 3.3).
    CHECK(flags_of(t.d, 1, "Other") ==
          std::pair<std::uint32_t, std::vector<std::string>>{flag::kFlagged, {"$Work"}});
    CHECK(flags_of(t.d, 2, "Other").first == flag::kSeen);
}

TEST_CASE("RFC 6851 3.3: MOVE into the selected mailbox", "[session][move]") {
    Three t;
    const std::string v = uidvalidity(t.d, "INBOX");
    CHECK(t.d.send("a MOVE 1 INBOX\r\n") == "* OK [COPYUID " + v +
                                                " 1 4] Moved UIDs\r\n"
                                                "* 1 EXPUNGE\r\n"
                                                "* 3 EXISTS\r\n"
                                                "* 3 RECENT\r\n"
                                                "a OK MOVE completed\r\n");
    CHECK(t.d.send("u UID SEARCH ALL\r\n") == found("2 3 4", "u", "UID SEARCH"));
    CHECK(t.search("SEEN") == found("3"));
}

TEST_CASE("RFC 6851 3.3: MOVE errors: TRYCREATE, read-only, empty UID set, past EXISTS",
          "[session][move]") {
    UserMailRegistry mail(store::DataDir::in_memory());
    SessionDriver d(mail);
    d.login();
    put_three(d);
    store_of(d).create_mailbox("Other");
    select(d);
    CHECK(d.send("a MOVE 1 Nope\r\n") == "a NO [TRYCREATE] Mailbox does not exist\r\n");
    CHECK(d.send("a UID MOVE 7 Other\r\n") == "a OK No messages found\r\n");
    CHECK(d.send("a MOVE 5 Other\r\n") ==
          "a BAD MOVE: Message sequence number past the last message (RFC 3501 9)\r\n");
    CHECK(store_of(d).uids(mailbox(d, "INBOX").id) == std::vector<std::uint32_t>{1, 2, 3});
    // RFC 3501 6.3.2: nothing leaves an EXAMINEd mailbox (Dovecot moves anyway).
    examine(d);
    CHECK(d.send("a MOVE 1 Other\r\n") == "a NO [CANNOT] The mailbox is read-only\r\n");
    CHECK(d.send("a UID MOVE 1:* Other\r\n") == "a NO [CANNOT] The mailbox is read-only\r\n");
    CHECK(store_of(d).uids(mailbox(d, "INBOX").id) == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(store_of(d).uids(mailbox(d, "Other").id).empty());
}

TEST_CASE("RFC 6851 3.3: another session sees a MOVE as EXPUNGE and EXISTS",
          "[session][move][sync]") {
    Three t;
    store_of(t.d).create_mailbox("Other");
    SessionDriver b(t.mail);
    b.login();
    select(b, "Other");
    SessionDriver c(t.mail);
    c.login();
    select(c);
    CHECK(t.d.send("a MOVE 1:2 Other\r\n")
              .ends_with("* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 1 RECENT\r\na OK MOVE "
                         "completed\r\n"));
    // Message 2 brought its keyword along.
    CHECK(b.send("n NOOP\r\n") == "* FLAGS (" + kSystemFlags + " $Work)\r\n* OK [PERMANENTFLAGS (" +
                                      kSystemFlags +
                                      " $Work \\*)] Flags permitted.\r\n"
                                      "* 2 EXISTS\r\n* 2 RECENT\r\nn OK NOOP completed\r\n");
    // c keeps its numbers during SEARCH and MOVE; a MOVE of messages
    // expunged meanwhile moves nothing (RFC 5530 EXPUNGEISSUED).
    CHECK(c.send("s SEARCH ALL\r\n") == found("3", "s"));
    CHECK(c.send("m MOVE 2:3 Other\r\n") ==
          "m NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n");
    CHECK(store_of(c).uids(mailbox(c, "INBOX").id) == std::vector<std::uint32_t>{3});
    CHECK(c.send("n NOOP\r\n") == "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\nn OK NOOP completed\r\n");
    // And back: b's MOVE reaches c as EXISTS.
    CHECK(b.send("m MOVE 1 INBOX\r\n") == "* OK [COPYUID " + uidvalidity(b, "INBOX") +
                                              " 1 4] Moved UIDs\r\n* 1 EXPUNGE\r\n"
                                              "* 1 RECENT\r\nm OK MOVE completed\r\n");
    CHECK(c.send("n NOOP\r\n") == "* 2 EXISTS\r\n* 1 RECENT\r\nn OK NOOP completed\r\n");
}

// ---- Empty mailbox ---------------------------------------------------------------

TEST_CASE("RFC 3501 6.4.8: UID commands on an empty mailbox name nothing",
          "[session][uid][empty]") {
    UserMailRegistry mail(store::DataDir::in_memory());
    SessionDriver d(mail);
    d.login();
    store_of(d).create_mailbox("Other");
    select(d);
    CHECK(d.send("a UID SEARCH ALL\r\n") == found("", "a", "UID SEARCH"));
    CHECK(d.send("a UID SEARCH UID *\r\n") == found("", "a", "UID SEARCH"));
    CHECK(d.send("a UID STORE 1:* +FLAGS (\\Seen)\r\n") == "a OK UID STORE completed\r\n");
    CHECK(d.send("a UID COPY 1:* Other\r\n") == "a OK No messages found\r\n");
    CHECK(d.send("a UID MOVE * Other\r\n") == "a OK No messages found\r\n");
    // RFC 3501 9: "*" in an empty mailbox is a number past the end: BAD,
    // except as a SEARCH key, which it makes match nothing (as Dovecot).
    const std::string bad = ": Message sequence number past the last message (RFC 3501 9)\r\n";
    CHECK(d.send("a SEARCH *\r\n") == found(""));
    CHECK(d.send("a SEARCH 1\r\n") == found(""));
    CHECK(d.send("a STORE 1 +FLAGS (\\Seen)\r\n") == "a BAD STORE" + bad);
    CHECK(d.send("a COPY * Other\r\n") == "a BAD COPY" + bad);
    CHECK(d.send("a MOVE 1 Other\r\n") == "a BAD MOVE" + bad);
    CHECK(d.send("a SEARCH ALL\r\n") == found(""));
}
