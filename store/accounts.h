// The accounts database: users and their password hashes in crypt(3)
// format, in one SQLite file (accounts.db in the data directory, or
// ":memory:"). A user's mail lives in its own database (MailStore, file
// named by DataDir); this database knows only who may log in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/password.h"
#include "store/scram.h"
#include "store/sqlite.h"

namespace imap::store {

struct User {
    std::int64_t id = 0;
    std::string name;  // canonical
    std::int64_t created_at = 0;
    bool disabled = false;
};

class AccountStore {
  public:
    explicit AccountStore(const OpenOptions& options, PasswordHashing hashing = {});

    // The canonical user name (ASCII letters lowered, as Dovecot's default
    // auth_username_format %Lu), or StoreError(InvalidName): empty, longer
    // than limits::kMaxUserNameBytes, not UTF-8, or holding control
    // characters, white space or '/'.
    static std::string canonical_user_name(std::string_view name);

    // AlreadyExists, InvalidName.
    User create_user(std::string_view name, std::string_view password);
    // Imports an existing crypt(3) hash (e.g. from /etc/shadow or Dovecot).
    User create_user_with_hash(std::string_view name, std::string_view crypt_hash);
    // create_user() and set_password() write the SCRAM credentials of every
    // hash (kScramHashes) beside the crypt hash, unless SASLprep refuses the
    // password (then PLAIN/LOGIN only); create_user_with_hash() writes none.
    void set_password(std::string_view name, std::string_view password);  // NotFound
    void set_disabled(std::string_view name, bool disabled);              // NotFound
    // Removes the account only; DataDir::remove_user_files() removes mail.
    void delete_user(std::string_view name);  // NotFound
    std::optional<User> find_user(std::string_view name);
    std::vector<User> users();

    // The user when `password` matches and the account is enabled. Costs one
    // hash computation whether or not the user exists, so response time does
    // not reveal which names exist.
    std::optional<User> authenticate(std::string_view name, std::string_view password);

    // authenticate() in two halves, for a server that hashes off its event
    // loop: this database read (fast, on the thread that owns the
    // connection), then verify_login_password(password, hash) anywhere
    // (password.h: thread-safe). nullopt for an unknown or invalid name;
    // the caller still spends the hash computation (verify_login_password
    // with nullopt does).
    // `scram_current`: the account has SCRAM credentials of every hash
    // (kScramHashes) derived with its current password hash; when false, a
    // successful password check calls store_scram_credentials().
    struct LoginRecord {
        User user;
        std::string password_hash;
        bool scram_current = false;
    };
    std::optional<LoginRecord> login_record(std::string_view name);

    // The SCRAM credentials of an enabled user for `hash`, derived with the
    // user's current password hash; nullopt for an unknown or invalid name,
    // a disabled account, or one without (current) credentials. One
    // indexed read.
    std::optional<ScramCredentials> scram_credentials(std::string_view name, ScramHash hash);

    // Writes SCRAM credentials for `name` (one per hash), derived from the
    // password whose crypt hash is `password_hash`, unless the user's hash
    // changed meanwhile (`imapd user passwd` raced a login): then nothing is
    // written and the answer is false. For the migration of accounts made
    // before SCRAM, after a successful PLAIN/LOGIN.
    bool store_scram_credentials(
        std::string_view name, std::string_view password_hash,
        const std::vector<std::pair<ScramHash, ScramCredentials>>& credentials);

    // The per-server key of the made-up SCRAM salts of unknown users (RFC
    // 5802 9), 32 random bytes drawn when the database was made (schema
    // version 2); the same across restarts.
    std::string scram_fake_salt_key();

    // The PBKDF2 iteration count new SCRAM credentials get.
    std::uint32_t scram_iterations() const { return hashing_.scram_iterations; }

    Database& database() { return db_; }

  private:
    Database db_;
    PasswordHashing hashing_;
};

}  // namespace imap::store
