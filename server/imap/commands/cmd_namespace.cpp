// NAMESPACE (RFC 2342): one personal namespace with no prefix and the "/"
// delimiter, no other users' or shared namespaces:
//   * NAMESPACE (("" "/")) NIL NIL
// (Dovecot's answer for the same layout.)
#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {

CommandResult cmd_namespace(Session& session, Command&) {
    // Namespace_Response = "*" SP "NAMESPACE" SP Namespace SP Namespace SP
    // Namespace, Namespace = nil / "(" 1*( "(" string SP (<"> QUOTED_CHAR
    // <"> / nil) *(Namespace_Response_Extension) ")" ) ")"  (RFC 2342 5)
    ResponseWriter& w = session.writer();
    w.begin_untagged().atom("NAMESPACE").sp().open().open().string("").sp();
    w.string(std::string_view(&kHierarchyDelimiter, 1)).close().close().sp().nil().sp().nil();
    w.end();
    return CommandResult::ok("NAMESPACE completed");
}

}  // namespace imap::server
