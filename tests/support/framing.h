// Test support: run wire bytes through a Framer in different splits and
// collect what comes out, so every framer/parser test can check that the
// result does not depend on how the bytes arrived (whole, at every two-way
// split, byte by byte).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/framer.h"
#include "protocol/parser.h"

namespace imap::test {

// One observable outcome of feeding bytes, in order.
struct FramedEvent {
    enum class Kind { Frame, LiteralRequest, RawLine, Error, FatalError };
    Kind kind = Kind::Frame;
    Frame frame;                // Kind::Frame
    std::string tag;            // LiteralRequest, Error, FatalError (empty if none)
    std::uint64_t size = 0;     // LiteralRequest
    bool synchronising = true;  // LiteralRequest: {n}, or a confirmed {n+}
    FramingErrorKind error{};   // Error, FatalError
    std::string raw;            // RawLine
    bool operator==(const FramedEvent&) const = default;
};

// Bytes as a test failure message can show them: CR, LF and other control or
// 8-bit bytes escaped, long inputs cut after 300 bytes.
inline std::string printable(std::string_view bytes) {
    constexpr std::size_t kShown = 300;
    std::string out;
    for (char c : bytes.substr(0, kShown)) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (u < 0x20 || u >= 0x7f) {
            out += "\\x";
            out += "0123456789abcdef"[u >> 4];
            out += "0123456789abcdef"[u & 0xf];
        } else {
            out += c;
        }
    }
    if (bytes.size() > kShown) out += "... (" + std::to_string(bytes.size()) + " bytes)";
    return out;
}

enum class LiteralPolicy { AcceptAll, RejectAll };

// Acts as a server would after each event (e.g. expect_raw_line() after
// AUTHENTICATE or IDLE); called with the events so far, before next().
using FramerHook = std::function<void(Framer&, const std::vector<FramedEvent>&)>;

inline FramedEvent to_framed_event(FramerEvent& event) {
    FramedEvent out;
    if (auto* ready = std::get_if<FrameReady>(&event)) {
        out.kind = FramedEvent::Kind::Frame;
        out.frame = std::move(ready->frame);
    } else if (auto* request = std::get_if<LiteralRequest>(&event)) {
        out.kind = FramedEvent::Kind::LiteralRequest;
        out.tag = request->tag;
        out.size = request->size;
        out.synchronising = request->synchronising;
    } else if (auto* raw = std::get_if<RawLine>(&event)) {
        out.kind = FramedEvent::Kind::RawLine;
        out.raw = raw->line;
    } else if (auto* error = std::get_if<FramingError>(&event)) {
        out.kind = error->fatal ? FramedEvent::Kind::FatalError : FramedEvent::Kind::Error;
        out.tag = error->tag.value_or("");
        out.error = error->kind;
    }
    return out;
}

// Feeds `wire` cut at the given ascending offsets, draining events after each
// piece. Synchronising literals are accepted or rejected by `policy`.
inline std::vector<FramedEvent> frame_pieces(std::string_view wire,
                                             const std::vector<std::size_t>& cuts,
                                             LiteralPolicy policy = LiteralPolicy::AcceptAll,
                                             FramerLimits limits = {},
                                             const FramerHook& hook = {}) {
    Framer framer(limits);
    std::vector<FramedEvent> events;
    auto drain = [&] {
        for (;;) {
            FramerEvent event = framer.next();
            if (std::holds_alternative<NeedMoreData>(event)) return;
            if (std::holds_alternative<LiteralRequest>(event)) {
                if (policy == LiteralPolicy::AcceptAll) {
                    framer.accept_literal();
                } else {
                    framer.reject_literal();
                }
            }
            events.push_back(to_framed_event(event));
            if (hook) hook(framer, events);
        }
    };
    std::size_t from = 0;
    for (std::size_t cut : cuts) {
        framer.feed(wire.substr(from, cut - from));
        drain();
        from = cut;
    }
    framer.feed(wire.substr(from));
    drain();
    return events;
}

struct SplitCheck {
    std::vector<FramedEvent> events;  // fed whole
    bool consistent = true;           // every split gave the same events
    std::string difference;           // which split differed
};

// Feeds `wire` whole, at every two-way split and byte by byte, and reports
// whether all agree. Use: auto r = frame_every_way(w); REQUIRE(r.consistent);
inline SplitCheck frame_every_way(std::string_view wire,
                                  LiteralPolicy policy = LiteralPolicy::AcceptAll,
                                  FramerLimits limits = {}, const FramerHook& hook = {}) {
    SplitCheck check;
    check.events = frame_pieces(wire, {}, policy, limits, hook);
    for (std::size_t split = 1; split < wire.size(); ++split) {
        if (frame_pieces(wire, {split}, policy, limits, hook) != check.events) {
            check.consistent = false;
            check.difference = "two pieces split at byte " + std::to_string(split);
            return check;
        }
    }
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < wire.size(); ++i)
        every_byte.push_back(i);
    if (frame_pieces(wire, every_byte, policy, limits, hook) != check.events) {
        check.consistent = false;
        check.difference = "byte by byte";
    }
    return check;
}

// Frames `wire` (which must hold exactly one command, literals accepted) and
// parses it. Returns a ParseError with message "framing" when the framer did
// not produce exactly one frame.
inline ParseResult parse_wire(std::string_view wire) {
    std::vector<FramedEvent> events = frame_pieces(wire, {});
    const Frame* frame = nullptr;
    for (const auto& event : events) {
        if (event.kind == FramedEvent::Kind::Frame) {
            if (frame != nullptr) return ParseError{std::nullopt, "framing: more than one frame"};
            frame = &event.frame;
        } else if (event.kind != FramedEvent::Kind::LiteralRequest) {
            return ParseError{std::nullopt, "framing: error event"};
        }
    }
    if (frame == nullptr) return ParseError{std::nullopt, "framing: no frame"};
    return parse_command(*frame);
}

}  // namespace imap::test
