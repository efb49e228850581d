#include "protocol/framer.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "protocol/chars.h"

namespace imap {
namespace {

// Bytes kept from the end of an over-long line: enough for "~{4294967295+}".
constexpr std::size_t kAnnouncementTail = 24;

}  // namespace

std::optional<LiteralAnnouncement> find_literal_announcement(std::string_view line) {
    if (line.empty() || line.back() != '}') return std::nullopt;
    std::size_t end = line.size() - 1;  // index of '}'
    LiteralAnnouncement announcement;
    if (end > 0 && line[end - 1] == '+') {
        announcement.synchronising = false;
        --end;
    }
    std::size_t digits_begin = end;
    while (digits_begin > 0 && is_digit(line[digits_begin - 1]))
        --digits_begin;
    if (digits_begin == end || digits_begin == 0 || line[digits_begin - 1] != '{') {
        return std::nullopt;
    }
    std::uint64_t size = 0;
    for (std::size_t i = digits_begin; i < end; ++i) {
        size = size * 10 + static_cast<std::uint64_t>(line[i] - '0');
        if (size > std::numeric_limits<std::uint32_t>::max()) {
            size = std::numeric_limits<std::uint64_t>::max();
            break;
        }
    }
    announcement.size = size;
    std::size_t brace = digits_begin - 1;
    announcement.binary = brace > 0 && line[brace - 1] == '~';
    return announcement;
}

std::size_t literal_announcement_start(std::string_view line) {
    std::size_t brace = line.rfind('{');
    if (brace == std::string_view::npos) return line.size();
    return (brace > 0 && line[brace - 1] == '~') ? brace - 1 : brace;
}

bool is_valid_tag(std::string_view tag) {
    if (tag.empty() || tag.size() > limits::kMaxTagLength) return false;
    for (char c : tag) {
        if (!is_tag_char(c)) return false;
    }
    return true;
}

std::optional<std::string> tag_of_line(std::string_view line) {
    std::size_t space = line.find(' ');
    std::string_view tag = line.substr(0, space);
    if (!is_valid_tag(tag)) return std::nullopt;
    return std::string(tag);
}

void Framer::feed(std::string_view bytes) {
    if (state_ == State::Failed) return;
    compact();
    buffer_.append(bytes.data(), bytes.size());
}

void Framer::compact() {
    // Move unread bytes to the front once the consumed prefix dominates, so
    // the buffer does not grow with the connection's lifetime.
    if (read_pos_ > 0 && (read_pos_ >= buffer_.size() / 2 || read_pos_ > 64 * 1024)) {
        buffer_.erase(0, read_pos_);
        scan_pos_ -= std::min(scan_pos_, read_pos_);
        read_pos_ = 0;
    }
}

void Framer::discard_buffered() {
    buffer_.clear();
    read_pos_ = 0;
    scan_pos_ = 0;
}

void Framer::expect_raw_line() {
    raw_line_requested_ = true;
}

void Framer::reset_command() {
    frame_ = Frame{};
    command_size_ = 0;
    literal_remaining_ = 0;
    state_ = State::ReadingLine;
}

std::optional<std::string> Framer::current_tag() const {
    if (frame_.lines.empty()) return std::nullopt;
    return tag_of_line(frame_.lines.front());
}

FramerEvent Framer::fail(FramingErrorKind kind, std::optional<std::string> tag) {
    state_ = State::Failed;
    buffer_.clear();
    read_pos_ = scan_pos_ = 0;
    return FramingError{kind, std::move(tag), true, {}};
}

FramerEvent Framer::refuse(FramingErrorKind kind, std::optional<LiteralAnnouncement> announcement) {
    std::optional<std::string> tag = current_tag();
    std::string first_line = frame_.lines.empty() ? std::string() : frame_.lines.front();
    reset_command();
    if (announcement && !announcement->synchronising) {
        // RFC 7888 4: the client sends a non-synchronising literal without
        // waiting, so its bytes are on their way and must not be parsed.
        if (announcement->size > limits_.max_drainable_literal) return fail(kind, std::move(tag));
        literal_remaining_ = announcement->size;
        state_ = State::DrainingLiteral;
    }
    // A synchronising literal is simply never asked for: RFC 3501 7.5, after
    // the tagged BAD the client does not send it or the rest of the command.
    return FramingError{kind, std::move(tag), false, std::move(first_line)};
}

FramerEvent Framer::next() {
    // Steps that only consume bytes (a blank line, a drained literal, the
    // rest of a refused command) report nothing; keep going while they make
    // progress.
    for (;;) {
        const std::size_t position_before = read_pos_;
        const State state_before = state_;
        FramerEvent event = step();
        if (!std::holds_alternative<NeedMoreData>(event)) return event;
        if (read_pos_ == position_before && state_ == state_before) return event;
    }
}

FramerEvent Framer::step() {
    switch (state_) {
        case State::ReadingLine:
            if (raw_line_requested_ && frame_.lines.empty()) {
                raw_line_requested_ = false;
                state_ = State::RawLine;
                return NeedMoreData{};
            }
            return read_line();
        case State::ReadingLiteral:
            return read_literal();
        case State::DiscardingLine:
            return discard_line();
        case State::DrainingLiteral:
            return drain_literal();
        case State::RawLine:
            return read_raw_line();
        case State::AwaitingLiteralDecision:
        case State::Failed:
            break;
    }
    return NeedMoreData{};
}

FramerEvent Framer::read_line() {
    const std::size_t line_start = read_pos_;
    scan_pos_ = std::max(scan_pos_, line_start);
    const char* found = static_cast<const char*>(
        std::memchr(buffer_.data() + scan_pos_, '\n', buffer_.size() - scan_pos_));
    if (found == nullptr) {
        scan_pos_ = buffer_.size();
        // Allow for a trailing CR that belongs to the line end.
        if (buffer_.size() - line_start > limits_.max_line_length + 1) {
            return refuse_long_line(line_start, buffer_.size());
        }
        return NeedMoreData{};
    }
    const std::size_t lf = static_cast<std::size_t>(found - buffer_.data());
    std::size_t line_end = lf;
    if (line_end > line_start && buffer_[line_end - 1] == '\r') --line_end;
    // Refused the same way whether or not its end has arrived yet, so the
    // events do not depend on how the bytes were split.
    if (line_end - line_start > limits_.max_line_length) return refuse_long_line(line_start, lf);
    read_pos_ = scan_pos_ = lf + 1;
    std::string_view line(buffer_.data() + line_start, line_end - line_start);
    if (line.empty() && frame_.lines.empty()) return NeedMoreData{};  // ignore blank lines

    command_size_ += line.size() + 2;
    std::optional<LiteralAnnouncement> announcement = find_literal_announcement(line);
    frame_.lines.emplace_back(line);
    if (command_size_ > limits_.max_command_size) {
        return refuse(FramingErrorKind::CommandTooLarge, announcement);
    }
    if (!announcement) {
        FrameReady ready{std::move(frame_)};
        reset_command();
        return ready;
    }
    if (frame_.literals.size() >= limits_.max_literals_per_command) {
        return refuse(FramingErrorKind::TooManyLiterals, announcement);
    }
    if (announcement->size > limits_.max_literal_size) {
        return refuse(FramingErrorKind::LiteralTooLarge, announcement);
    }
    if (command_size_ + announcement->size > limits_.max_command_size) {
        return refuse(FramingErrorKind::CommandTooLarge, announcement);
    }
    literal_remaining_ = announcement->size;
    frame_.literals.emplace_back();
    // Only what has arrived: an announcement alone must not make the server
    // allocate up to max_literal_size.
    frame_.literals.back().reserve(
        static_cast<std::size_t>(std::min<std::uint64_t>(announcement->size, buffered())));
    if (announcement->synchronising || announcement->size > limits_.max_unconfirmed_literal) {
        state_ = State::AwaitingLiteralDecision;
        pending_non_synchronising_ = !announcement->synchronising;
        return LiteralRequest{current_tag().value_or(""), announcement->size, announcement->binary,
                              announcement->synchronising};
    }
    state_ = State::ReadingLiteral;
    return read_literal();
}

void Framer::accept_literal() {
    if (state_ == State::AwaitingLiteralDecision) state_ = State::ReadingLiteral;
}

bool Framer::reject_literal() {
    if (state_ != State::AwaitingLiteralDecision) return state_ != State::Failed;
    const std::uint64_t size = literal_remaining_;
    reset_command();
    if (!pending_non_synchronising_) {
        // RFC 3501 7.5: after a tagged NO/BAD the client does not send the
        // literal or the rest of the command; the next line is a new command.
        return true;
    }
    // RFC 7888 4: the client sends a non-synchronising literal without
    // waiting; its bytes, then the rest of the command, must not be parsed.
    if (size > limits_.max_drainable_literal) {
        state_ = State::Failed;
        buffer_.clear();
        read_pos_ = scan_pos_ = 0;
        return false;
    }
    literal_remaining_ = size;
    state_ = State::DrainingLiteral;
    return true;
}

FramerEvent Framer::read_literal() {
    std::string& literal = frame_.literals.back();
    const std::size_t available = buffer_.size() - read_pos_;
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(literal_remaining_, available));
    literal.append(buffer_, read_pos_, take);
    read_pos_ += take;
    scan_pos_ = read_pos_;
    literal_remaining_ -= take;
    command_size_ += take;
    if (literal_remaining_ > 0) return NeedMoreData{};
    // The command continues on the line after the literal.
    state_ = State::ReadingLine;
    return read_line();
}

