// APPEND (RFC 3501 6.3.11) with MULTIAPPEND (RFC 3502): adds messages to a
// mailbox, all of them or none (the store appends them in one transaction).
//
// - Flags, date-time, an empty message: append_common.h. (\Recent "can not
//   be used as an argument in a STORE or APPEND command", RFC 3501 2.3.2;
//   "\*" never gets here: the parser refuses it outside PERMANENTFLAGS.)
// - CATENATE (RFC 4469): each message may be assembled from TEXT literals
//   and URLs of this user's messages (catenate.h); MULTIAPPEND takes it too.
// - A mailbox that does not exist (or is a \Noselect level, which CREATE
//   would turn into one) is "NO [TRYCREATE]": the server MUST NOT create it.
//   The literals have been read by then: the session sends "+" before the
//   handler runs. (Dovecot answers before "+".)
// - Size: a literal over 64 MiB is refused before "+" with "NO [TOOBIG]"
//   (RFC 7889 4; Session::on_framing_error); the store's own limit is the
//   same, and its TooBig is also "NO [TOOBIG]" through Session::fail.
// - Success: "OK [APPENDUID uidvalidity uid-set]" (RFC 4315). If the mailbox
//   is the selected one, its EXISTS and RECENT come from the session's sync
//   before the tagged OK; other sessions learn through the store's change
//   feed (UserMail).
//
// literal8 (RFC 3516 4.4, "binary" in AppendMessage): the bytes are stored as
// given, NULs included, so [UNKNOWN-CTE] is never needed. FETCH BINARY is
// what lets such content out again intact.
#include <ctime>
#include <string>
#include <vector>

#include "protocol/sequence_set.h"
#include "server/imap/commands/append_common.h"
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

CommandResult cmd_append(Session& session, Command& command) {
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    auto& append = std::get<AppendCommand>(command.body);
    auto name = store_mailbox_name(session, append.mailbox);
    if (!name) return name.refusal();

    const std::int64_t now = std::time(nullptr);
    std::vector<store::AppendRequest> requests;
    requests.reserve(append.messages.size());
    for (AppendMessage& message : append.messages) {
        auto request = append_request(session, message, now);
        if (!request) return request.refusal();
        requests.push_back(std::move(*request));
    }

    store::MailStore& store = mail->store();
    const std::optional<store::MailboxInfo> info = store.find_mailbox(*name);
    if (!info || !info->selectable) {
        // RFC 3501 6.3.11: the client may CREATE it and try again.
        return CommandResult::no(Code::TryCreate, "Mailbox does not exist");
    }
    const store::AppendResult result = store.append(info->id, requests);
    return CommandResult::ok(
        ResponseCode::appenduid(result.uidvalidity,
                                ResolvedSet::from_numbers(result.uids).to_string()),
        "APPEND completed");
}

}  // namespace imap::server
