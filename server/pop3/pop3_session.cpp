#include "server/pop3/pop3_session.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <exception>
#include <utility>

#include "protocol/limits.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "store/accounts.h"
#include "store/errors.h"
#include "store/limits.h"

namespace imap::server::pop3 {
namespace {

using std::chrono::milliseconds;

std::string upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
}

// A message number or line count: 1*DIGIT, no sign, no leading space, and
// no larger than 2^64-1 (a larger one is a number no maildrop has).
std::optional<std::uint64_t> parse_number(std::string_view text) {
    if (text.empty() || text.size() > 20) return std::nullopt;
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// The arguments of a command, split at single spaces (RFC 1939 3: "separated
// by a single SPACE"); an empty argument (two spaces) stays empty and fails
// its parse.
std::vector<std::string_view> split_args(std::string_view args) {
    std::vector<std::string_view> out;
    if (args.empty()) return out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t space = args.find(' ', start);
        out.push_back(args.substr(start, space == std::string_view::npos ? space : space - start));
        if (space == std::string_view::npos) break;
        start = space + 1;
    }
    return out;
}

}  // namespace

std::string uidl(std::uint32_t uid, std::uint32_t uidvalidity) {
    std::array<char, 17> text{};
    std::snprintf(text.data(), text.size(), "%08x%08x", static_cast<unsigned>(uid),
                  static_cast<unsigned>(uidvalidity));
    return std::string(text.data(), 16);
}

Pop3Session::Pop3Session(SessionContext context, Authenticator& authenticator,
                         MailAccess* mail_access, MaildropLocks& locks)
    : context_(std::move(context)),
      authenticator_(authenticator),
      mail_access_(mail_access),
      locks_(locks),
      tls_(context_.tls) {}

Pop3Session::~Pop3Session() {
    gone_->store(true);
    // The lock goes with the connection however it ends (RFC 1939 8).
    lock_.release();
    if (holds_login_slot_ && context_.login_gate != nullptr) context_.login_gate->release(user_);
}

SessionState Pop3Session::state() const {
    switch (phase_) {
        case Phase::Authorization:
            return SessionState::NotAuthenticated;
        case Phase::Transaction:
            return SessionState::Authenticated;
        case Phase::Done:
            break;
    }
    return SessionState::Logout;
}

std::size_t Pop3Session::unsent() const {
    return output_.size() + (transport_unsent_ ? transport_unsent_() : 0);
}

void Pop3Session::greeting() {
    // RFC 1939 4; no APOP timestamp: APOP is not offered (docs/pop3.md).
    ok("imapd POP3 ready");
}

void Pop3Session::ok(std::string_view text) {
    output_.append("+OK");
    if (!text.empty()) {
        output_.append(' ');
        output_.append(text);
    }
    output_.append("\r\n");
}

void Pop3Session::error(std::string_view text) {
    output_.append("-ERR ");
    output_.append(text);
    output_.append("\r\n");
    if (++errors_ >= limits::pop3::kMaxErrors) {
        close_with("-ERR Too many invalid commands, closing");
    }
}

void Pop3Session::close_with(std::string_view line) {
    output_.append(line);
    output_.append("\r\n");
    phase_ = Phase::Done;
    mode_ = Mode::Closing;
    step_ = nullptr;
    lock_.release();
}

void Pop3Session::say_goodbye(std::string_view text) {
    if (mode_ == Mode::Closing) return;
    // A multi-line answer cut off here must not end with a line that looks
    // like part of the message: the client sees the connection close.
    if (mode_ == Mode::Streaming) {
        mode_ = Mode::Closing;
        step_ = nullptr;
        phase_ = Phase::Done;
        lock_.release();
        return;
    }
    close_with("-ERR " + std::string(text));
}

void Pop3Session::abandon() {
    gone_->store(true);  // a password check still queued is skipped
    mode_ = Mode::Closing;
    step_ = nullptr;
    after_delay_ = nullptr;
    // Nothing is committed: the UPDATE state is reached only by QUIT.
    lock_.release();
    if (holds_login_slot_ && context_.login_gate != nullptr) {
        holds_login_slot_ = false;
        context_.login_gate->release(user_);
    }
}

