// NOOP (RFC 3501 6.1.2): does nothing but let the mailbox updates out
// (EXISTS, EXPUNGE, FETCH flags) before the tagged OK; clients poll with it.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_noop(Session&, Command&) {
    return CommandResult::ok("NOOP completed");
}

}  // namespace imap::server
