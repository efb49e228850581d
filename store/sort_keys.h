// What SORT and THREAD (RFC 5256, RFC 5957) compare, computed once per body
// from the parse that stores it and kept in the body_sort table
// (docs/storage.md "Sort keys"), so a SORT is one ORDER BY and a THREAD one
// read of the mailbox's rows: no message is parsed again.
//
// Strings are stored casemapped (sort_casemap), so SQLite's BINARY order is
// the collation's order and equality is the collation's equality.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/message/message.h"

namespace imap::store {

struct SortKeys {
    // RFC 5256 2.2: the Date: header in UTC seconds; nullopt when missing or
    // unparsable (the sort then uses the internal date).
    std::optional<std::int64_t> sent_time;
    // RFC 5256 2.1 base subject, casemapped.
    std::string subject;
    // RFC 5256 3 REFERENCES: the base subject extraction removed a
    // subj-refwd, a "(fwd)" trailer or a subj-fwd-hdr/trl.
    bool reply_or_forward = false;
    // RFC 5256 3: addr-mailbox of the first From / To / Cc address,
    // casemapped; empty when there is none.
    std::string from_mailbox;
    std::string to_mailbox;
    std::string cc_mailbox;
    // RFC 5957 DISPLAYFROM / DISPLAYTO: the first address's display name
    // (RFC 2047 decoded), or its addr-spec when it has none; casemapped.
    std::string display_from;
    std::string display_to;
    // RFC 5256 3 REFERENCES: the normalised Message-ID (empty when there is
    // no valid one) and the references: the References field's message
    // ids, or else the first of In-Reply-To's; at most
    // limits::kMaxThreadReferences, the last ones (nearest ancestors) kept.
    std::string message_id;
    std::vector<std::string> references;
    // The thread's root as the message names it (store/body_objects.h
    // THREADID): the first id of References (before the cut above), else
    // the first of In-Reply-To, else message_id; empty when none.
    std::string thread_root;
};

// The keys of a parsed message (its header fields must still point into the
// raw bytes).
SortKeys compute_sort_keys(const ParsedMessage& message);

// RFC 5256 2.1: the base subject of a Subject value as written (encoded
// words are decoded first, step 1). Not casemapped. `reply_or_forward` is
// set when a subj-refwd, "(fwd)" or "[fwd: ...]" was removed.
std::string base_subject(std::string_view raw_subject, bool* reply_or_forward = nullptr);

// The collation key of `text` (UTF-8) for RFC 5051 i;unicode-casemap, the
// collation RFC 5256 7 requires: each character titlecased, then fully
// decomposed (canonical and compatibility mappings, recursively), by GNU
// libunistring. For ASCII that is RFC 4790 i;ascii-casemap (a-z become
// A-Z, every other byte as is). Bytes that are not UTF-8 are kept. Byte
// order of the result is the collation's order.
std::string sort_casemap(std::string_view text);

// The message ids of a References / In-Reply-To / Message-ID value, in
// order, each normalised (RFC 5256 3: quoting removed, so <"ab"@c> and
// <ab@c> are the same id): the text between "<" and ">" with quotes,
// backslashes and white space removed. Invalid ids (no "@" with text on
// both sides, longer than limits::kMaxMessageIdBytes) are skipped;
// comments between ids are ignored.
std::vector<std::string> message_ids(std::string_view value);

// message_ids joined by one space (a normalised id holds none), and back:
// the body_sort.refs column.
std::string join_references(const std::vector<std::string>& ids);
std::vector<std::string> split_references(std::string_view joined);

}  // namespace imap::store
