#include "server/net/server.h"

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "protocol/limits.h"
#include "server/auth/account_authenticator.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/cli/cli.h"
#include "server/net/certificate.h"
#include "server/net/connection.h"
#include "server/net/control_socket.h"
#include "server/net/metrics_endpoint.h"
#include "server/net/tcp_listen.h"
#include "server/pop3/pop3_session.h"
#include "store/accounts.h"
#include "store/backup.h"
#include "store/data_dir.h"
#include "store/errors.h"
#include "store/limits.h"
#include "store/password.h"

namespace imap::server {

Server::Server(const Config& config, Authenticator& authenticator, MailAccess& mail,
               std::shared_ptr<const TlsContext> tls_context, TlsReloader reloader)
    : config_(config),
      authenticator_(authenticator),
      mail_(mail),
      tls_context_(std::move(tls_context)),
      reloader_(std::move(reloader)),
      login_limits_(config) {
    const std::size_t threads = config_.io_threads();
    for (std::size_t i = 0; i < threads; ++i)
        loops_.push_back(std::make_unique<IoLoop>(*this, i));
    if (threads > 1) {
        // Bounded by the users (each has at most one sync queued or running).
        sync_pool_ = std::make_unique<WorkPool>(kSyncThreads, SIZE_MAX, "imapd-sync");
        strand_pool_ =
            std::make_unique<WorkPool>(config_.worker_threads(), SIZE_MAX, "imapd-strand");
        strands_ = std::make_unique<StrandRegistry>(*strand_pool_);
    }
    uv_loop_t* first = loop();
    uv_signal_init(first, &sigterm_);
    uv_signal_init(first, &sigint_);
    uv_signal_init(first, &sighup_);
    sigterm_.data = sigint_.data = sighup_.data = this;
    uv_signal_start(&sigterm_, &Server::on_signal, SIGTERM);
    uv_signal_start(&sigint_, &Server::on_signal, SIGINT);
    uv_signal_start(&sighup_, &Server::on_signal, SIGHUP);
    if (!config_.ephemeral) {
        try {
            // Its thread calls this; the connections are on the loops.
            external_changes_ = std::make_unique<store::ExternalChangeWatcher>(
                store::DataDir(config_.data_dir), [this](const std::string& user) {
                    loops_.front()->post([this, user] { mail_changed_elsewhere(user); });
                });
        } catch (const std::exception& error) {
            // Not fatal: idling sessions still poll (idle_poll_interval).
            log::warning("watch_failed", {{"path", (config_.data_dir / "users").string()},
                                          {"error", error.what()}});
        }
    }
}

std::shared_ptr<Strand> Server::strand_for(const std::string& user) {
    return strands_ ? strands_->of(user) : nullptr;
}

std::function<void(std::chrono::milliseconds, std::function<void()>)> Server::poster_for_user(
    const std::string& user) {
    return poster_on(strand_for(user));
}

UserMail::Post Server::poster_on(std::shared_ptr<Strand> strand) {
    auto post_now = [this, executor = std::move(strand)](std::function<void()> task) {
        if (executor) {
            executor->post(std::move(task));
        } else {
            loops_.front()->post(std::move(task));
        }
    };
    return [this, post_now](std::chrono::milliseconds delay, std::function<void()> task) {
        if (delay.count() > 0) {
            delayed_.post_after(
                delay, [post_now, task = std::move(task)]() mutable { post_now(std::move(task)); });
        } else {
            post_now(std::move(task));
        }
    };
}

UserMail::Background Server::background_for_user(const std::string& user) {
    std::shared_ptr<Strand> strand = strand_for(user);
    UserMail::Background background{poster_on(strand), {}};
    // With one loop the background runs there, between every connection's
    // I/O: nothing to ask, the batch keeps its time budget.
    if (strand) background.others_waiting = [strand] { return strand->has_waiting(); };
    return background;
}

void Server::mail_changed_elsewhere(const std::string& user) {
    mail_.changed_elsewhere(user);
    for (auto& io : loops_) {
        io->post([loop = io.get(), user] {
            loop->for_each_connection(
                [&user](Connection& connection) { connection.mail_changed_elsewhere(user); });
        });
    }
}

Server::~Server() {
    if (!stopping_) {
        // Never stopped: listen() failed (an address in use) or run() never
        // ran. The listeners, signals and endpoints are members that go
        // before the loops, yet their handles are still in the first loop,
        // whose destructor would walk over them: closed here, and the loop
        // turned once so that their close callbacks run while they live.
        stopping_ = true;
        close_handles();
        external_changes_.reset();
        uv_run(loop(), UV_RUN_NOWAIT);
    }
    // The members go in reverse order: the verification pool and the strand
    // pool (their threads joined, work not started dropped) before the
    // loops they post to. A loop closes what is left of its handles.
    for (auto& io : loops_)
        io->join();
}

void Server::listen(std::ostream& out) {
    for (const ListenAddress& address : config_.listeners) {
        auto listener = std::make_unique<Listener>();
        listener->address = address;
        listener->server = this;
        listener->tcp.data = listener.get();
        uv_tcp_init(loop(), &listener->tcp);
        listener->open = true;
        const std::string name = address.to_string();
        int rc = bind_tcp(&listener->tcp, address);
        if (rc == 0) {
            rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener->tcp), SOMAXCONN,
                           &Server::on_connection);
        }
        listeners_.push_back(std::move(listener));
        if (rc < 0) {
            throw std::runtime_error("cannot listen on " + name + ": " + uv_strerror(rc));
        }
        const std::string bound = bound_endpoint(&listeners_.back()->tcp);
        const std::string_view protocol = listener_name(address);
        out << "imapd: listening " << protocol << " " << bound << "\n";
        out.flush();
        log::info("listening", {{"protocol", protocol}, {"address", bound}});
    }
    if (config_.metrics_listener) {
        metrics_ = std::make_unique<MetricsEndpoint>(loop(), *config_.metrics_listener);
        out << "imapd: listening metrics " << metrics_->bound() << "\n";
        out.flush();
        log::info("listening", {{"protocol", "metrics"}, {"address", metrics_->bound()}});
    }
    listen_control(out);
    if (!lmtp_context_.find_recipient) return;
    for (const LmtpListenAddress& address : config_.lmtp_listeners) {
        if (config_.ephemeral && !address.unix_path.empty() && address.unix_path.is_relative()) {
            // No data directory to put it in (the built-in default's socket).
            log::info("lmtp_socket_skipped",
                      {{"path", address.unix_path.string()}, {"reason", "ephemeral"}});
            continue;
        }
        auto listener = std::make_unique<LmtpListener>();
        listener->address = address;
        listener->server = this;
        LmtpListener& added = *listener;
        lmtp_listeners_.push_back(std::move(listener));
        listen_lmtp(added, out);
    }
}

