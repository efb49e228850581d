#include "store/mailbox_names.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "store/errors.h"
#include "store/internal.h"
#include "store/limits.h"

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
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t extra = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + extra >= s.size()) return false;
        for (std::size_t k = 1; k <= extra; ++k) {
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        // Overlong forms, surrogates and values past U+10FFFF.
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += extra + 1;
    }
    return true;
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

std::optional<std::string_view> parent_mailbox_name(std::string_view name) {
    std::size_t slash = name.rfind(kHierarchyDelimiter);
    if (slash == std::string_view::npos) return std::nullopt;
    return name.substr(0, slash);
}

bool mailbox_pattern_match(std::string_view pattern, std::string_view name) {
    // Names under INBOX compare their first five bytes ignoring case.
    std::size_t first_end = name.find(kHierarchyDelimiter);
    const bool inbox_rooted = is_inbox_level(name.substr(0, first_end));
    auto same = [&](char p, std::size_t at) {
        return p == name[at] || (inbox_rooted && at < 5 && ascii_upper(p) == ascii_upper(name[at]));
    };
    // match[j]: pattern[0, i) matches name[0, j).
    std::vector<char> match(name.size() + 1, 0), next(name.size() + 1, 0);
    match[0] = 1;
    for (char p : pattern) {
        std::fill(next.begin(), next.end(), 0);
        if (p == '*') {
            char reachable = 0;
            for (std::size_t j = 0; j <= name.size(); ++j) {
                reachable |= match[j];
                next[j] = reachable;
            }
        } else if (p == '%') {
            char reachable = 0;
            for (std::size_t j = 0; j <= name.size(); ++j) {
                if (j > 0 && name[j - 1] == kHierarchyDelimiter) reachable = 0;
                reachable |= match[j];
                next[j] = reachable;
            }
        } else {
            for (std::size_t j = 1; j <= name.size(); ++j) {
                next[j] = match[j - 1] && same(p, j - 1);
            }
        }
        match.swap(next);
    }
    return match[name.size()] != 0;
}

}  // namespace imap::store
