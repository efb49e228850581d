// imapd-loadgen: an IMAP load generator on libuv, pointed at any server by
// host, port, users and password, so one run measures imapd and Dovecot
// alike (tests/bench/bench_throughput.py drives it). Not a test: it asserts
// nothing about speed; it fails (exit 1) only when a server answers wrongly
// (a NO/BAD/BYE where OK is due, a dropped connection).
//
// Modes (every client is one connection with one command in flight, the
// way a mail client talks; the load comes from many clients at once):
//   mixed        clients already logged in and SELECTed loop over one cycle
//                of APPEND, UID FETCH BODY.PEEK[], FETCH ENVELOPE, UID STORE,
//                LIST, STATUS, SELECT, UID STORE \Deleted, UID EXPUNGE: the
//                mailbox keeps its size, every cycle writes 4 times.
//   mixed-login  the same cycle, with LOGIN before and LOGOUT after it on a
//                new connection each time.
//   append       each client APPENDs --messages messages of --message-size
//                bytes to its user's INBOX, one at a time, each awaited;
//                all start once every client has logged in, and the rate
//                is over the APPENDs alone (first sent to last answered).
//                --split-literal writes a synchronising literal the way
//                Python's imaplib does: the command, wait for "+", the
//                literal, then the closing CRLF in a write of its own.
//   login        connect, LOGIN, LOGOUT, close, in a loop.
//   noop         logged-in clients send NOOP in a loop: the latency probe a
//                fairness measurement runs beside another load. With
//                --interval-ms N each client sends on a fixed schedule, one
//                NOOP every N ms, and a round trip counts from the time the
//                NOOP was due, not from when it could be sent: a stall of
//                the server then shows in every sample it delayed, not in
//                one (no coordinated omission).
//   search       after SELECT, UID SEARCH TEXT "<needle>" in a loop, one
//                awaited at a time, the needles of --needles in turn: a
//                heavy reader for fairness runs (a needle of one or two
//                characters has no trigram in the index, so every
//                message's text is read; RFC 3501 6.4.4 is substring).
//   bad-login    hostile: wrong-password LOGINs, fire-and-forget (the
//                connection is dropped 100 ms after the LOGIN is sent),
//                from --source-ips loopback addresses 127.0.0.2.. in turn.
//
// Output: one line of totals, then per command: count, p50/p90/p99/max in
// microseconds, from every sample (no histogram approximation); --json for
// machines.
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string host = "127.0.0.1";
    int port = 143;
    std::string mode = "mixed";
    int clients = 10;
    std::vector<std::string> users;  // client i uses users[i % size]
    std::string password = "pw";
    double duration = 20;  // seconds of measurement
    double warmup = 2;     // seconds before measuring
    std::string mailbox = "INBOX";
    std::size_t message_size = 3 * 1024;
    int messages = 200;  // append mode: per client
    bool split_literal = false;
    int source_ips = 1;
    double interval_ms = 0;                 // noop mode: a fixed schedule
    std::vector<std::string> needles{"q"};  // search mode, in turn
    bool json = false;
    std::uint64_t seed = 1;
};

[[noreturn]] void usage(const char* error) {
    if (error) std::fprintf(stderr, "imapd-loadgen: %s\n", error);
    std::fprintf(stderr,
                 "usage: imapd-loadgen --port N [--host H] [--mode "
                 "mixed|mixed-login|append|login|noop|search|bad-login]\n"
                 "  [--clients N] [--users a,b,...] [--password P] [--duration S] [--warmup S]\n"
                 "  [--mailbox M] [--message-size B] [--messages N] [--split-literal]\n"
                 "  [--source-ips N] [--interval-ms N] [--needles a,b,...] [--seed N] [--json]\n");
    std::exit(2);
}

