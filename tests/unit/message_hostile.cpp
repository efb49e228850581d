// Hostile messages: every parser over message data stays linear (or within a
// named limit) on inputs built to make a quadratic or deeply recursive one
// hang (the CVE-2024-23184/23185 class of many-fields and many-addresses
// headers, CVE-2020-12100 for MIME nesting). Each case checks the result;
// none measures time, but a quadratic version of any of these parsers takes
// minutes on them instead of milliseconds (docs/security.md "Message
// parsing").
#include <catch2/catch.hpp>
#include <string>

#include "server/imap/fetch_format.h"
#include "store/message/message.h"

using namespace imap::store;

namespace {

std::string repeat(std::string_view piece, std::size_t times) {
    std::string out;
    out.reserve(piece.size() * times);
    for (std::size_t i = 0; i < times; ++i)
        out += piece;
    return out;
}

// The decoded search text of the first header field named `name`.
std::string search_field(const std::string& raw, std::string_view name) {
    const ParsedMessage m = parse_message(raw);
    const SearchText text = extract_search_text(raw, m);
    for (const auto& f : text.header)
        if (f.name == name) return f.value;
    return "<none>";
}

}  // namespace

TEST_CASE("RFC 2047 hostile: =?a repeated 80000 times in a Subject decodes in linear time",
          "[message][hostile]") {
    // 240 KB of encoded-word starts that never complete: each used to rescan
    // the rest of the value for white space and "?=".
    const std::string subject = repeat("=?a", 80000);
    CHECK(decode_header_value(subject) == subject);
    CHECK(search_field("Subject: " + subject + "\r\n\r\nbody\r\n", "Subject") == subject);
}

TEST_CASE("RFC 2047 hostile: unterminated encoded words and bare =? runs", "[message][hostile]") {
    // RFC 2047 2: no "?" inside an encoded word's parts, so none of these
    // holds a complete one and each value comes back as it was.
    for (std::string_view piece : {"=?", "=?x?q?", "=?x?q?a", "=?x?b?==", "?=?", "=?u?q"}) {
        INFO(piece);
        const std::string value = repeat(piece, 240000 / piece.size());
        CHECK(decode_header_value(value) == value);
    }
    // 200 KB without white space, one "=?" at the start and "?=" at the end.
    const std::string long_run = "=?x?q?" + std::string(200000, 'a') + "?=";
    CHECK(decode_header_value(long_run) == std::string(200000, 'a'));
    const std::string no_close = "=?x?q?" + std::string(200000, 'a');
    CHECK(decode_header_value(no_close) == no_close);
}

TEST_CASE("RFC 2047 hostile: 40000 adjacent valid encoded words", "[message][hostile]") {
    // RFC 2047 6.2: white space between adjacent encoded words is dropped.
    const std::string value = repeat("=?utf-8?q?a=C3=A9?= ", 40000);
    CHECK(decode_header_value(value) == repeat("a\xC3\xA9", 40000));
    const std::string latin1 = repeat("=?iso-8859-1?q?=E9?=", 40000);
    CHECK(decode_header_value(latin1) == repeat("\xC3\xA9", 40000));
    // Not separated by white space: decoded all the same, as Dovecot does.
    CHECK(decode_header_value(repeat("=?u?q?a?=", 40000)) == std::string(40000, 'a'));
}

TEST_CASE("RFC 5322 hostile: a 1 MB folded header of 200000 lines", "[message][hostile]") {
    const std::string raw = "Subject: x\r\n" + repeat(" y\r\n", 200000) + "\r\nbody\r\n";
    const ParsedMessage m = parse_message(raw);
    REQUIRE(m.envelope.subject);
    CHECK(m.envelope.subject->size() == 1 + 2 * 200000);
    CHECK(search_field(raw, "Subject").size() == 1 + 2 * 200000);
}

TEST_CASE("RFC 5322 hostile: 200000 header fields", "[message][hostile]") {
    const std::string raw = repeat("To: a@b.c\r\n", 200000) + "\r\nbody\r\n";
    const ParsedMessage m = parse_message(raw);
    CHECK(m.header.size() == MessageLimits::kMaxHeaderFields);
    CHECK(m.envelope.to.size() == MessageLimits::kMaxAddresses);
    CHECK(m.root.body == ByteRange{raw.size() - 6, raw.size()});
}

TEST_CASE("RFC 5322 hostile: long address lists with nested comments", "[message][hostile]") {
    // 50,000 addresses with comments everywhere, in one field: the list is
    // cut at kMaxAddresses; the comment becomes the name (obsolete form).
    const std::string list = repeat("u (c (d) e) @ (x) h . org (Name), ", 50000);
    const auto addresses = parse_address_list(list);
    REQUIRE(addresses.size() == MessageLimits::kMaxAddresses);
    CHECK(addresses.back() == Address{"Name", std::nullopt, "u", "h.org"});
    // An unterminated comment of 1 MB nesting 500,000 levels deep.
    const auto deep = parse_address_list("a@b.c " + repeat("(", 500000) + repeat("x", 500000));
    REQUIRE(deep.size() == 1);
    CHECK(deep[0].mailbox == "a");
    // Groups inside groups are not groups; 100,000 ":" do not nest.
    const auto groups = parse_address_list(repeat("g:", 100000) + "a@b;");
    CHECK(groups.size() <= MessageLimits::kMaxAddresses);
    // Through the envelope, and through the search text of the field.
    const std::string raw = "From: " + list + "\r\n\r\n";
    const ParsedMessage m = parse_message(raw);
    CHECK(m.envelope.from.size() == MessageLimits::kMaxAddresses);
    CHECK(search_field(raw, "From").size() > list.size() / 2);
}

