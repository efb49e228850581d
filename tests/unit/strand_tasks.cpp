// Strand (server/net/executor.h): a user's tasks run one at a time, in
// order, and a task can ask whether others of the user wait behind it
// (Strand::has_waiting), which is how a background index batch learns to
// stop early (store::IndexLimits::yield_when, docs/storage.md "The search
// index").
#include <catch2/catch.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "server/auth/work_pool.h"
#include "server/net/executor.h"

using imap::server::Strand;
using imap::server::WorkPool;

TEST_CASE("Strand: tasks run in order, and each sees whether others wait behind it", "[strand]") {
    WorkPool pool(3, 1000, "test-strand");
    auto strand = std::make_shared<Strand>(pool);
    std::mutex mutex;
    std::condition_variable changed;
    bool release = false;
    bool started = false;
    std::vector<int> order;
    std::vector<bool> others_waited;
    // The first task holds the strand until the other two are posted.
    strand->post([&] {
        std::unique_lock lock(mutex);
        started = true;
        changed.notify_all();
        changed.wait(lock, [&] { return release; });
        order.push_back(1);
        others_waited.push_back(strand->has_waiting());
    });
    {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return started; });
    }
    CHECK_FALSE(strand->has_waiting());  // the running task is not waiting
    for (int n = 2; n <= 3; ++n) {
        strand->post([&, n] {
            std::lock_guard lock(mutex);
            order.push_back(n);
            others_waited.push_back(strand->has_waiting());
            changed.notify_all();
        });
    }
    CHECK(strand->has_waiting());
    {
        std::unique_lock lock(mutex);
        release = true;
        changed.notify_all();
        changed.wait(lock, [&] { return order.size() == 3; });
    }
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(others_waited == std::vector<bool>{true, true, false});
    CHECK_FALSE(strand->has_waiting());
}
