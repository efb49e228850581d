// UTF8=ACCEPT (RFC 6855) and IMAP4rev2 (RFC 9051) through the Session, byte
// for byte, with the RFCs' examples where they have any: what ENABLE
// switches on, and what an IMAP4rev1 client that did not enable them keeps
// seeing (modified UTF-7 names, no 8-bit byte in a quoted string).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "support/session_driver.h"

namespace {

namespace store = imap::store;
using imap::test::SessionDriver;

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};
    store::MailStore& store() { return mail.open("alice")->store(); }
    std::uint32_t add(const std::string& raw, const std::string& mailbox = "INBOX",
                      std::uint32_t flags = 0) {
        store::AppendRequest request;
        request.message = raw;
        request.internal_date = 1521475657;
        request.flags.system = flags;
        return store().append(store().open_mailbox(mailbox).id, request);
    }
};

// "Entwürfe" (German "Drafts") in UTF-8 and in modified UTF-7.
const std::string kDraftsUtf8 = "Entw\xC3\xBCrfe";
const std::string kDraftsMutf7 = "Entw&APw-rfe";

// RFC 6532 3.2: an internationalised message (UTF-8 addresses and subject).
const std::string kIntlMessage =
    "From: J\xC3\xB6rg <j\xC3\xB6rg@b\xC3\xBC"
    "cher.example>\r\n"
    "To: \xE5\x8D\x9A\xE5\xA3\xAB <\xE5\x8D\x9A\xE5\xA3\xAB@example.org>\r\n"
    "Subject: Gr\xC3\xBC\xC3\x9F"
    "e\r\n"
    "\r\n"
    "body\r\n";

void login(SessionDriver& d) {
    d.login();
}

}  // namespace

TEST_CASE("RFC 9051 7.2.2, RFC 6855 3: IMAP4rev2 after IMAP4rev1, UTF8=ACCEPT after CONTEXT=SORT",
          "[session][utf8][rev2]") {
    Server server;
    SessionDriver d(server.mail);
    const std::string before = d.send("c0 CAPABILITY\r\n");
    CHECK(before.starts_with("* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL- "));
    CHECK(before.find("UTF8=ACCEPT") == std::string::npos);  // after login only
    login(d);
    const std::string after = d.send("c1 CAPABILITY\r\n");
    CHECK(after.starts_with("* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ "));
    CHECK(after.find(" CONTEXT=SEARCH CONTEXT=SORT UTF8=ACCEPT NOTIFY\r\n") != std::string::npos);
    CHECK(after.find("UTF8=ONLY") == std::string::npos);
}

TEST_CASE("RFC 5161 / RFC 9051 7.2.1: ENABLE IMAP4rev2 and UTF8=ACCEPT, each listed once",
          "[session][utf8][rev2][enable]") {
    Server server;
    SessionDriver d(server.mail);
    login(d);
    // RFC 9051 Appendix B's example: "babc ENABLE IMAP4rev2".
    CHECK(d.send("babc ENABLE IMAP4rev2\r\n") ==
          "* ENABLED IMAP4rev2\r\nbabc OK ENABLE completed\r\n");
    CHECK(d.send("e2 ENABLE imap4REV2 utf8=accept\r\n") ==
          "* ENABLED UTF8=ACCEPT\r\ne2 OK ENABLE completed\r\n");
    CHECK(d.send("e3 ENABLE UTF8=ACCEPT IMAP4rev2\r\n") ==
          "* ENABLED\r\ne3 OK ENABLE completed\r\n");
    // RFC 6855 6: UTF8=ONLY is never enabled.
    CHECK(d.send("e4 ENABLE UTF8=ONLY\r\n") == "* ENABLED\r\ne4 OK ENABLE completed\r\n");
}

