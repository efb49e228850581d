// The framer's contract (protocol/framer.h): every input is fed whole, at
// every two-way split and byte by byte, and all three must give the same
// events before the events themselves are checked.
#include "protocol/framer.h"

#include <catch2/catch.hpp>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/limits.h"
#include "protocol/parser.h"
#include "support/framing.h"

using imap::Frame;
using imap::Framer;
using imap::FramerEvent;
using imap::FramerLimits;
using imap::FramingErrorKind;
using imap::test::FramedEvent;
using imap::test::LiteralPolicy;

using imap::test::printable;

namespace {

std::string_view kind_name(FramingErrorKind kind) {
    switch (kind) {
        case FramingErrorKind::LineTooLong:
            return "LineTooLong";
        case FramingErrorKind::LiteralTooLarge:
            return "LiteralTooLarge";
        case FramingErrorKind::CommandTooLarge:
            return "CommandTooLarge";
        case FramingErrorKind::TooManyLiterals:
            return "TooManyLiterals";
    }
    return "?";
}

}  // namespace

namespace Catch {
template <>
struct StringMaker<FramedEvent> {
    static std::string convert(const FramedEvent& event) {
        std::ostringstream out;
        switch (event.kind) {
            case FramedEvent::Kind::Frame:
                out << "Frame{lines:";
                for (const auto& line : event.frame.lines)
                    out << " \"" << printable(line) << "\"";
                out << "; literals:";
                for (const auto& lit : event.frame.literals)
                    out << " \"" << printable(lit) << "\"";
                out << "}";
                break;
            case FramedEvent::Kind::LiteralRequest:
                out << "LiteralRequest{tag \"" << event.tag << "\", " << event.size
                    << (event.synchronising ? "" : ", {n+}") << "}";
                break;
            case FramedEvent::Kind::RawLine:
                out << "RawLine{\"" << printable(event.raw) << "\"}";
                break;
            case FramedEvent::Kind::Error:
            case FramedEvent::Kind::FatalError:
                out << (event.kind == FramedEvent::Kind::FatalError ? "FatalError{" : "Error{")
                    << kind_name(event.error) << ", tag \"" << event.tag << "\"}";
                break;
        }
        return out.str();
    }
};
}  // namespace Catch

namespace {

// ---- Expected events ----

FramedEvent frame(std::vector<std::string> lines, std::vector<std::string> literals = {}) {
    FramedEvent event;
    event.kind = FramedEvent::Kind::Frame;
    event.frame = Frame{std::move(lines), std::move(literals)};
    return event;
}

FramedEvent literal_request(std::string tag, std::uint64_t size) {
    FramedEvent event;
    event.kind = FramedEvent::Kind::LiteralRequest;
    event.tag = std::move(tag);
    event.size = size;
    return event;
}

// A non-synchronising literal reported before it is read
// (FramerLimits::max_unconfirmed_literal).
FramedEvent unconfirmed_request(std::string tag, std::uint64_t size) {
    FramedEvent event = literal_request(std::move(tag), size);
    event.synchronising = false;
    return event;
}

FramedEvent raw_line(std::string line) {
    FramedEvent event;
    event.kind = FramedEvent::Kind::RawLine;
    event.raw = std::move(line);
    return event;
}

FramedEvent error(FramingErrorKind kind, std::string tag = {}) {
    FramedEvent event;
    event.kind = FramedEvent::Kind::Error;
    event.error = kind;
    event.tag = std::move(tag);
    return event;
}

FramedEvent fatal(FramingErrorKind kind, std::string tag = {}) {
    FramedEvent event = error(kind, std::move(tag));
    event.kind = FramedEvent::Kind::FatalError;
    return event;
}

using Events = std::vector<FramedEvent>;

// Frames `wire` every way (whole, every two-way split, byte by byte),
// requires that all agree and returns the events.
Events framed(std::string_view wire, LiteralPolicy policy = LiteralPolicy::AcceptAll,
              FramerLimits limits = {}) {
    INFO("wire: \"" << printable(wire) << "\"");
    imap::test::SplitCheck check = imap::test::frame_every_way(wire, policy, limits);
    INFO("differs: " << check.difference);
    REQUIRE(check.consistent);
    return check.events;
}

// Small limits so the tests can reach them with short inputs.
FramerLimits small_limits() {
    FramerLimits limits;
    limits.max_line_length = 32;
    limits.max_literal_size = 16;
    limits.max_command_size = 80;
    limits.max_literals_per_command = 3;
    return limits;
}

// ---- A driver for what frame_every_way cannot do: a server that switches
// the framer to raw mode (AUTHENTICATE, IDLE) after some events. ----

using Hook = imap::test::FramerHook;

Events driven(std::string_view wire, const Hook& hook, FramerLimits limits = {}) {
    INFO("wire: \"" << printable(wire) << "\"");
    imap::test::SplitCheck check =
        imap::test::frame_every_way(wire, imap::test::LiteralPolicy::AcceptAll, limits, hook);
    INFO(check.difference);
    REQUIRE(check.consistent);
    return check.events;
}

// The server's side of AUTHENTICATE and IDLE: after such a command it reads
// a raw line. PLAIN takes one response; the made-up mechanism X goes on
// until the client cancels with "*" (RFC 3501 6.2.2).
void raw_after_authenticate_and_idle(Framer& framer, const Events& events) {
    const FramedEvent& event = events.back();
    if (event.kind == FramedEvent::Kind::Frame) {
        const std::string& line = event.frame.lines.front();
        if (line.find(" AUTHENTICATE ") != std::string::npos ||
            line.find(" IDLE") != std::string::npos) {
            framer.expect_raw_line();
        }
        return;
    }
    if (event.kind != FramedEvent::Kind::RawLine || event.raw == "*") return;
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
        if (it->kind != FramedEvent::Kind::Frame) continue;
        if (it->frame.lines.front().ends_with(" AUTHENTICATE X")) framer.expect_raw_line();
        return;
    }
}

