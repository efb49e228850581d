// MOVE and UID MOVE (RFC 6851): COPY, then the source messages are expunged,
// in one store transaction.
//
// Responses, as RFC 6851 4.3 advises and Dovecot sends: first
// "* OK [COPYUID ...] Moved UIDs" (untagged, so the client learns the new
// UIDs before the messages vanish), then an EXPUNGE for each moved message,
// then the tagged OK. Everything else is as for COPY (cmd_copy.cpp):
// TRYCREATE, "OK No messages found", EXPUNGEISSUED, moving into the
// selected mailbox itself (allowed, RFC 6851 3.3).
//
// A mailbox selected with EXAMINE cannot lose messages (RFC 3501 6.3.2):
// NO [CANNOT]. (Dovecot moves out of an EXAMINEd maildir anyway.)
#include <string>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/message_set.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_move(Session& session, Command& command) {
    const MoveCommand& request = std::get<MoveCommand>(command.body);
    const std::string name(command_name(command.body));
    SelectedMailbox* selected = session.selected();

    Checked<store::UidSet> uids = resolve_message_set(session, name, request.set, request.uid);
    if (!uids) return uids.refusal();
    if (selected->read_only()) {
        return CommandResult::no(Code::Cannot, "The mailbox is read-only");
    }
    Checked<TransferTarget> target = transfer_destination(session, *uids, request.mailbox);
    if (!target) return target.refusal();
    const store::MailboxInfo& destination = target->destination;
    store::MailStore& store = session.mail()->store();
    const store::MoveResult result =
        store.move(selected->id(), store::UidSpan(*uids), destination.id, target->expected);
    if (result.copy.mapping.empty()) {
        return CommandResult::ok("No messages found");
    }
    std::vector<std::uint32_t> sources, copies;
    for (const store::UidMapping& m : result.copy.mapping) {
        sources.push_back(m.source);
        copies.push_back(m.destination);
    }
    ResponseWriter& w = session.writer();
    w.untagged(Status::Ok,
               ResponseCode::copyuid(result.copy.uidvalidity, uid_set_string(sources),
                                     uid_set_string(copies)),
               "Moved UIDs");
    // RFC 6851 4.4: VANISHED once QRESYNC is on, and HIGHESTMODSEQ.
    selected->expunged(result.expunged.uids, w, session.qresync_enabled());
    return CommandResult::expunge_done(!result.expunged.uids.empty(), name + " completed");
}

}  // namespace imap::server
