// CREATE (RFC 3501 6.3.3): creates a mailbox. A trailing hierarchy delimiter
// only declares that inferiors will be created; the store drops it. Missing
// superiors are created as \Noselect placeholders, and creating the name of a
// placeholder turns it into a mailbox. Creating INBOX, or any name that
// exists, is "NO [ALREADYEXISTS]" (RFC 5530); a name the store refuses is
// "NO [CANNOT]" (Session::fail maps the store's errors).
//
// CREATE-SPECIAL-USE (RFC 6154 3): "CREATE name (USE (\Sent))" creates the
// mailbox with those special-use attributes (several may be given; another
// mailbox may already have the same one, RFC 6154 leaves that to the
// server): \Archive, \Drafts, \Junk, \Sent, \Trash. Any other (\All and
// \Flagged, which name virtual mailboxes we do not have, as in RFC 6154
// 5.3's example; \Inbox, \Important, any use-attr-ext) is "NO [USEATTR]"
// and nothing is created. The tagged OK carries [MAILBOXID (...)] (RFC
// 8474 4.1). Dovecot without
// its metadata plugin does not advertise CREATE-SPECIAL-USE and ignores USE.
#include <cstdint>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

CommandResult cmd_create(Session& session, Command& command) {
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    const auto& create = std::get<CreateCommand>(command.body);
    std::uint32_t special_use = 0;
    for (const Flag& attribute : create.use) {
        const std::uint32_t bit = special_use_bit(attribute);
        // \All and \Flagged name virtual mailboxes (every message, every
        // flagged one), which a stored mailbox cannot be.
        if (bit == 0 || bit == store::list_attr::kAll || bit == store::list_attr::kFlagged) {
            return CommandResult::no(
                ResponseCode::extension("USEATTR"),
                "Unsupported special-use attribute " + attribute.substr(0, 40));
        }
        special_use |= bit;
    }
    auto name = store_mailbox_name(session, create.mailbox);
    if (!name) return name.refusal();
    const store::MailboxInfo info = mail->store().create_mailbox(*name, special_use);
    // RFC 8474 4.1: every successful CREATE names the new mailbox's id.
    return CommandResult::ok(ResponseCode::mailboxid(info.object_id), "CREATE completed");
}

}  // namespace imap::server