FramerEvent next_event(Framer& framer) {
    return framer.next();
}

}  // namespace

// ---- Lines (RFC 3501 2.2) ----

TEST_CASE("RFC 3501 2.2: one command line ending in CRLF is one frame", "[framer]") {
    CHECK(framed("a001 NOOP\r\n") == Events{frame({"a001 NOOP"})});
}

TEST_CASE("RFC 3501 2.2: a bare LF also ends a command line (tolerated, as Dovecot does)",
          "[framer]") {
    CHECK(framed("a001 NOOP\n") == Events{frame({"a001 NOOP"})});
    CHECK(framed("a NOOP\nb CAPABILITY\r\nc LOGOUT\n") ==
          Events{frame({"a NOOP"}), frame({"b CAPABILITY"}), frame({"c LOGOUT"})});
}

TEST_CASE("A line without its line end is not a frame yet", "[framer]") {
    CHECK(framed("a001 NOOP").empty());
    CHECK(framed("a001 NOOP\r").empty());
    Framer framer;
    framer.feed("a001 NOOP\r");
    CHECK(std::holds_alternative<imap::NeedMoreData>(framer.next()));
    CHECK(framer.buffered() == 10);
    framer.feed("\n");
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::FrameReady>(event));
    CHECK(std::get<imap::FrameReady>(event).frame == Frame{{"a001 NOOP"}, {}});
    CHECK(framer.buffered() == 0);
}

TEST_CASE("RFC 3501 5.5: several pipelined commands in one read give one frame each", "[framer]") {
    CHECK(framed("a1 SELECT INBOX\r\na2 FETCH 1:* FLAGS\r\na3 STORE 1 +FLAGS (\\Seen)\r\n"
                 "a4 LOGOUT\r\n") ==
          Events{frame({"a1 SELECT INBOX"}), frame({"a2 FETCH 1:* FLAGS"}),
                 frame({"a3 STORE 1 +FLAGS (\\Seen)"}), frame({"a4 LOGOUT"})});
}

TEST_CASE("Blank lines between commands are ignored", "[framer]") {
    CHECK(framed("\r\n\n\r\na NOOP\r\n\r\n\nb NOOP\n\r\n") ==
          Events{frame({"a NOOP"}), frame({"b NOOP"})});
    CHECK(framed("\r\n\r\n\n").empty());
}

TEST_CASE("RFC 3501 9: a CR inside a line stays in the line (the parser rejects it)", "[framer]") {
    CHECK(framed("a LOGIN fred\rx pw\r\n") == Events{frame({"a LOGIN fred\rx pw"})});
    // Only the CR right before the LF belongs to the line end.
    CHECK(framed("a NOOP\r\r\n") == Events{frame({"a NOOP\r"})});
    CHECK(framed("\r\r\n") == Events{frame({"\r"})});
    CHECK(std::holds_alternative<imap::ParseError>(imap::test::parse_wire("a NOOP\r\r\n")));
}

// ---- Synchronising literals (RFC 3501 4.3, 7.5) ----

TEST_CASE("RFC 3501 7.5: the LOGIN example frames as one command with two literals", "[framer]") {
    const std::string wire = "A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n";
    CHECK(framed(wire) ==
          Events{literal_request("A001", 11), literal_request("A001", 7),
                 frame({"A001 LOGIN {11}", " {7}", ""}, {"FRED FOOBAR", "fat man"})});
    imap::ParseResult parsed = imap::test::parse_wire(wire);
    REQUIRE(std::holds_alternative<imap::Command>(parsed));
    const auto& login = std::get<imap::LoginCommand>(std::get<imap::Command>(parsed).body);
    CHECK(login.user == "FRED FOOBAR");
    CHECK(login.password.reveal() == "fat man");
}

TEST_CASE(
    "RFC 3501 4.3: a literal request carries tag and size and consumes nothing before "
    "accept_literal()",
    "[framer]") {
    const std::string wire = "a7 APPEND INBOX (\\Seen) {5}\r\nhello\r\nb NOOP\r\n";
    CHECK(framed(wire) == Events{literal_request("a7", 5),
                                 frame({"a7 APPEND INBOX (\\Seen) {5}", ""}, {"hello"}),
                                 frame({"b NOOP"})});

    // A client that sends the octets without waiting: they stay buffered.
    Framer framer;
    framer.feed(wire);
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::LiteralRequest>(event));
    const auto& request = std::get<imap::LiteralRequest>(event);
    CHECK(request.tag == "a7");
    CHECK(request.size == 5);
    CHECK_FALSE(request.binary);
    CHECK(framer.buffered() == std::string_view("hello\r\nb NOOP\r\n").size());
    CHECK(framer.partial().lines == std::vector<std::string>{"a7 APPEND INBOX (\\Seen) {5}"});
    CHECK(imap::peek_command_name(framer.partial()) == "APPEND");
    // Until the server answers, next() reports nothing and reads nothing.
    CHECK(std::holds_alternative<imap::NeedMoreData>(framer.next()));
    CHECK(framer.buffered() == std::string_view("hello\r\nb NOOP\r\n").size());
    framer.accept_literal();
    event = framer.next();
    REQUIRE(std::holds_alternative<imap::FrameReady>(event));
    CHECK(std::get<imap::FrameReady>(event).frame ==
          Frame{{"a7 APPEND INBOX (\\Seen) {5}", ""}, {"hello"}});
}

