// REPLACE and UID REPLACE (RFC 8508): APPEND a message to a mailbox and
// expunge one message of the selected mailbox, as one action.
//
// - The message: `REPLACE seq-number mailbox append-message`, one message
//   number or UID ("*" is the last), never a set (the parser). A sequence
//   number past EXISTS is "BAD" (RFC 3501 9, as FETCH and STORE answer); a
//   UID the view does not hold is "NO" (nothing to replace).
// - The selected mailbox opened with EXAMINE cannot lose messages (RFC 3501
//   6.3.2): "NO [CANNOT]", as MOVE (RFC 8508 4.1: REPLACE needs the rights
//   of STORE and EXPUNGE).
// - The new message is an append-message as APPEND takes it (RFC 8508 3.4:
//   "extensions that affect APPEND affect REPLACE in the same way"): flags,
//   date-time, literal8, CATENATE (RFC 8508 4.2), the TOOBIG refusal before
//   "+" (Session::on_framing_error), TRYCREATE for a target that does not
//   exist (append_common.h).
// - One store transaction (MailStore::replace): if the append fails, nothing
//   is expunged; if the message to replace is gone meanwhile (another
//   session expunged it, its EXPUNGE not sent yet), nothing is appended:
//   "NO [EXPUNGEISSUED]" (RFC 5530; RFC 2180 4.4.1 as for MOVE).
// - Success, as RFC 8508 4.3 advises: "* OK [APPENDUID v uid]" first, so
//   the client knows the new UID before the old message vanishes; then
//   "* n EXPUNGE" (or "* VANISHED uid" with QRESYNC, RFC 8508 4.5: as UID
//   EXPUNGE); then, when the target is the selected mailbox, its EXISTS from
//   the session's sync, and the tagged OK (with HIGHESTMODSEQ once
//   CONDSTORE is on, RFC 7162 3.2.10). (RFC 8508 3.2's example shows EXISTS
//   before EXPUNGE; the order of untagged responses is not specified, and
//   this one needs no renumbering by the client.) Other sessions see the
//   expunge and the new message through the change feed, as for MOVE.
#include <ctime>
#include <string>

#include "server/imap/commands/append_common.h"
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/message_set.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_replace(Session& session, Command& command) {
    auto& replace = std::get<ReplaceCommand>(command.body);
    const std::string name(command_name(command.body));
    SelectedMailbox* selected = session.selected();

    Checked<store::UidSet> uids = resolve_message_set(session, name, replace.set, replace.uid);
    if (!uids) return uids.refusal();
    if (selected->read_only()) {
        return CommandResult::no(Code::Cannot, "The mailbox is read-only");
    }
    if (uids->empty()) return CommandResult::no(name + ": No message with that UID");
    const std::uint32_t old_uid = uids->front().first;

    auto request = append_request(session, replace.message, std::time(nullptr));
    if (!request) return request.refusal();
    Checked<store::MailboxInfo> target = copy_destination(session, replace.mailbox);
    if (!target) return target.refusal();

    const store::ReplaceResult result =
        session.mail()->store().replace(selected->id(), old_uid, target->id, *request);
    ResponseWriter& w = session.writer();
    w.untagged(Status::Ok,
               ResponseCode::appenduid(result.appended.uidvalidity,
                                       std::to_string(result.appended.uids.front())),
               "Replacement Message ready");
    selected->expunged(result.expunged.uids, w, session.qresync_enabled());
    return CommandResult::expunge_done(true, name + " completed");
}

}  // namespace imap::server
