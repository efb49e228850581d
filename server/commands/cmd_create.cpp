// CREATE (RFC 3501 6.3.3): creates a mailbox. A trailing hierarchy delimiter
// only declares that inferiors will be created; the store drops it. Missing
// superiors are created as \Noselect placeholders, and creating the name of a
// placeholder turns it into a mailbox. Creating INBOX, or any name that
// exists, is "NO [ALREADYEXISTS]" (RFC 5530); a name the store refuses is
// "NO [CANNOT]" (Session::fail maps the store's errors).
#include "server/commands/handlers.h"
#include "server/commands/mailbox_args.h"

namespace imap::server {

void cmd_create(Session& session, Command& command) {
    UserMail* mail = require_mail(session, command.tag);
    if (mail == nullptr) return;
    auto name =
        store_mailbox_name(session, command.tag, std::get<CreateCommand>(command.body).mailbox);
    if (!name) return;
    mail->store().create_mailbox(*name);
    session.complete(command.tag, Status::Ok, "CREATE completed");
}

}  // namespace imap::server
