#include "protocol/reader.h"

#include <cstring>
#include <limits>

#include "protocol/framer.h"
#include "protocol/limits.h"

namespace imap {

void parse_fail(std::string message) {
    throw ParseFailure{std::move(message)};
}

namespace {

std::string describe(std::string_view rest) {
    if (rest.empty()) return "end of line";
    std::string shown;
    for (char c : rest.substr(0, 20)) {
        auto u = static_cast<unsigned char>(c);
        shown += (u < 0x20 || u >= 0x7f) ? '?' : c;
    }
    return "\"" + shown + (rest.size() > 20 ? "...\"" : "\"");
}

}  // namespace

Reader::Reader(Frame& frame) : frame_(frame) {
    if (frame_.lines.empty()) frame_.lines.emplace_back();
}

bool Reader::at_end() const {
    return line_index_ + 1 >= frame_.lines.size() && at_line_end();
}

char Reader::peek() const {
    return at_line_end() ? '\0' : line()[position_];
}

std::string_view Reader::rest_of_line() const {
    return line().substr(position_);
}

bool Reader::accept(char c) {
    if (at_line_end() || line()[position_] != c) return false;
    ++position_;
    return true;
}

void Reader::expect(char c, std::string_view what) {
    if (!accept(c)) {
        parse_fail("Expected " + std::string(what) + " at " + describe(rest_of_line()));
    }
}

void Reader::space() {
    if (!accept(' ')) parse_fail("Expected SP at " + describe(rest_of_line()));
    if (peek() == ' ') parse_fail("Unexpected second SP");
}

bool Reader::accept_spaces() {
    const std::size_t start = position_;
    while (accept(' ')) {
    }
    return position_ != start;
}

void Reader::expect_end() {
    if (!at_end()) parse_fail("Unexpected " + describe(rest_of_line()) + " at end of command");
}

bool Reader::accept_keyword(std::string_view keyword) {
    std::string_view rest = rest_of_line();
    if (rest.size() < keyword.size()) return false;
    for (std::size_t i = 0; i < keyword.size(); ++i) {
        if (ascii_upper(rest[i]) != keyword[i]) return false;
    }
    if (rest.size() > keyword.size() && is_atom_char(rest[keyword.size()])) return false;
    position_ += keyword.size();
    count_argument();
    return true;
}

std::string Reader::atom() {
    count_argument();
    return std::string(take_while(is_atom_char, "atom at " + describe(rest_of_line())));
}

std::string Reader::keyword() {
    std::string word = atom();
    for (char& c : word)
        c = ascii_upper(c);
    return word;
}

std::string Reader::quoted() {
    count_argument();
    expect('"', "quoted string");
    std::string value;
    std::string_view text = line();
    for (;;) {
        if (position_ >= text.size()) parse_fail("Unterminated quoted string");
        char c = text[position_++];
        if (c == '"') return value;
        if (c == '\\') {
            if (position_ >= text.size()) parse_fail("Unterminated quoted string");
            char escaped = text[position_++];
            // QUOTED-CHAR allows "\" only before quoted-specials.
            if (escaped != '"' && escaped != '\\') {
                parse_fail("Invalid escape in quoted string (only \\\" and \\\\ are allowed)");
            }
            value += escaped;
            continue;
        }
        // TEXT-CHAR excludes CR and LF (the framer already split on LF) and
        // NUL (CHAR starts at %x01). Bytes >= 0x80 are accepted: IMAP4rev2
        // (RFC 9051) and UTF8=ACCEPT allow UTF-8 here, and Dovecot accepts
        // them from IMAP4rev1 clients that send UTF-8 search strings.
        if (c == '\r' || c == '\0') parse_fail("Invalid character in quoted string");
        value += c;
    }
}

std::string Reader::literal(bool allow_binary, bool allow_nul, bool* was_binary) {
    count_argument();
    bool binary = false;
    if (allow_binary && peek() == '~') {
        binary = true;
        ++position_;
    }
    expect('{', "literal");
    std::string_view text = line();
    std::size_t start = position_;
    while (position_ < text.size() && text[position_] >= '0' && text[position_] <= '9')
        ++position_;
    if (position_ == start) parse_fail("Expected literal size");
    accept('+');
    expect('}', "'}' closing the literal size");
    // The framer only splits a line after an announcement at its very end,
    // so a literal is valid only there and always has its data.
    if (!at_line_end() || line_index_ + 1 >= frame_.lines.size()) {
        parse_fail("Literal announcement not at the end of the line");
    }
    std::string value = std::move(frame_.literals[line_index_]);
    ++line_index_;
    position_ = 0;
    if (!binary && !allow_nul && std::memchr(value.data(), '\0', value.size()) != nullptr) {
        parse_fail("NUL octet in a literal (RFC 3501 9: CHAR8 excludes NUL)");
    }
    if (was_binary) *was_binary = binary;
    return value;
}

std::string Reader::string() {
    if (peek() == '"') return quoted();
    if (peek() == '{') return literal();
    parse_fail("Expected string at " + describe(rest_of_line()));
}

std::string Reader::astring() {
    char c = peek();
    if (c == '"' || c == '{') return string();
    count_argument();
    return std::string(take_while(is_astring_char, "astring at " + describe(rest_of_line())));
}

std::optional<std::string> Reader::nstring() {
    if (peek() == '"' || peek() == '{') return string();
    if (accept_keyword("NIL")) return std::nullopt;
    parse_fail("Expected string or NIL at " + describe(rest_of_line()));
}

std::string Reader::list_mailbox() {
    char c = peek();
    if (c == '"' || c == '{') return string();
    count_argument();
    return std::string(take_while(is_list_char, "mailbox pattern at " + describe(rest_of_line())));
}

std::uint64_t Reader::number64() {
    std::string_view digits = take_while([](char c) { return c >= '0' && c <= '9'; },
                                         "number at " + describe(rest_of_line()));
    count_argument();
    if (digits.size() > 19) parse_fail("Number too large");
    std::uint64_t value = 0;
    for (char c : digits)
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        parse_fail("Number too large");
    }
    return value;
}

std::uint32_t Reader::number() {
    std::uint64_t value = number64();
    if (value > std::numeric_limits<std::uint32_t>::max()) {
        parse_fail("Number too large (RFC 3501 9: number is a 32-bit unsigned integer)");
    }
    return static_cast<std::uint32_t>(value);
}

std::uint32_t Reader::nz_number() {
    // nz-number = digit-nz *DIGIT: "01" is no nz-number (as in sequence sets).
    const bool leading_zero = peek() == '0';
    std::uint32_t value = number();
    if (value == 0 || leading_zero) parse_fail("Expected a non-zero number without leading zero");
    return value;
}

void Reader::enter_group() {
    if (++depth_ > limits::kMaxNestingDepth) parse_fail("Too deeply nested");
}

void Reader::leave_group() {
    --depth_;
}

void Reader::count_argument() {
    if (++arguments_ > limits::kMaxArguments) parse_fail("Too many arguments");
}

}  // namespace imap
