// Limits on what a client may ask SEARCH and LIST to match, byte for byte
// through the Session (RFC 5530 [LIMIT]; docs/security.md "Search and
// listing").
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <string>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/limits.h"
#include "store/sqlite_mail_store.h"
#include "support/session_driver.h"
#include "support/store_support.h"

using imap::server::UserMailRegistry;
using imap::test::SessionDriver;
namespace store = imap::store;

namespace {

// One logged-in session with INBOX selected and `messages` in it.
struct Selected {
    UserMailRegistry mail{store::DataDir::in_memory()};
    SessionDriver d{mail};
    explicit Selected(const std::vector<std::string>& messages) {
        d.login();
        store::MailStore& s = d.session.mail()->store();
        const auto inbox = s.open_mailbox("INBOX").id;
        for (const std::string& raw : messages) {
            store::AppendRequest request;
            request.message = raw;
            request.internal_date = 760686745;
            s.append(inbox, request);
        }
        REQUIRE(d.send("s SELECT INBOX\r\n").ends_with("s OK [READ-WRITE] SELECT completed\r\n"));
    }
};

const std::string kMessage =
    "From: Alice <alice@example.org>\r\nSubject: hello\r\n\r\nThe body text.\r\n";

}  // namespace

TEST_CASE("RFC 5530 LIMIT: a SEARCH string past 4096 octets is NO [LIMIT]",
          "[session][search][hostile]") {
    Selected t({kMessage});
    const std::string at_limit(store::limits::kMaxSearchStringBytes, 'x');
    const std::string past_limit(store::limits::kMaxSearchStringBytes + 1, 'x');
    for (const char* key : {"BODY", "TEXT", "SUBJECT", "FROM", "HEADER X-Any"}) {
        INFO(key);
        CHECK(t.d.send(std::string("a SEARCH ") + key + " \"" + at_limit + "\"\r\n") ==
              "* SEARCH\r\na OK SEARCH completed\r\n");
        CHECK(t.d.send(std::string("b UID SEARCH ") + key + " \"" + past_limit + "\"\r\n") ==
              "b NO [LIMIT] Search string too long (at most 4096 octets)\r\n");
    }
    // A literal that long is refused before the client sends it (RFC 3501
    // 7.5: no "+"), so the next line is a new command.
    CHECK(t.d.send("c SEARCH BODY {4097}\r\n") ==
          "c NO [LIMIT] Literal too large for SEARCH (at most 4096 octets)\r\n");
    CHECK(t.d.send("d SEARCH BODY {4096}\r\n") == "+ Ready for literal data\r\n");
    CHECK(t.d.send(at_limit + "\r\n") == "* SEARCH\r\nd OK SEARCH completed\r\n");
    // The session goes on.
    CHECK(t.d.send("e SEARCH BODY \"body text\"\r\n") == "* SEARCH 1\r\ne OK SEARCH completed\r\n");
}

