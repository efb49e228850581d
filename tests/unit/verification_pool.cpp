// Password verification off the event loop: WorkPool (bounded threads and
// queue), LoopInbox (answers run on the loop's thread) and
// AccountAuthenticator with both, on a real libuv loop. The flood case: past
// the queue, attempts are refused (Unavailable) at once instead of waiting.
#include <uv.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "server/auth/account_authenticator.h"
#include "server/auth/work_pool.h"
#include "server/base/log.h"
#include "server/net/loop_inbox.h"
#include "store/accounts.h"

using namespace std::chrono_literals;
using imap::server::AccountAuthenticator;
using imap::server::AuthRequest;
using imap::server::AuthResult;
using imap::server::LoopInbox;
using imap::server::WorkPool;

namespace {

const bool kQuietLogs = [] {
    imap::server::log::set_level(imap::server::LogLevel::Error);
    return true;
}();

// A gate a job waits at until the test opens it.
class Latch {
  public:
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        cv_.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [this] { return open_; });
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

// A libuv loop with an inbox; run_until() turns it until `done` or 5 s.
struct Loop {
    Loop() {
        uv_loop_init(&loop);
        inbox = std::make_unique<LoopInbox>(&loop);
    }
    ~Loop() {
        inbox->close();
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    }
    template <typename Done>
    bool run_until(Done done) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            uv_run(&loop, UV_RUN_NOWAIT);
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }
    imap::server::PostToLoop post() {
        return [inbox = inbox.get()](std::function<void()> task) { inbox->post(std::move(task)); };
    }
    uv_loop_t loop{};
    std::unique_ptr<LoopInbox> inbox;
};

imap::store::PasswordHashing fast() {
    return {"$5$", 1000};
}

}  // namespace

TEST_CASE("WorkPool runs jobs on its threads and refuses past its queue", "[verification]") {
    WorkPool pool(1, 2);
    Latch latch;
    std::atomic<int> ran{0};
    const auto main_thread = std::this_thread::get_id();
    std::atomic<bool> on_other_thread{false};
    REQUIRE(pool.try_submit([&] {
        on_other_thread = std::this_thread::get_id() != main_thread;
        latch.wait();
        ++ran;
    }));
    // The thread is busy: two may wait, the third is refused.
    while (pool.waiting() != 0)
        std::this_thread::yield();
    CHECK(pool.try_submit([&] { ++ran; }));
    CHECK(pool.try_submit([&] { ++ran; }));
    CHECK_FALSE(pool.try_submit([&] { ++ran; }));
    CHECK(pool.waiting() == 2);
    latch.open();
    while (ran != 3)
        std::this_thread::yield();
    CHECK(on_other_thread);
    CHECK(pool.try_submit([&] { ++ran; }));
}

TEST_CASE("WorkPool drops jobs still waiting when it goes", "[verification]") {
    std::atomic<int> ran{0};
    Latch latch;
    std::thread opener;
    {
        WorkPool pool(1, 4);
        REQUIRE(pool.try_submit([&] {
            latch.wait();
            ++ran;
        }));
        while (pool.waiting() != 0)
            std::this_thread::yield();
        REQUIRE(pool.try_submit([&] { ++ran; }));
        opener = std::thread([&] {
            std::this_thread::sleep_for(50ms);
            latch.open();
        });
    }  // the running job finishes; the waiting one never runs
    opener.join();
    CHECK(ran == 1);
}

TEST_CASE("LoopInbox runs what other threads post on the loop, in order, and nothing after close",
          "[verification]") {
    Loop loop;
    std::vector<int> order;
    std::thread::id ran_on;
    std::thread poster([&] {
        for (int i = 0; i < 100; ++i)
            loop.inbox->post([&, i] {
                order.push_back(i);
                ran_on = std::this_thread::get_id();
            });
    });
    poster.join();
    REQUIRE(loop.run_until([&] { return order.size() == 100; }));
    CHECK(ran_on == std::this_thread::get_id());
    for (int i = 0; i < 100; ++i)
        CHECK(order[static_cast<std::size_t>(i)] == i);
    loop.inbox->close();
    loop.inbox->post([&] { order.push_back(-1); });  // dropped
    uv_run(&loop.loop, UV_RUN_NOWAIT);
    CHECK(order.size() == 100);
}

