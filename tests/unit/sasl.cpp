// The SASL module (server/auth/sasl.h) on its own, free of IMAP framing:
// the registry, PLAIN, LOGIN, and SCRAM against the RFC example
// conversations byte for byte (fixed server nonces), plus every way a SCRAM
// exchange must fail.
#include "server/auth/sasl.h"

#include <openssl/evp.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "store/scram.h"

using namespace imap;
using namespace imap::server;
using sasl::Step;

namespace {

std::vector<std::string> names(const std::vector<std::string_view>& views) {
    return {views.begin(), views.end()};
}

Secret raw(std::string_view bytes) {
    return Secret(bytes);
}

std::string b64(std::string_view bytes) {
    return sasl::encode_base64(bytes);
}

std::string unb64(std::string_view text) {
    auto decoded = sasl::decode_base64(text);
    REQUIRE(decoded);
    return decoded->reveal();
}

// The credentials the RFC examples' server holds for "user"/"pencil".
store::ScramCredentials credentials(store::ScramHash hash, std::string_view salt_base64) {
    auto derived = store::derive_scram_credentials(hash, "pencil", unb64(salt_base64), 4096);
    REQUIRE(derived);
    return *derived;
}

// A client's proof, computed the way RFC 5802 3 says, independently of the
// server code: ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage).
std::string client_proof(store::ScramHash hash, std::string_view password, std::string_view salt,
                         std::string_view auth_message) {
    const EVP_MD* md = hash == store::ScramHash::Sha256 ? EVP_sha256() : EVP_sha1();
    std::string salted(store::scram_digest_size(hash), '\0');
    REQUIRE(PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                              reinterpret_cast<const unsigned char*>(salt.data()),
                              static_cast<int>(salt.size()), 4096, md,
                              static_cast<int>(salted.size()),
                              reinterpret_cast<unsigned char*>(salted.data())) == 1);
    const std::string client_key = store::scram_hmac(hash, salted, "Client Key");
    const std::string signature =
        store::scram_hmac(hash, store::scram_digest(hash, client_key), auth_message);
    std::string proof(client_key.size(), '\0');
    for (std::size_t i = 0; i < proof.size(); ++i)
        proof[i] = static_cast<char>(client_key[i] ^ signature[i]);
    return b64(proof);
}

sasl::Connection tls_with_binding() {
    sasl::Connection connection;
    connection.plaintext_allowed = true;
    connection.scram_available = true;
    connection.channel_binding = sasl::ChannelBinding{"tls-exporter", std::string(32, '\x42')};
    return connection;
}

sasl::Connection plain_connection() {
    sasl::Connection connection;
    connection.scram_available = true;
    return connection;
}

std::unique_ptr<sasl::Exchange> start(std::string_view mechanism,
                                      const sasl::Connection& connection,
                                      std::string nonce = "SERVERNONCE") {
    auto started = sasl::Registry::standard().start(mechanism, connection, std::move(nonce));
    REQUIRE(started.exchange);
    return std::move(started.exchange);
}

// Runs client-first and the credential lookup; returns the server-first.
std::string first_round(sasl::Exchange& exchange, std::string_view client_first,
                        const store::ScramCredentials& creds) {
    Step step = exchange.start(raw(client_first));
    REQUIRE(step.kind == Step::Kind::NeedScramCredentials);
    Step challenge = exchange.provide_credentials(creds);
    REQUIRE(challenge.kind == Step::Kind::Challenge);
    return challenge.challenge;
}

}  // namespace

// ---- base64 ------------------------------------------------------------------

TEST_CASE("RFC 4648 4: base64 round trip and strict decoding", "[sasl]") {
    CHECK(b64("") == "");
    CHECK(b64("f") == "Zg==");
    CHECK(b64("fo") == "Zm8=");
    CHECK(b64("foo") == "Zm9v");
    CHECK(unb64("Zm9vYg==") == "foob");
    CHECK_FALSE(sasl::decode_base64("Zm9"));     // not a multiple of four
    CHECK_FALSE(sasl::decode_base64("Zh=="));    // non-zero pad bits (RFC 4648 3.5)
    CHECK_FALSE(sasl::decode_base64("Z=9v"));    // "=" inside
    CHECK_FALSE(sasl::decode_base64("Zm9v\n"));  // anything outside the alphabet
}

