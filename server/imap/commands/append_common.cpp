#include "server/imap/commands/append_common.h"

#include <algorithm>
#include <string>
#include <string_view>
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

// The header section of `message`: up to its first empty line, or all of it.
std::string_view header_section(std::string_view message) {
    const std::size_t crlf = message.find("\r\n\r\n");
    const std::size_t lf = message.find("\n\n");
    return message.substr(0, std::min(crlf, lf));
}

bool has_8bit(std::string_view bytes) {
    return std::any_of(bytes.begin(), bytes.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
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
    // RFC 6855 4: "If an IMAP server supports UTF8=ACCEPT and the IMAP client
    // has not issued the ENABLE UTF8=ACCEPT command, the server MUST reject,
    // with a NO response, an APPEND command that includes any 8-bit
    // character in message header fields." An IMAP4rev2 client may send
    // them (RFC 9051 Appendix E 16).
    if (!session.utf8_mailbox_names() && has_8bit(header_section(message.message))) {
        return CommandResult::no(Code::Cannot,
                                 "8-bit header fields need ENABLE UTF8=ACCEPT first (RFC 6855 4)");
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
