// The layout of a data directory:
//
//   <root>/accounts.db            AccountStore
//   <root>/users/<file>.db        one MailStore per user (+ -wal, -shm)
//
// <file> is the canonical user name with every byte outside [a-z0-9._@+-]
// (and a leading '.') percent-encoded, so any user name maps to one safe
// file name and back. In memory mode every database is ":memory:": the
// server must then keep exactly one MailStore per user open (which the
// shard design does anyway), since a second ":memory:" open is a new,
// empty database.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "store/open_options.h"

namespace imap::store {

class DataDir {
  public:
    static DataDir in_memory() { return DataDir(); }
    // Creates root and root/users if missing, and makes both mode 0700
    // whatever the umask (database files are 0600: docs/storage.md).
    explicit DataDir(std::filesystem::path root);

    bool is_in_memory() const { return root_.empty(); }
    const std::filesystem::path& root() const { return root_; }

    OpenOptions accounts_options() const;
    // `user` must be canonical (AccountStore::canonical_user_name).
    OpenOptions user_options(std::string_view user) const;
    std::filesystem::path user_path(std::string_view user) const;

    // Deletes the user's database file and its -wal / -shm companions.
    // Call only when no MailStore has it open.
    void remove_user_files(std::string_view user) const;

    static std::string user_file_name(std::string_view user);
    // The inverse: the user whose database file `file` is, or nothing when
    // `file` is no user_file_name() (another file in users/).
    static std::optional<std::string> user_from_file_name(std::string_view file);
    // <root>/users: the user databases.
    std::filesystem::path users_directory() const { return root_ / "users"; }

  private:
    DataDir() = default;
    std::filesystem::path root_;
};

}  // namespace imap::store
