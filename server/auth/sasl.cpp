#include "server/auth/sasl.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "store/accounts.h"
#include "store/errors.h"
#include "store/password.h"

namespace imap::server::sasl {
namespace {

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::toupper(static_cast<unsigned char>(x)) ==
                      std::toupper(static_cast<unsigned char>(y));
           });
}

// ---- PLAIN (RFC 4616) ----

class PlainExchange : public Exchange {
  public:
    Step start(std::optional<Secret> initial_response) override {
        // RFC 4616 2: an empty challenge asks for the message.
        if (!initial_response) return Step::make_challenge("");
        return respond(*initial_response);
    }

    // message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 2)
    Step respond(const Secret& response) override {
        const std::string& m = response.reveal();
        const std::size_t first = m.find('\0');
        const std::size_t second = first == std::string::npos ? first : m.find('\0', first + 1);
        if (second == std::string::npos || m.find('\0', second + 1) != std::string::npos ||
            second == first + 1 || second + 1 == m.size()) {
            // Not two NULs, or an empty authcid or passwd (both are 1*SAFE).
            return Step::fail(Failure::Malformed, "Malformed PLAIN response");
        }
        Step step;
        step.kind = Step::Kind::CheckPassword;
        step.authzid = m.substr(0, first);
        step.authcid = m.substr(first + 1, second - first - 1);
        step.password = Secret(m.substr(second + 1));
        return step;
    }
};

// ---- LOGIN (draft-murchison-sasl-login: "Username:", "Password:") ----

class LoginExchange : public Exchange {
  public:
    Step start(std::optional<Secret> initial_response) override {
        // Clients that use SASL-IR with LOGIN send the user name first.
        if (initial_response) return respond(*initial_response);
        return Step::make_challenge("Username:");
    }

    Step respond(const Secret& response) override {
        if (!user_) {
            user_ = response.reveal();
            return Step::make_challenge("Password:");
        }
        Step step;
        step.kind = Step::Kind::CheckPassword;
        step.authcid = std::move(*user_);
        step.password = response;
        return step;
    }

  private:
    std::optional<std::string> user_;
};

// ---- SCRAM (RFC 5802; RFC 7677 for SHA-256) ----

// saslname = 1*(value-safe-char / "=2C" / "=3D") (RFC 5802 7): the decoded
// name, or nullopt for an empty name or any other "=" escape.
std::optional<std::string> decode_saslname(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == ',' || c == '\0') return std::nullopt;
        if (c != '=') {
            out += c;
            continue;
        }
        const std::string_view escape = text.substr(i + 1, 2);
        if (escape == "2C") {
            out += ',';
        } else if (escape == "3D") {
            out += '=';
        } else {
            return std::nullopt;
        }
        i += 2;
    }
    return out;
}

// Splits `text` at commas.
std::vector<std::string_view> split_attributes(std::string_view text) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        parts.push_back(text.substr(start, comma - start));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return parts;
}

// `attribute` is "<letter>=value": the value, or nullopt.
std::optional<std::string_view> attribute_value(std::string_view attribute, char letter) {
    if (attribute.size() < 2 || attribute[0] != letter || attribute[1] != '=') return std::nullopt;
    return attribute.substr(2);
}

// printable = %x21-2B / %x2D-7E (RFC 5802 7): a nonce's characters.
bool printable_nonce(std::string_view nonce) {
    return !nonce.empty() && std::all_of(nonce.begin(), nonce.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x21 && u <= 0x7e && c != ',';
    });
}

std::string xor_bytes(std::string_view a, std::string_view b) {
    std::string out(a.size(), '\0');
    for (std::size_t i = 0; i < a.size(); ++i)
        out[i] = static_cast<char>(a[i] ^ b[i]);
    return out;
}

class ScramExchange : public Exchange {
  public:
    ScramExchange(store::ScramHash hash, bool plus, bool binding_offered,
                  std::optional<ChannelBinding> binding, std::string nonce)
        : hash_(hash),
          plus_(plus),
          binding_offered_(binding_offered),
          binding_(std::move(binding)),
          server_nonce_(std::move(nonce)) {
        if (server_nonce_.empty()) server_nonce_ = encode_base64(store::random_bytes(24));
    }

