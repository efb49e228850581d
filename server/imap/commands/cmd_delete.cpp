// DELETE (RFC 3501 6.3.4): removes a mailbox and its messages. INBOX cannot
// be deleted ("NO [CANNOT]"); a mailbox with inferiors loses its messages and
// stays as a \Noselect name; a \Noselect name with inferiors cannot be
// deleted ("NO [HASCHILDREN]", RFC 9051 6.3.4). Subscriptions are kept (RFC
// 3501 6.3.9: the server must not remove them unilaterally).
//
// Deleting the selected mailbox: once it is gone, the session is returned to
// the authenticated state (as CLOSE would, without expunging: the messages
// are gone anyway) before the tagged OK. Dovecot closes the mailbox too, but
// then ends the connection with "* BYE Selected mailbox was deleted, have to
// disconnect." after its tagged OK; this server keeps the connection. The
// store call comes first so that a failed DELETE leaves the mailbox
// selected (Dovecot closes it either way).
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

CommandResult cmd_delete(Session& session, Command& command) {
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    auto name = store_mailbox_name(session, std::get<DeleteCommand>(command.body).mailbox);
    if (!name) return name.refusal();
    store::MailStore& store = mail->store();
    const std::optional<store::MailboxInfo> info = store.find_mailbox(*name);
    store.delete_mailbox(*name);
    if (info) {
        // Also when the mailbox only became a \Noselect placeholder (it has
        // inferiors): nothing in it can be selected any more.
        if (session.selected() != nullptr && session.selected()->id() == info->id) {
            session.deselect();
        }
    }
    return CommandResult::ok("DELETE completed");
}

}  // namespace imap::server
