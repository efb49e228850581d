// UNSUBSCRIBE (RFC 3501 6.3.7): removes a name from the subscription list,
// whether or not a mailbox of that name exists (RFC 3501 6.3.9: names of
// deleted mailboxes stay subscribed until the client removes them). Like
// Dovecot, unsubscribing a name that is not subscribed is answered OK: the
// name is not subscribed afterwards, which is what the client asked for.
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

void cmd_unsubscribe(Session& session, Command& command) {
    UserMail* mail = require_mail(session, command.tag);
    if (mail == nullptr) return;
    auto name = store_mailbox_name(session, command.tag,
                                   std::get<UnsubscribeCommand>(command.body).mailbox);
    if (!name) return;
    mail->store().unsubscribe(*name);
    session.complete(command.tag, Status::Ok, "UNSUBSCRIBE completed");
}

}  // namespace imap::server
