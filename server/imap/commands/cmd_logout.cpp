// LOGOUT (RFC 3501 6.1.3): an untagged BYE, the tagged OK, then the server
// closes the connection; nothing the client sent after it is executed.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_logout(Session& session, Command&) {
    session.writer().bye("Logging out");
    return CommandResult::logout("LOGOUT completed");
}

}  // namespace imap::server