    Step start(std::optional<Secret> initial_response) override {
        // RFC 5802 5: the client starts; without an initial response, an
        // empty challenge asks for its first message (RFC 4422 3.3).
        if (!initial_response) return Step::make_challenge("");
        return respond(*initial_response);
    }

    Step respond(const Secret& response) override {
        switch (state_) {
            case State::ClientFirst:
                return client_first(response.reveal());
            case State::ClientFinal:
                return client_final(response.reveal());
            case State::Acknowledge:
                // RFC 4422 3.6: the server's additional data went out as a
                // challenge; the client answers it with an empty response.
                state_ = State::Done;
                if (!response.reveal().empty()) {
                    return Step::fail(Failure::Malformed, "SCRAM: expected an empty response");
                }
                return Step::success(authcid_);
            case State::Credentials:
            case State::Done:
                break;
        }
        return Step::fail(Failure::Malformed, "SCRAM: exchange already complete");
    }

    Step provide_credentials(const store::ScramCredentials& credentials) override {
        if (state_ != State::Credentials) {
            return Step::fail(Failure::Malformed, "SCRAM: credentials not expected");
        }
        credentials_ = credentials;
        // server-first-message = nonce "," salt "," iteration-count
        server_first_ = "r=" + client_nonce_ + server_nonce_ +
                        ",s=" + encode_base64(credentials.salt) +
                        ",i=" + std::to_string(credentials.iterations);
        state_ = State::ClientFinal;
        return Step::make_challenge(server_first_);
    }

    bool next_response_verifies() const override { return state_ == State::ClientFinal; }

  private:
    enum class State { ClientFirst, Credentials, ClientFinal, Acknowledge, Done };

    Step malformed(std::string reason) {
        state_ = State::Done;
        return Step::fail(Failure::Malformed, "SCRAM: " + std::move(reason));
    }
    Step refused(std::string reason) {
        state_ = State::Done;
        return Step::fail(Failure::AuthenticationFailed, std::move(reason));
    }

    // client-first-message = gs2-header client-first-message-bare
    //   gs2-header = gs2-cbind-flag "," [authzid] ","
    //   client-first-message-bare = [reserved-mext ","] username "," nonce
    //                               ["," extensions]
    Step client_first(std::string_view message) {
        const std::size_t first_comma = message.find(',');
        const std::size_t second_comma = first_comma == std::string_view::npos
                                             ? first_comma
                                             : message.find(',', first_comma + 1);
        if (second_comma == std::string_view::npos) return malformed("no GS2 header");
        gs2_header_ = std::string(message.substr(0, second_comma + 1));
        const std::string_view flag = message.substr(0, first_comma);
        const std::string_view authzid =
            message.substr(first_comma + 1, second_comma - first_comma - 1);
        const std::string_view bare = message.substr(second_comma + 1);

        // RFC 5802 6: the channel binding flag against what this server
        // offers on this connection.
        if (flag == "n") {
            if (plus_) return refused("Channel binding required by this mechanism");
        } else if (flag == "y") {
            // The client could bind but believes the server cannot: when
            // this server advertised a -PLUS mechanism here, someone removed
            // it from the list (a downgrade).
            if (plus_) return refused("Channel binding required by this mechanism");
            if (binding_offered_) {
                return refused("Server supports channel binding: downgrade detected");
            }
        } else if (std::optional<std::string_view> name = attribute_value(flag, 'p')) {
            if (!plus_) return refused("Channel binding not offered by this mechanism");
            if (!binding_ || *name != binding_->type) {
                return refused("Unsupported channel binding type");
            }
            uses_binding_ = true;
        } else {
            return malformed("invalid channel binding flag");
        }
        if (!authzid.empty()) {
            std::optional<std::string_view> value = attribute_value(authzid, 'a');
            std::optional<std::string> decoded;
            if (value) decoded = decode_saslname(*value);
            if (!decoded) return malformed("invalid authorization identity");
            authzid_ = std::move(*decoded);
        }

        const std::vector<std::string_view> parts = split_attributes(bare);
        if (!parts.empty() && parts[0].starts_with("m=")) {
            // RFC 5802 5.1: a mandatory extension this server does not know.
            return malformed("mandatory extensions are not supported");
        }
        if (parts.size() < 2) return malformed("missing user name or nonce");
        std::optional<std::string_view> user = attribute_value(parts[0], 'n');
        std::optional<std::string> decoded_user;
        if (user) decoded_user = decode_saslname(*user);
        if (!decoded_user) return malformed("invalid user name");
        std::optional<std::string_view> nonce = attribute_value(parts[1], 'r');
        if (!nonce || !printable_nonce(*nonce)) return malformed("invalid nonce");
        authcid_ = std::move(*decoded_user);
        client_nonce_ = std::string(*nonce);
        client_first_bare_ = std::string(bare);

        state_ = State::Credentials;
        Step step;
        step.kind = Step::Kind::NeedScramCredentials;
        step.authcid = authcid_;
        step.hash = hash_;
        return step;
    }

