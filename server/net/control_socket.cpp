#include "server/net/control_socket.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "store/accounts.h"

namespace imap::server {
namespace {

// Text from clients and peers may hold any bytes: replaced, not refused,
// so the answer is always valid JSON (RFC 8259 8.1: UTF-8).
std::string dump(const nlohmann::ordered_json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

ControlSocket::ControlSocket(uv_loop_t* loop, const std::filesystem::path& path, Actions actions)
    : actions_(std::move(actions)),
      listener_(
          loop, {kMaxRequestBytes, kTimeout, kMaxClients},
          {[](std::string_view request) { return request.find('\n') != std::string_view::npos; },
           error_answer("request too long"),
           [this](std::string request, RequestListener::Reply reply) {
               std::string_view line(request);
               line = line.substr(0, line.find('\n'));
               if (line.ends_with('\r')) line.remove_suffix(1);
               respond(line, actions_, std::move(reply));
           }}) {
    const int rc = listener_.listen_unix(path, kMode);
    if (rc < 0) {
        listener_.close();
        throw std::runtime_error("cannot listen on unix:" + path.string() +
                                 " (control socket): " + uv_strerror(rc));
    }
}

void ControlSocket::respond(std::string_view request, const Actions& actions,
                            std::function<void(std::string)> reply) {
    if (request == "who") {
        actions.who([reply = std::move(reply)](std::vector<ConnectionInfo> connections) {
            reply(who_answer(connections));
        });
        return;
    }
    if (request.starts_with("kick ")) {
        const std::string_view user = request.substr(5);
        if (user.empty() || user.find_first_of(" \t") != std::string_view::npos) {
            reply(error_answer("usage: kick USER"));
            return;
        }
        std::string canonical;
        try {
            canonical = store::AccountStore::canonical_user_name(user);
        } catch (const std::exception&) {
            reply(error_answer("invalid user name"));
            return;
        }
        actions.kick(std::move(canonical), [reply = std::move(reply)](std::size_t kicked) {
            reply(kick_answer(kicked));
        });
        return;
    }
    reply(error_answer("unknown request; expected \"who\" or \"kick USER\""));
}

std::string ControlSocket::who_answer(const std::vector<ConnectionInfo>& connections) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const ConnectionInfo& c : connections) {
        nlohmann::ordered_json entry;
        entry["user"] = c.user;
        entry["listener"] = c.listener;
        entry["peer"] = c.peer;
        entry["tls"] = c.tls;
        entry["state"] = c.state;
        entry["idling"] = c.idling;
        entry["seconds"] = c.seconds;
        list.push_back(std::move(entry));
    }
    return dump(nlohmann::ordered_json{{"connections", std::move(list)}});
}

std::string ControlSocket::kick_answer(std::size_t kicked) {
    return dump(nlohmann::ordered_json{{"kicked", kicked}});
}

std::string ControlSocket::error_answer(std::string_view message) {
    return dump(nlohmann::ordered_json{{"error", message}});
}

}  // namespace imap::server
