// STARTTLS (RFC 3501 6.2.1). Valid only before authentication (the command
// table refuses it later with BAD). The tagged OK is the last plaintext the
// server sends; every byte the client pipelined after the command is dropped
// (CommandResult::start_tls, the CVE-2011-0411 class), and the transport then
// starts the handshake.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_starttls(Session& session, Command&) {
    if (session.tls_active()) {
        return CommandResult::bad("TLS is already active");
    }
    if (!session.context().starttls_available) {
        return CommandResult::bad("STARTTLS is not available");
    }
    return CommandResult::start_tls("Begin TLS negotiation now");
}

}  // namespace imap::server
