// Test support: a Session without sockets. Feed it the bytes a client sends,
// get back exactly the bytes the server would send, with a fake
// Authenticator that knows a fixed set of users and in-memory mail stores.
// Two drivers given the same MailAccess are two connections of one server:
//
//   server::UserMailRegistry mail(store::DataDir::in_memory());
//   SessionDriver a(mail), b(mail);
//   a.login(); b.login();
//
//   SessionDriver d;                      // plaintext, not loopback
//   CHECK(d.greeting() == "* OK [CAPABILITY ...] imapd ready.\r\n");
//   CHECK(d.send("a NOOP\r\n") == "a OK NOOP completed\r\n");
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/output_buffer.h"
#include "server/imap/authenticator.h"
#include "server/imap/session.h"
#include "server/imap/user_mail.h"
#include "store/data_dir.h"

namespace imap::test {

class FakeAuthenticator : public server::Authenticator {
  public:
    // user -> password
    std::map<std::string, std::string, std::less<>> users = {{"alice", "secret"}};
    // When set, every call returns this instead of checking `users`.
    std::optional<server::AuthResult> forced;
    // Each call's user name and peer, in order.
    std::vector<std::pair<std::string, std::string>> calls;
    // When true, answers are held in `pending` until answer_pending(), like
    // an authenticator that hashes on another thread; else they come at
    // once, inside authenticate().
    bool deferred = false;
    std::vector<std::function<void()>> pending;

    void authenticate(server::AuthRequest request,
                      std::function<void(server::AuthResult)> done) override {
        calls.emplace_back(request.user, request.peer);
        server::AuthResult result = server::AuthResult::Failed;
        if (forced) {
            result = *forced;
        } else if (auto it = users.find(request.user);
                   it != users.end() && it->second == request.password.reveal()) {
            result = server::AuthResult::Ok;
        }
        if (!deferred) {
            done(result);
            return;
        }
        pending.push_back([done, result, cancelled = request.cancelled] {
            if (cancelled && cancelled->load()) return;
            done(result);
        });
    }