FramerEvent Framer::refuse_long_line(std::size_t line_start, std::size_t end) {
    if (frame_.lines.empty()) {
        // Only a tag followed by a space is a tag; a 64 KiB atom is not. The
        // head is never longer than what the line holds when refused early.
        const std::size_t head_size =
            std::min({end - line_start, limits::kMaxTagLength + 1, limits_.max_line_length + 1});
        std::string_view head(buffer_.data() + line_start, head_size);
        frame_.lines.emplace_back(
            head.find(' ') != std::string_view::npos ? tag_of_line(head).value_or("") : "");
    }
    std::optional<std::string> tag = current_tag();
    reset_command();
    // discard_line() finds the line's end (at `end` if it has arrived) and
    // looks for a literal announcement in its last bytes.
    const std::size_t keep_from = std::max(line_start, end - std::min(end, kAnnouncementTail));
    discard_tail_.assign(buffer_, keep_from, end - keep_from);
    read_pos_ = scan_pos_ = end;
    state_ = State::DiscardingLine;
    return FramingError{FramingErrorKind::LineTooLong, std::move(tag), false, {}};
}

void Framer::start_discarding_line(std::size_t keep_from) {
    discard_tail_.assign(buffer_, keep_from, buffer_.size() - keep_from);
    read_pos_ = scan_pos_ = buffer_.size();
    state_ = State::DiscardingLine;
}

