// APPEND with CATENATE (RFC 4469) through whole sessions: the RFC's
// examples on a message of the same structure, the URL forms (RFC 5092 7
// relative: absolute-path, relative to the selected mailbox; RFC 5550
// ;PARTIAL=; absolute ones refused, RFC 4469 3), BADURL and TOOBIG (RFC 4469 4), MULTIAPPEND and
// REPLACE (RFC 8508 4.2) with CATENATE, and the bounds on hostile input.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "protocol/limits.h"
#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/hostile_bound.h"
#include "support/session_driver.h"

namespace {

using imap::test::SessionDriver;
namespace store = imap::store;

// RFC 4469 appendix A's draft (UID 1 here): multipart/mixed, 1 text/plain,
// 2 application/x-zip-compressed.
const std::string kHeader =
    "From: Bob Ar <bar@example.org>\r\n"
    "Subject: About our holiday trip\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed;\r\n"
    "              boundary=\"------------030308070208000400050907\"\r\n"
    "\r\n";
const std::string kPart1Mime = "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
const std::string kPart1 = "Our travel agent has sent the updated schedule.\r\n";
const std::string kPart2Mime =
    "Content-Type: application/x-zip-compressed; name=\"a.zip\"\r\n"
    "Content-Transfer-Encoding: base64\r\n\r\n";
const std::string kPart2 = "UEsDBAoAAAAAAA==\r\n";
const std::string kBoundary = "------------030308070208000400050907";
const std::string kDraft = kHeader + "--" + kBoundary + "\r\n" + kPart1Mime + kPart1 + "\r\n--" +
                           kBoundary + "\r\n" + kPart2Mime + kPart2 + "\r\n--" + kBoundary +
                           "--\r\n";
// UID 2: a one-part message.
const std::string kNote = "Subject: note\r\n\r\nhello\r\n";

std::string literal(const std::string& bytes) {
    return "{" + std::to_string(bytes.size()) + "+}\r\n" + bytes;
}

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};
    store::MailStore& store() { return mail.open("alice")->store(); }
    store::MailboxInfo box(const std::string& name) { return store().open_mailbox(name); }
    void add(const std::string& mailbox, const std::string& text) {
        store::AppendRequest request;
        request.message = text;
        request.internal_date = 1700000000;
        store().append(box(mailbox).id, request);
    }
    std::string uidvalidity(const std::string& name = "Drafts") {
        return std::to_string(box(name).uidvalidity);
    }
    // The stored bytes of `uid` in `mailbox`.
    std::string body(const std::string& mailbox, std::uint32_t uid) {
        const store::UidRange range{uid, uid};
        const auto found = store().fetch(box(mailbox).id, std::span(&range, 1));
        if (found.empty()) return "(none)";
        return store().read_body(found.front().body_id, 0, found.front().size);
    }
    Server() {
        add("Drafts", kDraft);
        add("Drafts", kNote);
        store().claim_recent(box("Drafts").id);
    }
};

}  // namespace

TEST_CASE("RFC 4469 appendix A example 1: an attachment replaced in a draft",
          "[session][catenate][rfc4469]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    const std::string base = "/Drafts;UIDVALIDITY=" + server.uidvalidity() + "/;UID=1";
    const std::string between = "\r\n--" + kBoundary + "\r\n";
    const std::string end = "\r\n--" + kBoundary + "--\r\n";
    CHECK(d.send("A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL \"" + base +
                 "/;section=HEADER\" TEXT " + literal(between) + " URL \"" + base +
                 "/;section=1.MIME\" URL \"" + base + "/;section=1\" TEXT " + literal(between) +
                 " URL \"/Drafts;UIDVALIDITY=" + server.uidvalidity() + "/;UID=2\" TEXT " +
                 literal(end) + ")\r\n") ==
          "A003 OK [APPENDUID " + server.uidvalidity() + " 3] APPEND completed\r\n");
    // The octets of each URL as BODY[section] returns them, unchanged.
    CHECK(server.body("Drafts", 3) ==
          kHeader + between + kPart1Mime + kPart1 + between + kNote + end);
}

TEST_CASE("RFC 4469 appendix A example 4: BADURL names the first URL that failed",
          "[session][catenate][rfc4469]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    const std::string v = server.uidvalidity();
    CHECK(d.send("A003 APPEND Drafts (\\Seen $MDNSent) CATENATE (TEXT " +
                 literal("Subject: x\r\n\r\n") + " URL \"/Drafts;UIDVALIDITY=" + v +
                 "/;UID=2\" URL \"/Drafts;UIDVALIDITY=" + v +
                 "/;UID=30\" URL \"/Drafts;UIDVALIDITY=" + v + "/;UID=31\")\r\n") ==
          "A003 NO [BADURL /Drafts;UIDVALIDITY=" + v + "/;UID=30] Message not found\r\n");
    CHECK(server.store().uids(server.box("Drafts").id) == std::vector<std::uint32_t>{1, 2});
}

