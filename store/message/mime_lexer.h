// RFC 5322 3.2 / RFC 2045 5.1 lexical layer shared by the address and
// Content-* parsers: comments and folding white space (CFWS), atoms, MIME
// tokens, quoted strings, domain literals. Internal to store/message/.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/message/message.h"

namespace imap::store {

inline char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// Lenient: bytes >= 0x80 count as atom/token characters (RFC 6532 and
// real-world 8-bit headers), and every read stops at the end of the input.
class Rfc822Lexer {
  public:
    explicit Rfc822Lexer(std::string_view s) : s_(s) {}

    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[i_]; }
    void advance() {
        if (!at_end()) ++i_;
    }
    std::size_t position() const { return i_; }

    // Skips white space, line ends and (nested) comments (RFC 5322 3.2.2);
    // the text of each comment is appended to comments().
    void skip_cfws();
    std::vector<std::string>& comments() { return comments_; }

    // RFC 5322 atext run (no dots); nullopt when none.
    std::optional<std::string> atom();
    // RFC 2045 token: no tspecials; nullopt when none.
    std::optional<std::string> mime_token();
    // An unquoted parameter value, read leniently up to ";", white space or
    // a comment: senders often leave values like "----=_Part_1" unquoted.
    std::optional<std::string> lenient_value();
    // quoted-string, unescaped, without the quotes; an unterminated one runs
    // to the end. Call at a '"'.
    std::string quoted_string();
    // domain-literal kept with its brackets ("[1.2.3.4]"). Call at a '['.
    std::string domain_literal();

  private:
    std::string_view s_;
    std::size_t i_ = 0;
    std::vector<std::string> comments_;
};

// Content-Type (RFC 2045 5.1) or Content-Disposition (RFC 2183 2): for a
// disposition, `type` is the disposition type and `subtype` stays empty.
struct ContentType {
    bool valid = false;
    std::string type;
    std::string subtype;
    std::vector<MimeParameter> parameters;
};
ContentType parse_content_type(std::string_view raw_value);
ContentType parse_content_disposition(std::string_view raw_value);
// Content-Language (RFC 3282): language tags separated by commas.
std::vector<std::string> parse_language_list(std::string_view raw_value);

}  // namespace imap::store
