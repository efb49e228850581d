// Mailbox names as the store sees them: UTF-8 (the server has already
// decoded modified UTF-7), '/' as the only hierarchy delimiter, "INBOX" in
// canonical case (RFC 3501 5.1).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace imap::store {

inline constexpr char kHierarchyDelimiter = '/';

// The canonical form of `name`, or StoreError(InvalidName / OverLimit).
// Rejects: empty names, a leading delimiter, empty levels ("a//b"), a
// trailing delimiter (CREATE strips it first, RFC 3501 6.3.3), control
// characters, invalid UTF-8, the LIST wildcards '*' and '%' (a name
// containing them could not be listed unambiguously), and names past
// limits::kMaxMailboxNameBytes / kMaxMailboxDepth. A first level equal to
// "inbox" in any case becomes "INBOX" (so "inbox/Sent" is "INBOX/Sent").
std::string canonical_mailbox_name(std::string_view name);

// "a/b/c" -> "a/b"; nullopt for a top-level name.
std::optional<std::string_view> parent_mailbox_name(std::string_view name);

// RFC 3501 6.3.8 LIST matching: '*' matches anything, '%' anything but the
// delimiter; everything else literally, except that the INBOX level of a
// name matches case-insensitively. The server joins reference and pattern
// first. Cost O(pattern * name).
bool mailbox_pattern_match(std::string_view pattern, std::string_view name);

}  // namespace imap::store
