// The control socket (docs/operations.md "Who is connected, and kick"): a
// unix socket in the data directory, mode 0600 inside the 0700 directory,
// through which `imapd who` lists the connections and `imapd kick USER`
// ends a user's sessions on the running server. Only the account that runs
// the server (and root) can connect, so it needs no password.
//
// One request line per connection, one JSON object (RFC 8259) and a
// newline as the answer, then the server closes:
//   who\n        {"connections":[{"user":"alice","listener":"imaps",
//                 "peer":"192.0.2.7","tls":true,"state":"selected",
//                 "idling":true,"seconds":312}, ...]}
//   kick alice\n {"kicked":3}
//   anything else {"error":"..."}
// Bounded like every listener (server/net/request_listener.h): requests of
// at most kMaxRequestBytes, answered within kTimeout, kMaxClients at once.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "server/net/request_listener.h"

namespace imap::server {

class ControlSocket {
  public:
    // "kick " and a user name (at most 255 bytes in the accounts) fit.
    static constexpr std::size_t kMaxRequestBytes = 1024;
    // Collecting from every loop takes a loop turn each; a client that
    // sends nothing is not kept.
    static constexpr std::chrono::milliseconds kTimeout{5000};
    // An administrator's commands, one at a time; a few more for scripts.
    static constexpr std::size_t kMaxClients = 4;
    // Owner only (the data directory is 0700 as well).
    static constexpr mode_t kMode = 0600;

    // One connection as `imapd who` shows it.
    struct ConnectionInfo {
        std::string user;      // empty before login
        std::string listener;  // "imap", "imaps"
        std::string peer;
        bool tls = false;
        std::string state;  // "not authenticated", "authenticated", "selected", "logout"
        bool idling = false;
        std::int64_t seconds = 0;  // since the connection was accepted
    };
    // What the server does for the requests; each answers through its
    // callback, on the socket's loop.
    struct Actions {
        std::function<void(std::function<void(std::vector<ConnectionInfo>)> done)> who;
        // Ends the sessions of `user` (the canonical name); how many.
        std::function<void(std::string user, std::function<void(std::size_t)> done)> kick;
    };

    // Listens at `path` on `loop`. Throws std::runtime_error.
    ControlSocket(uv_loop_t* loop, const std::filesystem::path& path, Actions actions);
    // Stops listening, removes the socket file, ends the connections.
    void close() { listener_.close(); }

    // The answer to one request (without its line end), through `reply`.
    static void respond(std::string_view request, const Actions& actions,
                        std::function<void(std::string)> reply);
    // The JSON answers, each with its newline.
    static std::string who_answer(const std::vector<ConnectionInfo>& connections);
    static std::string kick_answer(std::size_t kicked);
    static std::string error_answer(std::string_view message);

  private:
    Actions actions_;
    RequestListener listener_;
};

}  // namespace imap::server