// "a,b,,c" -> {a, b, c}.
std::vector<std::string> split_list(const std::string& list) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= list.size()) {
        const std::size_t comma = list.find(',', start);
        std::string item =
            list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!item.empty()) items.push_back(std::move(item));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return items;
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage("missing value");
            return argv[++i];
        };
        if (arg == "--host")
            o.host = value();
        else if (arg == "--port")
            o.port = std::stoi(value());
        else if (arg == "--mode")
            o.mode = value();
        else if (arg == "--clients")
            o.clients = std::stoi(value());
        else if (arg == "--users")
            o.users = split_list(value());
        else if (arg == "--password")
            o.password = value();
        else if (arg == "--duration")
            o.duration = std::stod(value());
        else if (arg == "--warmup")
            o.warmup = std::stod(value());
        else if (arg == "--mailbox")
            o.mailbox = value();
        else if (arg == "--message-size")
            o.message_size = std::stoul(value());
        else if (arg == "--messages")
            o.messages = std::stoi(value());
        else if (arg == "--split-literal")
            o.split_literal = true;
        else if (arg == "--source-ips")
            o.source_ips = std::stoi(value());
        else if (arg == "--interval-ms")
            o.interval_ms = std::stod(value());
        else if (arg == "--needles") {
            o.needles = split_list(value());
            if (o.needles.empty()) usage("empty --needles");
        } else if (arg == "--seed")
            o.seed = std::stoull(value());
        else if (arg == "--json")
            o.json = true;
        else
            usage("unknown option");
    }
    if (o.users.empty()) o.users.push_back("bench");
    if (o.clients < 1 || o.port <= 0) usage("bad --clients or --port");
    return o;
}

// A message of about `size` bytes, unique per call (a Message-ID and a
// counter), CRLF line ends.
std::string make_message(std::size_t size, std::uint64_t serial, std::mt19937_64& rng) {
    std::string m =
        "From: Load Generator <loadgen@example.org>\r\n"
        "To: bench@example.org\r\n"
        "Subject: load message " +
        std::to_string(serial) +
        "\r\n"
        "Date: Sat, 05 Dec 2026 10:00:00 +0000\r\n"
        "Message-ID: <" +
        std::to_string(serial) + "." + std::to_string(rng()) +
        "@loadgen.example.org>\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
    static const char words[] =
        "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ";
    while (m.size() + 2 < size) {
        const std::size_t line = std::min<std::size_t>(72, size - m.size() - 2);
        for (std::size_t i = 0; i < line; ++i)
            m += words[(i + serial) % (sizeof words - 1)];
        m += "\r\n";
    }
    return m;
}

struct Stats {
    std::map<std::string, std::vector<std::uint32_t>> samples;  // command -> microseconds
    std::uint64_t errors = 0;
    std::vector<std::string> error_lines;
    void add(const std::string& command, std::uint32_t micros) {
        samples[command].push_back(micros);
    }
    void error(std::string line) {
        ++errors;
        if (error_lines.size() < 20) error_lines.push_back(std::move(line));
    }
};

struct Loadgen;

// One connection. Runs a script of steps: each step sends one command (or
// the literal of one) and waits for its tagged answer.
class Client {
  public:
    Client(Loadgen& gen, int index);
    void start();
    bool finished() const { return finished_; }

  private:
    enum class Phase { Connecting, Greeting, Login, Select, Cycle, Logout, Closing };

    static void on_connect(uv_connect_t* req, int status);
    static void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buf);
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_close(uv_handle_t* handle);
    static void on_drop_timer(uv_timer_t* timer);
    static void on_schedule_timer(uv_timer_t* timer);

    void connect();
    void write(std::string bytes);
    void send_command(std::string name, std::string text);
    void handle_bytes(const char* data, std::size_t size);
    void handle_line(std::string_view line);
    void on_tagged(std::string_view status, std::string_view line);
    void next_step();
    void next_cycle_command();
    void close_connection();
    const std::string& user() const;

    Loadgen& gen_;
    int index_;
    uv_tcp_t tcp_{};
    uv_connect_t connect_req_{};
    uv_timer_t drop_timer_{};
    uv_timer_t schedule_timer_{};
    bool schedule_timer_open_ = false;
    Clock::time_point due_{};  // noop --interval-ms: when the next NOOP is due
    bool tcp_open_ = false;
    Phase phase_ = Phase::Connecting;
    std::string buffer_;
    std::uint64_t literal_left_ = 0;
    std::string tag_;
    std::uint64_t tag_serial_ = 0;
    std::string command_;  // name for stats
    Clock::time_point sent_at_{};
    bool waiting_continuation_ = false;
    std::string pending_literal_;
    int cycle_step_ = 0;
    std::uint32_t own_uid_ = 0;
    int appended_ = 0;
    bool finished_ = false;
    char read_buffer_[64 * 1024];
};