void Pop3Session::tls_started() {
    tls_ = true;
    if (mode_ == Mode::StartingTls) mode_ = Mode::Ready;
}

void Pop3Session::receive(std::string_view plaintext) {
    if (mode_ == Mode::Closing || mode_ == Mode::StartingTls) return;
    input_.append(plaintext);
    process();
}

void Pop3Session::resume() {
    if (mode_ == Mode::Streaming) {
        run_step();
        if (mode_ == Mode::Streaming) return;
    }
    process();
}

void Pop3Session::process() {
    paused_ = false;
    yielded_ = false;
    std::size_t commands = 0;
    const auto started = std::chrono::steady_clock::now();
    const TurnBudget& budget = context_.turn_budget;
    while (mode_ == Mode::Ready || mode_ == Mode::AuthExchange) {
        if (unsent() >= kOutputHighWater) {
            // The client is not reading: run nothing more until it has.
            paused_ = true;
            return;
        }
        if (budget.max_commands > 0 && commands >= budget.max_commands) {
            yielded_ = true;
            return;
        }
        if (budget.max_time.count() > 0 && commands > 0 &&
            std::chrono::steady_clock::now() - started >= budget.max_time) {
            yielded_ = true;
            return;
        }
        const std::size_t max_line = mode_ == Mode::AuthExchange ? limits::pop3::kMaxAuthLine
                                                                 : limits::pop3::kMaxCommandLine;
        const std::size_t lf = input_.find('\n');
        if (discarding_line_) {
            if (lf == std::string::npos) {
                input_.clear();
                return;
            }
            input_.erase(0, lf + 1);
            discarding_line_ = false;
            continue;
        }
        if (lf == std::string::npos ? input_.size() >= max_line : lf + 1 > max_line) {
            // RFC 2449 4: 255 octets with the CRLF. Answered now and the
            // rest of the line dropped as it comes, never buffered.
            if (lf == std::string::npos) {
                input_.clear();
                discarding_line_ = true;
            } else {
                input_.erase(0, lf + 1);
            }
            ++commands;
            if (mode_ == Mode::AuthExchange) {
                mode_ = Mode::Ready;
                exchange_.reset();
                error("Authentication line too long");
            } else {
                error("Command line too long");
            }
            continue;
        }
        if (lf == std::string::npos) return;
        std::string line = input_.substr(0, lf);
        input_.erase(0, lf + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        ++commands;
        if (mode_ == Mode::AuthExchange) {
            auth_line(line);
        } else {
            command(line);
        }
        wipe_string(line);  // it may have been a password
    }
}

void Pop3Session::command(std::string_view line) {
    const std::size_t space = line.find(' ');
    const std::string name = upper(line.substr(0, space));
    const std::string_view args =
        space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    if (name.empty()) {
        error("Empty command");
        return;
    }
    if (phase_ == Phase::Authorization) {
        authorization(name, args);
    } else {
        transaction(name, args);
    }
}

void Pop3Session::authorization(std::string_view name, std::string_view args) {
    if (name == "CAPA") return capa();
    if (name == "USER") return user_command(args);
    if (name == "PASS") return pass(args);
    if (name == "AUTH") return auth(args);
    if (name == "QUIT") {
        // RFC 1939 5: QUIT in AUTHORIZATION ends without UPDATE.
        close_with("+OK Logging out");
        return;
    }
    if (name == "STLS") {
        // RFC 2595 4: only before login, only once, only with a certificate.
        if (tls_) return error("Already using TLS");
        if (!context_.starttls_available) return error("TLS is not available");
        if (!args.empty()) return error("STLS takes no arguments");
        ok("Begin TLS negotiation now");
        // RFC 2595 4 and the CVE-2011-0411 class: nothing pipelined behind
        // STLS is read as a command.
        input_.clear();
        discarding_line_ = false;
        mode_ = Mode::StartingTls;
        return;
    }
    if (name == "NOOP" || name == "STAT" || name == "LIST" || name == "RETR" || name == "DELE" ||
        name == "RSET" || name == "TOP" || name == "UIDL") {
        return error("Not logged in");
    }
    error("Unknown command");
}

void Pop3Session::transaction(std::string_view name, std::string_view args) {
    if (name == "STAT") return args.empty() ? stat() : error("STAT takes no arguments");
    if (name == "LIST") return list(args);
    if (name == "UIDL") return uidl_command(args);
    if (name == "RETR") return retr(args);
    if (name == "TOP") return top(args);
    if (name == "DELE") return dele(args);
    if (name == "NOOP") return args.empty() ? ok("") : error("NOOP takes no arguments");
    if (name == "RSET") return args.empty() ? rset() : error("RSET takes no arguments");
    if (name == "CAPA") return capa();
    if (name == "QUIT") return quit_update();
    if (name == "USER" || name == "PASS" || name == "AUTH" || name == "STLS" || name == "APOP") {
        return error("Already logged in");
    }
    error("Unknown command");
}

void Pop3Session::capa() {
    // RFC 2449 5; the list depends on the state and on TLS, as each tag's
    // section says.
    ok("Capability list follows");
    output_.append("CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
    if (phase_ == Phase::Authorization) {
        if (plaintext_auth_allowed()) output_.append("USER\r\n");
        // RFC 5034 5: the mechanisms AUTH accepts here.
        const std::vector<std::string_view> mechanisms =
            sasl::Registry::standard().advertised(sasl_connection());
        if (!mechanisms.empty()) {
            output_.append("SASL");
            for (std::string_view name : mechanisms) {
                output_.append(' ');
                output_.append(name);
            }
            output_.append("\r\n");
        }
        if (!tls_ && context_.starttls_available) output_.append("STLS\r\n");
    }
    // Nothing is ever deleted by the server (RFC 2449 6.7), and a client may
    // log in again at once (6.5: LOGIN-DELAY 0, no [LOGIN-DELAY] refusals).
    output_.append("EXPIRE NEVER\r\nLOGIN-DELAY 0\r\nIMPLEMENTATION imapd\r\n.\r\n");
}

void Pop3Session::user_command(std::string_view args) {
    if (!plaintext_auth_allowed()) {
        // RFC 2595 4 / RFC 3206 4: the password would cross in clear.
        return error("[AUTH] Plaintext authentication is not allowed without TLS");
    }
    if (args.empty()) return error("USER needs a name");
    pending_user_ = std::string(args);
    ok("Send your password");
}

void Pop3Session::pass(std::string_view args) {
    if (!plaintext_auth_allowed()) {
        return error("[AUTH] Plaintext authentication is not allowed without TLS");
    }
    if (pending_user_.empty()) return error("USER first");
    // The rest of the line is the password: passwords may hold spaces
    // (Dovecot reads PASS the same way).
    std::string user = std::exchange(pending_user_, std::string());
    authenticate(std::move(user), Secret(args));
}

sasl::Connection Pop3Session::sasl_connection() const {
    return sasl::describe_connection(plaintext_auth_allowed(), authenticator_.offers_scram(), tls_,
                                     context_.channel_binding);
}

void Pop3Session::auth(std::string_view args) {
    const sasl::Registry& registry = sasl::Registry::standard();
    if (args.empty()) {
        // The mechanism list without a mechanism (RFC 1734's form, which
        // clients still send; Dovecot answers it the same way).
        ok("");
        for (std::string_view name : registry.advertised(sasl_connection())) {
            output_.append(name);
            output_.append("\r\n");
        }
        output_.append(".\r\n");
        return;
    }
    const std::vector<std::string_view> parts = split_args(args);
    if (parts.size() > 2 || parts[0].empty()) return error("Invalid AUTH arguments");
    sasl::Registry::Started started = registry.start(parts[0], sasl_connection());
    if (!started.exchange) {
        if (started.refusal == sasl::Registry::Refusal::PlaintextNotAllowed) {
            // RFC 5034 6, RFC 2595 4: not over a plaintext connection.
            return error("[AUTH] Plaintext authentication is not allowed without TLS");
        }
        return error("Unsupported authentication mechanism");
    }
    std::optional<Secret> initial;
    if (parts.size() == 2) {
        // RFC 5034 4: "=" is an empty initial response.
        if (parts[1] == "=") {
            initial = Secret();
        } else {
            initial = sasl::decode_base64(parts[1]);
            if (!initial) return error("Invalid base64 data");
        }
    }
    exchange_ = std::move(started.exchange);
    drive(exchange_->start(std::move(initial)));
}

void Pop3Session::auth_line(std::string_view line) {
    mode_ = Mode::Ready;
    if (line == "*") {
        // RFC 5034 4: the client cancels; the server answers -ERR.
        exchange_.reset();
        return error("Authentication cancelled");
    }
    std::optional<Secret> response = sasl::decode_base64(line);
    if (!response) {
        exchange_.reset();
        return error("Invalid base64 data");
    }
    if (!exchange_->next_response_verifies()) return drive(exchange_->respond(*response));
    // An address with recent failures waits before a proof is checked, as
    // before a password check (LoginGate::penalty).
    LoginGate* gate = context_.login_gate;
    const milliseconds penalty = gate ? gate->penalty(context_.peer) : milliseconds::zero();
    answer_after(penalty, [this, response = std::move(*response), penalised = penalty.count() > 0] {
        if (exchange_) drive(exchange_->respond(response), penalised);
    });
}

void Pop3Session::drive(sasl::Step step, bool penalised) {
    switch (step.kind) {
        case sasl::Step::Kind::Challenge:
            // RFC 5034 4: "+" SP base64 challenge.
            output_.append("+ ");
            output_.append(sasl::encode_base64(step.challenge));
            output_.append("\r\n");
            mode_ = Mode::AuthExchange;
            return;
        case sasl::Step::Kind::CheckPassword:
            exchange_.reset();
            return authenticate(std::move(step.authcid), std::move(step.password),
                                std::move(step.authzid));
        case sasl::Step::Kind::NeedScramCredentials: {
            std::optional<store::ScramCredentials> credentials =
                authenticator_.scram_credentials(step.authcid, step.hash);
            if (!credentials) {
                exchange_.reset();
                mode_ = Mode::Verifying;
                return verified(step.authcid, AuthResult::Unavailable, false);
            }
            return drive(exchange_->provide_credentials(*credentials), penalised);
        }
        case sasl::Step::Kind::Success:
            exchange_.reset();
            return sasl_success(step.authcid, penalised);
        case sasl::Step::Kind::Failure:
            break;
    }
    exchange_.reset();
    sasl_failure(step, penalised);
}

void Pop3Session::sasl_failure(const sasl::Step& step, bool penalised) {
    switch (step.failure) {
        case sasl::Failure::Malformed:
            return error(step.reason);
        case sasl::Failure::AuthenticationFailed:
            log::info("login_failed", {{"user", step.authcid}, {"peer", context_.peer}});
            mode_ = Mode::Verifying;
            return verified(step.authcid, AuthResult::Failed, penalised);
        case sasl::Failure::AuthorizationFailed:
            return error("[AUTH] " + step.reason);
        case sasl::Failure::Unavailable:
            mode_ = Mode::Verifying;
            return verified(step.authcid, AuthResult::Unavailable, penalised);
    }
    error(step.reason);
}

void Pop3Session::sasl_success(const std::string& user, bool penalised) {
    log::info("login_ok", {{"user", user}, {"peer", context_.peer}, {"verified", "scram"}});
    mode_ = Mode::Verifying;
    if (!context_.run_as_user) return verified(user, AuthResult::Ok, penalised);
    context_.run_as_user(user, [this, gone = gone_, user, penalised] {
        if (gone->load()) return;
        verified(user, AuthResult::Ok, penalised);
        process();
        if (output_listener_) output_listener_();
    });
}

void Pop3Session::answer_after(milliseconds wait, std::function<void()> answer) {
    if (wait > milliseconds::zero()) {
        mode_ = Mode::Delayed;
        delay_ = wait;
        after_delay_ = std::move(answer);
        return;
    }
    answer();
}

void Pop3Session::delay_elapsed() {
    if (mode_ != Mode::Delayed) return;
    mode_ = Mode::Ready;
    std::function<void()> then = std::move(after_delay_);
    after_delay_ = nullptr;
    if (then) then();
    // What the client pipelined meanwhile.
    process();
}

void Pop3Session::authenticate(std::string user, Secret password, std::string authzid) {
    LoginGate* gate = context_.login_gate;
    // An address with recent failures waits before its credentials are
    // looked at, whatever they turn out to be (LoginGate::penalty), as
    // IMAP LOGIN does.
    const milliseconds penalty = gate ? gate->penalty(context_.peer) : milliseconds::zero();
    const bool penalised = penalty > milliseconds::zero();
    answer_after(penalty, [this, user = std::move(user), password = std::move(password),
                           authzid = std::move(authzid), penalised]() mutable {
        verify(std::move(user), std::move(password), penalised, std::move(authzid));
    });
}

void Pop3Session::verify(std::string user, Secret password, bool penalised, std::string authzid) {
    mode_ = Mode::Verifying;
    AuthRequest request{user, std::move(password), context_.peer, context_.post_to_loop, gone_};
    // Whether the answer comes inside authenticate() (a fake, the cache on
    // the same thread) or later, from the transport's task.
    auto in_call = std::make_shared<bool>(true);
    auto later = [this] {
        // Go on with what was pipelined, and tell the transport (it reads
        // again, sends, arms a delay the answer started).
        process();
        if (output_listener_) output_listener_();
    };
    auto on_answer = [this, gone = gone_, user, penalised, in_call, later,
                      authzid](AuthResult answer) {
        if (gone->load()) return;
        if (answer == AuthResult::Ok && context_.run_as_user) {
            // The rest where the user's mail lives (their strand), as IMAP.
            context_.run_as_user(user, [this, gone, user, answer, penalised, later, authzid] {
                if (gone->load()) return;
                verified(user, answer, penalised, authzid);
                later();
            });
            return;
        }
        verified(user, answer, penalised, authzid);
        if (!*in_call) later();
    };
    try {
        authenticator_.authenticate(std::move(request), std::move(on_answer));
    } catch (const std::exception& failure) {
        log::error("pop3_auth_failed", {{"peer", context_.peer}, {"error", failure.what()}});
        if (mode_ == Mode::Verifying) {
            mode_ = Mode::Ready;
            error("[SYS/TEMP] Authentication is temporarily unavailable, try again later");
        }
    }
    *in_call = false;
}

void Pop3Session::verified(const std::string& user, AuthResult result, bool penalised,
                           const std::string& authzid) {
    if (mode_ != Mode::Verifying) return;
    mode_ = Mode::Ready;
    LoginGate* gate = context_.login_gate;
    const std::string& peer = context_.peer;
    switch (result) {
        case AuthResult::Ok:
            if (!authzid.empty() && !sasl::authorized(authzid, user)) {
                // RFC 4616 2: acting as another user is not supported; the
                // credentials were right (RFC 3206 [AUTH] all the same).
                return error("[AUTH] Not allowed to act as another user");
            }
            if (gate && !gate->admit(user, peer)) {
                // The per-user connection limit (IMAP's NO [LIMIT]).
                return error("[SYS/TEMP] Too many connections for this user");
            }
            holds_login_slot_ = gate != nullptr;
            user_ = user;
            login(user);
            return;
        case AuthResult::Failed: {
            metrics().login(false);
            const milliseconds wait = gate ? gate->failed(peer) : milliseconds::zero();
            // RFC 3206 4 [AUTH]: the credentials, not the server, are wrong.
            return answer_after(penalised ? milliseconds::zero() : wait,
                                [this] { error("[AUTH] Authentication failed"); });
        }
        case AuthResult::Unavailable:
            break;
    }
    const milliseconds wait = gate && !penalised ? gate->unavailable(peer) : milliseconds::zero();
    answer_after(wait, [this] {
        error("[SYS/TEMP] Authentication is temporarily unavailable, try again later");
    });
}

void Pop3Session::login(const std::string& user) {
    auto give_back = [this] {
        if (holds_login_slot_ && context_.login_gate != nullptr) {
            holds_login_slot_ = false;
            context_.login_gate->release(user_);
        }
        user_.clear();
    };
    std::string canonical;
    try {
        canonical = store::AccountStore::canonical_user_name(user);
    } catch (const std::exception&) {
        canonical = user;
    }
    if (!locks_.try_lock(canonical)) {
        give_back();
        // RFC 1939 8, RFC 2449 8.1.1 [IN-USE].
        return error("[IN-USE] Mailbox is locked by another POP3 session");
    }
    MaildropLock lock(locks_, canonical);
    if (mail_access_ == nullptr) {
        give_back();
        return error("[SYS/TEMP] Your mail cannot be opened just now, try again later");
    }
    try {
        mail_ = mail_access_->open(user);
        store::MailStore& store = mail_->store();
        const store::MailboxInfo inbox = store.open_mailbox("INBOX");
        inbox_ = inbox.id;
        uidvalidity_ = inbox.uidvalidity;
        // The snapshot that numbers the messages for the whole session (RFC
        // 1939 6: numbers do not change; DELE only marks).
        const store::UidRange all{1, store::limits::kMaxUid};
        messages_.clear();
        for (const store::MessageInfo& info : store.fetch(inbox_, std::span(&all, 1))) {
            messages_.push_back({info.uid, info.size, false, false});
        }
    } catch (const std::exception& failure) {
        log::error("mail_open_failed", {{"user", user}, {"error", failure.what()}});
        mail_.reset();
        messages_.clear();
        give_back();
        return error("[SYS/TEMP] Your mail cannot be opened just now, try again later");
    }
    lock_ = std::move(lock);
    phase_ = Phase::Transaction;
    metrics().login(true);
    log::info("pop3_login", {{"user", user},
                             {"peer", context_.peer},
                             {"messages", static_cast<std::uint64_t>(messages_.size())}});
    ok("Logged in");
}

Pop3Session::Message* Pop3Session::message_arg(std::string_view arg) {
    const std::optional<std::uint64_t> number = parse_number(arg);
    if (!number) {
        error("Invalid message number");
        return nullptr;
    }
    if (*number == 0 || *number > messages_.size()) {
        error("No such message");
        return nullptr;
    }
    Message& message = messages_[*number - 1];
    if (message.deleted) {
        // RFC 1939 5: a deleted message may not be referred to.
        error("Message is deleted");
        return nullptr;
    }
    return &message;
}

void Pop3Session::stat() {
    std::uint64_t count = 0;
    std::uint64_t octets = 0;
    for (const Message& message : messages_) {
        if (message.deleted) continue;
        ++count;
        octets += message.size;
    }
    ok(std::to_string(count) + " " + std::to_string(octets));
}

void Pop3Session::list(std::string_view args) {
    if (!args.empty()) {
        Message* message = message_arg(args);
        if (message == nullptr) return;
        ok(std::to_string(message - messages_.data() + 1) + " " + std::to_string(message->size));
        return;
    }
    std::uint64_t count = 0;
    std::uint64_t octets = 0;
    for (const Message& message : messages_) {
        if (message.deleted) continue;
        ++count;
        octets += message.size;
    }
    ok(std::to_string(count) + " messages (" + std::to_string(octets) + " octets)");
    std::size_t next = 0;
    start_step([this, next]() mutable {
        // A bounded batch per step: a listing of a large maildrop pauses at
        // the high-water mark like a message.
        for (std::size_t n = 0; next < messages_.size() && n < 1024; ++next, ++n) {
            const Message& message = messages_[next];
            if (message.deleted) continue;
            output_.append(std::to_string(next + 1) + " " + std::to_string(message.size) + "\r\n");
        }
        if (next < messages_.size()) return false;
        output_.append(".\r\n");
        return true;
    });
}

void Pop3Session::uidl_command(std::string_view args) {
    if (!args.empty()) {
        Message* message = message_arg(args);
        if (message == nullptr) return;
        ok(std::to_string(message - messages_.data() + 1) + " " + uidl(message->uid, uidvalidity_));
        return;
    }
    ok("Unique-ID listing follows");
    std::size_t next = 0;
    start_step([this, next]() mutable {
        for (std::size_t n = 0; next < messages_.size() && n < 1024; ++next, ++n) {
            const Message& message = messages_[next];
            if (message.deleted) continue;
            output_.append(std::to_string(next + 1) + " " + uidl(message.uid, uidvalidity_) +
                           "\r\n");
        }
        if (next < messages_.size()) return false;
        output_.append(".\r\n");
        return true;
    });
}

void Pop3Session::retr(std::string_view args) {
    if (args.empty()) return error("RETR needs a message number");
    Message* message = message_arg(args);
    if (message == nullptr) return;
    send_message(*message, std::nullopt);
}

void Pop3Session::top(std::string_view args) {
    const std::vector<std::string_view> parts = split_args(args);
    if (parts.size() != 2) return error("TOP needs a message number and a line count");
    const std::optional<std::uint64_t> lines = parse_number(parts[1]);
    if (!lines) return error("Invalid line count");
    Message* message = message_arg(parts[0]);
    if (message == nullptr) return;
    send_message(*message, lines);
}

void Pop3Session::send_message(Message& message, std::optional<std::uint64_t> body_lines) {
    store::MailStore& store = mail_->store();
    const store::UidRange range{message.uid, message.uid};
    std::vector<store::MessageInfo> found;
    try {
        found = store.fetch(inbox_, std::span(&range, 1));
    } catch (const std::exception& failure) {
        log::error("pop3_fetch_failed", {{"user", user_}, {"error", failure.what()}});
        return error("[SYS/TEMP] The message cannot be read just now");
    }
    if (found.empty()) {
        // Expunged by an IMAP session after the snapshot (docs/pop3.md).
        return error("Message was removed by another session");
    }
    if (body_lines) {
        ok("Top of message follows");
    } else {
        message.retrieved = true;
        ok(std::to_string(message.size) + " octets");
    }
    // Pinned while it streams: an expunge meanwhile cannot cut it short.
    auto pin = std::make_shared<store::MailStore::BodyPin>(store.pin_body(found.front().body_id));
    struct Cursor {
        store::BodyId body;
        std::uint64_t size = 0;
        std::uint64_t offset = 0;
        std::uint64_t line_chars = 0;  // of the line being sent
        bool after_cr = false;         // its last byte was a CR
        bool in_header = true;
        std::optional<std::uint64_t> lines_left;  // TOP's body lines
    };
    auto cursor = std::make_shared<Cursor>();
    cursor->body = found.front().body_id;
    cursor->size = found.front().size;
    cursor->lines_left = body_lines;
    start_step([this, cursor, pin]() {
        Cursor& c = *cursor;
        const auto top_done = [&c] { return !c.in_header && c.lines_left && *c.lines_left == 0; };
        const auto finish = [this, &c] {
            // RFC 1939 3: every line of the answer ends with CRLF before the
            // final ".": a message without a final line end gets one.
            if (c.line_chars > 0) output_.append(c.after_cr ? "\n" : "\r\n");
            output_.append(".\r\n");
            return true;
        };
        if (top_done() || c.offset >= c.size) return finish();
        const std::string chunk =
            mail_->store().read_body(c.body, c.offset, limits::pop3::kReadChunk);
        if (chunk.empty()) return finish();
        std::string out;
        out.reserve(chunk.size() + chunk.size() / 64 + 16);
        std::size_t i = 0;
        while (i < chunk.size()) {
            const char ch = chunk[i++];
            if (ch == '\n') {
                // A bare LF goes out as CRLF (RFC 1939 3: lines end in CRLF).
                if (!c.after_cr) out.push_back('\r');
                out.push_back('\n');
                const bool blank = c.line_chars == 0 || (c.line_chars == 1 && c.after_cr);
                c.line_chars = 0;
                c.after_cr = false;
                if (c.in_header) {
                    if (blank) c.in_header = false;  // RFC 5322 2.1: the header's end
                } else if (c.lines_left) {
                    --*c.lines_left;
                }
                if (top_done()) break;
                continue;
            }
            // RFC 1939 3: a line that begins with "." gets another.
            if (c.line_chars == 0 && ch == '.') out.push_back('.');
            out.push_back(ch);
            ++c.line_chars;
            c.after_cr = ch == '\r';
        }
        c.offset += i;
        output_.append(std::move(out));
        if (top_done() || c.offset >= c.size) return finish();
        return false;
    });
}

void Pop3Session::dele(std::string_view args) {
    if (args.empty()) return error("DELE needs a message number");
    Message* message = message_arg(args);
    if (message == nullptr) return;
    message->deleted = true;
    ok("Message " + std::to_string(message - messages_.data() + 1) + " deleted");
}

void Pop3Session::rset() {
    for (Message& message : messages_)
        message.deleted = false;
    stat();
}

void Pop3Session::quit_update() {
    // RFC 1939 6: the UPDATE state. One transaction: every deletion and
    // every \Seen, or none (MailStore::update_maildrop).
    std::vector<std::uint32_t> seen;
    std::vector<std::uint32_t> remove;
    for (const Message& message : messages_) {
        if (message.deleted) {
            remove.push_back(message.uid);
        } else if (message.retrieved) {
            seen.push_back(message.uid);
        }
    }
    std::size_t removed = 0;
    try {
        if (!seen.empty() || !remove.empty()) {
            removed = mail_->store().update_maildrop(inbox_, seen, remove).uids.size();
        }
    } catch (const std::exception& failure) {
        log::error("pop3_update_failed", {{"user", user_}, {"error", failure.what()}});
        // RFC 1939 6: -ERR when the deletions could not be made; RFC 3206
        // 4 SYS/TEMP: they may work later.
        close_with("-ERR [SYS/TEMP] Deleted messages were not removed, try again later");
        return;
    }
    log::info("pop3_update", {{"user", user_},
                              {"deleted", static_cast<std::uint64_t>(removed)},
                              {"seen", static_cast<std::uint64_t>(seen.size())}});
    // The transport holds this line until the commit is durable (group
    // commit): the client never hears of a deletion that a crash undoes.
    close_with("+OK Logging out, " + std::to_string(removed) + " messages deleted");
}

void Pop3Session::start_step(Step step) {
    step_ = std::move(step);
    mode_ = Mode::Streaming;
    run_step();
}

void Pop3Session::run_step() {
    while (mode_ == Mode::Streaming && step_) {
        if (unsent() >= kOutputHighWater) {
            paused_ = true;
            return;
        }
        bool done = false;
        try {
            done = step_();
        } catch (const std::exception& failure) {
            // The answer is cut in the middle: only closing tells the client.
            log::error("pop3_read_failed", {{"user", user_}, {"error", failure.what()}});
            step_ = nullptr;
            mode_ = Mode::Closing;
            phase_ = Phase::Done;
            lock_.release();
            return;
        }
        if (done) {
            step_ = nullptr;
            mode_ = Mode::Ready;
        }
    }
}

}  // namespace imap::server::pop3