FramerEvent Framer::discard_line() {
    const char* found = static_cast<const char*>(
        std::memchr(buffer_.data() + read_pos_, '\n', buffer_.size() - read_pos_));
    std::size_t end = found ? static_cast<std::size_t>(found - buffer_.data()) : buffer_.size();
    discard_tail_.append(buffer_, read_pos_, end - read_pos_);
    if (discard_tail_.size() > kAnnouncementTail) {
        discard_tail_.erase(0, discard_tail_.size() - kAnnouncementTail);
    }
    if (!found) {
        read_pos_ = scan_pos_ = buffer_.size();
        return NeedMoreData{};
    }
    read_pos_ = scan_pos_ = end + 1;
    std::string_view tail(discard_tail_);
    if (!tail.empty() && tail.back() == '\r') tail.remove_suffix(1);
    std::optional<LiteralAnnouncement> announcement =
        discarding_raw_ ? std::nullopt : find_literal_announcement(tail);
    discard_tail_.clear();
    discarding_raw_ = false;
    state_ = State::ReadingLine;
    if (announcement && !announcement->synchronising) {
        // The discarded command goes on with a literal the client sends
        // unasked: drain it, then the rest of the command.
        if (announcement->size > limits_.max_drainable_literal) {
            return fail(FramingErrorKind::LiteralTooLarge, std::nullopt);
        }
        literal_remaining_ = announcement->size;
        state_ = State::DrainingLiteral;
    }
    return NeedMoreData{};
}

FramerEvent Framer::drain_literal() {
    const std::size_t available = buffer_.size() - read_pos_;
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(literal_remaining_, available));
    read_pos_ += take;
    scan_pos_ = read_pos_;
    literal_remaining_ -= take;
    if (literal_remaining_ > 0) return NeedMoreData{};
    // The refused command continues after its literal up to the end of that
    // line, which may announce further literals: discard it the same way.
    // Not with start_discarding_line(): that line's end may be buffered.
    discard_tail_.clear();
    state_ = State::DiscardingLine;
    return NeedMoreData{};
}

FramerEvent Framer::read_raw_line() {
    const char* found = static_cast<const char*>(
        std::memchr(buffer_.data() + read_pos_, '\n', buffer_.size() - read_pos_));
    if (!found) {
        if (buffer_.size() - read_pos_ > limits_.max_line_length + 1) {
            // The error goes to the command that asked for the raw line (the
            // server knows its tag); the rest of the line is dropped.
            start_discarding_line(buffer_.size());
            discarding_raw_ = true;
            return FramingError{FramingErrorKind::LineTooLong, std::nullopt, false, {}};
        }
        return NeedMoreData{};
    }
    std::size_t lf = static_cast<std::size_t>(found - buffer_.data());
    std::size_t end = lf;
    if (end > read_pos_ && buffer_[end - 1] == '\r') --end;
    RawLine raw{buffer_.substr(read_pos_, end - read_pos_)};
    read_pos_ = scan_pos_ = lf + 1;
    state_ = State::ReadingLine;
    if (raw.line.size() > limits_.max_line_length) {
        return FramingError{FramingErrorKind::LineTooLong, std::nullopt, false, {}};
    }
    return raw;
}

}  // namespace imap
