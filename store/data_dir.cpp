#include "store/data_dir.h"

#include <sys/stat.h>

#include <cerrno>
#include <system_error>

#include "store/errors.h"

namespace imap::store {
namespace {

namespace fs = std::filesystem;

// Mail and password hashes: the directories are the server user's alone.
// mkdir() gets the mode itself, so a new directory is never more open than
// 0700, not even between its creation and a chmod; the chmod then sets
// exactly 0700, whatever the umask took away or an older imapd left.
void make_private_directory(const fs::path& dir) {
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        throw fs::filesystem_error("cannot create directory", dir,
                                   std::error_code(errno, std::generic_category()));
    }
    if (!fs::is_directory(dir)) {
        throw fs::filesystem_error("not a directory", dir,
                                   std::make_error_code(std::errc::not_a_directory));
    }
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
}

}  // namespace

DataDir::DataDir(std::filesystem::path root) : root_(std::move(root)) {
    if (root_.empty()) throw StoreError(StoreErrc::InvalidName, "empty data directory path");
    // "data/" names the directory "data": its parents are created as usual.
    const fs::path directory = root_.has_filename() ? root_ : root_.parent_path();
    if (directory.has_parent_path()) fs::create_directories(directory.parent_path());
    make_private_directory(directory);
    make_private_directory(directory / "users");
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

std::optional<std::string> DataDir::user_from_file_name(std::string_view file) {
    if (!file.ends_with(".db")) return std::nullopt;
    file.remove_suffix(3);
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string user;
    for (std::size_t i = 0; i < file.size(); ++i) {
        if (file[i] != '%') {
            user += file[i];
            continue;
        }
        if (i + 2 >= file.size()) return std::nullopt;
        const int high = hex(file[i + 1]);
        const int low = hex(file[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        user += static_cast<char>(high * 16 + low);
        i += 2;
    }
    // Only the one spelling user_file_name() gives: "%61" is not "a".
    if (user.empty() || user_file_name(user) != std::string(file) + ".db") return std::nullopt;
    return user;
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
