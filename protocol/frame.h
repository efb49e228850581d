// A frame: one complete client command as it came off the wire, split into
// lines and literals, before any parsing (the "fragmentizer" idea: literal
// bytes are set apart before the parser runs, so they can never be read as
// commands).
#pragma once

#include <string>
#include <vector>

namespace imap {

struct Frame {
    // The command's lines without their line ends. Every line except the last
    // ends with a literal announcement ("{n}", "{n+}" or "~{n}"), and
    // literals[i] holds the n octets that followed lines[i].
    std::vector<std::string> lines;
    std::vector<std::string> literals;

    bool operator==(const Frame&) const = default;
};

}  // namespace imap
