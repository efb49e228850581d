// `imapd who` and `imapd kick USER` (docs/cli.md, docs/operations.md "Who is
// connected, and kick"): one request on the running server's control socket
// (server/net/control_socket.h), its JSON answer shown as a table or as is.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "server/cli/cli.h"
#include "server/cli/cli_common.h"

namespace imap::server {
namespace {

namespace fs = std::filesystem;

// How long the CLI waits for the server's answer (the server answers within
// its own 5 s or closes).
constexpr int kAnswerTimeoutSeconds = 10;

// The control socket the configuration names; nullopt when it is off.
std::optional<fs::path> control_socket_of(const Config& config) {
    if (config.control_socket.empty()) return std::nullopt;
    if (config.control_socket.is_absolute()) return config.control_socket;
    return config.data_dir / config.control_socket;
}

class ServerNotRunning : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Sends `request` and returns the whole answer. Throws ServerNotRunning when
// nothing listens at `path`, std::runtime_error on other failures.
std::string ask(const fs::path& path, const std::string& request) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.native().size() >= sizeof address.sun_path) {
        throw std::runtime_error("control socket path too long: " + path.string());
    }
    std::memcpy(address.sun_path, path.c_str(), path.native().size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    timeval timeout{kAnswerTimeoutSeconds, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        if (error == ENOENT || error == ECONNREFUSED) {
            throw ServerNotRunning("no server is running (nothing listens at " + path.string() +
                                   ")");
        }
        throw std::runtime_error("cannot connect to " + path.string() + ": " +
                                 std::strerror(error));
    }
    std::string_view left = request;
    while (!left.empty()) {
        const ssize_t n = ::send(fd, left.data(), left.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
        left.remove_prefix(static_cast<std::size_t>(n));
    }
    std::string answer;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error(std::string("no answer: ") + std::strerror(errno));
        if (n == 0) break;
        answer.append(buffer, static_cast<std::size_t>(n));
    }
    return answer;
}

// The answer parsed, or an error for one the server refused or cut short.
nlohmann::json parse_answer(const std::string& answer) {
    nlohmann::json parsed = nlohmann::json::parse(answer, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        throw std::runtime_error("the server's answer is not what this imapd expects");
    }
    if (parsed.contains("error")) {
        throw std::runtime_error("the server refused: " + parsed["error"].get<std::string>());
    }
    return parsed;
}

// "45s", "12m05s", "3h02m".
std::string duration_text(std::int64_t seconds) {
    char text[32];
    if (seconds < 60) {
        std::snprintf(text, sizeof text, "%llds", static_cast<long long>(seconds));
    } else if (seconds < 3600) {
        std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(seconds / 60),
                      static_cast<long long>(seconds % 60));
    } else {
        std::snprintf(text, sizeof text, "%lldh%02lldm", static_cast<long long>(seconds / 3600),
                      static_cast<long long>(seconds / 60 % 60));
    }
    return text;
}

void print_table(const nlohmann::json& connections, std::ostream& out) {
    const std::vector<std::string> head = {"USER",  "LISTENER", "PEER",     "TLS",
                                           "STATE", "IDLE",     "CONNECTED"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : connections) {
        const std::string user = c.value("user", "");
        rows.push_back({user.empty() ? "-" : user, c.value("listener", ""), c.value("peer", ""),
                        c.value("tls", false) ? "yes" : "no", c.value("state", ""),
                        c.value("idling", false) ? "yes" : "no",
                        duration_text(c.value("seconds", std::int64_t{0}))});
    }
    std::vector<std::size_t> width(head.size());
    for (std::size_t i = 0; i < head.size(); ++i) {
        width[i] = head[i].size();
        for (const auto& row : rows)
            width[i] = std::max(width[i], row[i].size());
    }
    auto print_row = [&](const std::vector<std::string>& row) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
        }
        out << line << "\n";
    };
    print_row(head);
    for (const auto& row : rows)
        print_row(row);
}

struct Arguments {
    cli::DataDirFlags data_dir;
    bool json = false;
    std::vector<std::string_view> positional;
};

Arguments parse(std::span<const std::string_view> args) {
    Arguments parsed;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (parsed.data_dir.parse(args, i)) continue;
        if (args[i] == "--json") {
            parsed.json = true;
        } else if (args[i].starts_with("-")) {
            throw ConfigError("unknown option " + std::string(args[i]));
        } else {
            parsed.positional.push_back(args[i]);
        }
    }
    return parsed;
}

// The control socket of the configuration `parsed` names, or the exit code
// and message for a server without one.
std::optional<fs::path> socket_or_complain(const Arguments& parsed, std::string_view command,
                                           std::ostream& err) {
    const std::optional<fs::path> path = control_socket_of(parsed.data_dir.config());
    if (!path) {
        err << "imapd " << command << ": [server] control_socket is off in this configuration\n";
    }
    return path;
}

int who_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    const Arguments parsed = parse(args);
    if (!parsed.positional.empty()) {
        err << "usage: imapd who [--json] [--data-dir DIR | --config FILE]\n";
        return kExitUsage;
    }
    const std::optional<fs::path> path = socket_or_complain(parsed, "who", err);
    if (!path) return kExitUnavailable;
    try {
        const std::string answer = ask(*path, "who\n");
        const nlohmann::json parsed_answer = parse_answer(answer);
        if (parsed.json) {
            out << answer;
        } else {
            print_table(parsed_answer.value("connections", nlohmann::json::array()), out);
        }
    } catch (const ServerNotRunning& error) {
        err << "imapd who: " << error.what() << "\n";
        return kExitUnavailable;
    }
    return kExitOk;
}

int kick_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    const Arguments parsed = parse(args);
    if (parsed.positional.size() != 1 || parsed.json) {
        err << "usage: imapd kick USER [--data-dir DIR | --config FILE]\n";
        return kExitUsage;
    }
    const std::string user(parsed.positional.front());
    if (user.find_first_of(" \t\r\n") != std::string::npos) {
        err << "imapd kick: a user name has no white space\n";
        return kExitUsage;
    }
    const std::optional<fs::path> path = socket_or_complain(parsed, "kick", err);
    if (!path) return kExitUnavailable;
    try {
        const nlohmann::json answer = parse_answer(ask(*path, "kick " + user + "\n"));
        const std::size_t kicked = answer.value("kicked", std::size_t{0});
        out << "imapd: ended " << kicked << (kicked == 1 ? " connection" : " connections") << " of "
            << store::AccountStore::canonical_user_name(user) << "\n";
    } catch (const ServerNotRunning& error) {
        err << "imapd kick: " << error.what() << "\n";
        return kExitUnavailable;
    }
    return kExitOk;
}

}  // namespace

int run_who(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    return cli::run_admin_guarded([&] { return who_command(args, out, err); }, "who", err);
}

int run_kick(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    return cli::run_admin_guarded([&] { return kick_command(args, out, err); }, "kick", err);
}

}  // namespace imap::server
