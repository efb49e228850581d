// EXAMINE (RFC 3501 6.3.2): SELECT, read-only; \Recent is left for the next
// SELECT and no flag changes (not even \Seen from FETCH BODY[]).
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

CommandResult cmd_examine(Session& session, Command& command) {
    const ExamineCommand& examine = std::get<ExamineCommand>(command.body);
    return select_mailbox(session, examine.mailbox, true, examine.params);
}

}  // namespace imap::server
