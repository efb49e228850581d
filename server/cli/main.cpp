// imapd: an IMAP4rev1 mail server. See README.md and docs/cli.md.
#include <malloc.h>

#include <iostream>
#include <string_view>
#include <vector>

#include "server/cli/cli.h"

namespace {

// glibc's malloc moves its thresholds up after a large block is freed
// (up to 32 MiB for mmap, 64 MiB for giving the top of a heap back), and a
// freed block below them stays in the arena for good: after STORE 1:* of a
// million messages two worker arenas kept 50 MB each, which malloc_trim
// cannot return (it leaves a non-main arena's top alone). Fixed values
// switch that adjustment off (mallopt(3)): blocks of 1 MiB and more are
// mapped and unmapped on their own, and a heap whose free top passes 8 MiB
// shrinks when it is freed (docs/storage.md "Memory").
constexpr int kMmapThresholdBytes = 1024 * 1024;
constexpr int kTrimThresholdBytes = 8 * 1024 * 1024;

}  // namespace

int main(int argc, char** argv) {
    mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
    mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes);
    std::vector<std::string_view> args(argv + 1, argv + argc);
    return imap::server::run_cli(args, std::cout, std::cerr);
}
