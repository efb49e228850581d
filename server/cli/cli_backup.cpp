// `imapd backup` and `imapd restore` (docs/cli.md, docs/storage.md "Backup
// and restore"): consistent copies of users' databases while the server
// runs, and putting them back while it does not (store/backup.h).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "server/cli/cli.h"
#include "server/cli/cli_common.h"
#include "store/backup.h"
#include "store/data_dir.h"
#include "store/errors.h"

namespace imap::server {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBackupUsage =
    "usage: imapd backup NAME... DEST | --all DEST [--data-dir DIR | --config FILE]\n";
constexpr std::string_view kRestoreUsage =
    "usage: imapd restore NAME... SOURCE | --all SOURCE [--data-dir DIR | --config FILE]\n";

struct Arguments {
    cli::DataDirFlags data_dir;
    bool all = false;
    std::vector<std::string> users;  // canonical names
    fs::path directory;              // DEST or SOURCE
};

// NAME... DIR or --all DIR; nullopt on a usage error.
std::optional<Arguments> parse(std::span<const std::string_view> args) {
    Arguments parsed;
    std::vector<std::string_view> positional;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (parsed.data_dir.parse(args, i)) continue;
        if (args[i] == "--all") {
            parsed.all = true;
        } else if (args[i].starts_with("-")) {
            throw ConfigError("unknown option " + std::string(args[i]));
        } else {
            positional.push_back(args[i]);
        }
    }
    if (positional.empty() || (parsed.all && positional.size() != 1) ||
        (!parsed.all && positional.size() < 2)) {
        return std::nullopt;
    }
    parsed.directory = fs::path(std::string(positional.back()));
    positional.pop_back();
    for (std::string_view name : positional)
        parsed.users.push_back(store::AccountStore::canonical_user_name(name));
    return parsed;
}

// The users named, each checked against the accounts; with --all every
// account.
std::vector<std::string> users_of(const Arguments& parsed, store::AccountStore& accounts) {
    if (!parsed.all) {
        for (const std::string& user : parsed.users) {
            if (!accounts.find_user(user)) {
                throw store::StoreError(store::StoreErrc::NotFound, "no user \"" + user + "\"");
            }
        }
        return parsed.users;
    }
    std::vector<std::string> users;
    for (const store::User& user : accounts.users())
        users.push_back(user.name);
    return users;
}

int backup_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    const std::optional<Arguments> parsed = parse(args);
    if (!parsed) {
        err << kBackupUsage;
        return kExitUsage;
    }
    const Config config = parsed->data_dir.config();
    auto accounts = cli::open_existing_accounts(config.data_dir);
    if (!accounts) {
        err << "imapd backup: no data directory at " << config.data_dir.string() << "\n";
        return kExitNoInput;
    }
    const store::DataDir data_dir(config.data_dir);
    const fs::path users_to = parsed->directory / "users";
    fs::create_directories(users_to);
    fs::permissions(parsed->directory, fs::perms::owner_all, fs::perm_options::replace);
    fs::permissions(users_to, fs::perms::owner_all, fs::perm_options::replace);
    if (parsed->all) {
        store::backup_database(config.data_dir / "accounts.db", parsed->directory / "accounts.db");
        out << "imapd: backed up the accounts to " << (parsed->directory / "accounts.db").string()
            << "\n";
    }
    for (const std::string& user : users_of(*parsed, *accounts)) {
        const fs::path live = data_dir.user_path(user);
        if (!fs::exists(live)) {
            out << "imapd: " << user << " has no mail yet; nothing to back up\n";
            continue;
        }
        const fs::path copy = users_to / store::DataDir::user_file_name(user);
        store::backup_database(live, copy);
        out << "imapd: backed up " << user << " to " << copy.string() << "\n";
    }
    return kExitOk;
}

int restore_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    const std::optional<Arguments> parsed = parse(args);
    if (!parsed) {
        err << kRestoreUsage;
        return kExitUsage;
    }
    const Config config = parsed->data_dir.config();
    const store::DataDir data_dir(config.data_dir);
    // The server caches mailbox state per user; it must not run meanwhile.
    const std::optional<store::DataDirLock> lock =
        store::DataDirLock::try_exclusive(config.data_dir);
    if (!lock) {
        err << "imapd restore: imapd serve is running on " << config.data_dir.string()
            << "; stop it first\n";
        return kExitTempFail;
    }
    if (parsed->all) {
        const fs::path accounts_backup = parsed->directory / "accounts.db";
        if (!fs::exists(accounts_backup)) {
            err << "imapd restore: no " << accounts_backup.string() << " (made by backup --all)\n";
            return kExitNoInput;
        }
        store::restore_accounts(accounts_backup, config.data_dir / "accounts.db");
        out << "imapd: restored the accounts\n";
    }
    auto accounts = cli::open_existing_accounts(config.data_dir);
    if (!accounts) {
        err << "imapd restore: no data directory at " << config.data_dir.string()
            << " (restore --all creates one)\n";
        return kExitNoInput;
    }
    for (const std::string& user : users_of(*parsed, *accounts)) {
        const fs::path copy = parsed->directory / "users" / store::DataDir::user_file_name(user);
        if (!fs::exists(copy)) {
            out << "imapd: no backup of " << user << " in " << parsed->directory.string()
                << "; left as it is\n";
            continue;
        }
        const auto mailboxes = store::restore_database(copy, data_dir.user_path(user));
        std::string raised;
        for (const store::RestoredMailbox& mailbox : mailboxes) {
            if (mailbox.uidvalidity_changed) raised += (raised.empty() ? "" : ", ") + mailbox.name;
        }
        out << "imapd: restored " << user << " (" << mailboxes.size() << " mailboxes"
            << (raised.empty() ? std::string()
                               : "; new UIDVALIDITY, so clients fetch them again: " + raised)
            << ")\n";
    }
    return kExitOk;
}

}  // namespace

int run_backup(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    return cli::run_admin_guarded([&] { return backup_command(args, out, err); }, "backup", err);
}

int run_restore(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    return cli::run_admin_guarded([&] { return restore_command(args, out, err); }, "restore", err);
}

}  // namespace imap::server
