// The login policies around authentication (server/imap/authenticator.h
// LoginGate, server/auth/login_limits.h LoginLimits): the per-user connection
// limit (RFC 5530 LIMIT) and the growing failed-login delay per address.
// The Session half is tested without sockets: a delayed answer is held back,
// with every command pipelined behind it, until delay_elapsed().
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "server/auth/login_limits.h"
#include "server/base/log.h"
#include "support/session_driver.h"

using namespace std::chrono_literals;
using imap::server::Config;
using imap::server::LoginGate;
using imap::server::LoginLimits;
using imap::server::Session;
using imap::server::SessionState;
using imap::test::drain;
using imap::test::FakeAuthenticator;
using imap::test::make_context;

namespace {

// LoginLimits logs every delay and refusal; keep the test output readable.
const bool kQuietLogs = [] {
    imap::server::log::set_level(imap::server::LogLevel::Error);
    return true;
}();

// A gate that answers as told and records what it was asked.
class FakeGate : public LoginGate {
  public:
    bool admit_answer = true;
    std::chrono::milliseconds delay{0};
    std::chrono::milliseconds penalty_answer{0};
    std::chrono::milliseconds unavailable_answer{0};
    std::vector<std::string> admitted, released, failed_peers, penalty_peers;

    bool admit(std::string_view user, std::string_view peer) override {
        admitted.push_back(std::string(user) + "@" + std::string(peer));
        return admit_answer;
    }
    void release(std::string_view user) override { released.emplace_back(user); }
    std::chrono::milliseconds penalty(std::string_view peer) override {
        penalty_peers.emplace_back(peer);
        return penalty_answer;
    }
    std::chrono::milliseconds failed(std::string_view peer) override {
        failed_peers.emplace_back(peer);
        return delay;
    }
    std::chrono::milliseconds unavailable(std::string_view) override { return unavailable_answer; }
};

// One session of a server whose gate is `gate`; loopback, so LOGIN works.
struct GatedSession {
    explicit GatedSession(LoginGate& gate) : session(context(gate), auth) {
        session.greeting();
        drain(session.output());
    }
    static imap::server::SessionContext context(LoginGate& gate) {
        auto c = make_context({.loopback = true});
        c.login_gate = &gate;
        return c;
    }
    std::string send(std::string_view bytes) {
        session.receive(bytes);
        return drain(session.output());
    }
    std::string elapse() {
        session.delay_elapsed();
        return drain(session.output());
    }
    FakeAuthenticator auth;
    Session session;
};

// The capabilities as the tagged OK of a login carries them.
std::string caps(const Session& session) {
    std::string joined;
    for (const std::string& cap : session.capabilities()) {
        joined += (joined.empty() ? "" : " ") + cap;
    }
    return joined;
}

// A steady clock the test moves by hand.
struct ManualClock {
    std::chrono::steady_clock::time_point now{};
    LoginLimits::Clock clock() {
        return [this] { return now; };
    }
};

Config limits_config(std::size_t per_user, std::chrono::milliseconds delay,
                     std::chrono::milliseconds delay_max, std::chrono::milliseconds reset) {
    Config config;
    config.max_connections_per_user = per_user;
    config.failed_login_delay = delay;
    config.failed_login_delay_max = delay_max;
    config.failed_login_reset = reset;
    return config;
}

}  // namespace

// ---- Session with a gate ------------------------------------------------------

TEST_CASE("login gate: a successful LOGIN is admitted with the user and the peer",
          "[login_gate][session]") {
    FakeGate gate;
    GatedSession s(gate);
    CHECK(s.send("a LOGIN alice secret\r\n").starts_with("a OK [CAPABILITY "));
    CHECK(s.session.state() == SessionState::Authenticated);
    CHECK(gate.admitted == std::vector<std::string>{"alice@127.0.0.1"});
    CHECK(gate.failed_peers.empty());
}

TEST_CASE("login gate: RFC 5530 LIMIT when the user is at its connection limit",
          "[login_gate][session]") {
    FakeGate gate;
    gate.admit_answer = false;
    GatedSession s(gate);
    CHECK(s.send("a LOGIN alice secret\r\n") ==
          "a NO [LIMIT] Too many connections for this user\r\n");
    CHECK(s.session.state() == SessionState::NotAuthenticated);
    CHECK(s.session.user().empty());
    // The same through AUTHENTICATE PLAIN (SASL-IR): "\0alice\0secret".
    CHECK(s.send("b AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n") ==
          "b NO [LIMIT] Too many connections for this user\r\n");
    CHECK(gate.admitted.size() == 2);
    CHECK(gate.released.empty());  // nothing was taken
}

