// SEARCH FROM / TO / CC / BCC match the parsed addresses (RFC 3501 6.4.4:
// "the envelope structure's FROM field"): comments and folding are not part
// of an address (RFC 5322 3.2.2, 3.4.1, obsolete forms 4.4), display names
// are decoded (RFC 2047), matching stays a case-insensitive substring.
// Each row was also put to Dovecot 2.3; where it answers differently the
// row says so (docs/rfc-coverage.md lists the differences).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/message/message.h"
#include "store/search.h"
#include "store/sqlite_mail_store.h"
#include "support/session_driver.h"
#include "support/store_support.h"

using namespace imap::store;
using imap::store::test::memory;
using imap::store::test::request;

namespace {

struct Row {
    const char* field;  // "From", "To", "Cc", "Bcc"
    const char* value;  // as written after the colon
    const char* needle;
    bool matches;
};

// From <user-from (comment)@ (comment) domain.org> onwards: the forms of
// RFC 5322 3.4 and 4.4 with comments, groups, quoted local parts, routes,
// encoded words and several addresses.
const Row kRows[] = {
    // Comments and white space inside the address are not part of it.
    {"From", "<user-from (comment)@ (comment) domain.org>", "user-from@domain.org", true},
    {"From", "<user-from (comment)@ (comment) domain.org>", "<user-from@domain.org>", true},
    {"From", "<user-from (comment)@ (comment) domain.org>", "USER-FROM@Domain.ORG", true},
    {"From", "<user-from (comment)@ (comment) domain.org>", "comment", false},
    {"From", "<user-from (comment)@ (comment) domain.org>", "user-from (comment)", false},
    {"From", "user . name @ example . org", "user.name@example.org", true},
    // RFC 2047 display names, decoded; the address too.
    {"From", "=?UTF-8?Q?J=C3=B6rg?= <j@x.org>", "J\xC3\xB6rg", true},
    {"From", "=?UTF-8?Q?J=C3=B6rg?= <j@x.org>", "j\xC3\x96RG", true},
    {"From", "=?UTF-8?Q?J=C3=B6rg?= <j@x.org>", "j@x.org", true},
    {"From", "=?UTF-8?Q?J=C3=B6rg?= <j@x.org>", "J\xC3\xB6rg <j@x.org>", true},
    {"From", "=?UTF-8?Q?J=C3=B6rg?= <j@x.org>", "=?UTF-8?Q", false},
    {"From", "=?UTF-8?B?w7xiZXI=?= =?UTF-8?Q?_Name?= <u@x.de>",
     "\xC3\xBC"
     "ber Name",
     true},
    // Encoded words inside quotes (RFC 2047 5 forbids them; mailers do it
    // and Dovecot decodes them too).
    {"From", "\"=?ISO-8859-1?Q?Andr=E9?=\" <andre@x.fr>", "Andr\xC3\xA9", true},
    // Names are written unquoted: Dovecot matches "\"Quoted Name\"" and
    // not the form without quotes.
    {"To", "Friends: a@b.example, \"Quoted Name\" <c@d.example>;, e@f.example",
     "Quoted Name <c@d.example>", true},
    {"To", "Friends: a@b.example, \"Quoted Name\" <c@d.example>;, e@f.example", "\"Quoted Name\"",
     false},
    // Groups (RFC 5322 3.4): "Name: members;", as Dovecot writes them.
    {"To", "Friends: a@b.example, \"Quoted Name\" <c@d.example>;, e@f.example",
     "Friends: <a@b.example>", true},
    {"To", "Friends: a@b.example, \"Quoted Name\" <c@d.example>;, e@f.example",
     "c@d.example>;, <e@f", true},
    {"To", "undisclosed-recipients:;", "undisclosed-recipients:;", true},
    {"To", "undisclosed-recipients:;", "recipients", true},
    // A comment after the address is its name when it has none (RFC 5322
    // 4.4, Dovecot too); the local part unquoted, as in ENVELOPE (Dovecot
    // keeps the quotes and backslash).
    {"From", "\"very odd\\\"local\"@q.example (The Comment Name)", "The Comment Name", true},
    {"From", "\"very odd\\\"local\"@q.example (The Comment Name)", "very odd\"local@q.example",
     true},
    {"From", "\"very odd\\\"local\"@q.example (The Comment Name)", "(The Comment", false},
    // Several addresses, a quoted comma, folding.
    {"Cc",
     "Alice <alice@example.com>, \"Bob, Jr.\" <bob@example.com>,\r\n carol@example.com (Carol C)",
     "Bob, Jr.", true},
    {"Cc",
     "Alice <alice@example.com>, \"Bob, Jr.\" <bob@example.com>,\r\n carol@example.com (Carol C)",
     "alice@example.com>, Bob", true},
    {"Cc",
     "Alice <alice@example.com>, \"Bob, Jr.\" <bob@example.com>,\r\n carol@example.com (Carol C)",
     "Carol C <carol@example.com>", true},
    {"Cc",
     "Alice <alice@example.com>, \"Bob, Jr.\" <bob@example.com>,\r\n carol@example.com (Carol C)",
     "carol@example.com (Carol", false},
    {"Bcc", "Long\r\n Name\r\n <long@example.org>", "Long Name <long@example.org>", true},
    // Obsolete routes (RFC 5322 4.4) stay, as in ENVELOPE's adl.
    {"From", "John Q. Public <@route1,@route2:jqp@host.example>", "jqp@host.example", true},
    {"From", "John Q. Public <@route1,@route2:jqp@host.example>", "<@route1,@route2:jqp@", true},
    // A missing domain is left out: Dovecot writes MISSING_DOMAIN.
    {"From", "nodomain", "<nodomain>", true},
    {"From", "nodomain", "MISSING", false},
    // Only the named field counts.
    {"To", "someone@example.org", "someone", true},
    {"Cc", "someone@example.org", "someone", true},
};

}  // namespace