TEST_CASE("RFC 6855 3: mailbox names in UTF-8 after ENABLE UTF8=ACCEPT, modified UTF-7 before",
          "[session][utf8]") {
    Server server;
    SessionDriver legacy(server.mail);
    login(legacy);
    SessionDriver d(server.mail);
    login(d);
    CHECK(d.send("e ENABLE UTF8=ACCEPT\r\n") ==
          "* ENABLED UTF8=ACCEPT\r\ne OK ENABLE completed\r\n");
    // Quoted UTF-8 is accepted, and the name is the same mailbox the
    // IMAP4rev1 session names in modified UTF-7.
    CHECK(d.send("c CREATE \"" + kDraftsUtf8 + "\"\r\n") ==
          "c OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(d.send("l LIST \"\" \"Entw*\"\r\n") == "* LIST (\\HasNoChildren \\Unmarked) \"/\" \"" +
                                                     kDraftsUtf8 + "\"\r\nl OK LIST completed\r\n");
    CHECK(legacy.send("l LIST \"\" \"Entw*\"\r\n") == "* LIST (\\HasNoChildren \\Unmarked) \"/\" " +
                                                          kDraftsMutf7 +
                                                          "\r\nl OK LIST completed\r\n");
    CHECK(d.send("s STATUS \"" + kDraftsUtf8 + "\" (MESSAGES)\r\n") ==
          "* STATUS \"" + kDraftsUtf8 + "\" (MESSAGES 0)\r\ns OK STATUS completed\r\n");
    // The modified UTF-7 spelling is now just a name with "&" in it.
    CHECK(d.send("s2 STATUS " + kDraftsMutf7 + " (MESSAGES)\r\n") ==
          "s2 NO [NONEXISTENT] mailbox does not exist\r\n");
    // A literal works too, and LSUB answers in UTF-8.
    CHECK(d.send("u SUBSCRIBE {" + std::to_string(kDraftsUtf8.size()) + "+}\r\n" + kDraftsUtf8 +
                 "\r\n") == "u OK SUBSCRIBE completed\r\n");
    CHECK(d.send("ls LSUB \"\" Entw*\r\n") ==
          "* LSUB () \"/\" \"" + kDraftsUtf8 + "\"\r\nls OK LSUB completed\r\n");
    CHECK(legacy.send("ls LSUB \"\" Entw*\r\n") ==
          "* LSUB () \"/\" " + kDraftsMutf7 + "\r\nls OK LSUB completed\r\n");
    // RFC 6855 3: bytes that are not UTF-8 are BAD; a control character
    // (here U+0085, NEL) in a name is refused.
    CHECK(d.send("b1 CREATE \"caf\xE9\"\r\n") ==
          "b1 BAD Mailbox name is not valid UTF-8 (RFC 6855 3)\r\n");
    CHECK(d.send("b2 CREATE \"a\xC2\x85z\"\r\n") ==
          "b2 NO [CANNOT] Mailbox name holds a control or separator character (RFC 6855 3)\r\n");
    // The IMAP4rev1 session still refuses raw 8-bit names.
    CHECK(legacy.send("b3 CREATE \"" + kDraftsUtf8 + "\"\r\n") ==
          "b3 NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)\r\n");
    // Both sessions see the other's names in their own form.
    CHECK(legacy.send("r RENAME " + kDraftsMutf7 + " &AMQ-rger\r\n") ==
          "r OK RENAME completed\r\n");
    CHECK(d.send("l2 LIST \"\" \"\xC3\x84*\"\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" \"\xC3\x84rger\"\r\n"
          "l2 OK LIST completed\r\n");
}

