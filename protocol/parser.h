// Parser: a Frame becomes a typed Command, or a ParseError that says how to
// answer it (RFC 3501 section 9 grammar; extensions named in command.h).
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "protocol/command.h"
#include "protocol/frame.h"

namespace imap {

struct ParseError {
    // The command's tag when it was valid: the answer is "tag BAD text".
    // Without one the answer is "* BAD text" (RFC 3501 7.1.3).
    std::optional<std::string> tag;
    std::string message;
    bool operator==(const ParseError&) const = default;
};

using ParseResult = std::variant<Command, ParseError>;

// Parses one complete command. Literals are moved out of `frame`.
ParseResult parse_command(Frame frame);

// The upper-cased command name ("FETCH", "UID FETCH") of a command still
// being received, from its first line, for deciding whether to accept a
// synchronising literal. Empty when the line has no valid tag and name.
std::string peek_command_name(const Frame& partial);

// True for the names parse_command() knows, as peek_command_name() returns
// them.
bool is_known_command(std::string_view name);

}  // namespace imap
