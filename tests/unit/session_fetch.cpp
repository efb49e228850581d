// FETCH and UID FETCH through the Session (RFC 3501 6.4.5, 6.4.8, 7.4.2;
// RFC 2180 4.1; RFC 5530 EXPUNGEISSUED), byte for byte. Expected responses
// marked "Dovecot" are what Dovecot 2.3 answered to the same request for the
// same message; the corpus (tests/data/messages/*.expected) is Dovecot's
// ENVELOPE, BODY, BODYSTRUCTURE and section contents.
//
// Messages go in with the store directly; sessions run without sockets on an
// in-memory store. Large outputs are drained the way the Connection does:
// a slice at a time, resume() once the output has drained.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "server/imap/fetch_job.h"
#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "support/corpus.h"
#include "support/session_driver.h"
#include "support/store_support.h"

namespace {

namespace fs = std::filesystem;
namespace store = imap::store;
using imap::server::FetchJob;
using imap::server::Session;
using imap::test::drain;
using imap::test::SessionDriver;

// multipart/mixed with a text part and a message/rfc822 part, folded
// headers, a repeated field, an empty field, preamble and epilogue.
const std::string kMixed =
    "Received: from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "Received: from c.example\r\n"
    "\tby d.example; Mon, 1 Jan 2024 00:00:01 +0000\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.com>,\r\n"
    " Carol <carol@example.com>\r\n"
    "Subject: A folded\r\n"
    " subject line\r\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0100\r\n"
    "Message-ID: <m1@example.com>\r\n"
    "X-Empty:\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hello body.\r\n"
    "--b1\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: inner@example.net\r\n"
    "Subject: inner\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "inner body\r\n"
    "--b1--\r\n"
    "epilogue\r\n";

const std::string kMixedHeader =
    "Received: from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "Received: from c.example\r\n"
    "\tby d.example; Mon, 1 Jan 2024 00:00:01 +0000\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.com>,\r\n"
    " Carol <carol@example.com>\r\n"
    "Subject: A folded\r\n"
    " subject line\r\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0100\r\n"
    "Message-ID: <m1@example.com>\r\n"
    "X-Empty:\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n";

const std::string kSimple = "Subject: three\r\n\r\nbody three\r\n";

std::string literal(const std::string& s) {
    return "{" + std::to_string(s.size()) + "}\r\n" + s;
}

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};

    store::MailStore& store() { return mail.open("alice")->store(); }
    store::MailboxId inbox() { return store().open_mailbox("INBOX").id; }

    std::uint32_t add(const std::string& raw, std::uint32_t system_flags = 0,
                      std::vector<std::string> keywords = {},
                      std::int64_t internal_date = 1704217272, int zone_minutes = 0) {
        store::AppendRequest request;
        request.message = raw;
        request.internal_date = internal_date;
        request.zone_minutes = zone_minutes;
        request.flags.system = system_flags;
        request.flags.keywords = std::move(keywords);
        return store().append(inbox(), request);
    }

    void expunge(std::uint32_t uid) {
        const store::UidRange range{uid, uid};
        store::Flags deleted;
        deleted.system = store::flag::kDeleted;
        store().store_flags(inbox(), store::UidSpan(&range, 1), store::FlagOp::Add, deleted);
        store().expunge(inbox(), store::UidSpan(&range, 1));
    }

    std::int64_t count(const std::string& sql) {
        auto q = store::test::sqlite_database(store()).prepare(sql);
        q.step();
        return q.column_int(0);
    }

    std::uint32_t flags(std::uint32_t uid) {
        const store::UidRange range{uid, uid};
        const auto rows = store().fetch(inbox(), store::UidSpan(&range, 1));
        REQUIRE(rows.size() == 1);
        return rows[0].flags;
    }
};

// A 2 MB message: its literal takes many steps of a FETCH.
std::string big_message(char fill) {
    std::string raw = "Subject: big\r\n\r\n";
    while (raw.size() < 2 * 1024 * 1024)
        raw += std::string(78, fill) + "\r\n";
    return raw;
}

using imap::test::send_all;

void select(SessionDriver& d, const char* command = "s SELECT INBOX\r\n") {
    const std::string reply = d.send(command);
    REQUIRE(reply.find("s OK [READ-") != std::string::npos);
}

// ---- The message corpus ------------------------------------------------------

using namespace imap::test::corpus;  // data_dir, read_file, tokens, read_expected, ...

}  // namespace

// ---- Data items -----------------------------------------------------------------

TEST_CASE("RFC 3501 6.4.5: FLAGS with Recent and keywords, INTERNALDATE, RFC822.SIZE, UID",
          "[session][fetch]") {
    Server server;
    // 02-Jan-2024 10:11:12 -0730 = 17:41:12 UTC.
    server.add(kSimple, store::flag::kFlagged | store::flag::kSeen, {"Junk", "$Forwarded"},
               1704217272, -450);
    server.add(kMixed, 0, {}, 1704217272 + 86400 * 10, 60);
    SessionDriver d(server.mail);
    d.login();
    select(d);
    CHECK(send_all(d, "a FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE UID)\r\n") ==
          "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent $Forwarded Junk) INTERNALDATE "
          "\"02-Jan-2024 10:11:12 -0730\" RFC822.SIZE 30 UID 1)\r\n"
          "a OK FETCH completed\r\n");
    // The day keeps two digits, as Dovecot writes it; the stored zone is kept.
    CHECK(send_all(d, "b FETCH 2 (INTERNALDATE RFC822.SIZE)\r\n") ==
          "* 2 FETCH (INTERNALDATE \"12-Jan-2024 18:41:12 +0100\" RFC822.SIZE 621)\r\n"
          "b OK FETCH completed\r\n");
    // Macros (RFC 3501 6.4.5): FAST = (FLAGS INTERNALDATE RFC822.SIZE).
    CHECK(send_all(d, "c FETCH 2 FAST\r\n") ==
          "* 2 FETCH (FLAGS (\\Recent) INTERNALDATE \"12-Jan-2024 18:41:12 +0100\" "
          "RFC822.SIZE 621)\r\nc OK FETCH completed\r\n");
}

