// SASL (RFC 4422), server side, free of any one protocol: the mechanisms
// this server offers, and one exchange object per authentication attempt
// that IMAP's AUTHENTICATE (server/imap/commands/cmd_authenticate.cpp) and
// POP3's AUTH (RFC 5034) frame in their own way.
//
//   Registry::standard().advertised(connection)    -> names, in order
//   Registry::standard().start(name, connection)   -> an Exchange, or why not
//   exchange->start(initial_response)              -> the first Step
//   exchange->respond(response)                    -> the next Step, ...
//
// Bytes: an Exchange sees the client's responses already decoded from
// base64 (both IMAP and POP3 carry them base64; decode_base64() below is
// the strict decoder both use) and returns challenges as raw bytes for the
// framing to encode. Cancellation ("*" in both protocols) is the framing's
// business: it never reaches the exchange.
//
// What an exchange cannot do itself, it asks the framing for through its
// Step, and the framing carries on:
// - CheckPassword (PLAIN, LOGIN): the password is checked by the
//   Authenticator, off the event loop, with the LoginGate's delays around
//   it; authorize() then says whether the authorization identity is allowed.
// - NeedScramCredentials (SCRAM-*): the framing looks up the user's stored
//   SCRAM keys (ScramLookup) and hands them to provide_credentials(); an
//   unknown user, or an account without keys, gets made-up ones that look
//   the same (RFC 5802 9), and fails at the proof.
// - Success: the authenticated user; the framing applies the per-user
//   limit and opens the session as it does after LOGIN.
// - Failure: why, as a Failure the framing maps to its protocol's answer
//   (failure_code() for IMAP's RFC 5530 codes and POP3's RFC 3206 ones).
//
// Threads: an Exchange belongs to one connection and is used on its
// thread. Registry::standard() is immutable and shared.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/secret.h"
#include "store/scram.h"

namespace imap::server::sasl {

// RFC 4648 4, strictly: a multiple of four characters, "=" only as the
// final padding, and zero pad bits (RFC 4648 3.5 lets a decoder reject
// others). nullopt for anything else.
std::optional<Secret> decode_base64(std::string_view text);
std::string encode_base64(std::string_view bytes);

// Why an exchange ended without a user.
enum class Failure {
    // A response that breaks the mechanism's syntax (RFC 4422 3.7 lets the
    // server abort): IMAP "BAD" (RFC 3501 6.2.2), POP3 "-ERR".
    Malformed,
    // Wrong credentials, an unknown user, a SCRAM proof or channel binding
    // that does not verify: IMAP "NO [AUTHENTICATIONFAILED]" (RFC 5530),
    // POP3 "-ERR [AUTH]" (RFC 3206 4). Never says which.
    AuthenticationFailed,
    // The credentials were right, the authorization identity is not
    // allowed: IMAP "NO [AUTHORIZATIONFAILED]", POP3 "-ERR [AUTH]".
    AuthorizationFailed,
    // The account database could not answer: IMAP "NO [UNAVAILABLE]", POP3
    // "-ERR [SYS/TEMP]" (RFC 3206 4).
    Unavailable,
};

// The RFC 5530 response code (IMAP) of a Failure that gets a NO, or the
// RFC 3206 one (POP3, "AUTH" or "SYS/TEMP"); empty for Malformed (IMAP BAD,
// plain POP3 -ERR).
std::string_view imap_code(Failure failure);
std::string_view pop3_code(Failure failure);

// A TLS channel binding (RFC 5056) the transport can produce: the type name
// as SCRAM's gs2 header spells it ("tls-exporter", RFC 9266, for TLS 1.3;
// "tls-server-end-point", RFC 5929 4, for TLS 1.2) and its bytes.
struct ChannelBinding {
    std::string type;
    std::string data;
};

// What the mechanisms need to know about the connection.
struct Connection {
    // Plaintext credentials (PLAIN, LOGIN) may be sent: TLS, or a trusted
    // peer (RFC 3501 6.2.3; RFC 5034 6 for POP3's AUTH).
    bool plaintext_allowed = false;
    // The connection is TLS and the transport binds to it: the -PLUS
    // mechanisms are advertised (also in an implicit-TLS greeting, written
    // before the handshake ends), and a SCRAM client that says "y" (RFC
    // 5802 6) is told the server binds.
    bool channel_binding_offered = false;
    // The binding itself, once the handshake is done; a -PLUS exchange
    // starts only with it.
    std::optional<ChannelBinding> channel_binding;
    // Whether the account database has SCRAM keys to offer (an
    // Authenticator that keeps none, as in the session tests, offers no
    // SCRAM).
    bool scram_available = false;
};

// The Connection a framing (IMAP AUTHENTICATE, POP3 AUTH) describes: on TLS
// with a transport that binds (`binding` set), the -PLUS mechanisms are
// offered, and bound once `binding` returns the handshake's data.
Connection describe_connection(bool plaintext_allowed, bool scram_available, bool tls,
                               const std::function<std::optional<ChannelBinding>()>& binding);

// One response step of an exchange.
struct Step {
    enum class Kind { Challenge, CheckPassword, NeedScramCredentials, Success, Failure };
    Kind kind = Kind::Failure;
    // Challenge: the raw bytes to send (the framing encodes them).
    std::string challenge;
    // CheckPassword, NeedScramCredentials, Success: the authentication
    // identity as the client sent it.
    std::string authcid;
    // CheckPassword: the authorization identity, empty when none was given.
    std::string authzid;
    // CheckPassword: the password to check.
    Secret password;
    // NeedScramCredentials: which hash's keys.
    store::ScramHash hash = store::ScramHash::Sha256;
    // Failure.
    Failure failure = Failure::Malformed;
    // Failure: a short English reason for the client (and the log); never
    // says whether the user exists.
    std::string reason;

