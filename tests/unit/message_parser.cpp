// The message parser (store/message/message.h): header fields, addresses,
// the MIME tree, section ranges (RFC 3501 6.4.5) and decoded search text.
// The Dovecot-derived corpus is in message_corpus.cpp.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "server/imap/fetch_format.h"
#include "store/message/message.h"

using namespace imap::store;

namespace {

std::string section(std::string_view raw, const ParsedMessage& m, std::vector<std::uint32_t> path,
                    SectionKind kind) {
    auto r = resolve_section(m, path, kind);
    if (!r) return "<none>";
    return std::string(raw.substr(r->begin, r->size()));
}

// RFC 3501 6.4.5's example structure, built small.
const std::string kNested =
    "From: a@example.com\r\n"
    "Content-Type: multipart/mixed; boundary=o\r\n"
    "\r\n"
    "--o\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "one\r\n"
    "--o\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inner\r\n"
    "Content-Type: multipart/alternative; boundary=i\r\n"
    "\r\n"
    "--i\r\n"
    "\r\n"
    "alt1\r\n"
    "--i\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<b>alt2</b>\r\n"
    "--i--\r\n"
    "--o--\r\n";

}  // namespace

TEST_CASE("header fields: folding kept in raw values, names trimmed", "[message]") {
    const std::string raw =
        "Subject: a\r\n b\r\n\tc\r\nX-Empty:\r\nNo colon line\r\nTo  : x@y\r\n\r\nbody";
    const ParsedMessage m = parse_message(raw);
    REQUIRE(m.header.size() == 3);
    CHECK(m.header[0].name == "Subject");
    CHECK(m.header[0].raw_value == " a\r\n b\r\n\tc");
    CHECK(unfold(m.header[0].raw_value) == "a b\tc");
    CHECK(m.header[1].name == "X-Empty");
    CHECK(m.header[2].name == "To");
    CHECK(m.root.header == ByteRange{0, raw.size() - 4});
    CHECK(m.root.body == ByteRange{raw.size() - 4, raw.size()});
    // RFC 3501 7.4.2: subject unfolded, sender and reply-to default to from.
    CHECK(m.envelope.subject == "a b\tc");
    CHECK(m.envelope.to.size() == 1);
}

TEST_CASE("envelope: sender and reply-to default to from (RFC 3501 7.4.2)", "[message]") {
    const ParsedMessage m = parse_message("From: A <a@b.c>\r\nReply-To:\r\n\r\n");
    REQUIRE(m.envelope.from.size() == 1);
    CHECK(m.envelope.sender == m.envelope.from);
    CHECK(m.envelope.reply_to == m.envelope.from);
    CHECK(!m.envelope.date);
    CHECK(!m.envelope.message_id);
}

TEST_CASE("addresses: groups, routes, comments, quoted local parts", "[message]") {
    auto list = parse_address_list(
        " Friends: \"J. Doe\" <jd@x.org>, b@y.org;, <@r1,@r2:u@h>, u (Comment) @ h . org, bare, "
        "<>");
    REQUIRE(list.size() == 8);
    CHECK(list[0] == Address{std::nullopt, std::nullopt, "Friends", std::nullopt});
    CHECK(list[1] == Address{"J. Doe", std::nullopt, "jd", "x.org"});
    CHECK(list[2] == Address{std::nullopt, std::nullopt, "b", "y.org"});
    CHECK(list[3] == Address{});  // group end
    CHECK(list[4] == Address{std::nullopt, "@r1,@r2", "u", "h"});
    CHECK(list[5] == Address{"Comment", std::nullopt, "u", "h.org"});
    CHECK(list[6] == Address{std::nullopt, std::nullopt, "bare", "MISSING_DOMAIN"});
    CHECK(list[7] == Address{std::nullopt, std::nullopt, "MISSING_MAILBOX", "MISSING_DOMAIN"});
    CHECK(parse_address_list("\"quoted local\"@example.com")[0].mailbox == "quoted local");
    CHECK(parse_address_list("").empty());
    CHECK(parse_address_list(",,;>)(").empty());
}

TEST_CASE("MIME defaults: text/plain with charset us-ascii and 7bit (RFC 2045 5.2, 6.1)",
          "[message]") {
    const ParsedMessage m = parse_message("Subject: x\r\n\r\nline1\r\nline2");
    CHECK(m.root.type == "text");
    CHECK(m.root.subtype == "plain");
    REQUIRE(m.root.parameters.size() == 1);
    CHECK(m.root.parameters[0] == MimeParameter{"charset", "us-ascii"});
    CHECK(m.root.encoding == "7bit");
    CHECK(m.root.body_lines == 1);  // LF count, as Dovecot
    CHECK(imap::server::format_body(m.root) ==
          "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 1)");
}

