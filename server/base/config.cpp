#include "server/base/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <thread>
#include <utility>

namespace imap::server {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// A config file larger than this is not a config file (someone passed a
// mailbox or /dev/zero); refuse it rather than read it all.
constexpr std::size_t kMaxConfigFileBytes = 1024 * 1024;

// The longest any duration option may be. Only to keep arithmetic far from
// overflow; no timeout or delay has a use beyond a week.
constexpr milliseconds kMaxDuration = std::chrono::hours(24 * 7);

std::string quoted(std::string_view s) {
    return "'" + std::string(s) + "'";
}

bool is_space(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// Digits only: no sign, no spaces, no hex; nullopt on overflow.
std::optional<std::uint64_t> to_number(std::string_view digits) {
    if (!all_digits(digits)) return std::nullopt;
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return value;
}

// Splits "123 unit" / "123unit" into the number and the unit.
std::pair<std::string_view, std::string_view> split_number(std::string_view value) {
    std::size_t end = 0;
    while (end < value.size() && value[end] >= '0' && value[end] <= '9')
        ++end;
    return {value.substr(0, end), trim(value.substr(end))};
}

std::uint64_t parse_count(std::string_view value, std::uint64_t min, std::uint64_t max) {
    const auto number = to_number(value);
    if (!number) throw ConfigError("expected a whole number, got " + quoted(value));
    if (*number < min || *number > max) {
        throw ConfigError("must be between " + std::to_string(min) + " and " + std::to_string(max) +
                          ", got " + std::string(value));
    }
    return *number;
}

std::string describe_size(std::uint64_t bytes) {
    std::string text = std::to_string(bytes);
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) {
        text += " (" + std::to_string(bytes / (1024 * 1024)) + " MiB)";
    } else if (bytes >= 1024 && bytes % 1024 == 0) {
        text += " (" + std::to_string(bytes / 1024) + " KiB)";
    }
    return text;
}

// Bytes, with an optional binary suffix: 64K, 64 KiB, 64M, 1G.
std::uint64_t parse_size(std::string_view value, std::uint64_t min, std::uint64_t max,
                         std::string_view max_reason) {
    const auto [digits, unit_text] = split_number(value);
    const auto number = to_number(digits);
    const std::string unit = lower(unit_text);
    std::uint64_t factor = 0;
    if (unit.empty() || unit == "b") {
        factor = 1;
    } else if (unit == "k" || unit == "kib") {
        factor = 1024;
    } else if (unit == "m" || unit == "mib") {
        factor = 1024 * 1024;
    } else if (unit == "g" || unit == "gib") {
        factor = 1024 * 1024 * 1024;
    }
    if (!number || factor == 0) {
        throw ConfigError("expected a size in bytes, optionally with K, M or G (1024-based), got " +
                          quoted(value));
    }
    if (*number > std::numeric_limits<std::uint64_t>::max() / factor || *number * factor > max) {
        throw ConfigError("must be at most " + describe_size(max) + std::string(max_reason) +
                          ", got " + std::string(value));
    }
    if (*number * factor < min) {
        throw ConfigError("must be at least " + describe_size(min) + ", got " + std::string(value));
    }
    return *number * factor;
}

std::string describe_duration(milliseconds duration) {
    const auto ms = duration.count();
    if (ms % 3'600'000 == 0 && ms != 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0 && ms != 0) return std::to_string(ms / 60'000) + "min";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

// A number and a unit: ms, s, min, h (and their long forms). The unit is
// required: a bare "30" could mean seconds or minutes, and guessing wrong
// by a factor of 60 on a timeout is the kind of error that goes unnoticed.
milliseconds parse_duration(std::string_view value, milliseconds min) {
    static const std::map<std::string, std::int64_t, std::less<>> kUnits = {
        {"ms", 1},
        {"s", 1000},
        {"sec", 1000},
        {"secs", 1000},
        {"second", 1000},
        {"seconds", 1000},
        {"min", 60'000},
        {"mins", 60'000},
        {"minute", 60'000},
        {"minutes", 60'000},
        {"h", 3'600'000},
        {"hour", 3'600'000},
        {"hours", 3'600'000},
    };
    const auto [digits, unit_text] = split_number(value);
    const auto number = to_number(digits);
    if (!number) {
        throw ConfigError("expected a duration such as 60s, 30min or 2h, got " + quoted(value));
    }
    const auto unit = kUnits.find(lower(unit_text));
    if (unit == kUnits.end()) {
        throw ConfigError(unit_text.empty()
                              ? "needs a unit (ms, s, min or h), e.g. " + std::string(digits) + "s"
                              : "unknown unit " + quoted(unit_text) + " (use ms, s, min or h)");
    }
    const auto limit = static_cast<std::uint64_t>(kMaxDuration.count());
    if (*number > limit / static_cast<std::uint64_t>(unit->second) ||
        *number * static_cast<std::uint64_t>(unit->second) > limit) {
        throw ConfigError("must be at most " + describe_duration(kMaxDuration) + ", got " +
                          std::string(value));
    }
    const milliseconds result(static_cast<std::int64_t>(*number) * unit->second);
    if (result < min) {
        throw ConfigError("must be at least " + describe_duration(min) + ", got " +
                          std::string(value));
    }
    return result;
}

bool parse_bool(std::string_view value) {
    const std::string v = lower(value);
    if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
    if (v == "false" || v == "no" || v == "off" || v == "0") return false;
    throw ConfigError("expected true or false, got " + quoted(value));
}

std::filesystem::path parse_path(std::string_view value) {
    if (value.empty()) throw ConfigError("expected a path, got nothing");
    return std::filesystem::path(std::string(value));
}

// Commas and/or white space separate list items.
std::vector<std::string_view> split_list(std::string_view value) {
    std::vector<std::string_view> items;
    std::size_t i = 0;
    while (i < value.size()) {
        while (i < value.size() && (value[i] == ',' || is_space(value[i])))
            ++i;
        const std::size_t start = i;
        while (i < value.size() && value[i] != ',' && !is_space(value[i]))
            ++i;
        if (i > start) items.push_back(value.substr(start, i - start));
    }
    return items;
}

// ---- the option table -------------------------------------------------------

struct FileState {
    Config config;
    bool listeners_from_file = false;
    bool networks_from_file = false;
};

using Setter = void (*)(FileState&, std::string_view value);

// What a value is in TOML (docs/configuration.md "Format"): the setter
// still parses the text, so both formats share every check and message.
enum class Kind {
    Text,      // a TOML string: paths, addresses, names
    Bool,      // a TOML boolean
    Count,     // a TOML integer
    Size,      // a TOML integer (bytes) or a string with a unit: "64M"
    Duration,  // a TOML string with a unit: "60s"
};

struct Option {
    std::string_view section;
    std::string_view key;
    bool repeatable;  // a TOML array (or one value); the old format repeats the key
    Kind kind;
    Setter set;
};

void replace_built_in_listeners(FileState& state) {
    // The first listener in the file replaces the built-in ones, so a file
    // that names only "imaps" gets only that (and no LMTP).
    if (!state.listeners_from_file) {
        state.config.listeners.clear();
        state.config.lmtp_listeners.clear();
        state.listeners_from_file = true;
    }
}

void add_listener(FileState& state, std::string_view value, bool implicit_tls,
                  ListenProtocol protocol = ListenProtocol::Imap) {
    replace_built_in_listeners(state);
    state.config.listeners.push_back(parse_listen_address(value, implicit_tls, protocol));
}

void add_lmtp_listener(FileState& state, std::string_view value) {
    replace_built_in_listeners(state);
    state.config.lmtp_listeners.push_back(parse_lmtp_listen_address(value));
}

// "0660": octal permission bits, nothing beyond 0777.
unsigned parse_mode(std::string_view value) {
    unsigned mode = 0;
    if (value.empty() || value.size() > 4) {
        throw ConfigError("expected an octal mode such as 0660, got " + quoted(value));
    }
    for (char c : value) {
        if (c < '0' || c > '7') {
            throw ConfigError("expected an octal mode such as 0660, got " + quoted(value));
        }
        mode = mode * 8 + static_cast<unsigned>(c - '0');
    }
    if (mode > 0777) throw ConfigError("mode " + quoted(value) + " sets more than 0777");
    return mode;
}

// More loops than this would only share the same cores; more workers than
// this would mostly wait on the same disk.
constexpr std::size_t kMaxThreads = 256;
constexpr std::size_t kMaxWorkers = 1024;

constexpr std::string_view kProtocolLimit = " (the protocol's limit, protocol/limits.h)";

const Option kOptions[] = {
    {"server", "data_dir", false, Kind::Text,
     [](FileState& s, std::string_view v) { s.config.data_dir = parse_path(v); }},
    {"server", "ephemeral", false, Kind::Bool,
     [](FileState& s, std::string_view v) { s.config.ephemeral = parse_bool(v); }},
    {"server", "threads", false, Kind::Count,
     [](FileState& s, std::string_view v) { s.config.threads = parse_count(v, 0, kMaxThreads); }},
    {"server", "workers", false, Kind::Count,
     [](FileState& s, std::string_view v) { s.config.workers = parse_count(v, 0, kMaxWorkers); }},
    {"server", "control_socket", false, Kind::Text,
     [](FileState& s, std::string_view v) { s.config.control_socket = std::string(v); }},

    {"listen", "imap", true, Kind::Text,
     [](FileState& s, std::string_view v) { add_listener(s, v, false); }},
    {"listen", "imaps", true, Kind::Text,
     [](FileState& s, std::string_view v) { add_listener(s, v, true); }},
    {"listen", "pop3", true, Kind::Text,
     [](FileState& s, std::string_view v) { add_listener(s, v, false, ListenProtocol::Pop3); }},
    {"listen", "pop3s", true, Kind::Text,
     [](FileState& s, std::string_view v) { add_listener(s, v, true, ListenProtocol::Pop3); }},
    {"listen", "lmtp", true, Kind::Text,
     [](FileState& s, std::string_view v) { add_lmtp_listener(s, v); }},

    // A string of octal digits ("0660"): TOML has no leading-zero integers.
    {"lmtp", "socket_mode", false, Kind::Text,
     [](FileState& s, std::string_view v) { s.config.lmtp_socket_mode = parse_mode(v); }},
    {"lmtp", "socket_group", false, Kind::Text,
     [](FileState& s, std::string_view v) { s.config.lmtp_socket_group = std::string(v); }},
    {"lmtp", "domains", true, Kind::Text,
     [](FileState& s, std::string_view v) {
         for (std::string_view item : split_list(v)) {
             s.config.lmtp_domains.push_back(lower(item));
         }
     }},

    // Empty: the self-signed certificate.
    {"tls", "cert", false, Kind::Text,
     [](FileState& s, std::string_view v) { s.config.tls_cert = std::string(v); }},
    {"tls", "key", false, Kind::Text,
     [](FileState& s, std::string_view v) { s.config.tls_key = std::string(v); }},

    {"limits", "max_connections", false, Kind::Count,
     [](FileState& s, std::string_view v) {
         s.config.max_connections = parse_count(v, 1, 1'000'000);
     }},
    {"limits", "max_connections_per_ip", false, Kind::Count,
     [](FileState& s, std::string_view v) {
         s.config.max_connections_per_ip = parse_count(v, 1, 1'000'000);
     }},
    {"limits", "max_connections_per_user", false, Kind::Count,
     [](FileState& s, std::string_view v) {
         s.config.max_connections_per_user = parse_count(v, 1, 1'000'000);
     }},
    // From 64 KiB, so tests can reach it; below the server's own high-water
    // mark (256 KiB of output) a client that reads slowly may be cut off
    // (docs/configuration.md says so).
    {"limits", "max_output_backlog", false, Kind::Size,
     [](FileState& s, std::string_view v) {
         s.config.max_output_backlog = parse_size(v, 64 * 1024, 1024ull * 1024 * 1024, "");
     }},
    // 64 KiB is a few dozen pages: below that SQLite rereads its b-tree
    // pages on every query; 1 GiB is more than any one user needs.
    {"limits", "store_cache", false, Kind::Size,
     [](FileState& s, std::string_view v) {
         s.config.store_cache = parse_size(v, 64 * 1024, 1024ull * 1024 * 1024, "");
     }},
    // RFC 7162 4: servers should accept command lines of at least 8192
    // octets; clients such as mbsync send long UID sets.
    {"limits", "max_line_length", false, Kind::Size,
     [](FileState& s, std::string_view v) {
         s.config.max_line_length = parse_size(v, 8192, limits::kMaxLineLength, kProtocolLimit);
     }},
    {"limits", "max_literal_size", false, Kind::Size,
     [](FileState& s, std::string_view v) {
         s.config.max_literal_size = parse_size(v, 1024, limits::kMaxLiteralSize, kProtocolLimit);
     }},

    {"timeouts", "pre_auth", false, Kind::Duration,
     [](FileState& s, std::string_view v) { s.config.pre_auth_timeout = parse_duration(v, 1s); }},
    {"timeouts", "login", false, Kind::Duration,
     [](FileState& s, std::string_view v) { s.config.login_timeout = parse_duration(v, 1s); }},
    {"timeouts", "autologout", false, Kind::Duration,
     [](FileState& s, std::string_view v) { s.config.autologout = parse_duration(v, 1s); }},
    {"timeouts", "idle", false, Kind::Duration,
     [](FileState& s, std::string_view v) { s.config.idle_timeout = parse_duration(v, 1s); }},
    {"timeouts", "output_backlog", false, Kind::Duration,
     [](FileState& s, std::string_view v) {
         s.config.output_backlog_timeout = parse_duration(v, 100ms);
     }},
    {"timeouts", "idle_poll_interval", false, Kind::Duration,
     [](FileState& s, std::string_view v) {
         s.config.idle_poll_interval = parse_duration(v, 100ms);
     }},
    {"timeouts", "idle_keepalive", false, Kind::Duration,
     [](FileState& s, std::string_view v) { s.config.idle_keepalive = parse_duration(v, 0ms); }},

    {"auth", "failed_login_delay", false, Kind::Duration,
     [](FileState& s, std::string_view v) {
         s.config.failed_login_delay = parse_duration(v, 0ms);
     }},
    {"auth", "failed_login_delay_max", false, Kind::Duration,
     [](FileState& s, std::string_view v) {
         s.config.failed_login_delay_max = parse_duration(v, 0ms);
     }},
    {"auth", "failed_login_reset", false, Kind::Duration,
     [](FileState& s, std::string_view v) { s.config.failed_login_reset = parse_duration(v, 1s); }},
    {"auth", "scram_iterations", false, Kind::Count,
     [](FileState& s, std::string_view v) {
         s.config.scram_iterations = static_cast<std::uint32_t>(
             parse_count(v, store::kMinScramIterations, store::kMaxScramIterations));
     }},
    {"auth", "trusted_networks", true, Kind::Text,
     [](FileState& s, std::string_view v) {
         if (!s.networks_from_file) {
             s.config.trusted_networks.clear();
             s.networks_from_file = true;
         }
         // An empty value is allowed: "trust nothing", no plaintext login
         // without TLS anywhere, not even from loopback.
         for (std::string_view item : split_list(v)) {
             s.config.trusted_networks.push_back(parse_network(item));
         }
     }},

    // docs/operations.md "Metrics": off unless named.
    {"metrics", "listen", false, Kind::Text,
     [](FileState& s, std::string_view v) {
         s.config.metrics_listener = parse_listen_address(v, false);
     }},

    {"log", "level", false, Kind::Text,
     [](FileState& s, std::string_view v) {
         const auto level = parse_log_level(v);
         if (!level) {
             throw ConfigError("expected error, warning, info or debug, got " + quoted(v));
         }
         s.config.log_level = *level;
     }},
    {"log", "format", false, Kind::Text,
     [](FileState& s, std::string_view v) {
         if (v == "text") {
             s.config.log_format = LogFormat::Text;
         } else if (v == "json") {
             s.config.log_format = LogFormat::Json;
         } else {
             throw ConfigError("expected text or json, got " + quoted(v));
         }
     }},
};

constexpr std::string_view kSections[] = {"server",   "listen", "lmtp",    "tls", "limits",
                                          "timeouts", "auth",   "metrics", "log"};

// "[server], [listen], ..." for the unknown-section error.
std::string section_list() {
    std::string list;
    for (std::string_view section : kSections) {
        list += (list.empty() ? "[" : ", [") + std::string(section) + "]";
    }
    return list;
}

const Option* find_option(std::string_view section, std::string_view key) {
    for (const Option& option : kOptions) {
        if (option.section == section && option.key == key) return &option;
    }
    return nullptr;
}

// "[server]" when `key` exists in some section, to help a misplaced key.
std::string section_of(std::string_view key) {
    for (const Option& option : kOptions) {
        if (option.key == key) return "[" + std::string(option.section) + "]";
    }
    return {};
}

bool valid_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

// The line without its comment: '#' at the start or after white space. A '#'
// inside a value ("a#b") is kept, so most paths survive.
std::string_view strip_comment(std::string_view line) {
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '#' && (i == 0 || is_space(line[i - 1]))) return line.substr(0, i);
    }
    return line;
}

// ---- addresses ----------------------------------------------------------------

bool parse_ipv4(std::string_view text, std::array<std::uint8_t, 16>& out) {
    in_addr address{};
    if (inet_pton(AF_INET, std::string(text).c_str(), &address) != 1) return false;
    out = {};
    std::memcpy(out.data(), &address, 4);
    return true;
}

bool parse_ipv6(std::string_view text, std::array<std::uint8_t, 16>& out) {
    in6_addr address{};
    if (inet_pton(AF_INET6, std::string(text).c_str(), &address) != 1) return false;
    std::memcpy(out.data(), &address, 16);
    return true;
}

std::string format_ip(const std::array<std::uint8_t, 16>& bytes, bool ipv6) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
    return text;
}

bool prefix_matches(const std::uint8_t* network, const std::uint8_t* address, unsigned bits) {
    const unsigned whole = bits / 8;
    if (std::memcmp(network, address, whole) != 0) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (network[whole] & mask) == (address[whole] & mask);
}

// ---- the command line ---------------------------------------------------------

struct Flag {
    std::string_view name;
    std::string_view value_name;  // empty: takes no value
};

constexpr Flag kFlags[] = {
    {"--config", "FILE"},
    {"--data-dir", "DIR"},
    {"--listen", "ADDR:PORT"},
    {"--listen-tls", "ADDR:PORT"},
    {"--listen-lmtp", "ADDR:PORT|unix:PATH"},
    {"--listen-pop3", "ADDR:PORT"},
    {"--listen-pop3s", "ADDR:PORT"},
    {"--tls-cert", "FILE"},
    {"--tls-key", "FILE"},
    {"--ephemeral", ""},
    {"--user", "NAME:PASSWORD"},
    {"--log-level", "LEVEL"},
    {"--threads", "N"},
    {"--workers", "N"},
};

template <typename T>
void set_once(std::optional<T>& slot, T value, std::string_view flag) {
    if (slot) throw ConfigError(std::string(flag) + ": given more than once");
    slot = std::move(value);
}

SeedUser parse_seed_user(std::string_view value) {
    // Split at the first ':': user names cannot hold one usefully (IMAP
    // clients and URLs use it as a separator), passwords may.
    const std::size_t colon = value.find(':');
    if (colon == std::string_view::npos) {
        throw ConfigError("--user: expected NAME:PASSWORD");  // the value may be a password
    }
    if (colon == 0) throw ConfigError("--user: the user name before ':' is empty");
    if (colon + 1 == value.size()) {
        throw ConfigError("--user: the password after '" + std::string(value.substr(0, colon)) +
                          ":' is empty");
    }
    return SeedUser{std::string(value.substr(0, colon)), Secret(value.substr(colon + 1))};
}

}  // namespace

std::string_view to_string(LogLevel level) {
    switch (level) {
        case LogLevel::Error:
            return "error";
        case LogLevel::Warning:
            return "warning";
        case LogLevel::Info:
            return "info";
        case LogLevel::Debug:
            return "debug";
    }
    return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
    const std::string v = lower(text);
    if (v == "error") return LogLevel::Error;
    if (v == "warning" || v == "warn") return LogLevel::Warning;
    if (v == "info") return LogLevel::Info;
    if (v == "debug") return LogLevel::Debug;
    return std::nullopt;
}

std::string_view listener_name(const ListenAddress& address) {
    if (address.protocol == ListenProtocol::Pop3) return address.implicit_tls ? "pop3s" : "pop3";
    return address.implicit_tls ? "imaps" : "imap";
}

std::string ListenAddress::to_string() const {
    return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

std::vector<LmtpListenAddress> default_lmtp_listeners() {
    std::vector<LmtpListenAddress> listeners(2);
    listeners[0].unix_path = "lmtp.sock";
    listeners[1].tcp.address = "127.0.0.1";
    listeners[1].tcp.port = 1024;
    return listeners;
}

std::string LmtpListenAddress::to_string() const {
    return unix_path.empty() ? tcp.to_string() : "unix:" + unix_path.string();
}

LmtpListenAddress parse_lmtp_listen_address(std::string_view text) {
    LmtpListenAddress result;
    if (text.starts_with("unix:")) {
        const std::string_view path = text.substr(5);
        if (path.empty()) throw ConfigError("unix: needs a socket path, as in unix:lmtp.sock");
        // sockaddr_un holds 108 bytes with the NUL; checked again once
        // resolved against the data directory.
        if (path.size() >= 108) throw ConfigError("unix socket path " + quoted(path) + " too long");
        result.unix_path = std::string(path);
        return result;
    }
    result.tcp = parse_listen_address(text, false);
    return result;
}

ListenAddress parse_listen_address(std::string_view text, bool implicit_tls,
                                   ListenProtocol protocol) {
    constexpr std::string_view kForm = "expected ADDRESS:PORT, e.g. 127.0.0.1:143 or [::1]:143";
    if (text.empty()) throw ConfigError(std::string(kForm) + ", got nothing");
    ListenAddress result;
    result.implicit_tls = implicit_tls;
    result.protocol = protocol;
    std::array<std::uint8_t, 16> bytes{};
    std::string_view port_text;
    if (text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            throw ConfigError("missing ']' after the IPv6 address in " + quoted(text));
        }
        const std::string_view host = text.substr(1, close - 1);
        if (close + 1 >= text.size() || text[close + 1] != ':') {
            throw ConfigError("missing ':PORT' after ']' in " + quoted(text));
        }
        if (!parse_ipv6(host, bytes)) throw ConfigError(quoted(host) + " is not an IPv6 address");
        result.ipv6 = true;
        port_text = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            throw ConfigError("missing ':PORT' in " + quoted(text) + " (" + std::string(kForm) +
                              ")");
        }
        const std::string_view host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos) {
            throw ConfigError("an IPv6 address goes in brackets, as in [::1]:143, got " +
                              quoted(text));
        }
        if (!parse_ipv4(host, bytes)) {
            throw ConfigError(quoted(host) +
                              " is not an IPv4 address (listen addresses are numeric: "
                              "0.0.0.0 or [::] for every interface, 127.0.0.1 or [::1] for "
                              "loopback)");
        }
        port_text = text.substr(colon + 1);
    }
    const auto port = to_number(port_text);
    if (!port || *port > 65535) {
        throw ConfigError("bad port " + quoted(port_text) + " in " + quoted(text) +
                          " (expected 0 to 65535)");
    }
    result.port = static_cast<std::uint16_t>(*port);
    result.address = format_ip(bytes, result.ipv6);  // canonical: "[0::1]" becomes "::1"
    return result;
}

bool Network::contains(const sockaddr* peer) const {
    if (!peer) return false;
    if (peer->sa_family == AF_INET) {
        if (ipv6) return false;
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(peer);
        return prefix_matches(address.data(), reinterpret_cast<const std::uint8_t*>(&v4->sin_addr),
                              prefix_length);
    }
    if (peer->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(peer);
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(&v6->sin6_addr);
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            return !ipv6 && prefix_matches(address.data(), bytes + 12, prefix_length);
        }
        return ipv6 && prefix_matches(address.data(), bytes, prefix_length);
    }
    return false;  // AF_UNIX and others: not an IP peer
}