TEST_CASE("RFC 3501 7.4.2: ENVELOPE, BODY, BODYSTRUCTURE of a nested multipart as Dovecot",
          "[session][fetch]") {
    Server server;
    server.add(kMixed);
    SessionDriver d(server.mail);
    d.login();
    select(d);
    const std::string body =
        "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 11 0)(\"message\" "
        "\"rfc822\" NIL NIL NIL \"7bit\" 79 (NIL \"inner\" ((NIL NIL \"inner\" \"example.net\")) "
        "((NIL NIL \"inner\" \"example.net\")) ((NIL NIL \"inner\" \"example.net\")) NIL NIL NIL "
        "NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0) 4) "
        "\"mixed\")";
    const std::string bodystructure =
        "((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 11 0 NIL NIL NIL NIL)"
        "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 79 (NIL \"inner\" ((NIL NIL \"inner\" "
        "\"example.net\")) ((NIL NIL \"inner\" \"example.net\")) ((NIL NIL \"inner\" "
        "\"example.net\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") "
        "NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL) 4 NIL NIL NIL NIL) \"mixed\" (\"boundary\" "
        "\"b1\") NIL NIL NIL)";
    // Dovecot sends this folded subject as a literal; ours is quoted
    // (protocol/response_writer.h; DIFFERENCES.md).
    const std::string envelope =
        "(\"Mon, 1 Jan 2024 10:00:00 +0100\" \"A folded subject line\" ((\"Alice\" NIL \"alice\" "
        "\"example.com\")) ((\"Alice\" NIL \"alice\" \"example.com\")) ((\"Alice\" NIL \"alice\" "
        "\"example.com\")) ((\"Bob\" NIL \"bob\" \"example.com\")(\"Carol\" NIL \"carol\" "
        "\"example.com\")) NIL NIL NIL \"<m1@example.com>\")";
    CHECK(send_all(d, "a FETCH 1 (BODY BODYSTRUCTURE ENVELOPE)\r\n") ==
          "* 1 FETCH (BODY " + body + " BODYSTRUCTURE " + bodystructure + " ENVELOPE " + envelope +
              ")\r\na OK FETCH completed\r\n");
    // FULL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY).
    CHECK(send_all(d, "b FETCH 1 FULL\r\n") ==
          "* 1 FETCH (FLAGS (\\Recent) INTERNALDATE \"02-Jan-2024 17:41:12 +0000\" RFC822.SIZE "
          "621 ENVELOPE " +
              envelope + " BODY " + body + ")\r\nb OK FETCH completed\r\n");
    // ALL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE).
    CHECK(send_all(d, "c FETCH 1 ALL\r\n") ==
          "* 1 FETCH (FLAGS (\\Recent) INTERNALDATE \"02-Jan-2024 17:41:12 +0000\" RFC822.SIZE "
          "621 ENVELOPE " +
              envelope + ")\r\nc OK FETCH completed\r\n");
}

TEST_CASE("RFC 3501 7.4.2: corpus ENVELOPE, BODY, BODYSTRUCTURE and sections through FETCH",
          "[session][fetch][corpus]") {
    const fs::path dir = data_dir();
    REQUIRE(fs::exists(dir));
    Server server;
    std::vector<std::pair<std::string, Expected>> messages;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".eml") continue;
        const fs::path expected = dir / (entry.path().stem().string() + ".expected");
        REQUIRE(fs::exists(expected));
        server.add(read_file(entry.path()));
        messages.emplace_back(entry.path().stem().string(), read_expected(read_file(expected)));
    }
    REQUIRE(messages.size() >= 20);
    SessionDriver d(server.mail);
    d.login();
    select(d);
    std::size_t exact = 0;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const auto& [name, e] = messages[i];
        INFO("message " << name);
        const std::string n = std::to_string(i + 1);
        const std::string want = "* " + n + " FETCH (RFC822.SIZE " + e.items.at("RFC822.SIZE") +
                                 " ENVELOPE " + e.items.at("ENVELOPE") + " BODY " +
                                 e.items.at("BODY") + " BODYSTRUCTURE " +
                                 e.items.at("BODYSTRUCTURE") + ")\r\n";
        const std::string got =
            send_all(d, "a FETCH " + n + " (RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)\r\n");
        REQUIRE(got.ends_with("a OK FETCH completed\r\n"));
        const std::string response = got.substr(0, got.size() - 22);
        if (want.find('{') == std::string::npos && response.find('{') == std::string::npos) {
            CHECK(response == want);
            ++exact;
        } else {
            CHECK(tokens(response) == tokens(want));
        }
        for (const auto& [spec, size_hash] : e.sections) {
            INFO("section " << spec);
            const std::string reply =
                send_all(d, "b FETCH " + n + " (BODY.PEEK[" + spec + "])\r\n");
            const std::string prefix = "* " + n + " FETCH (BODY[" + spec + "] {" +
                                       std::to_string(size_hash.first) + "}\r\n";
            REQUIRE(reply.starts_with(prefix));
            const std::string tail = ")\r\nb OK FETCH completed\r\n";
            REQUIRE(reply.size() == prefix.size() + size_hash.first + tail.size());
            CHECK(reply.ends_with(tail));
            CHECK(fnv1a64(std::string_view(reply).substr(prefix.size(), size_hash.first)) ==
                  size_hash.second);
        }
    }
    CHECK(exact >= 15);
}

// ---- Sections ----------------------------------------------------------------------

