// UNSELECT (RFC 3691 2): CLOSE without expunging anything.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_unselect(Session& session, Command&) {
    session.deselect();
    return CommandResult::ok("UNSELECT completed");
}

}  // namespace imap::server