struct Loadgen {
    Options options;
    uv_loop_t* loop = nullptr;
    Stats stats;
    std::vector<std::unique_ptr<Client>> clients;
    Clock::time_point measure_from;
    Clock::time_point measure_until;
    bool stopping = false;
    std::mt19937_64 rng;
    std::uint64_t message_serial = 0;
    std::uint64_t completed_cycles = 0;
    std::uint64_t completed_appends = 0;
    std::uint64_t completed_logins = 0;
    uv_timer_t stop_timer{};
    // append mode: every client logs in first and waits; the APPENDs of all
    // start together once the last is in, so the rate is the APPENDs' own
    // (ten yescrypt LOGINs take a third of a 200-message run on two cores,
    // and they are measured by mixed-login and login).
    std::vector<Client*> logged_in;
    Clock::time_point appends_from{};
    Clock::time_point appends_until{};
    double whole_seconds = 0;

    bool measuring(Clock::time_point at) const { return at >= measure_from && at < measure_until; }
    std::string next_message() { return make_message(options.message_size, ++message_serial, rng); }
};

Client::Client(Loadgen& gen, int index) : gen_(gen), index_(index) {}

const std::string& Client::user() const {
    return gen_.options.users[static_cast<std::size_t>(index_) % gen_.options.users.size()];
}

void Client::start() {
    connect();
}

void Client::connect() {
    uv_tcp_init(gen_.loop, &tcp_);
    tcp_.data = this;
    tcp_open_ = true;
    phase_ = Phase::Connecting;
    buffer_.clear();
    literal_left_ = 0;
    if (gen_.options.source_ips > 1) {
        // Loopback addresses 127.0.0.2 ... in turn, so a per-address limit
        // or delay sees several clients.
        sockaddr_in local{};
        const std::string ip =
            "127.0.0." + std::to_string(2 + (index_ + static_cast<int>(gen_.completed_logins)) %
                                                gen_.options.source_ips);
        uv_ip4_addr(ip.c_str(), 0, &local);
        uv_tcp_bind(&tcp_, reinterpret_cast<const sockaddr*>(&local), 0);
    }
    sockaddr_storage addr{};
    if (gen_.options.host.find(':') != std::string::npos) {
        uv_ip6_addr(gen_.options.host.c_str(), gen_.options.port,
                    reinterpret_cast<sockaddr_in6*>(&addr));
    } else {
        uv_ip4_addr(gen_.options.host.c_str(), gen_.options.port,
                    reinterpret_cast<sockaddr_in*>(&addr));
    }
    connect_req_.data = this;
    sent_at_ = Clock::now();
    const int rc = uv_tcp_connect(&connect_req_, &tcp_, reinterpret_cast<const sockaddr*>(&addr),
                                  &Client::on_connect);
    if (rc < 0) {
        gen_.stats.error(std::string("connect: ") + uv_strerror(rc));
        finished_ = true;
    }
}

void Client::on_connect(uv_connect_t* req, int status) {
    auto* self = static_cast<Client*>(req->data);
    if (status < 0) {
        self->gen_.stats.error(std::string("connect: ") + uv_strerror(status));
        self->close_connection();
        self->finished_ = true;
        return;
    }
    self->phase_ = Phase::Greeting;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&self->tcp_), &Client::on_alloc, &Client::on_read);
}

void Client::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<Client*>(handle->data);
    *buf = uv_buf_init(self->read_buffer_, sizeof self->read_buffer_);
}

void Client::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<Client*>(stream->data);
    if (nread == 0) return;
    if (nread < 0) {
        if (self->phase_ != Phase::Closing && !self->gen_.stopping) {
            self->gen_.stats.error("connection closed by the server during " + self->command_);
        }
        self->close_connection();
        return;
    }
    self->handle_bytes(buf->base, static_cast<std::size_t>(nread));
}

struct WriteReq {
    uv_write_t req{};
    std::string bytes;
};

void Client::write(std::string bytes) {
    auto* w = new WriteReq;
    w->bytes = std::move(bytes);
    w->req.data = w;
    uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, &Client::on_write) < 0) {
        delete w;
    }
}

void Client::on_write(uv_write_t* req, int) {
    delete static_cast<WriteReq*>(req->data);
}