TEST_CASE("RFC 6855 3: SELECT a UTF-8 name, SEARCH with CHARSET is BAD after UTF8=ACCEPT",
          "[session][utf8][search]") {
    Server server;
    server.store().create_mailbox(kDraftsUtf8);
    server.add(kIntlMessage, kDraftsUtf8);
    server.add("From: a@example.org\r\nSubject: plain\r\n\r\nbody\r\n", kDraftsUtf8);
    SessionDriver d(server.mail);
    login(d);
    d.send("e ENABLE UTF8=ACCEPT\r\n");
    const std::string selected = d.send("s SELECT \"" + kDraftsUtf8 + "\"\r\n");
    CHECK(selected.ends_with("s OK [READ-WRITE] SELECT completed\r\n"));
    CHECK(d.send("f1 SEARCH CHARSET UTF-8 ALL\r\n") ==
          "f1 BAD SEARCH takes no CHARSET after ENABLE UTF8=ACCEPT (RFC 6855 3)\r\n");
    // Without CHARSET the strings are UTF-8: RFC 6532 headers match.
    CHECK(d.send("f2 SEARCH SUBJECT \"Gr\xC3\xBC\xC3\x9F"
                 "e\"\r\n") == "* SEARCH 1\r\nf2 OK SEARCH completed\r\n");
    CHECK(d.send("f3 SEARCH FROM \"j\xC3\xB6rg@b\xC3\xBC"
                 "cher\"\r\n") == "* SEARCH 1\r\nf3 OK SEARCH completed\r\n");
    CHECK(d.send("f4 UID SEARCH TO \"\xE5\x8D\x9A\xE5\xA3\xAB\"\r\n") ==
          "* SEARCH 1\r\nf4 OK UID SEARCH completed\r\n");
    // SORT keeps its mandatory charset (RFC 5256 3).
    CHECK(d.send("f5 SORT (SUBJECT) UTF-8 ALL\r\n") == "* SORT 1 2\r\nf5 OK SORT completed\r\n");
}

TEST_CASE("RFC 6855 3, 8: ENVELOPE strings with UTF-8 are quoted only for a client that enabled it",
          "[session][utf8][fetch]") {
    Server server;
    server.add(kIntlMessage);
    const std::string subject =
        "Gr\xC3\xBC\xC3\x9F"
        "e";
    SessionDriver legacy(server.mail);
    login(legacy);
    legacy.send("s EXAMINE INBOX\r\n");
    // IMAP4rev1: 8-bit strings are literals (RFC 3501 4.3 CHAR8), never
    // quoted strings.
    const std::string old = legacy.send("f FETCH 1 (ENVELOPE)\r\n");
    CHECK(old.find("{" + std::to_string(subject.size()) + "}\r\n" + subject) != std::string::npos);
    CHECK(old.find("\"" + subject + "\"") == std::string::npos);

    SessionDriver d(server.mail);
    login(d);
    d.send("e ENABLE UTF8=ACCEPT\r\n");
    d.send("s EXAMINE INBOX\r\n");
    CHECK(d.send("f FETCH 1 (ENVELOPE)\r\n") ==
          "* 1 FETCH (ENVELOPE (NIL \"" + subject +
              "\" ((\"J\xC3\xB6rg\" NIL \"j\xC3\xB6rg\" \"b\xC3\xBC"
              "cher.example\")) "
              "((\"J\xC3\xB6rg\" NIL \"j\xC3\xB6rg\" \"b\xC3\xBC"
              "cher.example\")) "
              "((\"J\xC3\xB6rg\" NIL \"j\xC3\xB6rg\" \"b\xC3\xBC"
              "cher.example\")) "
              "((\"\xE5\x8D\x9A\xE5\xA3\xAB\" NIL \"\xE5\x8D\x9A\xE5\xA3\xAB\" \"example.org\")) "
              "NIL NIL NIL NIL))\r\n"
              "f OK FETCH completed\r\n");
}

