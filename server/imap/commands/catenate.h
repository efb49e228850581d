// CATENATE (RFC 4469): the message an APPEND (or REPLACE, RFC 8508 4.2)
// builds from TEXT literals and URLs of the user's own messages.
#pragma once

#include <string>
#include <vector>

#include "protocol/command.h"
#include "server/imap/command_result.h"

namespace imap::server {

class Session;

// The parts joined, or the refusal:
// - a URL that is not one this server resolves is "NO [BADURL url] why"
//   with the first such URL (RFC 4469 4.1). Resolved are relative IMAP
//   URLs (RFC 5092 7) of a message or a part of one of the logged-in
//   user's mailboxes, as RFC 4469 3 has them: an absolute path
//   (`/Mailbox;UIDVALIDITY=n/;UID=n/;SECTION=x`, the mailbox name
//   percent-encoded UTF-8) or, in the selected state, one relative to the
//   selected mailbox (`;UID=n...`; its base is
//   "imap://user@server/mailbox"). ;UIDVALIDITY must match, the UID must
//   exist, the section must exist in the message (`SECTION=` is FETCH's
//   section-text, RFC 3501 6.4.5, percent-encoded) and
//   `;PARTIAL=offset[.length]` (RFC 5550 URL-PARTIAL) takes the bytes
//   BODY[section]<offset.length> would. Absolute URLs (RFC 4469 3: "outside
//   the scope of this document ... would return NO", as Dovecot), mailbox,
//   search and ;URLAUTH URLs are refused.
// - the message would exceed the APPENDLIMIT (store::limits::
//   kMaxMessageSize): "NO [TOOBIG]" (RFC 4469 4.2), found from the sizes of
//   the parts before any URL's bytes are read, so a part repeated many
//   times costs nothing.
// The number of parts is bounded by the parser (limits::kMaxCatenateParts).
Checked<std::string> catenate(Session& session, const std::vector<CatenatePart>& parts);

}  // namespace imap::server
