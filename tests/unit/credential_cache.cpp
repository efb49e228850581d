// The verified-credential cache (server/auth/credential_cache.h) alone and
// inside AccountAuthenticator: a login with the password verified a moment
// ago against the same stored hash costs no hash computation; a changed
// hash, the TTL, a failure or the size bound end that; a wrong password is
// never cached. docs/security.md, "Authentication".
#include "server/auth/credential_cache.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/auth/account_authenticator.h"
#include "server/auth/work_pool.h"
#include "server/base/log.h"
#include "store/accounts.h"

using namespace std::chrono_literals;
using imap::server::AccountAuthenticator;
using imap::server::AuthRequest;
using imap::server::AuthResult;
using imap::server::CredentialCache;
using imap::server::kCredentialCacheTtl;
using imap::server::WorkPool;

namespace {

const bool kQuietLogs = [] {
    imap::server::log::set_level(imap::server::LogLevel::Error);
    return true;
}();

// A steady clock the test moves by hand.
struct ManualClock {
    std::chrono::steady_clock::time_point now{};
    CredentialCache::Clock clock() {
        return [this] { return now; };
    }
};

imap::store::PasswordHashing fast() {
    return {"$5$", 1000};
}

// An authenticator without a pool (answers inline) over a fresh accounts
// database with alice ("secret") and bob ("pw"), its cache on `clock`.
struct Fixture {
    explicit Fixture(ManualClock& clock, std::size_t capacity = 16)
        : accounts(imap::store::OpenOptions{}, fast()),
          authenticator(
              accounts, nullptr,
              std::make_unique<CredentialCache>(kCredentialCacheTtl, capacity, clock.clock())) {
        accounts.create_user("alice", "secret");
        accounts.create_user("bob", "pw");
    }
    AuthResult login(std::string user, std::string password) {
        std::vector<AuthResult> answers;
        authenticator.authenticate(
            AuthRequest{std::move(user), imap::Secret(password), "192.0.2.1", {}, nullptr},
            [&](AuthResult result) { answers.push_back(result); });
        REQUIRE(answers.size() == 1);
        return answers.front();
    }
    imap::store::AccountStore accounts;
    AccountAuthenticator authenticator;
};

}  // namespace

TEST_CASE("CredentialCache: a remembered triple hits, any other user, hash or password misses",
          "[credential_cache]") {
    ManualClock clock;
    CredentialCache cache(5min, 16, clock.clock());
    CHECK_FALSE(cache.contains("alice", "$5$hash", "secret"));
    cache.remember("alice", "$5$hash", "secret");
    CHECK(cache.contains("alice", "$5$hash", "secret"));
    CHECK_FALSE(cache.contains("alice", "$5$hash", "Secret"));
    CHECK_FALSE(cache.contains("alice", "$5$hash", "secret "));
    CHECK_FALSE(cache.contains("alice", "$5$other", "secret"));  // imapd user passwd
    CHECK_FALSE(cache.contains("bob", "$5$hash", "secret"));
    // The parts are length-prefixed: moving bytes between them is a miss.
    CHECK_FALSE(cache.contains("alice", "$5$has", "hsecret"));
    CHECK(cache.contains("alice", "$5$hash", "secret"));
    // One entry per user: remembering the new hash replaces the old.
    cache.remember("alice", "$5$new", "changed");
    CHECK(cache.size() == 1);
    CHECK_FALSE(cache.contains("alice", "$5$hash", "secret"));
    CHECK(cache.contains("alice", "$5$new", "changed"));
    cache.forget("alice");
    CHECK_FALSE(cache.contains("alice", "$5$new", "changed"));
    CHECK(cache.size() == 0);
}

