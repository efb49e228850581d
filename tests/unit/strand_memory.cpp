// Memory a user's strand frees goes back to the system (docs/storage.md
// "Memory"): a command that runs in many short closures on different
// workers (STORE or FETCH in steps) leaves nothing behind in the workers'
// glibc arenas once its strand is idle (Strand::kTrimFreeBytes).
#include <malloc.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/auth/work_pool.h"
#include "server/net/executor.h"
#include "support/hostile_bound.h"

using imap::server::Strand;
using imap::server::WorkPool;

namespace {

std::size_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    statm >> pages >> resident;
    return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

TEST_CASE("A strand's steps that built 96 MiB leave it to the system once the strand is idle",
          "[strand][memory]") {
    if (imap::test::kSanitizerSlowdown > 1) {
        WARN("not checked: the sanitizers' allocator is not glibc's arenas");
        return;
    }
    WorkPool pool(4, 1000, "test-strand");
    auto strand = std::make_shared<Strand>(pool);
    // Pieces built by 24 closures (a few ms each, never kTrimAfterTask),
    // freed by the last: each closure may run on another worker, with its
    // own arena.
    auto pieces = std::make_shared<std::vector<std::unique_ptr<char[]>>>();
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    const std::size_t before = resident_bytes();
    constexpr std::size_t kPiece = 4096;
    constexpr std::size_t kPieces = 96 * 1024 * 1024 / kPiece;
    for (int step = 0; step < 24; ++step) {
        strand->post([pieces] {
            for (std::size_t i = 0; i < kPieces / 24; ++i) {
                pieces->emplace_back(new char[kPiece]);
                pieces->back()[0] = 1;  // touched: resident
                pieces->back()[kPiece - 1] = 1;
            }
        });
    }
    std::size_t peak = 0;
    strand->post([&, pieces] {
        peak = resident_bytes();
        pieces->clear();
        pieces->shrink_to_fit();
        std::lock_guard lock(mutex);
        finished = true;
        done.notify_all();
    });
    {
        std::unique_lock lock(mutex);
        done.wait(lock, [&] { return finished; });
    }
    REQUIRE(peak > before + 80 * 1024 * 1024);
    // The strand went idle after the last closure; its check may have come
    // within kTrimCheckInterval of another's, so give it a few chances.
    std::size_t after = resident_bytes();
    for (int i = 0; i < 20 && after > before + 32 * 1024 * 1024; ++i) {
        std::this_thread::sleep_for(Strand::kTrimCheckInterval);
        strand->post([] {});
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        after = resident_bytes();
    }
    CHECK(after < before + 32 * 1024 * 1024);
}
