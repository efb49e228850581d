#include "server/cli/import_progress.h"

#include <algorithm>
#include <cstdio>

namespace imap::server::cli {

namespace {

// ANSI "erase to the end of the line": a shorter line leaves no tail.
constexpr const char* kEraseToEnd = "\x1b[K";

std::string fixed1(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", value);
    return text;
}

}  // namespace

std::string format_import_progress(const ImportProgress& progress) {
    std::string line = std::to_string(progress.messages) +
                       (progress.messages == 1 ? " message, " : " messages, ") +
                       fixed1(static_cast<double>(progress.bytes_read) / (1024.0 * 1024.0)) +
                       " MiB";
    const double seconds = std::chrono::duration<double>(progress.elapsed).count();
    if (seconds > 0) {
        line += ", " +
                std::to_string(
                    static_cast<std::uint64_t>(static_cast<double>(progress.messages) / seconds)) +
                " msgs/s";
    }
    if (progress.total_bytes > 0) {
        // Never past 100: the file may have grown since its size was read.
        const std::uint64_t done = std::min(progress.bytes_read, progress.total_bytes);
        line += ", " + std::to_string(done * 100 / progress.total_bytes) + "%";
    }
    return line;
}

bool ProgressLine::update(const ImportProgress& progress,
                          std::chrono::steady_clock::time_point now) {
    if (drawn_ && now - last_ < kProgressRedrawInterval) return false;
    return draw(format_import_progress(progress), now);
}

bool ProgressLine::draw(const std::string& text, std::chrono::steady_clock::time_point now) {
    if (drawn_ && now - last_ < kProgressRedrawInterval) return false;
    out_ << '\r' << "imapd import: " << text << kEraseToEnd << std::flush;
    drawn_ = true;
    last_ = now;
    return true;
}

void ProgressLine::clear() {
    if (!drawn_) return;
    out_ << '\r' << kEraseToEnd << std::flush;
    drawn_ = false;
}

}  // namespace imap::server::cli
