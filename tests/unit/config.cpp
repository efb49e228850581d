// The configuration (server/base/config.h, docs/configuration.md): defaults, the
// file format, every error path with its file:line, `imapd serve` flags over
// the file, cross-option checks, and the shipped example file.
#include "server/base/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;
using imap::server::apply_command_line;
using imap::server::check_config;
using imap::server::Config;
using imap::server::ConfigError;
using imap::server::configure_serve;
using imap::server::ListenAddress;
using imap::server::listener_name;
using imap::server::ListenProtocol;
using imap::server::LogLevel;
using imap::server::parse_config;
using imap::server::parse_listen_address;
using imap::server::parse_network;
using imap::server::parse_serve_flags;

namespace {

// The message parse_config() throws for `text`, or "" when it parses.
std::string parse_error(std::string_view text) {
    try {
        parse_config(text, "imapd.conf");
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

std::string flags_error(std::vector<std::string_view> args) {
    try {
        parse_serve_flags(args);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

std::string listen_error(std::string_view text) {
    try {
        parse_listen_address(text, false);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

std::string network_error(std::string_view text) {
    try {
        parse_network(text);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

bool has(const std::vector<std::string>& problems, std::string_view needle) {
    for (const std::string& problem : problems) {
        if (problem.find(needle) != std::string::npos) return true;
    }
    return false;
}

ListenAddress listener(std::string address, std::uint16_t port, bool ipv6, bool tls) {
    return ListenAddress{std::move(address), port, ipv6, tls};
}

ListenAddress pop3_listener(std::string address, std::uint16_t port, bool tls) {
    return ListenAddress{std::move(address), port, false, tls, ListenProtocol::Pop3};
}

// A file in a fresh temporary directory, removed with it.
struct TempFile {
    std::filesystem::path dir;
    std::filesystem::path path;
    explicit TempFile(std::string_view contents) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "imapd-config-test-XXXXXX").string();
        dir = mkdtemp(pattern.data());
        path = dir / "imapd.conf";
        std::ofstream(path, std::ios::binary) << contents;
    }
    ~TempFile() {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
    }
};

}  // namespace

TEST_CASE("an empty file gives the documented defaults, which pass every check") {
    const Config config = parse_config("", "imapd.conf");
    CHECK(config.data_dir == "./imapd-data");
    CHECK_FALSE(config.ephemeral);
    REQUIRE(config.listeners.size() == 4);
    CHECK(config.listeners[0] == listener("127.0.0.1", 1143, false, false));
    CHECK(config.listeners[1] == listener("127.0.0.1", 1993, false, true));
    CHECK(config.listeners[2] == pop3_listener("127.0.0.1", 1110, false));
    CHECK(config.listeners[3] == pop3_listener("127.0.0.1", 1995, true));
    CHECK(config.tls_cert.empty());
    CHECK(config.tls_key.empty());
    CHECK(config.max_connections == 1000);
    CHECK(config.max_connections_per_ip == 50);
    CHECK(config.max_connections_per_user == 20);
    CHECK(config.max_line_length == imap::limits::kMaxLineLength);
    CHECK(config.max_literal_size == imap::limits::kMaxLiteralSize);
    CHECK(config.max_output_backlog == 8 * 1024 * 1024);
    CHECK(config.store_cache == 2 * 1024 * 1024);
    CHECK(config.pre_auth_timeout == 60s);
    CHECK(config.login_timeout == 3min);  // Dovecot's MASTER_LOGIN_TIMEOUT_SECS
    CHECK(config.autologout == 30min);    // RFC 3501 5.4
    CHECK(config.idle_timeout == 30min);
    CHECK(config.idle_poll_interval == 2s);
    CHECK(config.idle_keepalive == 2min);  // Dovecot's imap_idle_notify_interval
    CHECK(config.output_backlog_timeout == 60s);
    CHECK(config.failed_login_delay == 2s);
    CHECK(config.failed_login_delay_max == 60s);
    CHECK(config.failed_login_reset == 15min);
    REQUIRE(config.trusted_networks.size() == 2);
    CHECK(config.trusted_networks[0].to_string() == "127.0.0.0/8");
    CHECK(config.trusted_networks[1].to_string() == "::1/128");
    CHECK(config.log_level == LogLevel::Info);
    CHECK(config.log_format == imap::server::LogFormat::Text);
    CHECK(config.users.empty());
    CHECK(check_config(config).empty());
    CHECK(check_config(Config{}).empty());
}

// Every option, in the format before TOML (docs/configuration.md "The old
// format"), which is still read.
constexpr std::string_view kOldFormatEveryOption = R"(
[server]
data_dir = /var/lib/imapd
ephemeral = no

[listen]
imap = 0.0.0.0:143
imaps = 0.0.0.0:993
imaps = [::]:993

[tls]
cert = /etc/imapd/fullchain.pem
key = /etc/imapd/privkey.pem

[limits]
max_connections = 5000
max_connections_per_ip = 100
max_connections_per_user = 30
max_line_length = 16K
max_literal_size = 32 MiB
max_output_backlog = 16M
store_cache = 4M

[timeouts]
pre_auth = 30s
login = 90s
autologout = 2h
idle = 45min
idle_poll_interval = 500ms
idle_keepalive = 0s
output_backlog = 2min

[auth]
failed_login_delay = 500ms
failed_login_delay_max = 30s
failed_login_reset = 1h
trusted_networks = 127.0.0.0/8, ::1/128
trusted_networks = 192.168.1.0/24 fd00::/8

[log]
level = debug
format = json
)";

// The same in TOML: what the old format's lines become.
constexpr std::string_view kTomlEveryOption = R"(
[server]
data_dir = "/var/lib/imapd"
ephemeral = false

[listen]
imap = ["0.0.0.0:143"]
imaps = ["0.0.0.0:993", "[::]:993"]

[tls]
cert = "/etc/imapd/fullchain.pem"
key = "/etc/imapd/privkey.pem"

[limits]
max_connections = 5000
max_connections_per_ip = 100
max_connections_per_user = 30
max_line_length = "16K"
max_literal_size = "32 MiB"
max_output_backlog = 16_777_216
store_cache = "4M"

[timeouts]
pre_auth = "30s"
login = "90s"
autologout = "2h"
idle = "45min"
idle_poll_interval = "500ms"
idle_keepalive = "0s"
output_backlog = "2min"

[auth]
failed_login_delay = "500ms"
failed_login_delay_max = "30s"
failed_login_reset = "1h"
trusted_networks = ["127.0.0.0/8", "::1/128", "192.168.1.0/24", "fd00::/8"]

[log]
level = "debug"
format = "json"
)";

void check_every_option(const Config& config) {
    CHECK(config.data_dir == "/var/lib/imapd");
    CHECK_FALSE(config.ephemeral);
    REQUIRE(config.listeners.size() == 3);
    CHECK(config.listeners[0] == listener("0.0.0.0", 143, false, false));
    CHECK(config.listeners[1] == listener("0.0.0.0", 993, false, true));
    CHECK(config.listeners[2] == listener("::", 993, true, true));
    CHECK(config.tls_cert == "/etc/imapd/fullchain.pem");
    CHECK(config.tls_key == "/etc/imapd/privkey.pem");
    CHECK(config.max_connections == 5000);
    CHECK(config.max_connections_per_ip == 100);
    CHECK(config.max_connections_per_user == 30);
    CHECK(config.max_line_length == 16 * 1024);
    CHECK(config.max_literal_size == 32 * 1024 * 1024);
    CHECK(config.max_output_backlog == 16 * 1024 * 1024);
    CHECK(config.store_cache == 4 * 1024 * 1024);
    CHECK(config.output_backlog_timeout == 2min);
    CHECK(config.pre_auth_timeout == 30s);
    CHECK(config.login_timeout == 90s);
    CHECK(config.autologout == 2h);
    CHECK(config.idle_timeout == 45min);
    CHECK(config.idle_poll_interval == 500ms);
    CHECK(config.idle_keepalive == 0s);
    CHECK(config.failed_login_delay == 500ms);
    CHECK(config.failed_login_delay_max == 30s);
    CHECK(config.failed_login_reset == 1h);
    REQUIRE(config.trusted_networks.size() == 4);
    CHECK(config.trusted_networks[2].to_string() == "192.168.1.0/24");
    CHECK(config.trusted_networks[3].to_string() == "fd00::/8");
    CHECK(config.log_level == LogLevel::Debug);
    CHECK(config.log_format == imap::server::LogFormat::Json);
    CHECK(check_config(config).empty());
}

TEST_CASE("every option is read from its section, in TOML and in the old format") {
    const Config toml = parse_config(kTomlEveryOption, "imapd.conf");
    check_every_option(toml);
    CHECK_FALSE(toml.old_file_format);
    const Config old = parse_config(kOldFormatEveryOption, "imapd.conf");
    check_every_option(old);
    CHECK(old.old_file_format);
}

TEST_CASE("an old-format file converts to TOML with the same meaning, comments kept") {
    const std::string converted =
        imap::server::convert_old_config(kOldFormatEveryOption, "imapd.conf");
    const Config config = parse_config(converted, "imapd.conf");
    CHECK_FALSE(config.old_file_format);
    check_every_option(config);
    // Byte for byte on a small file: typed values, one array per repeated
    // key where it first appears, comments and blank lines where they were.
    CHECK(
        imap::server::convert_old_config("# top\n[listen]\nimap = 127.0.0.1:143  # plain\n"
                                         "imap = [::1]:143\n\n[server]\nephemeral = yes\n"
                                         "data_dir = /srv/\"mail\"\n[limits]\nmax_connections = 5\n"
                                         "max_literal_size = 1M\nmax_line_length = 8192\n"
                                         "[auth]\ntrusted_networks = 10.0.0.0/8, ::1/128\n"
                                         "[timeouts]\nidle = 45min\n",
                                         "f") ==
        "# top\n[listen]\nimap = [\"127.0.0.1:143\", \"[::1]:143\"] # plain\n\n[server]\n"
        "ephemeral = true\ndata_dir = \"/srv/\\\"mail\\\"\"\n[limits]\nmax_connections = 5\n"
        "max_literal_size = \"1M\"\nmax_line_length = 8192\n[auth]\n"
        "trusted_networks = [\"10.0.0.0/8\", \"::1/128\"]\n[timeouts]\nidle = \"45min\"\n");
    // A file that is TOML already, or an old one with an error, is refused.
    CHECK_THROWS_WITH(imap::server::convert_old_config("[server]\ndata_dir = \"/x\"\n", "f"),
                      Catch::StartsWith("f: is TOML already"));
    CHECK_THROWS_WITH(imap::server::convert_old_config("[server]\nthreads = many\n", "f"),
                      Catch::StartsWith("f:2: threads: expected a whole number"));
}

TEST_CASE("TOML: the forms the old format refused, and TOML's own errors with line and column") {
    // The example of the issue that moved the file to TOML.
    const Config config = parse_config("[listen]\nimap = [\"127.0.0.1:143\"]\n", "f");
    REQUIRE(config.listeners.size() == 1);
    CHECK(config.listeners[0] == listener("127.0.0.1", 143, false, false));
    // One value where an array may stand; an empty array trusts nothing.
    CHECK(parse_config("[listen]\nimaps = \"[::1]:993\"\n", "f").listeners.at(0) ==
          listener("::1", 993, true, true));
    CHECK(parse_config("[auth]\ntrusted_networks = []\n", "f").trusted_networks.empty());
    // Sizes as integers (bytes, TOML's 1_000 digit groups) or strings.
    CHECK(parse_config("[limits]\nmax_literal_size = 1_048_576\n", "f").max_literal_size ==
          1024 * 1024);
    struct Case {
        std::string_view text;
        std::string_view message;
    };
    const Case cases[] = {
        {"[server]\ndata_dir = \"/x\n", "imapd.conf:2:"},  // unterminated string: TOML's message
        {"[server]\nthreads = \"2\"\n",
         "imapd.conf:2:11: threads: expected a whole number, got a string"},
        {"[server]\ndata_dir = 5\n",
         "imapd.conf:2:12: data_dir: expected a string, got an integer (put the value in quotes)"},
        {"[server]\nephemeral = \"yes\"\n",
         "imapd.conf:2:13: ephemeral: expected true or false, got a string"},
        {"[server]\nthreads = [1]\n", "imapd.conf:2:11: threads: takes one value, not an array"},
        {"[listen]\nimap = [\"127.0.0.1:143\", \"nowhere\"]\n",
         "imapd.conf:2:26: imap: missing ':PORT'"},
        {"[timeouts]\nidle = 1.5\n",
         "imapd.conf:2:8: idle: expected a duration string such as \"60s\", got a decimal number"},
        {"[server.more]\nx = 1\n", "imapd.conf:1:1: unknown key 'more' in [server]"},
        {"[server]\ndata_dir = \"/a\"\ndata_dir = \"/b\"\n",
         "imapd.conf:3:"},  // TOML: redefinition
        {"threads = 2\n",
         "imapd.conf:1:11: 'threads' is outside any section; it belongs in [server]"},
        {"[limits]\nmax_literal_size = -1\n",
         "imapd.conf:2:20: max_literal_size: expected a size in bytes, got -1"},
    };
    for (const Case& c : cases) {
        INFO("text: " << c.text);
        CHECK_THAT(parse_error(c.text), Catch::StartsWith(std::string(c.message)));
    }
}

TEST_CASE("comments, blank lines, CRLF, a byte order mark and spacing are tolerated") {
    const Config config = parse_config(
        "\xEF\xBB\xBF# imapd.conf\r\n"
        "\r\n"
        "  [ server ]  # the main section\r\n"
        "\tdata_dir=/srv/mail#1   # '#' inside a value is kept\r\n"
        "   \t \r\n"
        "[log]\n"
        "level   =   WARN\n"
        "# level = debug",
        "imapd.conf");
    CHECK(config.data_dir == "/srv/mail#1");
    CHECK(config.log_level == LogLevel::Warning);
}

TEST_CASE("duration, size, count and boolean values") {
    auto duration = [](std::string_view value) {
        return parse_config("[auth]\nfailed_login_delay = " + std::string(value), "f")
            .failed_login_delay;
    };
    CHECK(duration("250ms") == 250ms);
    CHECK(duration("90s") == 90s);
    CHECK(duration("90 seconds") == 90s);
    CHECK(duration("2min") == 2min);
    CHECK(duration("2 Minutes") == 2min);
    CHECK(duration("1h") == 1h);
    CHECK(duration("3 hours") == 3h);

    auto literal = [](std::string_view value) {
        return parse_config("[limits]\nmax_literal_size = " + std::string(value), "f")
            .max_literal_size;
    };
    CHECK(literal("1024") == 1024);
    CHECK(literal("1024 B") == 1024);
    CHECK(literal("10k") == 10 * 1024);
    CHECK(literal("10 KiB") == 10 * 1024);
    CHECK(literal("64M") == imap::limits::kMaxLiteralSize);
    CHECK(literal("1m") == 1024 * 1024);

    for (std::string_view yes : {"true", "yes", "on", "1", "TRUE"}) {
        CHECK(parse_config("[server]\nephemeral = " + std::string(yes), "f").ephemeral);
    }
    for (std::string_view no : {"false", "no", "off", "0", "No"}) {
        CHECK_FALSE(parse_config("[server]\nephemeral = " + std::string(no), "f").ephemeral);
    }
}

TEST_CASE("listeners in the file replace the built-in ones") {
    SECTION("only imaps") {
        const Config config = parse_config("[listen]\nimaps = 0.0.0.0:993\n", "f");
        REQUIRE(config.listeners.size() == 1);
        CHECK(config.listeners[0] == listener("0.0.0.0", 993, false, true));
    }
    SECTION("IPv6 and IPv4, each kind, in file order") {
        const Config config = parse_config(
            "[listen]\nimap = [::1]:143\nimaps = [::]:993\nimap = 127.0.0.1:143\n", "f");
        REQUIRE(config.listeners.size() == 3);
        CHECK(config.listeners[0] == listener("::1", 143, true, false));
        CHECK(config.listeners[1] == listener("::", 993, true, true));
        CHECK(config.listeners[2] == listener("127.0.0.1", 143, false, false));
        CHECK(config.listeners[0].to_string() == "[::1]:143");
        CHECK(config.listeners[2].to_string() == "127.0.0.1:143");
    }
    SECTION("a listen section split in two still adds up") {
        const Config config = parse_config(
            "[listen]\nimap = 127.0.0.1:143\n[log]\nlevel=info\n[listen]\n"
            "imap = 127.0.0.1:144\n",
            "f");
        CHECK(config.listeners.size() == 2);
    }
}

TEST_CASE("listen addresses: IPv4, bracketed IPv6, canonical form, port range") {
    CHECK(parse_listen_address("10.1.2.3:0", false) == listener("10.1.2.3", 0, false, false));
    CHECK(parse_listen_address("1.2.3.4:65535", true) == listener("1.2.3.4", 65535, false, true));
    CHECK(parse_listen_address("[0:0::1]:143", false) == listener("::1", 143, true, false));
    CHECK(parse_listen_address("[2001:DB8::1]:993", true).to_string() == "[2001:db8::1]:993");
    CHECK(parse_listen_address("[::ffff:127.0.0.1]:143", false).address == "::ffff:127.0.0.1");
}

TEST_CASE("bad listen addresses are refused with the reason") {
    struct Case {
        std::string_view input;
        std::string_view message;
    };
    const Case cases[] = {
        {"", "expected ADDRESS:PORT"},
        {"127.0.0.1", "missing ':PORT'"},
        {"127.0.0.1:", "bad port ''"},
        {"127.0.0.1:65536", "bad port '65536'"},
        {"127.0.0.1:-1", "bad port '-1'"},
        {"127.0.0.1:14x", "bad port '14x'"},
        {"127.0.0.1:99999999999999999999999", "bad port"},
        {"localhost:143", "'localhost' is not an IPv4 address"},
        {"127.1:143", "'127.1' is not an IPv4 address"},
        {"256.0.0.1:143", "'256.0.0.1' is not an IPv4 address"},
        {":143", "'' is not an IPv4 address"},
        {"::1:143", "an IPv6 address goes in brackets"},
        {"[::1]", "missing ':PORT' after ']'"},
        {"[::1]143", "missing ':PORT' after ']'"},
        {"[::1:143", "missing ']'"},
        {"[127.0.0.1]:143", "'127.0.0.1' is not an IPv6 address"},
        {"[fe80::1%eth0]:143", "is not an IPv6 address"},
        {"[::1]:", "bad port ''"},
    };
    for (const Case& c : cases) {
        INFO("input: " << c.input);
        CHECK_THAT(listen_error(c.input), Catch::Contains(std::string(c.message)));
    }
}

TEST_CASE("trusted networks match IPv4, IPv6 and IPv4-mapped peers") {
    const Config config;
    CHECK(config.trusted_networks[0].contains("127.0.0.1"));
    CHECK(config.trusted_networks[0].contains("127.255.1.2"));
    CHECK_FALSE(config.trusted_networks[0].contains("128.0.0.1"));
    CHECK(config.trusted_networks[1].contains("::1"));
    CHECK_FALSE(config.trusted_networks[1].contains("::2"));
    CHECK_FALSE(config.trusted_networks[0].contains("not an address"));

    auto peer4 = [](const char* ip) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        inet_pton(AF_INET, ip, &address.sin_addr);
        return address;
    };
    auto peer6 = [](const char* ip) {
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        inet_pton(AF_INET6, ip, &address.sin6_addr);
        return address;
    };
    const sockaddr_in loopback4 = peer4("127.0.0.1");
    const sockaddr_in remote4 = peer4("203.0.113.7");
    const sockaddr_in6 loopback6 = peer6("::1");
    const sockaddr_in6 remote6 = peer6("2001:db8::7");
    // What a dual-stack [::] listener reports for an IPv4 client.
    const sockaddr_in6 mapped_loopback = peer6("::ffff:127.0.0.1");
    const sockaddr_in6 mapped_remote = peer6("::ffff:203.0.113.7");
    sockaddr unix_peer{};
    unix_peer.sa_family = AF_UNIX;

    CHECK(config.is_trusted(reinterpret_cast<const sockaddr*>(&loopback4)));
    CHECK_FALSE(config.is_trusted(reinterpret_cast<const sockaddr*>(&remote4)));
    CHECK(config.is_trusted(reinterpret_cast<const sockaddr*>(&loopback6)));
    CHECK_FALSE(config.is_trusted(reinterpret_cast<const sockaddr*>(&remote6)));
    CHECK(config.is_trusted(reinterpret_cast<const sockaddr*>(&mapped_loopback)));
    CHECK_FALSE(config.is_trusted(reinterpret_cast<const sockaddr*>(&mapped_remote)));
    CHECK_FALSE(config.is_trusted(&unix_peer));
    CHECK_FALSE(config.is_trusted(nullptr));
}

TEST_CASE("network prefixes at and off byte boundaries") {
    CHECK(parse_network("10.0.0.0/8").contains("10.200.3.4"));
    CHECK(parse_network("192.168.4.0/22").contains("192.168.7.255"));
    CHECK_FALSE(parse_network("192.168.4.0/22").contains("192.168.8.0"));
    CHECK(parse_network("0.0.0.0/0").contains("8.8.8.8"));
    CHECK_FALSE(parse_network("0.0.0.0/0").contains("::1"));
    CHECK(parse_network("::/0").contains("2001:db8::1"));
    CHECK(parse_network("fd00::/8").contains("fdab::1"));
    CHECK_FALSE(parse_network("fd00::/8").contains("fe80::1"));
    CHECK(parse_network("2001:db8::/33").contains("2001:db8:7fff::1"));
    CHECK_FALSE(parse_network("2001:db8::/33").contains("2001:db8:8000::1"));
    CHECK(parse_network("192.0.2.7").to_string() == "192.0.2.7/32");
    CHECK(parse_network("2001:db8::7").to_string() == "2001:db8::7/128");
    CHECK(parse_network("192.0.2.7").contains("192.0.2.7"));
    CHECK_FALSE(parse_network("192.0.2.7").contains("192.0.2.8"));
}

TEST_CASE("bad networks are refused with the reason") {
    CHECK_THAT(network_error("10.0.0.1/8"),
               Catch::Contains("bits set after the prefix; did you mean 10.0.0.0/8?"));
    CHECK_THAT(network_error("fd00::1/8"), Catch::Contains("did you mean fd00::/8?"));
    CHECK_THAT(network_error("10.0.0.0/33"), Catch::Contains("bad prefix length '33'"));
    CHECK_THAT(network_error("::/129"), Catch::Contains("expected 0 to 128"));
    CHECK_THAT(network_error("10.0.0.0/"), Catch::Contains("bad prefix length ''"));
    CHECK_THAT(network_error("10.0.0.0/x"), Catch::Contains("bad prefix length 'x'"));
    CHECK_THAT(network_error("localhost"), Catch::Contains("is not a network"));
    CHECK_THAT(network_error("10.0.0/8"), Catch::Contains("is not a network"));
}

TEST_CASE("an empty trusted_networks trusts nothing") {
    const Config config = parse_config("[auth]\ntrusted_networks =\n", "f");
    CHECK(config.trusted_networks.empty());
    sockaddr_in loopback{};
    loopback.sin_family = AF_INET;
    loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_FALSE(config.is_trusted(reinterpret_cast<const sockaddr*>(&loopback)));
}

TEST_CASE("file structure errors name the file and line") {
    struct Case {
        std::string_view text;
        std::string_view message;
    };
    const Case cases[] = {
        {"[server]\n[nope]\n", "imapd.conf:2:1: unknown section [nope]"},
        {"[server\n", "imapd.conf:1: expected ']' at the end of the section header"},
        {"data_dir = /x\n",
         "imapd.conf:1: 'data_dir' is outside any section; it belongs in [server]"},
        {"frob = 1\n", "imapd.conf:1:8: 'frob' is outside any section"},
        {"[limits]\ndata_dir = /x\n",
         "imapd.conf:2: unknown key 'data_dir' in [limits]; it belongs in [server]"},
        {"# c\n\n[limits]\nmax_conections = 5\n",
         "imapd.conf:4:18: unknown key 'max_conections' in [limits]"},
        {"[server]\ndata_dir /x\n", "imapd.conf:2: expected 'key = value' or '[section]'"},
        {"[server]\n= /x\n", "imapd.conf:2: bad key ''"},
        {"[server]\nData_Dir = /x\n", "imapd.conf:2: bad key 'Data_Dir'"},
        {"[server]\ndata_dir = /a\n\ndata_dir = /b\n",
         "imapd.conf:4: 'data_dir' is already set on line 2"},
        {"[server]\ndata_dir = /a\x01\n", "imapd.conf:2: control character"},
        {std::string_view("[server]\ndata_dir = /a\0b\n", 25), "imapd.conf:2: control character"},
        {"[log]\r\nlevel = loud\r\n",
         "imapd.conf:2: level: expected error, warning, info or debug, got 'loud'"},
        {"[log]\nformat = xml\n", "imapd.conf:2: format: expected text or json, got 'xml'"},
    };
    for (const Case& c : cases) {
        INFO("text: " << c.text);
        CHECK_THAT(parse_error(c.text), Catch::StartsWith(std::string(c.message)));
    }
}

TEST_CASE("bad values name the file, line and key") {
    struct Case {
        std::string_view text;
        std::string_view message;
    };
    const Case cases[] = {
        {"[server]\ndata_dir =\n", "imapd.conf:2: data_dir: expected a path"},
        {"[server]\nephemeral = maybe\n", "imapd.conf:2: ephemeral: expected true or false"},
        {"[listen]\nimap = localhost:143\n", "imapd.conf:2: imap: 'localhost' is not an IPv4"},
        {"[listen]\nimaps = [::1]\n", "imapd.conf:2: imaps: missing ':PORT'"},
        {"[limits]\nmax_connections = lots\n",
         "imapd.conf:2: max_connections: expected a whole number, got 'lots'"},
        {"[limits]\nmax_connections = -5\n",
         "imapd.conf:2:19: max_connections: expected a whole number, got -5"},
        {"[limits]\nmax_connections = 0\n",
         "imapd.conf:2:19: max_connections: must be between 1 and 1000000, got 0"},
        {"[limits]\nmax_connections_per_ip = 99999999999999999999999\n",
         "imapd.conf:2: max_connections_per_ip: expected a whole number"},
        {"[limits]\nmax_connections_per_user = 0\n",
         "imapd.conf:2:28: max_connections_per_user: must be between"},
        {"[limits]\nmax_line_length = 1M\n",
         "imapd.conf:2: max_line_length: must be at most 65536 (64 KiB) (the protocol's limit"},
        {"[limits]\nmax_line_length = 4096\n",
         "imapd.conf:2:19: max_line_length: must be at least 8192 (8 KiB)"},
        {"[limits]\nmax_literal_size = 65M\n",
         "imapd.conf:2: max_literal_size: must be at most 67108864 (64 MiB)"},
        {"[limits]\nmax_literal_size = 99999999999999G\n", "max_literal_size: must be at most"},
        {"[limits]\nmax_literal_size = 10 MB\n",
         "imapd.conf:2: max_literal_size: expected a size in bytes"},
        {"[limits]\nmax_literal_size = M\n", "max_literal_size: expected a size in bytes"},
        {"[timeouts]\npre_auth = 60\n",
         "imapd.conf:2:12: pre_auth: needs a unit (ms, s, min or h) in a string, e.g. \"60s\""},
        {"[timeouts]\npre_auth = 60 fortnights\n", "pre_auth: unknown unit 'fortnights'"},
        {"[timeouts]\npre_auth = soon\n", "pre_auth: expected a duration such as 60s"},
        {"[timeouts]\npre_auth = 0s\n", "pre_auth: must be at least 1s, got 0s"},
        {"[timeouts]\nlogin = 500ms\n", "login: must be at least 1s, got 500ms"},
        {"[timeouts]\noutput_backlog = 50ms\n", "output_backlog: must be at least 100ms"},
        {"[limits]\nmax_output_backlog = 1K\n",
         "max_output_backlog: must be at least 65536 (64 KiB)"},
        {"[timeouts]\nautologout = 999999999999h\n", "autologout: must be at most 168h"},
        {"[timeouts]\nidle = 8 days\n", "idle: unknown unit 'days'"},
        {"[timeouts]\nidle_poll_interval = 50ms\n",
         "idle_poll_interval: must be at least 100ms, got 50ms"},
        {"[timeouts]\nidle_keepalive = 2\n", "idle_keepalive: needs a unit"},
        {"[auth]\nfailed_login_delay = 1.5s\n", "failed_login_delay: unknown unit '.5s'"},
        {"[auth]\nfailed_login_delay_max = x\n", "failed_login_delay_max: expected a duration"},
        {"[auth]\nfailed_login_reset = 0ms\n", "failed_login_reset: must be at least 1s"},
        {"[auth]\ntrusted_networks = 10.0.0.0/8, 10.0.0.1/8\n",
         "imapd.conf:2: trusted_networks: '10.0.0.1/8' has bits set"},
    };
    for (const Case& c : cases) {
        INFO("text: " << c.text);
        CHECK_THAT(parse_error(c.text), Catch::Contains(std::string(c.message)));
    }
}

TEST_CASE("zero failed-login delay is allowed, an empty tls cert means self-signed") {
    const Config config =
        parse_config("[auth]\nfailed_login_delay = 0s\n[tls]\ncert =\nkey =\n", "f");
    CHECK(config.failed_login_delay == 0ms);
    CHECK(config.tls_cert.empty());
    CHECK(check_config(config).empty());
}

TEST_CASE("serve flags parse in both forms") {
    const std::vector<std::string_view> args = {"--config",
                                                "/etc/imapd/imapd.conf",
                                                "--data-dir=/tmp/d",
                                                "--listen",
                                                "127.0.0.1:2143",
                                                "--listen-tls=[::1]:2993",
                                                "--tls-cert",
                                                "c.pem",
                                                "--tls-key=k.pem",
                                                "--ephemeral",
                                                "--user",
                                                "alice:pa:ss",
                                                "--user=bob:secret",
                                                "--log-level",
                                                "debug"};
    const auto flags = parse_serve_flags(args);
    CHECK(flags.config_file == "/etc/imapd/imapd.conf");
    CHECK(flags.data_dir == "/tmp/d");
    REQUIRE(flags.listeners.size() == 2);
    CHECK(flags.listeners[0] == listener("127.0.0.1", 2143, false, false));
    CHECK(flags.listeners[1] == listener("::1", 2993, true, true));
    CHECK(flags.tls_cert == "c.pem");
    CHECK(flags.tls_key == "k.pem");
    CHECK(flags.ephemeral);
    REQUIRE(flags.users.size() == 2);
    CHECK(flags.users[0].name == "alice");
    CHECK(flags.users[0].password.reveal() == "pa:ss");  // split at the first ':'
    CHECK(flags.users[1].name == "bob");
    CHECK(flags.users[1].password.reveal() == "secret");
    CHECK(flags.log_level == LogLevel::Debug);
    CHECK(parse_serve_flags({}).listeners.empty());
}

TEST_CASE("serve flag errors name the flag") {
    struct Case {
        std::vector<std::string_view> args;
        std::string_view message;
    };
    const std::vector<Case> cases = {
        {{"--frobnicate"}, "unknown option '--frobnicate'"},
        {{"--frobnicate=1"}, "unknown option '--frobnicate'"},
        {{"-d", "x"}, "unexpected argument '-d'"},
        {{"serve"}, "unexpected argument 'serve'"},
        {{"--data-dir"}, "--data-dir needs a value (DIR)"},
        {{"--data-dir", "--ephemeral"}, "--data-dir needs a value (DIR)"},
        {{"--data-dir="}, "--data-dir: empty value (expected DIR)"},
        {{"--data-dir", "a", "--data-dir", "b"}, "--data-dir: given more than once"},
        {{"--config", "a", "--config=b"}, "--config: given more than once"},
        {{"--tls-cert", "a", "--tls-cert", "b"}, "--tls-cert: given more than once"},
        {{"--tls-key", "a", "--tls-key", "b"}, "--tls-key: given more than once"},
        {{"--log-level", "info", "--log-level", "debug"}, "--log-level: given more than once"},
        {{"--ephemeral=yes"}, "--ephemeral takes no value"},
        {{"--listen", "localhost:143"}, "--listen: 'localhost' is not an IPv4 address"},
        {{"--listen-tls", "::1:993"}, "--listen-tls: an IPv6 address goes in brackets"},
        {{"--listen"}, "--listen needs a value (ADDR:PORT)"},
        {{"--user", "alice"}, "--user: expected NAME:PASSWORD"},
        {{"--user", ":secret"}, "--user: the user name before ':' is empty"},
        {{"--user", "alice:"}, "--user: the password after 'alice:' is empty"},
        {{"--log-level", "loud"},
         "--log-level: expected error, warning, info or debug, got 'loud'"},
    };
    for (const Case& c : cases) {
        INFO("first argument: " << c.args.front());
        CHECK_THAT(flags_error(c.args), Catch::Contains(std::string(c.message)));
    }
}

TEST_CASE("a --user error never repeats the password") {
    CHECK(flags_error({"--user", "hunter2"}).find("hunter2") == std::string::npos);
}

TEST_CASE("flags override the file, and any listener flag replaces every file listener") {
    Config config = parse_config(R"(
[server]
data_dir = /var/lib/imapd
[listen]
imap = 0.0.0.0:143
imaps = 0.0.0.0:993
[tls]
cert = /etc/file-cert.pem
key = /etc/file-key.pem
[log]
level = error
)",
                                 "imapd.conf");
    SECTION("no flags: the file stands") {
        apply_command_line(config, std::vector<std::string_view>{});
        CHECK(config.data_dir == "/var/lib/imapd");
        CHECK(config.listeners.size() == 2);
        CHECK(config.log_level == LogLevel::Error);
    }
    SECTION("one --listen replaces both the file's imap and imaps") {
        apply_command_line(config, std::vector<std::string_view>{"--listen", "[::1]:2143"});
        REQUIRE(config.listeners.size() == 1);
        CHECK(config.listeners[0] == listener("::1", 2143, true, false));
    }
    SECTION("repeated --listen and --listen-tls, in order") {
        apply_command_line(
            config, std::vector<std::string_view>{"--listen-tls", "127.0.0.1:2993", "--listen",
                                                  "127.0.0.1:2143", "--listen", "[::1]:2143"});
        REQUIRE(config.listeners.size() == 3);
        CHECK(config.listeners[0] == listener("127.0.0.1", 2993, false, true));
        CHECK(config.listeners[1] == listener("127.0.0.1", 2143, false, false));
        CHECK(config.listeners[2] == listener("::1", 2143, true, false));
    }
    SECTION("data dir, TLS files, log level, ephemeral, users") {
        apply_command_line(config, std::vector<std::string_view>{
                                       "--data-dir", "/tmp/other", "--tls-cert", "/tmp/c.pem",
                                       "--log-level", "debug", "--ephemeral", "--user", "a:b"});
        CHECK(config.data_dir == "/tmp/other");
        CHECK(config.tls_cert == "/tmp/c.pem");
        CHECK(config.tls_key == "/etc/file-key.pem");  // not given: the file's stays
        CHECK(config.log_level == LogLevel::Debug);
        CHECK(config.ephemeral);
        REQUIRE(config.users.size() == 1);
        CHECK(config.users[0].name == "a");
        CHECK(config.listeners.size() == 2);  // no listener flag: the file's stay
    }
    SECTION("--config is accepted and ignored when applying") {
        apply_command_line(config, std::vector<std::string_view>{"--config", "/nonexistent"});
        CHECK(config.data_dir == "/var/lib/imapd");
    }
}

TEST_CASE("check_config reports every cross-option problem") {
    SECTION("certificate without key and key without certificate") {
        Config config;
        config.tls_cert = "/c.pem";
        CHECK(
            has(check_config(config), "[tls] cert (--tls-cert) is set but key (--tls-key) is not"));
        config.tls_cert.clear();
        config.tls_key = "/k.pem";
        CHECK(
            has(check_config(config), "[tls] key (--tls-key) is set but cert (--tls-cert) is not"));
    }
    SECTION("no listeners, duplicate listeners, port 0 twice is fine") {
        Config config;
        config.listeners.clear();
        CHECK(!has(check_config(config), "no listeners"));  // the built-in LMTP ones
        config.lmtp_listeners.clear();
        CHECK(has(check_config(config), "no listeners"));
        config.listeners = {listener("127.0.0.1", 143, false, false),
                            listener("127.0.0.1", 143, false, true),
                            listener("::1", 143, true, false)};
        const auto problems = check_config(config);
        CHECK(problems.size() == 1);
        CHECK(has(problems, "listener 127.0.0.1:143 is given twice"));
        config.listeners = {listener("127.0.0.1", 0, false, false),
                            listener("127.0.0.1", 0, false, true)};
        CHECK(check_config(config).empty());
    }
    SECTION("per-IP and per-user limits above the total") {
        Config config;
        config.max_connections = 10;
        config.max_connections_per_user = 10;
        config.max_connections_per_ip = 10;
        CHECK(check_config(config).empty());
        config.max_connections_per_ip = 11;
        config.max_connections_per_user = 12;
        const auto problems = check_config(config);
        CHECK(has(problems, "max_connections_per_ip (11) exceeds max_connections (10)"));
        CHECK(has(problems, "max_connections_per_user (12) exceeds max_connections (10)"));
    }
    SECTION("failed-login delay above its maximum") {
        Config config;
        config.failed_login_delay = 2min;
        CHECK(has(check_config(config),
                  "failed_login_delay (2min) exceeds failed_login_delay_max (1min)"));
    }
    SECTION("timeouts below 30 minutes only for ephemeral test servers") {
        Config config;
        config.autologout = 29min;
        config.idle_timeout = 10s;
        auto problems = check_config(config);
        CHECK(has(problems, "[timeouts] autologout (29min) is below the 30min RFC 3501 5.4"));
        CHECK(has(problems, "[timeouts] idle (10s) is below 30min"));
        config.ephemeral = true;
        CHECK(check_config(config).empty());
    }
    SECTION("empty data dir unless ephemeral") {
        Config config;
        config.data_dir.clear();
        CHECK(has(check_config(config), "[server] data_dir is empty"));
        config.ephemeral = true;
        CHECK(check_config(config).empty());
    }
    SECTION("a user given twice") {
        Config config;
        apply_command_line(config, std::vector<std::string_view>{"--user", "a:1", "--user", "a:2"});
        CHECK(has(check_config(config), "--user a is given twice"));
    }
}

TEST_CASE("configure_serve: no --config gives the embedded defaults") {
    const Config config = configure_serve({});
    CHECK(config.data_dir == "./imapd-data");
    CHECK(config.listeners.size() == 4);
}

TEST_CASE("[listen] pop3 and pop3s, --listen-pop3 and --listen-pop3s (docs/pop3.md)") {
    SECTION("in the file: off unless named, like every listener the file names") {
        const Config config = parse_config(
            "[listen]\nimap = [\"127.0.0.1:143\"]\npop3 = [\"127.0.0.1:110\"]\n"
            "pop3s = [\"0.0.0.0:995\", \"[::]:995\"]\n",
            "f");
        REQUIRE(config.listeners.size() == 4);
        CHECK(config.listeners[1] == pop3_listener("127.0.0.1", 110, false));
        CHECK(config.listeners[2] == pop3_listener("0.0.0.0", 995, true));
        CHECK(config.listeners[3].protocol == ListenProtocol::Pop3);
        CHECK(config.listeners[3].ipv6);
        CHECK(listener_name(config.listeners[0]) == "imap");
        CHECK(listener_name(config.listeners[1]) == "pop3");
        CHECK(listener_name(config.listeners[2]) == "pop3s");
        CHECK(check_config(config).empty());
        CHECK(parse_config("[listen]\nimap = 127.0.0.1:143\n", "f").listeners.size() == 1);
    }
    SECTION("on the command line") {
        const Config config = configure_serve(std::vector<std::string_view>{
            "--listen-pop3", "127.0.0.1:0", "--listen-pop3s", "127.0.0.1:0"});
        REQUIRE(config.listeners.size() == 2);
        CHECK(config.listeners[0] == pop3_listener("127.0.0.1", 0, false));
        CHECK(config.listeners[1] == pop3_listener("127.0.0.1", 0, true));
    }
    SECTION("one port for IMAP and POP3 is a clash") {
        const Config config =
            parse_config("[listen]\nimap = [\"127.0.0.1:143\"]\npop3 = [\"127.0.0.1:143\"]\n", "f");
        CHECK(check_config(config) ==
              std::vector<std::string>{"listener 127.0.0.1:143 is given twice"});
    }
}

TEST_CASE("configure_serve reads the file, applies the flags and checks the result") {
    TempFile file("[server]\ndata_dir = /from/file\n[listen]\nimaps = 0.0.0.0:993\n");
    const std::string path = file.path.string();
    const Config config = configure_serve(std::vector<std::string_view>{
        "--config", path, "--listen", "127.0.0.1:2143", "--log-level", "warning"});
    CHECK(config.data_dir == "/from/file");
    REQUIRE(config.listeners.size() == 1);
    CHECK(config.listeners[0] == listener("127.0.0.1", 2143, false, false));
    CHECK(config.log_level == LogLevel::Warning);

    TempFile broken("[server]\ndata_dir = /x\n[tls]\ncert = /c.pem\n[timeouts]\nidle = 1min\n");
    const std::string broken_path = broken.path.string();
    try {
        configure_serve(std::vector<std::string_view>{"--config", broken_path});
        FAIL("expected ConfigError");
    } catch (const ConfigError& error) {
        const std::string message = error.what();
        CHECK_THAT(message, Catch::Contains("[tls] cert (--tls-cert) is set but key"));
        CHECK_THAT(message, Catch::Contains("\n[timeouts] idle (1min)"));
    }
    // The same file passes once the command line completes it.
    CHECK_NOTHROW(configure_serve(std::vector<std::string_view>{
        "--config", broken_path, "--tls-key", "/k.pem", "--ephemeral"}));

    TempFile bad_line("[server]\n\ndata_dir = /x\nfrob = 1\n");
    const std::string bad_path = bad_line.path.string();
    CHECK_THROWS_WITH(configure_serve(std::vector<std::string_view>{"--config", bad_path}),
                      Catch::StartsWith(bad_path + ":4: unknown key 'frob' in [server]"));
}

TEST_CASE("a config file that cannot be read is an error naming it") {
    CHECK_THROWS_WITH(imap::server::load_config_file("/nonexistent/imapd.conf"),
                      Catch::StartsWith("/nonexistent/imapd.conf: cannot open:"));
    TempFile huge(std::string(1024 * 1024 + 1, '#'));
    CHECK_THROWS_WITH(imap::server::load_config_file(huge.path),
                      Catch::Contains("larger than 1048576 (1 MiB)"));
}

TEST_CASE("the shipped example configuration parses and passes every check") {
    // ctest sets IMAPD_TEST_DATA (tests/data); run by hand, go from this file.
    const char* data = std::getenv("IMAPD_TEST_DATA");
    const std::filesystem::path root =
        data ? std::filesystem::path(data).parent_path().parent_path()
             : std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
    const std::filesystem::path example = root / "examples" / "imapd.conf";
    const Config config = imap::server::load_config_file(example);
    CHECK(check_config(config).empty());
    CHECK(config.data_dir == "/var/lib/imapd");
    CHECK_FALSE(config.old_file_format);
    // Every option it shows commented out is valid TOML as written.
    std::string text = imap::server::read_config_file(example);
    std::string uncommented;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        if (line.size() > 1 && line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') line.erase(0, 1);
        uncommented += line + "\n";
        start = end + 1;
    }
    REQUIRE(uncommented.find("\nidle = \"30min\"\n") != std::string::npos);
    const Config all = parse_config(uncommented, example.string());
    CHECK_FALSE(all.old_file_format);
    CHECK(check_config(all).empty());
}

TEST_CASE("threads and workers ([server]): file, flags, defaults and bounds") {
    // docs/configuration.md: 0 means one loop per core and 4 workers per loop.
    const Config defaults;
    CHECK(defaults.threads == 0);
    CHECK(defaults.workers == 0);
    CHECK(defaults.io_threads() >= 1);
    CHECK(defaults.worker_threads() == 4 * defaults.io_threads());

    const Config file = parse_config("[server]\nthreads = 3\nworkers = 10\n", "f");
    CHECK(file.io_threads() == 3);
    CHECK(file.worker_threads() == 10);
    Config only_threads = parse_config("[server]\nthreads = 2\n", "f");
    CHECK(only_threads.worker_threads() == 8);

    Config flagged = file;
    apply_command_line(flagged, std::vector<std::string_view>{"--threads", "1", "--workers=2"});
    CHECK(flagged.io_threads() == 1);
    CHECK(flagged.worker_threads() == 2);

    CHECK_THAT(parse_error("[server]\nthreads = 257\n"),
               Catch::Contains("must be between 0 and 256, got 257"));
    CHECK_THAT(parse_error("[server]\nworkers = many\n"),
               Catch::Contains("expected a whole number, got 'many'"));
    CHECK_THAT(flags_error({"--threads", "1", "--threads", "2"}),
               Catch::Contains("--threads: given more than once"));
    CHECK_THAT(flags_error({"--workers", "2000"}),
               Catch::Contains("--workers: must be between 0 and 1024, got 2000"));
}

// docs/lmtp.md "Configuration".
TEST_CASE("LMTP listeners: built-in defaults, file, flags, [lmtp] options") {
    SECTION("the embedded defaults: a socket in the data directory and 127.0.0.1:1024") {
        const Config config = configure_serve({});
        REQUIRE(config.lmtp_listeners.size() == 2);
        CHECK(config.lmtp_listeners[0].to_string() == "unix:lmtp.sock");
        CHECK(config.lmtp_listeners[1].to_string() == "127.0.0.1:1024");
        CHECK(config.lmtp_socket_mode == 0660);
        CHECK(config.lmtp_domains.empty());
    }
    SECTION("a file naming only IMAP listeners has no LMTP (off by default)") {
        const Config config = parse_config("[listen]\nimap = 127.0.0.1:143\n", "f");
        CHECK(config.lmtp_listeners.empty());
    }
    SECTION("a file naming only LMTP has no IMAP listener") {
        const Config config = parse_config(
            "[listen]\nlmtp = unix:/run/imapd/lmtp.sock\nlmtp = [::1]:24\n"
            "[lmtp]\nsocket_mode = 0666\nsocket_group = postfix\n"
            "domains = Example.org, example.net\n",
            "f");
        CHECK(config.listeners.empty());
        REQUIRE(config.lmtp_listeners.size() == 2);
        CHECK(config.lmtp_listeners[0].unix_path == "/run/imapd/lmtp.sock");
        CHECK(config.lmtp_listeners[1].to_string() == "[::1]:24");
        CHECK(config.lmtp_socket_mode == 0666);
        CHECK(config.lmtp_socket_group == "postfix");
        CHECK(config.lmtp_domains == std::vector<std::string>{"example.org", "example.net"});
        CHECK(check_config(config).empty());
    }
    SECTION("bad values name the key") {
        CHECK_THROWS_WITH(parse_config("[lmtp]\nsocket_mode = 0999\n", "f"),
                          Catch::Contains("socket_mode") && Catch::Contains("octal"));
        CHECK_THROWS_WITH(parse_config("[lmtp]\nsocket_mode = \"1777\"\n", "f"),
                          Catch::Contains("more than 0777"));
        // TOML: a string of octal digits; an integer (whose 0o660 would be 432) is refused.
        CHECK_THROWS_WITH(
            parse_config("[lmtp]\nsocket_mode = 660\n", "f"),
            Catch::Contains("f:2:15: socket_mode: expected a string, got an integer"));
        CHECK(parse_config("[lmtp]\nsocket_mode = \"0640\"\n", "f").lmtp_socket_mode == 0640);
        CHECK_THROWS_WITH(parse_config("[listen]\nlmtp = unix:\n", "f"),
                          Catch::Contains("socket path"));
        CHECK_THROWS_WITH(parse_config("[listen]\nlmtp = localhost:24\n", "f"),
                          Catch::Contains("not an IPv4 address"));
    }
    SECTION("--listen-lmtp, like every listener flag, replaces all the file's listeners") {
        Config config = parse_config("[listen]\nimap = 127.0.0.1:143\n", "f");
        const std::string_view args[] = {"--listen-lmtp", "unix:/tmp/x.sock", "--listen-lmtp",
                                         "127.0.0.1:0"};
        apply_command_line(config, args);
        CHECK(config.listeners.empty());
        REQUIRE(config.lmtp_listeners.size() == 2);
        CHECK(config.lmtp_listeners[0].unix_path == "/tmp/x.sock");
    }
    SECTION("an LMTP port that an IMAP listener has is refused") {
        Config config;
        config.lmtp_listeners = {imap::server::parse_lmtp_listen_address("127.0.0.1:1143")};
        CHECK(has(check_config(config), "listener 127.0.0.1:1143 is given twice"));
    }
}