void Client::send_command(std::string name, std::string text) {
    // snprintf, not string concatenation: g++ 12 -O3 warns falsely
    // (-Wrestrict) on the latter here.
    char tag[32];
    std::snprintf(tag, sizeof tag, "c%llu", static_cast<unsigned long long>(++tag_serial_));
    tag_.assign(tag);
    command_ = std::move(name);
    sent_at_ = Clock::now();
    std::string line;
    line.reserve(tag_.size() + 1 + text.size());
    line.append(tag_).append(" ").append(text);
    write(std::move(line));
}

void Client::handle_bytes(const char* data, std::size_t size) {
    std::size_t pos = 0;
    while (pos < size) {
        if (literal_left_ > 0) {
            const std::size_t take =
                static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, size - pos));
            literal_left_ -= take;
            pos += take;
            continue;
        }
        const char* nl = static_cast<const char*>(std::memchr(data + pos, '\n', size - pos));
        if (nl == nullptr) {
            buffer_.append(data + pos, size - pos);
            return;
        }
        const std::size_t end = static_cast<std::size_t>(nl - data) + 1;
        buffer_.append(data + pos, end - pos);
        pos = end;
        std::string line = std::move(buffer_);
        buffer_.clear();
        // A literal announced at the end of the line: skip its bytes; the
        // response continues on the line after it.
        if (line.size() >= 4 && line[line.size() - 3] == '}') {
            const std::size_t open = line.rfind('{');
            if (open != std::string::npos) {
                literal_left_ = std::strtoull(line.c_str() + open + 1, nullptr, 10);
                continue;
            }
        }
        handle_line(line);
        if (tcp_open_ == false) return;
    }
}

void Client::handle_line(std::string_view line) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.remove_suffix(1);
    if (phase_ == Phase::Greeting) {
        if (!line.starts_with("* OK")) {
            gen_.stats.error("greeting: " + std::string(line));
            close_connection();
            return;
        }
        if (gen_.options.mode == "bad-login") {
            phase_ = Phase::Login;
            send_command("LOGIN", "LOGIN " + user() + " wrong-" + gen_.options.password + "\r\n");
            uv_timer_init(gen_.loop, &drop_timer_);
            drop_timer_.data = this;
            uv_timer_start(&drop_timer_, &Client::on_drop_timer, 100, 0);
            return;
        }
        phase_ = Phase::Login;
        send_command("LOGIN", "LOGIN " + user() + " " + gen_.options.password + "\r\n");
        return;
    }
    if (line.starts_with("+")) {
        if (waiting_continuation_) {
            waiting_continuation_ = false;
            // imaplib's pattern: the literal, then the CRLF on its own.
            write(std::move(pending_literal_));
            pending_literal_.clear();
            write("\r\n");
        }
        return;
    }
    if (line.starts_with("* BYE") && phase_ != Phase::Logout) {
        gen_.stats.error("BYE during " + command_ + ": " + std::string(line));
        return;
    }
    if (!tag_.empty() && line.size() > tag_.size() && line.starts_with(tag_) &&
        line[tag_.size()] == ' ') {
        std::string_view rest = line.substr(tag_.size() + 1);
        const std::size_t space = rest.find(' ');
        on_tagged(rest.substr(0, space), line);
    }
}

void Client::on_schedule_timer(uv_timer_t* timer) {
    auto* self = static_cast<Client*>(timer->data);
    if (self->gen_.stopping) {
        self->next_step();
        return;
    }
    self->next_cycle_command();
}

void Client::on_drop_timer(uv_timer_t* timer) {
    auto* self = static_cast<Client*>(timer->data);
    uv_close(reinterpret_cast<uv_handle_t*>(timer), nullptr);
    ++self->gen_.completed_logins;
    self->close_connection();
}

void Client::on_tagged(std::string_view status, std::string_view line) {
    const auto now = Clock::now();
    const auto micros = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(now - sent_at_).count());
    const bool ok = status == "OK";
    if (gen_.measuring(sent_at_)) gen_.stats.add(command_, micros);
    if (!ok && !(phase_ == Phase::Login && gen_.options.mode == "bad-login")) {
        gen_.stats.error(command_ + ": " + std::string(line));
    }
    if (command_ == "APPEND") {
        const std::size_t code = line.find("[APPENDUID ");
        own_uid_ = 0;
        if (code != std::string_view::npos) {
            const std::size_t space = line.find(' ', code + 11);
            own_uid_ = static_cast<std::uint32_t>(
                std::strtoul(std::string(line.substr(space + 1)).c_str(), nullptr, 10));
        }
        if (gen_.measuring(sent_at_)) ++gen_.completed_appends;
        gen_.appends_until = now;
    }
    if (phase_ == Phase::Login && gen_.measuring(sent_at_)) ++gen_.completed_logins;
    next_step();
}

