// The command path as the server runs it: bytes in any split -> Framer ->
// parse_command(), with the properties that keep a connection in step and
// its memory bounded (protocol/framer.h), and the imap-codec style round trip
// parse -> write_command -> frame -> parse.
//
// Input: three header bytes, then the client's bytes.
//   [0] bits 0-1: limits (0, 3: the defaults; 1: small; 2: tiny, so the
//       refusal paths are reached with short inputs); bit 2: every {n+}
//       is confirmed first, as the server has it (max_unconfirmed_literal
//       0); bit 3: a small max_drainable_literal (as before login)
//   [1] literal policy: the k-th literal request is rejected when bit
//       k % 8 is set (0 accepts every literal)
//   [2] seed for the sizes of the pieces the bytes are fed in
// Each property that fails prints what broke and aborts, so libFuzzer keeps
// the input.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "protocol/command_writer.h"
#include "protocol/framer.h"
#include "protocol/parser.h"

namespace {

void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "property failed: %s\n", what);
    std::abort();
}

imap::FramerLimits limits_for(std::uint8_t choice) {
    imap::FramerLimits limits;
    switch (choice & 3) {
        case 1:
            limits.max_line_length = 40;
            limits.max_literal_size = 24;
            limits.max_command_size = 160;
            limits.max_literals_per_command = 4;
            break;
        case 2:
            limits.max_line_length = 12;
            limits.max_literal_size = 6;
            limits.max_command_size = 40;
            limits.max_literals_per_command = 2;
            break;
        default:
            break;
    }
    if (choice & 4) limits.max_unconfirmed_literal = 0;
    if (choice & 8) limits.max_drainable_literal = 20;
    return limits;
}

// One observable outcome, with the parse result of a frame.
struct Event {
    enum class Kind { Frame, LiteralRequest, RawLine, Error } kind = Kind::Frame;
    imap::Frame frame;
    std::optional<imap::ParseResult> parsed;
    std::string text;  // tag (LiteralRequest, Error) or raw line
    std::uint64_t size = 0;
    bool binary = false;
    bool synchronising = true;
    imap::FramingErrorKind error{};
    bool fatal = false;
    bool operator==(const Event&) const = default;
};

// Frame invariants (frame.h) and the limits that bound a command's memory.
void check_frame(const imap::Frame& frame, const imap::FramerLimits& limits) {
    require(!frame.lines.empty(), "empty frame");
    require(frame.lines.size() == frame.literals.size() + 1, "lines != literals + 1");
    require(frame.literals.size() <= limits.max_literals_per_command, "too many literals");
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < frame.lines.size(); ++i) {
        const std::string& line = frame.lines[i];
        require(line.size() <= limits.max_line_length, "line longer than max_line_length");
        require(line.find('\n') == std::string::npos, "LF inside a line");
        total += line.size() + 2;
        auto announcement = imap::find_literal_announcement(line);
        if (i + 1 == frame.lines.size()) {
            require(!announcement.has_value(), "last line announces a literal");
            break;
        }
        require(announcement.has_value(), "a line before a literal does not announce it");
        const std::size_t start = imap::literal_announcement_start(line);
        require(start < line.size() && (line[start] == '{' || line[start] == '~'),
                "literal_announcement_start misses the announcement");
        auto alone = imap::find_literal_announcement(std::string_view(line).substr(start));
        require(alone && alone->size == announcement->size &&
                    alone->synchronising == announcement->synchronising &&
                    alone->binary == announcement->binary,
                "the announcement alone reads differently");
        require(announcement->size == frame.literals[i].size(), "literal size != announcement");
        require(frame.literals[i].size() <= limits.max_literal_size, "literal over the limit");
        total += frame.literals[i].size();
    }
    require(!frame.lines.front().empty(), "blank line framed as a command");
    require(total <= limits.max_command_size, "command over max_command_size");
}

struct Run {
    std::vector<Event> events;
};