bool Network::contains(std::string_view ip) const {
    sockaddr_storage storage{};
    std::array<std::uint8_t, 16> bytes{};
    if (parse_ipv4(ip, bytes)) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
        v4->sin_family = AF_INET;
        std::memcpy(&v4->sin_addr, bytes.data(), 4);
    } else if (parse_ipv6(ip, bytes)) {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
        v6->sin6_family = AF_INET6;
        std::memcpy(&v6->sin6_addr, bytes.data(), 16);
    } else {
        return false;
    }
    return contains(reinterpret_cast<const sockaddr*>(&storage));
}

std::string Network::to_string() const {
    return format_ip(address, ipv6) + "/" + std::to_string(prefix_length);
}

Network parse_network(std::string_view text) {
    const std::size_t slash = text.find('/');
    const std::string_view host = text.substr(0, slash);
    Network network;
    if (parse_ipv4(host, network.address)) {
        network.ipv6 = false;
    } else if (parse_ipv6(host, network.address)) {
        network.ipv6 = true;
    } else {
        throw ConfigError(quoted(text) +
                          " is not a network: expected ADDRESS/PREFIX such as 10.0.0.0/8 or "
                          "fd00::/8, or a single address");
    }
    const unsigned max_prefix = network.ipv6 ? 128 : 32;
    network.prefix_length = max_prefix;
    if (slash != std::string_view::npos) {
        const std::string_view prefix_text = text.substr(slash + 1);
        const auto prefix = to_number(prefix_text);
        if (!prefix || *prefix > max_prefix) {
            throw ConfigError("bad prefix length " + quoted(prefix_text) + " in " + quoted(text) +
                              " (expected 0 to " + std::to_string(max_prefix) + ")");
        }
        network.prefix_length = static_cast<unsigned>(*prefix);
    }
    Network masked = network;
    const unsigned bytes = max_prefix / 8;
    for (unsigned i = 0; i < bytes; ++i) {
        const unsigned first_bit = i * 8;
        if (first_bit >= network.prefix_length) {
            masked.address[i] = 0;
        } else if (network.prefix_length - first_bit < 8) {
            masked.address[i] &=
                static_cast<std::uint8_t>(0xff << (8 - (network.prefix_length - first_bit)));
        }
    }
    if (masked.address != network.address) {
        throw ConfigError(quoted(text) + " has bits set after the prefix; did you mean " +
                          masked.to_string() + "?");
    }
    return network;
}

