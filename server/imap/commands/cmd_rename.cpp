// RENAME (RFC 3501 6.3.5): renames a mailbox; its inferiors (and their
// subscriptions) move with it, and it keeps its UIDVALIDITY and UIDs.
// Renaming INBOX is special: its messages move to a new mailbox with the new
// name, INBOX stays (empty) and its inferiors are not renamed; the store
// does all of that. Errors: "NO [NONEXISTENT]" for a missing source, "NO
// [ALREADYEXISTS]" for an existing target, "NO [CANNOT]" for a target inside
// the source or an unacceptable name (Session::fail).
//
// A selected mailbox stays selected under its new name (its id does not
// change). When the selected mailbox is INBOX, the messages that left it are
// reported as EXPUNGE by the session's sync before the tagged OK.
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

CommandResult cmd_rename(Session& session, Command& command) {
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    const auto& rename = std::get<RenameCommand>(command.body);
    auto from = store_mailbox_name(session, rename.from);
    if (!from) return from.refusal();
    auto to = store_mailbox_name(session, rename.to);
    if (!to) return to.refusal();
    store::MailStore& store = mail->store();
    store.rename_mailbox(*from, *to);
    return CommandResult::ok("RENAME completed");
}

}  // namespace imap::server