// ---- registry ----------------------------------------------------------------

TEST_CASE("RFC 5802 4: -PLUS advertised only with a channel binding, plaintext only when allowed",
          "[sasl]") {
    const auto& registry = sasl::Registry::standard();
    CHECK(names(registry.advertised(tls_with_binding())) ==
          std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS",
                                   "SCRAM-SHA-1", "PLAIN", "LOGIN"});
    CHECK(names(registry.advertised(plain_connection())) ==
          std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-1"});
    sasl::Connection without_scram;
    without_scram.plaintext_allowed = true;
    CHECK(names(registry.advertised(without_scram)) == std::vector<std::string>{"PLAIN", "LOGIN"});
}

TEST_CASE(
    "RFC 4422 3.1: mechanism names are case-insensitive, and unknown or unoffered ones refused",
    "[sasl]") {
    const auto& registry = sasl::Registry::standard();
    CHECK(registry.start("scram-sha-256", plain_connection()).exchange);
    CHECK(registry.start("plain", tls_with_binding()).exchange);
    auto unknown = registry.start("CRAM-MD5", tls_with_binding());
    CHECK_FALSE(unknown.exchange);
    CHECK(unknown.refusal == sasl::Registry::Refusal::Unsupported);
    auto in_clear = registry.start("PLAIN", plain_connection());
    CHECK_FALSE(in_clear.exchange);
    CHECK(in_clear.refusal == sasl::Registry::Refusal::PlaintextNotAllowed);
    // Without a channel binding the -PLUS variants do not exist here.
    auto plus = registry.start("SCRAM-SHA-256-PLUS", plain_connection());
    CHECK_FALSE(plus.exchange);
    CHECK(plus.refusal == sasl::Registry::Refusal::Unsupported);
}

TEST_CASE("Failures map to IMAP (RFC 5530) and POP3 (RFC 3206) codes", "[sasl]") {
    CHECK(sasl::imap_code(sasl::Failure::Malformed).empty());
    CHECK(sasl::imap_code(sasl::Failure::AuthenticationFailed) == "AUTHENTICATIONFAILED");
    CHECK(sasl::imap_code(sasl::Failure::AuthorizationFailed) == "AUTHORIZATIONFAILED");
    CHECK(sasl::imap_code(sasl::Failure::Unavailable) == "UNAVAILABLE");
    CHECK(sasl::pop3_code(sasl::Failure::AuthenticationFailed) == "AUTH");
    CHECK(sasl::pop3_code(sasl::Failure::AuthorizationFailed) == "AUTH");
    CHECK(sasl::pop3_code(sasl::Failure::Unavailable) == "SYS/TEMP");
}

// ---- PLAIN and LOGIN ---------------------------------------------------------

TEST_CASE("RFC 4616 2: PLAIN asks with an empty challenge and yields the password check",
          "[sasl]") {
    auto exchange = start("PLAIN", tls_with_binding());
    Step challenge = exchange->start(std::nullopt);
    CHECK(challenge.kind == Step::Kind::Challenge);
    CHECK(challenge.challenge.empty());
    Step check = exchange->respond(raw(std::string("admin\0alice\0secret", 18)));
    REQUIRE(check.kind == Step::Kind::CheckPassword);
    CHECK(check.authzid == "admin");
    CHECK(check.authcid == "alice");
    CHECK(check.password.reveal() == "secret");
    CHECK(exchange->respond(raw(std::string("\0\0x", 3))).kind == Step::Kind::Failure);
}

TEST_CASE("RFC 4616 2: malformed PLAIN messages fail as Malformed", "[sasl]") {
    for (std::string message :
         {std::string("alice"), std::string("\0alice", 6), std::string("\0\0secret", 8),
          std::string("\0alice\0", 7), std::string("a\0b\0c\0d", 7)}) {
        auto exchange = start("PLAIN", tls_with_binding());
        Step step = exchange->start(raw(message));
        CHECK(step.kind == Step::Kind::Failure);
        CHECK(step.failure == sasl::Failure::Malformed);
        CHECK(step.reason == "Malformed PLAIN response");
    }
}

