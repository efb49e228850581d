// HostedSession: what the transport (server/net/: SessionHost, Connection)
// asks of one client's protocol session, whatever the protocol: the IMAP
// Session (session.h) and the POP3 session (server/pop3/pop3_session.h)
// both implement it, so both run over the same Connection (TLS, STARTTLS,
// limits, timeouts, backpressure) and the same SessionHost (the user's
// strand after login, group commit), docs/architecture.md "Threads".
//
// A session is socket-free: bytes in through receive(), bytes out in
// output(). Every member is called on the session's executor only.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/output_buffer.h"
#include "server/imap/command_table.h"

namespace imap::server {

class UserMail;

class HostedSession {
  public:
    virtual ~HostedSession() = default;

    // The server's first line.
    virtual void greeting() = 0;
    // Plaintext the client sent (after TLS and decompression).
    virtual void receive(std::string_view plaintext) = 0;
    // Goes on after input_paused() or yielded() once the transport drained
    // its output, or with an IDLE update held back.
    virtual void resume() = 0;
    // The connection is gone or closing: drop whatever is pending and give
    // back the per-user login slot.
    virtual void abandon() = 0;

    virtual OutputBuffer& output() = 0;
    virtual void set_transport_unsent(std::function<std::size_t()> unsent) = 0;
    // Output written outside the transport's own tasks (an update another
    // session pushed, a password check's answer) calls this.
    virtual void set_output_listener(std::function<void()> listener) = 0;
    virtual std::size_t unsent() const = 0;
    virtual bool input_paused() const = 0;
    virtual bool yielded() const = 0;

    // NotAuthenticated before login, Authenticated (or Selected) after:
    // what the transport's timeouts and the move to a session loop follow.
    virtual SessionState state() const = 0;
    virtual const std::string& user() const = 0;
    virtual bool wants_close() const = 0;

    // STARTTLS (IMAP) or STLS (POP3): the answer is written; the transport
    // starts TLS after it and calls tls_started().
    virtual bool starttls_requested() const = 0;
    virtual void tls_started() = 0;

    // COMPRESS=DEFLATE (RFC 4978); a protocol without it never asks.
    virtual std::optional<std::size_t> compressed_output_offset() const { return std::nullopt; }
    virtual void compressed_output_marked() {}
    virtual void compression_started() {}

    // A failed login's answer held back (LoginGate), and a password check
    // running: the transport reads nothing meanwhile.
    virtual bool delayed() const = 0;
    virtual std::chrono::milliseconds pending_delay() const = 0;
    virtual void delay_elapsed() = 0;
    virtual bool waiting_on_server() const = 0;

    // IMAP IDLE (RFC 2177); a protocol without it never idles.
    virtual bool idling() const { return false; }
    // NOTIFY (RFC 5465) is on: other processes' commits are reported to
    // idle_poll() even when not idling.
    virtual bool notifying() const { return false; }
    // Another process committed to this user's mail (the server's
    // store::ExternalChangeWatcher): what idle_poll() does, and for NOTIFY
    // a look at every watched mailbox.
    virtual void changed_elsewhere() { idle_poll(); }
    virtual bool idle_update_pending() const { return false; }
    virtual void idle_poll() {}
    // The keepalive while idling ("* OK Still here").
    virtual void idle_keepalive() {}

    // The last line before the transport closes (a timeout, shutdown,
    // invalid compressed data): "* BYE text" in IMAP, "-ERR text" in POP3.
    virtual void say_goodbye(std::string_view text) = 0;

    // The user's mail once logged in (nullptr before): the transport reads
    // through one batch per task and holds output until commits are durable.
    virtual UserMail* mail() = 0;
    virtual std::shared_ptr<UserMail> shared_mail() const = 0;
    // A command runs off the user's strand (IMAP's reads beside the strand,
    // docs/architecture.md): the transport publishes nothing until it is
    // back, since what it wrote may show commits not yet counted there.
    virtual bool holds_output() const { return false; }
};

}  // namespace imap::server
