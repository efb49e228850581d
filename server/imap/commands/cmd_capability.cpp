// CAPABILITY (RFC 3501 6.1.1): the list depends on the state and on TLS
// (Session::capabilities()).
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_capability(Session& session, Command&) {
    session.writer().capability(session.capabilities());
    return CommandResult::ok("CAPABILITY completed");
}

}  // namespace imap::server
