// Authenticator: checks a user name and password for LOGIN and the plaintext
// SASL mechanisms (AUTHENTICATE PLAIN and LOGIN). An interface, so the
// Session is tested with a fake and the real one (accounts in the store,
// crypt hashes: server/auth/account_authenticator.h) plugs in. Asynchronous: the
// real one hashes on a worker thread (WorkPool) so the event loop never
// waits for yescrypt, and answers on the session's loop.
//
// LoginGate: what the server decides around an authentication that the
// password check cannot: the per-user connection limit and the growing
// delay after failed attempts from an address (server/auth/login_limits.h).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/command.h"
#include "store/scram.h"

namespace imap::server {

enum class AuthResult {
    Ok,
    // Wrong user or password: "NO [AUTHENTICATIONFAILED]" (RFC 5530 3). The
    // answer never says which of the two was wrong.
    Failed,
    // The account database cannot be reached just now, or too many checks
    // are waiting already: "NO [UNAVAILABLE]" (RFC 5530 3), so the client
    // retries later instead of asking the user for a new password.
    Unavailable,
};

// Runs a closure on the session's own thread (its event loop); callable
// from any thread.
using PostToLoop = std::function<void(std::function<void()>)>;

struct AuthRequest {
    // The authentication identity as the client sent it.
    std::string user;
    imap::Secret password;
    // The client's address, for logs.
    std::string peer;
    // How an authenticator that works on another thread answers: through
    // this. Empty: it must answer on the calling thread.
    PostToLoop post_to_loop;
    // Becomes true when the session is gone (its connection closed): the
    // check may be skipped, and the answer is not wanted. Read from any
    // thread.
    std::shared_ptr<const std::atomic<bool>> cancelled;
};

class Authenticator {
  public:
    virtual ~Authenticator() = default;

    // Checks the credentials and calls `done` exactly once with the result,
    // on the session's thread: before returning, or later (through
    // request.post_to_loop). Unless request.cancelled became true first:
    // then `done` may never be called.
    virtual void authenticate(AuthRequest request, std::function<void(AuthResult)> done) = 0;

    // SCRAM (RFC 5802, server/auth/sasl.h): whether this authenticator
    // keeps SCRAM credentials at all; false (the default) hides the SCRAM
    // mechanisms.
    virtual bool offers_scram() const { return false; }

    // The SCRAM credentials of `user` (as the client sent it) for `hash`,
    // on the calling thread (one indexed read, as authenticate()'s). For an
    // unknown user, a disabled account or one without SCRAM keys yet:
    // made-up credentials that look like real ones and stay the same
    // across attempts (RFC 5802 9), so the exchange goes on and fails at
    // the proof, telling nothing about the account. nullopt: the database
    // cannot answer (NO [UNAVAILABLE]).
    virtual std::optional<store::ScramCredentials> scram_credentials(std::string_view user,
                                                                     store::ScramHash hash) {
        (void)user;
        (void)hash;
        return std::nullopt;
    }
};

// Consulted by the Session (cmd_login.cpp) around every authentication,
// through SessionContext::login_gate; without a gate there is no limit and
// no delay. A server with several event loops shares one gate among them:
// an implementation must then be safe to call from several threads at once
// (LoginLimits is).
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

    // How long an attempt from `peer` waits before its credentials are even
    // looked at: zero for an address without recent failures; otherwise
    // what the next failure from it is answered after. Success and failure
    // then take the same time, so a client that drops every connection not
    // answered at once learns nothing (and costs no hashing).
    virtual std::chrono::milliseconds penalty(std::string_view peer) = 0;

    // An attempt from `peer` failed (wrong user or password): counted.
    // Returns how long its answer, and everything the client sent after it,
    // is held back (CommandResult::delay) unless the attempt waited its penalty()
    // already; zero for none.
    virtual std::chrono::milliseconds failed(std::string_view peer) = 0;

    // An attempt from `peer` could not be checked (NO [UNAVAILABLE]: the
    // verification queue was full, or the database unreachable): not
    // counted as a failure, but answered no faster than a first failure,
    // so a flood gains nothing by being refused. Returns that delay.
    virtual std::chrono::milliseconds unavailable(std::string_view peer) = 0;
};

}  // namespace imap::server
