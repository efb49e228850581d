// Authenticator: checks a user name and password for LOGIN and the plaintext
// SASL mechanisms (AUTHENTICATE PLAIN and LOGIN). An interface, so the
// Session is tested with a fake and the real one (accounts in the store,
// crypt hashes, a growing per-IP delay after failures) plugs in later.
#pragma once

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

}  // namespace imap::server
