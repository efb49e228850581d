// CHECK (RFC 3501 6.4.1): a checkpoint. Every change is durable when its
// command completes (the store commits with synchronous=FULL), so nothing
// is left to do but send the mailbox updates, as NOOP does.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_check(Session&, Command&) {
    return CommandResult::ok("CHECK completed");
}

}  // namespace imap::server
