// EXPUNGE (RFC 3501 6.4.3): removes every \Deleted message and sends an
// untagged EXPUNGE for each before the tagged OK.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

void cmd_expunge(Session& session, Command& command) {
    SelectedMailbox* selected = session.selected();
    if (selected->read_only()) {
        // RFC 3501 6.3.2: nothing may change in an EXAMINEd mailbox.
        session.complete(command.tag, Status::No, Code::Cannot, "The mailbox is read-only");
        return;
    }
    const store::ExpungeResult result = session.mail()->store().expunge(selected->id());
    // RFC 7162 3.2.7: VANISHED once QRESYNC is on, and HIGHESTMODSEQ.
    selected->expunged(result.uids, session.writer(), session.qresync_enabled());
    session.complete_expunge(command.tag, !result.uids.empty(), "EXPUNGE completed");
}

}  // namespace imap::server