TEST_CASE(
    "CredentialCache: an entry lives for the TTL from its verification, hits do not extend it",
    "[credential_cache]") {
    ManualClock clock;
    CredentialCache cache(5min, 16, clock.clock());
    cache.remember("alice", "$5$hash", "secret");
    clock.now += 4min;
    CHECK(cache.contains("alice", "$5$hash", "secret"));
    clock.now += 59s;
    CHECK(cache.contains("alice", "$5$hash", "secret"));
    clock.now += 1s;  // 5 min after remember(), despite the hits
    CHECK_FALSE(cache.contains("alice", "$5$hash", "secret"));
    CHECK(cache.size() == 0);  // the expired entry went at the lookup
    // A fresh verification starts a fresh TTL.
    cache.remember("alice", "$5$hash", "secret");
    clock.now += 4min;
    CHECK(cache.contains("alice", "$5$hash", "secret"));
}

TEST_CASE("CredentialCache: past its capacity the least recently used user goes",
          "[credential_cache]") {
    ManualClock clock;
    CredentialCache cache(5min, 3, clock.clock());
    cache.remember("u1", "h", "p1");
    cache.remember("u2", "h", "p2");
    cache.remember("u3", "h", "p3");
    CHECK(cache.contains("u1", "h", "p1"));  // u1 used: u2 is now the oldest
    cache.remember("u4", "h", "p4");
    CHECK(cache.size() == 3);
    CHECK_FALSE(cache.contains("u2", "h", "p2"));
    CHECK(cache.contains("u1", "h", "p1"));
    CHECK(cache.contains("u3", "h", "p3"));
    CHECK(cache.contains("u4", "h", "p4"));
    for (int i = 0; i < 100; ++i)
        cache.remember("flood" + std::to_string(i), "h", "p");
    CHECK(cache.size() == 3);
}

TEST_CASE("CredentialCache: a TTL or capacity of zero remembers nothing", "[credential_cache]") {
    CredentialCache no_ttl(0s, 16);
    no_ttl.remember("alice", "h", "p");
    CHECK_FALSE(no_ttl.contains("alice", "h", "p"));
    CredentialCache no_room(5min, 0);
    no_room.remember("alice", "h", "p");
    CHECK_FALSE(no_room.contains("alice", "h", "p"));
    CHECK(no_room.size() == 0);
}

TEST_CASE("AccountAuthenticator: the second login with the right password costs no hash",
          "[credential_cache]") {
    ManualClock clock;
    Fixture f(clock);
    CHECK(f.login("alice", "secret") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 1);
    for (int i = 0; i < 5; ++i)
        CHECK(f.login("ALICE", "secret") == AuthResult::Ok);  // canonical name: same entry
    CHECK(f.authenticator.hashes_computed() == 1);
    // Another user's first login is hashed.
    CHECK(f.login("bob", "pw") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 2);
}

TEST_CASE("AccountAuthenticator: a changed stored hash makes the old password fail at once",
          "[credential_cache]") {
    ManualClock clock;
    Fixture f(clock);
    CHECK(f.login("alice", "secret") == AuthResult::Ok);
    CHECK(f.login("alice", "secret") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 1);
    // What `imapd user passwd` does, from any process: a new hash.
    f.accounts.set_password("alice", "new secret");
    CHECK(f.login("alice", "secret") == AuthResult::Failed);
    CHECK(f.authenticator.hashes_computed() == 2);
    CHECK(f.login("alice", "new secret") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 3);
    CHECK(f.login("alice", "new secret") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 3);
    // The same password set again gets a new salt, so a new hash: a miss.
    f.accounts.set_password("alice", "new secret");
    CHECK(f.login("alice", "new secret") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 4);
}

TEST_CASE("AccountAuthenticator: after the TTL the password is hashed again",
          "[credential_cache]") {
    ManualClock clock;
    Fixture f(clock);
    CHECK(f.login("alice", "secret") == AuthResult::Ok);
    clock.now += kCredentialCacheTtl - 1s;
    CHECK(f.login("alice", "secret") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 1);
    clock.now += 1s;
    CHECK(f.login("alice", "secret") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 2);
}

