#include "protocol/sequence_set.h"

#include <algorithm>
#include <utility>

#include "protocol/limits.h"

namespace imap {

namespace {

constexpr std::uint64_t kMaxNumber = 4294967295u;  // RFC 3501 9: nz-number < 2^32

// RFC 3501 9: seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT.
// A leading zero ("01") and "0" itself are not nz-numbers. Returns 0 for
// "*" (our spelling of it) and advances `pos` past what was read.
std::optional<std::uint32_t> parse_seq_number(std::string_view text, std::size_t& pos) {
    if (pos >= text.size()) return std::nullopt;
    if (text[pos] == '*') {
        ++pos;
        return 0;
    }
    if (text[pos] < '1' || text[pos] > '9') return std::nullopt;
    std::uint64_t value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        value = value * 10 + static_cast<std::uint64_t>(text[pos] - '0');
        // Checked per digit so a thousand-digit number cannot wrap the
        // 64-bit accumulator.
        if (value > kMaxNumber) return std::nullopt;
        ++pos;
    }
    return static_cast<std::uint32_t>(value);
}

void append_number(std::string& out, std::uint32_t n) {
    if (n == 0) {
        out += '*';
    } else {
        out += std::to_string(n);
    }
}

void append_range(std::string& out, std::uint32_t first, std::uint32_t last) {
    append_number(out, first);
    if (last != first) {
        out += ':';
        append_number(out, last);
    }
}

}  // namespace

ResolvedSet::ResolvedSet(std::vector<SeqRange> ranges) {
    // The contract excludes 0, but a caller's slip must not produce a set
    // whose count() or for_each() visits 0: clamp it away (a lone 0 drops).
    std::vector<SeqRange> clean;
    clean.reserve(ranges.size());
    for (auto r : ranges) {
        if (r.first > r.last) std::swap(r.first, r.last);
        if (r.last == 0) continue;
        if (r.first == 0) r.first = 1;
        clean.push_back(r);
    }
    std::sort(clean.begin(), clean.end(),
              [](const SeqRange& a, const SeqRange& b) { return a.first < b.first; });
    for (const auto& r : clean) {
        // Adjacent ranges merge too (1:3,4:5 is 1:5), so equal sets compare
        // equal; 64-bit so last + 1 cannot wrap at 4294967295.
        if (!ranges_.empty() && static_cast<std::uint64_t>(r.first) <=
                                    static_cast<std::uint64_t>(ranges_.back().last) + 1) {
            ranges_.back().last = std::max(ranges_.back().last, r.last);
        } else {
            ranges_.push_back(r);
        }
    }
}

ResolvedSet ResolvedSet::from_numbers(std::vector<std::uint32_t> numbers) {
    std::sort(numbers.begin(), numbers.end());
    numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
    ResolvedSet set;
    for (auto n : numbers) {
        if (n == 0) continue;
        if (!set.ranges_.empty() && set.ranges_.back().last + 1 == n) {
            set.ranges_.back().last = n;
        } else {
            set.ranges_.push_back({n, n});
        }
    }
    return set;
}

bool ResolvedSet::contains(std::uint32_t n) const {
    // First range starting after n; the candidate is the one before it.
    auto it = std::upper_bound(ranges_.begin(), ranges_.end(), n,
                               [](std::uint32_t v, const SeqRange& r) { return v < r.first; });
    if (it == ranges_.begin()) return false;
    --it;
    return n <= it->last;
}

std::uint64_t ResolvedSet::count() const {
    std::uint64_t total = 0;
    for (const auto& r : ranges_)
        total += std::uint64_t{r.last} - r.first + 1;
    return total;
}

std::uint32_t ResolvedSet::min() const {
    return ranges_.front().first;
}

std::uint32_t ResolvedSet::max() const {
    return ranges_.back().last;
}

std::string ResolvedSet::to_string() const {
    std::string out;
    for (const auto& r : ranges_) {
        if (!out.empty()) out += ',';
        append_range(out, r.first, r.last);
    }
    return out;
}

SequenceSet SequenceSet::last_result() {
    SequenceSet set;
    set.last_result_ = true;
    return set;
}

std::optional<SequenceSet> SequenceSet::parse(std::string_view text) {
    // RFC 5182 4: seq-last-command = "$", an alternative of its own: "$"
    // joins no list ("$,1" is no sequence-set).
    if (text == "$") return last_result();
    std::vector<SeqRange> ranges;
    std::size_t pos = 0;
    // RFC 3501 9: sequence-set = (seq-number / seq-range) *("," sequence-set).
    // At least one element; no empty elements, so no leading, doubled or
    // trailing comma.
    while (true) {
        auto first = parse_seq_number(text, pos);
        if (!first) return std::nullopt;
        SeqRange range{*first, *first};
        if (pos < text.size() && text[pos] == ':') {
            ++pos;
            auto last = parse_seq_number(text, pos);
            if (!last) return std::nullopt;
            range.last = *last;
        }
        if (ranges.size() == limits::kMaxSequenceRanges) return std::nullopt;
        ranges.push_back(range);
        if (pos == text.size()) break;
        if (text[pos] != ',') return std::nullopt;
        ++pos;
    }
    return SequenceSet(std::move(ranges));
}

bool SequenceSet::uses_star() const {
    return std::any_of(ranges_.begin(), ranges_.end(),
                       [](const SeqRange& r) { return r.first == 0 || r.last == 0; });
}

ResolvedSet SequenceSet::resolve(std::uint32_t largest) const {
    std::vector<SeqRange> out;
    out.reserve(ranges_.size());
    for (auto r : ranges_) {
        if (r.first == 0) r.first = largest;
        if (r.last == 0) r.last = largest;
        // largest == 0 (empty mailbox, sequence numbers): "*" is no number,
        // so "5:*" keeps only 5 and a bare "*" keeps nothing.
        if (r.first == 0) r.first = r.last;
        if (r.last == 0) r.last = r.first;
        if (r.first == 0) continue;
        // RFC 3501 9 seq-range: "regardless of order"; this swap is also what
        // makes "559:*" with largest 200 into 200:559 (RFC 3501 6.4.8).
        if (r.first > r.last) std::swap(r.first, r.last);
        out.push_back(r);
    }
    return ResolvedSet(std::move(out));
}

std::string SequenceSet::to_string() const {
    if (last_result_) return "$";
    std::string out;
    for (const auto& r : ranges_) {
        if (!out.empty()) out += ',';
        append_range(out, r.first, r.last);
    }
    return out;
}

}  // namespace imap