template <class T>
void Server::gather(std::function<std::optional<T>(Connection&)> visit,
                    std::function<void(std::vector<T>)> done) {
    struct Gathering {
        std::mutex mutex;
        std::vector<T> found;
        std::size_t loops_left = 0;
    };
    auto gathering = std::make_shared<Gathering>();
    gathering->loops_left = loops_.size();
    IoLoop* first = loops_.front().get();
    for (auto& io : loops_) {
        io->post([loop = io.get(), first, gathering, visit, done] {
            // Listed first, visited after: a visit may end its connection,
            // which takes it out of the loop's table.
            std::vector<Connection*> connections;
            loop->for_each_connection(
                [&](Connection& connection) { connections.push_back(&connection); });
            std::vector<T> here;
            for (Connection* connection : connections) {
                try {
                    if (auto value = visit(*connection)) here.push_back(std::move(*value));
                } catch (const std::exception& error) {
                    // One connection's trouble must not leave the answer
                    // waiting for this loop forever.
                    log::warning("control_failed",
                                 {{"peer", connection->peer()}, {"error", error.what()}});
                }
            }
            const std::lock_guard lock(gathering->mutex);
            for (T& value : here)
                gathering->found.push_back(std::move(value));
            if (--gathering->loops_left > 0) return;
            first->post([gathering, done] { done(std::move(gathering->found)); });
        });
    }
}

