#include "store/data_dir.h"

#include "store/errors.h"

namespace imap::store {

DataDir::DataDir(std::filesystem::path root) : root_(std::move(root)) {
    if (root_.empty()) throw StoreError(StoreErrc::InvalidName, "empty data directory path");
    namespace fs = std::filesystem;
    fs::create_directories(root_ / "users");
    // Mail and password hashes: readable by the server's user only.
    fs::permissions(root_, fs::perms::owner_all, fs::perm_options::replace);
    fs::permissions(root_ / "users", fs::perms::owner_all, fs::perm_options::replace);
}

std::string DataDir::user_file_name(std::string_view user) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (std::size_t i = 0; i < user.size(); ++i) {
        const char c = user[i];
        const bool safe = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                          c == '@' || c == '+' || c == '-' || (c == '.' && i > 0);
        if (safe) {
            out += c;
        } else {
            const auto u = static_cast<unsigned char>(c);
            out += '%';
            out += kHex[u >> 4];
            out += kHex[u & 15];
        }
    }
    return out + ".db";
}

OpenOptions DataDir::accounts_options() const {
    OpenOptions options;
    if (!is_in_memory()) options.path = (root_ / "accounts.db").string();
    return options;
}

std::filesystem::path DataDir::user_path(std::string_view user) const {
    return root_ / "users" / user_file_name(user);
}

OpenOptions DataDir::user_options(std::string_view user) const {
    OpenOptions options;
    if (!is_in_memory()) options.path = user_path(user).string();
    return options;
}

void DataDir::remove_user_files(std::string_view user) const {
    if (is_in_memory()) return;
    const std::string base = user_path(user).string();
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::filesystem::remove(base + suffix);
    }
}

}  // namespace imap::store