TEST_CASE(
    "AccountAuthenticator: a wrong password is never cached, always hashed, and drops the "
    "user's entry",
    "[credential_cache]") {
    ManualClock clock;
    Fixture f(clock);
    for (int i = 1; i <= 3; ++i) {
        CHECK(f.login("alice", "wrong") == AuthResult::Failed);
        CHECK(f.authenticator.hashes_computed() == static_cast<std::uint64_t>(i));
    }
    CHECK(f.login("alice", "secret") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 4);
    CHECK(f.login("alice", "wrong") == AuthResult::Failed);
    CHECK(f.authenticator.hashes_computed() == 5);
    // The failure dropped the entry: the right password is hashed again.
    CHECK(f.login("alice", "secret") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 6);
    // Unknown users cost their dummy hash every time and are never cached.
    CHECK(f.login("nobody", "x") == AuthResult::Failed);
    CHECK(f.login("nobody", "x") == AuthResult::Failed);
    CHECK(f.authenticator.hashes_computed() == 8);
}

TEST_CASE("AccountAuthenticator: a disabled account is refused even with cached credentials",
          "[credential_cache]") {
    ManualClock clock;
    Fixture f(clock);
    CHECK(f.login("alice", "secret") == AuthResult::Ok);
    f.accounts.set_disabled("alice", true);
    CHECK(f.login("alice", "secret") == AuthResult::Failed);
    f.accounts.set_disabled("alice", false);
    CHECK(f.login("alice", "secret") == AuthResult::Ok);
    CHECK(f.authenticator.hashes_computed() == 1);
}

TEST_CASE(
    "AccountAuthenticator with a pool: a cached answer comes through post_to_loop like a "
    "hashed one, needs no pool slot, and is dropped when cancelled",
    "[credential_cache]") {
    imap::store::AccountStore accounts(imap::store::OpenOptions{}, fast());
    accounts.create_user("alice", "secret");
    WorkPool pool(1, 1);  // one thread, one may wait
    AccountAuthenticator authenticator(accounts, &pool);
    // The "loop": closures posted from any thread, run when the test says.
    std::mutex posted_mutex;
    std::vector<std::function<void()>> posted;
    const imap::server::PostToLoop post = [&](std::function<void()> task) {
        const std::lock_guard lock(posted_mutex);
        posted.push_back(std::move(task));
    };
    const auto run_posted = [&] {
        std::vector<std::function<void()>> tasks;
        {
            const std::lock_guard lock(posted_mutex);
            tasks.swap(posted);
        }
        for (auto& task : tasks)
            task();
        return tasks.size();
    };
    std::vector<AuthResult> answers;
    const auto ask = [&](std::shared_ptr<std::atomic<bool>> cancelled = nullptr) {
        authenticator.authenticate(
            AuthRequest{"alice", imap::Secret("secret"), "192.0.2.1", post, std::move(cancelled)},
            [&](AuthResult result) { answers.push_back(result); });
    };
    ask();  // hashed on the pool
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (run_posted() == 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    REQUIRE(answers == std::vector<AuthResult>{AuthResult::Ok});
    CHECK(authenticator.hashes_computed() == 1);

    // Hold the pool's only thread and fill its queue: a hashed login is
    // Unavailable now.
    std::mutex hold;
    std::unique_lock held(hold);
    std::atomic<bool> holding{false};
    REQUIRE(pool.try_submit([&] {
        holding = true;
        const std::lock_guard wait(hold);
    }));
    while (!holding)
        std::this_thread::yield();
    REQUIRE(pool.try_submit([] {}));
    authenticator.authenticate(
        AuthRequest{"alice", imap::Secret("wrong"), "192.0.2.1", post, nullptr},
        [&](AuthResult result) { answers.push_back(result); });
    REQUIRE(answers == std::vector<AuthResult>{AuthResult::Ok, AuthResult::Unavailable});
    answers.clear();
    ask();
    CHECK(answers.empty());  // not answered inline: posted
    CHECK(run_posted() == 1);
    CHECK(answers == std::vector<AuthResult>{AuthResult::Ok});
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    ask(cancelled);
    cancelled->store(true);  // the session went before the answer ran
    CHECK(run_posted() == 1);
    CHECK(answers.size() == 1);
    held.unlock();
    CHECK(authenticator.hashes_computed() == 1);
}
