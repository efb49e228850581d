// LIST / LSUB pattern matching (RFC 3501 6.3.8, RFC 5258 3 pattern lists):
// a table of patterns and names, agreement with a plain recursive matcher on
// random inputs, and hostile patterns that make a backtracking matcher take
// time exponential or quadratic in the pattern (docs/security.md "Search
// and listing").
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "store/errors.h"
#include "store/limits.h"
#include "store/mailbox_names.h"

using namespace imap::store;

namespace {

bool match(std::string_view pattern, std::string_view name) {
    return MailboxPattern(pattern).matches(name);
}

// The definition, directly: exponential on hostile input, fine on short.
bool reference(std::string_view p, std::string_view n, bool inbox, std::size_t at = 0) {
    if (p.empty()) return n.empty();
    if (p[0] == '*' || p[0] == '%') {
        for (std::size_t k = 0;; ++k) {
            if (reference(p.substr(1), n.substr(k), inbox, at + k)) return true;
            if (k == n.size() || (p[0] == '%' && n[k] == '/')) return false;
        }
    }
    if (n.empty()) return false;
    auto upper = [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; };
    const bool same = p[0] == n[0] || (inbox && at < 5 && upper(p[0]) == upper(n[0]));
    return same && reference(p.substr(1), n.substr(1), inbox, at + 1);
}

bool inbox_rooted(std::string_view name) {
    std::string first(name.substr(0, name.find('/')));
    for (char& c : first)
        c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    return first == "INBOX";
}

}  // namespace

TEST_CASE("RFC 3501 6.3.8: '*' and '%' wildcards, INBOX ignoring case", "[list][pattern]") {
    struct Row {
        const char* pattern;
        const char* name;
        bool matches;
    };
    const Row rows[] = {
        {"*", "a/b/c", true},
        {"%", "a/b/c", false},
        {"%", "abc", true},
        {"a/*", "a/b/c", true},
        {"a/%", "a/b/c", false},
        {"a/%", "a/b", true},
        {"a/%/c", "a/b/c", true},
        {"a%c", "abc", true},
        {"a%c", "a/c", false},
        {"a*c", "a/c", true},
        {"a*c", "a/b", false},
        {"", "a", false},
        {"a", "a", true},
        {"a", "ab", false},
        {"ab", "a", false},
        {"**", "x/y", true},
        {"%%", "x/y", false},
        {"%*%", "x/y", true},
        {"*%", "x/y", true},
        {"%*", "x/y", true},
        {"%/%", "x/y", true},
        {"*/%", "x/y/z", true},
        {"%/*", "x/y/z", true},
        {"%/%", "x/y/z", false},
        {"INBOX/%", "INBOX/x", true},
        {"inbox/%", "INBOX/x", true},
        {"inbox/X", "INBOX/x", false},
        {"InBoX", "INBOX", true},
        {"inbox", "inboxes", false},
        {"INBOXES", "inboxes", false},
        {"*x", "inbox/x", true},
        {"i%", "INBOX", true},
        {"%/%/%/%", "a/b/c/d", true},
        {"*a*a*a*b", "aaaaaab", true},
        {"*a*a*a*b", "aaaaaaa", false},
        {"Entw&APw-rfe", "Entw&APw-rfe", true},
    };
    for (const Row& r : rows) {
        INFO(r.pattern << " ~ " << r.name);
        CHECK(match(r.pattern, r.name) == r.matches);
        CHECK(mailbox_pattern_match(r.pattern, r.name) == r.matches);
    }
}

