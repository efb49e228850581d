// CANCELUPDATE (RFC 5267 4.3.5): stops the updates of the searches whose
// tags it names (search_contexts.h). Every tag must name an active context,
// or nothing is cancelled and the answer is NO "Unknown tag" (the RFC does
// not say; Dovecot answers so, without saying whether the known tags of the
// same command were cancelled).
#include <string>
#include <variant>

#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_cancelupdate(Session& session, Command& command) {
    const CancelUpdateCommand& request = std::get<CancelUpdateCommand>(command.body);
    SearchContexts& contexts = session.selected()->contexts();
    for (const std::string& tag : request.tags) {
        if (!contexts.has(tag)) return CommandResult::no("Unknown tag");
    }
    for (const std::string& tag : request.tags)
        contexts.cancel(tag);
    return CommandResult::ok("Updates cancelled");
}

}  // namespace imap::server
