// ENABLE (RFC 5161): "* ENABLED" lists the extensions this command turned
// on, then the tagged OK. CONDSTORE and QRESYNC (RFC 7162 3.2.3),
// UTF8=ACCEPT (RFC 6855 3) and IMAP4rev2 (RFC 9051 6.3.1) can be enabled,
// listed in the spelling the server advertises ("* ENABLED IMAP4rev2"
// for "ENABLE imap4REV2"); any other name (unknown, or an extension that needs no enabling)
// is ignored, as RFC 5161 3.1 requires. QRESYNC implies CONDSTORE, which is
// then enabled too but listed only when asked for (Dovecot answers "ENABLE
// QRESYNC" with "* ENABLED QRESYNC" alike). An extension enabled by an
// earlier command is not listed again (RFC 5161 3.2: the ENABLED response
// lists what this command enabled). "* ENABLED"
// is sent even when empty, as the RFC's grammar allows.
//
// The table row allows ENABLE only in the authenticated state (RFC 5161
// 3.1); once selected it is a BAD.
#include <string>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_enable(Session& session, Command& command) {
    const EnableCommand& request = std::get<EnableCommand>(command.body);
    std::vector<std::string> enabled;
    const auto note = [&enabled](const std::string& name) {
        for (const std::string& e : enabled) {
            if (e == name) return;
        }
        enabled.push_back(name);
    };
    // Listed when not enabled before this command: "ENABLE QRESYNC
    // CONDSTORE" lists both (RFC 7162 3.2.3: same result as "ENABLE
    // QRESYNC").
    const bool had_condstore = session.condstore_enabled();
    const bool had_qresync = session.qresync_enabled();
    const bool had_utf8_accept = session.utf8_accept_enabled();
    const bool had_imap4rev2 = session.imap4rev2_enabled();
    for (const std::string& name : request.capabilities) {
        // The parser upper-cased the names (RFC 5161 3.1: case-insensitive).
        if (name == "CONDSTORE") {
            if (!had_condstore) note(name);
            session.enable_condstore();
        } else if (name == "QRESYNC") {
            if (!had_qresync) note(name);
            session.enable_qresync();
        } else if (name == "UTF8=ACCEPT") {
            if (!had_utf8_accept) note(name);
            session.enable_utf8_accept();
        } else if (name == "IMAP4REV2") {
            if (!had_imap4rev2) note("IMAP4rev2");
            session.enable_imap4rev2();
        }
    }
    // response-data = "*" SP "ENABLED" *(SP capability) CRLF (RFC 5161 4)
    ResponseWriter& w = session.writer();
    w.begin_untagged().atom("ENABLED");
    for (const std::string& name : enabled)
        w.sp().atom(name);
    w.end();
    return CommandResult::ok("ENABLE completed");
}

}  // namespace imap::server
