// Small value types shared by the store's API. No IMAP wire syntax here:
// the server resolves sequence sets, '*' and modified UTF-7 before calling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace imap::store {

// Rowid of a mailbox (AUTOINCREMENT: never reused, so a stale id held by a
// session that selected a since-deleted mailbox fails with NotFound instead
// of reaching a new mailbox).
using MailboxId = std::int64_t;

// An inclusive range of UIDs, first <= last.
struct UidRange {
    std::uint32_t first = 0;
    std::uint32_t last = 0;
    bool operator==(const UidRange&) const = default;
};
using UidSet = std::vector<UidRange>;
using UidSpan = std::span<const UidRange>;

// Sorts and merges ranges (and swaps reversed ones): what every store
// operation does to a set before using it.
UidSet normalize(UidSpan set);
bool contains(UidSpan normalized, std::uint32_t uid);
// Ascending UIDs (duplicates allowed) as a normalized set.
UidSet uid_set_of(std::span<const std::uint32_t> ascending);

// Walks a normalized set in windows of at most `max` UIDs each, for reading
// a large set's rows a batch at a time: each window costs what it holds,
// however many ranges the set has.
class UidWindows {
  public:
    explicit UidWindows(UidSpan normalized) : set_(normalized) {
        if (!set_.empty()) next_uid_ = set_.front().first;
    }
    bool done() const { return range_ == set_.size(); }
    // The next window (empty once done()).
    UidSet next(std::size_t max);
    // Skips the UIDs up to `uid`: the caller got rows up to it.
    void skip_through(std::uint32_t uid);

  private:
    UidSpan set_;
    std::size_t range_ = 0;
    std::uint32_t next_uid_ = 0;
};

// RFC 3501 2.3.2 system flags as bits. \Recent is not stored: it is derived
// from the mailbox's first_recent_uid (see MailStore::claim_recent).
namespace flag {
inline constexpr std::uint32_t kSeen = 1;
inline constexpr std::uint32_t kAnswered = 2;
inline constexpr std::uint32_t kFlagged = 4;
inline constexpr std::uint32_t kDeleted = 8;
inline constexpr std::uint32_t kDraft = 16;
inline constexpr std::uint32_t kAll = 31;
}  // namespace flag

// "\Seen" -> kSeen (case-insensitive); 0 when not a storable system flag
// (\Recent is not storable: RFC 3501 6.4.6).
std::uint32_t system_flag_bit(std::string_view name);
// The flags in `bits` as "\Seen" etc., in the order of RFC 3501 6.3.1's
// example: \Answered \Flagged \Deleted \Seen \Draft.
std::vector<std::string> system_flag_names(std::uint32_t bits);

// Flags as the server hands them to the store: system flag bits and
// keywords (any other atom, e.g. "$Forwarded", "Junk").
struct Flags {
    std::uint32_t system = 0;
    std::vector<std::string> keywords;
};

}  // namespace imap::store
