// UNSELECT (RFC 3691 2): CLOSE without expunging anything.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

void cmd_unselect(Session& session, Command& command) {
    session.deselect();
    session.complete(command.tag, Status::Ok, "UNSELECT completed");
}

}  // namespace imap::server
