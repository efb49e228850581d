// File modes of the data directory (docs/storage.md): mail and password
// hashes are the server user's alone. The directories are 0700 and every
// database file with its -wal and -shm 0600, whatever the umask, and files
// an older imapd made world-readable are narrowed when opened.
#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "store/accounts.h"
#include "store/data_dir.h"
#include "store/sqlite.h"
#include "store/sqlite_mail_store.h"

namespace {

namespace fs = std::filesystem;
using imap::store::AccountStore;
using imap::store::Database;
using imap::store::DataDir;
using imap::store::OpenOptions;
using imap::store::PasswordHashing;
using imap::store::SqliteMailStore;

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "imapd-perms-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() { fs::remove_all(path); }
};

// Sets the process umask for one test and puts the old one back.
class Umask {
  public:
    explicit Umask(mode_t mask) : previous_(::umask(mask)) {}
    ~Umask() { ::umask(previous_); }
    Umask(const Umask&) = delete;
    Umask& operator=(const Umask&) = delete;

  private:
    mode_t previous_;
};

// The permission bits of `path` (the link itself for a link).
mode_t mode_of(const fs::path& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

PasswordHashing fast() {
    return PasswordHashing{"$5$", 1000};
}

}  // namespace

TEST_CASE("database files and their -wal and -shm are 0600 whatever the umask") {
    // 0000: the most open umask; 0277: one that would leave the owner
    // without write permission on a file SQLite created.
    for (const mode_t mask : {mode_t{0000}, mode_t{0022}, mode_t{0277}}) {
        INFO("umask " << std::oct << mask);
        const Umask umask_for_test(mask);
        TempDir dir;
        OpenOptions options;
        options.path = (dir.path / "user.db").string();
        Database db(options);
        db.exec("CREATE TABLE t (x)");
        db.exec("INSERT INTO t VALUES (1)");
        // While the connection is open in WAL mode, both companions exist.
        REQUIRE(fs::exists(options.path + "-wal"));
        REQUIRE(fs::exists(options.path + "-shm"));
        CHECK(mode_of(options.path) == 0600);
        CHECK(mode_of(options.path + "-wal") == 0600);
        CHECK(mode_of(options.path + "-shm") == 0600);
    }
}

TEST_CASE("a database file an older imapd left 0644 is 0600 once opened, a link is left alone") {
    const Umask umask_for_test(0022);
    TempDir dir;
    OpenOptions options;
    options.path = (dir.path / "old.db").string();
    { Database db(options); }
    for (const char* suffix : {"", "-wal", "-shm"}) {
        const std::string path = options.path + suffix;
        if (!fs::exists(path)) {
            std::FILE* created = std::fopen(path.c_str(), "w");
            REQUIRE(created != nullptr);
            std::fclose(created);
        }
        REQUIRE(::chmod(path.c_str(), 0644) == 0);
    }
    {
        Database db(options);
        CHECK(mode_of(options.path) == 0600);
        CHECK(mode_of(options.path + "-wal") == 0600);
        CHECK(mode_of(options.path + "-shm") == 0600);
    }

    // A database reached through a link: the link's target keeps its mode
    // (imapd never changes the mode of a file a link points to).
    const fs::path target = dir.path / "target.db";
    { Database db(OpenOptions{.path = target.string()}); }
    REQUIRE(::chmod(target.c_str(), 0644) == 0);
    fs::create_symlink(target, dir.path / "link.db");
    { Database db(OpenOptions{.path = (dir.path / "link.db").string()}); }
    CHECK(mode_of(target) == 0644);
}

TEST_CASE("the data directory, users/, accounts.db and user databases are owner-only") {
    const Umask umask_for_test(0);
    TempDir dir;
    const fs::path root = dir.path / "deep" / "data";
    {
        DataDir data(root);
        AccountStore accounts(data.accounts_options(), fast());
        accounts.create_user("alice", "pw");
        SqliteMailStore mail(data.user_options("alice"));
        mail.create_mailbox("Sent");
        CHECK(mode_of(root) == 0700);
        CHECK(mode_of(root / "users") == 0700);
        for (const fs::path& db : {root / "accounts.db", root / "users" / "alice.db"}) {
            INFO(db.string());
            CHECK(mode_of(db) == 0600);
            CHECK(mode_of(db.string() + "-wal") == 0600);
            CHECK(mode_of(db.string() + "-shm") == 0600);
        }
    }
    // Directories an older imapd or an administrator opened up are narrowed
    // again; a trailing slash names the same directory.
    fs::permissions(root, fs::perms::all, fs::perm_options::replace);
    fs::permissions(root / "users", fs::perms::all, fs::perm_options::replace);
    DataDir again(root.string() + "/");
    CHECK(mode_of(root) == 0700);
    CHECK(mode_of(root / "users") == 0700);
    // A file where the data directory should be is an error, not chmod'ed.
    const fs::path file = dir.path / "a-file";
    std::FILE* created = std::fopen(file.c_str(), "w");
    REQUIRE(created != nullptr);
    std::fclose(created);
    CHECK_THROWS_AS(DataDir(file), fs::filesystem_error);
}