TEST_CASE("Content-Type parameters: quoted, unquoted with specials, RFC 2231", "[message]") {
    const ParsedMessage m = parse_message(
        "Content-Type: Application/X-Thing; a=\"q\\\"v\"; b=----=_Part_1; c*0=x; c*1=y;"
        " d*=utf-8''%41\r\n\r\n");
    CHECK(m.root.type == "application");
    CHECK(m.root.subtype == "x-thing");
    REQUIRE(m.root.parameters.size() == 4);
    CHECK(m.root.parameters[0] == MimeParameter{"a", "q\"v"});
    CHECK(m.root.parameters[1] == MimeParameter{"b", "----=_Part_1"});
    CHECK(m.root.parameters[2] == MimeParameter{"c", "xy"});
    CHECK(m.root.parameters[3] == MimeParameter{"d*", "utf-8''%41"});
}

TEST_CASE("sections: RFC 3501 6.4.5 part paths, HEADER, TEXT, MIME", "[message]") {
    const ParsedMessage m = parse_message(kNested);
    using K = SectionKind;
    CHECK(section(kNested, m, {}, K::Whole) == kNested);
    CHECK(section(kNested, m, {}, K::Header) ==
          "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n");
    CHECK(section(kNested, m, {}, K::Mime) == "<none>");
    CHECK(section(kNested, m, {1}, K::Whole) == "one");
    CHECK(section(kNested, m, {1}, K::Mime) == "Content-Type: text/plain\r\n\r\n");
    CHECK(section(kNested, m, {1}, K::Header) == "<none>");  // not message/rfc822
    CHECK(section(kNested, m, {2}, K::Header) ==
          "Subject: inner\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n");
    CHECK(section(kNested, m, {2, 1}, K::Whole) == "alt1");
    CHECK(section(kNested, m, {2, 1}, K::Mime) == "\r\n");
    CHECK(section(kNested, m, {2, 2}, K::Whole) == "<b>alt2</b>");
    CHECK(section(kNested, m, {2, 3}, K::Whole) == "<none>");
    CHECK(section(kNested, m, {3}, K::Whole) == "<none>");
    CHECK(section(kNested, m, {0}, K::Whole) == "<none>");
    // The close delimiter's line end stays with the embedded message.
    CHECK(section(kNested, m, {2}, K::Whole).ends_with("--i--\r\n"));
    CHECK(section(kNested, m, {2}, K::Text).starts_with("--i\r\n"));
}

TEST_CASE("sections: a non-multipart message has only part 1, its body", "[message]") {
    const std::string raw = "Subject: s\r\n\r\nhello\r\n";
    const ParsedMessage m = parse_message(raw);
    CHECK(section(raw, m, {1}, SectionKind::Whole) == "hello\r\n");
    CHECK(section(raw, m, {1}, SectionKind::Mime) == "Subject: s\r\n\r\n");
    CHECK(section(raw, m, {2}, SectionKind::Whole) == "<none>");
}

TEST_CASE("sections: top-level message/rfc822, 1 is the embedded message", "[message]") {
    const std::string raw = "Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\ninner body\r\n";
    const ParsedMessage m = parse_message(raw);
    CHECK(section(raw, m, {1}, SectionKind::Whole) == "Subject: in\r\n\r\ninner body\r\n");
    CHECK(section(raw, m, {1}, SectionKind::Header) == "Subject: in\r\n\r\n");
    CHECK(section(raw, m, {1}, SectionKind::Text) == "inner body\r\n");
    CHECK(section(raw, m, {1, 1}, SectionKind::Whole) == "inner body\r\n");
    REQUIRE(m.root.is_message());
    CHECK(m.root.embedded_envelope->subject == "in");
}

TEST_CASE("multipart: nested boundaries, the longest matching one wins", "[message]") {
    const std::string raw =
        "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
        "Content-Type: multipart/mixed; boundary=ab\r\n\r\n--ab\r\n\r\ninner\r\n--a\r\n\r\n"
        "second\r\n--a--\r\n";
    const ParsedMessage m = parse_message(raw);
    REQUIRE(m.root.children.size() == 2);
    REQUIRE(m.root.children[0].children.size() == 1);
    CHECK(section(raw, m, {1, 1}, SectionKind::Whole) == "inner");
    CHECK(section(raw, m, {2}, SectionKind::Whole) == "second");
}

