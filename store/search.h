// Store-level SEARCH: a criteria tree the server builds from IMAP SEARCH
// keys (RFC 3501 6.4.4), evaluated by MailStore::search() as one SQL query.
//
// The server translates what depends on the session first: sequence
// numbers to UID sets, RECENT / NEW / OLD to the session's recent UIDs
// (with SEEN), FROM/TO/CC/BCC/SUBJECT to header(field, text), UNSEEN etc. to
// not_(has_flags(...)), dates to day numbers (days_from_civil).
//
// String matching is substring and case-insensitive (RFC 3501 6.4.4), by
// SubstringMatcher below, linear in the text and the string. When the string
// has at least 3 characters the FTS5 trigram index first narrows the
// messages to those holding up to kSearchIndexTrigrams of its trigrams
// (an AND of single trigrams: a phrase of n trigrams costs FTS5 n times the
// positions of its commonest one, quadratic on a message that repeats it);
// the matcher then checks the decoded text of each:
// - BODY: the text parts; TEXT: the header fields or the text parts;
// - HEADER: the named field's decoded value. An empty string matches every
//   message that has the field.
// - Address (FROM, TO, CC, BCC): the field's addresses as
//   address_search_form() writes them; for a body stored before those were
//   (no address lines in bodies.search_header, docs/storage.md), the
//   field's decoded value, as HEADER.
// A string longer than limits::kMaxSearchStringBytes is StoreError
// OverLimit.
//
// Cost (store/limits.h has every bound and why): the SQL uses anonymous
// parameters in text order and numbers inline, so compiling it is close to
// linear in the keys; each distinct index query runs once before the
// statement (at most kMaxSearchIndexQueries, their candidates at most
// kMaxSearchCandidates) and an OR of strings the index narrows is skipped
// for messages outside the union of their candidates; nesting is at most
// kMaxSearchDepth levels. While it runs a search may read the mailbox's text
// kSearchScansPerMailbox times and take kSearchStepsPerMessage SQLite steps
// per message (each plus an allowance). Past any of these: StoreError
// OverLimit, with a fixed text for the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/limits.h"
#include "store/types.h"

namespace imap::store {

struct SearchKey {
    enum class Kind {
        All,
        And,         // children; empty: all
        Or,          // children; empty: none
        Not,         // children[0]
        Flags,       // every bit of `flags` set
        Keyword,     // `text` set (undefined keyword: no message)
        Uids,        // uid in `uids`
        Before,      // internal date's day < number (its own zone, RFC 3501 6.4.4)
        On,          // == number
        Since,       // >= number
        SentBefore,  // Date: header's day (falls back to the internal date's
        SentOn,      // day when the header is missing or unparsable)
        SentSince,
        Larger,   // size > number
        Smaller,  // size < number
        Header,   // field `field` contains `text`
        Address,  // field `field`'s addresses contain `text` (address_search_form)
        Body,     // decoded text parts contain `text`
        Text,     // header or body contains `text`
        ModSeq,   // modseq >= number (RFC 7162 3.1.5)
        // The internal date and time (unix seconds) compared with number,
        // to the second (RFC 5032 2: OLDER and YOUNGER).
        ArrivedAtOrBefore,  // internal date <= number
        ArrivedAtOrAfter,   // internal date >= number
        // RFC 8514 4.3: the save date's day (in UTC, the zone SAVEDATE is
        // written in) compared with number.
        SavedBefore,
        SavedOn,
        SavedSince,
        // RFC 8474 6: EMAILID / THREADID exactly `text` (case sensitive).
        EmailId,
        ThreadId,
    };

    Kind kind = Kind::All;
    std::vector<SearchKey> children;
    std::uint32_t flags = 0;
    std::string field;
    std::string text;
    std::int64_t number = 0;
    UidSet uids;

    static SearchKey all() { return {}; }
    static SearchKey all_of(std::vector<SearchKey> keys);
    static SearchKey any_of(std::vector<SearchKey> keys);
    static SearchKey or_(SearchKey a, SearchKey b);
    static SearchKey not_(SearchKey key);
    static SearchKey has_flags(std::uint32_t bits);
    static SearchKey keyword(std::string name);
    static SearchKey uid_set(UidSet set);
    static SearchKey date(Kind kind, std::int64_t day);  // Before..SentSince, Saved*
    static SearchKey larger(std::uint64_t size);
    static SearchKey smaller(std::uint64_t size);
    static SearchKey header(std::string field, std::string text);
    // FROM / TO / CC / BCC (RFC 3501 6.4.4): the parsed addresses of the
    // field (store/message/message.h address_search_form), not its text.
    static SearchKey address(std::string field, std::string text);
    static SearchKey body(std::string text);
    static SearchKey text_(std::string text);
    static SearchKey modseq(std::uint64_t value);
    // ArrivedAtOrBefore / ArrivedAtOrAfter `unix_seconds`.
    static SearchKey arrived(Kind kind, std::int64_t unix_seconds);
    // EmailId / ThreadId `id`.
    static SearchKey object_id(Kind kind, std::string id);
};

// One SORT criterion (RFC 5256 3 BASE.6.4.SORT, RFC 5957 DISPLAYFROM and
// DISPLAYTO). Messages equal on every criterion stay in mailbox order.
struct SortCriterion {
    enum class Key {
        Arrival,      // internal date and time
        Cc,           // addr-mailbox of the first Cc address
        Date,         // sent date (RFC 5256 2.2), the internal date without one
        From,         // addr-mailbox of the first From address
        Size,         // RFC822.SIZE
        Subject,      // base subject (RFC 5256 2.1)
        To,           // addr-mailbox of the first To address
        DisplayFrom,  // RFC 5957: display name, else addr-spec, of the first From
        DisplayTo,    // RFC 5957: the same of the first To
    };
    Key key = Key::Arrival;
    bool reverse = false;
    bool operator==(const SortCriterion&) const = default;
};

struct SearchText;

// The bodies.search_header column for `text` (docs/storage.md): one
// "Name: value" line per header field, then one kAddressLineMark + "Name:
// form" line per address field. A field name never holds ':' (it ends at
// the first), so no field line starts with the mark; line ends inside
// names and values become spaces.
inline constexpr char kAddressLineMark = ':';
std::string search_header_column(const SearchText& text);

// Case-insensitive substring search, as SEARCH compares strings (RFC 3501
// 6.4.4: "contains the specified string"). Both sides are case-folded
// (fold_case) and the folded text is searched with glibc's memmem, which
// is linear in the worst case (Two-Way), in blocks, so no copy of a large
// text is made. Cost O(haystack + needle).
class SubstringMatcher {
  public:
    explicit SubstringMatcher(std::string_view needle);
    bool found_in(std::string_view haystack) const;

  private:
    std::string needle_;  // folded
};

// `text` (UTF-8) case-folded for comparison: ASCII letters to lower case,
// other characters through towlower(towupper(c)) in the C.UTF-8 locale,
// which folds what Unicode simple case folding folds (final sigma included)
// close enough to agree with the FTS5 trigram index's folding. Bytes that
// are not UTF-8 are kept as they are.
std::string fold_case(std::string_view text);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12).
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);

// An RFC 5322 3.3 Date: value (obsolete forms included: two-digit years,
// alphabetic zones, comments), read leniently.
struct SentDate {
    std::int64_t time = 0;  // unix seconds, UTC
    std::int64_t day = 0;   // the calendar day as written (zone ignored)
};
std::optional<SentDate> parse_date_header(std::string_view value);

}  // namespace imap::store
