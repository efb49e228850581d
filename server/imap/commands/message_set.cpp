#include "server/imap/commands/message_set.h"

#include <algorithm>

#include "server/imap/commands/mailbox_args.h"
#include "store/errors.h"

namespace imap::server {

Checked<store::UidSet> resolve_message_set(Session& session, std::string_view command_name,
                                           const SequenceSet& set, bool uid) {
    std::optional<store::UidSet> uids = session.selected()->resolve(set, uid);
    if (!uids) {
        return CommandResult::bad(std::string(command_name) +
                                  ": Message sequence number past the last message (RFC 3501 9)");
    }
    return std::move(*uids);
}

std::string uid_set_string(std::span<const std::uint32_t> uids) {
    std::string out;
    std::size_t i = 0;
    while (i < uids.size()) {
        std::size_t j = i;
        while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1ull)
            ++j;
        if (!out.empty()) out += ',';
        out += std::to_string(uids[i]);
        if (j > i) out += ':' + std::to_string(uids[j]);
        i = j + 1;
    }
    return out;
}

std::size_t count_in_view(const SelectedMailbox& view, store::UidSpan set) {
    const ViewUids& uids = view.uids();
    std::size_t count = 0;
    for (const store::UidRange& range : set) {
        count += uids.count_between(range.first, range.last);
    }
    return count;
}

Checked<store::MailboxInfo> copy_destination(Session& session, std::string_view wire_name) {
    Checked<std::string> name = store_mailbox_name(session, wire_name);
    if (!name) return name.refusal();
    try {
        return session.mail()->store().open_mailbox(*name);
    } catch (const store::StoreError& error) {
        if (error.code() != store::StoreErrc::NotFound &&
            error.code() != store::StoreErrc::NoSelect) {
            throw;
        }
    }
    // RFC 3501 6.4.7: TRYCREATE tells the client that CREATE may help.
    return CommandResult::no(Code::TryCreate, "Mailbox does not exist");
}

Checked<TransferTarget> transfer_destination(Session& session, const store::UidSet& uids,
                                             std::string_view wire_name) {
    const std::size_t wanted = count_in_view(*session.selected(), uids);
    if (wanted == 0) return CommandResult::ok("No messages found");
    Checked<store::MailboxInfo> destination = copy_destination(session, wire_name);
    if (!destination) return destination.refusal();
    return TransferTarget{std::move(*destination), wanted};
}

}  // namespace imap::server
