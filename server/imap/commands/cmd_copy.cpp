// COPY and UID COPY (RFC 3501 6.4.7, 6.4.8, RFC 4315 COPYUID).
//
// - A destination that does not exist: NO [TRYCREATE].
// - Success: "OK [COPYUID uidvalidity source-uids destination-uids]", both
//   uid-sets in the order the messages were copied (ascending source UID).
// - A UID COPY naming no message of the view: "OK No messages found"
//   without COPYUID (RFC 4315 3 has no empty uid-set), before the
//   destination is even looked at, as Dovecot answers.
// - A message of the set that another session expunged (its EXPUNGE held
//   back, RFC 3501 7.4.1): nothing is copied and the answer is "NO
//   [EXPUNGEISSUED] Some of the requested messages no longer exist" (RFC
//   5530), as Dovecot answers. RFC 2180 4.4.1 allows that (4.4.2 would copy
//   from the view's retained copy instead); RFC 3501 6.4.7 wants a failed
//   COPY to leave the destination unchanged, and the store checks and
//   copies in one transaction, so it is all or nothing. A set of only live
//   messages copies as usual while others of the view are expunged. UID
//   COPY, MOVE and UID MOVE answer the same.
// - Copying into the selected mailbox itself works; the new messages reach
//   this client as EXISTS (and RECENT) through the session's sync before the
//   tagged OK.
#include <string>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/message_set.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_copy(Session& session, Command& command) {
    const CopyCommand& request = std::get<CopyCommand>(command.body);
    const std::string name(command_name(command.body));
    SelectedMailbox* selected = session.selected();

    Checked<store::UidSet> uids = resolve_message_set(session, name, request.set, request.uid);
    if (!uids) return uids.refusal();
    Checked<TransferTarget> target = transfer_destination(session, *uids, request.mailbox);
    if (!target) return target.refusal();
    const store::MailboxInfo& destination = target->destination;
    store::MailStore& store = session.mail()->store();
    const store::CopyResult result =
        store.copy(selected->id(), store::UidSpan(*uids), destination.id, target->expected);
    if (result.mapping.empty()) {
        return CommandResult::ok("No messages found");
    }
    std::vector<std::uint32_t> sources, copies;
    for (const store::UidMapping& m : result.mapping) {
        sources.push_back(m.source);
        copies.push_back(m.destination);
    }
    return CommandResult::ok(
        ResponseCode::copyuid(result.uidvalidity, uid_set_string(sources), uid_set_string(copies)),
        name + " completed");
}

}  // namespace imap::server
