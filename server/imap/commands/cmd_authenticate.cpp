// AUTHENTICATE (RFC 3501 6.2.2) with SASL-IR (RFC 4959) and the two
// plaintext mechanisms clients use: PLAIN (RFC 4616) and the de-facto LOGIN
// (draft-murchison-sasl-login: "Username:" and "Password:" challenges).
//
// Each client response is one raw line (Framer::expect_raw_line), base64
// (RFC 4648 with padding, checked strictly). "*" cancels the exchange with a
// tagged BAD (RFC 3501 6.2.2); so does undecodable base64.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"
#include "store/accounts.h"
#include "store/errors.h"

namespace imap::server {
namespace {

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// RFC 4648 4, strictly: a multiple of four characters, "=" only as the final
// padding, and zero pad bits (RFC 4648 3.5 lets a decoder reject others).
std::optional<Secret> decode_base64(std::string_view in) {
    if (in.size() % 4 != 0) return std::nullopt;
    std::size_t padding = 0;
    while (padding < 2 && padding < in.size() && in[in.size() - 1 - padding] == '=')
        ++padding;
    std::string out;
    out.reserve(in.size() / 4 * 3);
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (std::size_t i = 0; i < in.size() - padding; ++i) {
        const int v = base64_value(in[i]);
        if (v < 0) return std::nullopt;
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out.push_back(static_cast<char>((bits >> bit_count) & 0xFF));
        }
    }
    if ((bits & ((1u << bit_count) - 1)) != 0) return std::nullopt;
    return Secret(std::move(out));
}

// Base64 `text`, or the refusal BAD.
Checked<Secret> decode_or_refuse(std::string_view text) {
    std::optional<Secret> decoded = decode_base64(text);
    if (!decoded) return CommandResult::bad("Invalid base64 data");
    return std::move(*decoded);
}

// One client response: "*" cancels, anything else must be base64; the
// refusal BAD otherwise.
Checked<Secret> read_response(std::string_view line) {
    if (line == "*") return CommandResult::bad("Authentication cancelled");
    return decode_or_refuse(line);
}

// The SASL-IR initial response as the parser kept it: "=" is an empty
// response (RFC 4959 3), anything else base64.
Checked<Secret> read_initial_response(const Secret& initial) {
    if (initial.reveal() == "=") return Secret();
    return decode_or_refuse(initial.reveal());
}

// Whether an authzid names the account authcid logged in to: the names are
// compared as the account store compares them (case-folded), so "Alice"
// may act as "alice". A name the store would refuse is nobody's.
bool same_user(std::string_view authzid, std::string_view authcid) {
    try {
        return store::AccountStore::canonical_user_name(authzid) ==
               store::AccountStore::canonical_user_name(authcid);
    } catch (const store::StoreError&) {
        return false;
    }
}

// message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 2)
CommandResult finish_plain(Session& session, const Secret& message) {
    const std::string& m = message.reveal();
    const std::size_t first = m.find('\0');
    const std::size_t second = first == std::string::npos ? first : m.find('\0', first + 1);
    if (second == std::string::npos || m.find('\0', second + 1) != std::string::npos ||
        second == first + 1 || second + 1 == m.size()) {
        // Not two NULs, or an empty authcid or passwd (both are 1*SAFE).
        return CommandResult::bad("Malformed PLAIN response");
    }
    std::string authzid = m.substr(0, first);
    std::string authcid = m.substr(first + 1, second - first - 1);
    Secret password(m.substr(second + 1));
    auto authorize = [authzid, authcid](Session&) -> std::optional<CommandResult> {
        if (!authzid.empty() && !same_user(authzid, authcid)) {
            // RFC 4616 2: the authorization identity is derived from authcid
            // when empty; acting as another user is not supported. RFC 5530
            // AUTHORIZATIONFAILED: the credentials were right, the identity
            // is not.
            return CommandResult::no(Code::AuthorizationFailed,
                                     "Not allowed to act as another user");
        }
        return std::nullopt;
    };
    return authenticate(session, authcid, std::move(password), authorize);
}

CommandResult plain(Session& session, const std::optional<Secret>& initial) {
    if (initial) {
        Checked<Secret> message = read_initial_response(*initial);
        if (!message) return message.refusal();
        return finish_plain(session, *message);
    }
    // RFC 4616 2: an empty challenge asks for the message.
    session.writer().challenge("");
    return CommandResult::continuation([](Session& s, std::string_view line) {
        Checked<Secret> message = read_response(line);
        if (!message) return message.refusal();
        return finish_plain(s, *message);
    });
}

CommandResult login_password(Session& session, std::string user) {
    session.writer().challenge("Password:");
    return CommandResult::continuation(
        [user = std::move(user)](Session& s, std::string_view line) mutable {
            Checked<Secret> password = read_response(line);
            if (!password) return password.refusal();
            return authenticate(s, std::move(user), std::move(*password));
        });
}

CommandResult login(Session& session, const std::optional<Secret>& initial) {
    if (initial) {
        // Clients that use SASL-IR with LOGIN send the user name first.
        Checked<Secret> user = read_initial_response(*initial);
        if (!user) return user.refusal();
        return login_password(session, user->reveal());
    }
    session.writer().challenge("Username:");
    return CommandResult::continuation([](Session& s, std::string_view line) {
        Checked<Secret> user = read_response(line);
        if (!user) return user.refusal();
        return login_password(s, user->reveal());
    });
}

}  // namespace

CommandResult cmd_authenticate(Session& session, Command& command) {
    auto& auth = std::get<AuthenticateCommand>(command.body);
    const bool is_plain = auth.mechanism == "PLAIN";
    if (!is_plain && auth.mechanism != "LOGIN") {
        // RFC 3501 6.2.2: NO for an unsupported mechanism.
        return CommandResult::no("Unsupported authentication mechanism");
    }
    // Both mechanisms carry the password in clear.
    if (std::optional<CommandResult> refusal = refuse_plaintext_if_needed(session)) {
        return std::move(*refusal);
    }
    if (is_plain) return plain(session, auth.initial_response);
    return login(session, auth.initial_response);
}

}  // namespace imap::server
