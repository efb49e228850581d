// Authenticator: checks a user name and password for LOGIN and the plaintext
// SASL mechanisms (AUTHENTICATE PLAIN and LOGIN). An interface, so the
// Session is tested with a fake and the real one (accounts in the store,
// crypt hashes: server/account_authenticator.h) plugs in.
//
// LoginGate: what the server decides around an authentication that the
// password check cannot: the per-user connection limit and the growing
// delay after failed attempts from an address (server/login_limits.h).
#pragma once

#include <chrono>
#include <string_view>

#include "protocol/command.h"

namespace imap::server {

enum class AuthResult {
    Ok,
    // Wrong user or password: "NO [AUTHENTICATIONFAILED]" (RFC 5530 3). The
    // answer never says which of the two was wrong.
    Failed,
    // The account database cannot be reached just now: "NO [UNAVAILABLE]"
    // (RFC 5530 3), so the client retries later instead of asking the user
    // for a new password.
    Unavailable,
};

class Authenticator {
  public:
    virtual ~Authenticator() = default;

    // `user` is the authentication identity as the client sent it; `peer`
    // the client's address (for the per-IP failure delay and for logs).
    // Must not keep `password` past the call.
    virtual AuthResult authenticate(std::string_view user, const imap::Secret& password,
                                    std::string_view peer) = 0;
};

// Consulted by the Session (complete_authentication in
// commands/cmd_login.cpp) once the Authenticator has answered, through
// SessionContext::login_gate; without a gate there is no limit and no delay.
// Single-threaded, like the reactor.
class LoginGate {
  public:
    virtual ~LoginGate() = default;

    // `user` (as the client sent it) at `peer` gave the right credentials.
    // True: the login goes ahead and takes one of the user's connection
    // slots until release(user). False: the user is at its connection limit;
    // the client gets "NO [LIMIT]" (RFC 5530) and stays unauthenticated.
    virtual bool admit(std::string_view user, std::string_view peer) = 0;

    // Gives back the slot of an admitted login: when its connection closes,
    // or when the login did not take effect after all.
    virtual void release(std::string_view user) = 0;

    // An attempt from `peer` failed (wrong user or password). Returns how
    // long the answer, and everything the client sent after it, is held
    // back (Session::delay); zero for none.
    virtual std::chrono::milliseconds failed(std::string_view peer) = 0;
};

}  // namespace imap::server
