#include "server/imap/commands/append_common.h"

#include <string>
#include <vector>

#include "server/imap/commands/catenate.h"

namespace imap::server {
namespace {

// The store's flags for a flag-list, or the refusal BAD.
Checked<store::Flags> append_flags(const std::vector<Flag>& flags) {
    store::Flags result;
    for (const Flag& flag : flags) {
        if (flag.starts_with('\\')) {
            const std::uint32_t bit = store::system_flag_bit(flag);
            if (bit == 0) {
                return CommandResult::bad("Invalid system flag " + flag);
            }
            result.system |= bit;
        } else {
            result.keywords.push_back(flag);
        }
    }
    return result;
}

}  // namespace

Checked<store::AppendRequest> append_request(Session& session, AppendMessage& message,
                                             std::int64_t now) {
    auto flags = append_flags(message.flags);
    if (!flags) return flags.refusal();
    if (message.catenate) {
        Checked<std::string> assembled = catenate(session, *message.catenate);
        if (!assembled) return assembled.refusal();
        message.message = std::move(*assembled);
    }
    if (message.message.empty()) {
        return CommandResult::no(Code::Cannot, "Cannot save an empty message");
    }
    store::AppendRequest request;
    request.message = message.message;
    request.flags = std::move(*flags);
    if (message.internal_date) {
        request.internal_date = message.internal_date->to_unix();
        request.zone_minutes = message.internal_date->zone_minutes;
    } else {
        request.internal_date = now;
    }
    return request;
}

}  // namespace imap::server