void Server::listen_control(std::ostream& out) {
    if (config_.control_socket.empty()) return;
    std::filesystem::path path = config_.control_socket;
    if (path.is_relative()) {
        // No data directory to put it in: as the built-in LMTP socket.
        if (config_.ephemeral) return;
        path = std::filesystem::absolute(config_.data_dir / path).lexically_normal();
    }
    ControlSocket::Actions actions;
    actions.who = [this](std::function<void(std::vector<ControlSocket::ConnectionInfo>)> done) {
        gather<ControlSocket::ConnectionInfo>(
            [](Connection& connection) -> std::optional<ControlSocket::ConnectionInfo> {
                if (!connection.counted() || connection.closing()) return std::nullopt;
                return connection.describe();
            },
            std::move(done));
    };
    actions.kick = [this](std::string user, std::function<void(std::size_t)> done) {
        gather<int>(
            [user](Connection& connection) -> std::optional<int> {
                if (!connection.counted() || connection.closing()) return std::nullopt;
                if (connection.user().empty() ||
                    store::AccountStore::canonical_user_name(connection.user()) != user) {
                    return std::nullopt;
                }
                log::info("connection_kicked", {{"peer", connection.peer()}, {"user", user}});
                connection.end_with_bye("Disconnected by the administrator", "kicked");
                return 1;
            },
            [done = std::move(done)](std::vector<int> kicked) { done(kicked.size()); });
    };
    control_ = std::make_unique<ControlSocket>(loop(), path, std::move(actions));
    out << "imapd: listening control unix:" << path.string() << "\n";
    out.flush();
    log::info("listening", {{"protocol", "control"}, {"address", "unix:" + path.string()}});
}

void Server::set_recipient_lookup(std::function<store::Recipient(std::string_view)> lookup) {
    lmtp_context_.find_recipient = std::move(lookup);
    lmtp_context_.mail = &mail_;
    lmtp_context_.poster_for_user = [this](const std::string& user) {
        return poster_for_user(user);
    };
    std::array<char, 256> host{};
    if (gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0') {
        lmtp_context_.options.hostname = host.data();
    }
    lmtp_context_.options.domains = config_.lmtp_domains;
    // Each copy gets Return-Path and Delivered-To in front
    // (limits::lmtp::kTraceReserve): the data may be that much smaller
    // than the store's limit (APPENDLIMIT).
    lmtp_context_.options.max_message_size =
        store::limits::kMaxMessageSize - limits::lmtp::kTraceReserve;
}

void Server::listen_lmtp(LmtpListener& listener, std::ostream& out) {
    const LmtpListenAddress& address = listener.address;
    std::string shown;
    int rc = 0;
    uv_stream_t* stream = nullptr;
    if (!address.unix_path.empty()) {
        std::filesystem::path path = address.unix_path;
        if (path.is_relative()) {
            path = std::filesystem::absolute(config_.data_dir / path).lexically_normal();
        }
        listener.socket_path = path;
        shown = "unix:" + path.string();
        uv_pipe_init(loop(), &listener.pipe, 0);
        listener.pipe.data = &listener;
        listener.open = true;
        rc = bind_unix(&listener.pipe, path, config_.lmtp_socket_mode);
        if (rc == 0 && !config_.lmtp_socket_group.empty()) {
            const group* found = getgrnam(config_.lmtp_socket_group.c_str());
            if (found == nullptr) {
                throw std::runtime_error("cannot listen on " + shown + ": no group \"" +
                                         config_.lmtp_socket_group + "\"");
            }
            if (::chown(path.c_str(), static_cast<uid_t>(-1), found->gr_gid) != 0) rc = -errno;
        }
        stream = reinterpret_cast<uv_stream_t*>(&listener.pipe);
    } else {
        uv_tcp_init(loop(), &listener.tcp);
        listener.tcp.data = &listener;
        listener.open = true;
        rc = bind_tcp(&listener.tcp, address.tcp);
        stream = reinterpret_cast<uv_stream_t*>(&listener.tcp);
    }
    if (rc == 0) rc = uv_listen(stream, SOMAXCONN, &Server::on_lmtp_connection);
    if (rc < 0) {
        throw std::runtime_error("cannot listen on " +
                                 (shown.empty() ? address.to_string() : shown) + ": " +
                                 uv_strerror(rc));
    }
    if (shown.empty()) shown = bound_endpoint(&listener.tcp);
    out << "imapd: listening lmtp " << shown << "\n";
    out.flush();
    log::info("listening", {{"protocol", "lmtp"}, {"address", shown}});
}

void Server::on_lmtp_connection(uv_stream_t* stream, int status) {
    auto* listener = static_cast<LmtpListener*>(stream->data);
    if (status < 0) {
        log::error("accept_failed", {{"error", uv_strerror(status)}});
        return;
    }
    listener->server->accept_lmtp(*listener);
}