TEST_CASE("RFC 3501 4.3: partial() shows the command so far at each literal request", "[framer]") {
    const std::string wire = "t LOGIN {3}\r\nbob {6}\r\nsecret\r\n";
    CHECK(framed(wire) == Events{literal_request("t", 3), literal_request("t", 6),
                                 frame({"t LOGIN {3}", " {6}", ""}, {"bob", "secret"})});
    Framer framer;
    framer.feed("t LOGIN {3}\r\n");
    REQUIRE(std::holds_alternative<imap::LiteralRequest>(next_event(framer)));
    CHECK(framer.partial().lines == std::vector<std::string>{"t LOGIN {3}"});
    framer.accept_literal();
    CHECK(std::holds_alternative<imap::NeedMoreData>(framer.next()));
    framer.feed("bob {6}\r\n");
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::LiteralRequest>(event));
    CHECK(std::get<imap::LiteralRequest>(event).size == 6);
    CHECK(framer.partial().lines == std::vector<std::string>{"t LOGIN {3}", " {6}"});
    REQUIRE_FALSE(framer.partial().literals.empty());
    CHECK(framer.partial().literals.front() == "bob");
}

TEST_CASE("RFC 3501 7.5: after reject_literal() the next line is a new command", "[framer]") {
    // The client got a tagged BAD instead of "+" and sends neither the
    // literal nor the rest of the command.
    CHECK(framed("a LOGIN {5}\r\nb NOOP\r\n", LiteralPolicy::RejectAll) ==
          Events{literal_request("a", 5), frame({"b NOOP"})});
    // RFC 3501 7.5's last example: an unknown command announcing a literal.
    CHECK(framed("A044 BLURDYBLOOP {102856}\r\nA045 NOOP\r\n", LiteralPolicy::RejectAll) ==
          Events{literal_request("A044", 102856), frame({"A045 NOOP"})});

    Framer framer;
    framer.feed("a LOGIN {5}\r\n");
    REQUIRE(std::holds_alternative<imap::LiteralRequest>(next_event(framer)));
    framer.reject_literal();
    CHECK(framer.partial().lines.empty());
    framer.feed("b NOOP\r\n");
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::FrameReady>(event));
    CHECK(std::get<imap::FrameReady>(event).frame == Frame{{"b NOOP"}, {}});
}

TEST_CASE("RFC 3501 4.3: a {0} literal is requested and framed as an empty literal", "[framer]") {
    const std::string wire = "a LOGIN {0}\r\n {3}\r\npwd\r\n";
    CHECK(framed(wire) == Events{literal_request("a", 0), literal_request("a", 3),
                                 frame({"a LOGIN {0}", " {3}", ""}, {"", "pwd"})});
    imap::ParseResult parsed = imap::test::parse_wire(wire);
    REQUIRE(std::holds_alternative<imap::Command>(parsed));
    const auto& login = std::get<imap::LoginCommand>(std::get<imap::Command>(parsed).body);
    CHECK(login.user.empty());
    CHECK(login.password.reveal() == "pwd");
}

TEST_CASE("RFC 3502: several literals in one command (MULTIAPPEND)", "[framer]") {
    const std::string wire =
        "m APPEND Drafts (\\Draft) {4}\r\nab\r\n {3}\r\nxyz (\\Seen) {2}\r\nhi\r\n";
    CHECK(framed(wire) ==
          Events{literal_request("m", 4), literal_request("m", 3), literal_request("m", 2),
                 frame({"m APPEND Drafts (\\Draft) {4}", " {3}", " (\\Seen) {2}", ""},
                       {"ab\r\n", "xyz", "hi"})});
    imap::ParseResult parsed = imap::test::parse_wire(wire);
    REQUIRE(std::holds_alternative<imap::Command>(parsed));
    CHECK(std::get<imap::AppendCommand>(std::get<imap::Command>(parsed).body).messages.size() == 3);
}

// ---- LITERAL+ and literal8 ----

TEST_CASE("RFC 7888 4: a non-synchronising {n+} literal is read at once, without a request",
          "[framer]") {
    CHECK(framed("a LOGIN {3+}\r\nbob {6+}\r\nsecret\r\nb NOOP\r\n") ==
          Events{frame({"a LOGIN {3+}", " {6+}", ""}, {"bob", "secret"}), frame({"b NOOP"})});
    CHECK(framed("a LOGIN {0+}\r\n {0+}\r\n\r\n") ==
          Events{frame({"a LOGIN {0+}", " {0+}", ""}, {"", ""})});
    // Mixed: only the synchronising one is requested.
    CHECK(framed("a LOGIN {3+}\r\nbob {2}\r\npw\r\n") ==
          Events{literal_request("a", 2), frame({"a LOGIN {3+}", " {2}", ""}, {"bob", "pw"})});
}

TEST_CASE("RFC 3516 4.3: literal8 ~{n} and ~{n+} carry any octet", "[framer]") {
    const std::string body("he\0\r\nlo", 7);
    CHECK(framed("a APPEND INBOX ~{7}\r\n" + body + "\r\n") ==
          Events{literal_request("a", 7), frame({"a APPEND INBOX ~{7}", ""}, {body})});
    CHECK(framed("a APPEND INBOX ~{7+}\r\n" + body + "\r\n") ==
          Events{frame({"a APPEND INBOX ~{7+}", ""}, {body})});

    Framer framer;
    framer.feed("a APPEND INBOX ~{7}\r\n");
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::LiteralRequest>(event));
    CHECK(std::get<imap::LiteralRequest>(event).binary);

    imap::ParseResult parsed = imap::test::parse_wire("a APPEND INBOX ~{7}\r\n" + body + "\r\n");
    REQUIRE(std::holds_alternative<imap::Command>(parsed));
    const auto& append = std::get<imap::AppendCommand>(std::get<imap::Command>(parsed).body);
    REQUIRE(append.messages.size() == 1);
    CHECK(append.messages[0].binary);
    CHECK(append.messages[0].message == body);
}

