// IDLE (RFC 2177): after "+ idling" the client waits for mailbox updates,
// which the session pushes as they happen (Session::begin_idle), until it
// sends DONE (any case): "tag OK IDLE completed" (Dovecot: "Idle
// completed."), after a last sync. Any other line gets "tag BAD Expected
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

void cmd_idle(Session& session, Command& command) {
    session.begin_idle(command.tag, [tag = command.tag](Session& s, std::string_view line) {
        if (is_done(line)) {
            // A last sync before the tagged OK, as for every command.
            s.complete(tag, Status::Ok, "IDLE completed");
        } else {
            // RFC 2177 3: anything but DONE is a protocol error; the IDLE is
            // over either way.
            s.writer().tagged(tag, Status::Bad, "Expected DONE");
        }
    });
}

}  // namespace imap::server
