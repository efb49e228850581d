// What APPEND (RFC 3501 6.3.11, MULTIAPPEND, CATENATE) and REPLACE (RFC
// 8508) share: one append-message (RFC 4466 2.3) as the store's request.
#pragma once

#include <cstdint>

#include "protocol/command.h"
#include "server/imap/command_result.h"
#include "server/imap/session.h"
#include "store/mail_store.h"

namespace imap::server {

// The store's request for `message`, or the refusal:
// - flags (RFC 3501 9, flag-list): \Recent cannot be given (RFC 3501 2.3.2)
//   and other flag-extensions name no flag this server knows: "BAD", as
//   Dovecot ("Invalid system flag");
// - date-time: the internal date and its zone; without one, `now` in UTC;
// - CATENATE (RFC 4469): the parts are assembled into `message.message`
//   first (catenate.h), with its BADURL and TOOBIG refusals;
// - an empty message is "NO [CANNOT]", as Dovecot refuses it;
// - 8-bit bytes in the header fields are "NO [CANNOT]" unless the session
//   enabled UTF8=ACCEPT or IMAP4rev2 (RFC 6855 4).
// The request's bytes are a view of `message.message`, which must outlive it.
Checked<store::AppendRequest> append_request(Session& session, AppendMessage& message,
                                             std::int64_t now);

}  // namespace imap::server
