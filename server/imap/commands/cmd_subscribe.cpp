// SUBSCRIBE (RFC 3501 6.3.6): adds a name to the subscription list that LSUB
// reports. RFC 3501 lets the server check that the mailbox exists; like
// Dovecot this one does, answering "NO [NONEXISTENT]" for an unknown name
// (a \Noselect level of the hierarchy counts as existing). Subscribing twice
// is not an error.
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

void cmd_subscribe(Session& session, Command& command) {
    UserMail* mail = require_mail(session, command.tag);
    if (mail == nullptr) return;
    auto name =
        store_mailbox_name(session, command.tag, std::get<SubscribeCommand>(command.body).mailbox);
    if (!name) return;
    store::MailStore& store = mail->store();
    if (!store.find_mailbox(*name)) {
        session.complete(command.tag, Status::No, Code::NonExistent, "Mailbox does not exist");
        return;
    }
    store.subscribe(*name);
    session.complete(command.tag, Status::Ok, "SUBSCRIBE completed");
}

}  // namespace imap::server