TEST_CASE("Literal announcements are recognised only at the very end of a line", "[framer]") {
    CHECK(framed("a SEARCH TEXT {3} ALL\r\n") == Events{frame({"a SEARCH TEXT {3} ALL"})});
    CHECK(framed("a X {}\r\nb X {+}\r\nc X {3a}\r\nd X 3}\r\n") ==
          Events{frame({"a X {}"}), frame({"b X {+}"}), frame({"c X {3a}"}), frame({"d X 3}"})});
    // "{3}" followed by a space, or a CR before the CR LF, is not at the end.
    CHECK(framed("a X {3} \r\nb X {3}\r\r\n") == Events{frame({"a X {3} "}), frame({"b X {3}\r"})});
}

TEST_CASE("RFC 3501 4.3: literal octets that look like commands are never framed as commands",
          "[framer]") {
    // A message whose body is an IMAP command, as a webmail might relay it.
    CHECK(framed("a APPEND INBOX {10}\r\na LOGOUT\r\n\r\nb NOOP\r\n") ==
          Events{literal_request("a", 10), frame({"a APPEND INBOX {10}", ""}, {"a LOGOUT\r\n"}),
                 frame({"b NOOP"})});
    CHECK(framed("a APPEND INBOX {10+}\r\na LOGOUT\r\n\r\n") ==
          Events{frame({"a APPEND INBOX {10+}", ""}, {"a LOGOUT\r\n"})});
    // Nor do announcements inside a literal start a new literal.
    CHECK(framed("a LOGIN {9+}\r\nx {99+}\r\n {1+}\r\nz\r\n") ==
          Events{frame({"a LOGIN {9+}", " {1+}", ""}, {"x {99+}\r\n", "z"})});
}

// ---- Limits: the framer refuses and stays in step ----

TEST_CASE("Over-long line: LineTooLong with the tag, then the next command is framed", "[framer]") {
    const FramerLimits limits = small_limits();
    const std::string too_long = "a1 SEARCH " + std::string(30, 'x');  // 40 > 32
    CHECK(framed(too_long + "\r\na2 NOOP\r\n", LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong, "a1"), frame({"a2 NOOP"})});
    CHECK(framed(too_long + "\na2 NOOP\n", LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong, "a1"), frame({"a2 NOOP"})});
    // Exactly at the limit is fine; one more byte is not.
    const std::string at_limit = "a1 X " + std::string(27, 'y');
    REQUIRE(at_limit.size() == limits.max_line_length);
    CHECK(framed(at_limit + "\r\n" + at_limit + "y\r\n", LiteralPolicy::AcceptAll, limits) ==
          Events{frame({at_limit}), error(FramingErrorKind::LineTooLong, "a1")});
    // A line far past the limit, arriving before its end, is refused early
    // and its rest thrown away as it comes.
    Framer framer(limits);
    framer.feed("a3 NOOP " + std::string(100, 'z'));
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::FramingError>(event));
    CHECK(std::get<imap::FramingError>(event).tag == "a3");
    CHECK_FALSE(std::get<imap::FramingError>(event).fatal);
    CHECK(framer.buffered() == 0);
    framer.feed(std::string(100, 'z') + "\r\na4 NOOP\r\n");
    event = framer.next();
    REQUIRE(std::holds_alternative<imap::FrameReady>(event));
    CHECK(std::get<imap::FrameReady>(event).frame == Frame{{"a4 NOOP"}, {}});
}

TEST_CASE("Over-long continuation line after a literal: LineTooLong with the tag", "[framer]") {
    const FramerLimits limits = small_limits();
    CHECK(framed("a LOGIN {3}\r\nbob " + std::string(40, 'p') + "\r\nb NOOP\r\n",
                 LiteralPolicy::AcceptAll,
                 limits) == Events{literal_request("a", 3),
                                   error(FramingErrorKind::LineTooLong, "a"), frame({"b NOOP"})});
}

TEST_CASE("RFC 7888 4: an over-long line ending in {n+} has its literal drained, then resync",
          "[framer]") {
    const FramerLimits limits = small_limits();
    // The literal holds what looks like a command; it must not be framed.
    const std::string wire =
        "a1 APPEND INBOX (" + std::string(30, 'f') + ") {11+}\r\na9 LOGOUT\r\n\r\na2 NOOP\r\n";
    CHECK(framed(wire, LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong, "a1"), frame({"a2 NOOP"})});
    // The drained command goes on after its literal, maybe with another one.
    const std::string two = "a1 APPEND INBOX (" + std::string(30, 'f') +
                            ") {3+}\r\nabc {11+}\r\na9 LOGOUT\r\n\r\na2 NOOP\r\n";
    CHECK(framed(two, LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong, "a1"), frame({"a2 NOOP"})});
    // literal8 too.
    const std::string binary =
        "a1 APPEND INBOX (" + std::string(30, 'f') + ") ~{11+}\r\na9 LOGOUT\r\n\r\na2 NOOP\r\n";
    CHECK(framed(binary, LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong, "a1"), frame({"a2 NOOP"})});
}

TEST_CASE("RFC 3501 7.5: an over-long line ending in {n} is not drained (the client waits)",
          "[framer]") {
    const FramerLimits limits = small_limits();
    const std::string wire = "a1 APPEND INBOX (" + std::string(30, 'f') + ") {10}\r\na2 NOOP\r\n";
    CHECK(framed(wire, LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong, "a1"), frame({"a2 NOOP"})});
}

TEST_CASE("RFC 7889: a too-large synchronising literal gets LiteralTooLarge and is never sent",
          "[framer]") {
    const FramerLimits limits = small_limits();
    CHECK(framed("a APPEND INBOX {17}\r\nb NOOP\r\n", LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LiteralTooLarge, "a"), frame({"b NOOP"})});
    // At the limit it is requested.
    CHECK(framed("a APPEND INBOX {16}\r\n" + std::string(16, 'm') + "\r\n",
                 LiteralPolicy::AcceptAll,
                 limits) == Events{literal_request("a", 16),
                                   frame({"a APPEND INBOX {16}", ""}, {std::string(16, 'm')})});
    // Sizes past 2^32-1 (RFC 3501 number) are too large too.
    CHECK(framed("a APPEND INBOX {4294967296}\r\nb NOOP\r\n") ==
          Events{error(FramingErrorKind::LiteralTooLarge, "a"), frame({"b NOOP"})});
}

