// XLIST: the command Gmail introduced before RFC 6154, still sent by some
// old clients (Outlook, early Apple Mail) that look for special folders
// that way. Same arguments and matching as LIST (RFC 3501 6.3.8), answered
// with "* XLIST" lines carrying LIST's attributes, \Inbox on INBOX and the
// special-use attributes in XLIST's spelling:
//
//   C: x XLIST "" "*"
//   S: * XLIST (\HasNoChildren \Inbox) "/" INBOX
//   S: * XLIST (\HasNoChildren \Sent) "/" Sent
//   S: * XLIST (\HasNoChildren \Spam) "/" Junk
//
// \All is XLIST's \AllMail, \Junk its \Spam and \Flagged its \Starred;
// \Archive, \Drafts, \Sent and \Trash are the same words. No \Marked /
// \Unmarked. XLIST is not advertised (SPECIAL-USE is, and clients that
// know both prefer it); Dovecot answers XLIST like LIST, with "* LIST".
#include <string_view>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {
namespace {

namespace attr = store::list_attr;

void append_xlist_special_use(std::uint32_t bits, std::vector<std::string_view>& out) {
    static constexpr std::pair<std::uint32_t, std::string_view> kNames[] = {
        {attr::kAll, "\\AllMail"},     {attr::kArchive, "\\Archive"}, {attr::kDrafts, "\\Drafts"},
        {attr::kFlagged, "\\Starred"}, {attr::kJunk, "\\Spam"},       {attr::kSent, "\\Sent"},
        {attr::kTrash, "\\Trash"},
    };
    for (const auto& [bit, name] : kNames) {
        if (bits & bit) out.push_back(name);
    }
}

}  // namespace

CommandResult cmd_xlist(Session& session, Command& command) {
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    const auto& xlist = std::get<XlistCommand>(command.body);
    ResponseWriter& w = session.writer();
    const std::string_view delimiter(&kHierarchyDelimiter, 1);
    auto line = [&](const std::vector<std::string_view>& attributes, std::string_view name) {
        w.begin_untagged().atom("XLIST").sp().flag_list(attributes).sp();
        w.string(delimiter).sp().mailbox(name).end();
    };
    if (xlist.pattern.empty()) {
        line({"\\Noselect"}, list_root(xlist.reference));
    } else if (auto pattern = joined_list_pattern(session, xlist.reference, xlist.pattern)) {
        std::vector<std::string_view> attributes;
        for (const store::ListEntry& entry : mail->store().list(*pattern)) {
            attributes.clear();
            append_structure_attributes(entry.attributes, attributes);
            if (entry.name == "INBOX") attributes.push_back("\\Inbox");
            append_xlist_special_use(entry.attributes, attributes);
            line(attributes, wire_mailbox_name(session, entry.name));
        }
    }
    return CommandResult::ok("XLIST completed");
}

}  // namespace imap::server
