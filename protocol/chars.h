// Character classes of RFC 3501 section 9, shared by the framer, the parser
// and the response writer.
#pragma once

namespace imap {

// CHAR is %x01-7F and CTL is %x00-1F / %x7F, so ATOM-CHAR is %x21-7E less
// atom-specials: "(" / ")" / "{" / SP / CTL / list-wildcards ("%" / "*") /
// quoted-specials (DQUOTE / "\") / resp-specials ("]").
constexpr bool is_atom_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    switch (c) {
        case '(':
        case ')':
        case '{':
        case '%':
        case '*':
        case '"':
        case '\\':
        case ']':
            return false;
        default:
            return true;
    }
}

// ASTRING-CHAR = ATOM-CHAR / resp-specials
constexpr bool is_astring_char(char c) {
    return is_atom_char(c) || c == ']';
}

// list-char = ATOM-CHAR / list-wildcards / resp-specials
constexpr bool is_list_char(char c) {
    return is_astring_char(c) || c == '%' || c == '*';
}

// tag = 1*<any ASTRING-CHAR except "+">
constexpr bool is_tag_char(char c) {
    return is_astring_char(c) && c != '+';
}

constexpr char ascii_upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

constexpr bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace imap
