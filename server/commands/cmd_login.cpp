// LOGIN (RFC 3501 6.2.3), and the end of every authentication
// (complete_authentication, shared with AUTHENTICATE).
#include <chrono>
#include <utility>

#include "server/commands/handlers.h"
#include "server/session.h"

namespace imap::server {

bool refuse_plaintext_if_needed(Session& session, const std::string& tag) {
    if (session.plaintext_auth_allowed()) return false;
    // RFC 3501 6.2.3 (LOGINDISABLED) and RFC 5530 PRIVACYREQUIRED.
    session.complete(tag, Status::No, Code::PrivacyRequired,
                     "Plaintext authentication is not allowed without TLS");
    return true;
}

void complete_authentication(Session& session, const std::string& tag, std::string user,
                             AuthResult result) {
    LoginGate* gate = session.context().login_gate;
    switch (result) {
        case AuthResult::Ok:
            // The server's per-user connection limit (RFC 5530 LIMIT).
            if (gate && !gate->admit(user, session.context().peer)) {
                session.complete(tag, Status::No, Code::Limit,
                                 "Too many connections for this user");
                return;
            }
            if (!session.logged_in(user)) {
                if (gate) gate->release(user);
                session.complete(tag, Status::No, Code::Unavailable,
                                 "Your mail cannot be opened just now, try again later");
                return;
            }
            // The capabilities change with the state (RFC 3501 6.2.3 allows
            // sending them here), so clients need no extra CAPABILITY.
            session.complete(tag, Status::Ok, ResponseCode::capability(session.capabilities()),
                             "Logged in");
            return;
        case AuthResult::Failed:
            // The growing per-address delay: the answer, and every command
            // pipelined behind it, waits (Session::delay).
            if (const auto wait =
                    gate ? gate->failed(session.context().peer) : std::chrono::milliseconds::zero();
                wait > std::chrono::milliseconds::zero()) {
                session.delay(wait, [tag](Session& s) {
                    s.complete(tag, Status::No, Code::AuthenticationFailed,
                               "Authentication failed");
                });
                return;
            }
            session.complete(tag, Status::No, Code::AuthenticationFailed, "Authentication failed");
            return;
        case AuthResult::Unavailable:
            session.complete(tag, Status::No, Code::Unavailable,
                             "Authentication is temporarily unavailable, try again later");
            return;
    }
}

void cmd_login(Session& session, Command& command) {
    auto& login = std::get<LoginCommand>(command.body);
    if (refuse_plaintext_if_needed(session, command.tag)) return;
    AuthResult result =
        session.authenticator().authenticate(login.user, login.password, session.context().peer);
    complete_authentication(session, command.tag, std::move(login.user), result);
}

}  // namespace imap::server
