#include "store/accounts.h"

#include <chrono>
#include <memory>

#include "store/errors.h"
#include "store/internal.h"
#include "store/limits.h"
#include "store/password.h"
#include "store/schema.h"

namespace imap::store {
namespace {

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// hash_password() with the store's typed errors for what a client or an
// administrator can get wrong.
std::string hash_new_password(std::string_view password, const PasswordHashing& hashing) {
    if (password.size() > kMaxPasswordBytes) {
        throw StoreError(StoreErrc::OverLimit, "password too long");
    }
    if (password.find('\0') != std::string_view::npos) {
        // crypt(3) takes a C string: a NUL would silently cut the password.
        throw StoreError(StoreErrc::InvalidName, "password contains NUL");
    }
    return hash_password(password, hashing);
}

// Every hash's credentials for `password`; empty when SASLprep refuses it.
std::vector<std::pair<ScramHash, ScramCredentials>> derive_all(std::string_view password,
                                                               std::uint32_t iterations) {
    std::vector<std::pair<ScramHash, ScramCredentials>> all;
    for (ScramHash hash : kScramHashes) {
        std::optional<ScramCredentials> credentials =
            new_scram_credentials(hash, password, iterations);
        if (!credentials) return {};
        all.emplace_back(hash, std::move(*credentials));
    }
    return all;
}

// Replaces the user's SCRAM rows with `credentials`, inside the caller's
// transaction.
void write_scram(Database& db, std::int64_t user_id, std::string_view password_hash,
                 const std::vector<std::pair<ScramHash, ScramCredentials>>& credentials) {
    db.prepare("DELETE FROM scram_credentials WHERE user_id = ?1").bind(1, user_id).run();
    for (const auto& [hash, c] : credentials) {
        db.prepare(
              "INSERT INTO scram_credentials (user_id, hash, password_hash, salt, iterations, "
              "stored_key, server_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .bind(1, user_id)
            .bind(2, scram_hash_name(hash))
            .bind(3, password_hash)
            .bind_blob(4, c.salt)
            .bind(5, std::int64_t{c.iterations})
            .bind_blob(6, c.stored_key)
            .bind_blob(7, c.server_key)
            .run();
    }
}

User read_user(const Query& q) {
    User user;
    user.id = q.column_int(0);
    user.name = q.column_text(1);
    user.created_at = q.column_int(2);
    user.disabled = q.column_int(3) != 0;
    return user;
}

}  // namespace

AccountStore::AccountStore(const OpenOptions& options, PasswordHashing hashing)
    : db_(options), hashing_(std::move(hashing)) {
    db_.migrate(accounts_migrations());
}

std::string AccountStore::canonical_user_name(std::string_view name) {
    if (name.empty() || name.size() > limits::kMaxUserNameBytes) {
        throw StoreError(StoreErrc::InvalidName, "invalid user name length");
    }
    if (!detail::valid_utf8(name)) throw StoreError(StoreErrc::InvalidName, "user name not UTF-8");
    std::string canonical;
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '/') {
            throw StoreError(StoreErrc::InvalidName, "invalid character in user name");
        }
        canonical += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    return canonical;
}

User AccountStore::create_user(std::string_view name, std::string_view password) {
    const std::string hash = hash_new_password(password, hashing_);
    const auto scram = derive_all(password, hashing_.scram_iterations);
    const std::string canonical = canonical_user_name(name);
    Transaction transaction(db_);
    if (find_user(canonical)) throw StoreError(StoreErrc::AlreadyExists, "user already exists");
    db_.prepare("INSERT INTO users (name, password_hash, created_at) VALUES (?1, ?2, ?3)")
        .bind(1, canonical)
        .bind(2, hash)
        .bind(3, now_seconds())
        .run();
    write_scram(db_, db_.last_insert_rowid(), hash, scram);
    transaction.commit();
    return *find_user(canonical);
}

User AccountStore::create_user_with_hash(std::string_view name, std::string_view crypt_hash) {
    const std::string canonical = canonical_user_name(name);
    Transaction transaction(db_);
    if (find_user(canonical)) throw StoreError(StoreErrc::AlreadyExists, "user already exists");
    db_.prepare("INSERT INTO users (name, password_hash, created_at) VALUES (?1, ?2, ?3)")
        .bind(1, canonical)
        .bind(2, crypt_hash)
        .bind(3, now_seconds())
        .run();
    transaction.commit();
    return *find_user(canonical);
}

void AccountStore::set_password(std::string_view name, std::string_view password) {
    const std::string canonical = canonical_user_name(name);
    const std::string hash = hash_new_password(password, hashing_);
    const auto scram = derive_all(password, hashing_.scram_iterations);
    Transaction transaction(db_);
    const std::optional<User> user = find_user(canonical);
    if (!user) throw StoreError(StoreErrc::NotFound, "no such user");
    db_.prepare("UPDATE users SET password_hash = ?2 WHERE id = ?1")
        .bind(1, user->id)
        .bind(2, hash)
        .run();
    write_scram(db_, user->id, hash, scram);
    transaction.commit();
}

void AccountStore::set_disabled(std::string_view name, bool disabled) {
    db_.prepare("UPDATE users SET disabled = ?2 WHERE name = ?1")
        .bind(1, canonical_user_name(name))
        .bind(2, std::int64_t{disabled ? 1 : 0})
        .run();
    if (db_.changes() == 0) throw StoreError(StoreErrc::NotFound, "no such user");
}

void AccountStore::delete_user(std::string_view name) {
    db_.prepare("DELETE FROM users WHERE name = ?1").bind(1, canonical_user_name(name)).run();
    if (db_.changes() == 0) throw StoreError(StoreErrc::NotFound, "no such user");
}

std::optional<User> AccountStore::find_user(std::string_view name) {
    auto q = db_.prepare("SELECT id, name, created_at, disabled FROM users WHERE name = ?1");
    q.bind(1, canonical_user_name(name));
    if (!q.step()) return std::nullopt;
    return read_user(q);
}

std::vector<User> AccountStore::users() {
    auto q = db_.prepare("SELECT id, name, created_at, disabled FROM users ORDER BY name");
    std::vector<User> result;
    while (q.step())
        result.push_back(read_user(q));
    return result;
}

std::optional<User> AccountStore::authenticate(std::string_view name, std::string_view password) {
    std::optional<LoginRecord> record = login_record(name);
    // One hash computation either way (a fixed dummy hash for unknown users),
    // so the response time does not reveal which names exist.
    const bool match = verify_login_password(
        password, record ? std::optional<std::string_view>(record->password_hash) : std::nullopt);
    if (!record || !match || record->user.disabled) return std::nullopt;
    return std::move(record->user);
}

std::optional<AccountStore::LoginRecord> AccountStore::login_record(std::string_view name) {
    std::string canonical;
    try {
        canonical = canonical_user_name(name);
    } catch (const StoreError&) {
        return std::nullopt;  // an invalid name is an unknown user: same answer, same cost
    }
    auto q = db_.prepare(
        "SELECT id, name, created_at, disabled, password_hash, "
        "(SELECT count(*) FROM scram_credentials s WHERE s.user_id = users.id AND "
        "s.password_hash = users.password_hash) FROM users WHERE name = ?1");
    q.bind(1, canonical);
    if (!q.step()) return std::nullopt;
    const auto scram_rows = static_cast<std::size_t>(q.column_int(5));
    return LoginRecord{read_user(q), q.column_text(4), scram_rows == std::size(kScramHashes)};
}

std::optional<ScramCredentials> AccountStore::scram_credentials(std::string_view name,
                                                                ScramHash hash) {
    std::string canonical;
    try {
        canonical = canonical_user_name(name);
    } catch (const StoreError&) {
        return std::nullopt;
    }
    auto q = db_.prepare(
        "SELECT s.salt, s.iterations, s.stored_key, s.server_key FROM users u "
        "JOIN scram_credentials s ON s.user_id = u.id AND s.password_hash = u.password_hash "
        "WHERE u.name = ?1 AND s.hash = ?2 AND u.disabled = 0");
    q.bind(1, canonical).bind(2, scram_hash_name(hash));
    if (!q.step()) return std::nullopt;
    ScramCredentials credentials;
    credentials.salt = q.column_text(0);
    const std::int64_t iterations = q.column_int(1);
    credentials.stored_key = q.column_text(2);
    credentials.server_key = q.column_text(3);
    // A row this server could not have written is no credential.
    if (iterations < kMinScramIterations || iterations > kMaxScramIterations ||
        credentials.stored_key.size() != scram_digest_size(hash) ||
        credentials.server_key.size() != scram_digest_size(hash)) {
        return std::nullopt;
    }
    credentials.iterations = static_cast<std::uint32_t>(iterations);
    return credentials;
}

bool AccountStore::store_scram_credentials(
    std::string_view name, std::string_view password_hash,
    const std::vector<std::pair<ScramHash, ScramCredentials>>& credentials) {
    const std::string canonical = canonical_user_name(name);
    Transaction transaction(db_);
    std::int64_t id = 0;
    {
        auto q = db_.prepare("SELECT id FROM users WHERE name = ?1 AND password_hash = ?2");
        q.bind(1, canonical).bind(2, password_hash);
        if (!q.step()) return false;
        id = q.column_int(0);
    }
    write_scram(db_, id, password_hash, credentials);
    transaction.commit();
    return true;
}

std::string AccountStore::scram_fake_salt_key() {
    auto q = db_.prepare("SELECT value FROM server_secrets WHERE name = 'scram_fake_salt_key'");
    if (!q.step()) throw StoreError(StoreErrc::NotFound, "no SCRAM salt key");
    return q.column_text(0);
}

}  // namespace imap::store
