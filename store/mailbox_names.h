// Mailbox names as the store sees them: UTF-8 (the server has already
// decoded modified UTF-7), '/' as the only hierarchy delimiter, "INBOX" in
// canonical case (RFC 3501 5.1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

// Whether two names are equal when ASCII letters are compared without case
// (special-use names, LMTP's "+detail" mailbox); other bytes exactly.
bool equal_ignoring_ascii_case(std::string_view a, std::string_view b);

// "a/b/c" -> "a/b"; nullopt for a top-level name.
std::optional<std::string_view> parent_mailbox_name(std::string_view name);

// RFC 3501 6.3.8 LIST matching: '*' matches anything, '%' anything but the
// delimiter; everything else literally, except that the INBOX level of a
// name matches case-insensitively. The server joins reference and pattern
// first. Compiled once per command and matched against every name.
//
// Several patterns (RFC 5258 3: a name is listed when any matches) compile
// into one matcher. Runs of wildcards collapse first ("**" is "*", and
// with a "*" in the run "%" adds nothing). The matcher is a bit-parallel
// automaton with one state per pattern character: each name byte costs
// O(pattern / 64) word operations, so a name costs O(name * pattern / 64)
// whatever the pattern holds (no backtracking), and the pattern is bounded
// by limits::kMaxListPatternBytes.
class MailboxPattern {
  public:
    // Throws StoreError(OverLimit) when the patterns together hold more than
    // limits::kMaxListPatternBytes bytes.
    explicit MailboxPattern(std::string_view pattern);
    explicit MailboxPattern(std::span<const std::string> patterns);

    bool matches(std::string_view name) const;

  private:
    using Word = std::uint64_t;
    void compile(std::span<const std::string_view> patterns);

    // State k is "the first i characters of pattern p (collapsed) are
    // matched", the states of each pattern after the previous pattern's;
    // a state set is a bitset of `words_` Words.
    std::size_t words_ = 0;
    std::vector<Word> literal_;  // 256 sets: the states whose next character is that byte
    std::vector<Word> star_;     // states whose next character is '*'
    std::vector<Word> wild_;     // ... '*' or '%'
    std::vector<Word> accept_;   // each pattern's last state
    // Each pattern's first state and its count of literal characters (the
    // shortest name it can match).
    std::vector<std::pair<std::size_t, std::size_t>> starts_;
};

// One pattern against one name (compiles the pattern each time).
bool mailbox_pattern_match(std::string_view pattern, std::string_view name);

}  // namespace imap::store
