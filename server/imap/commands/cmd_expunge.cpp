// EXPUNGE (RFC 3501 6.4.3): removes every \Deleted message and sends an
// untagged EXPUNGE for each before the tagged OK.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_expunge(Session& session, Command&) {
    SelectedMailbox* selected = session.selected();
    if (selected->read_only()) {
        // RFC 3501 6.3.2: nothing may change in an EXAMINEd mailbox.
        return CommandResult::no(Code::Cannot, "The mailbox is read-only");
    }
    const store::ExpungeResult result = session.mail()->store().expunge(selected->id());
    // RFC 7162 3.2.7: VANISHED once QRESYNC is on, and HIGHESTMODSEQ.
    selected->expunged(result.uids, session.writer(), session.qresync_enabled());
    return CommandResult::expunge_done(!result.uids.empty(), "EXPUNGE completed");
}

}  // namespace imap::server