TEST_CASE("RFC 3501 6.4.4: FROM / TO / CC / BCC match the parsed address, a table",
          "[search][address]") {
    for (const Row& row : kRows) {
        INFO(row.field << ": " << row.value << "  ~  " << row.needle);
        SqliteMailStore store(memory());
        const MailboxId box = store.open_mailbox("INBOX").id;
        const std::string raw =
            std::string(row.field) + ": " + row.value + "\r\nSubject: s\r\n\r\nbody\r\n";
        store.append(box, request(raw));
        const auto found = store.search(box, SearchKey::address(row.field, row.needle));
        CHECK(found.size() == (row.matches ? 1u : 0u));
        // The other address fields do not see it.
        const char* other = std::string_view(row.field) == "Bcc" ? "From" : "Bcc";
        CHECK(store.search(box, SearchKey::address(other, row.needle)).empty());
    }
}

TEST_CASE("RFC 3501 6.4.4: HEADER From matches the field's text, FROM its addresses",
          "[search][address]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::string raw = "From: <user-from (comment)@ (comment) domain.org>\r\n\r\nbody\r\n";
    store.append(box, request(raw));
    using Uids = std::vector<std::uint32_t>;
    CHECK(store.search(box, SearchKey::header("From", "comment")) == Uids{1});
    CHECK(store.search(box, SearchKey::header("From", "user-from@domain.org")).empty());
    CHECK(store.search(box, SearchKey::address("From", "user-from@domain.org")) == Uids{1});
    CHECK(store.search(box, SearchKey::address("From", "comment")).empty());
    // TEXT looks at the header's text, not at the address forms.
    CHECK(store.search(box, SearchKey::text_("user-from@domain.org")).empty());
    CHECK(store.search(box, SearchKey::text_("(comment) domain")) == Uids{1});
    // HEADER cannot name the address lines.
    CHECK(store.search(box, SearchKey::header(":From", "user")).empty());
}

