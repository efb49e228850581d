// STARTTLS (RFC 3501 6.2.1). Valid only before authentication (the command
// table refuses it later with BAD). The tagged OK is the last plaintext the
// server sends; every byte the client pipelined after the command is dropped
// (Session::begin_starttls, the CVE-2011-0411 class), and the transport then
// starts the handshake.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

void cmd_starttls(Session& session, Command& command) {
    if (session.tls_active()) {
        session.complete(command.tag, Status::Bad, "TLS is already active");
        return;
    }
    if (!session.context().starttls_available) {
        session.complete(command.tag, Status::Bad, "STARTTLS is not available");
        return;
    }
    session.complete(command.tag, Status::Ok, "Begin TLS negotiation now");
    session.begin_starttls();
}

}  // namespace imap::server
