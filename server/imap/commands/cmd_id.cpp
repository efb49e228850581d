// ID (RFC 2971): the server answers with its own name and version. What the
// client sent is not used yet (it belongs in the connection's log line).
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_id(Session& session, Command&) {
    // id-response = "ID" SP id-params-list (RFC 2971 4)
    ResponseWriter& w = session.writer();
    w.begin_untagged().atom("ID").sp().open();
    w.string("name").sp().string("imapd").sp().string("version").sp().string(IMAPD_VERSION);
    w.close().end();
    return CommandResult::ok("ID completed");
}

}  // namespace imap::server
