// CLOSE (RFC 3501 6.4.2): removes the \Deleted messages when the mailbox is
// read-write, without sending EXPUNGE responses, and returns to the
// authenticated state.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_close(Session& session, Command&) {
    SelectedMailbox* selected = session.selected();
    if (!selected->read_only()) session.mail()->store().expunge(selected->id());
    session.deselect();
    return CommandResult::ok("CLOSE completed");
}

}  // namespace imap::server
