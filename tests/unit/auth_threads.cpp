// What sessions on several event loops share, called from several threads
// at once: LoginLimits (server/auth/login_limits.h), AccountAuthenticator
// with its credential cache and accounts database
// (server/auth/account_authenticator.h) and the structured log
// (server/base/log.h). Each test hammers one of them from kThreads threads
// and then checks that nothing was lost or torn; built with
// -fsanitize=thread (docs/testing.md) they also prove the absence of data
// races. Catch2's assertions are not thread-safe: the threads only record,
// the main thread checks.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/auth/account_authenticator.h"
#include "server/auth/credential_cache.h"
#include "server/auth/login_limits.h"
#include "server/auth/work_pool.h"
#include "server/base/log.h"
#include "store/accounts.h"

using namespace std::chrono_literals;
using imap::server::AccountAuthenticator;
using imap::server::AuthRequest;
using imap::server::AuthResult;
using imap::server::Config;
using imap::server::LoginLimits;
using imap::server::LogLevel;
using imap::server::WorkPool;

namespace {

constexpr int kThreads = 8;

const bool kQuietLogs = [] {
    imap::server::log::set_level(LogLevel::Error);
    return true;
}();

// Runs body(thread index) on kThreads threads, started together.
void on_threads(const std::function<void(int)>& body) {
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            while (!go.load())
                std::this_thread::yield();
            body(t);
        });
    }
    go = true;
    for (std::thread& thread : threads)
        thread.join();
}

imap::store::PasswordHashing fast() {
    return {"$5$", 1000};
}

}  // namespace

TEST_CASE("LoginLimits from several threads: every failure counted, every slot given back",
          "[threads]") {
    Config config;
    config.max_connections_per_user = 1000000;
    config.failed_login_delay = 1ms;
    config.failed_login_delay_max = 1s;
    config.failed_login_reset = 1h;
    LoginLimits limits(config);
    constexpr int kRounds = 5000;
    on_threads([&](int t) {
        const std::string own_peer = "198.51.100." + std::to_string(t);
        for (int i = 0; i < kRounds; ++i) {
            // Case variants of two users, so threads meet on the same entries.
            const std::string user = i % 2 == 0 ? "Alice" : "bob";
            (void)limits.failed("192.0.2.1");  // one address, shared by all
            (void)limits.penalty("192.0.2.1");
            if (limits.admit(i % 3 == 0 ? "ALICE" : user, own_peer)) {
                (void)limits.connections_of("alice");
                limits.release(i % 3 == 0 ? "alice" : user);
            }
            (void)limits.failed(own_peer);
            (void)limits.tracked_addresses();
        }
    });
    CHECK(limits.failures_from("192.0.2.1") == kThreads * kRounds);
    CHECK(limits.connections_of("alice") == 0);
    CHECK(limits.connections_of("bob") == 0);
    // Each thread's own address: its failures, forgiven by each admit().
    for (int t = 0; t < kThreads; ++t)
        CHECK(limits.failures_from("198.51.100." + std::to_string(t)) == 1);
}

TEST_CASE("LoginLimits from several threads: never more sessions of a user than the limit",
          "[threads]") {
    constexpr std::size_t kLimit = 3;
    Config config;
    config.max_connections_per_user = kLimit;
    config.failed_login_delay = 0ms;
    LoginLimits limits(config);
    std::atomic<int> inside{0};
    std::atomic<int> most{0};
    std::atomic<int> admitted{0};
    on_threads([&](int t) {
        for (int i = 0; i < 2000; ++i) {
            if (!limits.admit(t % 2 ? "carol" : "CAROL", "192.0.2.9")) continue;
            ++admitted;
            const int now = ++inside;
            int seen = most.load();
            while (now > seen && !most.compare_exchange_weak(seen, now)) {
            }
            --inside;
            limits.release("carol");
        }
    });
    CHECK(most.load() <= static_cast<int>(kLimit));
    CHECK(admitted.load() > 0);
    CHECK(limits.connections_of("carol") == 0);
}

