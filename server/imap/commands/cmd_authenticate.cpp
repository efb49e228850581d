// AUTHENTICATE (RFC 3501 6.2.2) with SASL-IR (RFC 4959): IMAP's framing of
// the server's SASL mechanisms (server/auth/sasl.h: PLAIN, LOGIN, SCRAM-*).
//
// Each client response is one raw line (Framer::expect_raw_line), base64
// (RFC 4648 with padding, checked strictly). "*" cancels the exchange with a
// tagged BAD (RFC 3501 6.2.2); so does undecodable base64, and so does a
// response the mechanism cannot parse. A challenge goes out as "+ base64";
// SCRAM's server-final message too (IMAP4rev1 has no success data, RFC 4422
// 3.6), which the client answers with an empty line before the tagged OK.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "server/auth/sasl.h"
#include "server/base/log.h"
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {
namespace {

using Exchange = std::shared_ptr<sasl::Exchange>;

// Base64 `text`, or the refusal BAD.
Checked<Secret> decode_or_refuse(std::string_view text) {
    std::optional<Secret> decoded = sasl::decode_base64(text);
    if (!decoded) return CommandResult::bad("Invalid base64 data");
    return std::move(*decoded);
}

// One client response: "*" cancels, anything else must be base64; the
// refusal BAD otherwise.
Checked<Secret> read_response(std::string_view line) {
    if (line == "*") return CommandResult::bad("Authentication cancelled");
    return decode_or_refuse(line);
}

// The SASL-IR initial response as the parser kept it: "=" is an empty
// response (RFC 4959 3), anything else base64.
Checked<Secret> read_initial_response(const Secret& initial) {
    if (initial.reveal() == "=") return Secret();
    return decode_or_refuse(initial.reveal());
}

CommandResult failure(Session& session, const sasl::Step& step, bool penalised) {
    switch (step.failure) {
        case sasl::Failure::Malformed:
            return CommandResult::bad(step.reason);
        case sasl::Failure::AuthenticationFailed:
            log::info("login_failed", {{"user", step.authcid}, {"peer", session.context().peer}});
            return finish_authentication(session, step.authcid, AuthResult::Failed, penalised,
                                         step.reason);
        case sasl::Failure::AuthorizationFailed:
            return CommandResult::no(Code::AuthorizationFailed, step.reason);
        case sasl::Failure::Unavailable:
            return finish_authentication(session, step.authcid, AuthResult::Unavailable, penalised);
    }
    return CommandResult::bad(step.reason);
}

CommandResult drive(Session& session, const Exchange& exchange, sasl::Step step,
                    bool penalised = false);

// The client's next response goes to the exchange; an address with recent
// failures waits its penalty first when that response is checked (as LOGIN
// waits before its password check, LoginGate::penalty).
CommandResult await_response(const Exchange& exchange) {
    return CommandResult::continuation([exchange](Session& s, std::string_view line) {
        Checked<Secret> response = read_response(line);
        if (!response) return response.refusal();
        if (!exchange->next_response_verifies())
            return drive(s, exchange, exchange->respond(*response));
        LoginGate* gate = s.context().login_gate;
        const auto penalty =
            gate ? gate->penalty(s.context().peer) : std::chrono::milliseconds::zero();
        if (penalty <= std::chrono::milliseconds::zero()) {
            return drive(s, exchange, exchange->respond(*response));
        }
        return CommandResult::delay(
            penalty, [exchange, response = std::move(*response)](Session& later) {
                return drive(later, exchange, exchange->respond(response), true);
            });
    });
}

CommandResult drive(Session& session, const Exchange& exchange, sasl::Step step, bool penalised) {
    switch (step.kind) {
        case sasl::Step::Kind::Challenge:
            session.writer().challenge(step.challenge);
            return await_response(exchange);
        case sasl::Step::Kind::CheckPassword: {
            AfterPasswordCheck authorize;
            if (!step.authzid.empty()) {
                authorize = [authzid = step.authzid,
                             authcid = step.authcid](Session&) -> std::optional<CommandResult> {
                    // RFC 4616 2: the authorization identity is derived from
                    // authcid when empty; acting as another user is not
                    // supported. RFC 5530 AUTHORIZATIONFAILED: the
                    // credentials were right, the identity is not.
                    if (sasl::authorized(authzid, authcid)) return std::nullopt;
                    return CommandResult::no(Code::AuthorizationFailed,
                                             "Not allowed to act as another user");
                };
            }
            return authenticate(session, std::move(step.authcid), std::move(step.password),
                                std::move(authorize));
        }
        case sasl::Step::Kind::NeedScramCredentials: {
            std::optional<store::ScramCredentials> credentials =
                session.authenticator().scram_credentials(step.authcid, step.hash);
            if (!credentials) {
                return finish_authentication(session, step.authcid, AuthResult::Unavailable, false);
            }
            return drive(session, exchange, exchange->provide_credentials(*credentials));
        }
        case sasl::Step::Kind::Success:
            log::info(
                "login_ok",
                {{"user", step.authcid}, {"peer", session.context().peer}, {"verified", "scram"}});
            // Through the session's login path (run_as_user), as a password
            // check's answer.
            return CommandResult::verified(
                step.authcid, AuthResult::Ok,
                [user = step.authcid, penalised](Session& s, AuthResult result) {
                    return finish_authentication(s, user, result, penalised);
                });
        case sasl::Step::Kind::Failure:
            break;
    }
    return failure(session, step, penalised);
}

}  // namespace

sasl::Connection sasl_connection(const Session& session) {
    return sasl::describe_connection(session.plaintext_auth_allowed(),
                                     session.authenticator().offers_scram(), session.tls_active(),
                                     session.context().channel_binding);
}

CommandResult cmd_authenticate(Session& session, Command& command) {
    auto& auth = std::get<AuthenticateCommand>(command.body);
    sasl::Registry::Started started =
        sasl::Registry::standard().start(auth.mechanism, sasl_connection(session));
    if (!started.exchange) {
        if (started.refusal == sasl::Registry::Refusal::PlaintextNotAllowed) {
            if (std::optional<CommandResult> refusal = refuse_plaintext_if_needed(session)) {
                return std::move(*refusal);
            }
        }
        // RFC 3501 6.2.2: NO for an unsupported mechanism.
        return CommandResult::no("Unsupported authentication mechanism");
    }
    std::optional<Secret> initial;
    if (auth.initial_response) {
        Checked<Secret> decoded = read_initial_response(*auth.initial_response);
        if (!decoded) return decoded.refusal();
        initial = std::move(*decoded);
    }
    Exchange exchange(std::move(started.exchange));
    return drive(session, exchange, exchange->start(std::move(initial)));
}

}  // namespace imap::server