void Server::accept_lmtp(LmtpListener& listener) {
    IoLoop& first = *loops_.front();
    const bool unix_socket = !listener.address.unix_path.empty();
    const bool over_limit = first.lmtp_connection_count() >= limits::lmtp::kMaxConnections;
    LmtpConnection& connection = first.add_lmtp_connection(lmtp_context_, unix_socket);
    if (const int rc =
            uv_accept(reinterpret_cast<uv_stream_t*>(listener.handle()), connection.stream());
        rc < 0) {
        log::error("accept_failed", {{"error", uv_strerror(rc)}});
        connection.close_now();
        return;
    }
    std::string peer = "unix";
    if (!unix_socket) {
        sockaddr_storage address{};
        int length = sizeof address;
        uv_tcp_getpeername(reinterpret_cast<uv_tcp_t*>(connection.stream()),
                           reinterpret_cast<sockaddr*>(&address), &length);
        peer = ip_of(address);
    }
    if (over_limit) {
        log::warning("connection_limit", {{"peer", peer}, {"listener", "lmtp"}});
        connection.refuse();
        return;
    }
    connection.start(std::move(peer));
}

void Server::run() {
    for (std::size_t i = 1; i < loops_.size(); ++i)
        loops_[i]->start_thread();
    loops_.front()->run();
    for (auto& io : loops_)
        io->join();
}

void Server::on_connection(uv_stream_t* stream, int status) {
    auto* listener = static_cast<Listener*>(stream->data);
    if (status < 0) {
        log::error("accept_failed", {{"error", uv_strerror(status)}});
        return;
    }
    listener->server->accept(*listener);
}

void Server::accept(Listener& listener) {
    Connection* connection = &loops_.front()->add_connection();
    if (const int rc = uv_accept(reinterpret_cast<uv_stream_t*>(&listener.tcp),
                                 reinterpret_cast<uv_stream_t*>(connection->tcp()));
        rc < 0) {
        log::error("accept_failed", {{"error", uv_strerror(rc)}});
        connection->close_now("accept failed");
        return;
    }
    sockaddr_storage peer{};
    int length = sizeof peer;
    uv_tcp_getpeername(connection->tcp(), reinterpret_cast<sockaddr*>(&peer), &length);

    ConnectionOptions options;
    options.implicit_tls = listener.address.implicit_tls;
    options.listener = std::string(listener_name(listener.address));
    const bool pop3 = listener.address.protocol == ListenProtocol::Pop3;
    options.timeouts = {.pre_auth = config_.pre_auth_timeout,
                        .login = config_.login_timeout,
                        .autologout = config_.autologout,
                        .idle = config_.idle_timeout,
                        .output_backlog = config_.output_backlog_timeout,
                        .max_output_backlog = config_.max_output_backlog};
    options.idle_poll_interval = config_.idle_poll_interval;
    options.idle_keepalive = config_.idle_keepalive;
    options.tls_context = tls_context_;
    options.session_context.tls = listener.address.implicit_tls;
    options.session_context.starttls_available = tls_context_ != nullptr;
    options.session_context.plaintext_auth_allowed =
        config_.is_trusted(reinterpret_cast<const sockaddr*>(&peer));
    options.session_context.peer = ip_of(peer);
    options.session_context.framer_limits.max_line_length = config_.max_line_length;
    options.session_context.framer_limits.max_literal_size = config_.max_literal_size;
    options.session_context.login_gate = &login_limits_;
    options.session_context.turn_budget = {.max_commands = Connection::kCommandsPerTurn,
                                           .max_time = Connection::kTurnTime};

    {
        std::unique_lock lock(counts_mutex_);
        std::size_t& from_ip = per_ip_[options.session_context.peer];
        if (counted_ >= config_.max_connections || from_ip >= config_.max_connections_per_ip) {
            // Refused at accept: a flood of connections that never speak (or
            // never finish a TLS handshake) costs one accept and one close
            // each, and holds nothing.
            if (from_ip == 0) per_ip_.erase(options.session_context.peer);
            const auto counted = static_cast<std::uint64_t>(counted_);
            lock.unlock();
            log::warning("connection_limit", {{"peer", options.session_context.peer},
                                              {"listener", options.listener},
                                              {"connections", counted}});
            connection->refuse(options.implicit_tls,
                               pop3 ? "-ERR [SYS/TEMP] Too many connections from your address\r\n"
                                    : "* BYE Too many connections from your address\r\n");
            return;
        }
        ++from_ip;
        ++counted_;
    }
    // Before login on this loop; after it on a session loop.
    if (pop3) {
        connection->start(
            [this](SessionContext context) {
                return std::make_unique<pop3::Pop3Session>(std::move(context), authenticator_,
                                                           &mail_, maildrop_locks_);
            },
            strands_.get(), std::move(options));
        return;
    }
    connection->start(authenticator_, mail_, strands_.get(), std::move(options));
}