TEST_CASE("RFC 3501 6.4.5: BODY section HEADER, TEXT, MIME, part numbers, as Dovecot",
          "[session][fetch][section]") {
    Server server;
    server.add(kMixed);
    server.add(kSimple);
    SessionDriver d(server.mail);
    d.login();
    select(d);
    const auto fetch = [&](const std::string& items) {
        return send_all(d, "a FETCH " + items + "\r\n");
    };
    const std::string ok = "a OK FETCH completed\r\n";

    CHECK(fetch("1 (BODY.PEEK[])") == "* 1 FETCH (BODY[] " + literal(kMixed) + ")\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[HEADER])") ==
          "* 1 FETCH (BODY[HEADER] " + literal(kMixedHeader) + ")\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[TEXT])") ==
          "* 1 FETCH (BODY[TEXT] " + literal(kMixed.substr(kMixedHeader.size())) + ")\r\n" + ok);
    // Dovecot, byte for byte.
    CHECK(fetch("1 (BODY.PEEK[1])") == "* 1 FETCH (BODY[1] {11}\r\nHello body.)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[1.MIME])") ==
          "* 1 FETCH (BODY[1.MIME] {43}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n)\r\n" +
              ok);
    CHECK(fetch("1 (BODY.PEEK[2.HEADER])") ==
          "* 1 FETCH (BODY[2.HEADER] {69}\r\nFrom: inner@example.net\r\nSubject: "
          "inner\r\nContent-Type: text/plain\r\n\r\n)\r\n" +
              ok);
    CHECK(fetch("1 (BODY.PEEK[2.TEXT])") == "* 1 FETCH (BODY[2.TEXT] {10}\r\ninner body)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[2.1])") == "* 1 FETCH (BODY[2.1] {10}\r\ninner body)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[2.1.MIME])") ==
          "* 1 FETCH (BODY[2.1.MIME] {69}\r\nFrom: inner@example.net\r\nSubject: "
          "inner\r\nContent-Type: text/plain\r\n\r\n)\r\n" +
              ok);
    CHECK(fetch("1 (BODY.PEEK[2])") ==
          "* 1 FETCH (BODY[2] {79}\r\nFrom: inner@example.net\r\nSubject: inner\r\nContent-Type: "
          "text/plain\r\n\r\ninner body)\r\n" +
              ok);
    // Sections that do not exist are empty strings, still literals (Dovecot).
    CHECK(fetch("1 (BODY.PEEK[9])") == "* 1 FETCH (BODY[9] {0}\r\n)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[1.2.3])") == "* 1 FETCH (BODY[1.2.3] {0}\r\n)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[1.HEADER])") == "* 1 FETCH (BODY[1.HEADER] {0}\r\n)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[9.MIME])") == "* 1 FETCH (BODY[9.MIME] {0}\r\n)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[1.HEADER.FIELDS (subject)])") ==
          "* 1 FETCH (BODY[1.HEADER.FIELDS (SUBJECT)] {0}\r\n)\r\n" + ok);
    // A message that is not multipart has part 1 only: its body, and as
    // 1.MIME its header (Dovecot).
    CHECK(fetch("2 (BODY.PEEK[1] BODY.PEEK[1.MIME])") ==
          "* 2 FETCH (BODY[1] {12}\r\nbody three\r\n BODY[1.MIME] {18}\r\nSubject: "
          "three\r\n\r\n)\r\n" +
              ok);
    // RFC822.HEADER = BODY.PEEK[HEADER]; names as RFC 3501 7.4.2 gives them.
    CHECK(fetch("1 (RFC822.HEADER)") ==
          "* 1 FETCH (RFC822.HEADER " + literal(kMixedHeader) + ")\r\n" + ok);
}

TEST_CASE("RFC 3501 6.4.5: HEADER.FIELDS and HEADER.FIELDS.NOT keep folding and order",
          "[session][fetch][section]") {
    Server server;
    server.add(kMixed);
    server.add("Subject: y\r\nFrom: a@b\r\n");
    SessionDriver d(server.mail);
    d.login();
    select(d);
    const auto fetch = [&](const std::string& items) {
        return send_all(d, "a FETCH " + items + "\r\n");
    };
    const std::string ok = "a OK FETCH completed\r\n";

    // Dovecot, byte for byte: field names upper-cased in the response, every
    // Received kept, folding kept, message order, the blank line at the end.
    CHECK(fetch("1 (BODY.PEEK[HEADER.FIELDS (received subject)])") ==
          "* 1 FETCH (BODY[HEADER.FIELDS (RECEIVED SUBJECT)] {180}\r\n"
          "Received: from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
          "Received: from c.example\r\n\tby d.example; Mon, 1 Jan 2024 00:00:01 +0000\r\n"
          "Subject: A folded\r\n subject line\r\n\r\n)\r\n" +
              ok);
    // An absent field: the blank line alone.
    CHECK(fetch("1 (BODY.PEEK[HEADER.FIELDS (X-Nothing)])") ==
          "* 1 FETCH (BODY[HEADER.FIELDS (X-NOTHING)] {2}\r\n\r\n)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[HEADER.FIELDS (x-empty)])") ==
          "* 1 FETCH (BODY[HEADER.FIELDS (X-EMPTY)] {12}\r\nX-Empty:\r\n\r\n)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[HEADER.FIELDS.NOT (Received To From Date Message-ID MIME-Version "
                "Content-Type)])") ==
          "* 1 FETCH (BODY[HEADER.FIELDS.NOT (RECEIVED TO FROM DATE MESSAGE-ID MIME-VERSION "
          "CONTENT-TYPE)] {46}\r\nSubject: A folded\r\n subject line\r\nX-Empty:\r\n\r\n)\r\n" +
              ok);
    // A field named twice is sent once.
    CHECK(fetch("1 (BODY.PEEK[HEADER.FIELDS (SUBJECT SUBJECT)])") ==
          "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT SUBJECT)] {36}\r\nSubject: A folded\r\n "
          "subject line\r\n\r\n)\r\n" +
              ok);
    // A name that is not an atom goes back as a quoted string.
    CHECK(fetch("1 (BODY.PEEK[HEADER.FIELDS (Subject \"Da te\")])") ==
          "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT \"DA TE\")] {36}\r\nSubject: A folded\r\n "
          "subject line\r\n\r\n)\r\n" +
              ok);
    // In an embedded message (Dovecot).
    CHECK(fetch("1 (BODY.PEEK[2.HEADER.FIELDS (subject)])") ==
          "* 1 FETCH (BODY[2.HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: inner\r\n\r\n)\r\n" + ok);
    // A header that ends the message without a blank line (Dovecot).
    CHECK(fetch("2 (BODY.PEEK[HEADER.FIELDS (subject)])") ==
          "* 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {14}\r\nSubject: y\r\n\r\n)\r\n" + ok);
    // With a partial (Dovecot).
    CHECK(fetch("1 (BODY.PEEK[HEADER.FIELDS.NOT (a)]<0.10>)") ==
          "* 1 FETCH (BODY[HEADER.FIELDS.NOT (A)]<0> {10}\r\nReceived: )\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[HEADER.FIELDS (subject)]<34.10>)") ==
          "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)]<34> {2}\r\n\r\n)\r\n" + ok);
}

