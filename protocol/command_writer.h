// Command writer: a typed Command back into the exact bytes a client sends
// (RFC 3501 section 9 and the extensions named in command.h). The inverse of
// parse_command(): for a command the parser produced, parsing what this
// writes gives an equal Command. Used by round-trip tests, the fuzzer and the
// test clients.
//
// Every string takes the most compact form its grammar position allows: an
// atom where an atom/astring/list-mailbox may stand and the value fits; else a
// quoted string if the value is 7-bit text (RFC 3501 9: QUOTED-CHAR is a
// TEXT-CHAR, so no NUL, CR, LF or 8-bit byte); else a literal. Literals end
// their line, so the output may hold several CRLF-separated lines; it always
// ends with the command's CRLF.
//
// Values the grammar cannot carry are written anyway and the parser will
// reject them: empty flag, fetch-item or search-key lists, empty sequence
// sets, flags that are not atoms, NUL in a string that is not an APPEND
// message.
#pragma once

#include <string>

#include "protocol/command.h"

namespace imap {

enum class LiteralStyle {
    Synchronising,     // "{n}": the client waits for "+" first (RFC 3501 4.3)
    NonSynchronising,  // "{n+}": sent at once (RFC 7888 LITERAL+)
};

std::string write_command(const Command& command, LiteralStyle style = LiteralStyle::Synchronising);

}  // namespace imap
