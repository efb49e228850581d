// Grammar pieces shared by the parser's translation units.
#pragma once

#include <vector>

#include "protocol/command.h"
#include "protocol/reader.h"

namespace imap::detail {

// After "FETCH" SP: sequence-set SP (macro / fetch-att / list).
FetchCommand parse_fetch(Reader& in, bool uid);

// fetch-att (RFC 3501 9) inside a parenthesised list: NOTIFY's MessageNew
// attributes (RFC 5465 8).
FetchItem read_fetch_att_in_list(Reader& in);

// After "SEARCH": [SP "CHARSET" SP astring] 1*(SP search-key).
SearchCommand parse_search(Reader& in, bool uid);
SortCommand parse_sort(Reader& in, bool uid);
ThreadCommand parse_thread(Reader& in, bool uid);

// partial-range (RFC 9394 4), after "PARTIAL" SP: SEARCH's return option
// and UID FETCH's modifier.
PartialRange read_partial_range(Reader& in);

// sequence-set (RFC 3501 9), as a token.
SequenceSet read_sequence_set(Reader& in);

// date = date-text / DQUOTE date-text DQUOTE
Date read_date(Reader& in);

// flag = "\Answered" / ... / flag-keyword / flag-extension
Flag read_flag(Reader& in);

// flag-list = "(" [flag *(SP flag)] ")", with any run of SP accepted
// inside the parentheses (docs/architecture.md, "Parser").
std::vector<Flag> read_flag_list(Reader& in);

// mailbox = "INBOX" / astring, INBOX normalised.
std::string read_mailbox(Reader& in);

}  // namespace imap::detail
