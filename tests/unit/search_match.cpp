// SEARCH string matching (RFC 3501 6.4.4: "contains the specified string",
// case-insensitive): SubstringMatcher's folding and linear search, the
// store's use of it for BODY / TEXT / HEADER behind the trigram index, and
// the cap on search strings (docs/security.md "Search and listing").
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <exception>
#include <string>

#include "store/search.h"
#include "store/sqlite_mail_store.h"
#include "store/types.h"
#include "support/store_support.h"

using namespace imap::store;
using imap::store::test::error_of;
using imap::store::test::memory;
using imap::store::test::request;
using Uids = std::vector<std::uint32_t>;

namespace {

bool contains(std::string_view haystack, std::string_view needle) {
    return SubstringMatcher(needle).found_in(haystack);
}

struct Box {
    SqliteMailStore store{memory()};
    MailboxId id = store.open_mailbox("INBOX").id;
    std::uint32_t add(const std::string& raw) { return store.append(id, request(raw)); }
    // With every body indexed: the index narrows the strings.
    Uids search(const SearchKey& key) {
        test::index_all(store);
        return store.search(id, key);
    }
};

}  // namespace

TEST_CASE("RFC 3501 6.4.4: substring matching ignores case, ASCII and beyond", "[search]") {
    CHECK(contains("Quarterly Report", "report"));
    CHECK(contains("quarterly report", "QUARTERLY R"));
    CHECK_FALSE(contains("quarterly", "quarterlyx"));
    CHECK(contains("anything", ""));
    CHECK(contains("", ""));
    CHECK_FALSE(contains("", "a"));
    // Unicode case folding: ö/Ö, ß stays, Greek sigma in all three forms,
    // the Kelvin sign folds to k.
    CHECK(contains("J\xC3\xB6rg", "J\xC3\x96RG"));
    CHECK(
        contains("GR\xC3\x9C\xC3\x9F"
                 "E",
                 "gr\xC3\xBC\xC3\x9F"
                 "e"));
    CHECK(contains("\xCE\xA3\xCE\x9F\xCE\xA6\xCE\x99\xCE\x91\xCE\xA3",
                   "\xCF\x83\xCE\xBF\xCF\x86\xCE\xB9\xCE\xB1\xCF\x82"));
    CHECK(
        contains("\xE2\x84\xAA"
                 "elvin",
                 "kelvin"));
    // Bytes that are not UTF-8 compare as they are.
    CHECK(
        contains("a\xFF"
                 "b",
                 "A\xFF"
                 "B"));
    CHECK_FALSE(
        contains("a\xFF"
                 "b",
                 "a\xFE"
                 "b"));
    CHECK(fold_case("MiXeD \xC3\x89t\xC3\xA9") == "mixed \xC3\xA9t\xC3\xA9");
}

TEST_CASE("RFC 3501 6.4.4: a match across the matcher's internal blocks is found", "[search]") {
    // The haystack is folded 64 KiB at a time; matches that straddle two
    // blocks, or a multi-byte character cut by a block's end, still count.
    for (std::size_t at : {65530u, 65535u, 65536u, 131070u}) {
        INFO(at);
        std::string haystack(200000, 'x');
        haystack.replace(at, 6, "NEEDLE");
        CHECK(contains(haystack, "needle"));
        std::string wide(at, 'x');
        wide += "\xC3\x89t\xC3\xA9";  // "Été", its first byte at `at`
        wide += std::string(1000, 'y');
        CHECK(contains(wide, "x\xC3\xA9t\xC3\xA9y"));
    }
}

TEST_CASE("hostile: substring matching is linear in text and string", "[search][hostile]") {
    // A naive search compares the string at every position of the text:
    // 4 MB x 4 KB = 16 G comparisons. Two-Way takes a few million.
    const std::string haystack(4 * 1024 * 1024, 'a');
    std::string needle(limits::kMaxSearchStringBytes - 1, 'a');
    needle += 'b';
    CHECK_FALSE(contains(haystack, needle));
    CHECK(contains(haystack + "b", needle));
    // The same with characters that fold, so the folding path runs too.
    const std::string wide = [] {
        std::string s;
        for (int i = 0; i < 1000000; ++i)
            s += "\xC3\x84";  // Ä
        return s;
    }();
    std::string wide_needle;
    for (int i = 0; i < 2000; ++i)
        wide_needle += "\xC3\xA4";  // ä
    CHECK(contains(wide, wide_needle));
    CHECK_FALSE(contains(wide, wide_needle + "b"));
}

TEST_CASE("hostile: SEARCH BODY, TEXT, HEADER with a long string against a 400 KB message",
          "[search][hostile]") {
    Box box;
    const std::string body(400 * 1024, 'a');
    box.add("Subject: " + std::string(20000, 'a') + "\r\nX-Long: " + std::string(20000, 'a') +
            "\r\n\r\n" + body + "\r\n");
    std::string miss(limits::kMaxSearchStringBytes - 1, 'a');
    miss += 'b';
    const std::string hit(limits::kMaxSearchStringBytes, 'a');
    for (auto key : {&SearchKey::body, &SearchKey::text_}) {
        CHECK(box.search(key(miss)).empty());
        CHECK(box.search(key(hit)) == Uids{1});
    }
    CHECK(box.search(SearchKey::header("X-Long", miss)).empty());
    CHECK(box.search(SearchKey::header("x-long", hit)) == Uids{1});
    CHECK(box.search(SearchKey::header("Subject", hit)) == Uids{1});
}