bool Config::is_trusted(const sockaddr* peer) const {
    return std::any_of(trusted_networks.begin(), trusted_networks.end(),
                       [peer](const Network& network) { return network.contains(peer); });
}

namespace {

struct LooksLikeToml {};

// A TOML string, array of strings or inline table; not "[::1]:143", the old
// format's IPv6 listener.
bool looks_like_toml(std::string_view value) {
    if (value.empty()) return false;
    if (value.front() == '"' || value.front() == '\'' || value.front() == '{') return true;
    if (value.front() != '[') return false;
    const std::string_view inside = trim(value.substr(1));
    return inside.empty() || inside.front() == '"' || inside.front() == '\'' ||
           inside.front() == ']';
}

// The format before TOML (docs/configuration.md "The old format"): still read,
// so existing files keep working. A value that starts as a TOML string, array
// or inline table never meant anything here: the file is TOML with an
// error, and LooksLikeToml says so, so that the TOML error is reported.
// Each line of an old-format file, numbered from 1, without its line end
// (LF or CRLF); a UTF-8 byte order mark, as some Windows editors write, is
// not content.
void for_each_old_line(
    std::string_view text,
    const std::function<void(std::size_t number, std::string_view line)>& visit) {
    std::size_t number = 0;
    std::size_t position = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
    while (position < text.size()) {
        std::size_t end = text.find('\n', position);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(position, end - position);
        position = end + 1;
        if (line.ends_with('\r')) line.remove_suffix(1);
        visit(++number, line);
    }
}

void parse_old_format(std::string_view text, std::string_view source_name, FileState& state) {
    std::string section;
    std::map<std::string, std::size_t> first_seen;  // "section.key" -> line
    for_each_old_line(text, [&](std::size_t line_number, std::string_view line) {
        auto fail = [&](const std::string& message) {
            throw ConfigError(std::string(source_name) + ":" + std::to_string(line_number) + ": " +
                              message);
        };
        for (char c : line) {
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
                fail("control character in the line (a binary file?)");
            }
        }
        line = trim(strip_comment(line));
        if (line.empty()) return;

        if (line.front() == '[') {
            if (line.starts_with("[[")) throw LooksLikeToml{};  // an array of tables
            if (line.back() != ']') fail("expected ']' at the end of the section header");
            const std::string_view name = trim(line.substr(1, line.size() - 2));
            if (std::find(std::begin(kSections), std::end(kSections), name) ==
                std::end(kSections)) {
                fail("unknown section [" + std::string(name) + "] (sections: " + section_list() +
                     ")");
            }
            section = name;
            return;
        }

        const std::size_t equals = line.find('=');
        if (equals == std::string_view::npos) fail("expected 'key = value' or '[section]'");
        const std::string_view key = trim(line.substr(0, equals));
        const std::string_view value = trim(line.substr(equals + 1));
        if (!valid_name(key)) {
            fail("bad key " + quoted(key) + " (keys are lower-case letters, digits and '_')");
        }
        if (section.empty()) {
            const std::string home = section_of(key);
            fail(quoted(key) + " is outside any section" +
                 (home.empty() ? std::string() : "; it belongs in " + home));
        }
        const Option* option = find_option(section, key);
        if (!option) {
            const std::string home = section_of(key);
            fail("unknown key " + quoted(key) + " in [" + section + "]" +
                 (home.empty() ? std::string() : "; it belongs in " + home));
        }
        if (looks_like_toml(value)) throw LooksLikeToml{};
        const std::string id = section + "." + std::string(key);
        if (!option->repeatable) {
            const auto [seen, inserted] = first_seen.emplace(id, line_number);
            if (!inserted) {
                fail(quoted(key) + " is already set on line " + std::to_string(seen->second));
            }
        }
        try {
            option->set(state, value);
        } catch (const ConfigError& error) {
            fail(std::string(key) + ": " + error.what());
        }
    });
}

