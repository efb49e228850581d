// SCRAM credentials in the accounts database (store/accounts.h, schema
// version 2) and in AccountAuthenticator: written by create_user and
// set_password, migrated after a password login, made up for unknown users
// (RFC 5802 9).
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <vector>

#include "server/auth/account_authenticator.h"
#include "store/accounts.h"
#include "store/scram.h"

using namespace imap;
using imap::server::AccountAuthenticator;
using imap::server::AuthRequest;
using imap::server::AuthResult;
using store::ScramHash;

namespace {

store::PasswordHashing fast() {
    return store::PasswordHashing{"$5$", 1000, store::kDefaultScramIterations};
}

AuthResult login(AccountAuthenticator& authenticator, std::string user, std::string password) {
    std::vector<AuthResult> answers;
    authenticator.authenticate(AuthRequest{std::move(user), Secret(password), "192.0.2.1", {}, {}},
                               [&](AuthResult result) { answers.push_back(result); });
    REQUIRE(answers.size() == 1);
    return answers.front();
}

// The keys `password` gives with the stored salt and count: what a client
// proves knowledge of.
bool keys_match(const store::ScramCredentials& stored, ScramHash hash, std::string_view password) {
    auto derived = store::derive_scram_credentials(hash, password, stored.salt, stored.iterations);
    return derived && derived->stored_key == stored.stored_key &&
           derived->server_key == stored.server_key;
}

}  // namespace

TEST_CASE("RFC 5802 3: create_user and set_password store both hashes' keys", "[scram]") {
    store::AccountStore accounts(store::OpenOptions{}, fast());
    accounts.create_user("alice", "pencil");
    for (ScramHash hash : store::kScramHashes) {
        auto keys = accounts.scram_credentials("Alice", hash);
        REQUIRE(keys);
        CHECK(keys->iterations == 4096);
        CHECK(keys->salt.size() == store::kScramSaltBytes);
        CHECK(keys_match(*keys, hash, "pencil"));
    }
    CHECK(accounts.login_record("alice")->scram_current);
    accounts.set_password("alice", "crayon");
    auto keys = accounts.scram_credentials("alice", ScramHash::Sha256);
    REQUIRE(keys);
    CHECK(keys_match(*keys, ScramHash::Sha256, "crayon"));
    CHECK_FALSE(keys_match(*keys, ScramHash::Sha256, "pencil"));
    // Disabled: no keys to prove against.
    accounts.set_disabled("alice", true);
    CHECK_FALSE(accounts.scram_credentials("alice", ScramHash::Sha256));
}

TEST_CASE("RFC 4013: SASLprep normalises the password, and prohibited characters get no keys",
          "[scram]") {
    // U+00A0 (non-ASCII space) maps to U+0020 (RFC 4013 2.1).
    CHECK(store::scram_normalize_password("a\xC2\xA0"
                                          "b") == "a b");
    // U+0007 is a prohibited control character (RFC 4013 2.3).
    CHECK_FALSE(store::scram_normalize_password("a\x07"));
    store::AccountStore accounts(store::OpenOptions{}, fast());
    accounts.create_user("bob", "bell\x07");
    CHECK_FALSE(accounts.scram_credentials("bob", ScramHash::Sha256));
    CHECK(accounts.authenticate("bob", "bell\x07"));  // PLAIN/LOGIN still work
}

TEST_CASE("Imported hashes have no keys, and store_scram_credentials refuses a changed password",
          "[scram]") {
    store::AccountStore accounts(store::OpenOptions{}, fast());
    accounts.create_user_with_hash("carol", store::hash_password("pw", fast()));
    CHECK_FALSE(accounts.scram_credentials("carol", ScramHash::Sha256));
    auto record = accounts.login_record("carol");
    REQUIRE(record);
    CHECK_FALSE(record->scram_current);
    auto keys = store::new_scram_credentials(ScramHash::Sha256, "pw", 4096);
    REQUIRE(keys);
    CHECK_FALSE(
        accounts.store_scram_credentials("carol", "$5$other", {{ScramHash::Sha256, *keys}}));
    CHECK(accounts.store_scram_credentials("carol", record->password_hash,
                                           {{ScramHash::Sha256, *keys}}));
    CHECK(accounts.scram_credentials("carol", ScramHash::Sha256));
    // Only one hash's keys: not current, so the next login derives all.
    CHECK_FALSE(accounts.login_record("carol")->scram_current);
    // A password change by any path leaves those keys unused.
    accounts.database().exec("UPDATE users SET password_hash = '$5$changed' WHERE name = 'carol'");
    CHECK_FALSE(accounts.scram_credentials("carol", ScramHash::Sha256));
}