TEST_CASE("login gate: a failed login without a delay is answered at once",
          "[login_gate][session]") {
    FakeGate gate;
    GatedSession s(gate);
    CHECK(s.send("a LOGIN alice wrong\r\n") ==
          "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
    CHECK_FALSE(s.session.delayed());
    CHECK(gate.failed_peers == std::vector<std::string>{"127.0.0.1"});
    CHECK(gate.admitted.empty());
}

TEST_CASE("login gate: a delayed failure holds back its answer and every pipelined command",
          "[login_gate][session]") {
    FakeGate gate;
    gate.delay = 500ms;
    GatedSession s(gate);
    // What came before the failed LOGIN is answered now.
    CHECK(s.send("a NOOP\r\nb LOGIN alice wrong\r\nc NOOP\r\nd LOGIN alice secret\r\n") ==
          "a OK NOOP completed\r\n");
    CHECK(s.session.delayed());
    CHECK(s.session.pending_delay() == 500ms);
    // More input while delayed is buffered, not run.
    CHECK(s.send("e NOOP\r\n").empty());
    CHECK(s.session.state() == SessionState::NotAuthenticated);
    const std::string out = s.elapse();
    CHECK(out ==
          "b NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
          "c OK NOOP completed\r\n"
          "d OK [CAPABILITY " +
              caps(s.session) + "] Logged in\r\ne OK NOOP completed\r\n");
    CHECK_FALSE(s.session.delayed());
    CHECK(s.session.pending_delay() == 0ms);
    CHECK(s.session.state() == SessionState::Authenticated);
}

TEST_CASE("login gate: two delayed failures in a pipeline wait one after the other",
          "[login_gate][session]") {
    FakeGate gate;
    gate.delay = 1s;
    GatedSession s(gate);
    CHECK(s.send("a LOGIN alice wrong\r\nb LOGIN bob wrong\r\nc NOOP\r\n").empty());
    gate.delay = 2s;
    CHECK(s.elapse() == "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
    CHECK(s.session.delayed());
    CHECK(s.session.pending_delay() == 2s);
    CHECK(s.elapse() ==
          "b NO [AUTHENTICATIONFAILED] Authentication failed\r\nc OK NOOP completed\r\n");
    CHECK(gate.failed_peers.size() == 2);
}

TEST_CASE("login gate: a failed AUTHENTICATE PLAIN exchange is delayed too",
          "[login_gate][session]") {
    FakeGate gate;
    gate.delay = 250ms;
    GatedSession s(gate);
    CHECK(s.send("a AUTHENTICATE PLAIN\r\n") == "+ \r\n");
    // "\0alice\0wrong"
    CHECK(s.send("AGFsaWNlAHdyb25n\r\nb NOOP\r\n").empty());
    CHECK(s.session.pending_delay() == 250ms);
    CHECK(s.elapse() ==
          "a NO [AUTHENTICATIONFAILED] Authentication failed\r\nb OK NOOP completed\r\n");
}

TEST_CASE("login gate: delay_elapsed without a delay does nothing", "[login_gate][session]") {
    FakeGate gate;
    GatedSession s(gate);
    CHECK(s.elapse().empty());
    CHECK(s.send("a NOOP\r\n") == "a OK NOOP completed\r\n");
}

TEST_CASE("login gate: LOGOUT while a delayed answer waits comes after it",
          "[login_gate][session]") {
    FakeGate gate;
    gate.delay = 100ms;
    GatedSession s(gate);
    CHECK(s.send("a LOGIN alice wrong\r\nb LOGOUT\r\n").empty());
    CHECK_FALSE(s.session.wants_close());
    const std::string out = s.elapse();
    CHECK(out.starts_with("a NO [AUTHENTICATIONFAILED] Authentication failed\r\n* BYE "));
    CHECK(out.ends_with("b OK LOGOUT completed\r\n"));
    CHECK(s.session.wants_close());
}

TEST_CASE(
    "login gate: an address with failures waits its penalty before the check, whatever "
    "the outcome",
    "[login_gate][session]") {
    FakeGate gate;
    gate.penalty_answer = 4s;
    gate.delay = 2s;  // what failed() says; a penalised attempt waits no more
    GatedSession s(gate);
    // The right password from a penalised address: nothing yet, not even
    // the check (a flood from the address costs no hashing while it waits).
    CHECK(s.send("a LOGIN alice secret\r\nb NOOP\r\n").empty());
    CHECK(s.session.pending_delay() == 4s);
    CHECK(s.auth.calls.empty());
    const std::string out = s.elapse();
    CHECK(out == "a OK [CAPABILITY " + caps(s.session) + "] Logged in\r\nb OK NOOP completed\r\n");
    CHECK(s.auth.calls.size() == 1);
    // A wrong password from it: the same wait, then the answer at once.
    GatedSession t(gate);
    CHECK(t.send("a LOGIN alice wrong\r\n").empty());
    CHECK(t.elapse() == "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
    CHECK_FALSE(t.session.delayed());
    CHECK(gate.failed_peers == std::vector<std::string>{"127.0.0.1"});
    CHECK(gate.penalty_peers.size() == 2);
}

TEST_CASE("login gate: UNAVAILABLE is answered after the gate's delay, counting no failure",
          "[login_gate][session]") {
    FakeGate gate;
    gate.unavailable_answer = 2s;
    GatedSession s(gate);
    s.auth.forced = imap::server::AuthResult::Unavailable;
    CHECK(s.send("a LOGIN alice secret\r\nb NOOP\r\n").empty());
    CHECK(s.session.pending_delay() == 2s);
    CHECK(s.elapse() ==
          "a NO [UNAVAILABLE] Authentication is temporarily unavailable, try again later\r\n"
          "b OK NOOP completed\r\n");
    CHECK(gate.failed_peers.empty());
}

TEST_CASE("login gate: while the password is checked elsewhere nothing more runs",
          "[login_gate][session]") {
    FakeGate gate;
    GatedSession s(gate);
    s.auth.deferred = true;  // answers later, like the verification pool
    int listened = 0;
    s.session.set_output_listener([&] { ++listened; });
    CHECK(s.send("a LOGIN alice secret\r\nb NOOP\r\n").empty());
    CHECK(s.session.verifying());
    CHECK(s.session.waiting_on_server());
    CHECK(s.send("c NOOP\r\n").empty());  // buffered, not run
    CHECK(s.auth.answer_pending() == 1);
    // The answer and everything behind it, and the transport is told.
    CHECK(drain(s.session.output()) == "a OK [CAPABILITY " + caps(s.session) +
                                           "] Logged in\r\nb OK NOOP completed\r\nc OK NOOP "
                                           "completed\r\n");
    CHECK(listened == 1);
    CHECK_FALSE(s.session.verifying());
    // A failure found later starts its delay then.
    gate.delay = 1s;
    GatedSession t(gate);
    t.auth.deferred = true;
    CHECK(t.send("a LOGIN alice wrong\r\nb NOOP\r\n").empty());
    t.auth.answer_pending();
    CHECK(drain(t.session.output()).empty());
    CHECK(t.session.pending_delay() == 1s);
    CHECK(t.elapse() ==
          "a NO [AUTHENTICATIONFAILED] Authentication failed\r\nb OK NOOP completed\r\n");
}

TEST_CASE("login gate: a session abandoned by its transport drops what it waits for",
          "[login_gate][session]") {
    FakeGate gate;
    GatedSession s(gate);
    s.auth.deferred = true;
    CHECK(s.send("a LOGIN alice secret\r\nb NOOP\r\n").empty());
    s.session.writer().bye("Server shutting down");  // what the Connection writes first
    s.session.abandon();
    CHECK(s.session.wants_close());
    CHECK_FALSE(s.session.waiting_on_server());
    CHECK(s.auth.answer_pending() == 1);
    CHECK(drain(s.session.output()) == "* BYE Server shutting down\r\n");
    CHECK(gate.admitted.empty());
    // A held-back failure too.
    gate.delay = 1s;
    GatedSession t(gate);
    CHECK(t.send("a LOGIN alice wrong\r\n").empty());
    t.session.abandon();
    CHECK(t.elapse().empty());
}

TEST_CASE("login gate: an answer for a session that is gone is dropped", "[login_gate][session]") {
    FakeGate gate;
    FakeAuthenticator auth;
    auth.deferred = true;
    {
        auto context = make_context({.loopback = true});
        context.login_gate = &gate;
        Session session(context, auth);
        session.receive("a LOGIN alice secret\r\n");
        CHECK(session.verifying());
    }
    CHECK(auth.answer_pending() == 1);  // and nothing touched the destroyed session
    CHECK(gate.admitted.empty());
}

// ---- LoginLimits: the per-user connection limit ---------------------------------

TEST_CASE("LoginLimits: counts per canonical user and refuses past the limit",
          "[login_gate][limits]") {
    LoginLimits limits(limits_config(2, 0ms, 0ms, 15min));
    CHECK(limits.admit("alice", "192.0.2.1"));
    CHECK(limits.admit("ALICE", "198.51.100.2"));  // another address, same user
    CHECK(limits.connections_of("Alice") == 2);
    CHECK_FALSE(limits.admit("alice", "192.0.2.1"));
    CHECK(limits.connections_of("alice") == 2);  // a refusal takes no slot
    CHECK(limits.admit("bob", "192.0.2.1"));     // other users are not affected
    limits.release("aLiCe");
    CHECK(limits.connections_of("alice") == 1);
    CHECK(limits.admit("alice", "192.0.2.1"));
    limits.release("alice");
    limits.release("alice");
    limits.release("alice");  // one too many: ignored, never below zero
    CHECK(limits.connections_of("alice") == 0);
    CHECK(limits.admit("alice", "192.0.2.1"));
}

TEST_CASE("LoginLimits: two sessions of one user with a limit of one", "[login_gate][limits]") {
    LoginLimits limits(limits_config(1, 0ms, 0ms, 15min));
    GatedSession first(limits), second(limits);
    second.auth.users["Alice"] = "secret";  // the fake is case-sensitive, the store is not
    CHECK(first.send("a LOGIN alice secret\r\n").starts_with("a OK "));
    CHECK(second.send("a LOGIN Alice secret\r\n") ==
          "a NO [LIMIT] Too many connections for this user\r\n");
    // What the Connection does when the first closes (SessionHost::retire).
    first.session.abandon();
    CHECK(limits.connections_of("alice") == 0);
    CHECK(second.send("b LOGIN alice secret\r\n").starts_with("b OK "));
}

// RFC 3501 6.1.3: after LOGOUT's tagged OK the session is over; its slot is
// free at once, not when the transport at last closes the socket (ten
// clients logging out and straight back in once found their old
// connections still counted: NO [LIMIT]).
TEST_CASE("login gate: LOGOUT gives the user's slot back at once, and only once",
          "[login_gate][session]") {
    FakeGate gate;
    GatedSession s(gate);
    CHECK(s.send("a LOGIN alice secret\r\n").starts_with("a OK "));
    CHECK(gate.released.empty());
    CHECK(s.send("z LOGOUT\r\n") == "* BYE Logging out\r\nz OK LOGOUT completed\r\n");
    CHECK(gate.released == std::vector<std::string>{"alice"});
    s.session.abandon();  // the connection closes afterwards
    CHECK(gate.released == std::vector<std::string>{"alice"});
}

TEST_CASE("login gate: abandon() gives a logged-in session's slot back, never one it did not take",
          "[login_gate][session]") {
    FakeGate gate;
    GatedSession logged_in(gate), refused(gate), anonymous(gate);
    CHECK(logged_in.send("a LOGIN alice secret\r\n").starts_with("a OK "));
    gate.admit_answer = false;
    CHECK(refused.send("a LOGIN alice secret\r\n") ==
          "a NO [LIMIT] Too many connections for this user\r\n");
    refused.session.abandon();
    anonymous.session.abandon();
    CHECK(gate.released.empty());
    logged_in.session.abandon();
    logged_in.session.abandon();
    CHECK(gate.released == std::vector<std::string>{"alice"});
}

// ---- LoginLimits: the failed-login delay ----------------------------------------

TEST_CASE("LoginLimits: the delay starts at the first failure and doubles up to the maximum",
          "[login_gate][delay]") {
    ManualClock clock;
    LoginLimits limits(limits_config(20, 2s, 60s, 15min), clock.clock());
    std::vector<std::chrono::milliseconds> delays;
    for (int i = 0; i < 8; ++i) {
        delays.push_back(limits.failed("192.0.2.1"));
        clock.now += 1s;
    }
    CHECK(delays == std::vector<std::chrono::milliseconds>{2s, 4s, 8s, 16s, 32s, 60s, 60s, 60s});
    CHECK(limits.failures_from("192.0.2.1") == 8);
    // Each address has its own count.
    CHECK(limits.failed("192.0.2.2") == 2s);
    CHECK(limits.failed("2001:db8::1") == 2s);
}

TEST_CASE("LoginLimits: the count is forgotten after a quiet time or a successful login",
          "[login_gate][delay]") {
    ManualClock clock;
    LoginLimits limits(limits_config(20, 500ms, 15s, 15min), clock.clock());
    CHECK(limits.failed("192.0.2.1") == 500ms);
    CHECK(limits.failed("192.0.2.1") == 1s);
    clock.now += 15min - 1ms;
    CHECK(limits.failed("192.0.2.1") == 2s);  // not quiet long enough
    clock.now += 15min;
    CHECK(limits.failures_from("192.0.2.1") == 0);
    CHECK(limits.failed("192.0.2.1") == 500ms);
    CHECK(limits.failed("192.0.2.1") == 1s);
    // A successful login from the address forgives it.
    CHECK(limits.admit("alice", "192.0.2.1"));
    CHECK(limits.failures_from("192.0.2.1") == 0);
    CHECK(limits.failed("192.0.2.1") == 500ms);
}

TEST_CASE("LoginLimits: after n failures every attempt waits what the next failure would",
          "[login_gate][delay]") {
    ManualClock clock;
    LoginLimits limits(limits_config(20, 2s, 60s, 15min), clock.clock());
    CHECK(limits.penalty("192.0.2.1") == 0ms);  // clean: checked at once
    CHECK(limits.failed("192.0.2.1") == 2s);    // first failure: its answer waits
    CHECK(limits.penalty("192.0.2.1") == 4s);
    limits.failed("192.0.2.1");
    CHECK(limits.penalty("192.0.2.1") == 8s);
    for (int i = 0; i < 10; ++i)
        limits.failed("192.0.2.1");
    CHECK(limits.penalty("192.0.2.1") == 60s);  // capped
    CHECK(limits.penalty("192.0.2.2") == 0ms);  // per address
    // Forgotten after a quiet time, or at a success.
    clock.now += 15min;
    CHECK(limits.penalty("192.0.2.1") == 0ms);
    limits.failed("192.0.2.1");
    CHECK(limits.admit("alice", "192.0.2.1"));
    CHECK(limits.penalty("192.0.2.1") == 0ms);
    // Unavailable: answered after the first failure's delay, not counted.
    CHECK(limits.unavailable("192.0.2.3") == 2s);
    CHECK(limits.failures_from("192.0.2.3") == 0);
}

TEST_CASE("LoginLimits: a delay of 0s disables it", "[login_gate][delay]") {
    LoginLimits limits(limits_config(20, 0ms, 0ms, 15min));
    for (int i = 0; i < 5; ++i)
        CHECK(limits.failed("192.0.2.1") == 0ms);
    CHECK(limits.tracked_addresses() == 0);
    CHECK(limits.penalty("192.0.2.1") == 0ms);
    CHECK(limits.unavailable("192.0.2.1") == 0ms);
}

TEST_CASE("LoginLimits: the maximum is never exceeded, whatever the count", "[login_gate][delay]") {
    ManualClock clock;
    LoginLimits limits(limits_config(20, 3s, 10s, 1h), clock.clock());
    std::chrono::milliseconds last{};
    for (int i = 0; i < 200; ++i)
        last = limits.failed("192.0.2.1");
    CHECK(last == 10s);
}

TEST_CASE("LoginLimits: expired addresses are pruned as the table grows", "[login_gate][delay]") {
    ManualClock clock;
    LoginLimits limits(limits_config(20, 1s, 2s, 1min), clock.clock());
    for (int i = 0; i < 1500; ++i)
        limits.failed("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256));
    CHECK(limits.tracked_addresses() == 1500);
    clock.now += 2min;
    for (int i = 0; i < 600; ++i)
        limits.failed("fd00::" + std::to_string(i));
    // The 1500 expired ones went when the table passed the pruning size.
    CHECK(limits.tracked_addresses() < 1500);
    CHECK(limits.failures_from("10.0.0.1") == 0);
    CHECK(limits.failures_from("fd00::1") == 1);
}