// "FILE:LINE:COLUMN: " for a TOML node or error position.
std::string toml_where(std::string_view source_name, const toml::source_region& where) {
    return std::string(source_name) + ":" + std::to_string(where.begin.line) + ":" +
           std::to_string(where.begin.column) + ": ";
}

std::string_view toml_type_name(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a decimal number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::table:
            return "a table";
        default:
            return "a date or time";
    }
}

// One TOML value of `option`, as the text its setter parses.
std::string toml_value_text(const Option& option, const toml::node& node) {
    const auto expected = [&](std::string_view what, std::string_view example) {
        return ConfigError("expected " + std::string(what) + ", got " +
                           std::string(toml_type_name(node)) + std::string(example));
    };
    switch (option.kind) {
        case Kind::Text:
            if (const auto* text = node.as_string()) return text->get();
            throw expected("a string", " (put the value in quotes)");
        case Kind::Bool:
            if (const auto* flag = node.as_boolean()) return flag->get() ? "true" : "false";
            // 1 and 0 as the old format allowed them, so its files still mean
            // the same where they happen to be valid TOML.
            if (const auto* number = node.as_integer(); number && number->get() >= 0) {
                return std::to_string(number->get());
            }
            throw expected("true or false", "");
        case Kind::Count:
            if (const auto* number = node.as_integer()) {
                if (number->get() < 0) {
                    throw ConfigError("expected a whole number, got " +
                                      std::to_string(number->get()));
                }
                return std::to_string(number->get());
            }
            throw expected("a whole number", "");
        case Kind::Size:
            if (const auto* number = node.as_integer()) {
                if (number->get() < 0) {
                    throw ConfigError("expected a size in bytes, got " +
                                      std::to_string(number->get()));
                }
                return std::to_string(number->get());
            }
            if (const auto* text = node.as_string()) return text->get();
            throw expected("a size: a number of bytes or a string such as \"64M\"", "");
        case Kind::Duration:
            if (const auto* text = node.as_string()) return text->get();
            if (const auto* number = node.as_integer()) {
                throw ConfigError("needs a unit (ms, s, min or h) in a string, e.g. \"" +
                                  std::to_string(number->get()) + "s\"");
            }
            throw expected("a duration string such as \"60s\"", "");
    }
    return {};
}

