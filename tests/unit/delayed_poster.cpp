// DelayedPoster (server/net/delayed_poster.h): closures run after their
// delay, in the order they fall due, on the poster's thread; those not
// due when it is destroyed never run.
#include "server/net/delayed_poster.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using imap::server::DelayedPoster;
using namespace std::chrono_literals;

TEST_CASE("DelayedPoster runs closures when due, in due order, never early", "[server]") {
    std::mutex mutex;
    std::condition_variable done;
    std::vector<std::string> ran;
    const auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration first_at{};
    {
        DelayedPoster poster;
        poster.post_after(60ms, [&] {
            std::lock_guard lock(mutex);
            ran.push_back("late");
            done.notify_one();
        });
        poster.post_after(20ms, [&] {
            std::lock_guard lock(mutex);
            first_at = std::chrono::steady_clock::now() - start;
            ran.push_back("early");
        });
        std::unique_lock lock(mutex);
        REQUIRE(done.wait_for(lock, 5s, [&] { return ran.size() == 2; }));
    }
    CHECK(ran == std::vector<std::string>{"early", "late"});
    CHECK(first_at >= 20ms);  // a lower bound only: never before its delay
}

TEST_CASE("DelayedPoster drops what is not due when it is destroyed", "[server]") {
    std::atomic<int> ran{0};
    {
        DelayedPoster poster;
        poster.post_after(10min, [&] { ++ran; });
    }  // joins at once, without waiting ten minutes
    CHECK(ran.load() == 0);
}