TEST_CASE(
    "AccountAuthenticator from several threads: every answer right, through the cache and "
    "the pool alike",
    "[threads]") {
    imap::store::AccountStore accounts(imap::store::OpenOptions{}, fast());
    for (int u = 0; u < 4; ++u)
        accounts.create_user("user" + std::to_string(u), "pw" + std::to_string(u));
    WorkPool pool(2, 1000);
    AccountAuthenticator authenticator(accounts, &pool);
    // Answers may come on any thread here: each "loop" runs what is posted
    // at once.
    const imap::server::PostToLoop run_now = [](std::function<void()> task) { task(); };
    std::mutex answers_mutex;
    std::map<std::string, std::vector<AuthResult>> answers;  // by "thread/kind"
    std::atomic<int> pending{0};
    constexpr int kRounds = 40;
    on_threads([&](int t) {
        for (int i = 0; i < kRounds; ++i) {
            const int u = (t + i) % 4;
            const bool right = i % 4 != 3;
            const bool on_pool = i % 2 == 0;
            const std::string key = std::to_string(t) + (right ? "/right" : "/wrong");
            ++pending;
            authenticator.authenticate(
                AuthRequest{"USER" + std::to_string(u),
                            imap::Secret(right ? "pw" + std::to_string(u) : "nope"),
                            "192.0.2." + std::to_string(t), on_pool ? run_now : nullptr, nullptr},
                [&, key](AuthResult result) {
                    const std::lock_guard lock(answers_mutex);
                    answers[key].push_back(result);
                    --pending;
                });
        }
    });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (pending.load() != 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    REQUIRE(pending.load() == 0);
    for (int t = 0; t < kThreads; ++t) {
        const std::vector<AuthResult>& right = answers[std::to_string(t) + "/right"];
        const std::vector<AuthResult>& wrong = answers[std::to_string(t) + "/wrong"];
        CHECK(right == std::vector<AuthResult>(kRounds * 3 / 4, AuthResult::Ok));
        CHECK(wrong == std::vector<AuthResult>(kRounds / 4, AuthResult::Failed));
    }
    // Each wrong password was hashed; the right ones only now and then.
    CHECK(authenticator.hashes_computed() >= kThreads * kRounds / 4);
    CHECK(authenticator.hashes_computed() < kThreads * kRounds);
}

TEST_CASE("log from several threads: whole lines, none lost, while the level changes",
          "[threads]") {
    // Standard error goes to a file for the test.
    const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                       ("imapd-log-threads-" + std::to_string(::getpid()));
    const int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    REQUIRE(file >= 0);
    const int saved = ::dup(STDERR_FILENO);
    REQUIRE(saved >= 0);
    REQUIRE(::dup2(file, STDERR_FILENO) == STDERR_FILENO);
    ::close(file);
    imap::server::log::set_level(LogLevel::Info);
    constexpr int kLines = 200;
    std::atomic<bool> logging{true};
    std::thread level_changer([&] {
        while (logging.load()) {
            imap::server::log::set_level(LogLevel::Debug);
            imap::server::log::set_level(LogLevel::Info);
        }
    });
    on_threads([](int t) {
        for (int i = 0; i < kLines; ++i) {
            // Up to 9 KB: longer than PIPE_BUF and stdio's buffer, so a line
            // written in pieces would show.
            const std::string value(static_cast<std::size_t>(1 + (t * 997 + i * 131) % 9000),
                                    static_cast<char>('a' + t));
            imap::server::log::info("hammer", {{"thread", t}, {"line", i}, {"value", value}});
        }
    });
    logging = false;
    level_changer.join();
    imap::server::log::set_level(LogLevel::Error);
    std::fflush(stderr);
    REQUIRE(::dup2(saved, STDERR_FILENO) == STDERR_FILENO);
    ::close(saved);

    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    std::filesystem::remove(path);
    // The prefix by a regex, the long value by hand (std::regex recurses
    // per character).
    const std::regex prefix_re(R"(^\S+Z info hammer thread=(\d) line=(\d+) value=$)");
    std::vector<std::vector<bool>> seen(kThreads, std::vector<bool>(kLines, false));
    std::string line;
    int lines = 0;
    int torn = 0;
    while (std::getline(content, line)) {
        ++lines;
        const std::size_t value_at = line.find(" value=");
        std::smatch m;
        const std::string prefix =
            value_at == std::string::npos ? line : line.substr(0, value_at + 7);
        if (!std::regex_match(prefix, m, prefix_re) || value_at + 7 == line.size() ||
            line.find_first_not_of(static_cast<char>('a' + std::stoi(m[1].str())), value_at + 7) !=
                std::string::npos) {
            ++torn;
            continue;
        }
        seen[static_cast<std::size_t>(std::stoi(m[1].str()))]
            [static_cast<std::size_t>(std::stoi(m[2].str()))] = true;
    }
    CHECK(torn == 0);
    CHECK(lines == kThreads * kLines);
    int missing = 0;
    for (const auto& thread_lines : seen)
        for (bool s : thread_lines)
            missing += s ? 0 : 1;
    CHECK(missing == 0);
}