void apply_toml(const toml::table& root, std::string_view source_name, FileState& state) {
    for (auto&& [section_key, section_node] : root) {
        const std::string section(section_key.str());
        const auto* table = section_node.as_table();
        if (table == nullptr) {
            const std::string home = section_of(section);
            throw ConfigError(toml_where(source_name, section_node.source()) +
                              quoted(std::string_view(section)) + " is outside any section" +
                              (home.empty() ? std::string() : "; it belongs in " + home));
        }
        if (std::find(std::begin(kSections), std::end(kSections), section) == std::end(kSections)) {
            throw ConfigError(toml_where(source_name, section_node.source()) + "unknown section [" +
                              section + "] (sections: " + section_list() + ")");
        }
        for (auto&& [key_name, value] : *table) {
            const std::string key(key_name.str());
            const std::string where = toml_where(source_name, value.source());
            const Option* option = find_option(section, key);
            if (!option) {
                const std::string home = section_of(key);
                throw ConfigError(where + "unknown key " + quoted(std::string_view(key)) + " in [" +
                                  section + "]" +
                                  (home.empty() ? std::string() : "; it belongs in " + home));
            }
            try {
                if (const auto* list = value.as_array()) {
                    if (!option->repeatable) {
                        throw ConfigError("takes one value, not an array");
                    }
                    // An empty array still replaces the default (an empty
                    // trusted_networks trusts nothing).
                    if (list->empty()) option->set(state, "");
                    for (const toml::node& item : *list) {
                        try {
                            option->set(state, toml_value_text(*option, item));
                        } catch (const ConfigError& error) {
                            throw ConfigError(toml_where(source_name, item.source()) + key + ": " +
                                              error.what());
                        }
                    }
                } else {
                    option->set(state, toml_value_text(*option, value));
                }
            } catch (const ConfigError& error) {
                const std::string message = error.what();
                if (message.starts_with(std::string(source_name) + ":")) throw;
                throw ConfigError(where + key + ": " + message);
            }
        }
    }
}

}  // namespace