TEST_CASE("RFC 3501 6.4.5: partial fetches inside, across the end and past the end",
          "[session][fetch][partial]") {
    Server server;
    server.add(kMixed);
    SessionDriver d(server.mail);
    d.login();
    select(d);
    const auto fetch = [&](const std::string& items) {
        return send_all(d, "a FETCH " + items + "\r\n");
    };
    const std::string ok = "a OK FETCH completed\r\n";
    // Dovecot, byte for byte: only the origin in the response's name.
    CHECK(fetch("1 (BODY.PEEK[]<0.20>)") ==
          "* 1 FETCH (BODY[]<0> {20}\r\nReceived: from a.exa)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[1]<5.100>)") == "* 1 FETCH (BODY[1]<5> {6}\r\n body.)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[]<5000.20>)") == "* 1 FETCH (BODY[]<5000> {0}\r\n)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[]<611.20>)") ==
          "* 1 FETCH (BODY[]<611> {10}\r\nepilogue\r\n)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[]<621.1>)") == "* 1 FETCH (BODY[]<621> {0}\r\n)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[TEXT]<2.3>)") == "* 1 FETCH (BODY[TEXT]<2> {3}\r\neam)\r\n" + ok);
    CHECK(fetch("1 (BODY.PEEK[2.TEXT]<6.100>)") ==
          "* 1 FETCH (BODY[2.TEXT]<6> {4}\r\nbody)\r\n" + ok);
}

TEST_CASE("RFC 3501 6.4.5: items in Dovecot's order, body sections last, duplicates",
          "[session][fetch]") {
    Server server;
    server.add(kMixed);
    SessionDriver d(server.mail);
    d.login();
    select(d);
    // Dovecot, byte for byte (apart from \Recent, which Dovecot's session
    // did not have).
    CHECK(send_all(d, "a FETCH 1 (FLAGS BODY.PEEK[1] BODY.PEEK[1] UID UID)\r\n") ==
          "* 1 FETCH (FLAGS (\\Recent) UID 1 BODY[1] {11}\r\nHello body. BODY[1] {11}\r\nHello "
          "body.)\r\na OK FETCH completed\r\n");
    CHECK(send_all(d, "b FETCH 1 (RFC822.HEADER RFC822.SIZE)\r\n") ==
          "* 1 FETCH (RFC822.SIZE 621 RFC822.HEADER " + literal(kMixedHeader) +
              ")\r\nb OK FETCH completed\r\n");
    CHECK(send_all(d,
                   "c FETCH 1 (body.peek[header.fields (subject)] body.peek[text]<2.3> "
                   "rfc822.header)\r\n") ==
          "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {36}\r\nSubject: A folded\r\n subject "
          "line\r\n\r\n BODY[TEXT]<2> {3}\r\neam RFC822.HEADER " +
              literal(kMixedHeader) + ")\r\nc OK FETCH completed\r\n");
}

// ---- \Seen ---------------------------------------------------------------------------