TEST_CASE("RFC 2045/2231 hostile: 100000 parameters and continuations", "[message][hostile]") {
    std::string plain = "Content-Type: text/plain";
    for (int i = 0; i < 100000; ++i)
        plain += "; p" + std::to_string(i) + "=v";
    const ParsedMessage m = parse_message(plain + "\r\n\r\nx\r\n");
    CHECK(m.root.parameters.size() <= MessageLimits::kMaxParameters + 1);

    std::string continued = "Content-Type: text/plain";
    for (int i = 99999; i >= 0; --i)
        continued += "; title*" + std::to_string(i) + "=ab";
    const ParsedMessage c = parse_message(continued + "\r\n\r\nx\r\n");
    REQUIRE_FALSE(c.root.parameters.empty());
    CHECK(c.root.parameters.front().name == "title");
    CHECK(c.root.parameters.front().value.size() <= 2 * MessageLimits::kMaxParameters);

    const std::string junk = "Content-Disposition: attachment" + repeat(";;;=\"x", 100000);
    const ParsedMessage d = parse_message(junk + "\r\n\r\nx\r\n");
    CHECK(d.root.disposition == "attachment");
}

TEST_CASE("MIME hostile: 20000 nested multiparts stop at the depth limit", "[message][hostile]") {
    // CVE-2020-12100 class: nesting must neither recurse without bound nor
    // rescan the message once per level.
    std::string raw;
    for (int i = 0; i < 20000; ++i)
        raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
               std::to_string(i) + "\r\n";
    raw += "\r\nleaf\r\n";
    const ParsedMessage m = parse_message(raw);
    std::size_t levels = 0;
    for (const MimePart* p = &m.root; !p->children.empty(); p = &p->children.front())
        ++levels;
    CHECK(levels == MessageLimits::kMaxMimeDepth + 1);
    CHECK_FALSE(imap::server::format_bodystructure(m.root).empty());
    // Past the limit the rest is the body of a multipart: not text, so not
    // in the search text.
    CHECK(extract_search_text(raw, m).body.empty());
}

TEST_CASE("MIME hostile: 20000 nested message/rfc822 around a 4 MB body", "[message][hostile]") {
    const std::string raw = repeat("Content-Type: message/rfc822\r\n\r\n", 20000) + "\r\n" +
                            repeat("line of text\r\n", 300000);
    const ParsedMessage m = parse_message(raw);
    std::size_t levels = 0;
    for (const MimePart* p = &m.root; !p->children.empty(); p = &p->children.front())
        ++levels;
    CHECK(levels == MessageLimits::kMaxMimeDepth);
    CHECK(m.root.body_lines == 300000 + 20000 * 2 - 1);
    CHECK_FALSE(imap::server::format_bodystructure(m.root).empty());
}

TEST_CASE("MIME hostile: boundary lines against 100 nested boundaries sharing a prefix",
          "[message][hostile]") {
    // Every line of the innermost body starts with "--" and the shared 900
    // byte prefix of all 100 open boundaries, and matches none of them.
    const std::string prefix(900, 'p');
    std::string raw;
    for (int i = 0; i < 100; ++i)
        raw += "Content-Type: multipart/mixed; boundary=\"" + prefix + std::to_string(i) +
               "\"\r\n\r\n--" + prefix + std::to_string(i) + "\r\n";
    raw += "\r\n" + repeat("--" + prefix + "x\r\n", 4000);
    const ParsedMessage m = parse_message(raw);
    std::size_t levels = 0;
    const MimePart* leaf = &m.root;
    for (; !leaf->children.empty(); leaf = &leaf->children.front())
        ++levels;
    CHECK(levels == MessageLimits::kMaxMimeDepth);
    CHECK(leaf->body.size() > 4000 * 900);
}

TEST_CASE("RFC 2045 hostile: quoted-printable and base64 of runs of = and padding",
          "[message][hostile]") {
    const std::string qp = repeat("=" + std::string(100, ' ') + "x", 20000);
    CHECK(decode_quoted_printable(qp).size() == qp.size());
    CHECK(decode_quoted_printable(repeat("=\r\n", 100000)).empty());
    CHECK(decode_base64(repeat("QUFB", 100000)) == std::string(300000, 'A'));
    const std::string raw =
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
        "quoted-printable\r\n\r\n" +
        repeat("=C3=A9=\r\n", 200000);
    const ParsedMessage m = parse_message(raw);
    CHECK(extract_search_text(raw, m).body == repeat("\xC3\xA9", 200000));
}
