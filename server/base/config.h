// imapd's configuration: the Config struct with every option and its default,
// the config file parser, the `imapd serve` flags that override it, and the
// checks that need several options at once. docs/configuration.md documents
// every option; examples/imapd.conf is the file a Debian package ships.
//
// The file is TOML (docs/configuration.md "Format"), parsed by toml++; each
// value's TOML type must suit its option (a string for paths and durations,
// an integer for counts, an array for repeatable keys), and its text is then
// checked by the same code the command line and the old format use.
//
// Every key belongs to a section; unknown sections and keys, values that do
// not parse, and a key set twice are errors, reported as
// "SOURCE:LINE:COLUMN: message". A mistyped option is never silently ignored.
//
// The format before TOML (INI-like: unquoted values, repeated keys) is still
// read when a file is not TOML (docs/configuration.md "The old format"), and
// convert_old_config() rewrites such a file as TOML.
//
// Precedence: built-in defaults < config file < command line. The command
// line's listeners, if it names any, replace every listener of the file.
#pragma once

#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/limits.h"
#include "protocol/secret.h"
#include "store/scram.h"

namespace imap::server {

// Every configuration problem: the message says where (file:line, or the
// flag) and what is wrong, ready to print after "imapd: ".
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

enum class LogLevel { Error, Warning, Info, Debug };
// [log] format: key=value lines, or one JSON object per line.
enum class LogFormat { Text, Json };

// "error", "warning", "info", "debug".
std::string_view to_string(LogLevel level);
// Accepts the names above and "warn"; nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view text);

// What a listener serves: IMAP (RFC 3501) or POP3 (RFC 1939,
// docs/pop3.md), on the same transport.
enum class ListenProtocol { Imap, Pop3 };

// A socket to listen on. Addresses are numeric: binding to a name would
// depend on DNS at startup and could pick an address nobody intended.
struct ListenAddress {
    std::string address;        // "127.0.0.1", "::1", "0.0.0.0", "::" (no brackets)
    std::uint16_t port = 0;     // 0: the kernel picks one (tests)
    bool ipv6 = false;          //
    bool implicit_tls = false;  // TLS from the first byte (RFC 8314, port 993);
                                // false: plaintext with STARTTLS (RFC 3501 6.2.1)
                                // or STLS (RFC 2595 4)
    ListenProtocol protocol = ListenProtocol::Imap;

    // "127.0.0.1:1143", "[::1]:1993": the form the parser accepts.
    std::string to_string() const;
    friend bool operator==(const ListenAddress&, const ListenAddress&) = default;
};

// An LMTP listener (docs/lmtp.md): a unix socket or a TCP address, never
// TLS (RFC 2033 is for local delivery; a unix socket needs none).
struct LmtpListenAddress {
    // Non-empty: a unix socket at this path, relative to the data directory
    // unless absolute.
    std::filesystem::path unix_path;
    ListenAddress tcp;  // when unix_path is empty

    // "unix:/run/imapd/lmtp.sock" or "127.0.0.1:24": the form the parser accepts.
    std::string to_string() const;
    friend bool operator==(const LmtpListenAddress&, const LmtpListenAddress&) = default;
};

// "unix:PATH", "A.B.C.D:PORT" or "[IPv6]:PORT". Throws ConfigError without
// a location.
LmtpListenAddress parse_lmtp_listen_address(std::string_view text);

// "A.B.C.D:PORT" or "[IPv6]:PORT". Throws ConfigError with a message that
// has no location (the caller adds file:line or the flag name).
ListenAddress parse_listen_address(std::string_view text, bool implicit_tls,
                                   ListenProtocol protocol = ListenProtocol::Imap);
// "imap", "imaps", "pop3", "pop3s": the listener's name in logs, metrics
// and the "imapd: listening" lines.
std::string_view listener_name(const ListenAddress& address);

// An IPv4 or IPv6 network in CIDR notation.
struct Network {
    std::array<std::uint8_t, 16> address{};  // IPv4 uses the first 4 bytes
    bool ipv6 = false;
    unsigned prefix_length = 0;

