#include "store/mailbox_names.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "store/errors.h"
#include "store/internal.h"
#include "store/limits.h"
#include "store/utf8.h"

namespace imap::store {
namespace {

bool is_inbox_level(std::string_view level) {
    if (level.size() != 5) return false;
    constexpr std::string_view kInbox = "INBOX";
    for (std::size_t i = 0; i < 5; ++i) {
        char c = level[i];
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (c != kInbox[i]) return false;
    }
    return true;
}

char ascii_upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

}  // namespace

namespace detail {

bool valid_utf8(std::string_view s) {
    return utf8::valid(s);
}

}  // namespace detail

std::string canonical_mailbox_name(std::string_view name) {
    if (name.empty()) throw StoreError(StoreErrc::InvalidName, "empty mailbox name");
    if (name.size() > limits::kMaxMailboxNameBytes) {
        throw StoreError(StoreErrc::OverLimit, "mailbox name too long");
    }
    if (!detail::valid_utf8(name))
        throw StoreError(StoreErrc::InvalidName, "mailbox name is not UTF-8");
    std::size_t levels = 1;
    char previous = kHierarchyDelimiter;  // a leading delimiter is an empty level
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '*' || c == '%') {
            throw StoreError(StoreErrc::InvalidName, "mailbox name has a forbidden character");
        }
        if (c == kHierarchyDelimiter) {
            if (previous == kHierarchyDelimiter) {
                throw StoreError(StoreErrc::InvalidName, "mailbox name has an empty level");
            }
            ++levels;
        }
        previous = c;
    }
    if (previous == kHierarchyDelimiter) {
        throw StoreError(StoreErrc::InvalidName, "mailbox name ends with the delimiter");
    }
    if (levels > limits::kMaxMailboxDepth) {
        throw StoreError(StoreErrc::OverLimit, "mailbox hierarchy too deep");
    }
    std::string result(name);
    std::size_t first_end = result.find(kHierarchyDelimiter);
    if (is_inbox_level(std::string_view(result).substr(0, first_end))) {
        result.replace(0, 5, "INBOX");
    }
    return result;
}

bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::optional<std::string_view> parent_mailbox_name(std::string_view name) {
    std::size_t slash = name.rfind(kHierarchyDelimiter);
    if (slash == std::string_view::npos) return std::nullopt;
    return name.substr(0, slash);
}

namespace {

// `pattern` with its runs of wildcards collapsed: a run holding '*' is "*",
// a run of '%' is "%". Both match the same names as the run.
std::string collapse_wildcards(std::string_view pattern) {
    std::string out;
    out.reserve(pattern.size());
    for (char c : pattern) {
        const bool wild = c == '*' || c == '%';
        const bool after_wild = !out.empty() && (out.back() == '*' || out.back() == '%');
        if (wild && after_wild) {
            if (c == '*') out.back() = '*';
            continue;
        }
        out += c;
    }
    return out;
}

void set_bit(std::vector<std::uint64_t>& set, std::size_t words, std::size_t row, std::size_t bit) {
    set[row * words + bit / 64] |= std::uint64_t{1} << (bit % 64);
}

}  // namespace

MailboxPattern::MailboxPattern(std::string_view pattern) {
    compile(std::span<const std::string_view>(&pattern, 1));
}

MailboxPattern::MailboxPattern(std::span<const std::string> patterns) {
    std::vector<std::string_view> views(patterns.begin(), patterns.end());
    compile(views);
}

void MailboxPattern::compile(std::span<const std::string_view> patterns) {
    std::size_t total = 0;
    for (std::string_view p : patterns)
        total += p.size();
    if (total > limits::kMaxListPatternBytes) {
        throw StoreError(StoreErrc::OverLimit, "Mailbox pattern too long (at most " +
                                                   std::to_string(limits::kMaxListPatternBytes) +
                                                   " octets)");
    }
    std::vector<std::string> collapsed;
    std::size_t states = 0;
    for (std::string_view p : patterns) {
        collapsed.push_back(collapse_wildcards(p));
        states += collapsed.back().size() + 1;
    }
    words_ = std::max<std::size_t>(1, (states + 63) / 64);
    literal_.assign(256 * words_, 0);
    star_.assign(words_, 0);
    wild_.assign(words_, 0);
    accept_.assign(words_, 0);
    starts_.clear();
    std::size_t state = 0;
    for (const std::string& p : collapsed) {
        starts_.push_back({state, 0});
        for (char c : p) {
            if (c == '*' || c == '%') {
                set_bit(wild_, words_, 0, state);
                if (c == '*') set_bit(star_, words_, 0, state);
            } else {
                set_bit(literal_, words_, static_cast<unsigned char>(c), state);
                ++starts_.back().second;
            }
            ++state;
        }
        set_bit(accept_, words_, 0, state);
        ++state;
    }
}

bool MailboxPattern::matches(std::string_view name) const {
    // Names under INBOX compare their first five bytes ignoring case.
    const std::size_t first_end = name.find(kHierarchyDelimiter);
    const bool inbox_rooted = is_inbox_level(name.substr(0, first_end));
    const std::size_t n = words_;
    std::vector<Word> current(n), next(n);
    // A pattern with more literal characters than the name cannot match it.
    bool any = false;
    for (const auto& [state, literals] : starts_) {
        if (literals > name.size()) continue;
        current[state / 64] |= Word{1} << (state % 64);
        any = true;
    }
    if (!any) return false;
    const Word* wild = wild_.data();
    // Wildcards match the empty string: a state before one also stands after
    // it. Collapsed patterns never hold two wildcards in a row, so one
    // shift closes a set.
    Word carry = 0;
    for (std::size_t w = 0; w < n; ++w) {
        const Word skip = current[w] & wild[w];
        current[w] |= (skip << 1) | carry;
        carry = skip >> 63;
    }
    for (std::size_t at = 0; at < name.size(); ++at) {
        const auto c = static_cast<unsigned char>(name[at]);
        const Word* literal = &literal_[c * n];
        const Word* other_case = literal;
        if (inbox_rooted && at < 5) {
            const char upper = ascii_upper(static_cast<char>(c));
            const char lower = upper >= 'A' && upper <= 'Z' ? static_cast<char>(upper + 32) : upper;
            other_case = &literal_[static_cast<unsigned char>(
                                       c == static_cast<unsigned char>(upper) ? lower : upper) *
                                   n];
        }
        // '*' consumes any byte and stays; '%' any but the delimiter.
        const Word* stay = name[at] == kHierarchyDelimiter ? star_.data() : wild;
        Word move_carry = 0, skip_carry = 0, alive = 0;
        for (std::size_t w = 0; w < n; ++w) {
            const Word moving = current[w] & (literal[w] | other_case[w]);
            Word word = (moving << 1) | move_carry | (current[w] & stay[w]);
            move_carry = moving >> 63;
            const Word skip = word & wild[w];
            word |= (skip << 1) | skip_carry;
            skip_carry = skip >> 63;
            next[w] = word;
            alive |= word;
        }
        if (alive == 0) return false;
        current.swap(next);
    }
    for (std::size_t w = 0; w < n; ++w)
        if (current[w] & accept_[w]) return true;
    return false;
}

bool mailbox_pattern_match(std::string_view pattern, std::string_view name) {
    return MailboxPattern(pattern).matches(name);
}

}  // namespace imap::store
