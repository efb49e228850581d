#include "protocol/sequence_set.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "protocol/limits.h"

using imap::ResolvedSet;
using imap::SeqRange;
using imap::SequenceSet;

namespace {

std::vector<SeqRange> parsed(std::string_view text) {
    auto set = SequenceSet::parse(text);
    REQUIRE(set.has_value());
    return set->ranges();
}

std::string resolved(std::string_view text, std::uint32_t largest) {
    auto set = SequenceSet::parse(text);
    REQUIRE(set.has_value());
    return set->resolve(largest).to_string();
}

}  // namespace

TEST_CASE("RFC 3501 9: seq-number forms parse", "[sequence_set]") {
    CHECK(parsed("1") == std::vector<SeqRange>{{1, 1}});
    CHECK(parsed("42") == std::vector<SeqRange>{{42, 42}});
    CHECK(parsed("10") == std::vector<SeqRange>{{10, 10}});  // "0" after digit-nz is fine
    CHECK(parsed("4294967295") == std::vector<SeqRange>{{4294967295u, 4294967295u}});
    // "*" is kept as 0 until resolve().
    CHECK(parsed("*") == std::vector<SeqRange>{{0, 0}});
}

TEST_CASE("RFC 3501 9: seq-range forms parse as written", "[sequence_set]") {
    CHECK(parsed("2:4") == std::vector<SeqRange>{{2, 4}});
    CHECK(parsed("4:2") == std::vector<SeqRange>{{4, 2}});
    CHECK(parsed("1:*") == std::vector<SeqRange>{{1, 0}});
    CHECK(parsed("*:4") == std::vector<SeqRange>{{0, 4}});
    CHECK(parsed("*:*") == std::vector<SeqRange>{{0, 0}});
    CHECK(parsed("7:7") == std::vector<SeqRange>{{7, 7}});
    CHECK(parsed("1:4294967295") == std::vector<SeqRange>{{1, 4294967295u}});
}

TEST_CASE("RFC 3501 9: sequence-set lists, with overlaps kept as written", "[sequence_set]") {
    CHECK(parsed("2,4:7,9,12:*") == std::vector<SeqRange>{{2, 2}, {4, 7}, {9, 9}, {12, 0}});
    CHECK(parsed("*:4,5:7") == std::vector<SeqRange>{{0, 4}, {5, 7}});
    CHECK(parsed("3,3,1") == std::vector<SeqRange>{{3, 3}, {3, 3}, {1, 1}});
}

TEST_CASE("RFC 3501 9: malformed sequence sets are rejected", "[sequence_set]") {
    const std::vector<std::pair<std::string, const char*>> bad = {
        {"", "at least one seq-number"},
        {"0", "nz-number: 0 < n"},
        {"0:5", "zero as a range start"},
        {"5:0", "zero as a range end"},
        {"1,0", "zero in a list"},
        {"01", "nz-number = digit-nz *DIGIT: no leading zero"},
        {"007", "leading zeros"},
        {"1:02", "leading zero in a range end"},
        {"4294967296", "2^32: nz-number < 4,294,967,296"},
        {"1:4294967296", "2^32 as a range end"},
        {"99999999999999999999999999999999", "far past 2^64"},
        {",", "empty elements"},
        {",1", "leading comma"},
        {"1,", "trailing comma"},
        {"1,,2", "empty element in the middle"},
        {"*,", "trailing comma after *"},
        {" 1", "no spaces in the grammar"},
        {"1 ", "trailing space"},
        {"1, 2", "space after comma"},
        {"1 :2", "space before colon"},
        {"1: 2", "space after colon"},
        {":", "colon alone"},
        {"1:", "range without an end"},
        {":1", "range without a start"},
        {"1::2", "double colon"},
        {"1:2:3", "three-part range"},
        {"*:", "star range without an end"},
        {":*", "star range without a start"},
        {"**", "double star"},
        {"*1", "star then digit"},
        {"1*", "digit then star"},
        {"-1", "sign"},
        {"+1", "sign"},
        {"1-3", "dash is not a range"},
        {"1;2", "semicolon"},
        {"a", "letter"},
        {"1a", "trailing letter"},
        {"1.5", "decimal point"},
        {"1\r\n", "line end"},
        {std::string("1,") + '\0' + "2", "NUL byte"},
        {std::string("1") + '\0', "trailing NUL byte"},
    };
    for (const auto& [text, why] : bad) {
        INFO(why << ": \"" << text << "\"");
        CHECK_FALSE(SequenceSet::parse(text).has_value());
    }
}

TEST_CASE("limits::kMaxSequenceRanges bounds the number of ranges", "[sequence_set]") {
    std::string at_limit;
    for (std::size_t i = 0; i < imap::limits::kMaxSequenceRanges; ++i) {
        if (i) at_limit += ',';
        at_limit += '1';
    }
    auto ok = SequenceSet::parse(at_limit);
    REQUIRE(ok.has_value());
    CHECK(ok->ranges().size() == imap::limits::kMaxSequenceRanges);
    CHECK_FALSE(SequenceSet::parse(at_limit + ",1").has_value());
}

