// SELECT (RFC 3501 6.3.1): the mailbox becomes the session's selected
// mailbox, read-write, and this session claims its \Recent messages.
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

CommandResult cmd_select(Session& session, Command& command) {
    const SelectCommand& select = std::get<SelectCommand>(command.body);
    return select_mailbox(session, select.mailbox, false, select.params);
}

}  // namespace imap::server