TEST_CASE("Schema migration: a version-1 accounts database gains the SCRAM tables, users kept",
          "[scram]") {
    const auto path = std::filesystem::temp_directory_path() /
                      ("imapd-scram-migration-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path);
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
        const std::string hash = store::hash_password("old", fast());
        const std::string sql =
            "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
            " password_hash TEXT NOT NULL, created_at INTEGER NOT NULL, disabled INTEGER NOT NULL"
            " DEFAULT 0); INSERT INTO users (name, password_hash, created_at) VALUES ('dave', '" +
            hash + "', 0); PRAGMA user_version=1;";
        REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    store::OpenOptions options;
    options.path = path.string();
    {
        store::AccountStore accounts(options, fast());
        CHECK(accounts.authenticate("dave", "old"));
        CHECK_FALSE(accounts.scram_credentials("dave", ScramHash::Sha256));
        CHECK(accounts.scram_fake_salt_key().size() == 32);
        AccountAuthenticator authenticator(accounts, nullptr, nullptr);
        CHECK(login(authenticator, "dave", "old") == AuthResult::Ok);
        CHECK(authenticator.scram_migrations() == 1);
        auto keys = accounts.scram_credentials("dave", ScramHash::Sha1);
        REQUIRE(keys);
        CHECK(keys_match(*keys, ScramHash::Sha1, "old"));
        // Migrated once: the next login derives nothing.
        CHECK(login(authenticator, "dave", "old") == AuthResult::Ok);
        CHECK(authenticator.scram_migrations() == 1);
    }
    std::filesystem::remove(path);
    std::filesystem::remove(path.string() + "-wal");
    std::filesystem::remove(path.string() + "-shm");
}

TEST_CASE("RFC 5802 9: unknown users and accounts without keys get a stable made-up salt",
          "[scram]") {
    store::AccountStore accounts(store::OpenOptions{}, fast());
    accounts.create_user("alice", "pencil");
    accounts.create_user_with_hash("erin", store::hash_password("pw", fast()));
    AccountAuthenticator authenticator(accounts, nullptr, nullptr);
    CHECK(authenticator.offers_scram());
    auto real = authenticator.scram_credentials("alice", ScramHash::Sha256);
    REQUIRE(real);
    CHECK(keys_match(*real, ScramHash::Sha256, "pencil"));

    auto nobody = authenticator.scram_credentials("nobody", ScramHash::Sha256);
    auto nobody_again = authenticator.scram_credentials("NOBODY", ScramHash::Sha256);
    REQUIRE(nobody);
    REQUIRE(nobody_again);
    CHECK(nobody->salt == nobody_again->salt);  // same name, same salt
    CHECK(nobody->salt.size() == store::kScramSaltBytes);
    CHECK(nobody->iterations == 4096);
    CHECK(nobody->stored_key != nobody_again->stored_key);  // random: no proof matches
    CHECK_FALSE(keys_match(*nobody, ScramHash::Sha256, "pencil"));
    auto other = authenticator.scram_credentials("someone", ScramHash::Sha256);
    CHECK(other->salt != nobody->salt);
    // Per hash, too.
    CHECK(authenticator.scram_credentials("nobody", ScramHash::Sha1)->salt != nobody->salt);
    // An existing account without keys looks the same as an unknown name.
    auto erin = authenticator.scram_credentials("erin", ScramHash::Sha256);
    REQUIRE(erin);
    CHECK(erin->salt.size() == store::kScramSaltBytes);
    CHECK(erin->iterations == 4096);
    CHECK(authenticator.scram_credentials("erin", ScramHash::Sha256)->salt == erin->salt);
}