TEST_CASE("Search strings longer than kMaxSearchStringBytes are OverLimit", "[search]") {
    Box box;
    box.add(test::message("hello"));
    const std::string too_long(limits::kMaxSearchStringBytes + 1, 'a');
    CHECK(error_of([&] { box.search(SearchKey::body(too_long)); }) == StoreErrc::OverLimit);
    CHECK(error_of([&] { box.search(SearchKey::text_(too_long)); }) == StoreErrc::OverLimit);
    CHECK(error_of([&] { box.search(SearchKey::header("Subject", too_long)); }) ==
          StoreErrc::OverLimit);
    // Inside OR and NOT as well.
    CHECK(error_of([&] {
              box.search(
                  SearchKey::or_(SearchKey::all(), SearchKey::not_(SearchKey::body(too_long))));
          }) == StoreErrc::OverLimit);
    CHECK(box.search(SearchKey::body(too_long.substr(1))).empty());
}

TEST_CASE("RFC 3501 6.4.4: BODY, TEXT and HEADER ignore case beyond ASCII", "[search]") {
    Box box;
    box.add(
        "From: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.de>\r\n"
        "Subject: =?UTF-8?Q?=C3=89t=C3=A9?=\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Sch\xC3\xB6ne Gr\xC3\xBC\xC3\x9F"
        "e, \xC3\xA9t\xC3\xA9 \xC3\xA0 Z\xC3\xBCrich\r\n");
    box.add(test::message("plain"));
    CHECK(box.search(SearchKey::header("From", "J\xC3\x9CRGEN")) == Uids{1});
    CHECK(box.search(SearchKey::header("Subject", "\xC3\xA9t\xC3\xA9")) == Uids{1});
    CHECK(box.search(SearchKey::body("SCH\xC3\x96NE")) == Uids{1});
    CHECK(box.search(SearchKey::text_("\xC3\x89T\xC3\x89")) == Uids{1});
    // One and two characters: no index, the matcher alone.
    CHECK(box.search(SearchKey::body("\xC3\x80")) == Uids{1});
    CHECK(box.search(SearchKey::body("Z\xC3\x9C")) == Uids{1});
    CHECK(box.search(SearchKey::text_("\xC3\x9C")) == Uids{1});
    // Not across the header/body boundary, and BODY not in the header.
    CHECK(box.search(SearchKey::body("jurgen")).empty());
    CHECK(box.search(SearchKey::text_("jurgen")) == Uids{1});
}

TEST_CASE("Search nesting: NOT NOT cancels, chains stay shallow, depth past 64 is OverLimit",
          "[search][hostile]") {
    Box box;
    box.add(test::message("one"));
    std::uint32_t seen_uid = box.add(test::message("two"));
    box.store.store_flags(box.id, UidSet{{seen_uid, seen_uid}}, FlagOp::Add,
                          Flags{flag::kSeen, {}});
    const SearchKey seen = SearchKey::has_flags(flag::kSeen);
    // 1001 NOTs: one NOT, no nesting at all.
    SearchKey nots = seen;
    for (int i = 0; i < 1001; ++i)
        nots = SearchKey::not_(std::move(nots));
    CHECK(box.search(nots) == Uids{1});
    // As many keys as allowed (the OR itself is one) in one chain.
    std::vector<SearchKey> many;
    for (std::size_t i = 0; i + 2 < limits::kMaxSearchKeys; ++i)
        many.push_back(SearchKey::uid_set(
            {{static_cast<std::uint32_t>(100000 + i), static_cast<std::uint32_t>(100000 + i)}}));
    many.push_back(SearchKey::uid_set({{2, 2}}));
    CHECK(box.search(SearchKey::any_of(std::move(many))) == Uids{2});
    // Alternating OR / NOT / AND at the limit, with the deepest leaf SQL
    // (SENTBEFORE's date arithmetic) at the bottom, and one level past it.
    auto alternating = [&](std::size_t levels) {
        SearchKey k = SearchKey::date(SearchKey::Kind::SentBefore, 0);
        for (std::size_t made = 0; made + 3 <= levels; made += 3)
            k = SearchKey::or_(seen, SearchKey::not_(SearchKey::all_of({seen, std::move(k)})));
        return k;
    };
    CHECK(box.search(alternating(limits::kMaxSearchDepth)) == Uids{1, 2});
    try {
        box.search(alternating(limits::kMaxSearchDepth + 3));
        FAIL("no error");
    } catch (const StoreError& e) {
        CHECK(e.code() == StoreErrc::OverLimit);
        CHECK(std::string(e.what()) == "Search nested too deeply (at most 64 levels)");
    }
}

