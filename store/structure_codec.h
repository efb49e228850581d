// A compact binary form of the message parser's result, stored with each
// body at delivery so FETCH ENVELOPE / BODYSTRUCTURE / BODY[section] never
// re-parse the message (docs/storage.md: parsed once, at delivery).
//
// Kept: size, envelope and the whole MimePart tree (every BODYSTRUCTURE
// field, byte ranges, line counts, embedded envelopes). Not kept: the
// top-level HeaderField list (its views point into the raw message); a
// caller that needs header fields reads root.header's byte range and calls
// parse_header_fields() on it.
#pragma once

#include <string>
#include <string_view>

#include "store/message/message.h"

namespace imap::store {

std::string encode_structure(const ParsedMessage& message);

// Throws StoreError(Corrupt) on malformed input or an unknown version.
// The result's `header` is empty (see above).
ParsedMessage decode_structure(std::string_view bytes);

}  // namespace imap::store
