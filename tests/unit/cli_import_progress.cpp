// The progress line of `imapd import` on a terminal (docs/cli.md).
#include <catch2/catch.hpp>
#include <chrono>
#include <sstream>

#include "server/cli/import_progress.h"

namespace {

using imap::server::cli::format_import_progress;
using imap::server::cli::ImportProgress;
using imap::server::cli::kProgressRedrawInterval;
using imap::server::cli::ProgressLine;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("import progress shows messages, MiB, rate and the input's percentage") {
    ImportProgress progress;
    progress.messages = 12000;
    progress.bytes_read = 150 * 1024 * 1024 + 512 * 1024;
    progress.total_bytes = 301 * 1024 * 1024;
    progress.elapsed = seconds(4);
    CHECK(format_import_progress(progress) == "12000 messages, 150.5 MiB, 3000 msgs/s, 50%");
}

TEST_CASE("import progress leaves out what it cannot know") {
    ImportProgress progress;
    progress.messages = 1;
    progress.bytes_read = 1024 * 1024;
    // No time passed: no rate. No total (a directory): no percentage.
    CHECK(format_import_progress(progress) == "1 message, 1.0 MiB");
    progress.total_bytes = 1000;  // the file grew since its size was read
    progress.elapsed = milliseconds(500);
    CHECK(format_import_progress(progress) == "1 message, 1.0 MiB, 2 msgs/s, 100%");
}

TEST_CASE("import progress line redraws in place at most every redraw interval") {
    std::ostringstream out;
    ProgressLine line(out);
    const auto start = std::chrono::steady_clock::time_point{} + seconds(100);
    ImportProgress progress;
    progress.messages = 5;
    CHECK(line.update(progress, start));
    CHECK(out.str() == "\rimapd import: 5 messages, 0.0 MiB\x1b[K");
    progress.messages = 6;
    CHECK_FALSE(line.update(progress, start + kProgressRedrawInterval - milliseconds(1)));
    CHECK(out.str() == "\rimapd import: 5 messages, 0.0 MiB\x1b[K");
    CHECK(line.update(progress, start + kProgressRedrawInterval));
    CHECK(out.str().ends_with("\rimapd import: 6 messages, 0.0 MiB\x1b[K"));
    line.clear();
    CHECK(out.str().ends_with("\x1b[K\r\x1b[K"));
    // Cleared: the next update draws at once; a second clear writes nothing.
    CHECK(line.update(progress, start + kProgressRedrawInterval + milliseconds(1)));
    line.clear();
    const std::string after = out.str();
    line.clear();
    CHECK(out.str() == after);
    // Any text, as often: the --index phase's.
    CHECK(line.draw("indexing for search, 7 messages left", start + seconds(10)));
    CHECK(out.str().ends_with("\rimapd import: indexing for search, 7 messages left\x1b[K"));
    CHECK_FALSE(line.draw("indexing for search, 6 messages left", start + seconds(10)));
}

}  // namespace
