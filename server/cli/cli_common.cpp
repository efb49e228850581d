#include "server/cli/cli_common.h"

#include <algorithm>
#include <functional>
#include <ostream>

#include "server/cli/cli.h"
#include "store/data_dir.h"
#include "store/errors.h"
#include "store/limits.h"

namespace imap::server::cli {

std::optional<std::string_view> flag_value(std::span<const std::string_view> args, std::size_t& i,
                                           std::string_view flag) {
    const std::string_view arg = args[i];
    if (arg == flag) {
        if (i + 1 >= args.size()) throw ConfigError(std::string(flag) + " needs a value");
        return args[++i];
    }
    if (arg.starts_with(flag) && arg.size() > flag.size() && arg[flag.size()] == '=') {
        return arg.substr(flag.size() + 1);
    }
    return std::nullopt;
}

bool DataDirFlags::parse(std::span<const std::string_view> args, std::size_t& i) {
    if (auto v = flag_value(args, i, "--config")) {
        config_file = std::filesystem::path(*v);
        return true;
    }
    if (auto d = flag_value(args, i, "--data-dir")) {
        data_dir = std::filesystem::path(*d);
        return true;
    }
    return false;
}

Config DataDirFlags::config() const {
    Config config = config_file ? load_config_file(*config_file) : Config{};
    if (data_dir) config.data_dir = *data_dir;
    return config;
}

std::unique_ptr<store::AccountStore> open_existing_accounts(const std::filesystem::path& data_dir) {
    std::error_code ec;
    if (data_dir.empty() || !std::filesystem::is_regular_file(data_dir / "accounts.db", ec)) {
        return nullptr;
    }
    const store::DataDir dir(data_dir);
    store::OpenOptions options = dir.accounts_options();
    options.create = false;
    return std::make_unique<store::AccountStore>(options);
}

void append_crlf(std::string& out, std::string_view text, char& previous) {
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t lf = text.find('\n', start);
        if (lf == std::string_view::npos) {
            out.append(text.substr(start));
            break;
        }
        out.append(text.substr(start, lf - start));
        const char before = lf > 0 ? text[lf - 1] : previous;
        if (before != '\r') out += '\r';
        out += '\n';
        start = lf + 1;
    }
    if (!text.empty()) previous = text.back();
}

bool is_valid_keyword(std::string_view keyword) {
    if (keyword.empty() || keyword.size() > store::limits::kMaxKeywordBytes) return false;
    return std::all_of(keyword.begin(), keyword.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f &&
               std::string_view("(){%*\"\\]").find(c) == std::string_view::npos;
    });
}

bool add_flag(store::Flags& flags, std::string_view token) {
    if (token.starts_with('\\')) {
        const std::uint32_t bit = store::system_flag_bit(token);
        if (bit == 0) return false;
        flags.system |= bit;
        return true;
    }
    if (!is_valid_keyword(token)) return false;
    if (std::find(flags.keywords.begin(), flags.keywords.end(), token) == flags.keywords.end()) {
        flags.keywords.emplace_back(token);
    }
    return true;
}

std::string count_messages(std::size_t n) {
    return std::to_string(n) + (n == 1 ? " message" : " messages");
}

// Maps the store's typed errors to sysexits codes: a missing or existing user
// and a bad name are the caller's mistake (EX_USAGE's sibling EX_DATAERR would
// also fit; scripts test for non-zero), anything else is internal.
int run_admin_guarded(const std::function<int()>& body, std::string_view command,
                      std::ostream& err) {
    try {
        return body();
    } catch (const ConfigError& e) {
        err << "imapd " << command << ": " << e.what() << "\n";
        return kExitUsage;
    } catch (const store::StoreError& e) {
        err << "imapd " << command << ": " << e.what() << "\n";
        return kExitUsage;
    } catch (const std::exception& e) {
        err << "imapd " << command << ": " << e.what() << "\n";
        return kExitSoftware;
    }
}

}  // namespace imap::server::cli
