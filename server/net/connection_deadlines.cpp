#include "server/net/connection_deadlines.h"

namespace imap::server {

void ConnectionDeadlines::unsent_output(std::size_t bytes, Clock::time_point now) {
    if (bytes <= settings_.max_output_backlog) {
        backlog_since_.reset();
    } else if (!backlog_since_) {
        backlog_since_ = now;
    }
}

std::optional<ConnectionDeadlines::Deadline> ConnectionDeadlines::next(
    Phase phase, bool waiting_on_server) const {
    std::optional<Deadline> deadline = phase_deadline(phase, waiting_on_server);
    if (backlog_since_) {
        const Deadline backlog{*backlog_since_ + settings_.output_backlog, Kind::Backlog};
        if (!deadline || backlog.when < deadline->when) deadline = backlog;
    }
    return deadline;
}

std::optional<ConnectionDeadlines::Deadline> ConnectionDeadlines::phase_deadline(
    Phase phase, bool waiting_on_server) const {
    switch (phase) {
        case Phase::NotAuthenticated: {
            const Deadline login{opened_ + settings_.login, Kind::Login};
            if (waiting_on_server) return login;
            const Deadline inactivity{last_activity_ + settings_.pre_auth, Kind::Inactivity};
            // On a tie the login deadline names the cause: the phase is over.
            return inactivity.when < login.when ? inactivity : login;
        }
        case Phase::Authenticated:
            if (waiting_on_server) return std::nullopt;
            return Deadline{last_activity_ + settings_.autologout, Kind::Inactivity};
        case Phase::Idling:
            return Deadline{idle_started_ + settings_.idle, Kind::Idle};
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
            return "idle";
        case ConnectionDeadlines::Kind::Backlog:
            break;
    }
    return "output_backlog";
}

}  // namespace imap::server