Config parse_config(std::string_view text, std::string_view source_name) {
    toml::table root;
    try {
        root = toml::parse(text, source_name);
    } catch (const toml::parse_error& error) {
        const ConfigError toml_error(toml_where(source_name, error.source()) +
                                     std::string(error.description()));
        // Not TOML: perhaps the old format, which stays readable. Its own
        // error, if it has one, is the one to report (the file uses none of
        // TOML's syntax), unless it found TOML syntax in the file.
        FileState old_state;
        try {
            parse_old_format(text, source_name, old_state);
        } catch (const LooksLikeToml&) {
            throw toml_error;
        }
        old_state.config.old_file_format = true;
        return std::move(old_state.config);
    }
    FileState state;
    apply_toml(root, source_name, state);
    return std::move(state.config);
}

namespace {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\t') {
            out += "\\t";
        } else {
            out += c;  // the old format refuses other control characters
        }
    }
    return out + "\"";
}

// One old-format value as TOML, by its option's kind.
std::string toml_value(const Option& option, std::string_view value) {
    switch (option.kind) {
        case Kind::Bool:
            return parse_bool(value) ? "true" : "false";
        case Kind::Count:
            return std::string(value);
        case Kind::Size:
            return all_digits(value) ? std::string(value) : toml_string(value);
        case Kind::Text:
        case Kind::Duration:
            return toml_string(value);
    }
    return toml_string(value);
}

}  // namespace

