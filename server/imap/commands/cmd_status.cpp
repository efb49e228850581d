// STATUS (RFC 3501 6.3.10): the requested counters of a mailbox without
// selecting it. The items are written in one fixed order (MESSAGES RECENT
// UIDNEXT UIDVALIDITY UNSEEN DELETED), each once, whatever order the client asked
// for: RFC 3501 7.2.4 does not tie the response to the request's order, and
// Dovecot answers the same way. SIZE (RFC 8438) and APPENDLIMIT (RFC 7889,
// the store's message size limit for every mailbox) and MAILBOXID (RFC
// 8474 4.3) follow. LIST-STATUS
// (RFC 5819, cmd_list.cpp) uses status_items() too.
//
// STATUS of the selected mailbox is allowed, though RFC 3501 6.3.10 says it
// SHOULD NOT be used that way; like Dovecot the OK carries [CLIENTBUG] (RFC
// 5530). Its RECENT counts the messages that are \Recent for this session
// (its view's plus those the sync at the end of this command will claim),
// not only the unclaimed ones another session's SELECT would get.
//
// A missing mailbox or a \Noselect name is "NO [NONEXISTENT]" (Session::fail).
#include <algorithm>
#include <cstdint>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"
#include "store/limits.h"

namespace imap::server {

StatusItems status_items(Session& session, const store::MailboxInfo& info,
                         const std::vector<StatusItem>& requested) {
    const store::MailboxStatus counts = session.mail()->store().status(info.id);
    const SelectedMailbox* selected = session.selected();
    const bool is_selected = selected != nullptr && selected->id() == info.id;

    StatusItems items;
    for (StatusItem item : requested) {
        switch (item) {
            case StatusItem::Messages:
                items.messages = counts.messages;
                break;
            case StatusItem::Recent:
                // An EXAMINE view's recent messages are the unclaimed ones.
                items.recent = is_selected && !selected->read_only()
                                   ? selected->recent_count() + counts.recent
                                   : counts.recent;
                break;
            case StatusItem::UidNext:
                // After UID 4294967295 the store's UIDNEXT is 2^32, which
                // does not fit nz-number: the mailbox is full.
                items.uidnext =
                    static_cast<std::uint32_t>(std::min<std::uint64_t>(counts.uidnext, UINT32_MAX));
                break;
            case StatusItem::UidValidity:
                items.uidvalidity = counts.uidvalidity;
                break;
            case StatusItem::Unseen:
                items.unseen = counts.unseen;
                break;
            case StatusItem::Size:  // RFC 8438: the sum of RFC822.SIZE
                items.size = counts.size;
                break;
            case StatusItem::AppendLimit:  // RFC 7889 5: no per-mailbox limit
                items.appendlimit = store::limits::kMaxMessageSize;
                break;
            case StatusItem::HighestModSeq:
                // RFC 7162 3.1.7; a CONDSTORE enabling command (3.1).
                items.highestmodseq = counts.highestmodseq;
                session.enable_condstore();
                break;
            case StatusItem::MailboxId:  // RFC 8474 4.3
                items.mailboxid = info.object_id;
                break;
            case StatusItem::Deleted:  // RFC 9051 6.3.11: messages with \Deleted
                items.deleted = counts.deleted;
                break;
        }
    }
    return items;
}

CommandResult cmd_status(Session& session, Command& command) {
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    const auto& status = std::get<StatusCommand>(command.body);
    auto name = store_mailbox_name(session, status.mailbox);
    if (!name) return name.refusal();
    const store::MailboxInfo info = mail->store().open_mailbox(*name);
    const SelectedMailbox* selected = session.selected();
    const bool is_selected = selected != nullptr && selected->id() == info.id;
    const StatusItems items = status_items(session, info, status.items);
    // The name as the client gave it (INBOX in upper case), as in RFC 3501
    // 6.3.10's example.
    session.writer().status(status.mailbox, items);
    if (is_selected) {
        return CommandResult::ok(Code::ClientBug, "STATUS on the selected mailbox completed");
    } else {
        return CommandResult::ok("STATUS completed");
    }
}

}  // namespace imap::server