// Feeds `wire` in pieces of the given sizes (0 = the rest at once), answering
// literal requests by `reject_mask` and switching to raw lines as a server
// does after AUTHENTICATE (no initial response) and IDLE. With `starttls`,
// also as a server does after STARTTLS: drop what is buffered and stop.
Run run(std::string_view wire, const std::vector<std::size_t>& pieces,
        const imap::FramerLimits& limits, std::uint8_t reject_mask, bool starttls = false) {
    imap::Framer framer(limits);
    Run result;
    std::size_t requests = 0;
    bool failed = false;
    bool stopped = false;
    auto drain = [&] {
        for (;;) {
            if (stopped) {
                require(framer.buffered() == 0, "bytes buffered after discard_buffered()");
                require(std::holds_alternative<imap::NeedMoreData>(framer.next()),
                        "an event after discard_buffered()");
                return;
            }
            imap::FramerEvent next = framer.next();
            if (std::holds_alternative<imap::NeedMoreData>(next)) break;
            require(!failed, "an event after a fatal error");
            Event event;
            if (auto* ready = std::get_if<imap::FrameReady>(&next)) {
                check_frame(ready->frame, limits);
                event.kind = Event::Kind::Frame;
                event.frame = ready->frame;
                event.parsed = imap::parse_command(std::move(ready->frame));
                if (auto* command = std::get_if<imap::Command>(&*event.parsed)) {
                    auto* auth = std::get_if<imap::AuthenticateCommand>(&command->body);
                    if ((auth && !auth->initial_response) ||
                        std::holds_alternative<imap::IdleCommand>(command->body)) {
                        framer.expect_raw_line();
                    }
                    if (starttls && std::holds_alternative<imap::StartTlsCommand>(command->body)) {
                        // RFC 3501 6.2.1: plaintext pipelined behind STARTTLS
                        // is never executed (the CVE-2011-0411 class).
                        framer.discard_buffered();
                        stopped = true;
                    }
                }
            } else if (auto* request = std::get_if<imap::LiteralRequest>(&next)) {
                const imap::Frame& partial = framer.partial();
                require(!partial.lines.empty(), "literal request without a line");
                auto announcement = imap::find_literal_announcement(partial.lines.back());
                require(announcement && announcement->synchronising == request->synchronising &&
                            announcement->size == request->size &&
                            announcement->binary == request->binary,
                        "literal request does not match the line's announcement");
                require(request->synchronising || request->size > limits.max_unconfirmed_literal,
                        "a {n+} confirmed that is not over max_unconfirmed_literal");
                require(request->size <= limits.max_literal_size, "requested literal too large");
                require(request->tag == imap::tag_of_line(partial.lines.front()).value_or(""),
                        "literal request tag differs from the line's tag");
                (void)imap::peek_command_name(partial);
                event.kind = Event::Kind::LiteralRequest;
                event.text = request->tag;
                event.size = request->size;
                event.binary = request->binary;
                event.synchronising = request->synchronising;
                if ((reject_mask >> (requests++ % 8)) & 1) {
                    const bool in_step = framer.reject_literal();
                    require(in_step || (!request->synchronising &&
                                        request->size > limits.max_drainable_literal),
                            "reject_literal() gave up on a literal it could drain");
                    failed = !in_step;
                } else {
                    framer.accept_literal();
                }
            } else if (auto* raw = std::get_if<imap::RawLine>(&next)) {
                require(raw->line.size() <= limits.max_line_length, "raw line too long");
                require(raw->line.find('\n') == std::string::npos, "LF inside a raw line");
                event.kind = Event::Kind::RawLine;
                event.text = raw->line;
            } else if (auto* error = std::get_if<imap::FramingError>(&next)) {
                require(!error->tag || imap::is_valid_tag(*error->tag),
                        "error with an invalid tag");
                event.kind = Event::Kind::Error;
                event.text = error->tag.value_or("");
                event.error = error->kind;
                event.fatal = error->fatal;
                failed = error->fatal;
            }
            result.events.push_back(std::move(event));
        }
        // Whatever arrived, what stays buffered is at most one unfinished
        // line: literals are consumed as they arrive (into the frame, itself
        // bounded by max_command_size), refused lines and literals are
        // dropped as they arrive, and a longer line is refused early.
        require(framer.buffered() <= limits.max_line_length + 1, "buffered() past its bound");
    };
    std::size_t from = 0;
    for (std::size_t piece : pieces) {
        if (from >= wire.size() || stopped) break;
        const std::size_t take = piece == 0 ? wire.size() - from : piece;
        framer.feed(wire.substr(from, take));
        from += take;
        drain();
    }
    if (from < wire.size() && !stopped) {
        framer.feed(wire.substr(from));
        drain();
    }
    return result;
}

