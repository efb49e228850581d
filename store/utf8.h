// UTF-8 (RFC 3629) for the store's own text: decoding one sequence,
// encoding one code point, validating. (protocol/ has its own for the wire;
// the store does not depend on it.)
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace imap::store::utf8 {

struct Sequence {
    char32_t code_point = 0;
    std::size_t length = 0;  // 0: the bytes at that place are not UTF-8
};

// The sequence at s[i] (i < s.size()): well formed, no overlong forms,
// surrogates or values past U+10FFFF.
Sequence decode(std::string_view s, std::size_t i);

// Appends `code_point` (at most U+10FFFF) as UTF-8.
void append(std::string& out, char32_t code_point);

// Whether all of `s` is well-formed UTF-8.
bool valid(std::string_view s);

}  // namespace imap::store::utf8