std::string convert_old_config(std::string_view text, std::string_view source_name) {
    FileState checked;
    try {
        parse_old_format(text, source_name, checked);
    } catch (const LooksLikeToml&) {
        throw ConfigError(std::string(source_name) + ": is TOML already (or TOML with an error: " +
                          "imapd check-config names it)");
    }
    // Lines kept as they are (comments, blank lines, sections), values
    // rewritten; a repeated key becomes one array where it first appears.
    struct Line {
        std::string text;
        std::string section, key;  // empty unless "key = value"
    };
    std::vector<Line> lines;
    std::map<std::string, std::vector<std::string>> values;  // "section.key" -> TOML values
    std::string section;
    for_each_old_line(text, [&](std::size_t, std::string_view line) {
        const std::string_view content = trim(strip_comment(line));
        const std::string_view comment = line.substr(strip_comment(line).size());
        if (content.empty() || content.front() == '[') {
            if (!content.empty()) section = trim(content.substr(1, content.size() - 2));
            lines.push_back({std::string(line), {}, {}});
            return;
        }
        const std::size_t equals = content.find('=');
        const std::string key(trim(content.substr(0, equals)));
        const std::string_view value = trim(content.substr(equals + 1));
        const Option& option = *find_option(section, key);
        const std::string id = section + "." + key;
        const bool first = !values.contains(id);
        auto& list = values[id];
        if (option.repeatable) {
            // trusted_networks took a list in one value; a listener never did.
            for (std::string_view item : split_list(value))
                list.push_back(toml_string(item));
        } else {
            list.push_back(toml_value(option, value));
        }
        if (first) {
            lines.push_back(
                {comment.empty() ? std::string() : " " + std::string(comment), section, key});
        } else if (!trim(comment).empty()) {
            lines.push_back({std::string(trim(comment)), {}, {}});
        }
    });
    std::string out;
    for (const Line& line : lines) {
        if (!line.key.empty()) {
            const Option& option = *find_option(line.section, line.key);
            const auto& list = values[line.section + "." + line.key];
            out += line.key + " = ";
            if (option.repeatable) {
                out += "[";
                for (std::size_t i = 0; i < list.size(); ++i)
                    out += (i ? ", " : "") + list[i];
                out += "]";
            } else {
                out += list.front();
            }
        }
        out += line.text;
        out += "\n";
    }
    return out;
}

std::string read_config_file(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw ConfigError(file.string() + ": cannot open: " + std::strerror(errno));
    std::string text;
    char buffer[8192];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        text.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (text.size() > kMaxConfigFileBytes) {
            throw ConfigError(file.string() + ": larger than " +
                              describe_size(kMaxConfigFileBytes) + "; not a config file?");
        }
    }
    if (in.bad()) throw ConfigError(file.string() + ": cannot read: " + std::strerror(errno));
    return text;
}

Config load_config_file(const std::filesystem::path& file) {
    return parse_config(read_config_file(file), file.string());
}

ServeFlags parse_serve_flags(std::span<const std::string_view> args) {
    ServeFlags flags;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (!arg.starts_with("--")) throw ConfigError("unexpected argument " + quoted(arg));
        const std::size_t equals = arg.find('=');
        const std::string_view name = arg.substr(0, equals);
        const Flag* flag = nullptr;
        for (const Flag& candidate : kFlags) {
            if (candidate.name == name) flag = &candidate;
        }
        if (!flag) throw ConfigError("unknown option " + quoted(name));
        std::string_view value;
        if (flag->value_name.empty()) {
            if (equals != std::string_view::npos) {
                throw ConfigError(std::string(name) + " takes no value");
            }
        } else if (equals != std::string_view::npos) {
            value = arg.substr(equals + 1);
        } else if (i + 1 < args.size() && !args[i + 1].starts_with("--")) {
            value = args[++i];
        } else {
            throw ConfigError(std::string(name) + " needs a value (" +
                              std::string(flag->value_name) + ")");
        }
        if (!flag->value_name.empty() && value.empty()) {
            throw ConfigError(std::string(name) + ": empty value (expected " +
                              std::string(flag->value_name) + ")");
        }
        auto with_flag = [name](const ConfigError& error) {
            return ConfigError(std::string(name) + ": " + error.what());
        };
        if (name == "--config") {
            set_once(flags.config_file, std::filesystem::path(std::string(value)), name);
        } else if (name == "--data-dir") {
            set_once(flags.data_dir, std::filesystem::path(std::string(value)), name);
        } else if (name == "--listen" || name == "--listen-tls") {
            try {
                flags.listeners.push_back(parse_listen_address(value, name == "--listen-tls"));
            } catch (const ConfigError& error) {
                throw with_flag(error);
            }
        } else if (name == "--listen-pop3" || name == "--listen-pop3s") {
            try {
                flags.listeners.push_back(
                    parse_listen_address(value, name == "--listen-pop3s", ListenProtocol::Pop3));
            } catch (const ConfigError& error) {
                throw with_flag(error);
            }
        } else if (name == "--listen-lmtp") {
            try {
                flags.lmtp_listeners.push_back(parse_lmtp_listen_address(value));
            } catch (const ConfigError& error) {
                throw with_flag(error);
            }
        } else if (name == "--tls-cert") {
            set_once(flags.tls_cert, std::filesystem::path(std::string(value)), name);
        } else if (name == "--tls-key") {
            set_once(flags.tls_key, std::filesystem::path(std::string(value)), name);
        } else if (name == "--ephemeral") {
            flags.ephemeral = true;
        } else if (name == "--user") {
            flags.users.push_back(parse_seed_user(value));
        } else if (name == "--log-level") {
            const auto level = parse_log_level(value);
            if (!level) {
                throw ConfigError("--log-level: expected error, warning, info or debug, got " +
                                  quoted(value));
            }
            set_once(flags.log_level, *level, name);
        } else if (name == "--threads" || name == "--workers") {
            std::size_t count = 0;
            try {
                count = parse_count(value, 0, name == "--threads" ? kMaxThreads : kMaxWorkers);
            } catch (const ConfigError& error) {
                throw with_flag(error);
            }
            set_once(name == "--threads" ? flags.threads : flags.workers, count, name);
        }
    }
    return flags;
}