TEST_CASE("RFC 5092 and RFC 4469 3: the URL forms resolved, and those refused",
          "[session][catenate][rfc4469]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    const std::string v = server.uidvalidity();
    std::uint32_t next = 3;
    const auto appends = [&](const std::string& url, const std::string& expected) {
        INFO(url);
        CHECK(d.send("a APPEND Sent CATENATE (URL \"" + url + "\")\r\n") ==
              "a OK [APPENDUID " + server.uidvalidity("Sent") + " " + std::to_string(next - 2) +
                  "] APPEND completed\r\n");
        CHECK(server.body("Sent", next - 2) == expected);
        ++next;
    };
    const auto refused = [&](const std::string& url, const std::string& shown,
                             const std::string& why) {
        INFO(url);
        CHECK(d.send("b APPEND Sent CATENATE (URL \"" + url + "\")\r\n") ==
              "b NO [BADURL " + shown + "] " + why + "\r\n");
    };
    // Absolute path; with and without UIDVALIDITY; the keys in any case.
    appends("/Drafts;UIDVALIDITY=" + v + "/;UID=2", kNote);
    appends("/Drafts/;UID=2/;SECTION=TEXT", "hello\r\n");
    appends("/Drafts/;uid=1/;section=1", kPart1);
    appends("/Drafts/;UID=1/;SECTION=2.MIME", kPart2Mime);
    appends("/Drafts/;UID=1/;SECTION=HEADER.FIELDS%20(Subject)",
            "Subject: About our holiday trip\r\n\r\n");
    // RFC 5550 URL-PARTIAL: offset, offset.length.
    appends("/Drafts/;UID=2/;PARTIAL=9.4", "note");
    appends("/Drafts/;UID=1/;SECTION=1/;PARTIAL=4", kPart1.substr(4));
    // Percent-encoded mailbox names (RFC 5092 enc-mailbox: UTF-8).
    server.store().create_mailbox("Entw\xc3\xbcrfe");
    server.add("Entw\xc3\xbcrfe", kNote);
    appends("/Entw%C3%BCrfe/;UID=1", kNote);
    // RFC 4469 3: absolute URLs are "outside the scope" and answered NO,
    // whoever's they are (as Dovecot).
    const std::string absolute = "Relative IMAP URL required (RFC 4469 3)";
    refused("imap://alice@localhost/Drafts/;UID=1", "imap://alice@localhost/Drafts/;UID=1",
            absolute);
    refused("imap://bob@localhost/Drafts/;UID=1", "imap://bob@localhost/Drafts/;UID=1", absolute);
    refused("IMAP://localhost/Drafts/;UID=1", "IMAP://localhost/Drafts/;UID=1", absolute);
    // Wrong UIDVALIDITY, no such UID, mailbox or part (RFC 4469 4.1).
    refused("/Drafts;UIDVALIDITY=1/;UID=1", "/Drafts;UIDVALIDITY=1/;UID=1", "Invalid UIDVALIDITY");
    refused("/Drafts/;UID=9", "/Drafts/;UID=9", "Message not found");
    refused("/Nowhere/;UID=1", "/Nowhere/;UID=1", "Mailbox does not exist");
    refused("/Drafts/;UID=1/;SECTION=3", "/Drafts/;UID=1/;SECTION=3", "No such body part");
    refused("/Drafts/;UID=2/;SECTION=2", "/Drafts/;UID=2/;SECTION=2", "No such body part");
    refused("/Drafts/;UID=1/;SECTION=BOGUS", "/Drafts/;UID=1/;SECTION=BOGUS", "Invalid section");
    // A section cannot smuggle more FETCH syntax; "]" is percent-encoded in
    // the response code (url-resp-text, RFC 4469 5).
    refused("/Drafts/;UID=1/;SECTION=1]%20BODY[2", "/Drafts/;UID=1/;SECTION=1%5D%20BODY[2",
            "Invalid section");
    // Not a message URL, URLAUTH (RFC 4467), bad syntax.
    const std::string invalid = "Invalid IMAP message URL (RFC 5092)";
    refused("/Drafts", "/Drafts", invalid);
    refused("/Drafts/;UID=1;URLAUTH=anonymous", "/Drafts/;UID=1;URLAUTH=anonymous", invalid);
    refused("/Drafts/;UID=0", "/Drafts/;UID=0", invalid);
    refused("/Drafts/;UID=1/;PARTIAL=1.0", "/Drafts/;UID=1/;PARTIAL=1.0", invalid);
    refused("/Dr%zzafts/;UID=1", "/Dr%zzafts/;UID=1", invalid);
    refused("", "\"\"", invalid);  // url-resp-text is 1*char
    // Relative to the selected mailbox (RFC 4469 3): only when selected.
    refused(";UID=2", ";UID=2", "Mailbox-relative IMAP URL, but no mailbox selected");
    CHECK(d.send("s EXAMINE Drafts\r\n").ends_with("s OK [READ-ONLY] EXAMINE completed\r\n"));
    appends(";UID=2/;SECTION=HEADER", "Subject: note\r\n\r\n");
    // RFC 4469 3: APPEND does not set \Seen on the messages catenated.
    CHECK(d.send("f FETCH 1:2 FLAGS\r\n") ==
          "* 1 FETCH (FLAGS ())\r\n* 2 FETCH (FLAGS ())\r\nf OK FETCH completed\r\n");
}