TEST_CASE("RFC 7888 4: a too-large {n+} literal is drained, then the next command is framed",
          "[framer]") {
    const FramerLimits limits = small_limits();
    const std::string body = "c LOGOUT\r\n" + std::string(7, 'q');  // 17 > 16
    CHECK(framed("a APPEND INBOX {17+}\r\n" + body + "\r\nb NOOP\r\n", LiteralPolicy::AcceptAll,
                 limits) ==
          Events{error(FramingErrorKind::LiteralTooLarge, "a"), frame({"b NOOP"})});
    // The rest of the refused command, with its own literals, is drained too.
    CHECK(framed("a APPEND INBOX {17+}\r\n" + body + " {5+}\r\nd X\r\n\r\nb NOOP\r\n",
                 LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LiteralTooLarge, "a"), frame({"b NOOP"})});
}

TEST_CASE("Lines and literals together past max_command_size: CommandTooLarge", "[framer]") {
    const FramerLimits limits = small_limits();  // 80 bytes per command
    const std::string lit(16, 'L');
    // 20+2 + 16 + 6+2 + 16 + 6+2 + 16 = 86 > 80 at the third literal.
    const std::string wire = "a APPEND INBOX {16+}\r\n" + lit + " {16+}\r\n" + lit + " {16+}\r\n" +
                             lit + "\r\nb NOOP\r\n";
    CHECK(framed(wire, LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::CommandTooLarge, "a"), frame({"b NOOP"})});
    // The same with synchronising literals: the third is refused before it
    // is sent, so the client sends the next command.
    const std::string sync =
        "a APPEND INBOX {16}\r\n" + lit + " {16}\r\n" + lit + " {16}\r\nb NOOP\r\n";
    CHECK(framed(sync, LiteralPolicy::AcceptAll, limits) ==
          Events{literal_request("a", 16), literal_request("a", 16),
                 error(FramingErrorKind::CommandTooLarge, "a"), frame({"b NOOP"})});
    // Lines alone can make a command too large.
    std::string lines = "a LOGIN {1+}\r\n";
    for (int i = 0; i < 2; ++i)
        lines += "x " + std::string(25, 's') + " {1+}\r\n";
    lines += "y\r\nb NOOP\r\n";
    FramerLimits many = limits;
    many.max_literals_per_command = 100;
    many.max_literal_size = 100;
    CHECK(framed(lines, LiteralPolicy::AcceptAll, many) ==
          Events{error(FramingErrorKind::CommandTooLarge, "a"), frame({"b NOOP"})});
}

TEST_CASE("More than max_literals_per_command literals: TooManyLiterals", "[framer]") {
    const FramerLimits limits = small_limits();  // 3 literals
    CHECK(framed("a X {1+}\r\n1 {1+}\r\n2 {1+}\r\n3 {1+}\r\n4 {1+}\r\n5\r\nb NOOP\r\n",
                 LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::TooManyLiterals, "a"), frame({"b NOOP"})});
    CHECK(framed("a X {1+}\r\n1 {1+}\r\n2 {1+}\r\n3\r\n", LiteralPolicy::AcceptAll, limits) ==
          Events{frame({"a X {1+}", " {1+}", " {1+}", ""}, {"1", "2", "3"})});
    CHECK(framed("a X {1}\r\n1 {1}\r\n2 {1}\r\n3 {1}\r\nb NOOP\r\n", LiteralPolicy::AcceptAll,
                 limits) ==
          Events{literal_request("a", 1), literal_request("a", 1), literal_request("a", 1),
                 error(FramingErrorKind::TooManyLiterals, "a"), frame({"b NOOP"})});
}

TEST_CASE("RFC 7888 4: a {n+} past kMaxDrainableLiteral is fatal and nothing more is framed",
          "[framer]") {
    CHECK(framed("a APPEND INBOX {999999999999+}\r\nb NOOP\r\n") ==
          Events{fatal(FramingErrorKind::LiteralTooLarge, "a")});
    // The boundary: exactly kMaxDrainableLiteral is drained (here the rest
    // of the input is swallowed by the drain), one more is fatal.
    const std::string drainable = std::to_string(imap::limits::kMaxDrainableLiteral);
    const std::string undrainable = std::to_string(imap::limits::kMaxDrainableLiteral + 1);
    CHECK(framed("a APPEND INBOX {" + drainable + "+}\r\nb NOOP\r\n") ==
          Events{error(FramingErrorKind::LiteralTooLarge, "a")});
    CHECK(framed("a APPEND INBOX {" + undrainable + "+}\r\nb NOOP\r\n") ==
          Events{fatal(FramingErrorKind::LiteralTooLarge, "a")});
    // On an over-long line too, whose tail announces it.
    const FramerLimits limits = small_limits();
    CHECK(framed("a APPEND INBOX (" + std::string(30, 'f') + ") {999999999999+}\r\nb NOOP\r\n",
                 LiteralPolicy::AcceptAll,
                 limits) == Events{error(FramingErrorKind::LineTooLong, "a"),
                                   fatal(FramingErrorKind::LiteralTooLarge)});

    Framer framer;
    framer.feed("a APPEND INBOX {999999999999+}\r\n");
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::FramingError>(event));
    CHECK(std::get<imap::FramingError>(event).fatal);
    framer.feed("b NOOP\r\nc NOOP\r\n");
    CHECK(std::holds_alternative<imap::NeedMoreData>(framer.next()));
    CHECK(framer.buffered() == 0);
}