void Client::next_step() {
    const Options& o = gen_.options;
    if (gen_.stopping && phase_ != Phase::Logout && phase_ != Phase::Closing) {
        phase_ = Phase::Logout;
        send_command("LOGOUT", "LOGOUT\r\n");
        return;
    }
    if (o.mode == "bad-login") return;  // the drop timer ends the connection
    switch (phase_) {
        case Phase::Login:
            if (o.mode == "login") {
                phase_ = Phase::Logout;
                send_command("LOGOUT", "LOGOUT\r\n");
                return;
            }
            if (o.mode == "append") {
                // Waits for the others (Loadgen::logged_in).
                phase_ = Phase::Cycle;
                cycle_step_ = 0;
                gen_.logged_in.push_back(this);
                if (gen_.logged_in.size() < gen_.clients.size()) return;
                gen_.appends_from = Clock::now();
                for (Client* client : gen_.logged_in)
                    client->next_cycle_command();
                return;
            }
            if (o.mode == "noop") {
                phase_ = Phase::Cycle;
                cycle_step_ = 0;
                next_cycle_command();
                return;
            }
            phase_ = Phase::Select;
            send_command("SELECT", "SELECT " + o.mailbox + "\r\n");
            return;
        case Phase::Select:
            phase_ = Phase::Cycle;
            cycle_step_ = 0;
            next_cycle_command();
            return;
        case Phase::Cycle:
            next_cycle_command();
            return;
        case Phase::Logout:
            phase_ = Phase::Closing;
            close_connection();
            return;
        default:
            return;
    }
}

void Client::next_cycle_command() {
    const Options& o = gen_.options;
    if (o.mode == "noop") {
        if (o.interval_ms <= 0) {
            send_command("NOOP", "NOOP\r\n");
            return;
        }
        const auto now = Clock::now();
        if (due_ == Clock::time_point{}) due_ = now;
        if (due_ > now) {
            if (!schedule_timer_open_) {
                uv_timer_init(gen_.loop, &schedule_timer_);
                schedule_timer_.data = this;
                schedule_timer_open_ = true;
            }
            const auto wait =
                std::chrono::duration_cast<std::chrono::milliseconds>(due_ - now).count();
            uv_timer_start(&schedule_timer_, &Client::on_schedule_timer,
                           static_cast<std::uint64_t>(std::max<long>(wait, 0)), 0);
            return;
        }
        send_command("NOOP", "NOOP\r\n");
        // Measured from when it was due (the send may be late after a stall).
        sent_at_ = due_;
        due_ += std::chrono::microseconds(static_cast<long>(o.interval_ms * 1000));
        return;
    }
    if (o.mode == "search") {
        const std::string& needle =
            o.needles[static_cast<std::size_t>(cycle_step_++) % o.needles.size()];
        send_command("UID SEARCH TEXT", "UID SEARCH TEXT \"" + needle + "\"\r\n");
        return;
    }
    if (o.mode == "append") {
        if (appended_ >= o.messages) {
            phase_ = Phase::Logout;
            send_command("LOGOUT", "LOGOUT\r\n");
            return;
        }
        ++appended_;
        std::string message = gen_.next_message();
        const std::string head =
            "APPEND " + o.mailbox + " (\\Seen) {" + std::to_string(message.size());
        if (o.split_literal) {
            waiting_continuation_ = true;
            pending_literal_ = std::move(message);
            send_command("APPEND", head + "}\r\n");
        } else {
            send_command("APPEND", head + "+}\r\n" + message + "\r\n");
        }
        return;
    }
    // mixed / mixed-login: one cycle of nine commands.
    const int step = cycle_step_++;
    switch (step) {
        case 0: {
            std::string message = gen_.next_message();
            send_command("APPEND", "APPEND " + o.mailbox + " {" + std::to_string(message.size()) +
                                       "+}\r\n" + message + "\r\n");
            return;
        }
        case 1:
            send_command("UID FETCH BODY",
                         "UID FETCH " + std::to_string(own_uid_) + " (FLAGS BODY.PEEK[])\r\n");
            return;
        case 2:
            send_command("FETCH ENVELOPE", "FETCH 1:20 (UID FLAGS RFC822.SIZE ENVELOPE)\r\n");
            return;
        case 3:
            send_command("UID STORE",
                         "UID STORE " + std::to_string(own_uid_) + " +FLAGS (\\Flagged)\r\n");
            return;
        case 4:
            send_command("LIST", "LIST \"\" \"*\"\r\n");
            return;
        case 5:
            send_command("STATUS", "STATUS " + o.mailbox + " (MESSAGES UNSEEN UIDNEXT)\r\n");
            return;
        case 6:
            send_command("SELECT", "SELECT " + o.mailbox + "\r\n");
            return;
        case 7:
            send_command("UID STORE", "UID STORE " + std::to_string(own_uid_) +
                                          " +FLAGS.SILENT (\\Deleted)\r\n");
            return;
        case 8:
            send_command("UID EXPUNGE", "UID EXPUNGE " + std::to_string(own_uid_) + "\r\n");
            return;
        default:
            break;
    }
    ++gen_.completed_cycles;
    cycle_step_ = 0;
    if (o.mode == "mixed-login") {
        phase_ = Phase::Logout;
        send_command("LOGOUT", "LOGOUT\r\n");
        return;
    }
    next_cycle_command();
}

