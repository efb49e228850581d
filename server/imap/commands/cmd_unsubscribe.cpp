// UNSUBSCRIBE (RFC 3501 6.3.7): removes a name from the subscription list,
// whether or not a mailbox of that name exists (RFC 3501 6.3.9: names of
// deleted mailboxes stay subscribed until the client removes them). Like
// Dovecot, unsubscribing a name that is not subscribed is answered OK: the
// name is not subscribed afterwards, which is what the client asked for.
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

CommandResult cmd_unsubscribe(Session& session, Command& command) {
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    auto name = store_mailbox_name(session, std::get<UnsubscribeCommand>(command.body).mailbox);
    if (!name) return name.refusal();
    mail->store().unsubscribe(*name);
    return CommandResult::ok("UNSUBSCRIBE completed");
}

}  // namespace imap::server
