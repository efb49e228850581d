// The imapd command line: `imapd SUBCOMMAND [ARGS]`. The subcommand names and
// flags are a contract used by tests, docs and packaging (docs/cli.md).
#pragma once

#include <istream>
#include <ostream>
#include <span>
#include <string_view>

namespace imap::server {

// Exit codes from sysexits.h, so an MTA calling `imapd deliver` can tell a
// temporary failure (retry) from a permanent one (bounce).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;        // EX_USAGE
inline constexpr int kExitDataErr = 65;      // EX_DATAERR: bad input data (bounce)
inline constexpr int kExitNoInput = 66;      // EX_NOINPUT: input file missing or unreadable
inline constexpr int kExitNoUser = 67;       // EX_NOUSER: unknown user (bounce)
inline constexpr int kExitUnavailable = 69;  // EX_UNAVAILABLE
inline constexpr int kExitSoftware = 70;     // EX_SOFTWARE
inline constexpr int kExitCantCreate = 73;   // EX_CANTCREAT: mailbox cannot take the mail
inline constexpr int kExitIoErr = 74;        // EX_IOERR: reading the input failed
inline constexpr int kExitTempFail = 75;     // EX_TEMPFAIL

// Runs the CLI on `args` (without the program name). Output goes to `out`,
// diagnostics to `err`; returns the process exit code.
int run_cli(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
// The same, reading standard input (passwords for --password-stdin) from `in`.
int run_cli(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
            std::ostream& err);

// The subcommands, `args` after the subcommand name: server/cli/cli_user.cpp,
int run_user(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
             std::ostream& err);
int run_check_config(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
// server/cli/cli_deliver.cpp (the message comes from `in`),
int run_deliver(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
                std::ostream& err);
// server/cli/cli_import.cpp,
int run_import(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
// server/cli/cli_control.cpp (through the running server's control socket),
int run_who(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int run_kick(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
// server/cli/cli_backup.cpp.
int run_backup(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int run_restore(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace imap::server