TEST_CASE("uses_star reports any \"*\"", "[sequence_set]") {
    CHECK_FALSE(SequenceSet::parse("1:4,7")->uses_star());
    CHECK(SequenceSet::parse("*")->uses_star());
    CHECK(SequenceSet::parse("1,5:*")->uses_star());
    CHECK(SequenceSet::parse("*:3,9")->uses_star());
}

TEST_CASE("RFC 3501 9: seq-range 4:2 equals 2:4", "[sequence_set]") {
    CHECK(SequenceSet::parse("4:2")->resolve(10) == SequenceSet::parse("2:4")->resolve(10));
    CHECK(resolved("4:2", 10) == "2:4");
}

TEST_CASE("RFC 3501 9: 2,4:7,9,12:* with 15 messages", "[sequence_set]") {
    auto set = SequenceSet::parse("2,4:7,9,12:*")->resolve(15);
    CHECK(set.to_string() == "2,4:7,9,12:15");
    CHECK(set == ResolvedSet::from_numbers({2, 4, 5, 6, 7, 9, 12, 13, 14, 15}));
    CHECK(set.count() == 10);
}

TEST_CASE("RFC 3501 9: *:4,5:7 with 10 messages coalesces to 4:10", "[sequence_set]") {
    auto set = SequenceSet::parse("*:4,5:7")->resolve(10);
    CHECK(set.to_string() == "4:10");
    CHECK(set.ranges() == std::vector<SeqRange>{{4, 10}});
    CHECK(set.count() == 7);
}

TEST_CASE("RFC 3501 6.4.8: 559:* includes the last UID even when it is below 559",
          "[sequence_set]") {
    CHECK(resolved("559:*", 200) == "200:559");
    CHECK(resolved("559:*", 559) == "559");
    CHECK(resolved("559:*", 600) == "559:600");
    CHECK(resolved("*:559", 200) == "200:559");
    // RFC 3501 9 seq-range: "3291:* includes the UID of the last message".
    auto set = SequenceSet::parse("3291:*")->resolve(17);
    CHECK(set.contains(17));
    CHECK(set.contains(3291));
}

TEST_CASE("RFC 3501 9: * resolves to the largest number in use", "[sequence_set]") {
    CHECK(resolved("*", 5) == "5");
    CHECK(resolved("*:*", 5) == "5");
    CHECK(resolved("1:*", 5) == "1:5");
    CHECK(resolved("*,1", 5) == "1,5");
    CHECK(resolved("*", 4294967295u) == "4294967295");
}

TEST_CASE("resolve with largest 0: * matches nothing, ranges shrink to their other end",
          "[sequence_set]") {
    CHECK(SequenceSet::parse("*")->resolve(0).empty());
    CHECK(SequenceSet::parse("*:*")->resolve(0).empty());
    CHECK(resolved("5:*", 0) == "5");
    CHECK(resolved("*:5", 0) == "5");
    CHECK(resolved("1:3,*", 0) == "1:3");
    CHECK(resolved("1:3", 0) == "1:3");  // no "*": numbers stay as written
}

TEST_CASE("RFC 3501 9: servers MAY coalesce overlaps", "[sequence_set]") {
    CHECK(resolved("1:5,3:8", 100) == "1:8");
    CHECK(resolved("3:8,1:5", 100) == "1:8");
    CHECK(resolved("1:3,4:6", 100) == "1:6");  // adjacent ranges merge too
    CHECK(resolved("1:3,5:6", 100) == "1:3,5:6");
    CHECK(resolved("5,4,3,2,1", 100) == "1:5");
    CHECK(resolved("1:10,2:3,4", 100) == "1:10");
    CHECK(resolved("1,1,1", 100) == "1");
    CHECK(resolved("9,1:2,7:8,4", 100) == "1:2,4,7:9");
    CHECK(resolved("4294967294:4294967295,1:4294967293", 100) == "1:4294967295");
    CHECK(resolved("4294967295,4294967295", 100) == "4294967295");
}

TEST_CASE("count() of 1:4294967295 is computed from ranges, not elements", "[sequence_set]") {
    auto set = SequenceSet::parse("1:4294967295")->resolve(7);
    CHECK(set.count() == 4294967295ull);
    CHECK(set.ranges().size() == 1);
    CHECK(set.min() == 1);
    CHECK(set.max() == 4294967295u);
    CHECK(set.contains(4294967295u));
    CHECK(set.contains(1));
    CHECK_FALSE(set.contains(0));
    CHECK(ResolvedSet().count() == 0);
    CHECK(SequenceSet::parse("1:3,10:12,*")->resolve(20).count() == 7);
}

TEST_CASE("contains() across several ranges", "[sequence_set]") {
    auto set = SequenceSet::parse("2:4,8,10:12")->resolve(100);
    const std::vector<std::uint32_t> in = {2, 3, 4, 8, 10, 11, 12};
    const std::vector<std::uint32_t> out = {0, 1, 5, 7, 9, 13, 100, 4294967295u};
    for (auto n : in) {
        INFO(n);
        CHECK(set.contains(n));
    }
    for (auto n : out) {
        INFO(n);
        CHECK_FALSE(set.contains(n));
    }
    CHECK_FALSE(ResolvedSet().contains(1));
    CHECK(set.min() == 2);
    CHECK(set.max() == 12);
}

