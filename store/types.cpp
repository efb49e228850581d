#include "store/types.h"

#include <algorithm>
#include <array>

namespace imap::store {
namespace {

struct SystemFlag {
    std::string_view name;
    std::uint32_t bit;
};
// In the order of RFC 3501's examples (6.3.1), which Dovecot also uses, so
// FLAGS and FETCH responses read the same as theirs.
constexpr std::array<SystemFlag, 5> kSystemFlags{{
    {"\\Answered", flag::kAnswered},
    {"\\Flagged", flag::kFlagged},
    {"\\Deleted", flag::kDeleted},
    {"\\Seen", flag::kSeen},
    {"\\Draft", flag::kDraft},
}};

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        return lower(x) == lower(y);
    });
}

}  // namespace

UidSet normalize(UidSpan set) {
    UidSet out;
    out.reserve(set.size());
    for (UidRange r : set) {
        if (r.first > r.last) std::swap(r.first, r.last);
        out.push_back(r);
    }
    std::sort(out.begin(), out.end(),
              [](const UidRange& a, const UidRange& b) { return a.first < b.first; });
    UidSet merged;
    for (const UidRange& r : out) {
        if (!merged.empty() && std::uint64_t{r.first} <= std::uint64_t{merged.back().last} + 1) {
            merged.back().last = std::max(merged.back().last, r.last);
        } else {
            merged.push_back(r);
        }
    }
    return merged;
}

bool contains(UidSpan normalized, std::uint32_t uid) {
    auto it = std::upper_bound(normalized.begin(), normalized.end(), uid,
                               [](std::uint32_t u, const UidRange& r) { return u < r.first; });
    return it != normalized.begin() && uid <= std::prev(it)->last;
}

UidSet uid_set_of(std::span<const std::uint32_t> ascending) {
    UidSet set;
    for (std::uint32_t uid : ascending) {
        if (!set.empty() && std::uint64_t{set.back().last} + 1 >= uid) {
            set.back().last = std::max(set.back().last, uid);
        } else {
            set.push_back({uid, uid});
        }
    }
    return set;
}

UidSet UidWindows::next(std::size_t max) {
    UidSet window;
    std::size_t count = 0;
    while (!done() && count < max) {
        const UidRange& range = set_[range_];
        const std::uint32_t first = std::max(range.first, next_uid_);
        const std::uint64_t room = max - count;
        const auto last =
            static_cast<std::uint32_t>(std::min<std::uint64_t>(range.last, first + room - 1));
        window.push_back({first, last});
        count += std::size_t{last} - first + 1;
        skip_through(last);
    }
    return window;
}

void UidWindows::skip_through(std::uint32_t uid) {
    while (!done() && set_[range_].last <= uid) {
        ++range_;
        if (!done()) next_uid_ = set_[range_].first;
    }
    if (!done() && next_uid_ <= uid) next_uid_ = uid + 1;
}

std::uint32_t system_flag_bit(std::string_view name) {
    for (const SystemFlag& f : kSystemFlags) {
        if (iequals(f.name, name)) return f.bit;
    }
    return 0;
}

std::vector<std::string> system_flag_names(std::uint32_t bits) {
    std::vector<std::string> names;
    for (const SystemFlag& f : kSystemFlags) {
        if (bits & f.bit) names.emplace_back(f.name);
    }
    return names;
}

}  // namespace imap::store