TEST_CASE("RFC 5530 LIMIT: LIST and LSUB patterns past 1024 octets are NO [LIMIT]",
          "[session][list][hostile]") {
    UserMailRegistry mail{store::DataDir::in_memory()};
    SessionDriver d{mail};
    d.login();
    REQUIRE(d.send("c CREATE a/b\r\n") == "c OK [MAILBOXID (*)] CREATE completed\r\n");
    const std::string stars(32000, '*');
    const std::string refused = " NO [LIMIT] Mailbox pattern too long (at most 1024 octets)\r\n";
    CHECK(d.send("l1 LIST \"\" " + stars + "\r\n") == "l1" + refused);
    CHECK(d.send("l2 LSUB \"\" " + stars + "\r\n") == "l2" + refused);
    CHECK(d.send("l3 XLIST \"\" " + stars + "\r\n") == "l3" + refused);
    // The reference counts: it is joined with the pattern (RFC 3501 6.3.8).
    const std::string half(513, 'a');
    CHECK(d.send("l4 LIST " + half + " " + half + "\r\n") == "l4" + refused);
    // RFC 5258 pattern lists count together.
    CHECK(d.send("l5 LIST \"\" (" + half + " " + half + ")\r\n") == "l5" + refused);
    CHECK(d.send("l6 LIST (SUBSCRIBED) \"\" " + stars + "\r\n") == "l6" + refused);
    // At the limit: matched (and runs of wildcards are one wildcard).
    CHECK(d.send("l7 LIST \"\" a" + std::string(1023, '*') + "\r\n") ==
          "* LIST (\\Noselect \\HasChildren) \"/\" a\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" a/b\r\n"
          "l7 OK LIST completed\r\n");
    CHECK(d.send("l8 LIST \"\" " + std::string(1022, '%') + "/%\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" a/b\r\n"
          "l8 OK LIST completed\r\n");
}

TEST_CASE("RFC 5530 LIMIT: SEARCH nested past 64 levels is NO [LIMIT], never SQL text",
          "[session][search][hostile]") {
    Selected t({kMessage});
    auto nested = [](int levels) {
        std::string criteria;
        for (int i = 0; i < levels; ++i)
            criteria += "OR SEEN NOT (SEEN ";
        criteria += "ALL";
        for (int i = 0; i < levels; ++i)
            criteria += ")";
        return criteria;
    };
    // Each level is an OR, a NOT and a parenthesised AND: 21 levels are 63.
    CHECK(t.d.send("a SEARCH " + nested(21) + "\r\n") == "* SEARCH 1\r\na OK SEARCH completed\r\n");
    CHECK(t.d.send("b SEARCH " + nested(22) + "\r\n") ==
          "b NO [LIMIT] Search nested too deeply (at most 64 levels)\r\n");
    // Any number of NOTs in a row cancel out.
    std::string nots;
    for (int i = 0; i < 999; ++i)
        nots += "NOT ";
    CHECK(t.d.send("c SEARCH " + nots + "SEEN\r\n") == "* SEARCH 1\r\nc OK SEARCH completed\r\n");
}

TEST_CASE("RFC 5530 LIMIT: a search SQLite refuses is NO [LIMIT] with a fixed text",
          "[session][search][hostile]") {
    // The store's limits keep generated SQL inside SQLite's; lowering
    // SQLite's own limit stands in for a query they miss. Its message (SQL
    // text) goes to the log, not to the client.
    Selected t({kMessage});
    sqlite3_limit(store::test::sqlite_database(t.d.session.mail()->store()).handle(),
                  SQLITE_LIMIT_VARIABLE_NUMBER, 4);
    CHECK(t.d.send("a SEARCH OR HEADER X a OR HEADER X b HEADER X c\r\n") ==
          "a NO [LIMIT] Search too complex\r\n");
    CHECK(t.d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}

TEST_CASE("RFC 5530 LIMIT: a SEARCH costing more than the mailbox allows is NO [LIMIT]",
          "[session][search][hostile]") {
    // 20 messages of 100 KB; 30 strings too short for the index read all of
    // them each: 60 MB, past 16 MB + 4 x the mailbox's 2 MB.
    std::vector<std::string> messages;
    for (int i = 0; i < 20; ++i)
        messages.push_back("Subject: m" + std::to_string(i) + "\r\n\r\n" +
                           std::string(100 * 1024, 'x') + "\r\n");
    Selected t(messages);
    std::string criteria = "BODY a0";
    for (int i = 1; i < 30; ++i)
        criteria = "OR BODY " + std::string{static_cast<char>('a' + i / 10)} +
                   std::to_string(i % 10) + " " + criteria;
    CHECK(t.d.send("a SEARCH " + criteria + "\r\n") ==
          "a NO [LIMIT] Search too costly for this mailbox\r\n");
    // A few of them are fine.
    CHECK(t.d.send("b SEARCH OR BODY a1 OR BODY a2 BODY xx\r\n") ==
          "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20\r\n"
          "b OK SEARCH completed\r\n");
}
