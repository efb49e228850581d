// Helpers shared by the administration subcommands (cli_user.cpp,
// cli_deliver.cpp, cli_import.cpp): the --data-dir / --config flags, finding
// a user's mail database, and the byte and flag conversions delivery and
// import have in common.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

#include "server/base/config.h"
#include "store/accounts.h"
#include "store/types.h"

namespace imap::server::cli {

// The value of `flag` at args[i], given as "--flag VALUE" (i then moves past
// VALUE) or "--flag=VALUE"; nullopt when args[i] is another argument. Throws
// ConfigError when VALUE is missing.
std::optional<std::string_view> flag_value(std::span<const std::string_view> args, std::size_t& i,
                                           std::string_view flag);

// --data-dir DIR and --config FILE, which every administration subcommand takes.
struct DataDirFlags {
    std::optional<std::filesystem::path> config_file;
    std::optional<std::filesystem::path> data_dir;

    // Consumes args[i] (and its value) when it is one of the two flags.
    bool parse(std::span<const std::string_view> args, std::size_t& i);
    // The configuration the server would use: --config (or the defaults),
    // then --data-dir over it. Throws ConfigError.
    Config config() const;
};

// The accounts database of an existing data directory, opened without
// creating anything; nullptr when DATA_DIR/accounts.db does not exist (a
// mistyped --data-dir must not quietly create an empty one).
std::unique_ptr<store::AccountStore> open_existing_accounts(const std::filesystem::path& data_dir);

// Appends `text` to `out` with every LF not preceded by CR turned into CRLF
// (RFC 5322 line ends; MTAs and mail files use bare LF). `previous` is the
// last byte appended before (for text split into chunks), updated here.
void append_crlf(std::string& out, std::string_view text, char& previous);

// RFC 3501 9 flag-keyword = atom, as the store accepts it.
bool is_valid_keyword(std::string_view keyword);

// Adds a flag token to `flags`: "\Seen" etc. (case-insensitive) as a system
// flag, anything else as a keyword. False for \Recent, an unknown system
// flag or an invalid keyword.
bool add_flag(store::Flags& flags, std::string_view token);

// Runs an administration subcommand's `body`, turning its exceptions into
// a message on `err` ("imapd COMMAND: ...") and a sysexits code: a
// configuration or store error is the caller's (EX_USAGE), anything else
// internal (EX_SOFTWARE).
int run_admin_guarded(const std::function<int()>& body, std::string_view command,
                      std::ostream& err);

// "1 message" / "N messages".
std::string count_messages(std::size_t n);

}  // namespace imap::server::cli
