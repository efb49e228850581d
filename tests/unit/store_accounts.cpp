// The accounts database (crypt(3) password hashes) and the data directory
// layout (accounts.db, users/<name>.db).
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>

#include "store/accounts.h"
#include "store/data_dir.h"
#include "store/errors.h"
#include "store/sqlite_mail_store.h"
#include "support/store_support.h"

using namespace imap::store;

using imap::store::test::error_of;

namespace {

// sha256crypt with the minimum rounds keeps the suite fast; production uses
// the yescrypt default.
PasswordHashing fast() {
    return PasswordHashing{"$5$", 1000};
}

}  // namespace

TEST_CASE("users are created, authenticated, disabled and deleted") {
    AccountStore accounts(OpenOptions{}, fast());
    User alice = accounts.create_user("Alice@Example.org", "correct horse");
    CHECK(alice.name == "alice@example.org");
    CHECK(accounts.authenticate("ALICE@example.org", "correct horse"));
    CHECK_FALSE(accounts.authenticate("alice@example.org", "wrong"));
    CHECK_FALSE(accounts.authenticate("nobody", "correct horse"));
    CHECK_FALSE(accounts.authenticate("bad name", "x"));
    CHECK(error_of([&] { accounts.create_user("alice@EXAMPLE.org", "x"); }) ==
          StoreErrc::AlreadyExists);

    accounts.set_password("alice@example.org", "battery staple");
    CHECK_FALSE(accounts.authenticate("alice@example.org", "correct horse"));
    CHECK(accounts.authenticate("alice@example.org", "battery staple"));

    accounts.set_disabled("alice@example.org", true);
    CHECK_FALSE(accounts.authenticate("alice@example.org", "battery staple"));
    accounts.set_disabled("alice@example.org", false);

    accounts.create_user("bob", "pw");
    CHECK(accounts.users().size() == 2);
    accounts.delete_user("bob");
    CHECK_FALSE(accounts.find_user("bob"));
    CHECK(error_of([&] { accounts.delete_user("bob"); }) == StoreErrc::NotFound);
    CHECK(error_of([&] { accounts.set_password("bob", "x"); }) == StoreErrc::NotFound);
}

TEST_CASE("login_record() is authenticate()'s database half: the user and the hash to verify") {
    AccountStore accounts(OpenOptions{}, fast());
    accounts.create_user("alice", "secret");
    auto record = accounts.login_record("ALICE");
    REQUIRE(record);
    CHECK(record->user.name == "alice");
    CHECK_FALSE(record->user.disabled);
    CHECK(verify_login_password("secret", record->password_hash));
    CHECK_FALSE(verify_login_password("Secret", record->password_hash));
    // Unknown and invalid names: nothing (the caller spends the dummy hash).
    CHECK_FALSE(accounts.login_record("nobody"));
    CHECK_FALSE(accounts.login_record("bad name"));
    CHECK_FALSE(accounts.login_record(""));
    accounts.set_disabled("alice", true);
    CHECK(accounts.login_record("alice")->user.disabled);
}

TEST_CASE("password hashes are crypt(3) strings, imported hashes verify") {
    AccountStore accounts(OpenOptions{}, fast());
    accounts.create_user("alice", "secret");
    auto stored =
        accounts.database().prepare("SELECT password_hash FROM users WHERE name = 'alice'");
    REQUIRE(stored.step());
    const std::string hash = stored.column_text(0);
    CHECK(hash.rfind("$5$rounds=1000$", 0) == 0);
    CHECK(imap::store::verify_password("secret", hash));
    CHECK_FALSE(imap::store::verify_password("Secret", hash));
    CHECK(accounts.authenticate("alice", "secret"));
    CHECK_FALSE(accounts.authenticate("alice", "Secret"));
    // A SHA-512 crypt hash made elsewhere ("mkpasswd -m sha-512") verifies.
    accounts.create_user_with_hash("carol", imap::store::hash_password("pw6", {"$6$", 5000}));
    CHECK(accounts.authenticate("carol", "pw6"));
    // Locked and empty hashes never match (shadow(5) conventions).
    accounts.create_user_with_hash("locked", "!" + hash);
    CHECK_FALSE(accounts.authenticate("locked", "secret"));
    CHECK(error_of([&] { accounts.create_user("dave", std::string(2000, 'x')); }) ==
          StoreErrc::OverLimit);
    CHECK(error_of([&] { accounts.create_user("erin", std::string("a\0b", 3)); }) ==
          StoreErrc::InvalidName);
}

TEST_CASE("the default hashing is yescrypt") {
    AccountStore yes(OpenOptions{});
    yes.create_user("alice", "x");
    auto stored = yes.database().prepare("SELECT password_hash FROM users WHERE name = 'alice'");
    REQUIRE(stored.step());
    CHECK(stored.column_text(0).rfind("$y$", 0) == 0);
    CHECK(yes.authenticate("alice", "x"));
}

TEST_CASE("user names are validated") {
    for (std::string bad : std::vector<std::string>{"", "a b", "a/b", std::string("a\tb"),
                                                    std::string(300, 'a'), std::string("\xff")}) {
        INFO(bad);
        CHECK_THROWS_AS(AccountStore::canonical_user_name(bad), StoreError);
    }
    CHECK(AccountStore::canonical_user_name("Ünïcode.User") == "Ünïcode.user");
}

TEST_CASE("the data directory holds accounts.db and one file per user") {
    CHECK(DataDir::user_file_name("alice@example.org") == "alice@example.org.db");
    CHECK(DataDir::user_file_name("..") == "%2E..db");
    CHECK(DataDir::user_file_name("a\\b:c") == "a%5Cb%3Ac.db");
    CHECK(DataDir::user_file_name("Ü") == "%C3%9C.db");

    auto memory = DataDir::in_memory();
    CHECK(memory.is_in_memory());
    CHECK(memory.accounts_options().path == ":memory:");
    CHECK(memory.user_options("alice").path == ":memory:");

    auto root = std::filesystem::temp_directory_path() / "imapd-store-datadir";
    std::filesystem::remove_all(root);
    {
        DataDir dir(root);
        AccountStore accounts(dir.accounts_options(), fast());
        accounts.create_user("alice", "pw");
        SqliteMailStore mail(dir.user_options("alice"));
        mail.create_mailbox("Sent");
        CHECK(std::filesystem::exists(root / "accounts.db"));
        CHECK(std::filesystem::exists(root / "users" / "alice.db"));
        CHECK((std::filesystem::status(root).permissions() & std::filesystem::perms::others_read) ==
              std::filesystem::perms::none);
    }
    {
        DataDir dir(root);
        SqliteMailStore mail(dir.user_options("alice"));
        CHECK(mail.find_mailbox("Sent"));
        CHECK(AccountStore(dir.accounts_options(), fast()).authenticate("alice", "pw"));
    }
    DataDir(root).remove_user_files("alice");
    CHECK_FALSE(std::filesystem::exists(root / "users" / "alice.db"));
    std::filesystem::remove_all(root);
}