TEST_CASE("The search_header column: field lines, then address lines", "[search][address]") {
    const std::string raw =
        "From: =?UTF-8?Q?J=C3=B6rg?= (x) <j@x.org>\r\nSubject: a\r\n b\r\nTO: y@z\r\n\r\n";
    const ParsedMessage m = parse_message(raw);
    CHECK(search_header_column(extract_search_text(raw, m)) ==
          "From: J\xC3\xB6rg (x) <j@x.org>\n"
          "Subject: a b\n"
          "TO: y@z\n"
          ":From: J\xC3\xB6rg <j@x.org>\n"
          ":TO: <y@z>\n");
    CHECK(address_search_form("") == "");
    CHECK(address_search_form("a@b, , c@d") == "<a@b>, <c@d>");
    CHECK(address_search_form("g1: a@b;, g2:;") == "g1: <a@b>;, g2:;");
    CHECK(address_search_form("<>") == "<>");
}

TEST_CASE("A body stored before address lines existed: FROM falls back to the field text",
          "[search][address]") {
    // Old databases have search_header without the address lines
    // (docs/storage.md); FROM then matches the decoded field as HEADER does.
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    store.append(box, request("From: Alice (the boss) <alice@example.org>\r\n\r\nbody\r\n"));
    using Uids = std::vector<std::uint32_t>;
    CHECK(store.search(box, SearchKey::address("From", "the boss")).empty());
    store.database().exec(
        "UPDATE bodies SET search_header = 'From: Alice (the boss) <alice@example.org>' || "
        "char(10)");
    CHECK(store.search(box, SearchKey::address("From", "the boss")) == Uids{1});
    CHECK(store.search(box, SearchKey::address("From", "alice@example.org")) == Uids{1});
    CHECK(store.search(box, SearchKey::address("To", "alice")).empty());
}

TEST_CASE("RFC 3501 6.4.4: SEARCH FROM finds the address without its comments, and the name",
          "[session][search][address]") {
    imap::server::UserMailRegistry mail{DataDir::in_memory()};
    imap::test::SessionDriver d{mail};
    d.login();
    MailStore& s = d.session.mail()->store();
    const MailboxId inbox = s.open_mailbox("INBOX").id;
    const std::string first =
        "From: <user-from (comment)@ (comment) domain.org>\r\nSubject: one\r\n\r\nx\r\n";
    const std::string second =
        "From: =?UTF-8?Q?J=C3=B6rg?= <j@x.org>\r\nTo: Friends: a@b.example;\r\n"
        "Subject: two\r\n\r\nx\r\n";
    s.append(inbox, request(first));
    s.append(inbox, request(second));
    REQUIRE(d.send("s SELECT INBOX\r\n").ends_with("s OK [READ-WRITE] SELECT completed\r\n"));
    CHECK(d.send("a SEARCH FROM user-from@domain.org\r\n") ==
          "* SEARCH 1\r\na OK SEARCH completed\r\n");
    CHECK(d.send("b SEARCH FROM comment\r\n") == "* SEARCH\r\nb OK SEARCH completed\r\n");
    CHECK(d.send("c SEARCH HEADER FROM comment\r\n") == "* SEARCH 1\r\nc OK SEARCH completed\r\n");
    CHECK(d.send("d SEARCH CHARSET UTF-8 FROM {5}\r\n") == "+ Ready for literal data\r\n");
    CHECK(d.send("J\xC3\xB6rg\r\n") == "* SEARCH 2\r\nd OK SEARCH completed\r\n");
    CHECK(d.send("e UID SEARCH FROM \"j@x.org\"\r\n") ==
          "* SEARCH 2\r\ne OK UID SEARCH completed\r\n");
    CHECK(d.send("f SEARCH TO \"Friends: <a@b.example>;\"\r\n") ==
          "* SEARCH 2\r\nf OK SEARCH completed\r\n");
    CHECK(d.send("g SEARCH OR CC j@x.org BCC j@x.org\r\n") ==
          "* SEARCH\r\ng OK SEARCH completed\r\n");
}
