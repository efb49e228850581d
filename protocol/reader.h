// Reader: the token layer of the command parser. It walks a Frame's lines
// and literals with the RFC 3501 section 9 lexical rules (atom, quoted,
// literal, astring, nstring, number, ...) and throws ParseFailure with a
// precise message at the first deviation. Command grammars (parser.cpp,
// parse_fetch.cpp, parse_search.cpp) are written on top of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/chars.h"
#include "protocol/frame.h"

namespace imap {

struct ParseFailure {
    std::string message;
};

[[noreturn]] void parse_fail(std::string message);

class Reader {
  public:
    // The reader moves literals out of `frame` as it consumes them, so large
    // APPEND bodies are never copied.
    explicit Reader(Frame& frame);

    // True at the end of the command (end of its last line).
    bool at_end() const;
    // The next byte of the current line, or '\0' at a line end.
    char peek() const;
    // The rest of the current line (for error messages and lookahead).
    std::string_view rest_of_line() const;
    // Consumes `c` if it is next.
    bool accept(char c);
    // Consumes `c` or fails with "Expected <what>".
    void expect(char c, std::string_view what);
    // Exactly one SP (RFC 3501 9 uses single spaces).
    void space();
    // Any run of SP, for the few places where real clients send more than
    // the grammar's one (see read_flag_list); true if there was one.
    bool accept_spaces();
    // Fails unless the whole command has been consumed.
    void expect_end();

    // Case-insensitively consumes `keyword` if the next token is exactly it
    // (followed by a non-atom char), e.g. accept_keyword("CHARSET").
    bool accept_keyword(std::string_view keyword);

    // 1*ATOM-CHAR, as written.
    std::string atom();
    // 1*ATOM-CHAR upper-cased: command names and keywords.
    std::string keyword();
    // A run of characters for which pred(c) holds; fails if empty.
    template <typename Pred>
    std::string_view take_while(Pred pred, std::string_view what);

    std::string quoted();
    // literal = "{" number ["+"] "}" CRLF *CHAR8; with allow_binary also
    // literal8 "~{" number ["+"] "}" (RFC 3516). NUL octets are refused in a
    // plain literal unless allow_nul (APPEND stores what it is given).
    std::string literal(bool allow_binary = false, bool allow_nul = false,
                        bool* was_binary = nullptr);
    std::string string();  // quoted / literal
    std::string astring();
    std::optional<std::string> nstring();  // string / "NIL"
    // list-mailbox = 1*list-char / string
    std::string list_mailbox();

    std::uint32_t number();     // 32-bit
    std::uint32_t nz_number();  // 32-bit, not 0
    std::uint64_t number64();   // 63-bit (mod-sequence-value, RFC 7162)

    // Bookkeeping against the limits in limits.h.
    void enter_group();  // an opening parenthesis
    void leave_group();
    void count_argument();

  private:
    std::string_view line() const { return frame_.lines[line_index_]; }
    bool at_line_end() const { return position_ >= line().size(); }

    Frame& frame_;
    std::size_t line_index_ = 0;
    std::size_t position_ = 0;
    std::size_t depth_ = 0;
    std::size_t arguments_ = 0;
};

template <typename Pred>
std::string_view Reader::take_while(Pred pred, std::string_view what) {
    std::string_view text = line();
    std::size_t start = position_;
    while (position_ < text.size() && pred(text[position_]))
        ++position_;
    if (position_ == start) parse_fail("Expected " + std::string(what));
    return text.substr(start, position_ - start);
}

}  // namespace imap