IoLoop* Server::session_loop() {
    if (loops_.size() < 2) return nullptr;
    // Each session loop in turn: logged-in connections are long-lived and
    // alike, so turns spread them as evenly as anything would.
    IoLoop* loop = loops_[1 + next_session_loop_].get();
    next_session_loop_ = (next_session_loop_ + 1) % (loops_.size() - 1);
    return loop;
}

void Server::uncount(const std::string& peer) {
    std::lock_guard lock(counts_mutex_);
    --counted_;
    auto ip = per_ip_.find(peer);
    if (ip != per_ip_.end() && --ip->second == 0) per_ip_.erase(ip);
}

void Server::connection_ended(Connection& connection) {
    if (connection.counted()) uncount(connection.peer());
}

void Server::on_signal(uv_signal_t* handle, int signum) {
    auto* self = static_cast<Server*>(handle->data);
    if (signum == SIGHUP) {
        self->reload_tls();
    } else {
        log::info("shutdown", {{"signal", signum == SIGTERM ? "SIGTERM" : "SIGINT"}});
        self->stop();
    }
}

void Server::stop() {
    if (stopping_) return;
    stopping_ = true;
    close_handles();
    // Its thread is joined here: no report after this.
    external_changes_.reset();
    // Each loop says goodbye to its connections and ends when they are gone.
    loops_.front()->shutdown();
    for (std::size_t i = 1; i < loops_.size(); ++i)
        loops_[i]->post([loop = loops_[i].get()] { loop->shutdown(); });
}

void Server::close_handles() {
    for (auto& listener : listeners_) {
        if (listener->open) {
            listener->open = false;
            uv_close(reinterpret_cast<uv_handle_t*>(&listener->tcp), nullptr);
        }
    }
    for (auto& listener : lmtp_listeners_) {
        if (listener->open) {
            listener->open = false;
            uv_close(listener->handle(), nullptr);
            if (!listener->socket_path.empty()) ::unlink(listener->socket_path.c_str());
        }
    }
    for (uv_signal_t* signal : {&sigterm_, &sigint_, &sighup_}) {
        uv_close(reinterpret_cast<uv_handle_t*>(signal), nullptr);
    }
    if (metrics_) metrics_->close();
    if (control_) control_->close();
}

void Server::reload_tls() {
    if (!reloader_) {
        log::info("tls_reload_skipped", {{"reason", "generated in memory (ephemeral)"}});
        return;
    }
    try {
        auto context = reloader_();
        tls_context_ = std::move(context);
        log::info("tls_reloaded", {{"fingerprint", tls_context_->fingerprint()}});
    } catch (const std::exception& error) {
        log::error("tls_reload_failed", {{"error", error.what()}});
    }
}