TEST_CASE("RFC 6855 4: APPEND UTF8 (~{n}), and 8-bit header fields need ENABLE",
          "[session][utf8][append]") {
    Server server;
    SessionDriver d(server.mail);
    login(d);
    const std::string size = std::to_string(kIntlMessage.size());
    // Not enabled: "MUST reject, with a NO response, an APPEND command that
    // includes any 8-bit character in message header fields".
    CHECK(d.send("a1 APPEND INBOX {" + size + "+}\r\n" + kIntlMessage + "\r\n") ==
          "a1 NO [CANNOT] 8-bit header fields need ENABLE UTF8=ACCEPT first (RFC 6855 4)\r\n");
    CHECK(d.send("a2 APPEND INBOX UTF8 (~{" + size + "+}\r\n" + kIntlMessage + ")\r\n") ==
          "a2 NO [CANNOT] 8-bit header fields need ENABLE UTF8=ACCEPT first (RFC 6855 4)\r\n");
    // 8-bit in the body only is fine.
    const std::string body8 = "Subject: x\r\n\r\nb\xC3\xBC\r\n";
    CHECK(d.send("a3 APPEND INBOX {" + std::to_string(body8.size()) + "+}\r\n" + body8 + "\r\n") ==
          "a3 OK [APPENDUID " + std::to_string(server.store().open_mailbox("INBOX").uidvalidity) +
              " 1] APPEND completed\r\n");
    CHECK(d.send("e ENABLE UTF8=ACCEPT\r\n") ==
          "* ENABLED UTF8=ACCEPT\r\ne OK ENABLE completed\r\n");
    const std::string uidvalidity =
        std::to_string(server.store().open_mailbox("INBOX").uidvalidity);
    CHECK(d.send("a4 APPEND INBOX (\\Seen) UTF8 (~{" + size + "+}\r\n" + kIntlMessage + ")\r\n") ==
          "a4 OK [APPENDUID " + uidvalidity + " 2] APPEND completed\r\n");
    // The synchronising form: "+" after the announcement, then the data.
    CHECK(d.send("a5 APPEND INBOX UTF8 (~{" + size + "}\r\n") == "+ Ready for literal data\r\n");
    CHECK(d.send(kIntlMessage + ")\r\n") ==
          "a5 OK [APPENDUID " + uidvalidity + " 3] APPEND completed\r\n");
    // RFC 6855 4 ABNF: literal8 only; a syntax error is BAD.
    CHECK(d.send("a6 APPEND INBOX UTF8 ({4+}\r\nabcd)\r\n") ==
          "a6 BAD APPEND: UTF8 data takes a literal8 ~{n} (RFC 6855 4)\r\n");
    d.send("s SELECT INBOX\r\n");
    CHECK(d.send("f UID FETCH 2:3 (RFC822.SIZE)\r\n") ==
          "* 2 FETCH (UID 2 RFC822.SIZE " + size + ")\r\n* 3 FETCH (UID 3 RFC822.SIZE " + size +
              ")\r\nf OK UID FETCH completed\r\n");
    // CATENATE's cat-part takes the UTF8 form too (RFC 6855 4).
    CHECK(d.send("a7 APPEND INBOX CATENATE (UTF8 (~{" + size + "+}\r\n" + kIntlMessage +
                 ") TEXT {6+}\r\nmore\r\n)\r\n")
              .ends_with("a7 OK [APPENDUID " + uidvalidity + " 4] APPEND completed\r\n"));
}

