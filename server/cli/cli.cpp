#include "server/cli/cli.h"

#include <array>
#include <iostream>
#include <string>

#include "server/net/server.h"

namespace imap::server {
namespace {

struct Subcommand {
    std::string_view name;
    std::string_view summary;
    std::string_view usage;
    bool available;  // false until the issue that builds it lands
};

constexpr std::array kSubcommands = {
    Subcommand{"serve", "run the IMAP server",
               "imapd serve [--config FILE] [--data-dir DIR] [--listen ADDR:PORT]...\n"
               "            [--listen-tls ADDR:PORT]... [--listen-lmtp ADDR:PORT|unix:PATH]...\n"
               "            [--tls-cert FILE --tls-key FILE]\n"
               "            [--ephemeral] [--user NAME:PASSWORD]... [--log-level LEVEL]",
               true},
    Subcommand{"user", "add, change, delete and list accounts",
               "imapd user add|passwd NAME [--password-stdin] [--data-dir DIR | --config FILE]\n"
               "       imapd user del NAME [--purge] [--data-dir DIR | --config FILE]\n"
               "       imapd user list [--data-dir DIR | --config FILE]\n"
               "Without --password-stdin, add and passwd set a generated password and print it.",
               true},
    Subcommand{"deliver", "deliver a message from standard input (for an MTA)",
               "imapd deliver NAME [--mailbox M] [--create] [--flags F]...\n"
               "              [--data-dir DIR | --config FILE] < message\n"
               "--flags takes a space-separated list (\\Seen, keywords) and may repeat.\n"
               "A missing mailbox M is created with --create, else the message goes to INBOX.",
               true},
    Subcommand{"import", "import an mbox file or a Maildir",
               "imapd import NAME mbox|maildir PATH [--mailbox M]\n"
               "             [--data-dir DIR | --config FILE]\n"
               "PATH is an mbox file, a directory of mbox files or a Maildir(++).\n"
               "Importing twice stores every message twice.",
               true},
    Subcommand{"backup", "copy users' mail while the server runs",
               "imapd backup NAME... DEST | --all DEST [--data-dir DIR | --config FILE]\n"
               "DEST is a directory; --all also copies the accounts (passwords).",
               true},
    Subcommand{"restore", "put backed-up mail back (server stopped)",
               "imapd restore NAME... SOURCE | --all SOURCE [--data-dir DIR | --config FILE]\n"
               "SOURCE is a directory made by imapd backup. Mailboxes that changed since\n"
               "get a new UIDVALIDITY, so clients fetch them again.",
               true},
    Subcommand{"who", "list the running server's connections",
               "imapd who [--json] [--data-dir DIR | --config FILE]\n"
               "Asks the running server through its control socket ([server] control_socket).",
               true},
    Subcommand{"kick", "end a user's connections on the running server",
               "imapd kick USER [--data-dir DIR | --config FILE]\n"
               "Each connection gets \"* BYE Disconnected by the administrator\". To keep the\n"
               "user out, change the password (imapd user passwd) or delete the user first.",
               true},
    Subcommand{"check-config", "check a configuration file",
               "imapd check-config [--config FILE [--convert]] [--data-dir DIR]", true},
};

void print_usage(std::ostream& out) {
    out << "usage: imapd SUBCOMMAND [ARGS]\n"
           "       imapd --version | --help | SUBCOMMAND --help\n\n"
           "subcommands:\n";
    for (const auto& subcommand : kSubcommands) {
        out << "  " << subcommand.name << std::string(14 - subcommand.name.size(), ' ')
            << subcommand.summary << (subcommand.available ? "" : " (not yet available)") << "\n";
    }
}

}  // namespace

int run_cli(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    return run_cli(args, std::cin, out, err);
}

int run_cli(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
            std::ostream& err) {
    if (args.empty()) {
        print_usage(err);
        return kExitUsage;
    }
    std::string_view first = args.front();
    if (first == "--version" || first == "-V") {
        out << "imapd " << IMAPD_VERSION << "\n";
        return kExitOk;
    }
    if (first == "--help" || first == "-h" || first == "help") {
        print_usage(out);
        return kExitOk;
    }
    for (const auto& subcommand : kSubcommands) {
        if (subcommand.name != first) continue;
        if (args.size() > 1 && (args[1] == "--help" || args[1] == "-h")) {
            out << "usage: " << subcommand.usage << "\n";
            return kExitOk;
        }
        if (!subcommand.available) {
            err << "imapd " << subcommand.name
                << ": not available in this version yet (`imapd serve` runs; the other "
                   "subcommands land next: see README.md, Status)\n";
            return kExitUnavailable;
        }
        if (subcommand.name == "serve") return run_serve(args.subspan(1), out, err);
        if (subcommand.name == "user") return run_user(args.subspan(1), in, out, err);
        if (subcommand.name == "check-config") return run_check_config(args.subspan(1), out, err);
        if (subcommand.name == "backup") return run_backup(args.subspan(1), out, err);
        if (subcommand.name == "restore") return run_restore(args.subspan(1), out, err);
        if (subcommand.name == "deliver") return run_deliver(args.subspan(1), in, out, err);
        if (subcommand.name == "import") return run_import(args.subspan(1), out, err);
        if (subcommand.name == "who") return run_who(args.subspan(1), out, err);
        if (subcommand.name == "kick") return run_kick(args.subspan(1), out, err);
        return kExitSoftware;
    }
    err << "imapd: unknown subcommand '" << first << "'\n";
    print_usage(err);
    return kExitUsage;
}

}  // namespace imap::server