    // IPv4-mapped IPv6 peers (::ffff:a.b.c.d, what a dual-stack [::]
    // listener reports for an IPv4 client) are matched as IPv4.
    bool contains(const sockaddr* peer) const;
    // The same for a numeric address string; false when it does not parse.
    bool contains(std::string_view ip) const;
    std::string to_string() const;  // "127.0.0.0/8"
    friend bool operator==(const Network&, const Network&) = default;
};

// "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128). Host bits set
// below the prefix ("10.0.0.1/8") are an error: they suggest a typo.
Network parse_network(std::string_view text);

// An account created at startup from `--user NAME:PASSWORD` (test servers).
struct SeedUser {
    std::string name;
    Secret password;
};

// The built-in LMTP listeners: unix:lmtp.sock (in the data directory) and
// 127.0.0.1:1024.
std::vector<LmtpListenAddress> default_lmtp_listeners();

inline constexpr std::string_view kDefaultDataDir = "./imapd-data";

struct Config {
    // [server]
    std::filesystem::path data_dir{std::string(kDefaultDataDir)};
    // Everything in memory: no data directory is touched, the certificate is
    // generated and never written. For tests.
    bool ephemeral = false;
    // I/O loops, each on its own thread, doing socket I/O, TLS and framing
    // (docs/architecture.md "Threads"). 0: one per core
    // (std::thread::hardware_concurrency). 1: one loop that also runs every
    // session itself, as the single-threaded server did (no worker pool:
    // the smallest footprint, but one user's fsync or long SEARCH delays
    // everyone).
    std::size_t threads = 0;
    // With threads > 1: the worker threads that run the users' strands
    // (every command after login). Commands block on the disk (a commit's
    // fsync), so several per core keep the cores busy while some wait.
    // 0: 4 per I/O loop.
    std::size_t workers = 0;
    // The control socket of `imapd who` and `imapd kick`
    // (server/net/control_socket.h), relative to data_dir unless absolute;
    // empty: none. A relative one is not made with ephemeral.
    std::filesystem::path control_socket{"control.sock"};

    // [listen] imap = ... / imaps = ... / pop3 = ... / pop3s = ...: the
    // built-in defaults (no configuration file) follow the standard ports
    // plus 1000 (143, 993, 110, 995); POP3 is off unless named, except in
    // these defaults.
    std::vector<ListenAddress> listeners = {
        {"127.0.0.1", 1143, false, false, ListenProtocol::Imap},
        {"127.0.0.1", 1993, false, true, ListenProtocol::Imap},
        {"127.0.0.1", 1110, false, false, ListenProtocol::Pop3},
        {"127.0.0.1", 1995, false, true, ListenProtocol::Pop3},
    };

    // [listen] lmtp = ...: off unless named, except in the built-in
    // defaults (no configuration file): a socket in the data directory
    // (none with ephemeral) and 1024 on loopback, the IMAP ports' pattern
    // (1143 for 143) for LMTP's conventional 24. A file or command line
    // that names any listener replaces all of these built-in ones.
    std::vector<LmtpListenAddress> lmtp_listeners = default_lmtp_listeners();

    // [lmtp] (docs/lmtp.md)
    // The unix socket's permissions: the MTA's delivery agent (Postfix's
    // lmtp, user postfix) must be able to write to it; 0660 with
    // socket_group set to its group lets it and nobody else.
    unsigned lmtp_socket_mode = 0660;
    std::string lmtp_socket_group;  // empty: the server's own group
    // Lower-case domains RCPT TO may name; empty: any domain (the local
    // part alone picks the account, as imapd deliver takes a bare name).
    std::vector<std::string> lmtp_domains;

    // [tls] cert, key: PEM files. Both empty: the self-signed certificate
    // (server/net/certificate.h), made in data_dir or, ephemeral, in memory.
    std::filesystem::path tls_cert;
    std::filesystem::path tls_key;

