// NOOP (RFC 3501 6.1.2). Once mailboxes are selectable, pending EXISTS,
// EXPUNGE and FETCH updates go out before the tagged OK.
#include "server/commands/handlers.h"
#include "server/session.h"

namespace imap::server {

void cmd_noop(Session& session, Command& command) {
    session.writer().tagged(command.tag, Status::Ok, "NOOP completed");
}

}  // namespace imap::server
