// LOGIN (RFC 3501 6.2.3), and the authentication every plaintext mechanism
// shares (authenticate_and_complete, used by AUTHENTICATE too).
#include <chrono>
#include <utility>

#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {
namespace {

using std::chrono::milliseconds;

// `answer` now, or after `wait` (Session::delay: the answer and every
// command pipelined behind it are held back).
void answer_after(Session& session, milliseconds wait, std::function<void(Session&)> answer) {
    if (wait > milliseconds::zero()) {
        session.delay(wait, std::move(answer));
    } else {
        answer(session);
    }
}

// The tagged answer for `result`. `penalised`: the attempt already waited
// LoginGate::penalty() before it was checked, so its answer waits no more.
void complete_authentication(Session& session, const std::string& tag, const std::string& user,
                             AuthResult result, bool penalised) {
    LoginGate* gate = session.context().login_gate;
    const std::string& peer = session.context().peer;
    switch (result) {
        case AuthResult::Ok:
            // The server's per-user connection limit (RFC 5530 LIMIT).
            if (gate && !gate->admit(user, peer)) {
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
        case AuthResult::Failed: {
            // Counted whether or not this attempt waited: the address's next
            // attempt waits longer.
            const milliseconds wait = gate ? gate->failed(peer) : milliseconds::zero();
            answer_after(session, penalised ? milliseconds::zero() : wait, [tag](Session& s) {
                s.complete(tag, Status::No, Code::AuthenticationFailed, "Authentication failed");
            });
            return;
        }
        case AuthResult::Unavailable: {
            const milliseconds wait =
                gate && !penalised ? gate->unavailable(peer) : milliseconds::zero();
            answer_after(session, wait, [tag](Session& s) {
                s.complete(tag, Status::No, Code::Unavailable,
                           "Authentication is temporarily unavailable, try again later");
            });
            return;
        }
    }
}

}  // namespace

bool refuse_plaintext_if_needed(Session& session, const std::string& tag) {
    if (session.plaintext_auth_allowed()) return false;
    // RFC 3501 6.2.3 (LOGINDISABLED) and RFC 5530 PRIVACYREQUIRED.
    session.complete(tag, Status::No, Code::PrivacyRequired,
                     "Plaintext authentication is not allowed without TLS");
    return true;
}

void authenticate_and_complete(Session& session, std::string tag, std::string user, Secret password,
                               AfterPasswordCheck check) {
    LoginGate* gate = session.context().login_gate;
    const milliseconds penalty =
        gate ? gate->penalty(session.context().peer) : milliseconds::zero();
    const bool penalised = penalty > milliseconds::zero();
    auto verify = [tag, user, password, check, penalised](Session& s) {
        s.verify_credentials(user, password,
                             [tag, user, check, penalised](Session& s2, AuthResult result) {
                                 if (result == AuthResult::Ok && check && !check(s2)) return;
                                 complete_authentication(s2, tag, user, result, penalised);
                             });
    };
    // An address with recent failures waits before its credentials are
    // looked at, whatever they turn out to be (LoginGate::penalty).
    answer_after(session, penalty, std::move(verify));
}

void cmd_login(Session& session, Command& command) {
    auto& login = std::get<LoginCommand>(command.body);
    if (refuse_plaintext_if_needed(session, command.tag)) return;
    authenticate_and_complete(session, command.tag, std::move(login.user),
                              std::move(login.password));
}

}  // namespace imap::server