    // client-final-message = channel-binding "," nonce ["," extensions]
    //                        "," proof
    Step client_final(std::string_view message) {
        const std::size_t proof_at = message.rfind(",p=");
        if (proof_at == std::string_view::npos) return malformed("missing proof");
        const std::string_view without_proof = message.substr(0, proof_at);
        const std::vector<std::string_view> parts = split_attributes(without_proof);
        if (parts.size() < 2) return malformed("missing channel binding or nonce");
        std::optional<std::string_view> binding = attribute_value(parts[0], 'c');
        if (!binding) return malformed("missing channel binding");
        std::optional<Secret> binding_bytes = decode_base64(*binding);
        if (!binding_bytes) return malformed("invalid channel binding encoding");
        std::optional<std::string_view> nonce = attribute_value(parts[1], 'r');
        if (!nonce) return malformed("missing nonce");
        std::optional<Secret> proof = decode_base64(message.substr(proof_at + 3));
        if (!proof) return malformed("invalid proof encoding");

        // RFC 5802 5.1: the nonce is the whole of the server-first one.
        if (*nonce != client_nonce_ + server_nonce_) return refused("Nonce mismatch");
        // c= is the GS2 header, followed by the channel's binding data when
        // the client asked for binding ("p="): both must be what this side
        // has, or a man in the middle relays a different TLS session.
        std::string expected = gs2_header_;
        if (uses_binding_) expected += binding_->data;
        if (binding_bytes->reveal().size() != expected.size() ||
            CRYPTO_memcmp(binding_bytes->reveal().data(), expected.data(), expected.size()) != 0) {
            return refused("Channel binding does not match");
        }
        if (proof->reveal().size() != store::scram_digest_size(hash_)) {
            return refused("Authentication failed");
        }

        const std::string auth_message =
            client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
        const std::string client_signature =
            store::scram_hmac(hash_, credentials_.stored_key, auth_message);
        std::string client_key = xor_bytes(proof->reveal(), client_signature);
        const std::string stored_key = store::scram_digest(hash_, client_key);
        store::wipe_string(client_key);
        if (stored_key.size() != credentials_.stored_key.size() ||
            CRYPTO_memcmp(stored_key.data(), credentials_.stored_key.data(), stored_key.size()) !=
                0) {
            return refused("Authentication failed");
        }
        if (!authzid_.empty() && !authorized(authzid_, authcid_)) {
            state_ = State::Done;
            return Step::fail(Failure::AuthorizationFailed, "Not allowed to act as another user");
        }
        const std::string server_signature =
            store::scram_hmac(hash_, credentials_.server_key, auth_message);
        state_ = State::Acknowledge;
        return Step::make_challenge("v=" + encode_base64(server_signature));
    }

    const store::ScramHash hash_;
    const bool plus_;
    const bool binding_offered_;
    const std::optional<ChannelBinding> binding_;
    std::string server_nonce_;
    State state_ = State::ClientFirst;
    bool uses_binding_ = false;
    std::string gs2_header_;
    std::string authzid_;
    std::string authcid_;
    std::string client_nonce_;
    std::string client_first_bare_;
    std::string server_first_;
    store::ScramCredentials credentials_;
};

}  // namespace

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

