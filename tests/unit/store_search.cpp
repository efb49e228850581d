// Store-level SEARCH (RFC 3501 6.4.4 semantics; the server translates IMAP
// keys into SearchKey): flags, keywords, UID sets, dates, sizes, header and
// body substrings (FTS5 trigram and the short-string fallback), AND/OR/NOT.
#include <catch2/catch.hpp>

#include "store/search.h"
#include "store/sqlite_mail_store.h"
#include "support/store_support.h"

using namespace imap::store;
using imap::store::test::memory;
using imap::store::test::request;
using K = SearchKey::Kind;
using Uids = std::vector<std::uint32_t>;

namespace {

struct Fixture {
    SqliteMailStore store{memory()};
    MailboxId box = store.open_mailbox("INBOX").id;
    std::vector<std::string> raws;

    Fixture() {
        raws.push_back(test::message("Quarterly report", "The numbers are in.\r\n"));
        raws.push_back(
            "From: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.de>\r\n"
            "To: team@example.org\r\n"
            "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
            "Date: Tue, 1 Mar 2022 10:00:00 +0100\r\n"
            "X-Tracker: ab\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            "Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus M=C3=BCnchen. xy\r\n");
        raws.push_back(
            "From: bob@example.net\r\n"
            "Subject: no date here\r\n"
            "\r\n" +
            std::string(5000, 'q') + "\r\n");
        store.append(box, request(raws[0], flag::kSeen, {"$Work"}));
        auto second = request(raws[1], flag::kFlagged);
        second.internal_date = 1646125200;  // 2022-03-01T09:00:00Z
        second.zone_minutes = 60;
        store.append(box, second);
        auto third = request(raws[2], flag::kDeleted | flag::kSeen);
        third.internal_date = 1700000000;  // 2023-11-14T22:13:20Z
        third.zone_minutes = 120;          // 2023-11-15 in its own zone
        store.append(box, third);
        test::index_all(store);  // store_search_index.cpp: the same with bodies queued
    }
    Uids search(const SearchKey& key) { return store.search(box, key); }
};

}  // namespace

TEST_CASE("dates: days_from_civil and RFC 5322 Date: parsing") {
    CHECK(days_from_civil(1970, 1, 1) == 0);
    CHECK(days_from_civil(2000, 3, 1) == 11017);
    CHECK(days_from_civil(1969, 12, 31) == -1);
    auto d = parse_date_header("Mon, 7 Feb 1994 21:52:25 -0800");
    REQUIRE(d);
    CHECK(d->day == days_from_civil(1994, 2, 7));
    CHECK(d->time == 760686745);
    auto obsolete = parse_date_header("7 feb 94 21:52 PST (Pacific)");
    REQUIRE(obsolete);
    CHECK(obsolete->day == days_from_civil(1994, 2, 7));
    CHECK(obsolete->time == 760686720);
    CHECK(parse_date_header("01 Jan 05 00:00 GMT")->day == days_from_civil(2005, 1, 1));
    CHECK_FALSE(parse_date_header("yesterday"));
    CHECK_FALSE(parse_date_header("32 Jan 2020"));
}

TEST_CASE("SEARCH by flags, keywords, UIDs, sizes and MODSEQ") {
    Fixture f;
    CHECK(f.search(SearchKey::all()) == Uids{1, 2, 3});
    CHECK(f.search(SearchKey::has_flags(flag::kSeen)) == Uids{1, 3});
    CHECK(f.search(SearchKey::not_(SearchKey::has_flags(flag::kSeen))) == Uids{2});
    CHECK(f.search(SearchKey::has_flags(flag::kSeen | flag::kDeleted)) == Uids{3});
    CHECK(f.search(SearchKey::keyword("$work")) == Uids{1});
    CHECK(f.search(SearchKey::keyword("$Undefined")).empty());
    CHECK(f.search(SearchKey::not_(SearchKey::keyword("$Undefined"))) == Uids{1, 2, 3});
    CHECK(f.search(SearchKey::uid_set({{3, 9}, {1, 1}})) == Uids{1, 3});
    CHECK(f.search(SearchKey::uid_set({})).empty());
    CHECK(f.search(SearchKey::larger(1000)) == Uids{3});
    CHECK(f.search(SearchKey::smaller(1000)) == Uids{1, 2});
    const auto modseq = f.store.mailbox(f.box).highestmodseq;
    f.store.store_flags(f.box, UidSet{{2, 2}}, FlagOp::Add, Flags{flag::kAnswered, {}});
    CHECK(f.search(SearchKey::modseq(modseq + 1)) == Uids{2});
}

TEST_CASE("SEARCH by internal date uses the date's own zone, SENT* the Date: header") {
    Fixture f;
    const auto day_1994 = days_from_civil(1994, 2, 7);  // internal 1994-02-07 21:52 -0800
    CHECK(f.search(SearchKey::date(K::On, day_1994)) == Uids{1});
    CHECK(f.search(SearchKey::date(K::On, days_from_civil(2023, 11, 15))) == Uids{3});
    CHECK(f.search(SearchKey::date(K::Before, days_from_civil(2022, 3, 1))) == Uids{1});
    CHECK(f.search(SearchKey::date(K::Since, days_from_civil(2022, 3, 1))) == Uids{2, 3});
    CHECK(f.search(SearchKey::date(K::SentOn, day_1994)) == Uids{1});
    CHECK(f.search(SearchKey::date(K::SentSince, days_from_civil(2022, 1, 1))) == Uids{2, 3});
    // No Date: header: the internal date stands in.
    CHECK(f.search(SearchKey::date(K::SentOn, days_from_civil(2023, 11, 15))) == Uids{3});
}

TEST_CASE("SEARCH HEADER / FROM / SUBJECT: decoded, case-insensitive substrings") {
    Fixture f;
    CHECK(f.search(SearchKey::header("Subject", "QUARTERLY")) == Uids{1});
    CHECK(f.search(SearchKey::header("subject", "rep")) == Uids{1});
    CHECK(f.search(SearchKey::header("From", "Jürgen")) == Uids{2});  // RFC 2047 decoded
    CHECK(f.search(SearchKey::header("Subject", "Grüße")) == Uids{2});
    CHECK(f.search(SearchKey::header("From", "example")) == Uids{1, 2, 3});
    CHECK(f.search(SearchKey::header("To", "bob@")) == Uids{1});
    CHECK(f.search(SearchKey::header("X-Tracker", "ab")) == Uids{2});  // short: no index
    CHECK(f.search(SearchKey::header("X-Tracker", "")) == Uids{2});    // has the field
    CHECK(f.search(SearchKey::header("Subject", "numbers")).empty());  // that is the body
}

TEST_CASE("SEARCH BODY / TEXT: trigram index and the short-string fallback") {
    Fixture f;
    CHECK(f.search(SearchKey::body("NUMBERS")) == Uids{1});
    CHECK(f.search(SearchKey::body("schöne")) == Uids{2});  // transfer-decoded, UTF-8
    CHECK(f.search(SearchKey::body("münchen")) == Uids{2});
    CHECK(f.search(SearchKey::body("XY")) == Uids{2});  // two characters: LIKE
    CHECK(f.search(SearchKey::body("qqqqqqqqqq")) == Uids{3});
    CHECK(f.search(SearchKey::body("Quarterly")).empty());  // header only
    CHECK(f.search(SearchKey::text_("Quarterly")) == Uids{1});
    CHECK(f.search(SearchKey::text_("qq")) == Uids{3});
    CHECK(f.search(SearchKey::body("")) == Uids{1, 2, 3});
    CHECK(f.search(SearchKey::body("50%_")).empty());
    CHECK(f.search(SearchKey::body("say \"hi\"")).empty());  // quotes are escaped for FTS5
}

TEST_CASE("SEARCH combines with AND, OR, NOT, and long OR chains stay shallow") {
    Fixture f;
    CHECK(f.search(SearchKey::all_of({SearchKey::has_flags(flag::kSeen),
                                      SearchKey::not_(SearchKey::has_flags(flag::kDeleted))})) ==
          Uids{1});
    CHECK(f.search(SearchKey::or_(SearchKey::keyword("$Work"), SearchKey::larger(1000))) ==
          Uids{1, 3});
    CHECK(f.search(SearchKey::all_of({})) == Uids{1, 2, 3});
    CHECK(f.search(SearchKey::any_of({})).empty());
    // 3000 right-nested ORs (clients search many Message-IDs this way).
    SearchKey chain = SearchKey::header("Message-ID", "<nothing-0@x>");
    for (int i = 1; i < 3000; ++i) {
        chain =
            SearchKey::or_(SearchKey::header("Message-ID", "<nothing-" + std::to_string(i) + "@x>"),
                           std::move(chain));
    }
    chain = SearchKey::or_(SearchKey::header("Message-ID", "<Quarterly report@example.org>"),
                           std::move(chain));
    CHECK(f.search(chain) == Uids{1});
    SearchKey deep = SearchKey::all();
    for (std::size_t i = 0; i <= limits::kMaxSearchDepth / 2; ++i)
        deep = SearchKey::not_(SearchKey::or_(SearchKey::has_flags(flag::kSeen), std::move(deep)));
    CHECK_THROWS_AS(f.search(deep), StoreError);
}

TEST_CASE("SEARCH on a Noselect name fails, expunged messages are not found") {
    Fixture f;
    f.store.expunge(f.box);
    CHECK(f.search(SearchKey::all()) == Uids{1, 2});
    CHECK(f.search(SearchKey::body("qqq")).empty());
    f.store.create_mailbox("P/x");
    CHECK_THROWS_AS(f.store.search(f.store.find_mailbox("P")->id, SearchKey::all()), StoreError);
}
