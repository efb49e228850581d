// `imapd user add|passwd|del|list` and `imapd check-config`: account and
// configuration administration from the command line (docs/cli.md).
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "server/base/config.h"
#include "server/cli/cli.h"
#include "server/cli/cli_common.h"
#include "store/accounts.h"
#include "store/data_dir.h"
#include "store/errors.h"
#include "store/mail_store.h"
#include "store/password.h"

namespace imap::server {
namespace {

struct AdminArgs {
    std::vector<std::string_view> positional;
    cli::DataDirFlags data_dir;
    bool password_stdin = false;
    bool purge = false;
    bool convert = false;  // check-config: print an old-format file as TOML
};

// Flags take their value as the next argument or after '='.
AdminArgs parse_admin_args(std::span<const std::string_view> args) {
    AdminArgs parsed;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view arg = args[i];
        if (parsed.data_dir.parse(args, i)) {
            continue;
        } else if (arg == "--password-stdin") {
            parsed.password_stdin = true;
        } else if (arg == "--purge") {
            parsed.purge = true;
        } else if (arg == "--convert") {
            parsed.convert = true;
        } else if (arg.starts_with("-")) {
            throw ConfigError("unknown option " + std::string(arg));
        } else {
            parsed.positional.push_back(arg);
        }
    }
    return parsed;
}

// The configuration the server would use: --config (or the defaults), then
// --data-dir over it.
Config admin_config(const AdminArgs& args) {
    return args.data_dir.config();
}

// The first line of standard input, without its line end: how scripts and
// MTAs hand over a password without it showing in `ps`.
std::optional<std::string> read_password(std::istream& in) {
    std::string line;
    if (!std::getline(in, line)) return std::nullopt;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

int user_command(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
                 std::ostream& err) {
    const AdminArgs parsed = parse_admin_args(args);
    if (parsed.positional.empty()) {
        err << "usage: imapd user add|passwd|del|list [NAME] [--password-stdin] [--purge] "
               "[--data-dir DIR | --config FILE]\n";
        return kExitUsage;
    }
    const std::string_view action = parsed.positional.front();
    const bool needs_name = action == "add" || action == "passwd" || action == "del";
    if ((needs_name && parsed.positional.size() != 2) ||
        (action == "list" && parsed.positional.size() != 1) || (!needs_name && action != "list")) {
        err << "imapd user: expected add NAME, passwd NAME, del NAME or list\n";
        return kExitUsage;
    }
    const Config config = admin_config(parsed);
    const store::DataDir data_dir(config.data_dir);
    store::PasswordHashing hashing;
    hashing.scram_iterations = config.scram_iterations;
    store::AccountStore accounts(data_dir.accounts_options(), hashing);

    if (action == "list") {
        for (const store::User& user : accounts.users()) {
            out << user.name << (user.disabled ? " (disabled)" : "") << "\n";
        }
        return kExitOk;
    }
    const std::string name(parsed.positional[1]);
    if (action == "del") {
        accounts.delete_user(name);
        if (parsed.purge) {
            data_dir.remove_user_files(name);
            out << "imapd: deleted user \"" << name << "\" and their mail\n";
        } else {
            out << "imapd: deleted user \"" << name << "\"; their mail is kept in "
                << (config.data_dir / "users" / store::DataDir::user_file_name(name)).string()
                << " (use --purge to delete it too)\n";
        }
        return kExitOk;
    }
    std::string password;
    if (parsed.password_stdin) {
        std::optional<std::string> line = read_password(in);
        if (!line || line->empty()) {
            err << "imapd user: no password on standard input\n";
            return kExitUsage;
        }
        password = std::move(*line);
    } else {
        password = store::generate_password();
    }
    if (action == "add") {
        accounts.create_user(name, password);
        // RFC 6154: the new account's Sent, Drafts, Trash, Junk and Archive.
        store::open_mail_store(
            data_dir.user_options(store::AccountStore::canonical_user_name(name)))
            ->ensure_default_mailboxes();
    } else {
        accounts.set_password(name, password);
    }
    out << "imapd: " << (action == "add" ? "created" : "changed password of") << " user \""
        << store::AccountStore::canonical_user_name(name) << "\"";
    if (!parsed.password_stdin) out << " with password \"" << password << "\"";
    out << "\n";
    store::wipe_string(password);
    return kExitOk;
}

int check_config_command(std::span<const std::string_view> args, std::ostream& out,
                         std::ostream& err) {
    const AdminArgs parsed = parse_admin_args(args);
    const auto& file = parsed.data_dir.config_file;
    if (!parsed.positional.empty() || (parsed.convert && !file)) {
        err << "usage: imapd check-config [--config FILE [--convert]] [--data-dir DIR]\n";
        return kExitUsage;
    }
    if (parsed.convert) {
        // The old format's file as TOML on standard output (docs/configuration.md
        // "The old format"); the file itself is left alone.
        out << convert_old_config(read_config_file(*file), file->string());
        return kExitOk;
    }
    const Config config = admin_config(parsed);
    const std::vector<std::string> problems = check_config(config);
    for (const std::string& problem : problems)
        err << "imapd check-config: " << problem << "\n";
    if (!problems.empty()) return kExitUsage;
    if (config.old_file_format) {
        err << "imapd check-config: " << file->string()
            << " is in the format before TOML; it is still read the same way. To convert it:\n"
            << "  imapd check-config --config " << file->string() << " --convert > NEW_FILE\n";
    }
    out << "imapd: configuration " << (file ? file->string() : std::string("(built-in default)"))
        << " is valid\n";
    return kExitOk;
}

}  // namespace

int run_user(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
             std::ostream& err) {
    return cli::run_admin_guarded([&] { return user_command(args, in, out, err); }, "user", err);
}

int run_check_config(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    return cli::run_admin_guarded([&] { return check_config_command(args, out, err); },
                                  "check-config", err);
}

}  // namespace imap::server
