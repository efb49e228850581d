// Strand (server/net/executor.h): a user's tasks run one at a time, in
// order, and a task can ask whether others of the user wait behind it
// (Strand::has_waiting), which is how a background index batch learns to
// stop early (store::IndexLimits::yield_when, docs/storage.md "The search
// index").
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
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

// At shutdown the pool goes with some strands' turns still waiting. A
// session's host posts its drain to its user's strand and keeps that strand
// as its executor: a cycle. Unless the dropped turn drops the strand's
// tasks, the host, its session and the user's whole store outlive the
// server (LeakSanitizer saw exactly that after SIGTERM with threads=4).
TEST_CASE("Strand: a turn the stopping pool never runs drops the strand's tasks, cycles included",
          "[strand]") {
    struct Holder {
        std::shared_ptr<Strand> strand;
    };
    std::weak_ptr<Holder> watched_holder;
    std::weak_ptr<Strand> watched_strand;
    std::mutex mutex;
    std::condition_variable changed;
    bool started = false;
    bool release = false;
    std::thread opener;
    {
        WorkPool pool(1, 1000, "test-strand");
        // The only worker is busy until the pool is going.
        REQUIRE(pool.try_submit([&] {
            std::unique_lock lock(mutex);
            started = true;
            changed.notify_all();
            changed.wait(lock, [&] { return release; });
        }));
        {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return started; });
        }
        auto strand = std::make_shared<Strand>(pool);
        auto holder = std::make_shared<Holder>(Holder{strand});
        strand->post([holder] { (void)holder; });
        strand->post([holder] { (void)holder; });
        CHECK(pool.waiting() == 1);  // one turn for the strand, not one per task
        watched_holder = holder;
        watched_strand = strand;
        holder.reset();
        strand.reset();
        REQUIRE_FALSE(watched_holder.expired());  // held by the strand's tasks only
        opener = std::thread([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            std::lock_guard lock(mutex);
            release = true;
            changed.notify_all();
        });
    }  // the running job finishes; the strand's turn is dropped
    opener.join();
    CHECK(watched_holder.expired());
    CHECK(watched_strand.expired());
}

TEST_CASE("Strand: tasks of a strand whose turn the pool refused are dropped, not kept",
          "[strand]") {
    // No threads and no room: the pool refuses every turn, as a stopping one.
    WorkPool refusing(0, 0, "test-strand");
    auto strand = std::make_shared<Strand>(refusing);
    auto value = std::make_shared<int>(1);
    std::weak_ptr<int> watched = value;
    strand->post([value] { (void)value; });
    strand->post([value] { (void)value; });  // after the refusal
    value.reset();
    CHECK(watched.expired());
    CHECK_FALSE(strand->has_waiting());
}
