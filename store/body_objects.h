// What RFC 8474 (OBJECTID) and RFC 8970 (PREVIEW) report about a message's
// content, computed from its bytes (docs/storage.md "Object ids, save date,
// preview"):
//
// - EMAILID is the body's SHA-256 (the hash the store deduplicates bodies
//   by), "M" and 64 lower-case hex digits. Per body, not per copy lineage:
//   COPY and MOVE share the body, so the copy has the source's EMAILID
//   (RFC 8474 5.1 MUST), and an APPEND of identical bytes gets the same
//   one (5.1 MAY). Being derived from the content it needs no storage, no
//   backfill, and survives the body's garbage collection and re-delivery.
// - THREADID is derived from the thread's root message id as the message
//   itself names it: the first id of its References field, else the first
//   of In-Reply-To, else its own Message-ID; a message with none of these
//   is a thread of its own (derived from its EMAILID). "T" and 32 hex
//   digits of a SHA-256. A later-arriving parent changes nothing (RFC 8474
//   5.2: "MUST NOT change the THREADID of a message once reported"), the
//   same content always has the same THREADID (5.2 MUST), and a reply in
//   another mailbox joins its thread (5.2 SHOULD).
// - PREVIEW (RFC 8970 3.3): the first text/plain part that is not an
//   attachment, else the first text/html one (tags, scripts and styles
//   removed, entities decoded), transfer-decoded and converted to UTF-8,
//   quoted lines ("> ...") dropped, white space collapsed, at most
//   limits::kPreviewCharacters characters; only the first
//   limits::kPreviewSourceBytes of the part's encoded body are read.
//   Empty when the message has no such part (RFC 8970 3.2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/message/message.h"
#include "store/sort_keys.h"

namespace imap::store {

// The EMAILID of a body whose SHA-256 is `hash` (32 bytes).
std::string email_id(std::string_view hash);
// The SHA-256 an EMAILID names; nullopt when `id` is not one this server
// makes (then it names no message).
std::optional<std::string> email_id_hash(std::string_view id);

// The THREADID of a body with `keys.thread_root` and SHA-256 `hash`.
std::string thread_id(const SortKeys& keys, std::string_view hash);

// The preview of a parsed message (its header views pointing into `raw`).
std::string compute_preview(std::string_view raw, const ParsedMessage& message);

// What the store keeps per body for these, computed from the parse that
// stores the body.
struct BodyObjects {
    std::string thread_id;
    std::string preview;
};
BodyObjects compute_body_objects(std::string_view raw, const ParsedMessage& message,
                                 const SortKeys& keys, std::string_view hash);

std::string sha256(std::string_view bytes);

}  // namespace imap::store
