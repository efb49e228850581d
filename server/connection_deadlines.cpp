#include "server/connection_deadlines.h"

namespace imap::server {

std::optional<ConnectionDeadlines::Deadline> ConnectionDeadlines::next(
    Phase phase, bool waiting_on_server) const {
    switch (phase) {
        case Phase::NotAuthenticated: {
            const Deadline login{opened_ + timeouts_.login, Kind::Login};
            if (waiting_on_server) return login;
            const Deadline inactivity{last_activity_ + timeouts_.pre_auth, Kind::Inactivity};
            // On a tie the login deadline names the cause: the phase is over.
            return inactivity.when < login.when ? inactivity : login;
        }
        case Phase::Authenticated:
            if (waiting_on_server) return std::nullopt;
            return Deadline{last_activity_ + timeouts_.autologout, Kind::Inactivity};
        case Phase::Idling:
            return Deadline{idle_started_ + timeouts_.idle, Kind::Idle};
    }
    return std::nullopt;
}

std::string_view to_string(ConnectionDeadlines::Kind kind) {
    switch (kind) {
        case ConnectionDeadlines::Kind::Inactivity:
            return "inactivity";
        case ConnectionDeadlines::Kind::Login:
            return "login";
        case ConnectionDeadlines::Kind::Idle:
            break;
    }
    return "idle";
}

}  // namespace imap::server