TEST_CASE("AccountAuthenticator checks the hash on the pool and answers on the loop",
          "[verification]") {
    imap::store::AccountStore accounts(imap::store::OpenOptions{}, fast());
    accounts.create_user("alice", "secret");
    accounts.create_user("carol", "pw");
    accounts.set_disabled("carol", true);
    WorkPool pool(2, 8);
    Loop loop;
    AccountAuthenticator authenticator(accounts, &pool);
    std::vector<std::pair<std::string, AuthResult>> answers;
    std::thread::id answered_on;
    const auto ask = [&](std::string user, std::string password) {
        AuthRequest request{user, imap::Secret(password), "192.0.2.1", loop.post(), nullptr};
        authenticator.authenticate(std::move(request), [&, user](AuthResult result) {
            answers.emplace_back(user, result);
            answered_on = std::this_thread::get_id();
        });
    };
    ask("alice", "secret");
    ask("ALICE", "wrong");
    ask("nobody", "secret");
    ask("carol", "pw");
    ask("bad name", "x");
    CHECK(answers.empty());  // nothing inline: the hashes run elsewhere
    REQUIRE(loop.run_until([&] { return answers.size() == 5; }));
    CHECK(answered_on == std::this_thread::get_id());
    std::map<std::string, AuthResult> by_user(answers.begin(), answers.end());
    CHECK(by_user["alice"] == AuthResult::Ok);
    CHECK(by_user["ALICE"] == AuthResult::Failed);
    CHECK(by_user["nobody"] == AuthResult::Failed);
    CHECK(by_user["carol"] == AuthResult::Failed);  // disabled
    CHECK(by_user["bad name"] == AuthResult::Failed);
}

TEST_CASE(
    "AccountAuthenticator: past the pool's queue an attempt is Unavailable at once, and a "
    "cancelled one is never answered",
    "[verification]") {
    imap::store::AccountStore accounts(imap::store::OpenOptions{}, fast());
    accounts.create_user("alice", "secret");
    WorkPool pool(1, 1);
    Loop loop;
    AccountAuthenticator authenticator(accounts, &pool);
    // Hold the pool's only thread.
    Latch latch;
    REQUIRE(pool.try_submit([&] { latch.wait(); }));
    while (pool.waiting() != 0)
        std::this_thread::yield();
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    std::vector<AuthResult> answers;
    authenticator.authenticate(
        AuthRequest{"alice", imap::Secret("secret"), "192.0.2.1", loop.post(), cancelled},
        [&](AuthResult result) { answers.push_back(result); });
    // The queue (one) is full now: refused at once.
    authenticator.authenticate(
        AuthRequest{"alice", imap::Secret("secret"), "192.0.2.1", loop.post(), nullptr},
        [&](AuthResult result) { answers.push_back(result); });
    CHECK(answers == std::vector<AuthResult>{AuthResult::Unavailable});
    // The waiting one's session goes: it is skipped, never answered.
    cancelled->store(true);
    latch.open();
    while (pool.waiting() != 0)
        std::this_thread::yield();
    std::this_thread::sleep_for(50ms);
    uv_run(&loop.loop, UV_RUN_NOWAIT);
    CHECK(answers.size() == 1);
    // Without a pool (tools, tests) it answers inline.
    AccountAuthenticator inline_authenticator(accounts);
    inline_authenticator.authenticate(
        AuthRequest{"alice", imap::Secret("secret"), "192.0.2.1", {}, nullptr},
        [&](AuthResult result) { answers.push_back(result); });
    CHECK(answers == std::vector<AuthResult>{AuthResult::Unavailable, AuthResult::Ok});
}
