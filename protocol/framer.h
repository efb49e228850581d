// Framer: bytes in, frames out, incrementally (RFC 3501 section 2.2 and 4.3,
// RFC 7888 LITERAL+, RFC 3516 literal8).
//
// The framer never reads a socket. The server feeds whatever bytes arrived and
// then calls next() until it returns NeedMoreData. Bytes may arrive in any
// split; the events are the same.
//
// Line ends: a command line ends at LF; a CR right before it is dropped. Bare
// LF is accepted, as Dovecot and most servers do, because some clients and
// tools (netcat, hand-written tests) send it; a CR anywhere else stays in the
// line and the parser rejects it. Empty lines between commands are ignored.
//
// Synchronising literals ({n}, RFC 3501 4.3): before consuming any literal
// byte the framer reports LiteralRequest with the tag and size, and waits for
// the server to accept (it then sends "+ ...") or reject (it sends a tagged
// NO/BAD and the client, per RFC 3501 7.5, does not send the literal, so the
// next bytes start a new command).
//
// Non-synchronising literals ({n+}, RFC 7888) are read at once, unless they
// are larger than max_unconfirmed_literal: then the framer reports a
// LiteralRequest (synchronising = false) first, so the server can refuse one
// over its command's limit before a byte of it is buffered (the server sets
// 0: it confirms every literal). A refused or too-large {n+} is drained
// (read and thrown away) and the command is answered with BAD/NO, so the
// framer stays in step; past max_drainable_literal the error is fatal and
// the server should close the connection.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/frame.h"
#include "protocol/limits.h"

namespace imap {

struct FramerLimits {
    std::size_t max_line_length = limits::kMaxLineLength;
    std::uint64_t max_literal_size = limits::kMaxLiteralSize;
    std::uint64_t max_command_size = limits::kMaxCommandSize;
    std::size_t max_literals_per_command = limits::kMaxLiteralsPerCommand;
    // The largest refused non-synchronising literal that is drained; a
    // larger one is a fatal error.
    std::uint64_t max_drainable_literal = limits::kMaxDrainableLiteral;
    // Non-synchronising literals larger than this are reported as a
    // LiteralRequest before any of their bytes is read; the default never
    // asks (the literal is read at once, as RFC 7888 3 has it).
    std::uint64_t max_unconfirmed_literal = std::numeric_limits<std::uint64_t>::max();
};

// A literal announcement found at the end of a line.
struct LiteralAnnouncement {
    std::uint64_t size = 0;
    bool synchronising = true;  // {n} rather than {n+}
    bool binary = false;        // literal8 ~{n} (RFC 3516)
};

// Recognises "{n}", "{n+}", "~{n}" and "~{n+}" at the very end of `line`.
// Sizes past 2^32-1 (RFC 3501's number) are reported as UINT64_MAX so the
// caller refuses them as too large. Returns nullopt if the line does not end
// in an announcement.
std::optional<LiteralAnnouncement> find_literal_announcement(std::string_view line);

// The offset where the announcement found by find_literal_announcement begins
// (the '{' or the '~' before it).
std::size_t literal_announcement_start(std::string_view line);

// tag = 1*<any ASTRING-CHAR except "+"> (RFC 3501 9), at most kMaxTagLength.
bool is_valid_tag(std::string_view tag);

// The tag at the start of a command line, if the line starts with a valid one
// followed by a space or the end of the line.
std::optional<std::string> tag_of_line(std::string_view line);

enum class FramingErrorKind {
    LineTooLong,      // a line exceeded max_line_length
    LiteralTooLarge,  // a literal exceeded max_literal_size
    CommandTooLarge,  // lines and literals together exceeded max_command_size
    TooManyLiterals,  // more than max_literals_per_command literals
};

struct FrameReady {
    Frame frame;
};

// A synchronising literal was announced, or a non-synchronising one larger
// than max_unconfirmed_literal. Answer with accept_literal() or
// reject_literal() before calling next() again; partial() shows the command
// so far so the server can check it is valid for the session state. No
// byte of the literal has been read.
struct LiteralRequest {
    std::string tag;
    std::uint64_t size = 0;
    bool binary = false;
    // {n+} (RFC 7888): the client sends it without waiting for "+", and
    // must not get one; refusing it drains it.
    bool synchronising = true;
};

// A line read in raw mode (after expect_raw_line()): an AUTHENTICATE
// continuation or the DONE that ends IDLE. No literal processing is done.
struct RawLine {
    std::string line;
};

struct FramingError {
    FramingErrorKind kind;
    std::optional<std::string> tag;  // known when the command's tag was valid
    // True when the framer cannot find the next command boundary: the server
    // must send BYE and close. Nothing more will be framed.
    bool fatal = false;
    // The refused command's first line as far as it was read (empty when
    // none), so the server can answer in the command's terms (APPEND's
    // TOOBIG). Only set for refusals, not for fatal errors.
    std::string first_line;
};

struct NeedMoreData {};

using FramerEvent = std::variant<NeedMoreData, FrameReady, LiteralRequest, RawLine, FramingError>;

class Framer {
  public:
    explicit Framer(FramerLimits limits = {}) : limits_(limits) {}