TEST_CASE("RFC 9051 6.4.4: after ENABLE IMAP4rev2 SEARCH answers ESEARCH, the RFC's examples",
          "[session][rev2][search]") {
    Server server;
    // Flagged: 2, 10, 11 of 11 (RFC 9051 6.4.4's "ALL 2,10:11").
    for (int i = 1; i <= 11; ++i) {
        const bool flagged = i == 2 || i == 10 || i == 11;
        server.add("From: a@example.org\r\nSubject: m" + std::to_string(i) + "\r\n\r\nbody\r\n",
                   "INBOX", flagged ? store::flag::kFlagged : 0);
    }
    SessionDriver d(server.mail);
    login(d);
    d.send("e ENABLE IMAP4rev2\r\n");
    d.send("s SELECT INBOX\r\n");
    CHECK(d.send("A282 SEARCH RETURN (MIN COUNT) FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\nA282 OK SEARCH completed\r\n");
    CHECK(d.send("A283 SEARCH RETURN () FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A283\") ALL 2,10:11\r\nA283 OK SEARCH completed\r\n");
    // No RETURN: as RETURN (ALL).
    CHECK(d.send("A2 SEARCH FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A2\") ALL 2,10:11\r\nA2 OK SEARCH completed\r\n");
    CHECK(d.send("A284 SEARCH TEXT \"string not in mailbox\"\r\n") ==
          "* ESEARCH (TAG \"A284\")\r\nA284 OK SEARCH completed\r\n");
    CHECK(d.send("A285 UID SEARCH FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A285\") UID ALL 2,10:11\r\nA285 OK UID SEARCH completed\r\n");
    // CHARSET stays allowed under IMAP4rev2 alone (RFC 9051 6.4.4).
    CHECK(d.send("A286 SEARCH CHARSET UTF-8 FLAGGED\r\n") ==
          "* ESEARCH (TAG \"A286\") ALL 2,10:11\r\nA286 OK SEARCH completed\r\n");
}

TEST_CASE(
    "RFC 9051 Appendix E 12, 10, 21: no Recent flag, LIST in SELECT, UID in unsolicited FETCH",
    "[session][rev2][select]") {
    Server server;
    server.add("Subject: one\r\n\r\nbody\r\n");
    SessionDriver d(server.mail);
    d.mask_object_ids = false;
    login(d);
    CHECK(d.send("e ENABLE IMAP4rev2\r\n") == "* ENABLED IMAP4rev2\r\ne OK ENABLE completed\r\n");
    const std::string mailboxid = server.store().open_mailbox("INBOX").object_id;
    const std::string uidvalidity =
        std::to_string(server.store().open_mailbox("INBOX").uidvalidity);
    // RFC 9051 6.3.2: no RECENT, a LIST response; no \Recent flag, no
    // [UNSEEN] (Appendix E 11).
    CHECK(d.send("s SELECT INBOX\r\n") ==
          "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
          "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags "
          "permitted.\r\n"
          "* 1 EXISTS\r\n"
          "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
          "* OK [UIDVALIDITY " +
              uidvalidity +
              "] UIDs valid\r\n"
              "* OK [UIDNEXT 2] Predicted next UID\r\n"
              "* OK [MAILBOXID (" +
              mailboxid +
              ")] Ok\r\n"
              "s OK [READ-WRITE] SELECT completed\r\n");
    CHECK(d.send("f FETCH 1 (FLAGS)\r\n") == "* 1 FETCH (FLAGS ())\r\nf OK FETCH completed\r\n");
    // A message delivered meanwhile: EXISTS, no RECENT; the \Recent it
    // would have stays unclaimed for an IMAP4rev1 session.
    server.add("Subject: two\r\n\r\nbody\r\n");
    CHECK(d.send("n NOOP\r\n") == "* 2 EXISTS\r\nn OK NOOP completed\r\n");
    SessionDriver legacy(server.mail);
    login(legacy);
    CHECK(legacy.send("st STATUS INBOX (RECENT)\r\n") ==
          "* STATUS INBOX (RECENT 2)\r\nst OK STATUS completed\r\n");
    // Another session's flag change: the unsolicited FETCH carries UID
    // (RFC 9051 7.5.2).
    legacy.send("ls SELECT INBOX\r\n");
    legacy.send("st STORE 1 +FLAGS.SILENT (\\Flagged)\r\n");
    CHECK(d.send("n2 NOOP\r\n") ==
          "* 1 FETCH (UID 1 FLAGS (\\Flagged))\r\nn2 OK NOOP completed\r\n");
}

TEST_CASE("RFC 9051 6.3.11: STATUS DELETED counts the messages flagged Deleted",
          "[session][rev2][status]") {
    Server server;
    server.add("Subject: a\r\n\r\nx\r\n", "INBOX", store::flag::kDeleted);
    server.add("Subject: b\r\n\r\nx\r\n");
    server.add("Subject: c\r\n\r\nx\r\n", "INBOX", store::flag::kDeleted | store::flag::kSeen);
    SessionDriver d(server.mail);
    login(d);
    CHECK(d.send("s STATUS INBOX (DELETED MESSAGES SIZE)\r\n") ==
          "* STATUS INBOX (MESSAGES 3 DELETED 2 SIZE 51)\r\ns OK STATUS completed\r\n");
}
