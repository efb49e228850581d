// Password hashing and verification (server/password.h): yescrypt round trips,
// known hashes of every scheme that verifies, and everything that must never
// match. The known hashes were made outside this code: SHA-crypt with
// `openssl passwd -5/-6` (the "saltstring" ones are the test vectors of
// Drepper's SHA-crypt specification), bcrypt $2a$ is the OpenBSD/
// crypt_blowfish test vector, $2b$, $2y$ and yescrypt came from Python's
// crypt module.
#include "store/password.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/secret.h"

using imap::Secret;
using imap::store::hash_method_in_use;
using imap::store::hash_password;
using imap::store::is_supported_hash;
using imap::store::PasswordError;
using imap::store::verify_login_password;
using imap::store::verify_password;

namespace {

struct KnownHash {
    std::string_view scheme;
    std::string_view password;
    std::string_view hash;
};

constexpr KnownHash kKnownHashes[] = {
    {"yescrypt", "correct horse battery staple",
     "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$y8e1eitiNDaQsFFW6d.9KbSTlk5zV3R3coZQtfcNAO5"},
    {"SHA-512-crypt", "Hello world!",
     "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
     "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35"
     "inz1"},
    {"SHA-512-crypt", "correct horse battery staple",
     "$6$Qx3tV9bLm2$xwp.nAbxEjHC7GQL4ukC/Zkam333Q/2BTtRx09RskyfH5Nfscvj9Dj2fvhb62OfFRAqWrSyFf/"
     "UDqKnKGSr08."},
    {"SHA-512-crypt with explicit rounds", "x",
     "$6$rounds=5000$usesomesillystri$V/"
     "lBm1R5JV9hxJhU19adRn9j7xznZmopXKxWRMpIvkvgO6bfXC2rIIA8ImAGWSqzx8"
     "pmJjTPv6wjUWJFK7hUf1"},
    {"SHA-256-crypt", "Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
    {"SHA-256-crypt", "correct horse battery staple",
     "$5$rT8wPq1Za$MKsqJlmpkAWpOtSXuyWoVVTskvOqhpqr4lsJ6TIypW7"},
    {"bcrypt 2a", "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
    {"bcrypt 2b", "correct horse battery staple",
     "$2b$05$cb8MCfJYiApXz.q6CBiBteEEDWduvW5nzDJ2PJ7Q5OKX5lbnHOhB."},
    {"bcrypt 2y", "Hello world!", "$2y$05$abcdefghijklmnopqrstuu7nFISH/8YdwlXD3lw69A4iBUf6fvWAW"},
};

// The setting part (scheme, cost, salt) of a "$id$...$salt$checksum" hash.
std::string_view setting_of(std::string_view hash) {
    return hash.substr(0, hash.rfind('$'));
}

}  // namespace

TEST_CASE("new hashes are yescrypt and verify with the same password only") {
    CHECK(hash_method_in_use() == "$y$");  // Debian 12's libxcrypt has yescrypt
    const std::string hash = hash_password("correct horse battery staple");
    CHECK(hash.starts_with("$y$"));
    CHECK(is_supported_hash(hash));
    CHECK(verify_password("correct horse battery staple", hash));
    CHECK_FALSE(verify_password("correct horse battery stapl", hash));
    CHECK_FALSE(verify_password("Correct horse battery staple", hash));
    CHECK_FALSE(verify_password("", hash));
}

TEST_CASE("two hashes of one password have different salts") {
    const std::string first = hash_password("secret");
    const std::string second = hash_password("secret");
    CHECK(first != second);
    CHECK(setting_of(first) != setting_of(second));
    CHECK(verify_password("secret", first));
    CHECK(verify_password("secret", second));
}

TEST_CASE("empty and non-ASCII passwords hash and verify") {
    const std::string empty = hash_password("");
    CHECK(verify_password("", empty));
    CHECK_FALSE(verify_password(" ", empty));
    const std::string utf8 = hash_password("p\xC3\xA4sswort \xE2\x82\xAC");
    CHECK(verify_password("p\xC3\xA4sswort \xE2\x82\xAC", utf8));
    CHECK_FALSE(verify_password("passwort \xE2\x82\xAC", utf8));
}

TEST_CASE("known hashes of every supported scheme verify") {
    for (const KnownHash& known : kKnownHashes) {
        INFO(known.scheme << " " << known.hash);
        CHECK(verify_password(known.password, known.hash));
        CHECK(is_supported_hash(known.hash));
    }
}

TEST_CASE("known hashes refuse wrong passwords") {
    for (const KnownHash& known : kKnownHashes) {
        INFO(known.scheme << " " << known.hash);
        const std::string password(known.password);
        CHECK_FALSE(verify_password(password + "x", known.hash));
        CHECK_FALSE(verify_password(password.substr(0, password.size() - 1), known.hash));
        CHECK_FALSE(verify_password("", known.hash));
        CHECK_FALSE(verify_password("wrong", known.hash));
    }
}

TEST_CASE("locked, empty and malformed hashes never match") {
    constexpr std::string_view sha512 =
        "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
        "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35"
        "inz1";
    const std::string never[] = {
        "",
        "*",
        "!",
        "!!",
        "*LK*",
        // shadow(5): `passwd -l` locks an account by prefixing '!'.
        "!" + std::string(sha512),
        "*" + std::string(sha512),
        // Setting without a checksum, checksum cut short or extended.
        "$6$saltstring$",
        "$6$saltstring",
        std::string(sha512.substr(0, sha512.size() - 1)),
        std::string(sha512) + "x",
        " " + std::string(sha512),
        // Unknown scheme, bad bcrypt cost, NUL inside.
        "$9$saltstring$abcdef",
        "$2b$99$cb8MCfJYiApXz.q6CBiBteEEDWduvW5nzDJ2PJ7Q5OKX5lbnHOhB.",
        std::string("$6$salt\0string$", 15),
    };
    for (const std::string& hash : never) {
        INFO("hash: " << hash);
        CHECK_FALSE(verify_password("Hello world!", hash));
        CHECK_FALSE(verify_password("", hash));
        CHECK_FALSE(is_supported_hash(hash));
    }
}

TEST_CASE("legacy schemes libxcrypt still computes never match, even with the right password") {
    // Each is a correct hash of "Hello world!" in a scheme too cheap to keep.
    const KnownHash legacy[] = {
        {"traditional DES", "Hello world!", "abMbH7WsHr7wQ"},
        {"MD5-crypt", "Hello world!", "$1$abcdefgh$fzmjzFdo5nMtBG8gtud5e0"},
        {"bcrypt 2x (the sign-extension bug)", "Hello world!",
         "$2x$05$CCCCCCCCCCCCCCCCCCCCC.z6PrHbuSsMSSwIGFy1JGevQZf6CqJ1y"},
        {"scrypt", "Hello world!",
         "$7$CU..../....abcdefgh$N6C9UJuOFi5nn7.b7BvXZA9vHdiCwqkCXx0pplUaHeA"},
    };
    for (const KnownHash& known : legacy) {
        INFO(known.scheme);
        CHECK_FALSE(verify_password(known.password, known.hash));
        CHECK_FALSE(is_supported_hash(known.hash));
    }
}

TEST_CASE("a password holding NUL or longer than the limit is refused") {
    const std::string with_nul("pass\0word", 9);
    CHECK_THROWS_AS(hash_password(with_nul), PasswordError);
    const std::string hash = hash_password("pass");
    // crypt(3) would stop at the NUL and see "pass": that must not match.
    CHECK_FALSE(verify_password(with_nul, hash));

    // libxcrypt's own bound (CRYPT_MAX_PASSPHRASE_SIZE, NUL included).
    const std::string longest(imap::store::kMaxPasswordBytes, 'a');
    const std::string longest_hash = hash_password(longest);
    CHECK(verify_password(longest, longest_hash));
    const std::string too_long = longest + "a";
    CHECK_THROWS_AS(hash_password(too_long), PasswordError);
    CHECK_FALSE(verify_password(too_long, longest_hash));
}

TEST_CASE("login verification of an unknown user always fails") {
    CHECK_FALSE(verify_login_password("anything", std::nullopt));
    CHECK_FALSE(verify_login_password("", std::nullopt));
    const std::string hash = hash_password("right");
    CHECK(verify_login_password("right", std::string_view(hash)));
    CHECK_FALSE(verify_login_password("wrong", std::string_view(hash)));
}

TEST_CASE("a Secret reveals its value only on request and empties its source on move") {
    Secret secret("hunter2");
    CHECK(secret.reveal() == "hunter2");
    Secret copy = secret;
    CHECK(copy.reveal() == "hunter2");
    Secret moved = std::move(secret);
    CHECK(moved.reveal() == "hunter2");
    CHECK(secret.empty());  // NOLINT(bugprone-use-after-move): the point of the test
    copy = Secret("a much longer secret that does not fit a small-string buffer");
    CHECK(copy.reveal() == "a much longer secret that does not fit a small-string buffer");
    moved = std::move(copy);
    CHECK(moved.reveal() == "a much longer secret that does not fit a small-string buffer");
    CHECK(copy.empty());  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("wipe_string empties a string") {
    std::string s = "sensitive";
    imap::store::wipe_string(s);
    CHECK(s.empty());
}
