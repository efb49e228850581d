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
    return create_user_with_hash(name, hash_new_password(password, hashing_));
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
    db_.prepare("UPDATE users SET password_hash = ?2 WHERE name = ?1")
        .bind(1, canonical)
        .bind(2, hash)
        .run();
    if (db_.changes() == 0) throw StoreError(StoreErrc::NotFound, "no such user");
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
        "SELECT id, name, created_at, disabled, password_hash FROM users WHERE name = ?1");
    q.bind(1, canonical);
    if (!q.step()) return std::nullopt;
    return LoginRecord{read_user(q), q.column_text(4)};
}

}  // namespace imap::store