// ---- Confirmed non-synchronising literals and limits that change ----

TEST_CASE("RFC 7888 4: a {n+} over max_unconfirmed_literal is reported before any byte is read",
          "[framer]") {
    FramerLimits confirm;
    confirm.max_unconfirmed_literal = 3;
    // Accepted: read like any literal, and no "+" (the server's business,
    // but the event says it is non-synchronising).
    CHECK(framed("a LOGIN {3+}\r\nbob {6+}\r\nsecret\r\nb NOOP\r\n", LiteralPolicy::AcceptAll,
                 confirm) == Events{unconfirmed_request("a", 6),
                                    frame({"a LOGIN {3+}", " {6+}", ""}, {"bob", "secret"}),
                                    frame({"b NOOP"})});
    // Refused: it and the rest of its command (with its own literals) are
    // drained, never framed; the next command is.
    CHECK(framed("a LOGIN {3+}\r\nbob {6+}\r\nb NOOP {1+}\r\nc\r\nb NOOP\r\n",
                 LiteralPolicy::RejectAll,
                 confirm) == Events{unconfirmed_request("a", 6), frame({"b NOOP"})});
    // A synchronising literal is requested as always.
    CHECK(framed("a LOGIN {2}\r\nxy {1}\r\nz\r\n", LiteralPolicy::AcceptAll, confirm) ==
          Events{literal_request("a", 2), literal_request("a", 1),
                 frame({"a LOGIN {2}", " {1}", ""}, {"xy", "z"})});
    // The limits come first: too large for max_literal_size is an error
    // without a request (drained as before).
    FramerLimits small = small_limits();
    small.max_unconfirmed_literal = 0;
    CHECK(framed("a X {17+}\r\n" + std::string(17, 'q') + "\r\nb NOOP\r\n",
                 LiteralPolicy::AcceptAll, small) ==
          Events{error(FramingErrorKind::LiteralTooLarge, "a"), frame({"b NOOP"})});
}

TEST_CASE("RFC 7888 4: a refused {n+} past max_drainable_literal stops the framer", "[framer]") {
    FramerLimits limits;
    limits.max_unconfirmed_literal = 0;
    limits.max_drainable_literal = 10;
    Framer framer(limits);
    framer.feed("a LOGIN {10+}\r\n");
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::LiteralRequest>(event));
    CHECK_FALSE(std::get<imap::LiteralRequest>(event).synchronising);
    CHECK(framer.reject_literal());  // 10: drained
    framer.feed("0123456789\r\nb NOOP\r\nc LOGIN {11+}\r\n");
    event = framer.next();
    REQUIRE(std::holds_alternative<imap::FrameReady>(event));
    CHECK(std::get<imap::FrameReady>(event).frame.lines == std::vector<std::string>{"b NOOP"});
    event = framer.next();
    REQUIRE(std::holds_alternative<imap::LiteralRequest>(event));
    CHECK_FALSE(framer.reject_literal());  // 11: the framer gives up
    framer.feed("01234567890\r\nd NOOP\r\n");
    CHECK(std::holds_alternative<imap::NeedMoreData>(framer.next()));
    CHECK(framer.buffered() == 0);
    // The same limit bounds the drain of a literal the framer refuses itself.
    FramerLimits small = small_limits();
    small.max_drainable_literal = 20;
    CHECK(framed("a X {21+}\r\nb NOOP\r\n", LiteralPolicy::AcceptAll, small) ==
          Events{fatal(FramingErrorKind::LiteralTooLarge, "a")});
    CHECK(framed("a X {20+}\r\n" + std::string(20, 'q') + "\r\nb NOOP\r\n",
                 LiteralPolicy::AcceptAll, small) ==
          Events{error(FramingErrorKind::LiteralTooLarge, "a"), frame({"b NOOP"})});
}

TEST_CASE("set_limits() applies from the next command", "[framer]") {
    Framer framer;
    framer.feed("a NOOP " + std::string(100, 'x') + "\r\n");
    REQUIRE(std::holds_alternative<imap::FrameReady>(framer.next()));
    framer.set_limits(small_limits());
    CHECK(framer.limits().max_line_length == 32);
    framer.feed("b NOOP " + std::string(100, 'x') + "\r\nc NOOP\r\n");
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::FramingError>(event));
    CHECK(std::get<imap::FramingError>(event).kind == FramingErrorKind::LineTooLong);
    REQUIRE(std::holds_alternative<imap::FrameReady>(framer.next()));
    framer.set_limits(FramerLimits{});
    framer.feed("d NOOP " + std::string(100, 'x') + "\r\n");
    CHECK(std::holds_alternative<imap::FrameReady>(framer.next()));
}

// ---- Tags in errors (RFC 3501 7.1.3: "* BAD" when the tag is unknown) ----

TEST_CASE("RFC 3501 9: an error carries the tag only when the tag is valid", "[framer]") {
    const FramerLimits limits = small_limits();
    const std::string filler(40, 'x');
    // "+" and "*" are not tag characters; nor are "(" or "{".
    CHECK(framed("+a NOOP " + filler + "\r\n", LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong)});
    CHECK(framed("* NOOP " + filler + "\r\n", LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong)});
    CHECK(framed("a(b NOOP " + filler + "\r\n", LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong)});
    // A line without a space is one long atom, not a tag.
    CHECK(framed(filler + "\r\n", LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong)});
    // "]" is an ASTRING-CHAR and so a tag character.
    CHECK(framed("a] NOOP " + filler + "\r\n", LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LineTooLong, "a]")});
    // Tags longer than kMaxTagLength are not tags.
    const std::string long_tag(imap::limits::kMaxTagLength + 1, 't');
    const std::string max_tag(imap::limits::kMaxTagLength, 't');
    CHECK(framed(long_tag + " APPEND INBOX {999999999999+}\r\n") ==
          Events{fatal(FramingErrorKind::LiteralTooLarge)});
    CHECK(framed(max_tag + " APPEND INBOX {999999999999+}\r\n") ==
          Events{fatal(FramingErrorKind::LiteralTooLarge, max_tag)});
    // A literal request carries an empty tag when there is none.
    CHECK(framed("* LOGIN {3}\r\n", LiteralPolicy::RejectAll) == Events{literal_request("", 3)});
    CHECK(imap::tag_of_line("a001 NOOP") == "a001");
    CHECK(imap::tag_of_line("a001") == "a001");
    CHECK_FALSE(imap::tag_of_line(" NOOP").has_value());
    CHECK_FALSE(imap::tag_of_line("").has_value());
}