    static Step make_challenge(std::string bytes);
    static Step fail(Failure failure, std::string reason);
    static Step success(std::string authcid);
};

class Exchange {
  public:
    virtual ~Exchange() = default;
    // The first step, with the initial response when the client sent one
    // (SASL-IR, RFC 4959; an empty one is an empty string), nullopt when it
    // did not.
    virtual Step start(std::optional<Secret> initial_response) = 0;
    // The client's next response, decoded.
    virtual Step respond(const Secret& response) = 0;
    // After Step::NeedScramCredentials: the user's stored keys (real or
    // made up, ScramLookup). Other mechanisms never ask.
    virtual Step provide_credentials(const store::ScramCredentials& credentials);
    // True when the next respond() checks the client's proof of the
    // password (SCRAM's client-final message): the framing makes an
    // address with recent failures wait its LoginGate::penalty() before it,
    // as LOGIN waits before its password check.
    virtual bool next_response_verifies() const { return false; }
};

// Whether `authzid` (as a client sent it) names the account `authcid`
// logged in as: compared as the account store compares names (case-folded).
// An empty authzid means authcid itself (RFC 4616 2, RFC 5802 5.1).
bool authorized(std::string_view authzid, std::string_view authcid);

struct Mechanism {
    std::string_view name;
    // Carries the password in clear: offered and accepted only when
    // Connection::plaintext_allowed.
    bool plaintext = false;
    // Needs the connection's channel binding (the -PLUS variants).
    bool channel_binding = false;
    // Needs stored SCRAM keys (Connection::scram_available).
    bool scram = false;
};

class Registry {
  public:
    // The server's mechanisms, in the order they are advertised (strongest
    // first, RFC 4422 does not rank them; clients pick the first they know):
    // SCRAM-SHA-256-PLUS, SCRAM-SHA-256, SCRAM-SHA-1-PLUS, SCRAM-SHA-1,
    // PLAIN, LOGIN.
    static const Registry& standard();

    // The names to advertise on `connection`, in order.
    std::vector<std::string_view> advertised(const Connection& connection) const;

    enum class Refusal {
        // Not a mechanism of this server, or one not offered on this
        // connection for a reason other than the two below.
        Unsupported,
        // A plaintext mechanism without TLS: IMAP "NO [PRIVACYREQUIRED]".
        PlaintextNotAllowed,
    };
    struct Started {
        std::unique_ptr<Exchange> exchange;
        Refusal refusal = Refusal::Unsupported;  // when exchange is null
    };
    // An exchange of mechanism `name` (case-insensitive, RFC 4422 3.1).
    // `nonce` (SCRAM's server nonce) is drawn at random when empty; tests
    // pass a fixed one to replay the RFC examples.
    Started start(std::string_view name, const Connection& connection,
                  std::string nonce = {}) const;

    const std::vector<Mechanism>& mechanisms() const { return mechanisms_; }

  private:
    Registry();
    std::vector<Mechanism> mechanisms_;
};

}  // namespace imap::server::sasl