TEST_CASE("RFC 3501 6.3.8: agrees with the definition on random patterns and names",
          "[list][pattern]") {
    std::mt19937 random(20261206);
    const std::string pattern_chars = "ab/*%iI";
    const std::string name_chars = "ab/iI";
    for (int round = 0; round < 20000; ++round) {
        std::string pattern, name;
        const int p = static_cast<int>(random() % 8), n = static_cast<int>(random() % 9);
        for (int i = 0; i < p; ++i)
            pattern += pattern_chars[random() % pattern_chars.size()];
        for (int i = 0; i < n; ++i)
            name += name_chars[random() % name_chars.size()];
        if (round % 3 == 0) name = "inbox" + name;
        INFO(pattern << " ~ " << name);
        REQUIRE(match(pattern, name) == reference(pattern, name, inbox_rooted(name)));
    }
}

TEST_CASE("RFC 5258 3: a pattern list matches a name when any pattern does", "[list][pattern]") {
    const std::vector<std::string> patterns = {"Sent", "a/%", "*x", ""};
    const MailboxPattern list(patterns);
    CHECK(list.matches("Sent"));
    CHECK(list.matches("a/b"));
    CHECK_FALSE(list.matches("a/b/c"));
    CHECK(list.matches("a/b/x"));
    CHECK_FALSE(list.matches("Sent/y"));
    CHECK_FALSE(list.matches("Drafts"));
    // The end of one pattern does not run into the next.
    const std::vector<std::string> two = {"ab", "cd"};
    const MailboxPattern joined(two);
    CHECK_FALSE(joined.matches("abcd"));
    CHECK_FALSE(joined.matches("ac"));
    CHECK(joined.matches("cd"));
    CHECK_FALSE(MailboxPattern(std::span<const std::string>()).matches("a"));
}

TEST_CASE("hostile: LIST patterns past kMaxListPatternBytes are OverLimit", "[list][hostile]") {
    const std::string stars(32000, '*');
    try {
        MailboxPattern pattern(stars);
        FAIL("no error");
    } catch (const StoreError& e) {
        CHECK(e.code() == StoreErrc::OverLimit);
        CHECK(std::string(e.what()) == "Mailbox pattern too long (at most 1024 octets)");
    }
    CHECK_NOTHROW(MailboxPattern(std::string(limits::kMaxListPatternBytes, '*')));
    const std::vector<std::string> halves(2,
                                          std::string(limits::kMaxListPatternBytes / 2 + 1, 'a'));
    CHECK_THROWS_AS(MailboxPattern(halves), StoreError);
}

TEST_CASE("hostile: patterns that make backtracking matchers blow up", "[list][hostile]") {
    // "*a*a*a...*b" against "aaa...a": a recursive matcher tries every way
    // to split the a's among the stars; a backtracking one is quadratic.
    std::string stars_a;
    while (stars_a.size() + 4 < limits::kMaxListPatternBytes)
        stars_a += "*a";
    const std::string name(limits::kMaxMailboxNameBytes, 'a');
    CHECK_FALSE(match(stars_a + "*b", name));
    CHECK(match(stars_a.substr(0, 2 * name.size()), name));
    // The same with '%' (which also stops at the delimiter) and levels.
    std::string percents;
    while (percents.size() + 4 < limits::kMaxListPatternBytes)
        percents += "%a";
    CHECK_FALSE(match(percents + "%b", name));
    std::string levels;
    for (int i = 0; i < 31; ++i)
        levels += std::string(30, 'a') + "/";
    levels += std::string(30, 'a');
    CHECK(match("*a/%", levels));
    CHECK_FALSE(match(percents.substr(0, 200) + "/%b", levels));
    // A tenth of the most a LIST may cost: a tenth of kMaxMailboxesPerUser
    // names of the longest length against a pattern as long as allowed,
    // with a wildcard between every two characters.
    std::string worst;
    while (worst.size() + 2 < limits::kMaxListPatternBytes)
        worst += "*a";
    worst += "*b";
    const MailboxPattern pattern(worst);
    std::size_t matched = 0;
    for (std::size_t i = 0; i < limits::kMaxMailboxesPerUser / 10; ++i)
        matched += pattern.matches(name) ? 1 : 0;
    CHECK(matched == 0);
}
