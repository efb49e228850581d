// Sequence sets (RFC 3501 9: sequence-set, seq-range, seq-number).
//
// A set is kept as written: a list of ranges where 0 stands for "*". It is
// resolved against a mailbox (largest sequence number, or largest UID in use)
// only when a command runs, because "*" means "the largest number in use" at
// that moment. Resolved sets are sorted, merged ranges, iterated without
// materialising every number: "1:4294967295" costs one range, not four
// billion entries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imap {

struct SeqRange {
    std::uint32_t first = 0;  // 0 means "*"
    std::uint32_t last = 0;   // 0 means "*"; equal to first for a single number

    bool operator==(const SeqRange&) const = default;
};

// Sorted, non-overlapping, non-adjacent ranges with first <= last, no "*".
class ResolvedSet {
  public:
    ResolvedSet() = default;
    // Sorts and merges arbitrary ranges (no 0s).
    explicit ResolvedSet(std::vector<SeqRange> ranges);
    // Builds a set from numbers in any order (duplicates allowed).
    static ResolvedSet from_numbers(std::vector<std::uint32_t> numbers);

    const std::vector<SeqRange>& ranges() const { return ranges_; }
    bool empty() const { return ranges_.empty(); }
    bool contains(std::uint32_t n) const;  // binary search
    std::uint64_t count() const;           // how many numbers
    std::uint32_t min() const;             // precondition: !empty()
    std::uint32_t max() const;             // precondition: !empty()

    // Calls fn(n) for each number in ascending order; fn returns false to stop.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (const auto& r : ranges_) {
            for (std::uint64_t n = r.first; n <= r.last; ++n) {
                if (!fn(static_cast<std::uint32_t>(n))) return;
            }
        }
    }

    // Compact form: "1:3,5,7:9". Empty set formats as "".
    std::string to_string() const;

    bool operator==(const ResolvedSet&) const = default;

  private:
    std::vector<SeqRange> ranges_;
};

class SequenceSet {
  public:
    SequenceSet() = default;
    explicit SequenceSet(std::vector<SeqRange> ranges) : ranges_(std::move(ranges)) {}

    // Parses the sequence-set grammar exactly: nz-number or "*", ranges with
    // ":", comma-separated, no spaces, no zero, numbers < 2^32; or "$" alone
    // (RFC 5182 4: sequence-set =/ seq-last-command). Returns nullopt on any
    // deviation or past limits::kMaxSequenceRanges ranges.
    static std::optional<SequenceSet> parse(std::string_view text);

    // "$": the session's saved SEARCH result (RFC 5182), which only the
    // selected mailbox's view can resolve (SelectedMailbox::resolve).
    static SequenceSet last_result();
    bool is_last_result() const { return last_result_; }

    // Empty for "$".
    const std::vector<SeqRange>& ranges() const { return ranges_; }
    bool uses_star() const;

    // Replaces "*" by `largest` (the number of messages for sequence numbers,
    // the largest UID in use for UIDs) and normalises ("4:2" == "2:4").
    // RFC 3501 6.4.8: "559:*" with largest UID 200 is "200:559", so it always
    // includes the last message. With largest == 0 a "*" matches nothing and
    // ranges that contained it shrink to their other end. "$" resolves to
    // the empty set here: its callers ask the view instead.
    ResolvedSet resolve(std::uint32_t largest) const;

    // As written, e.g. "4:2,*": round-trips through parse().
    std::string to_string() const;

    bool operator==(const SequenceSet&) const = default;

  private:
    std::vector<SeqRange> ranges_;
    bool last_result_ = false;
};

}  // namespace imap