// ---- Raw lines: AUTHENTICATE (RFC 3501 6.2.2) and IDLE (RFC 2177) ----

TEST_CASE("RFC 3501 6.2.2: expect_raw_line() reads AUTHENTICATE responses as RawLine events",
          "[framer]") {
    // Without raw mode the same bytes are ordinary lines.
    const std::string wire = "a AUTHENTICATE PLAIN\r\nAGZyZWQAZmF0IG1hbg==\r\nb NOOP\r\n";
    CHECK(framed(wire) == Events{frame({"a AUTHENTICATE PLAIN"}), frame({"AGZyZWQAZmF0IG1hbg=="}),
                                 frame({"b NOOP"})});
    CHECK(driven(wire, raw_after_authenticate_and_idle) == Events{frame({"a AUTHENTICATE PLAIN"}),
                                                                  raw_line("AGZyZWQAZmF0IG1hbg=="),
                                                                  frame({"b NOOP"})});
    // "*" cancels the exchange; bare LF and an empty response work too.
    CHECK(driven("a AUTHENTICATE X\n\n*\r\nb NOOP\r\n", raw_after_authenticate_and_idle) ==
          Events{frame({"a AUTHENTICATE X"}), raw_line(""), raw_line("*"), frame({"b NOOP"})});
    CHECK(driven("a AUTHENTICATE X\r\nabc\r\n*\r\nb NOOP\r\n", raw_after_authenticate_and_idle) ==
          Events{frame({"a AUTHENTICATE X"}), raw_line("abc"), raw_line("*"), frame({"b NOOP"})});
}

TEST_CASE("A raw line is not literal-processed: {n} and {n+} at its end are text", "[framer]") {
    CHECK(driven("a AUTHENTICATE X\r\nabc {5}\r\nd {3+}\r\n*\r\nb NOOP\r\n",
                 raw_after_authenticate_and_idle) == Events{frame({"a AUTHENTICATE X"}),
                                                            raw_line("abc {5}"), raw_line("d {3+}"),
                                                            raw_line("*"), frame({"b NOOP"})});
}

TEST_CASE("RFC 2177: IDLE's DONE is read raw, then normal framing resumes", "[framer]") {
    CHECK(driven("a IDLE\r\nDONE\r\nb NOOP\r\n\r\nc LOGIN {3}\r\nbob pw\r\n",
                 raw_after_authenticate_and_idle) ==
          Events{frame({"a IDLE"}), raw_line("DONE"), frame({"b NOOP"}), literal_request("c", 3),
                 frame({"c LOGIN {3}", " pw"}, {"bob"})});
}

TEST_CASE("An over-long raw line is refused without a tag, then framing resumes", "[framer]") {
    const FramerLimits limits = small_limits();
    // Ending in {n+}: nothing is drained, it is not a command line.
    CHECK(driven("a AUTHENTICATE X\r\n" + std::string(40, 'Q') + " {5+}\r\nb NOOP\r\n",
                 raw_after_authenticate_and_idle,
                 limits) == Events{frame({"a AUTHENTICATE X"}),
                                   error(FramingErrorKind::LineTooLong), frame({"b NOOP"})});
}

// ---- STARTTLS (RFC 3501 6.2.1, the CVE-2011-0411 class) ----

TEST_CASE("RFC 3501 6.2.1: discard_buffered() after STARTTLS drops pipelined plaintext",
          "[framer]") {
    const std::string wire = "a STARTTLS\r\nb LOGIN x y\r\n";
    // Framed normally, both commands come out ...
    CHECK(framed(wire) == Events{frame({"a STARTTLS"}), frame({"b LOGIN x y"})});

    // ... but a server that discards after STARTTLS never sees the second,
    // which an attacker injected into the plaintext before the handshake.
    Framer framer;
    framer.feed(wire);
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::FrameReady>(event));
    CHECK(std::get<imap::FrameReady>(event).frame == Frame{{"a STARTTLS"}, {}});
    framer.discard_buffered();
    CHECK(framer.buffered() == 0);
    CHECK(std::holds_alternative<imap::NeedMoreData>(framer.next()));

    // What arrives after the handshake (decrypted) is framed from scratch.
    framer.feed("c CAPABILITY\r\n");
    event = framer.next();
    REQUIRE(std::holds_alternative<imap::FrameReady>(event));
    CHECK(std::get<imap::FrameReady>(event).frame == Frame{{"c CAPABILITY"}, {}});
}

TEST_CASE("RFC 3501 6.2.1: discard_buffered() also drops a partly received line", "[framer]") {
    CHECK(framed("a STARTTLS\r\nb LOG") == Events{frame({"a STARTTLS"})});
    Framer framer;
    framer.feed("a STARTTLS\r\nb LOG");
    REQUIRE(std::holds_alternative<imap::FrameReady>(next_event(framer)));
    framer.discard_buffered();
    framer.feed("IN x y\r\nc NOOP\r\n");
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::FrameReady>(event));
    // "IN x y" is a line of its own now, not the tail of "b LOG".
    CHECK(std::get<imap::FrameReady>(event).frame == Frame{{"IN x y"}, {}});
}

