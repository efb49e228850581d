// LIST (RFC 3501 6.3.8): the mailbox names matching the reference and the
// pattern, with their attributes (RFC 3501 7.2.2, RFC 3348 for the
// children), the delimiter "/" and each name in modified UTF-7.
//
//   LIST "" ""        -> * LIST (\Noselect) "/" ""      (the delimiter)
//   LIST "foo/bar" "" -> * LIST (\Noselect) "/" foo/   (the reference's root)
//   LIST "" "*"       -> every name; "%" stops at the delimiter
//
// Attributes, in this order: \Noselect for a placeholder level,
// \HasChildren or \HasNoChildren, then for selectable mailboxes \Marked
// (messages arrived that no SELECT has claimed yet) or \Unmarked, unless
// kListMarked is false. Dovecot sends neither \Marked nor \Unmarked by
// default; RFC 3501 7.2.2 allows both (and 6.3.8 only asks that they be
// cheap, which they are: one comparison per mailbox in the store).
// A pattern or reference that is not valid modified UTF-7 matches nothing
// (OK without LIST responses), as in Dovecot.
#include <string_view>
#include <vector>

#include "server/commands/handlers.h"
#include "server/commands/mailbox_args.h"

namespace imap::server {
namespace {

// Whether LIST sends \Marked / \Unmarked (see the file comment).
constexpr bool kListMarked = true;

}  // namespace

void cmd_list(Session& session, Command& command) {
    UserMail* mail = require_mail(session, command.tag);
    if (mail == nullptr) return;
    const auto& list = std::get<ListCommand>(command.body);
    ResponseWriter& w = session.writer();
    if (list.pattern.empty()) {
        w.list({"\\Noselect"}, kHierarchyDelimiter, list_root(list.reference));
        session.complete(command.tag, Status::Ok, "LIST completed");
        return;
    }
    if (auto pattern = joined_list_pattern(list.reference, list.pattern)) {
        std::vector<std::string_view> attributes;
        for (const store::ListEntry& entry : mail->store().list(*pattern)) {
            attributes.clear();
            if (entry.attributes & store::list_attr::kNoselect) attributes.push_back("\\Noselect");
            if (entry.attributes & store::list_attr::kHasChildren) {
                attributes.push_back("\\HasChildren");
            } else if (entry.attributes & store::list_attr::kHasNoChildren) {
                attributes.push_back("\\HasNoChildren");
            }
            if (!kListMarked) {
                // No \Marked / \Unmarked.
            } else if (entry.attributes & store::list_attr::kMarked) {
                attributes.push_back("\\Marked");
            } else if (entry.attributes & store::list_attr::kUnmarked) {
                attributes.push_back("\\Unmarked");
            }
            w.list(attributes, kHierarchyDelimiter, wire_mailbox_name(entry.name));
        }
    }
    session.complete(command.tag, Status::Ok, "LIST completed");
}

}  // namespace imap::server