void Client::close_connection() {
    if (!tcp_open_) return;
    tcp_open_ = false;
    if (schedule_timer_open_) {
        schedule_timer_open_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&schedule_timer_), nullptr);
    }
    phase_ = Phase::Closing;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Client::on_close);
}

void Client::on_close(uv_handle_t* handle) {
    auto* self = static_cast<Client*>(handle->data);
    const Options& o = self->gen_.options;
    const bool reconnecting_mode =
        o.mode == "mixed-login" || o.mode == "login" || o.mode == "bad-login";
    if (reconnecting_mode && !self->gen_.stopping) {
        self->connect();
        return;
    }
    self->finished_ = true;
}

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    // Nearest rank.
    std::size_t rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size()));
    if (rank >= sorted.size()) rank = sorted.size() - 1;
    return sorted[rank];
}

void report(Loadgen& gen, double seconds) {
    std::uint64_t total = 0;
    std::vector<std::uint32_t> all;
    for (auto& [name, samples] : gen.stats.samples) {
        std::sort(samples.begin(), samples.end());
        total += samples.size();
        // append: the latency figures are the APPENDs' (the LOGINs, a few
        // yescrypt hashes, would be the whole top percent of a short run).
        if (gen.options.mode == "append" && name != "APPEND") continue;
        all.insert(all.end(), samples.begin(), samples.end());
    }
    std::sort(all.begin(), all.end());
    const Options& o = gen.options;
    if (o.json) {
        std::printf(
            "{\"mode\":\"%s\",\"clients\":%d,\"seconds\":%.3f,\"whole_seconds\":%.3f,"
            "\"commands\":%llu,"
            "\"commands_per_s\":%.1f,\"cycles\":%llu,\"appends\":%llu,"
            "\"appends_per_s\":%.1f,\"logins\":%llu,\"logins_per_s\":%.1f,"
            "\"errors\":%llu,\"p50_us\":%u,\"p99_us\":%u,\"max_us\":%u,\"commands_by_name\":{",
            o.mode.c_str(), o.clients, seconds, gen.whole_seconds,
            static_cast<unsigned long long>(total), static_cast<double>(total) / seconds,
            static_cast<unsigned long long>(gen.completed_cycles),
            static_cast<unsigned long long>(gen.completed_appends),
            static_cast<double>(gen.completed_appends) / seconds,
            static_cast<unsigned long long>(gen.completed_logins),
            static_cast<double>(gen.completed_logins) / seconds,
            static_cast<unsigned long long>(gen.stats.errors), percentile(all, 50),
            percentile(all, 99), all.empty() ? 0 : all.back());
        bool first = true;
        for (const auto& [name, samples] : gen.stats.samples) {
            std::printf(
                "%s\"%s\":{\"count\":%zu,\"p50_us\":%u,\"p90_us\":%u,\"p99_us\":%u,"
                "\"max_us\":%u}",
                first ? "" : ",", name.c_str(), samples.size(), percentile(samples, 50),
                percentile(samples, 90), percentile(samples, 99), samples.back());
            first = false;
        }
        std::printf("},\"error_lines\":[");
        for (std::size_t i = 0; i < gen.stats.error_lines.size(); ++i) {
            std::string escaped;
            for (char c : gen.stats.error_lines[i]) {
                if (c == '"' || c == '\\') escaped += '\\';
                if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
            }
            std::printf("%s\"%s\"", i ? "," : "", escaped.c_str());
        }
        std::printf("]}\n");
        return;
    }
    std::printf(
        "mode %s, %d clients, %.1f s: %llu commands (%.1f/s), %llu cycles, %llu appends "
        "(%.1f/s), %llu logins (%.1f/s), %llu errors\n",
        o.mode.c_str(), o.clients, seconds, static_cast<unsigned long long>(total),
        static_cast<double>(total) / seconds, static_cast<unsigned long long>(gen.completed_cycles),
        static_cast<unsigned long long>(gen.completed_appends),
        static_cast<double>(gen.completed_appends) / seconds,
        static_cast<unsigned long long>(gen.completed_logins),
        static_cast<double>(gen.completed_logins) / seconds,
        static_cast<unsigned long long>(gen.stats.errors));
    std::printf("%-16s %8s %9s %9s %9s %9s  (microseconds)\n", "command", "count", "p50", "p90",
                "p99", "max");
    for (const auto& [name, samples] : gen.stats.samples) {
        std::printf("%-16s %8zu %9u %9u %9u %9u\n", name.c_str(), samples.size(),
                    percentile(samples, 50), percentile(samples, 90), percentile(samples, 99),
                    samples.back());
    }
    std::printf("%-16s %8zu %9u %9u %9u %9u\n", "all", all.size(), percentile(all, 50),
                percentile(all, 90), percentile(all, 99), all.empty() ? 0 : all.back());
    for (const std::string& line : gen.stats.error_lines)
        std::printf("error: %s\n", line.c_str());
}