// ---- find_literal_announcement ----

TEST_CASE("RFC 3501 9 / RFC 7888 / RFC 3516: literal announcement forms", "[framer]") {
    CHECK(framed("a X {12}\r\n123456789012\r\nb X ~{0+}\r\n\r\nc X {004}\r\nabcd\r\n") ==
          Events{literal_request("a", 12), frame({"a X {12}", ""}, {"123456789012"}),
                 frame({"b X ~{0+}", ""}, {""}), literal_request("c", 4),
                 frame({"c X {004}", ""}, {"abcd"})});
    using imap::find_literal_announcement;
    auto sync = find_literal_announcement("a X {12}");
    REQUIRE(sync.has_value());
    CHECK(sync->size == 12);
    CHECK(sync->synchronising);
    CHECK_FALSE(sync->binary);
    auto plus = find_literal_announcement("a X ~{0+}");
    REQUIRE(plus.has_value());
    CHECK(plus->size == 0);
    CHECK_FALSE(plus->synchronising);
    CHECK(plus->binary);
    auto big = find_literal_announcement("{4294967296}");
    REQUIRE(big.has_value());
    CHECK(big->size == UINT64_MAX);
    auto max = find_literal_announcement("{4294967295}");
    REQUIRE(max.has_value());
    CHECK(max->size == 4294967295u);
    CHECK_FALSE(find_literal_announcement("a X {12} ").has_value());
    CHECK_FALSE(find_literal_announcement("a X {-1}").has_value());
    CHECK_FALSE(find_literal_announcement("a X {1++}").has_value());
    CHECK_FALSE(find_literal_announcement("}").has_value());
    CHECK(imap::literal_announcement_start("a X ~{3}") == 4);
    CHECK(imap::literal_announcement_start("a X {3}") == 4);
}

// ---- Regressions found while testing and fuzzing the framer ----

TEST_CASE("RFC 7888 4: a command pipelined behind a drained literal in the same read is framed",
          "[framer]") {
    // The drained command's last line and the next command arrive together;
    // draining must stop at that line's end, not swallow the buffer.
    const FramerLimits limits = small_limits();
    const std::string wire = "a X {30+}\r\n" + std::string(30, 'd') + "\r\nb NOOP\r\nc NOOP\r\n";
    CHECK(framed(wire, LiteralPolicy::AcceptAll, limits) ==
          Events{error(FramingErrorKind::LiteralTooLarge, "a"), frame({"b NOOP"}),
                 frame({"c NOOP"})});
    Framer framer(limits);
    framer.feed(wire);
    REQUIRE(std::holds_alternative<imap::FramingError>(next_event(framer)));
    FramerEvent event = framer.next();
    REQUIRE(std::holds_alternative<imap::FrameReady>(event));
    CHECK(std::get<imap::FrameReady>(event).frame == Frame{{"b NOOP"}, {}});
}

TEST_CASE("Over-long lines are refused the same way before and after their LF arrives",
          "[framer]") {
    // An over-long line ending in an undrainable {n+}: first LineTooLong
    // (tagged), then the fatal error, however the bytes are split.
    const FramerLimits limits = small_limits();
    CHECK(framed("a APPEND INBOX (" + std::string(30, 'f') + ") ~{4294967296+}\r\n",
                 LiteralPolicy::AcceptAll,
                 limits) == Events{error(FramingErrorKind::LineTooLong, "a"),
                                   fatal(FramingErrorKind::LiteralTooLarge)});
}

TEST_CASE("Limits shorter than a tag or an announcement still keep the framer in step",
          "[framer]") {
    FramerLimits tiny;
    tiny.max_line_length = 8;
    tiny.max_literal_size = 4;
    tiny.max_command_size = 30;
    tiny.max_literals_per_command = 2;
    // The tag is judged on the first max_line_length + 1 bytes either way.
    CHECK(framed("abcdefghi NOOP\r\nb NOOP\r\n", LiteralPolicy::AcceptAll, tiny) ==
          Events{error(FramingErrorKind::LineTooLong), frame({"b NOOP"})});
    CHECK(framed("abcdefgh NOOP\r\nb NOOP\r\n", LiteralPolicy::AcceptAll, tiny) ==
          Events{error(FramingErrorKind::LineTooLong, "abcdefgh"), frame({"b NOOP"})});
    CHECK(framed("a X 12345 {2+}\r\nzz\r\nb NOOP\r\n", LiteralPolicy::AcceptAll, tiny) ==
          Events{error(FramingErrorKind::LineTooLong, "a"), frame({"b NOOP"})});
    CHECK(framed("a X {5+}\r\n12345\r\nb NOOP\r\n", LiteralPolicy::AcceptAll, tiny) ==
          Events{error(FramingErrorKind::LiteralTooLarge, "a"), frame({"b NOOP"})});
}

TEST_CASE("A literal announcement alone does not make the framer allocate the literal",
          "[framer]") {
    // 60 MB announced, nothing sent: the server must not reserve 60 MB for
    // each connection that says so.
    Framer framer;
    framer.feed("a APPEND INBOX {60000000}\r\n");
    REQUIRE(std::holds_alternative<imap::LiteralRequest>(next_event(framer)));
    REQUIRE(framer.partial().literals.size() == 1);
    CHECK(framer.partial().literals.back().capacity() < 4096);
    framer.reject_literal();
    framer.feed("b APPEND INBOX {60000000+}\r\nabc");
    CHECK(std::holds_alternative<imap::NeedMoreData>(framer.next()));
    REQUIRE(framer.partial().literals.size() == 1);
    CHECK(framer.partial().literals.back() == "abc");
    CHECK(framer.partial().literals.back().capacity() < 4096);
}
