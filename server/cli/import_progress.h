// The progress line `imapd import` draws on standard error when that is a
// terminal (docs/cli.md "imapd import"): messages and bytes done, the rate
// and, when the input's size is known, its percentage, redrawn in place.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

namespace imap::server::cli {

// Redraws at most this often: a terminal redrawn thousands of times a second
// costs more than the import it reports, and no one reads that fast.
inline constexpr std::chrono::milliseconds kProgressRedrawInterval{250};

struct ImportProgress {
    std::size_t messages = 0;       // imported (committed)
    std::uint64_t bytes_read = 0;   // of the input
    std::uint64_t total_bytes = 0;  // the input's size; 0 when unknown (a directory)
    std::chrono::steady_clock::duration elapsed{};
};

// "12345 messages, 156.2 MiB, 4321 msgs/s, 45%" (no percentage when the
// total is unknown, no rate before any time has passed).
std::string format_import_progress(const ImportProgress& progress);

// A line redrawn in place ("\r", the text, erase to the end of the line).
class ProgressLine {
  public:
    explicit ProgressLine(std::ostream& out) : out_(out) {}
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    // Draws `progress` unless the last drawing is less than
    // kProgressRedrawInterval before `now`; true when it drew.
    bool update(const ImportProgress& progress, std::chrono::steady_clock::time_point now);
    // The same for any text (the --index phase's).
    bool draw(const std::string& text, std::chrono::steady_clock::time_point now);
    // Erases the line (before other output and at the end), if drawn.
    void clear();

  private:
    std::ostream& out_;
    bool drawn_ = false;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace imap::server::cli
