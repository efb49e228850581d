// UID EXPUNGE (RFC 4315 2.1): EXPUNGE limited to the \Deleted messages whose
// UIDs are in the set, so a client does not remove what another client
// marked \Deleted meanwhile.
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_uid_expunge(Session& session, Command& command) {
    SelectedMailbox* selected = session.selected();
    if (selected->read_only()) {
        return CommandResult::no(Code::Cannot, "The mailbox is read-only");
    }
    const store::UidSet uids =
        *selected->resolve(std::get<UidExpungeCommand>(command.body).uids, true);
    bool expunged = false;
    if (!uids.empty()) {
        const store::ExpungeResult result =
            session.mail()->store().expunge(selected->id(), store::UidSpan(uids));
        // RFC 7162 3.2.9: VANISHED once QRESYNC is on, and HIGHESTMODSEQ.
        selected->expunged(result.uids, session.writer(), session.qresync_enabled());
        expunged = !result.uids.empty();
    }
    return CommandResult::expunge_done(expunged, "UID EXPUNGE completed");
}

}  // namespace imap::server