    // Delivers the held answers, oldest first; returns how many there were.
    std::size_t answer_pending() {
        std::vector<std::function<void()>> answers;
        answers.swap(pending);
        for (auto& answer : answers)
            answer();
        return answers.size();
    }
};

// How the connection looks to the session.
struct Transport {
    bool tls = false;
    bool loopback = false;
    bool starttls_available = true;
};

inline server::SessionContext make_context(Transport transport) {
    server::SessionContext context;
    context.tls = transport.tls;
    context.plaintext_auth_allowed = transport.loopback;
    context.starttls_available = transport.starttls_available;
    context.peer = transport.loopback ? "127.0.0.1" : "192.0.2.7";
    return context;
}

inline std::string drain(OutputBuffer& out) {
    std::string bytes;
    while (!out.empty()) {
        bytes.append(out.front());
        out.consume(out.front().size());
    }
    return bytes;
}

// What drive() saw.
struct Drained {
    std::string bytes;
    std::size_t max_output = 0;
    int pauses = 0;
};

// Sends `client` to `d`, then drains it as the Connection does: takes
// `slice` bytes of output at a time and calls resume() once the output is
// below `low_water`. Records the largest output size seen and how often the
// session paused. `on_pause` runs at each pause, before the resume (another
// session's change between two steps of a command).
template <typename Driver>
Drained drive(Driver& d, const std::string& client, std::size_t slice, std::size_t low_water,
              const std::function<void()>& on_pause = {}) {
    Drained r;
    OutputBuffer& out = d.session.output();
    d.session.receive(client);
    for (;;) {
        r.max_output = std::max(r.max_output, out.size());
        std::size_t taken = 0;
        while (taken < slice && !out.empty()) {
            const std::string_view front = out.front();
            const std::size_t n = std::min(front.size(), slice - taken);
            r.bytes.append(front.substr(0, n));
            out.consume(n);
            taken += n;
        }
        if (d.session.input_paused()) {
            if (out.size() < low_water) {
                ++r.pauses;
                if (on_pause) on_pause();
                d.session.resume();
            }
            continue;
        }
        if (out.empty()) break;
    }
    return r;
}

// `bytes` with every RFC 8474 MAILBOXID value ("MAILBOXID (F...)" in
// SELECT, EXAMINE, CREATE and STATUS) written as "MAILBOXID (*)": the
// values are random (store/schema.cpp mail_v6), so tests that are not
// about them compare every other byte. tests/unit/session_objectid.cpp
// checks the values themselves (SessionDriver::mask_object_ids = false).
inline std::string mask_mailbox_ids(std::string bytes) {
    static constexpr std::string_view kItem = "MAILBOXID (";
    for (std::size_t at = bytes.find(kItem); at != std::string::npos;
         at = bytes.find(kItem, at + 1)) {
        const std::size_t begin = at + kItem.size();
        const std::size_t end = bytes.find(')', begin);
        if (end == std::string::npos) break;
        bytes.replace(begin, end - begin, "*");
    }
    return bytes;
}

class SessionDriver {
  public:
    explicit SessionDriver(Transport transport = {})
        : session(make_context(transport), auth, &own_mail) {}
    SessionDriver(Transport transport, FramerLimits limits)
        : session(with_limits(make_context(transport), limits), auth, &own_mail) {}
    // A connection to the server whose mail is `mail` (shared with other
    // drivers). Loopback, so LOGIN works without TLS.
    explicit SessionDriver(server::MailAccess& mail, Transport transport = {.loopback = true})
        : session(make_context(transport), auth, &mail) {}
    // The same with a context the test made (make_context() and more).
    SessionDriver(server::MailAccess& mail, server::SessionContext context)
        : session(std::move(context), auth, &mail) {}

    // Greets and logs in as alice; REQUIREs that it worked.
    void login(const std::string& user = "alice", const std::string& password = "secret") {
        greeting();
        auth.users[user] = password;
        const std::string reply = send("L0 LOGIN " + user + " " + password + "\r\n");
        if (reply.rfind("L0 OK ", 0) != 0) throw std::runtime_error("login failed: " + reply);
    }

    // The greeting's bytes.
    std::string greeting() {
        session.greeting();
        return drain(session.output());
    }

    // Feeds `client` in one receive() and returns what the server wrote.
    std::string send(std::string_view client) {
        session.receive(client);
        return mask(drain(session.output()));
    }

    // Feeds `client` one byte per receive(): the output must not depend on
    // how the bytes arrive.
    std::string send_bytewise(std::string_view client) {
        std::string out;
        for (char c : client) {
            session.receive(std::string_view(&c, 1));
            out += drain(session.output());
        }
        return mask(out);
    }

    // send() and send_bytewise() mask MAILBOXID values (mask_mailbox_ids).
    bool mask_object_ids = true;
    std::string mask(std::string bytes) const {
        return mask_object_ids ? mask_mailbox_ids(std::move(bytes)) : bytes;
    }

    // What the transport does after a successful STARTTLS.
    void complete_starttls() { session.tls_started(); }

    FakeAuthenticator auth;
    server::UserMailRegistry own_mail{store::DataDir::in_memory()};
    server::Session session;

  private:
    static server::SessionContext with_limits(server::SessionContext context, FramerLimits limits) {
        context.framer_limits = limits;
        return context;
    }
};

// Sends `client`, then resumes the session each time it paused on its
// output (as the Connection does once the client has read) until it is
// idle; returns everything written.
inline std::string send_all(SessionDriver& d, const std::string& client) {
    std::string out = d.send(client);
    while (d.session.input_paused()) {
        d.session.resume();
        out += drain(d.session.output());
    }
    return out;
}

}  // namespace imap::test