TEST_CASE("LOGIN: Username: then Password: challenges, SASL-IR skips the first", "[sasl]") {
    auto exchange = start("LOGIN", tls_with_binding());
    CHECK(exchange->start(std::nullopt).challenge == "Username:");
    CHECK(exchange->respond(raw("alice")).challenge == "Password:");
    Step check = exchange->respond(raw("secret"));
    REQUIRE(check.kind == Step::Kind::CheckPassword);
    CHECK(check.authcid == "alice");
    CHECK(check.password.reveal() == "secret");

    auto with_ir = start("LOGIN", tls_with_binding());
    CHECK(with_ir->start(raw("bob")).challenge == "Password:");
}

TEST_CASE("RFC 4616 2: authorized() compares names as the account store does", "[sasl]") {
    CHECK(sasl::authorized("", "alice"));
    CHECK(sasl::authorized("Alice", "alice"));
    CHECK_FALSE(sasl::authorized("bob", "alice"));
    CHECK_FALSE(sasl::authorized("a b", "alice"));
}

// ---- SCRAM -------------------------------------------------------------------

TEST_CASE("RFC 7677 3: the SCRAM-SHA-256 example conversation, byte for byte", "[sasl][scram]") {
    auto exchange = start("SCRAM-SHA-256", plain_connection(), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    Step need = exchange->start(raw("n,,n=user,r=rOprNGfwEbeRWgbNEkqO"));
    REQUIRE(need.kind == Step::Kind::NeedScramCredentials);
    CHECK(need.authcid == "user");
    CHECK(need.hash == store::ScramHash::Sha256);
    Step first = exchange->provide_credentials(
        credentials(store::ScramHash::Sha256, "W22ZaJ0SNY7soEsUEjb6gQ=="));
    CHECK(first.challenge ==
          "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    CHECK(exchange->next_response_verifies());
    Step final_message =
        exchange->respond(raw("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                              "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
    REQUIRE(final_message.kind == Step::Kind::Challenge);
    CHECK(final_message.challenge == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    // RFC 4422 3.6: the additional data went as a challenge; the empty
    // response completes the exchange.
    Step done = exchange->respond(raw(""));
    REQUIRE(done.kind == Step::Kind::Success);
    CHECK(done.authcid == "user");
}

TEST_CASE("RFC 5802 5: the SCRAM-SHA-1 example conversation, byte for byte", "[sasl][scram]") {
    auto exchange = start("SCRAM-SHA-1", plain_connection(), "3rfcNHYJY1ZVvWVs7j");
    CHECK(first_round(*exchange, "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
                      credentials(store::ScramHash::Sha1, "QSXCR+Q6sek8bf92")) ==
          "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
    Step final_message =
        exchange->respond(raw("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
                              "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="));
    REQUIRE(final_message.kind == Step::Kind::Challenge);
    CHECK(final_message.challenge == "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
    CHECK(exchange->respond(raw("")).kind == Step::Kind::Success);
}

TEST_CASE("RFC 5802 3: a wrong proof fails as AuthenticationFailed", "[sasl][scram]") {
    auto exchange = start("SCRAM-SHA-256", plain_connection(), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    first_round(*exchange, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
                credentials(store::ScramHash::Sha256, "W22ZaJ0SNY7soEsUEjb6gQ=="));
    Step step =
        exchange->respond(raw("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                              "p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
    CHECK(step.kind == Step::Kind::Failure);
    CHECK(step.failure == sasl::Failure::AuthenticationFailed);
    CHECK(step.reason == "Authentication failed");
    // The exchange is over: nothing more is accepted.
    CHECK(exchange->respond(raw("")).failure == sasl::Failure::Malformed);
}

TEST_CASE("RFC 5802 5.1: a client-final nonce other than the server-first one fails",
          "[sasl][scram]") {
    auto exchange = start("SCRAM-SHA-256", plain_connection(), "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    first_round(*exchange, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
                credentials(store::ScramHash::Sha256, "W22ZaJ0SNY7soEsUEjb6gQ=="));
    Step step =
        exchange->respond(raw("c=biws,r=rOprNGfwEbeRWgbNEkqO,"
                              "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="));
    CHECK(step.failure == sasl::Failure::AuthenticationFailed);
    CHECK(step.reason == "Nonce mismatch");
}

TEST_CASE("RFC 5802 6: 'y' when the server offers -PLUS here is a downgrade and fails",
          "[sasl][scram]") {
    auto exchange = start("SCRAM-SHA-256", tls_with_binding());
    Step step = exchange->start(raw("y,,n=user,r=abc"));
    CHECK(step.kind == Step::Kind::Failure);
    CHECK(step.failure == sasl::Failure::AuthenticationFailed);
    CHECK(step.reason == "Server supports channel binding: downgrade detected");
    // Without a binding on the connection, "y" is an honest answer.
    auto honest = start("SCRAM-SHA-256", plain_connection());
    CHECK(honest->start(raw("y,,n=user,r=abc")).kind == Step::Kind::NeedScramCredentials);
}

TEST_CASE("RFC 5802 6: channel binding flag against the mechanism", "[sasl][scram]") {
    // -PLUS requires "p=".
    CHECK(start("SCRAM-SHA-256-PLUS", tls_with_binding())->start(raw("n,,n=user,r=abc")).reason ==
          "Channel binding required by this mechanism");
    CHECK(start("SCRAM-SHA-256-PLUS", tls_with_binding())->start(raw("y,,n=user,r=abc")).reason ==
          "Channel binding required by this mechanism");
    // "p=" with the non-PLUS mechanism, or a binding type not offered.
    CHECK(start("SCRAM-SHA-256", tls_with_binding())
              ->start(raw("p=tls-exporter,,n=user,r=abc"))
              .reason == "Channel binding not offered by this mechanism");
    CHECK(start("SCRAM-SHA-256-PLUS", tls_with_binding())
              ->start(raw("p=tls-unique,,n=user,r=abc"))
              .reason == "Unsupported channel binding type");
}

TEST_CASE(
    "RFC 5802 6, RFC 9266: -PLUS with tls-exporter: the right binding data logs in, other "
    "data fails",
    "[sasl][scram]") {
    const std::string gs2 = "p=tls-exporter,,";
    const std::string binding(32, '\x42');
    for (bool right : {true, false}) {
        auto exchange = start("SCRAM-SHA-256-PLUS", tls_with_binding(), "SNONCE");
        const auto creds = credentials(store::ScramHash::Sha256, "W22ZaJ0SNY7soEsUEjb6gQ==");
        const std::string server_first = first_round(*exchange, gs2 + "n=user,r=CNONCE", creds);
        const std::string without_proof =
            "c=" + b64(gs2 + (right ? binding : std::string(32, '\x43'))) + ",r=CNONCESNONCE";
        const std::string auth_message = "n=user,r=CNONCE," + server_first + "," + without_proof;
        Step step = exchange->respond(raw(
            without_proof +
            ",p=" + client_proof(store::ScramHash::Sha256, "pencil", creds.salt, auth_message)));
        if (right) {
            CHECK(step.kind == Step::Kind::Challenge);
            CHECK(step.challenge.starts_with("v="));
        } else {
            CHECK(step.failure == sasl::Failure::AuthenticationFailed);
            CHECK(step.reason == "Channel binding does not match");
        }
    }
}

TEST_CASE("RFC 5802 5.1: authzid other than the user fails as AuthorizationFailed after the proof",
          "[sasl][scram]") {
    const std::string gs2 = "n,a=bob,";
    auto exchange = start("SCRAM-SHA-256", plain_connection(), "SNONCE");
    const auto creds = credentials(store::ScramHash::Sha256, "W22ZaJ0SNY7soEsUEjb6gQ==");
    const std::string server_first = first_round(*exchange, gs2 + "n=user,r=CNONCE", creds);
    const std::string without_proof = "c=" + b64(gs2) + ",r=CNONCESNONCE";
    const std::string auth_message = "n=user,r=CNONCE," + server_first + "," + without_proof;
    Step step = exchange->respond(
        raw(without_proof +
            ",p=" + client_proof(store::ScramHash::Sha256, "pencil", creds.salt, auth_message)));
    CHECK(step.failure == sasl::Failure::AuthorizationFailed);
}

TEST_CASE("RFC 5802 7: malformed SCRAM messages each fail precisely as Malformed",
          "[sasl][scram]") {
    struct Case {
        std::string message;
        std::string reason;
    };
    const std::vector<Case> first_cases = {
        {"", "SCRAM: no GS2 header"},
        {"n,n=user,r=abc", "SCRAM: invalid authorization identity"},
        {"x,,n=user,r=abc", "SCRAM: invalid channel binding flag"},
        {"n,b=bob,n=user,r=abc", "SCRAM: invalid authorization identity"},
        {"n,,m=ext,n=user,r=abc", "SCRAM: mandatory extensions are not supported"},
        {"n,,n=user", "SCRAM: missing user name or nonce"},
        {"n,,r=abc,n=user", "SCRAM: invalid user name"},
        {"n,,n=,r=abc", "SCRAM: invalid user name"},
        {"n,,n=us=3Xer,r=abc", "SCRAM: invalid user name"},
        {"n,,n=user,x=abc", "SCRAM: invalid nonce"},
        {"n,,n=user,r=", "SCRAM: invalid nonce"},
        {std::string("n,,n=user,r=a\x01", 14), "SCRAM: invalid nonce"},
    };
    for (const Case& c : first_cases) {
        auto exchange = start("SCRAM-SHA-256", plain_connection());
        Step step = exchange->start(raw(c.message));
        INFO(c.message);
        CHECK(step.kind == Step::Kind::Failure);
        CHECK(step.failure == sasl::Failure::Malformed);
        CHECK(step.reason == c.reason);
    }
    const std::vector<Case> final_cases = {
        {"c=biws,r=CNONCESNONCE", "SCRAM: missing proof"},
        {"r=CNONCESNONCE,p=AAAA", "SCRAM: missing channel binding or nonce"},
        {"x=biws,r=CNONCESNONCE,p=AAAA", "SCRAM: missing channel binding"},
        {"c=bi!s,r=CNONCESNONCE,p=AAAA", "SCRAM: invalid channel binding encoding"},
        {"c=biws,x=CNONCESNONCE,p=AAAA", "SCRAM: missing nonce"},
        {"c=biws,r=CNONCESNONCE,p=AAA", "SCRAM: invalid proof encoding"},
    };
    for (const Case& c : final_cases) {
        auto exchange = start("SCRAM-SHA-256", plain_connection(), "SNONCE");
        first_round(*exchange, "n,,n=user,r=CNONCE",
                    credentials(store::ScramHash::Sha256, "W22ZaJ0SNY7soEsUEjb6gQ=="));
        Step step = exchange->respond(raw(c.message));
        INFO(c.message);
        CHECK(step.failure == sasl::Failure::Malformed);
        CHECK(step.reason == c.reason);
    }
}

TEST_CASE("RFC 5802 7: saslname escapes =2C and =3D decode in the user name", "[sasl][scram]") {
    auto exchange = start("SCRAM-SHA-256", plain_connection());
    Step step = exchange->start(raw("n,,n=a=2Cb=3Dc,r=abc"));
    REQUIRE(step.kind == Step::Kind::NeedScramCredentials);
    CHECK(step.authcid == "a,b=c");
}

TEST_CASE("RFC 5802 9: a random server nonce per exchange", "[sasl][scram]") {
    auto a = sasl::Registry::standard().start("SCRAM-SHA-256", plain_connection());
    auto b = sasl::Registry::standard().start("SCRAM-SHA-256", plain_connection());
    const auto creds = credentials(store::ScramHash::Sha256, "W22ZaJ0SNY7soEsUEjb6gQ==");
    const std::string first_a = first_round(*a.exchange, "n,,n=user,r=x", creds);
    const std::string first_b = first_round(*b.exchange, "n,,n=user,r=x", creds);
    CHECK(first_a != first_b);
    CHECK(first_a.size() == std::string("r=x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096").size() + 32);
}
