// LOGIN (RFC 3501 6.2.3), and the authentication every plaintext mechanism
// shares (authenticate(), used by AUTHENTICATE too).
#include <chrono>
#include <utility>

#include "server/base/metrics.h"
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {
namespace {

using std::chrono::milliseconds;

// `answer` now, or after `wait` (CommandResult::delay: the answer and every
// command pipelined behind it are held back).
CommandResult answer_after(Session& session, milliseconds wait, DelayedHandler answer) {
    if (wait > milliseconds::zero()) return CommandResult::delay(wait, std::move(answer));
    return answer(session);
}

}  // namespace

CommandResult finish_authentication(Session& session, const std::string& user, AuthResult result,
                                    bool penalised, std::string failure_text) {
    LoginGate* gate = session.context().login_gate;
    const std::string& peer = session.context().peer;
    switch (result) {
        case AuthResult::Ok:
            // The server's per-user connection limit (RFC 5530 LIMIT).
            if (gate && !gate->admit(user, peer)) {
                return CommandResult::no(Code::Limit, "Too many connections for this user");
            }
            if (!session.logged_in(user)) {
                if (gate) gate->release(user);
                return CommandResult::no(Code::Unavailable,
                                         "Your mail cannot be opened just now, try again later");
            }
            metrics().login(true);
            // The capabilities change with the state (RFC 3501 6.2.3 allows
            // sending them here), so clients need no extra CAPABILITY.
            return CommandResult::ok(ResponseCode::capability(session.capabilities()), "Logged in");
        case AuthResult::Failed: {
            metrics().login(false);
            // Counted whether or not this attempt waited: the address's next
            // attempt waits longer.
            const milliseconds wait = gate ? gate->failed(peer) : milliseconds::zero();
            return answer_after(session, penalised ? milliseconds::zero() : wait,
                                [text = std::move(failure_text)](Session&) {
                                    return CommandResult::no(Code::AuthenticationFailed, text);
                                });
        }
        case AuthResult::Unavailable:
            break;
    }
    const milliseconds wait = gate && !penalised ? gate->unavailable(peer) : milliseconds::zero();
    return answer_after(session, wait, [](Session&) {
        return CommandResult::no(Code::Unavailable,
                                 "Authentication is temporarily unavailable, try again later");
    });
}

std::optional<CommandResult> refuse_plaintext_if_needed(Session& session) {
    if (session.plaintext_auth_allowed()) return std::nullopt;
    // RFC 3501 6.2.3 (LOGINDISABLED) and RFC 5530 PRIVACYREQUIRED.
    return CommandResult::no(Code::PrivacyRequired,
                             "Plaintext authentication is not allowed without TLS");
}

CommandResult authenticate(Session& session, std::string user, Secret password,
                           AfterPasswordCheck check) {
    LoginGate* gate = session.context().login_gate;
    const milliseconds penalty =
        gate ? gate->penalty(session.context().peer) : milliseconds::zero();
    const bool penalised = penalty > milliseconds::zero();
    auto verify = [user, password, check, penalised](Session&) {
        return CommandResult::verify(user, password,
                                     [user, check, penalised](Session& s, AuthResult result) {
                                         if (result == AuthResult::Ok && check) {
                                             if (std::optional<CommandResult> refusal = check(s))
                                                 return std::move(*refusal);
                                         }
                                         return finish_authentication(s, user, result, penalised);
                                     });
    };
    // An address with recent failures waits before its credentials are
    // looked at, whatever they turn out to be (LoginGate::penalty).
    return answer_after(session, penalty, std::move(verify));
}

CommandResult cmd_login(Session& session, Command& command) {
    auto& login = std::get<LoginCommand>(command.body);
    if (std::optional<CommandResult> refusal = refuse_plaintext_if_needed(session)) {
        return std::move(*refusal);
    }
    return authenticate(session, std::move(login.user), std::move(login.password));
}

}  // namespace imap::server
