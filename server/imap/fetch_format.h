// FETCH data items built from the message parser's result (store/message/):
// ENVELOPE, BODY and BODYSTRUCTURE, byte-exact per RFC 3501 7.4.2 and the
// grammar of section 9. This is where the store's structure meets IMAP wire
// syntax (docs/architecture.md).
//
// Strings follow ResponseWriter's rules (protocol/response_writer.h): quoted
// when short and plain, a literal otherwise (8-bit names, long subjects).
// Types, subtypes and parameters keep the case they have in the message,
// and defaults are lower case ("text" "plain" "7bit"), as Dovecot writes
// them (tests/data/messages/ holds Dovecot's answers).
#pragma once

#include <string>

#include "protocol/response_writer.h"
#include "store/message/message.h"

namespace imap::server {

// envelope = "(" env-date SP env-subject SP env-from SP env-sender SP
//            env-reply-to SP env-to SP env-cc SP env-bcc SP
//            env-in-reply-to SP env-message-id ")"
void write_envelope(ResponseWriter& w, const store::Envelope& envelope);

// body (RFC 3501 9). `extensible` adds the extension data of BODYSTRUCTURE
// (body-ext-1part: md5, disposition, language, location; body-ext-mpart:
// parameters, disposition, language, location); without it the result is
// the non-extensible BODY form.
void write_body(ResponseWriter& w, const store::MimePart& part, bool extensible);

// The same, rendered to a string (tests, and the store's cached copy).
std::string format_envelope(const store::Envelope& envelope);
std::string format_body(const store::MimePart& part);           // BODY
std::string format_bodystructure(const store::MimePart& part);  // BODYSTRUCTURE

}  // namespace imap::server