void on_stop(uv_timer_t* timer) {
    auto* gen = static_cast<Loadgen*>(timer->data);
    gen->stopping = true;
    uv_close(reinterpret_cast<uv_handle_t*>(timer), nullptr);
}

}  // namespace

int main(int argc, char** argv) {
    Loadgen gen;
    gen.options = parse_options(argc, argv);
    gen.rng.seed(gen.options.seed);
    gen.loop = uv_default_loop();
    const auto start = Clock::now();
    const bool bounded_by_count = gen.options.mode == "append";
    gen.measure_from =
        start + std::chrono::milliseconds(
                    bounded_by_count ? 0 : static_cast<long>(gen.options.warmup * 1000));
    gen.measure_until =
        bounded_by_count
            ? Clock::time_point::max()
            : gen.measure_from +
                  std::chrono::milliseconds(static_cast<long>(gen.options.duration * 1000));
    for (int i = 0; i < gen.options.clients; ++i)
        gen.clients.push_back(std::make_unique<Client>(gen, i));
    for (auto& client : gen.clients)
        client->start();
    if (!bounded_by_count) {
        uv_timer_init(gen.loop, &gen.stop_timer);
        gen.stop_timer.data = &gen;
        const auto total_ms =
            static_cast<std::uint64_t>((gen.options.warmup + gen.options.duration) * 1000);
        uv_timer_start(&gen.stop_timer, &on_stop, total_ms, 0);
    }
    uv_run(gen.loop, UV_RUN_DEFAULT);
    const auto end = Clock::now();
    // append: from the moment every client was logged in to the last
    // APPEND's OK (the connections, LOGINs and LOGOUTs around are not
    // counted; "whole_seconds" in --json is the run with them).
    const bool appended =
        gen.appends_until > gen.appends_from && gen.appends_from != Clock::time_point{};
    const double seconds =
        !bounded_by_count ? gen.options.duration
        : appended ? std::chrono::duration<double>(gen.appends_until - gen.appends_from).count()
                   : std::chrono::duration<double>(end - start).count();
    gen.whole_seconds = std::chrono::duration<double>(end - start).count();
    report(gen, seconds);
    return gen.stats.errors == 0 ? 0 : 1;
}