TEST_CASE("multipart without usable boundary has one empty text/plain part", "[message]") {
    for (const char* raw : {"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhi\r\n",
                            "Content-Type: multipart/mixed; boundary=q\r\n\r\nno parts\r\n"}) {
        const ParsedMessage m = parse_message(raw);
        REQUIRE(m.root.children.size() == 1);
        CHECK(m.root.children[0].body.size() == 0);
        CHECK(m.root.children[0].is_text());
    }
}

TEST_CASE("limits: deep nesting and many parts stay bounded", "[message]") {
    std::string raw;
    const int depth = 500;
    for (int i = 0; i < depth; ++i)
        raw += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
               std::to_string(i) + "\r\n";
    raw += "\r\nleaf\r\n";
    const ParsedMessage m = parse_message(raw);
    std::size_t levels = 0;
    for (const MimePart* p = &m.root; !p->children.empty(); p = &p->children.front())
        ++levels;
    CHECK(levels <= MessageLimits::kMaxMimeDepth + 1);
    CHECK_FALSE(imap::server::format_bodystructure(m.root).empty());

    std::string many = "Content-Type: multipart/mixed; boundary=z\r\n\r\n";
    for (std::size_t i = 0; i < MessageLimits::kMaxParts + 50; ++i)
        many += "--z\r\n\r\nx\r\n";
    const ParsedMessage m2 = parse_message(many);
    CHECK(m2.root.children.size() < MessageLimits::kMaxParts);
}

TEST_CASE("RFC 2047 encoded words decoded to UTF-8", "[message][search]") {
    CHECK(decode_header_value("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= =?UTF-8?Q?_aus?= x") == "Grüße aus x");
    CHECK(decode_header_value("=?ISO-8859-1?Q?Andr=E9?= Pirard") == "André Pirard");
    CHECK(decode_header_value("=?iso-8859-1?b?Q2Fm6Q==?=") == "Café");
    CHECK(decode_header_value("=?bogus?X?abc?=") == "=?bogus?X?abc?=");
    CHECK(decode_header_value("=?unknown-cs?Q?caf=C3=A9?=") == "café");  // valid UTF-8 kept
    CHECK(decode_header_value("plain =?utf-8?q?a?=") == "plain a");
}

TEST_CASE("transfer decodings and charsets", "[message][search]") {
    CHECK(decode_base64("SGVs\r\nbG8=") == "Hello");
    CHECK(decode_quoted_printable("a=3Db=\r\nc =\nd=ZZ") == "a=bc d=ZZ");
    CHECK(to_utf8("Caf\xe9", "ISO-8859-1") == "Café");
    CHECK(to_utf8("\x80", "windows-1252") == "€");
    CHECK(to_utf8("\x93\xfa\x96\x7b", "Shift_JIS") == "日本");
    CHECK(to_utf8("\xd6\xd0\xce\xc4", "GB2312") == "中文");
    CHECK(to_utf8("ok\xff", "x-unknown") == "ok\xEF\xBF\xBD");
    CHECK(to_utf8("ok\xff", "utf-8") == "ok\xEF\xBF\xBD");
}

TEST_CASE("search text: header values decoded, text parts decoded", "[message][search]") {
    const std::string raw =
        "Subject: =?ISO-8859-1?Q?Caf=E9?=\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\ncr=E8me\r\n"
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
        "base64\r\n\r\n"
        "w6l0w6k=\r\n"
        "--b\r\nContent-Type: image/png\r\n\r\nBINARY\r\n--b--\r\n";
    const ParsedMessage m = parse_message(raw);
    const SearchText t = extract_search_text(raw, m);
    REQUIRE(!t.header.empty());
    CHECK(t.header[0].name == "Subject");
    CHECK(t.header[0].value == "Café");
    CHECK(t.body.find("crème") != std::string::npos);
    CHECK(t.body.find("été") != std::string::npos);
    CHECK(t.body.find("BINARY") == std::string::npos);
}

TEST_CASE("never fails: odd inputs parse and every range lies inside", "[message]") {
    for (std::string raw : {std::string(), std::string("\r\n"), std::string("\n\n\n"),
                            std::string("no header at all"), std::string("A:"),
                            std::string("Content-Type: multipart/x; boundary=\"\"\r\n\r\n--\r\n"),
                            std::string("Content-Type: message/rfc822\r\n\r\n"),
                            std::string("\0\0\xff:\r\n\r\n", 7)}) {
        const ParsedMessage m = parse_message(raw);
        CHECK(m.root.header.end <= raw.size());
        CHECK(m.root.body.end <= raw.size());
        CHECK(m.root.body.begin >= m.root.header.end);
        CHECK_FALSE(imap::server::format_bodystructure(m.root).empty());
    }
}
