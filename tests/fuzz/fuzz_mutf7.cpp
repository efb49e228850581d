// Round-trip properties of the small wire codecs (imap-codec style: decode,
// encode, decode must agree). The whole input is fed to every codec; each
// property that fails prints what broke and aborts so libFuzzer saves the
// input.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/datetime.h"
#include "protocol/mailbox_name.h"
#include "protocol/sequence_set.h"

namespace {

void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "property failed: %s\n", what);
    std::abort();
}

// RFC 3501 5.1.3: one spelling per name, so decoding is one-to-one.
void check_mutf7(std::string_view input) {
    if (auto utf8 = imap::mutf7_decode(input)) {
        auto wire = imap::mutf7_encode(*utf8);
        require(wire.has_value(), "decode output is not encodable");
        require(*wire == input, "encode(decode(x)) != x: decode accepted a non-canonical form");
    }
    if (auto wire = imap::mutf7_encode(input)) {
        for (char c : *wire)
            require(c >= 0x20 && c <= 0x7e, "encode output is not printable ASCII");
        auto utf8 = imap::mutf7_decode(*wire);
        require(utf8.has_value(), "decode rejected encode output");
        require(*utf8 == input, "decode(encode(y)) != y");
    }
}

void check_resolved(const imap::ResolvedSet& set) {
    const auto& ranges = set.ranges();
    std::uint64_t count = 0;
    for (std::size_t i = 0; i < ranges.size(); ++i) {
        require(ranges[i].first != 0 && ranges[i].first <= ranges[i].last, "bad resolved range");
        if (i > 0) {
            require(std::uint64_t{ranges[i - 1].last} + 1 < ranges[i].first,
                    "resolved ranges overlap, touch or are unsorted");
        }
        require(set.contains(ranges[i].first) && set.contains(ranges[i].last), "contains() misses");
        if (ranges[i].first > 1) require(!set.contains(ranges[i].first - 1), "contains() gap");
        count += std::uint64_t{ranges[i].last} - ranges[i].first + 1;
    }
    require(set.count() == count, "count() disagrees with the ranges");
    if (set.empty()) return;
    require(set.min() == ranges.front().first && set.max() == ranges.back().last, "min/max");
    // Small sets only: materialising 1:4294967295 is what ResolvedSet avoids.
    if (count <= 4096) {
        std::vector<std::uint32_t> numbers;
        set.for_each([&](std::uint32_t n) {
            numbers.push_back(n);
            return true;
        });
        require(numbers.size() == count, "for_each visited the wrong count");
        std::reverse(numbers.begin(), numbers.end());
        numbers.push_back(numbers.front());  // a duplicate
        require(imap::ResolvedSet::from_numbers(numbers) == set, "from_numbers disagrees");
    }
    // A resolved set has no "*", so any `largest` leaves it unchanged.
    auto again = imap::SequenceSet::parse(set.to_string());
    require(again.has_value(), "ResolvedSet::to_string does not parse");
    require(!again->uses_star(), "ResolvedSet::to_string wrote a *");
    require(again->resolve(1) == set, "ResolvedSet::to_string does not round-trip");
}

// RFC 3501 5.1: INBOX is case-insensitive; normalising is idempotent.
void check_inbox(std::string_view input) {
    for (char delimiter : {'\0', '/', '.'}) {
        const std::string once = imap::normalize_inbox(input, delimiter);
        require(imap::normalize_inbox(once, delimiter) == once, "normalize_inbox not idempotent");
        require(once.size() == input.size(), "normalize_inbox changed the length");
        if (imap::is_inbox(input)) require(once == "INBOX", "INBOX not normalised");
        if (once != input) {
            require(once.compare(0, 5, "INBOX") == 0, "normalize_inbox changed a non-INBOX name");
            require(once.substr(5) == input.substr(5), "normalize_inbox changed a child's name");
        }
    }
}

// RFC 3501 9 sequence-set.
void check_sequence_set(std::string_view input) {
    auto set = imap::SequenceSet::parse(input);
    if (!set) return;
    // "$" (RFC 5182 4) is the one set without ranges: the saved result.
    require(set->is_last_result() == (input == "$"), "only \"$\" is the saved result");
    require(set->is_last_result() || !set->ranges().empty(), "parse accepted an empty set");
    const std::string text = set->to_string();
    auto again = imap::SequenceSet::parse(text);
    require(again.has_value(), "SequenceSet::to_string does not parse");
    require(*again == *set, "parse(to_string(s)) != s");
    require(again->to_string() == text, "to_string is not stable");
    for (std::uint32_t largest : {0u, 1u, 200u, 4294967295u}) {
        const auto resolved = set->resolve(largest);
        check_resolved(resolved);
        if (largest != 0 && !set->is_last_result())
            require(!resolved.empty(), "a non-empty set resolved to nothing");
        if (set->uses_star() && largest != 0) {
            require(resolved.contains(largest), "* did not resolve to the largest number");
        }
    }
}

// RFC 3501 9 date and date-time.
void check_dates(std::string_view input) {
    if (auto date = imap::parse_date(input)) {
        const std::string text = imap::format_date(*date);
        auto again = imap::parse_date(text);
        require(again.has_value(), "format_date output does not parse");
        require(*again == *date, "parse_date(format_date(d)) != d");
        // Round trips through text cannot see an impossible day (31-Feb
        // would print and parse as itself); the calendar arithmetic can.
        imap::DateTime midnight;
        midnight.date = *date;
        const auto back = imap::DateTime::from_unix(midnight.to_unix(), 0);
        require(back.date == *date, "parse_date accepted a day the month does not have");
    }
    if (auto dt = imap::parse_date_time(input)) {
        // format_date_time space-pads the day (" 1-Jul-..."), which
        // date-day-fixed accepts; the value, not the text, must round-trip.
        const std::string text = imap::format_date_time(*dt);
        require(text.size() == 26, "format_date_time length");
        auto again = imap::parse_date_time(text);
        require(again.has_value(), "format_date_time output does not parse");
        require(*again == *dt, "parse_date_time(format_date_time(t)) != t");
        const auto back = imap::DateTime::from_unix(dt->to_unix(), dt->zone_minutes);
        require(back.to_unix() == dt->to_unix(), "from_unix/to_unix disagree");
        // A leap second has no unix time of its own: it comes back as :00 of
        // the next minute.
        if (dt->second != 60) require(back == *dt, "from_unix(to_unix(t)) != t");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_mutf7(input);
    check_inbox(input);
    check_sequence_set(input);
    check_dates(input);
    return 0;
}