int run_serve(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    Config config;
    try {
        config = configure_serve(args);
    } catch (const ConfigError& error) {
        err << "imapd serve: " << error.what() << "\n";
        return kExitUsage;
    }
    log::set_level(config.log_level);
    log::set_format(config.log_format);
    if (config.old_file_format) {
        // Read as before; docs/configuration.md "The old format".
        log::warning("config_old_format",
                     {{"hint", "convert with: imapd check-config --config FILE --convert"}});
    }
    // A peer that resets the connection must not kill the server on write.
    std::signal(SIGPIPE, SIG_IGN);

    try {
        const store::DataDir data_dir =
            config.ephemeral ? store::DataDir::in_memory() : store::DataDir(config.data_dir);
        // Held shared while serving: `imapd restore` takes it exclusively
        // and so never replaces a database under a running server.
        std::optional<store::DataDirLock> data_dir_lock;
        if (!config.ephemeral) data_dir_lock.emplace(store::DataDirLock::shared(config.data_dir));
        store::PasswordHashing hashing;
        hashing.scram_iterations = config.scram_iterations;
        store::AccountStore accounts(data_dir.accounts_options(), hashing);

        for (const SeedUser& user : config.users) {
            try {
                accounts.create_user(user.name, user.password.reveal());
                log::info("user_created", {{"user", user.name}, {"source", "--user"}});
            } catch (const store::StoreError& error) {
                if (error.code() != store::StoreErrc::AlreadyExists) throw;
                accounts.set_password(user.name, user.password.reveal());
                log::info("user_password_set", {{"user", user.name}, {"source", "--user"}});
            }
        }
        if (!config.ephemeral && accounts.users().empty()) {
            const std::string password = store::generate_password();
            accounts.create_user("demo", password);
            out << "imapd: demo account \"demo\" password \"" << password << "\"\n";
            out.flush();
            log::info("user_created", {{"user", "demo"}, {"source", "demo"}});
        }

        std::shared_ptr<const TlsContext> tls;
        Server::TlsReloader reloader;
        if (!config.tls_cert.empty()) {
            reloader = [cert = config.tls_cert, key = config.tls_key] {
                return TlsContext::from_files(cert, key);
            };
            tls = reloader();
            log::info("tls_certificate",
                      {{"source", config.tls_cert.string()}, {"fingerprint", tls->fingerprint()}});
        } else if (config.ephemeral) {
            const CertificatePem pem = generate_self_signed({});
            tls = TlsContext::from_pem(pem.chain_pem, pem.key_pem);
            log::info("tls_certificate",
                      {{"source", "generated in memory"}, {"fingerprint", tls->fingerprint()}});
        } else {
            const SelfSignedResult result = load_or_generate_self_signed(config.data_dir, {});
            tls = TlsContext::from_pem(result.pem.chain_pem, result.pem.key_pem,
                                       result.cert_path.string(), result.key_path.string());
            log::info("tls_certificate", {{"source", result.cert_path.string()},
                                          {"generated", result.generated},
                                          {"reason", result.reason},
                                          {"fingerprint", result.fingerprint}});
            reloader = [dir = config.data_dir] {
                const SelfSignedResult again = load_or_generate_self_signed(dir, {});
                return TlsContext::from_pem(again.pem.chain_pem, again.pem.key_pem,
                                            again.cert_path.string(), again.key_path.string());
            };
        }

        AccountAuthenticator authenticator(accounts);
        UserMailRegistry mail(data_dir);
        mail.set_page_cache(config.store_cache);
        Server server(config, authenticator, mail, tls, reloader);
        mail.set_background(
            [&server](const std::string& user) { return server.background_for_user(user); });
        authenticator.verify_on(&server.verification_pool());
        server.set_recipient_lookup(
            [&authenticator](std::string_view user) { return authenticator.find_recipient(user); });
        if (WorkPool* syncs = server.sync_pool()) {
            mail.defer_syncs(
                [syncs](std::function<void()> job) { return syncs->try_submit(std::move(job)); });
        }
        // Read on the first loop at a scrape; UserMailRegistry is thread-safe.
        metrics().set_gauge_source(
            "imapd_users_open", "Users whose mail is open now (a session of theirs is logged in).",
            [&mail] { return static_cast<double>(mail.open_count()); });
        metrics().set_gauge_source(
            "imapd_index_queue_bodies",
            "Message bodies waiting for the full-text search index, all open users together.",
            [] { return static_cast<double>(UserMail::index_queue_total()); });
        struct ForgetGauges {
            ~ForgetGauges() {
                metrics().set_gauge_source("imapd_users_open", {}, {});
                metrics().set_gauge_source("imapd_index_queue_bodies", {}, {});
            }
        } forget_gauges;
        try {
            server.listen(out);
        } catch (const std::exception& error) {
            log::error("listen_failed", {{"error", error.what()}});
            err << "imapd serve: " << error.what() << "\n";
            return kExitUnavailable;
        }
        server.run();
        log::info("stopped");
        return kExitOk;
    } catch (const std::exception& error) {
        log::error("fatal", {{"error", error.what()}});
        err << "imapd serve: " << error.what() << "\n";
        return kExitSoftware;
    }
}

}  // namespace imap::server
