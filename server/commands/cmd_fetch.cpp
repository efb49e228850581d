// FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8, 7.4.2). The set is resolved in
// the session's view here; the responses are written by a FetchJob
// (server/fetch_job.h) in steps, so a FETCH of many or large messages never
// buffers more than about Session::kOutputHighWater.
//
// A message sequence number past EXISTS (or any number in an empty
// mailbox) is a tagged BAD (RFC 3501 9, seq-number: "the server should
// respond with a tagged BAD"), with Dovecot's text. UIDs outside the view
// are ignored (RFC 3501 6.4.8): UID FETCH of none of them is a plain OK.
#include <memory>
#include <string>

#include "server/commands/handlers.h"
#include "server/commands/message_set.h"
#include "server/fetch_job.h"
#include "server/session.h"

namespace imap::server {

void cmd_fetch(Session& session, Command& command) {
    const FetchCommand& request = std::get<FetchCommand>(command.body);
    SelectedMailbox* selected = session.selected();
    const std::optional<store::UidSet> uids = resolve_message_set(
        session, command.tag, command_name(command.body), request.set, request.uid);
    if (!uids) return;
    auto job = std::make_shared<FetchJob>(command.tag, request, *uids, *selected);
    session.continue_later(command.tag, [job](Session& s) { return job->step(s); });
}

}  // namespace imap::server