std::string encode_base64(std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                                (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                                static_cast<unsigned char>(bytes[i + 2]);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
        if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string_view imap_code(Failure failure) {
    switch (failure) {
        case Failure::Malformed:
            return "";
        case Failure::AuthenticationFailed:
            return "AUTHENTICATIONFAILED";
        case Failure::AuthorizationFailed:
            return "AUTHORIZATIONFAILED";
        case Failure::Unavailable:
            return "UNAVAILABLE";
    }
    return "";
}

std::string_view pop3_code(Failure failure) {
    switch (failure) {
        case Failure::Malformed:
            return "";
        case Failure::AuthenticationFailed:
        case Failure::AuthorizationFailed:
            return "AUTH";
        case Failure::Unavailable:
            return "SYS/TEMP";
    }
    return "";
}

Step Step::make_challenge(std::string bytes) {
    Step step;
    step.kind = Kind::Challenge;
    step.challenge = std::move(bytes);
    return step;
}

Connection describe_connection(bool plaintext_allowed, bool scram_available, bool tls,
                               const std::function<std::optional<ChannelBinding>()>& binding) {
    Connection connection;
    connection.plaintext_allowed = plaintext_allowed;
    connection.scram_available = scram_available;
    if (tls && binding) {
        connection.channel_binding_offered = true;
        connection.channel_binding = binding();
    }
    return connection;
}

Step Step::fail(Failure failure, std::string reason) {
    Step step;
    step.kind = Kind::Failure;
    step.failure = failure;
    step.reason = std::move(reason);
    return step;
}

Step Step::success(std::string authcid) {
    Step step;
    step.kind = Kind::Success;
    step.authcid = std::move(authcid);
    return step;
}

Step Exchange::provide_credentials(const store::ScramCredentials&) {
    return Step::fail(Failure::Malformed, "credentials not expected");
}

bool authorized(std::string_view authzid, std::string_view authcid) {
    if (authzid.empty()) return true;
    try {
        return store::AccountStore::canonical_user_name(authzid) ==
               store::AccountStore::canonical_user_name(authcid);
    } catch (const store::StoreError&) {
        return false;  // a name the store would refuse is nobody's
    }
}

Registry::Registry()
    : mechanisms_{
          {.name = "SCRAM-SHA-256-PLUS", .channel_binding = true, .scram = true},
          {.name = "SCRAM-SHA-256", .scram = true},
          {.name = "SCRAM-SHA-1-PLUS", .channel_binding = true, .scram = true},
          {.name = "SCRAM-SHA-1", .scram = true},
          {.name = "PLAIN", .plaintext = true},
          {.name = "LOGIN", .plaintext = true},
      } {}

const Registry& Registry::standard() {
    static const Registry registry;
    return registry;
}

namespace {

bool offered(const Mechanism& mechanism, const Connection& connection) {
    if (mechanism.plaintext && !connection.plaintext_allowed) return false;
    if (mechanism.channel_binding && !connection.channel_binding_offered) return false;
    if (mechanism.scram && !connection.scram_available) return false;
    return true;
}

}  // namespace

std::vector<std::string_view> Registry::advertised(const Connection& connection) const {
    std::vector<std::string_view> names;
    for (const Mechanism& mechanism : mechanisms_) {
        if (offered(mechanism, connection)) names.push_back(mechanism.name);
    }
    return names;
}

Registry::Started Registry::start(std::string_view name, const Connection& connection,
                                  std::string nonce) const {
    Started started;
    const auto found = std::find_if(mechanisms_.begin(), mechanisms_.end(),
                                    [&](const Mechanism& m) { return iequals(m.name, name); });
    if (found == mechanisms_.end()) return started;
    if (found->plaintext && !connection.plaintext_allowed) {
        started.refusal = Refusal::PlaintextNotAllowed;
        return started;
    }
    if (!offered(*found, connection)) return started;
    // Advertised, but the handshake gave no binding after all.
    if (found->channel_binding && !connection.channel_binding) return started;
    if (found->name == "PLAIN") {
        started.exchange = std::make_unique<PlainExchange>();
    } else if (found->name == "LOGIN") {
        started.exchange = std::make_unique<LoginExchange>();
    } else {
        const store::ScramHash hash = found->name.starts_with("SCRAM-SHA-256")
                                          ? store::ScramHash::Sha256
                                          : store::ScramHash::Sha1;
        started.exchange = std::make_unique<ScramExchange>(
            hash, found->channel_binding, connection.channel_binding_offered,
            connection.channel_binding, std::move(nonce));
    }
    return started;
}

}  // namespace imap::server::sasl