TEST_CASE("RFC 3501 6.4.5: BODY section sets Seen and the response includes FLAGS",
          "[session][fetch][seen]") {
    Server server;
    for (int i = 0; i < 6; ++i)
        server.add(kSimple);
    SessionDriver d(server.mail);
    d.login();
    select(d);
    const std::string seen = "FLAGS (\\Seen \\Recent)";

    // PEEK and RFC822.HEADER leave the flags alone.
    CHECK(send_all(d, "a FETCH 1 (BODY.PEEK[TEXT] RFC822.HEADER)\r\n") ==
          "* 1 FETCH (BODY[TEXT] {12}\r\nbody three\r\n RFC822.HEADER {18}\r\nSubject: "
          "three\r\n\r\n)\r\na OK FETCH completed\r\n");
    CHECK(server.flags(1) == 0);

    // Dovecot: FLAGS after the other items, before the body sections.
    CHECK(send_all(d, "b FETCH 1 (RFC822.SIZE BODY[]<0.4> INTERNALDATE)\r\n") ==
          "* 1 FETCH (RFC822.SIZE 30 INTERNALDATE \"02-Jan-2024 17:41:12 +0000\" " + seen +
              " BODY[]<0> {4}\r\nSubj)\r\nb OK FETCH completed\r\n");
    CHECK(server.flags(1) == store::flag::kSeen);
    // Already seen: no FLAGS.
    CHECK(send_all(d, "c FETCH 1 (BODY[TEXT])\r\n") ==
          "* 1 FETCH (BODY[TEXT] {12}\r\nbody three\r\n)\r\nc OK FETCH completed\r\n");

    // FLAGS asked for: once, in its place, with the new flags (Dovecot).
    CHECK(send_all(d, "d FETCH 2 (RFC822.TEXT FLAGS)\r\n") ==
          "* 2 FETCH (" + seen +
              " RFC822.TEXT {12}\r\nbody three\r\n)\r\nd OK FETCH completed\r\n");
    CHECK(send_all(d, "e FETCH 3 (RFC822)\r\n") ==
          "* 3 FETCH (" + seen + " RFC822 " + literal(kSimple) + ")\r\ne OK FETCH completed\r\n");
    // UID FETCH: UID first (Dovecot).
    CHECK(send_all(d, "f UID FETCH 4 (BODY[TEXT])\r\n") ==
          "* 4 FETCH (UID 4 " + seen +
              " BODY[TEXT] {12}\r\nbody three\r\n)\r\nf OK UID FETCH "
              "completed\r\n");
    // A message set: only the unseen ones get FLAGS.
    CHECK(send_all(d, "g FETCH 4:6 (BODY[1])\r\n") ==
          "* 4 FETCH (BODY[1] {12}\r\nbody three\r\n)\r\n"
          "* 5 FETCH (" +
              seen +
              " BODY[1] {12}\r\nbody three\r\n)\r\n"
              "* 6 FETCH (" +
              seen + " BODY[1] {12}\r\nbody three\r\n)\r\ng OK FETCH completed\r\n");
    for (std::uint32_t uid = 1; uid <= 6; ++uid)
        CHECK(server.flags(uid) == store::flag::kSeen);
    // The end-of-command sync does not report this session's own change again.
    CHECK(d.send("h NOOP\r\n") == "h OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 6.4.5: another session learns of the implicit Seen", "[session][fetch][seen]") {
    Server server;
    server.add(kSimple);
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    select(a);
    select(b);
    CHECK(send_all(a, "a FETCH 1 (BODY[])\r\n") == "* 1 FETCH (FLAGS (\\Seen \\Recent) BODY[] " +
                                                       literal(kSimple) +
                                                       ")\r\na OK FETCH completed\r\n");
    CHECK(b.send("b NOOP\r\n") == "* 1 FETCH (FLAGS (\\Seen))\r\nb OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 6.3.2: no Seen after EXAMINE", "[session][fetch][seen]") {
    Server server;
    server.add(kSimple);
    SessionDriver d(server.mail);
    d.login();
    select(d, "s EXAMINE INBOX\r\n");
    // Dovecot, byte for byte.
    CHECK(send_all(d, "a FETCH 1 (BODY[TEXT])\r\n") ==
          "* 1 FETCH (BODY[TEXT] {12}\r\nbody three\r\n)\r\na OK FETCH completed\r\n");
    CHECK(send_all(d, "b FETCH 1 (RFC822)\r\n") ==
          "* 1 FETCH (RFC822 " + literal(kSimple) + ")\r\nb OK FETCH completed\r\n");
    CHECK(send_all(d, "c FETCH 1 (FLAGS)\r\n") ==
          "* 1 FETCH (FLAGS (\\Recent))\r\nc OK FETCH completed\r\n");
    CHECK(server.flags(1) == 0);
}

// ---- Message sets -------------------------------------------------------------------

TEST_CASE("RFC 3501 6.4.8: UID FETCH always includes UID, once, first", "[session][fetch][uid]") {
    Server server;
    server.add(kSimple, store::flag::kSeen);
    server.add(kSimple, store::flag::kSeen);
    server.add(kSimple, store::flag::kSeen);
    server.expunge(2);
    SessionDriver d(server.mail);
    d.login();
    select(d);
    CHECK(send_all(d, "a UID FETCH 3 (RFC822.SIZE)\r\n") ==
          "* 2 FETCH (UID 3 RFC822.SIZE 30)\r\na OK UID FETCH completed\r\n");
    CHECK(send_all(d, "b UID FETCH 1:* (FLAGS UID)\r\n") ==
          "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))\r\n"
          "* 2 FETCH (UID 3 FLAGS (\\Seen \\Recent))\r\nb OK UID FETCH completed\r\n");
    // UIDs outside the view: nothing, and OK (RFC 3501 6.4.8; Dovecot).
    CHECK(send_all(d, "c UID FETCH 2 (FLAGS)\r\n") == "c OK UID FETCH completed\r\n");
    CHECK(send_all(d, "d UID FETCH 5:7 (FLAGS)\r\n") == "d OK UID FETCH completed\r\n");
    // "*" is the largest UID: 7:* is 3 (RFC 3501 6.4.8).
    CHECK(send_all(d, "e UID FETCH 7:* (UID)\r\n") ==
          "* 2 FETCH (UID 3)\r\ne OK UID FETCH completed\r\n");
}

TEST_CASE("RFC 3501 6.4.5: sequence sets with star, reversed ranges and lists",
          "[session][fetch][set]") {
    Server server;
    for (int i = 0; i < 5; ++i)
        server.add(kSimple, store::flag::kSeen);
    SessionDriver d(server.mail);
    d.login();
    select(d);
    const auto uids = [](std::initializer_list<int> numbers) {
        std::string out;
        for (int n : numbers)
            out += "* " + std::to_string(n) + " FETCH (UID " + std::to_string(n) + ")\r\n";
        return out;
    };
    CHECK(send_all(d, "a FETCH 1:* (UID)\r\n") ==
          uids({1, 2, 3, 4, 5}) + "a OK FETCH completed\r\n");
    CHECK(send_all(d, "a FETCH * (UID)\r\n") == uids({5}) + "a OK FETCH completed\r\n");
    CHECK(send_all(d, "a FETCH *:4 (UID)\r\n") == uids({4, 5}) + "a OK FETCH completed\r\n");
    // Ascending, each message once.
    CHECK(send_all(d, "a FETCH 4,1:2,2 (UID)\r\n") == uids({1, 2, 4}) + "a OK FETCH completed\r\n");
}

TEST_CASE("RFC 3501 9: a sequence number past EXISTS is BAD", "[session][fetch][set]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    select(d);
    const std::string bad =
        " BAD FETCH: Message sequence number past the last message (RFC 3501 9)\r\n";
    // Empty mailbox: every number, "*" included, is past the end.
    CHECK(send_all(d, "a FETCH 1 (FLAGS)\r\n") == "a" + bad);
    CHECK(send_all(d, "b FETCH * (FLAGS)\r\n") == "b" + bad);
    // UID FETCH of an empty mailbox is fine.
    CHECK(send_all(d, "c UID FETCH 1:* (FLAGS)\r\n") == "c OK UID FETCH completed\r\n");
    server.add(kSimple);
    server.add(kSimple);
    CHECK(d.send("n NOOP\r\n") == "* 2 EXISTS\r\n* 2 RECENT\r\nn OK NOOP completed\r\n");
    CHECK(send_all(d, "d FETCH 3 (FLAGS)\r\n") == "d" + bad);
    CHECK(send_all(d, "e FETCH 1,3 (FLAGS)\r\n") == "e" + bad);
    CHECK(send_all(d, "f FETCH 2:5 (FLAGS)\r\n") == "f" + bad);
    CHECK(send_all(d, "g FETCH 2 (UID)\r\n") == "* 2 FETCH (UID 2)\r\ng OK FETCH completed\r\n");
}

// ---- Expunged by another session --------------------------------------------------------

TEST_CASE("RFC 2180 4.1.1: messages expunged by another session are answered from the view",
          "[session][fetch][expunge]") {
    Server server;
    for (int i = 0; i < 3; ++i)
        server.add(kSimple, store::flag::kSeen);
    SessionDriver a(server.mail);
    a.login();
    select(a);
    server.expunge(2);
    // RFC 3501 7.4.1: no EXPUNGE during FETCH; message 2 is still in the
    // view with its last flags (\Deleted set before the expunge, reported
    // once more at the command's end, as Dovecot does). Flags alone: OK.
    CHECK(send_all(a, "a FETCH 1:3 (UID FLAGS)\r\n") ==
          "* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent))\r\n"
          "* 2 FETCH (UID 2 FLAGS (\\Deleted \\Seen \\Recent))\r\n"
          "* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent))\r\n"
          "* 2 FETCH (FLAGS (\\Deleted \\Seen \\Recent))\r\n"
          "a OK FETCH completed\r\n");
    // Its body is still there; RFC 5530: the content of an expunged message
    // is flagged EXPUNGEISSUED (Dovecot's code and text).
    const std::string issued = " OK [EXPUNGEISSUED] Some messages were already expunged\r\n";
    CHECK(send_all(a, "b FETCH 2 (BODY[])\r\n") ==
          "* 2 FETCH (BODY[] " + literal(kSimple) + ")\r\nb" + issued);
    // Messages that still exist: plain OK.
    CHECK(send_all(a, "c FETCH 3 (UID)\r\n") == "* 3 FETCH (UID 3)\r\nc OK FETCH completed\r\n");
    // UID FETCH may send the EXPUNGE at its end (RFC 3501 7.4.1), and the
    // \Recent count that changed with it (7.3.2).
    CHECK(send_all(a, "d UID FETCH 2 (FLAGS)\r\n") ==
          "* 2 FETCH (UID 2 FLAGS (\\Deleted \\Seen \\Recent))\r\n* 2 EXPUNGE\r\n* 2 RECENT\r\n"
          "d OK UID FETCH completed\r\n");
    // Once the view applied the expunge, the UID names nothing.
    CHECK(send_all(a, "e UID FETCH 2 (FLAGS)\r\n") == "e OK UID FETCH completed\r\n");
}

// ---- Pipelining and resumable output -----------------------------------------------------

TEST_CASE("RFC 3501 5.5: pipelined FETCHes answer in order", "[session][fetch][pipelining]") {
    Server server;
    server.add(kSimple);
    server.add(kMixed);
    SessionDriver d(server.mail);
    d.login();
    select(d);
    const std::string script =
        "a FETCH 1 (UID)\r\nb FETCH 2 (BODY.PEEK[1])\r\nc UID FETCH 1 (RFC822.SIZE)\r\nd NOOP\r\n";
    const std::string expected =
        "* 1 FETCH (UID 1)\r\na OK FETCH completed\r\n"
        "* 2 FETCH (BODY[1] {11}\r\nHello body.)\r\nb OK FETCH completed\r\n"
        "* 1 FETCH (UID 1 RFC822.SIZE 30)\r\nc OK UID FETCH completed\r\n"
        "d OK NOOP completed\r\n";
    CHECK(send_all(d, script) == expected);
    SessionDriver bytewise(server.mail);
    bytewise.login();
    select(bytewise);
    CHECK(bytewise.send_bytewise(script) == expected);
}

using imap::test::Drained;
using imap::test::drive;

TEST_CASE("Bounded memory: a 20 MB BODY section streams in chunks below the high-water mark",
          "[session][fetch][memory]") {
    // A realistic large message: a multipart with a big base64 attachment.
    std::string raw =
        "From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\n"
        "Content-Type: text/plain\r\n\r\nsee attachment\r\n--xx\r\n"
        "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    const std::size_t target = 20u * 1024 * 1024;
    std::string line;
    for (std::size_t i = 0; line.size() < 76; ++i)
        line += "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(i * 7) % 64];
    for (std::size_t i = 0; raw.size() < target - 20; ++i) {
        raw += line;
        raw[raw.size() - 1 - (i % 70)] = static_cast<char>('A' + i % 26);  // no two lines alike
        raw += "\r\n";
    }
    raw += "--xx--\r\n";
    Server server;
    server.add(raw);
    SessionDriver d(server.mail);
    d.login();
    select(d);

    const std::size_t bound = Session::kOutputHighWater + FetchJob::kBodyChunk + 64;
    SECTION("the whole message") {
        const Drained r = drive(d, "a FETCH 1 (BODY.PEEK[])\r\n", 64 * 1024, 64 * 1024);
        CHECK(r.max_output <= bound);
        CHECK(r.pauses >= 40);
        const std::string head = "* 1 FETCH (BODY[] {" + std::to_string(raw.size()) + "}\r\n";
        REQUIRE(r.bytes.size() == head.size() + raw.size() + 25);
        CHECK(r.bytes.starts_with(head));
        CHECK(r.bytes.compare(head.size(), raw.size(), raw) == 0);
        CHECK(r.bytes.ends_with(")\r\na OK FETCH completed\r\n"));
    }
    SECTION("a partial and the attachment part") {
        const Drained r =
            drive(d, "a FETCH 1 (BODY.PEEK[]<1000001.5000000> BODY.PEEK[2] RFC822.SIZE)\r\n",
                  100000, 32 * 1024);
        CHECK(r.max_output <= bound);
        CHECK(r.pauses >= 10);
        const std::size_t part_begin = raw.find("base64\r\n\r\n") + 10;
        const std::size_t part_end = raw.size() - 10;  // CRLF "--xx--" CRLF
        const std::string expected = "* 1 FETCH (RFC822.SIZE " + std::to_string(raw.size()) +
                                     " BODY[]<1000001> " + literal(raw.substr(1000001, 5000000)) +
                                     " BODY[2] " +
                                     literal(raw.substr(part_begin, part_end - part_begin)) +
                                     ")\r\na OK FETCH completed\r\n";
        CHECK(r.bytes.size() == expected.size());
        CHECK(r.bytes == expected);
    }
}

TEST_CASE("Resumable: 2000 messages FETCH 1:* across several steps as one-shot output",
          "[session][fetch][memory]") {
    Server server;
    const std::vector<std::string> keywords = {
        "$Label-alpha-0123456789", "$Label-bravo-0123456789", "$Label-charlie-0123456789",
        "$Label-delta-0123456789", "$Label-echo-0123456789",  "$Label-foxtrot-0123456789",
        "$Label-golf-0123456789",  "$Label-hotel-0123456789"};
    {
        std::vector<store::AppendRequest> requests(2000);
        for (std::size_t i = 0; i < requests.size(); ++i) {
            requests[i].message = kSimple;
            requests[i].internal_date = 1704217272;
            requests[i].flags.system = i % 3 == 0 ? store::flag::kSeen : store::flag::kFlagged;
            requests[i].flags.keywords = keywords;
        }
        server.store().append(server.inbox(), requests);
    }
    SessionDriver d(server.mail);
    d.login();
    select(d);
    std::string flags_tail;
    for (const std::string& k : keywords)
        flags_tail += " " + k;
    std::string expected;
    for (int i = 1; i <= 2000; ++i) {
        expected += "* " + std::to_string(i) + " FETCH (FLAGS (" +
                    (i % 3 == 1 ? "\\Seen" : "\\Flagged") + " \\Recent" + flags_tail + ") UID " +
                    std::to_string(i) + ")\r\n";
    }
    expected += "a OK FETCH completed\r\n";
    REQUIRE(expected.size() > Session::kOutputHighWater + 128 * 1024);

    // Resumed as soon as the output is 64 KiB below the mark: many steps.
    const Drained r = drive(d, "a FETCH 1:* (FLAGS UID)\r\nb NOOP\r\n", 32 * 1024,
                            Session::kOutputHighWater - 64 * 1024);
    CHECK(r.pauses >= 3);
    CHECK(r.max_output <= Session::kOutputHighWater + 4096);
    CHECK(r.bytes == expected + "b OK NOOP completed\r\n");
}

TEST_CASE("RFC 2180 4.1: a message expunged between two steps of a FETCH",
          "[session][fetch][expunge][memory]") {
    Server server;
    // Three messages of 200 KB: the first step stops after the second.
    std::vector<std::string> raws;
    for (char c : {'a', 'b', 'c'}) {
        std::string raw = std::string("Subject: ") + c + "\r\n\r\n";
        while (raw.size() < 200 * 1024)
            raw += std::string(78, c) + "\r\n";
        raws.push_back(raw);
        server.add(raw, store::flag::kSeen);
    }
    SessionDriver d(server.mail);
    d.login();
    select(d);
    std::string out = d.send("a FETCH 1:3 (BODY.PEEK[])\r\n");
    REQUIRE(d.session.input_paused());
    REQUIRE(out.find("* 3 FETCH") == std::string::npos);
    server.expunge(3);
    d.session.resume();
    out += drain(d.session.output());
    CHECK_FALSE(d.session.input_paused());
    // The view still has message 3 and its body is kept for it (RFC 2180
    // 4.1.1); its \Deleted arrives after, with no EXPUNGE (RFC 3501 7.4.1).
    CHECK(out ==
          "* 1 FETCH (BODY[] " + literal(raws[0]) + ")\r\n* 2 FETCH (BODY[] " + literal(raws[1]) +
              ")\r\n* 3 FETCH (BODY[] " + literal(raws[2]) +
              ")\r\n* 3 FETCH (FLAGS (\\Deleted \\Seen \\Recent))\r\na OK FETCH completed\r\n");
}

namespace {

// A 2 MB \Seen message in INBOX, selected, and "a FETCH 1 (UID BODY.PEEK[])"
// with "b NOOP" pipelined behind it, paused in the middle of the literal.
struct PausedFetch {
    Server server;
    std::string raw = big_message('x');
    SessionDriver d{server.mail};
    std::string out;

    PausedFetch() {
        server.add(raw, store::flag::kSeen);
        d.login();
        select(d);
        out = d.send("a FETCH 1 (UID BODY.PEEK[])\r\nb NOOP\r\n");
        REQUIRE(d.session.input_paused());
    }
    // Everything the session writes until it is idle, after what it wrote
    // before the pause.
    const std::string& finish() {
        while (d.session.input_paused()) {
            d.session.resume();
            out += drain(d.session.output());
        }
        return out;
    }
};

}  // namespace

TEST_CASE("RFC 2180 4.1.1: a message expunged in the middle of its literal is sent whole",
          "[session][fetch][expunge][memory]") {
    PausedFetch f;
    const std::string& raw = f.raw;
    Server& server = f.server;
    server.expunge(1);
    // The view has not applied the expunge: a garbage collection keeps the
    // body (docs/storage.md "Body retention").
    CHECK(server.store().collect_garbage().bodies_kept == 1);
    const std::string& out = f.finish();
    CHECK(out ==
          "* 1 FETCH (UID 1 BODY[] " + literal(raw) +
              ")\r\n* 1 FETCH (FLAGS (\\Deleted \\Seen \\Recent))\r\na OK FETCH completed\r\n"
              "* 1 EXPUNGE\r\n* 0 RECENT\r\nb OK NOOP completed\r\n");
    CHECK_FALSE(f.d.session.wants_close());
    // The NOOP applied the expunge: nothing pins the body any more.
    CHECK(server.count("SELECT count(*) FROM bodies") == 0);
}

TEST_CASE("A body streamed while its mailbox is deleted is sent whole",
          "[session][fetch][expunge][memory]") {
    Server server;
    const store::MailboxId work = server.store().create_mailbox("Work").id;
    const std::string raw = big_message('y');
    store::AppendRequest request;
    request.message = raw;
    server.store().append(work, request);
    SessionDriver d(server.mail), other(server.mail);
    d.login();
    other.login();
    select(d, "s SELECT Work\r\n");
    std::string out = d.send("a FETCH 1 (BODY.PEEK[])\r\n");
    REQUIRE(d.session.input_paused());
    // DELETE takes the messages and their expunge log with the mailbox; the
    // body being streamed is pinned by the FETCH itself.
    CHECK(other.send("x DELETE Work\r\n") == "x OK DELETE completed\r\n");
    CHECK(server.store().collect_garbage().bodies_kept == 1);
    while (d.session.input_paused()) {
        d.session.resume();
        out += drain(d.session.output());
    }
    CHECK(out == "* 1 FETCH (BODY[] " + literal(raw) +
                     ")\r\n* BYE Selected mailbox was deleted, have to disconnect\r\n");
    CHECK(server.count("SELECT count(*) FROM bodies") == 0);
}

TEST_CASE("A body that goes away in the middle of its literal ends the connection",
          "[session][fetch][corruption][memory]") {
    PausedFetch f;
    const std::string& raw = f.raw;
    Server& server = f.server;
    SessionDriver& d = f.d;
    // Not reachable through expunges (the body is pinned): the body row of
    // a live message vanishes, as in a damaged database.
    store::Database& db = store::test::sqlite_database(server.store());
    db.exec("PRAGMA foreign_keys=OFF");
    db.exec("DELETE FROM bodies");
    db.exec("PRAGMA foreign_keys=ON");
    const std::string& out = f.finish();
    // The announced literal is complete (padded), the response closed, then
    // BYE: the client must not trust the data.
    const std::string head = "* 1 FETCH (UID 1 BODY[] {" + std::to_string(raw.size()) + "}\r\n";
    REQUIRE(out.starts_with(head));
    REQUIRE(out.size() > head.size() + raw.size());
    CHECK(out.compare(head.size(), FetchJob::kBodyChunk, raw, 0, FetchJob::kBodyChunk) == 0);
    CHECK(out.substr(head.size() + raw.size()) ==
          ")\r\n* BYE FETCH failed: the message went away while being sent\r\n");
    CHECK(out[head.size() + raw.size() - 1] == ' ');
    CHECK(d.session.wants_close());
}

// The whole message's range is [0, RFC822.SIZE): BODY[], BODY.PEEK[] and
// RFC822, partial or not, decode no stored structure (FetchJob::
// is_whole_message). Shown with a structure that no longer decodes: the
// message still downloads, byte for byte; a part section, which needs the
// structure, fails.
TEST_CASE("RFC 3501 6.4.5: the whole message is sent without its structure",
          "[session][fetch][store]") {
    Server server;
    server.add(kMixed);
    store::test::sqlite_database(server.store()).exec("UPDATE bodies SET structure = 'damaged'");
    SessionDriver d(server.mail);
    d.login();
    select(d);
    CHECK(send_all(d, "a FETCH 1 (UID BODY.PEEK[])\r\n") ==
          "* 1 FETCH (UID 1 BODY[] " + literal(kMixed) + ")\r\na OK FETCH completed\r\n");
    CHECK(send_all(d, "b FETCH 1 (BODY.PEEK[]<611.20>)\r\n") ==
          "* 1 FETCH (BODY[]<611> {10}\r\nepilogue\r\n)\r\nb OK FETCH completed\r\n");
    CHECK(send_all(d, "c FETCH 1 (RFC822.SIZE RFC822)\r\n") ==
          "* 1 FETCH (RFC822.SIZE " + std::to_string(kMixed.size()) +
              " FLAGS (\\Seen \\Recent) RFC822 " + literal(kMixed) +
              ")\r\nc OK FETCH completed\r\n");
    const std::string part = send_all(d, "d FETCH 1 (BODY.PEEK[1])\r\n");
    CHECK(part == "d NO [CORRUPTION] stored message structure is damaged\r\n");
}