void apply_command_line(Config& config, const ServeFlags& flags) {
    if (flags.data_dir) config.data_dir = *flags.data_dir;
    if (!flags.listeners.empty() || !flags.lmtp_listeners.empty()) {
        config.listeners = flags.listeners;
        config.lmtp_listeners = flags.lmtp_listeners;
    }
    if (flags.tls_cert) config.tls_cert = *flags.tls_cert;
    if (flags.tls_key) config.tls_key = *flags.tls_key;
    if (flags.ephemeral) config.ephemeral = true;
    if (flags.log_level) config.log_level = *flags.log_level;
    if (flags.threads) config.threads = *flags.threads;
    if (flags.workers) config.workers = *flags.workers;
    config.users.insert(config.users.end(), flags.users.begin(), flags.users.end());
}

void apply_command_line(Config& config, std::span<const std::string_view> args) {
    apply_command_line(config, parse_serve_flags(args));
}

std::vector<std::string> check_config(const Config& config) {
    std::vector<std::string> problems;
    if (!config.ephemeral && config.data_dir.empty()) {
        problems.push_back("[server] data_dir is empty (set it, or use --ephemeral)");
    }
    if (config.listeners.empty() && config.lmtp_listeners.empty()) {
        problems.push_back(
            "no listeners: set [listen] imap, imaps, pop3, pop3s or lmtp, or --listen, "
            "--listen-tls, --listen-pop3, --listen-pop3s or --listen-lmtp");
    }
    for (std::size_t i = 0; i < config.lmtp_listeners.size(); ++i) {
        const LmtpListenAddress& a = config.lmtp_listeners[i];
        for (std::size_t j = 0; j < i; ++j) {
            const LmtpListenAddress& b = config.lmtp_listeners[j];
            if (a == b && (!a.unix_path.empty() || a.tcp.port != 0)) {
                problems.push_back("listener " + a.to_string() + " is given twice");
            }
        }
        for (const ListenAddress& imap : config.listeners) {
            if (a.unix_path.empty() && a.tcp.port != 0 && a.tcp.port == imap.port &&
                a.tcp.address == imap.address && a.tcp.ipv6 == imap.ipv6) {
                problems.push_back("listener " + a.to_string() + " is given twice");
            }
        }
    }
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
        const ListenAddress& a = config.listeners[i];
        for (std::size_t j = 0; j < i; ++j) {
            const ListenAddress& b = config.listeners[j];
            // Port 0 asks the kernel for a fresh port each time: no clash.
            if (a.port != 0 && a.address == b.address && a.port == b.port && a.ipv6 == b.ipv6) {
                problems.push_back("listener " + a.to_string() + " is given twice");
            }
        }
    }
    if (config.tls_cert.empty() != config.tls_key.empty()) {
        problems.push_back(config.tls_cert.empty()
                               ? "[tls] key (--tls-key) is set but cert (--tls-cert) is not"
                               : "[tls] cert (--tls-cert) is set but key (--tls-key) is not");
    }
    if (config.max_connections_per_ip > config.max_connections) {
        problems.push_back(
            "[limits] max_connections_per_ip (" + std::to_string(config.max_connections_per_ip) +
            ") exceeds max_connections (" + std::to_string(config.max_connections) + ")");
    }
    if (config.max_connections_per_user > config.max_connections) {
        problems.push_back("[limits] max_connections_per_user (" +
                           std::to_string(config.max_connections_per_user) +
                           ") exceeds max_connections (" + std::to_string(config.max_connections) +
                           ")");
    }
    if (config.failed_login_delay > config.failed_login_delay_max) {
        problems.push_back("[auth] failed_login_delay (" +
                           describe_duration(config.failed_login_delay) +
                           ") exceeds failed_login_delay_max (" +
                           describe_duration(config.failed_login_delay_max) + ")");
    }
    // Shorter timers break the RFCs' promises to clients; a test server may
    // want them anyway, to test what happens at the timeout.
    if (!config.ephemeral) {
        if (config.autologout < std::chrono::minutes(30)) {
            problems.push_back("[timeouts] autologout (" + describe_duration(config.autologout) +
                               ") is below the 30min RFC 3501 5.4 requires (allowed only with "
                               "ephemeral, for tests)");
        }
        if (config.idle_timeout < std::chrono::minutes(30)) {
            problems.push_back("[timeouts] idle (" + describe_duration(config.idle_timeout) +
                               ") is below 30min; RFC 2177 clients re-issue IDLE only every 29 "
                               "minutes (allowed only with ephemeral, for tests)");
        }
    }
    for (std::size_t i = 0; i < config.users.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (config.users[i].name == config.users[j].name) {
                problems.push_back("--user " + config.users[i].name + " is given twice");
            }
        }
    }
    return problems;
}

Config configure_serve(std::span<const std::string_view> args) {
    const ServeFlags flags = parse_serve_flags(args);
    Config config = flags.config_file ? load_config_file(*flags.config_file) : Config{};
    apply_command_line(config, flags);
    const std::vector<std::string> problems = check_config(config);
    if (!problems.empty()) {
        std::ostringstream message;
        for (std::size_t i = 0; i < problems.size(); ++i) {
            message << (i ? "\n" : "") << problems[i];
        }
        throw ConfigError(message.str());
    }
    return config;
}

std::size_t Config::io_threads() const {
    if (threads != 0) return threads;
    return std::max<std::size_t>(1, std::thread::hardware_concurrency());
}

std::size_t Config::worker_threads() const {
    if (workers != 0) return workers;
    return 4 * io_threads();
}

}  // namespace imap::server