TEST_CASE("RFC 4469 4.2: TOOBIG past APPENDLIMIT, found before a URL's bytes are read",
          "[session][catenate][hostile][rfc4469]") {
    Server server;
    const std::string big(1024 * 1024, 'x');
    server.add("Drafts", "Subject: big\r\n\r\n" + big);  // UID 3, 1 MiB
    SessionDriver d(server.mail);
    d.login();
    // 64 of them exceed 64 MiB: the 65th URL is never resolved, and no byte
    // of the message is read. Then a thousand parts (the parser's bound).
    const auto started = std::chrono::steady_clock::now();
    std::string parts;
    for (std::size_t i = 0; i < imap::limits::kMaxCatenateParts; ++i)
        parts += (i == 0 ? "" : " ") + std::string("URL /Drafts/;UID=3");
    CHECK(d.send("a APPEND Drafts CATENATE (" + parts + ")\r\n") ==
          "a NO [TOOBIG] Message would be too large (at most 67108864 octets)\r\n");
    CHECK(d.send("b APPEND Drafts CATENATE (" + parts + " URL /Drafts/;UID=3)\r\n") ==
          "b BAD APPEND: Too many CATENATE parts (at most 1000)\r\n");
    // A thousand tiny ones fit: two-byte TEXT literals and the small note.
    std::string tiny;
    for (std::size_t i = 0; i < imap::limits::kMaxCatenateParts; ++i)
        tiny += (i == 0 ? "" : " ") +
                (i % 2 == 0 ? "TEXT {2+}\r\nab" : std::string("URL /Drafts/;UID=2"));
    CHECK(d.send("c APPEND Drafts CATENATE (" + tiny + ")\r\n") ==
          "c OK [APPENDUID " + server.uidvalidity() + " 4] APPEND completed\r\n");
    CHECK(server.body("Drafts", 4).size() == 500 * (2 + kNote.size()));
    CHECK(std::chrono::steady_clock::now() - started < imap::test::kHostileTimeBound);
    // The session and the server go on.
    CHECK(d.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
    SessionDriver fresh(server.mail);
    fresh.login();
    CHECK(fresh.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
}

TEST_CASE("RFC 4469 with RFC 3502: MULTIAPPEND of CATENATE messages, all or none",
          "[session][catenate][rfc4469]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    CHECK(d.send("a APPEND Sent CATENATE (URL /Drafts/;UID=2) (\\Seen) " + literal("plain") +
                 " CATENATE (TEXT " + literal("X: 1\r\n") + " URL /Drafts/;UID=2)\r\n") ==
          "a OK [APPENDUID " + server.uidvalidity("Sent") + " 1:3] APPEND completed\r\n");
    CHECK(server.body("Sent", 3) == "X: 1\r\n" + kNote);
    // One bad URL: nothing of the command is appended.
    CHECK(d.send("b APPEND Sent " + literal("plain") + " CATENATE (URL /Drafts/;UID=7)\r\n") ==
          "b NO [BADURL /Drafts/;UID=7] Message not found\r\n");
    CHECK(server.store().uids(server.box("Sent").id) == std::vector<std::uint32_t>{1, 2, 3});
    // An empty result is refused as an empty APPEND is.
    CHECK(d.send("c APPEND Sent CATENATE (TEXT {0+}\r\n)\r\n") ==
          "c NO [CANNOT] Cannot save an empty message\r\n");
    // TRYCREATE after the parts are resolved, as APPEND.
    CHECK(d.send("e APPEND Nowhere CATENATE (URL /Drafts/;UID=2)\r\n") ==
          "e NO [TRYCREATE] Mailbox does not exist\r\n");
}

TEST_CASE("RFC 8508 4.2: UID REPLACE with CATENATE, the RFC's example",
          "[session][catenate][replace][rfc8508]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    d.send("s SELECT Drafts\r\n");
    const std::string header = "To: Mitzy <miss.mitzy@example.org>\r\nSubject: My view\r\n";
    CHECK(d.send("A011 UID REPLACE 2 Drafts CATENATE (TEXT {" + std::to_string(header.size()) +
                 "}\r\n" + header + " URL \"/Drafts/;UID=2\")\r\n") ==
          "+ Ready for literal data\r\n"
          "* OK [APPENDUID " +
              server.uidvalidity() +
              " 3] Replacement Message ready\r\n"
              "* 2 EXPUNGE\r\n"
              "* 2 EXISTS\r\n"
              "* 1 RECENT\r\n"
              "A011 OK UID REPLACE completed\r\n");
    CHECK(server.body("Drafts", 3) == header + kNote);
    CHECK(server.body("Drafts", 2) == "(none)");
}

TEST_CASE("RFC 4469 2: CATENATE, URL-PARTIAL and REPLACE are advertised after login",
          "[session][catenate][replace]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    CHECK(d.send("c CAPABILITY\r\n").find(" PARTIAL CATENATE REPLACE URL-PARTIAL ") !=
          std::string::npos);
}
