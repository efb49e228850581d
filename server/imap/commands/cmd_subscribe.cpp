// SUBSCRIBE (RFC 3501 6.3.6): adds a name to the subscription list that LSUB
// reports. RFC 3501 lets the server check that the mailbox exists; like
// Dovecot this one does, answering "NO [NONEXISTENT]" for an unknown name
// (a \Noselect level of the hierarchy counts as existing). Subscribing twice
// is not an error.
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

CommandResult cmd_subscribe(Session& session, Command& command) {
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    auto name = store_mailbox_name(session, std::get<SubscribeCommand>(command.body).mailbox);
    if (!name) return name.refusal();
    store::MailStore& store = mail->store();
    if (!store.find_mailbox(*name)) {
        return CommandResult::no(Code::NonExistent, "Mailbox does not exist");
    }
    store.subscribe(*name);
    return CommandResult::ok("SUBSCRIBE completed");
}

}  // namespace imap::server
