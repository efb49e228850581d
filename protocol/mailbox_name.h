// Mailbox names on the wire (RFC 3501 5.1 and 5.1.3).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace imap {

// RFC 3501 5.1: "INBOX" in any case is the INBOX. Returns "INBOX" for any
// case variant of it, and also normalises a leading "inbox/" (any case) of a
// child name when `delimiter` is given, because clients send "inbox/sub" and
// mean the INBOX's child. Other names are returned unchanged.
std::string normalize_inbox(std::string_view name, char delimiter = '\0');

// True if `name` is INBOX in any case.
bool is_inbox(std::string_view name);

// Modified UTF-7 (RFC 3501 5.1.3) to UTF-8. Returns nullopt for anything the
// RFC does not allow: a '&' shift not closed by '-', base64 characters outside
// [A-Za-z0-9+,], non-zero padding bits or a superfluous base64 digit, an
// encoded sequence holding any printable US-ASCII character (which must be
// sent directly, '&' as "&-"), two encoded sequences written back to back
// ("&AOk-&AOk-"), 8-bit bytes, raw control characters (they must be encoded),
// unpaired UTF-16 surrogates. What it accepts is exactly what
// mutf7_encode() produces, so each name has one spelling on the wire.
std::optional<std::string> mutf7_decode(std::string_view encoded);

// Whether `s` is well-formed UTF-8 (RFC 3629 4: no overlong forms,
// surrogates or code points past U+10FFFF).
bool is_utf8(std::string_view s);

// A mailbox name as UTF-8 on the wire (RFC 6855 3 after ENABLE UTF8=ACCEPT,
// RFC 9051 5.1 for IMAP4rev2): well-formed UTF-8 without the characters
// RFC 6855 3 forbids in names: controls (U+0000-U+001F, U+0080-U+009F),
// DELETE (U+007F), LINE SEPARATOR (U+2028) and PARAGRAPH SEPARATOR
// (U+2029).
bool is_utf8_mailbox_name(std::string_view name);

// UTF-8 to modified UTF-7. Returns nullopt if `utf8` is not valid UTF-8
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
std::optional<std::string> mutf7_encode(std::string_view utf8);

}  // namespace imap