    // [limits]
    std::size_t max_connections = 1000;
    // Generous: a household or an office behind one NAT address has many
    // devices, each with several connections (one per IDLEd folder).
    std::size_t max_connections_per_ip = 50;
    // Thunderbird keeps up to 5 connections per account; a few devices each.
    // Counted per canonical user name over every address, after the
    // password was right (server/auth/login_limits.h): "NO [LIMIT]" past it.
    std::size_t max_connections_per_user = 20;
    // A connection whose unsent output (ours, libuv's, TLS) stays above this
    // for output_backlog_timeout is ended: nothing the server produces
    // needs that much at once (FETCH and IDLE updates pause at 256 KiB;
    // this catches what a single response can add, e.g. a sync of flag
    // changes on a huge mailbox), so only a client that stopped reading
    // stays above it.
    std::size_t max_output_backlog = 8 * 1024 * 1024;
    // SQLite page cache per open user store (store::OpenOptions::
    // page_cache_bytes): with max_connections_per_user and the users
    // logged in, what bounds the store's memory whatever the mailboxes'
    // sizes (docs/storage.md "Memory").
    std::size_t store_cache = 2 * 1024 * 1024;
    // May lower, never raise, the wire codec's limits (protocol/limits.h).
    std::size_t max_line_length = limits::kMaxLineLength;
    std::uint64_t max_literal_size = limits::kMaxLiteralSize;

    // [timeouts]
    // Before authentication: short, so idle unauthenticated connections
    // cannot pile up.
    std::chrono::milliseconds pre_auth_timeout = std::chrono::seconds(60);
    // The whole pre-login phase, however active: a client that trickles a
    // byte now and then (resetting pre_auth) still has to log in within
    // this. Dovecot's login processes use 3 minutes (MASTER_LOGIN_TIMEOUT_SECS)
    // and real clients live with it; it leaves a user who retypes a password
    // in a client's dialog, and a few failed-login delays, enough time.
    std::chrono::milliseconds login_timeout = std::chrono::minutes(3);
    // After authentication: RFC 3501 5.4 requires at least 30 minutes.
    std::chrono::milliseconds autologout = std::chrono::minutes(30);
    // During IDLE: RFC 2177 tells clients to re-issue IDLE at least every
    // 29 minutes, so anything from 30 minutes up never cuts off a client
    // that follows it.
    std::chrono::milliseconds idle_timeout = std::chrono::minutes(30);
    // How long the unsent output may stay above max_output_backlog before
    // the connection is ended ("* BYE", then closed). A client that reads,
    // even over a slow link, falls below the bound as soon as it has read
    // the excess; one that stays above it for a minute has stopped reading.
    std::chrono::milliseconds output_backlog_timeout = std::chrono::seconds(60);
    // During IDLE, how often the selected mailbox is checked for changes
    // made by other processes (`imapd deliver`): one read of the mailbox
    // row. Other sessions of this server push their changes at once.
    std::chrono::milliseconds idle_poll_interval = std::chrono::seconds(2);
    // During IDLE, "* OK Still here" after this long without output, so NAT
    // boxes and firewalls keep the connection (Dovecot: every 2 minutes).
    // Zero: never.
    std::chrono::milliseconds idle_keepalive = std::chrono::minutes(2);

    // [auth]
    // After a failed login from an address, the answer is delayed by this,
    // doubling with each further failure from that address up to the
    // maximum; the count is forgotten after failed_login_reset without a
    // failure, or on a successful login.
    std::chrono::milliseconds failed_login_delay = std::chrono::seconds(2);
    std::chrono::milliseconds failed_login_delay_max = std::chrono::seconds(60);
    std::chrono::milliseconds failed_login_reset = std::chrono::minutes(15);
    // PBKDF2 iterations of the SCRAM credentials written from now on
    // (`imapd user add/passwd`, and accounts migrated at their next
    // PLAIN/LOGIN): RFC 7677's minimum 4096 by default, at most
    // store::kMaxScramIterations (store/scram.h says why). Existing
    // credentials keep their count until the password changes.
    std::uint32_t scram_iterations = store::kDefaultScramIterations;
    // Where plaintext authentication (LOGIN, AUTHENTICATE PLAIN) is allowed
    // on a connection without TLS; elsewhere the server advertises
    // LOGINDISABLED (RFC 3501 6.2.3, 7.2.1) until STARTTLS.
    std::vector<Network> trusted_networks = {
        {{127, 0, 0, 0}, false, 8},
        {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, true, 128},
    };

