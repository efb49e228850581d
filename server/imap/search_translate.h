// SEARCH criteria (RFC 3501 6.4.4) from the protocol's tree to the store's
// (store/search.h), resolving what depends on the session's view of the
// selected mailbox:
// - message sequence numbers become UID sets; a number past EXISTS matches
//   nothing, as Dovecot answers (a search key is a criterion; RFC 3501 9's
//   "tagged BAD" for such numbers stays for FETCH, STORE, COPY and MOVE);
// - UID sets: "*" is the largest UID in the view (RFC 3501 6.4.8), and UIDs
//   the view does not hold match nothing;
// - RECENT / NEW / OLD use this session's \Recent messages (RFC 3501 2.3.2):
//   NEW is RECENT and UNSEEN, OLD is NOT RECENT;
// - FROM / TO / CC / BCC match the field's parsed addresses ("the envelope
//   structure's FROM field", store::SearchKey::address); SUBJECT is a
//   HEADER search of Subject;
// - UNANSWERED etc. are NOT of the flag, UNKEYWORD is NOT KEYWORD;
// - dates become day numbers; BEFORE / ON / SINCE compare with the internal
//   date's day as written in its own zone ("disregarding time and
//   timezone"; Dovecot uses the server's zone instead);
// - OLDER n / YOUNGER n (RFC 5032 2) compare the internal date, to the
//   second, with `now` - n: OLDER at or before it, YOUNGER at or after.
//
// The charset of the strings: US-ASCII and UTF-8 only. RFC 3501 6.4.4 says
// the default is US-ASCII; like Dovecot, 8-bit strings are read as UTF-8
// whatever the charset (US-ASCII is a subset), and strings that are not valid
// UTF-8 are an error (Dovecot: BAD).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "protocol/command.h"
#include "server/imap/selected_mailbox.h"
#include "store/search.h"

namespace imap::server {

// The charsets SEARCH CHARSET accepts, as BADCHARSET lists them.
inline constexpr std::string_view kSearchCharsets[] = {"US-ASCII", "UTF-8"};

// True for a charset in kSearchCharsets (case-insensitive, RFC 2978 names).
bool search_charset_supported(std::string_view charset);

// Why a search cannot run; the caller answers "tag BAD <message>".
struct SearchKeyError {
    std::string message;
};

// `key` as the store's criteria, evaluated against `view`. The result may
// match messages the view does not hold (arrived since its last sync); the
// caller restricts it to the view. `now`: the server's current time, unix
// seconds (RFC 5032 2).
std::variant<store::SearchKey, SearchKeyError> translate_search(const SearchKey& key,
                                                                const SelectedMailbox& view,
                                                                std::int64_t now);

}  // namespace imap::server
