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

// One client response: "*" cancels, anything else must be base64. On
// failure the tagged BAD is written and nullopt returned.
std::optional<Secret> read_response(Session& session, const std::string& tag,
                                    std::string_view line) {
    if (line == "*") {
        session.complete(tag, Status::Bad, "Authentication cancelled");
        return std::nullopt;
    }
    std::optional<Secret> decoded = decode_base64(line);
    if (!decoded) session.complete(tag, Status::Bad, "Invalid base64 data");
    return decoded;
}

// The SASL-IR initial response as the parser kept it: "=" is an empty
// response (RFC 4959 3), anything else base64.
std::optional<Secret> read_initial_response(Session& session, const std::string& tag,
                                            const Secret& initial) {
    if (initial.reveal() == "=") return Secret();
    std::optional<Secret> decoded = decode_base64(initial.reveal());
    if (!decoded) session.complete(tag, Status::Bad, "Invalid base64 data");
    return decoded;
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
void finish_plain(Session& session, const std::string& tag, const Secret& message) {
    const std::string& m = message.reveal();
    const std::size_t first = m.find('\0');
    const std::size_t second = first == std::string::npos ? first : m.find('\0', first + 1);
    if (second == std::string::npos || m.find('\0', second + 1) != std::string::npos ||
        second == first + 1 || second + 1 == m.size()) {
        // Not two NULs, or an empty authcid or passwd (both are 1*SAFE).
        session.complete(tag, Status::Bad, "Malformed PLAIN response");
        return;
    }
    std::string authzid = m.substr(0, first);
    std::string authcid = m.substr(first + 1, second - first - 1);
    Secret password(m.substr(second + 1));
    auto authorize = [tag, authzid, authcid](Session& s) {
        if (!authzid.empty() && !same_user(authzid, authcid)) {
            // RFC 4616 2: the authorization identity is derived from authcid
            // when empty; acting as another user is not supported. RFC 5530
            // AUTHORIZATIONFAILED: the credentials were right, the identity
            // is not.
            s.complete(tag, Status::No, Code::AuthorizationFailed,
                       "Not allowed to act as another user");
            return false;
        }
        return true;
    };
    authenticate_and_complete(session, tag, authcid, std::move(password), authorize);
}

void plain(Session& session, const std::string& tag, const std::optional<Secret>& initial) {
    if (initial) {
        if (std::optional<Secret> message = read_initial_response(session, tag, *initial)) {
            finish_plain(session, tag, *message);
        }
        return;
    }
    // RFC 4616 2: an empty challenge asks for the message.
    session.writer().challenge("");
    session.expect_continuation(tag, [tag](Session& s, std::string_view line) {
        if (std::optional<Secret> message = read_response(s, tag, line)) {
            finish_plain(s, tag, *message);
        }
    });
}

void login_password(Session& session, const std::string& tag, std::string user) {
    session.writer().challenge("Password:");
    session.expect_continuation(
        tag, [tag, user = std::move(user)](Session& s, std::string_view line) mutable {
            std::optional<Secret> password = read_response(s, tag, line);
            if (!password) return;
            authenticate_and_complete(s, tag, std::move(user), std::move(*password));
        });
}

void login(Session& session, const std::string& tag, const std::optional<Secret>& initial) {
    if (initial) {
        // Clients that use SASL-IR with LOGIN send the user name first.
        if (std::optional<Secret> user = read_initial_response(session, tag, *initial)) {
            login_password(session, tag, user->reveal());
        }
        return;
    }
    session.writer().challenge("Username:");
    session.expect_continuation(tag, [tag](Session& s, std::string_view line) {
        if (std::optional<Secret> user = read_response(s, tag, line)) {
            login_password(s, tag, user->reveal());
        }
    });
}

}  // namespace

void cmd_authenticate(Session& session, Command& command) {
    auto& auth = std::get<AuthenticateCommand>(command.body);
    const bool is_plain = auth.mechanism == "PLAIN";
    if (!is_plain && auth.mechanism != "LOGIN") {
        // RFC 3501 6.2.2: NO for an unsupported mechanism.
        session.complete(command.tag, Status::No, "Unsupported authentication mechanism");
        return;
    }
    // Both mechanisms carry the password in clear.
    if (refuse_plaintext_if_needed(session, command.tag)) return;
    if (is_plain) {
        plain(session, command.tag, auth.initial_response);
    } else {
        login(session, command.tag, auth.initial_response);
    }
}

}  // namespace imap::server
