// LSUB (RFC 3501 6.3.9): the subscribed names matching the reference and the
// pattern, joined as for LIST. With "%", a level above a subscribed name that
// is not itself subscribed is listed with \Noselect (the store adds these).
// A subscribed name with no mailbox behind it (deleted since, RFC 3501 6.3.9:
// it stays subscribed) is also \Noselect; Dovecot lists it with "()". No
// other attributes: LSUB says nothing about children. An empty pattern
// matches no subscribed name (LSUB has no special case for it; Dovecot
// answers the same).
#include <string_view>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

CommandResult cmd_lsub(Session& session, Command& command) {
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    const auto& lsub = std::get<LsubCommand>(command.body);
    ResponseWriter& w = session.writer();
    if (auto pattern = joined_list_pattern(session, lsub.reference, lsub.pattern)) {
        for (const store::ListEntry& entry : mail->store().list_subscribed(*pattern)) {
            std::vector<std::string_view> attributes;
            if (entry.attributes & store::list_attr::kNoselect) attributes.push_back("\\Noselect");
            w.lsub(attributes, kHierarchyDelimiter, wire_mailbox_name(session, entry.name));
        }
    }
    return CommandResult::ok("LSUB completed");
}

}  // namespace imap::server