// Frames and parses the writer's output for `command`, which must give
// back exactly that command.
void check_round_trip(const imap::Command& command, imap::LiteralStyle style) {
    const std::string wire = imap::write_command(command, style);
    imap::Framer framer;
    framer.feed(wire);
    std::optional<imap::Frame> frame;
    for (;;) {
        imap::FramerEvent next = framer.next();
        if (std::holds_alternative<imap::NeedMoreData>(next)) break;
        if (std::holds_alternative<imap::LiteralRequest>(next)) {
            require(style == imap::LiteralStyle::Synchronising, "{n+} style wrote a {n}");
            framer.accept_literal();
            continue;
        }
        auto* ready = std::get_if<imap::FrameReady>(&next);
        require(ready != nullptr, "written command gives a framing error or raw line");
        require(!frame.has_value(), "written command frames as more than one command");
        frame = std::move(ready->frame);
    }
    require(frame.has_value(), "written command does not frame");
    require(framer.buffered() == 0, "written command leaves bytes after its CRLF");
    imap::ParseResult again = imap::parse_command(std::move(*frame));
    if (!std::holds_alternative<imap::Command>(again)) {
        std::fprintf(stderr, "written: %s\nerror: %s\n", wire.c_str(),
                     std::get<imap::ParseError>(again).message.c_str());
    }
    require(std::holds_alternative<imap::Command>(again), "written command does not parse");
    require(std::get<imap::Command>(again) == command, "parse(write(c)) != c");
    require(imap::write_command(std::get<imap::Command>(again), style) == wire,
            "write(parse(write(c))) != write(c)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const imap::FramerLimits limits = limits_for(data[0]);
    const std::uint8_t reject_mask = data[1];
    std::uint32_t seed = 0x9e3779b9u ^ data[2];
    const std::string_view wire(reinterpret_cast<const char*>(data) + 3, size - 3);

    const Run whole = run(wire, {0}, limits, reject_mask);

    // Pieces of 1 to 16 bytes, now and then up to 256.
    std::vector<std::size_t> pieces;
    for (std::size_t fed = 0; fed < wire.size();) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        const std::size_t piece = (seed & 0x80) ? 1 + (seed >> 8) % 256 : 1 + (seed >> 8) % 16;
        pieces.push_back(piece);
        fed += piece;
    }
    require(run(wire, pieces, limits, reject_mask).events == whole.events,
            "events differ when the bytes arrive in pieces");
    if (wire.size() <= 4096) {
        std::vector<std::size_t> bytes(wire.size(), 1);
        require(run(wire, bytes, limits, reject_mask).events == whole.events,
                "events differ when the bytes arrive one by one");
    }

    // Fed whole and stopped at the first STARTTLS: the same events up to it.
    const Run tls = run(wire, {0}, limits, reject_mask, /*starttls=*/true);
    require(tls.events.size() <= whole.events.size() &&
                std::equal(tls.events.begin(), tls.events.end(), whole.events.begin()),
            "events before STARTTLS differ");

    for (const Event& event : whole.events) {
        if (!event.parsed) continue;
        if (const auto* command = std::get_if<imap::Command>(&*event.parsed)) {
            check_round_trip(*command, imap::LiteralStyle::Synchronising);
            check_round_trip(*command, imap::LiteralStyle::NonSynchronising);
        }
    }
    return 0;
}