    // [metrics] listen: the Prometheus endpoint (docs/operations.md); none
    // by default.
    std::optional<ListenAddress> metrics_listener;

    // [log]
    LogLevel log_level = LogLevel::Info;
    LogFormat log_format = LogFormat::Text;

    // The file was in the format before TOML (docs/configuration.md "The
    // old format"): read as before; `imapd check-config --convert` prints
    // it as TOML.
    bool old_file_format = false;

    // Command line only (--user): never read from a file, so no password
    // ever sits in a configuration file.
    std::vector<SeedUser> users;

    // Whether `peer` is in trusted_networks.
    bool is_trusted(const sockaddr* peer) const;
    // `threads` and `workers` with their defaults resolved.
    std::size_t io_threads() const;
    std::size_t worker_threads() const;
};

// Parses a config file's text, TOML or the old format. Options it does not
// mention keep their defaults. `source_name` prefixes every error
// ("imapd.conf:12:5: ..."). Throws ConfigError at the first error.
Config parse_config(std::string_view text, std::string_view source_name);

// Reads and parses `file`; errors name it. Throws ConfigError.
Config load_config_file(const std::filesystem::path& file);
// Reads `file` as text (at most kMaxConfigFileBytes). Throws ConfigError.
std::string read_config_file(const std::filesystem::path& file);

// A file in the old format (Config::old_file_format) rewritten as TOML with
// the same meaning: comments and order kept, values typed and quoted, a
// repeated key turned into one array. Throws ConfigError when `text` is not
// a valid old-format file.
std::string convert_old_config(std::string_view text, std::string_view source_name);

// The `imapd serve` flags, parsed but not yet applied (docs/cli.md). Each
// value may follow its flag as the next argument or after '='.
struct ServeFlags {
    std::optional<std::filesystem::path> config_file;  // --config
    std::optional<std::filesystem::path> data_dir;     // --data-dir
    std::vector<ListenAddress> listeners;              // --listen, --listen-tls
    std::vector<LmtpListenAddress> lmtp_listeners;     // --listen-lmtp
    std::optional<std::filesystem::path> tls_cert;     // --tls-cert
    std::optional<std::filesystem::path> tls_key;      // --tls-key
    bool ephemeral = false;                            // --ephemeral
    std::vector<SeedUser> users;                       // --user NAME:PASSWORD
    std::optional<LogLevel> log_level;                 // --log-level
    std::optional<std::size_t> threads;                // --threads
    std::optional<std::size_t> workers;                // --workers
};

// `args` are the arguments after "serve". Throws ConfigError naming the flag
// for unknown flags, missing or bad values, stray arguments, and
// single-valued flags given twice.
ServeFlags parse_serve_flags(std::span<const std::string_view> args);

// Applies the flags over `config` (the file's or the defaults): each flag
// given replaces its option; listeners given replace all of config's.
void apply_command_line(Config& config, const ServeFlags& flags);
// parse_serve_flags() then the above. --config is accepted and ignored here.
void apply_command_line(Config& config, std::span<const std::string_view> args);

// Problems that involve several options, or the command line and the file
// together, one message each; empty when the configuration is usable.
std::vector<std::string> check_config(const Config& config);

// The whole `imapd serve` sequence: flags, then the file named by --config
// (or the built-in defaults), then the flags over it, then check_config().
// Throws ConfigError; for check_config() problems its message lists each on
// its own line.
Config configure_serve(std::span<const std::string_view> args);

}  // namespace imap::server