    // Appends received bytes. They are copied into the framer's buffer.
    void feed(std::string_view bytes);

    // The next event the buffered bytes allow.
    FramerEvent next();

    // Answers the LiteralRequest that next() returned. A rejected
    // synchronising literal is never sent (RFC 3501 7.5): the next line is a
    // new command. A rejected non-synchronising one is on its way: it and
    // the rest of its command are drained, unless it is larger than
    // max_drainable_literal; then reject_literal() returns false and the
    // framer has stopped for good (the server sends BYE and closes).
    void accept_literal();
    bool reject_literal();

    // New limits, from the next command line on (the server lowers them
    // before login and raises them after it). Call between commands.
    void set_limits(const FramerLimits& limits) { limits_ = limits; }
    const FramerLimits& limits() const { return limits_; }

    // The command received so far while a LiteralRequest is pending.
    const Frame& partial() const { return frame_; }

    // The next line is read raw, as a RawLine event (SASL responses, IDLE's
    // DONE). Only valid between commands.
    void expect_raw_line();

    // Drops every buffered byte not yet framed. After STARTTLS the bytes a
    // client pipelined behind the command must never be executed
    // (RFC 3501 6.2.1, the CVE-2011-0411 class).
    void discard_buffered();

    // Bytes received but not yet returned in an event.
    std::size_t buffered() const { return buffer_.size() - read_pos_; }

  private:
    enum class State {
        ReadingLine,
        AwaitingLiteralDecision,
        ReadingLiteral,
        DiscardingLine,   // the rest of a refused command's line, until its LF
        DrainingLiteral,  // a refused command's non-synchronising literal
        RawLine,
        Failed,
    };

    FramerEvent step();
    FramerEvent read_line();
    FramerEvent read_literal();
    FramerEvent discard_line();
    FramerEvent drain_literal();
    FramerEvent read_raw_line();
    FramerEvent fail(FramingErrorKind kind, std::optional<std::string> tag);
    // Ends the current command with an error; if `announcement` is a
    // non-synchronising literal its bytes are drained first.
    FramerEvent refuse(FramingErrorKind kind, std::optional<LiteralAnnouncement> announcement);
    // Refuses the line starting at `line_start` as too long and discards it;
    // `end` is its LF, or the end of the buffer when the LF has not arrived.
    FramerEvent refuse_long_line(std::size_t line_start, std::size_t end);
    // Drops the rest of the current line, keeping the bytes from `keep_from`
    // on to spot a literal announcement at its end. Only for a buffer that
    // holds no LF past `keep_from`.
    void start_discarding_line(std::size_t keep_from);
    std::optional<std::string> current_tag() const;
    void reset_command();
    void compact();

    FramerLimits limits_;
    State state_ = State::ReadingLine;
    std::string buffer_;
    std::size_t read_pos_ = 0;
    std::size_t scan_pos_ = 0;  // where the LF search resumes in buffer_

    Frame frame_;  // the command being assembled
    std::uint64_t command_size_ = 0;
    std::uint64_t literal_remaining_ = 0;
    // The literal a LiteralRequest asked about is non-synchronising.
    bool pending_non_synchronising_ = false;
    bool raw_line_requested_ = false;

    // While discarding a line: its last bytes, to spot a literal announcement
    // at its end (never looked for in a raw line).
    std::string discard_tail_;
    bool discarding_raw_ = false;
};

}  // namespace imap