TEST_CASE("for_each visits in ascending order and stops when told", "[sequence_set]") {
    auto set = SequenceSet::parse("9,1:3,5")->resolve(100);
    std::vector<std::uint32_t> seen;
    set.for_each([&](std::uint32_t n) {
        seen.push_back(n);
        return true;
    });
    CHECK(seen == std::vector<std::uint32_t>{1, 2, 3, 5, 9});

    seen.clear();
    set.for_each([&](std::uint32_t n) {
        seen.push_back(n);
        return n < 3;
    });
    CHECK(seen == std::vector<std::uint32_t>{1, 2, 3});

    // Early stop inside a four-billion-number range must return at once.
    auto huge = SequenceSet::parse("1:*")->resolve(4294967295u);
    std::uint64_t visited = 0;
    huge.for_each([&](std::uint32_t) { return ++visited < 5; });
    CHECK(visited == 5);

    // The last number of the uint32 range ends the loop without wrapping.
    auto top = SequenceSet::parse("4294967294:*")->resolve(4294967295u);
    seen.clear();
    top.for_each([&](std::uint32_t n) {
        seen.push_back(n);
        return true;
    });
    CHECK(seen == std::vector<std::uint32_t>{4294967294u, 4294967295u});
}

TEST_CASE("SequenceSet::to_string round-trips through parse", "[sequence_set]") {
    const char* text = GENERATE("1", "*", "4:2", "1:*", "*:4", "2,4:7,9,12:*", "3,3,1",
                                "4294967295", "1:4294967295", "*,*:1,1");
    auto set = SequenceSet::parse(text);
    REQUIRE(set.has_value());
    CHECK(set->to_string() == text);
    CHECK(SequenceSet::parse(set->to_string()) == set);
}

TEST_CASE("SequenceSet::to_string writes n:n and *:* in the short form", "[sequence_set]") {
    CHECK(SequenceSet::parse("7:7")->to_string() == "7");
    CHECK(SequenceSet::parse("*:*")->to_string() == "*");
    CHECK(SequenceSet::parse(SequenceSet::parse("7:7")->to_string()) == SequenceSet::parse("7:7"));
    CHECK(SequenceSet().to_string().empty());
}

TEST_CASE("ResolvedSet::from_numbers formats compactly", "[sequence_set]") {
    CHECK(ResolvedSet::from_numbers({}).to_string().empty());
    CHECK(ResolvedSet::from_numbers({}).empty());
    CHECK(ResolvedSet::from_numbers({5}).to_string() == "5");
    CHECK(ResolvedSet::from_numbers({1, 2, 3, 5, 7, 8, 9}).to_string() == "1:3,5,7:9");
    CHECK(ResolvedSet::from_numbers({9, 7, 8, 5, 3, 1, 2}).to_string() == "1:3,5,7:9");
    CHECK(ResolvedSet::from_numbers({4, 4, 4, 5, 5}).to_string() == "4:5");
    CHECK(ResolvedSet::from_numbers({4294967295u, 4294967294u, 1}).to_string() ==
          "1,4294967294:4294967295");
    // 0 is no message number; it is dropped rather than printed.
    CHECK(ResolvedSet::from_numbers({0, 1, 2}).to_string() == "1:2");
}

TEST_CASE("ResolvedSet from ranges sorts, orients and merges", "[sequence_set]") {
    ResolvedSet set({{10, 12}, {3, 1}, {4, 4}, {11, 20}});
    CHECK(set.ranges() == std::vector<SeqRange>{{1, 4}, {10, 20}});
    CHECK(set.to_string() == "1:4,10:20");
    CHECK(set ==
          ResolvedSet::from_numbers({1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}));
    // A resolved set's text parses back to the same numbers.
    CHECK(SequenceSet::parse(set.to_string())->resolve(1) == set);
}

TEST_CASE("ResolvedSet tolerates a stray 0 from a careless caller", "[sequence_set]") {
    ResolvedSet set({{0, 0}, {0, 3}});
    CHECK(set.to_string() == "1:3");
    CHECK_FALSE(set.contains(0));
}

TEST_CASE("RFC 5182 4: \"$\" is a sequence-set of its own", "[sequence_set][searchres]") {
    auto saved = SequenceSet::parse("$");
    REQUIRE(saved.has_value());
    CHECK(saved->is_last_result());
    CHECK(*saved == SequenceSet::last_result());
    CHECK(saved->to_string() == "$");
    CHECK(saved->ranges().empty());
    CHECK_FALSE(saved->uses_star());
    // Only the view resolves it; here it names nothing.
    CHECK(saved->resolve(10).empty());
    CHECK_FALSE(SequenceSet::parse("1")->is_last_result());
    for (const char* bad : {"$,1", "1,$", "$:1", "1:$", "$$", "$*", "*$"}) {
        INFO(bad);
        CHECK_FALSE(SequenceSet::parse(bad).has_value());
    }
}
