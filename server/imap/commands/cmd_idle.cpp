// IDLE (RFC 2177): after "+ idling" the client waits for mailbox updates,
// which the session pushes as they happen (CommandResult::idle,
// Session::idling), until it sends DONE (any case): "tag OK IDLE completed"
// (Dovecot: "Idle completed."), after a last sync. Any other line gets "tag BAD Expected
// DONE" (Dovecot's text) and ends the IDLE too; commands pipelined after
// the line run as usual.
#include <string>

#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {
namespace {

bool is_done(std::string_view line) {
    constexpr std::string_view kDone = "DONE";
    if (line.size() != kDone.size()) return false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c =
            line[i] >= 'a' && line[i] <= 'z' ? static_cast<char>(line[i] - 'a' + 'A') : line[i];
        if (c != kDone[i]) return false;
    }
    return true;
}

}  // namespace

CommandResult cmd_idle(Session&, Command&) {
    return CommandResult::idle([](Session&, std::string_view line) {
        // A last sync before the tagged OK, as for every command.
        if (is_done(line)) return CommandResult::ok("IDLE completed");
        // RFC 2177 3: anything but DONE is a protocol error; the IDLE is over
        // either way.
        return CommandResult::bad_at_once("Expected DONE");
    });
}

}  // namespace imap::server
