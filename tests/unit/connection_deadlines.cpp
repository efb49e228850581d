// ConnectionDeadlines (server/net/connection_deadlines.h): which timeout applies
// to a connection and when, with a hand-moved clock. RFC 3501 5.4
// (autologout), RFC 2177 (IDLE), and the absolute bound on the pre-login
// phase that trickled bytes cannot extend.
#include "server/net/connection_deadlines.h"

#include <catch2/catch.hpp>
#include <chrono>

using namespace std::chrono_literals;
using imap::server::ConnectionDeadlines;
using imap::server::DeadlineSettings;
using Phase = ConnectionDeadlines::Phase;
using Kind = ConnectionDeadlines::Kind;

namespace {

const ConnectionDeadlines::Clock::time_point kOpened{1000s};
const DeadlineSettings kTimeouts{.pre_auth = 60s,
                                 .login = 180s,
                                 .autologout = 30min,
                                 .idle = 29min,
                                 .output_backlog = 60s,
                                 .max_output_backlog = 8 * 1024 * 1024};

}  // namespace

TEST_CASE("Before login: inactivity after pre_auth, whatever the activity the login deadline",
          "[deadlines]") {
    ConnectionDeadlines deadlines(kTimeouts, kOpened);
    auto next = deadlines.next(Phase::NotAuthenticated, false);
    REQUIRE(next);
    CHECK(next->when == kOpened + 60s);
    CHECK(next->kind == Kind::Inactivity);
    // A byte every 50 s keeps the connection from being inactive...
    deadlines.activity(kOpened + 50s);
    deadlines.activity(kOpened + 100s);
    next = deadlines.next(Phase::NotAuthenticated, false);
    CHECK(next->when == kOpened + 160s);
    CHECK(next->kind == Kind::Inactivity);
    // ...but not past the login deadline (B.7: trickling does not help).
    deadlines.activity(kOpened + 150s);
    next = deadlines.next(Phase::NotAuthenticated, false);
    CHECK(next->when == kOpened + 180s);
    CHECK(next->kind == Kind::Login);
    deadlines.activity(kOpened + 179s);
    CHECK(deadlines.next(Phase::NotAuthenticated, false)->when == kOpened + 180s);
}

TEST_CASE(
    "Before login, waiting on the server (a failed login's delay, a password check): only "
    "the login deadline",
    "[deadlines]") {
    ConnectionDeadlines deadlines(kTimeouts, kOpened);
    const auto next = deadlines.next(Phase::NotAuthenticated, true);
    REQUIRE(next);
    CHECK(next->when == kOpened + 180s);
    CHECK(next->kind == Kind::Login);
}

TEST_CASE("RFC 3501 5.4: after login the autologout counts from the last activity", "[deadlines]") {
    ConnectionDeadlines deadlines(kTimeouts, kOpened);
    deadlines.activity(kOpened + 10s);
    auto next = deadlines.next(Phase::Authenticated, false);
    REQUIRE(next);
    CHECK(next->when == kOpened + 10s + 30min);
    CHECK(next->kind == Kind::Inactivity);
    // Long past the login deadline: it no longer applies.
    deadlines.activity(kOpened + 1h);
    CHECK(deadlines.next(Phase::Authenticated, false)->when == kOpened + 1h + 30min);
    CHECK_FALSE(deadlines.next(Phase::Authenticated, true).has_value());
}

TEST_CASE("RFC 2177: the IDLE timeout counts from the start of IDLE", "[deadlines]") {
    ConnectionDeadlines deadlines(kTimeouts, kOpened);
    deadlines.idle_started(kOpened + 5min);
    deadlines.activity(kOpened + 20min);  // e.g. a partial DONE
    const auto next = deadlines.next(Phase::Idling, false);
    REQUIRE(next);
    CHECK(next->when == kOpened + 5min + 29min);
    CHECK(next->kind == Kind::Idle);
}

TEST_CASE(
    "Unsent output above max_output_backlog for output_backlog ends the connection, in "
    "every phase",
    "[deadlines]") {
    constexpr std::size_t kMax = 8 * 1024 * 1024;
    ConnectionDeadlines deadlines(kTimeouts, kOpened);
    deadlines.activity(kOpened + 1h);
    deadlines.unsent_output(kMax, kOpened + 1h);  // at the bound: fine
    CHECK(deadlines.next(Phase::Authenticated, false)->kind == Kind::Inactivity);
    deadlines.unsent_output(kMax + 1, kOpened + 1h + 1s);
    auto next = deadlines.next(Phase::Authenticated, false);
    REQUIRE(next);
    CHECK(next->kind == Kind::Backlog);
    CHECK(next->when == kOpened + 1h + 1s + 60s);
    // Still above later: the deadline counts from when it went above.
    deadlines.unsent_output(kMax * 2, kOpened + 1h + 30s);
    deadlines.idle_started(kOpened + 1h);
    CHECK(deadlines.next(Phase::Idling, false)->when == kOpened + 1h + 1s + 60s);
    CHECK(deadlines.next(Phase::Authenticated, true)->kind == Kind::Backlog);
    // A client that reads falls below it: forgotten.
    deadlines.unsent_output(1024, kOpened + 1h + 40s);
    CHECK(deadlines.next(Phase::Authenticated, false)->kind == Kind::Inactivity);
    CHECK_FALSE(deadlines.next(Phase::Authenticated, true).has_value());
    deadlines.unsent_output(kMax + 1, kOpened + 1h + 50s);
    CHECK(deadlines.next(Phase::Authenticated, false)->when == kOpened + 1h + 50s + 60s);
}