TEST_CASE("A search SQLite refuses is OverLimit with a fixed text, SQLite's in the nested error",
          "[search]") {
    // The limits keep generated SQL inside SQLite's; lowering SQLite's own
    // limit stands in for a query they missed.
    Box box;
    box.add(test::message("one"));
    sqlite3_limit(box.store.database().handle(), SQLITE_LIMIT_VARIABLE_NUMBER, 4);
    std::vector<SearchKey> keys;
    for (std::uint32_t i = 1; i <= 10; ++i)
        keys.push_back(SearchKey::uid_set({{i, i}}));
    try {
        box.search(SearchKey::any_of(std::move(keys)));
        FAIL("no error");
    } catch (const StoreError& e) {
        CHECK(e.code() == StoreErrc::OverLimit);
        CHECK(std::string(e.what()) == "Search too complex");
        try {
            std::rethrow_if_nested(e);
            FAIL("nothing nested");
        } catch (const SqliteError& inner) {
            INFO(inner.what());
            CHECK(std::string(inner.what()).starts_with("prepare SELECT"));
        }
    }
}

namespace {

// `count` messages of about 3 KB of text, Message-IDs <m0@example.org>...
struct BigBox : Box {
    std::vector<std::string> raws;
    explicit BigBox(int count) {
        std::string body;
        for (int line = 0; line < 60; ++line)
            body += "the quick brown fox jumps over the lazy dog " + std::to_string(line) + "\r\n";
        raws.reserve(static_cast<std::size_t>(count));
        for (int i = 0; i < count; ++i) {
            raws.push_back("Message-ID: <m" + std::to_string(i) + "@example.org>\r\nSubject: s" +
                           std::to_string(i) + "\r\n\r\n" + body);
            store.append(id, request(raws.back()));
        }
    }
};

}  // namespace

TEST_CASE("hostile: SEARCH keys x messages is bounded by the mailbox's size", "[search][hostile]") {
    // Each of these took seconds to minutes on 5,000 messages before:
    // 9990 ANDed keys (SQLite compiling numbered parameters), 100 strings
    // too short for the index (each read every message's text), 5000 ORed
    // dates false for every message. The last two are refused once they
    // cost what limits::kSearch* allow for 1000 messages.
    BigBox box(1000);
    std::vector<SearchKey> seen;
    for (int i = 0; i < 9990; ++i)
        seen.push_back(SearchKey::has_flags(flag::kSeen));
    CHECK(box.search(SearchKey::all_of(std::move(seen))).empty());

    std::vector<SearchKey> short_strings;
    for (int i = 0; i < 100; ++i)
        short_strings.push_back(SearchKey::body("q" + std::to_string(i % 10)));
    CHECK(error_of([&] { box.search(SearchKey::any_of(std::move(short_strings))); }) ==
          StoreErrc::OverLimit);

    std::vector<SearchKey> dates;
    for (int i = 0; i < 5000; ++i)
        dates.push_back(SearchKey::date(SearchKey::Kind::SentBefore, -i));
    try {
        box.search(SearchKey::any_of(std::move(dates)));
        FAIL("no error");
    } catch (const StoreError& e) {
        CHECK(e.code() == StoreErrc::OverLimit);
        CHECK(std::string(e.what()) == "Search too costly for this mailbox");
    }
    // The budget is per search: the next one runs.
    CHECK(box.search(SearchKey::body("lazy dog 59")).size() == 1000);
}

TEST_CASE("RFC 3501 6.4.4: an OR of 1000 Message-IDs is answered, each message checked once",
          "[search]") {
    BigBox box(2000);
    std::vector<SearchKey> ids;
    Uids expected;
    for (int i = 0; i < 1000; ++i) {
        ids.push_back(
            SearchKey::header("Message-ID", "<m" + std::to_string(i * 2) + "@example.org>"));
        expected.push_back(static_cast<std::uint32_t>(i * 2 + 1));
    }
    CHECK(box.search(SearchKey::any_of(std::move(ids))) == expected);
    // A string too short for the index mixes in as well.
    CHECK(box.search(SearchKey::or_(SearchKey::header("Message-ID", "<m7@example.org>"),
                                    SearchKey::body("zq"))) == Uids{8});
    CHECK(box.search(SearchKey::or_(SearchKey::header("Message-ID", "<m7@example.org>"),
                                    SearchKey::header("Subject", "s1999"))) == Uids{8, 2000});
}

TEST_CASE("hostile: 1000 distinct 4 KB strings in one SEARCH", "[search][hostile]") {
    // Picking each string's trigrams for the index must not cost the square
    // of its length: 4 KB of varied text has some 4000 distinct trigrams,
    // and comparing each with all before took 1000 x 8 M comparisons.
    Box box;
    box.add(test::message("hello"));
    const std::string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::uint32_t state = 12345;
    std::vector<SearchKey> keys;
    for (int i = 0; i < 1000; ++i) {
        std::string text;
        while (text.size() < limits::kMaxSearchStringBytes) {
            state = state * 1103515245u + 12345u;
            text += alphabet[(state >> 16) % alphabet.size()];
        }
        keys.push_back(SearchKey::body(std::move(text)));
    }
    CHECK(box.search(SearchKey::any_of(std::move(keys))).empty());
}
