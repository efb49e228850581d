#include "server/base/metrics.h"

#include <charconv>

namespace imap::server {
namespace {

constexpr std::array<std::string_view, 5> kListenerNames = {"imap", "imaps", "pop3", "pop3s",
                                                            "lmtp"};

// The shortest text that reads back as `value` (0.0025, not
// 0.0025000000000000001).
void append_number(std::string& out, double value) {
    char text[400];  // fixed notation of any double fits
    const auto result = std::to_chars(text, text + sizeof text, value, std::chars_format::fixed);
    out.append(text, result.ptr);
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels, double value) {
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ';
    append_number(out, value);
    out += '\n';
}

// label="value", the value escaped as the exposition format requires.
std::string label(std::string_view name, std::string_view value) {
    std::string out(name);
    out += "=\"";
    for (char c : value) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    out += '"';
    return out;
}

}  // namespace

void DurationHistogram::observe(std::chrono::microseconds duration) {
    const double seconds = static_cast<double>(duration.count()) / 1e6;
    std::size_t bucket = 0;
    while (bucket < kBounds.size() && seconds > kBounds[bucket])
        ++bucket;
    buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(static_cast<std::uint64_t>(duration.count()), std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
}

void DurationHistogram::write(std::string& out, std::string_view name,
                              std::string_view labels) const {
    const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
    const std::string bucket_name = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= kBounds.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        std::string le;
        if (i < kBounds.size()) {
            append_number(le, kBounds[i]);
        } else {
            le = "+Inf";
        }
        sample(out, bucket_name, prefix + label("le", le), static_cast<double>(cumulative));
    }
    sample(out, std::string(name) + "_sum", labels,
           static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
    // The buckets were read one by one while others observe: _count is
    // their total, so a scrape is always self-consistent.
    sample(out, std::string(name) + "_count", labels, static_cast<double>(cumulative));
}

Metrics::Listener* Metrics::listener(std::string_view name) {
    for (std::size_t i = 0; i < kListenerNames.size(); ++i) {
        if (kListenerNames[i] == name) return &listeners_[i];
    }
    return nullptr;
}

void Metrics::connection_opened(std::string_view name) {
    if (Listener* l = listener(name)) {
        l->opened.fetch_add(1, std::memory_order_relaxed);
        l->open.fetch_add(1, std::memory_order_relaxed);
    }
}

void Metrics::connection_closed(std::string_view name) {
    if (Listener* l = listener(name)) l->open.fetch_sub(1, std::memory_order_relaxed);
}

void Metrics::login(bool accepted) {
    (accepted ? logins_ok_ : logins_failed_).fetch_add(1, std::memory_order_relaxed);
}

void Metrics::command_done(std::string_view name, std::string_view status,
                           std::chrono::microseconds duration) {
    std::lock_guard lock(mutex_);
    auto it = commands_.find(name);
    if (it == commands_.end()) {
        it = commands_.emplace(std::string(name), std::make_unique<CommandStats>()).first;
    }
    CommandStats& stats = *it->second;
    if (status == "ok") {
        ++stats.ok;
    } else if (status == "no") {
        ++stats.no;
    } else {
        ++stats.bad;
    }
    stats.durations.observe(duration);
}

void Metrics::set_gauge_source(std::string name, std::string help, std::function<double()> read) {
    std::lock_guard lock(mutex_);
    gauges_[std::move(name)] = Gauge{std::move(help), std::move(read)};
}

std::string Metrics::exposition() const {
    std::string out;
    header(out, "imapd_connections_accepted_total", "counter",
           "Connections accepted, by listener.");
    for (std::size_t i = 0; i < kListenerNames.size(); ++i) {
        sample(out, "imapd_connections_accepted_total", label("listener", kListenerNames[i]),
               static_cast<double>(listeners_[i].opened.load(std::memory_order_relaxed)));
    }
    header(out, "imapd_connections", "gauge", "Connections open now, by listener.");
    for (std::size_t i = 0; i < kListenerNames.size(); ++i) {
        sample(out, "imapd_connections", label("listener", kListenerNames[i]),
               static_cast<double>(listeners_[i].open.load(std::memory_order_relaxed)));
    }
    header(out, "imapd_logins_total", "counter",
           "LOGIN and AUTHENTICATE attempts that finished, by result.");
    sample(out, "imapd_logins_total", label("result", "accepted"),
           static_cast<double>(logins_ok_.load(std::memory_order_relaxed)));
    sample(out, "imapd_logins_total", label("result", "refused"),
           static_cast<double>(logins_failed_.load(std::memory_order_relaxed)));
    header(out, "imapd_received_bytes_total", "counter",
           "Bytes read from client sockets (TLS records included).");
    sample(out, "imapd_received_bytes_total", "",
           static_cast<double>(received_.load(std::memory_order_relaxed)));
    header(out, "imapd_sent_bytes_total", "counter",
           "Bytes written to client sockets (TLS records included).");
    sample(out, "imapd_sent_bytes_total", "",
           static_cast<double>(sent_.load(std::memory_order_relaxed)));
    header(out, "imapd_store_sync_duration_seconds", "histogram",
           "fdatasync of a user's write-ahead log for group commit.");
    syncs_.write(out, "imapd_store_sync_duration_seconds", "");

    std::lock_guard lock(mutex_);
    header(out, "imapd_commands_total", "counter", "IMAP commands answered, by name and status.");
    for (const auto& [name, stats] : commands_) {
        const std::string command = label("command", name);
        sample(out, "imapd_commands_total", command + "," + label("status", "ok"),
               static_cast<double>(stats->ok));
        sample(out, "imapd_commands_total", command + "," + label("status", "no"),
               static_cast<double>(stats->no));
        sample(out, "imapd_commands_total", command + "," + label("status", "bad"),
               static_cast<double>(stats->bad));
    }
    header(out, "imapd_command_duration_seconds", "histogram",
           "Time from a command's start to its tagged answer, by name.");
    for (const auto& [name, stats] : commands_) {
        stats->durations.write(out, "imapd_command_duration_seconds", label("command", name));
    }
    for (const auto& [name, gauge] : gauges_) {
        if (!gauge.read) continue;  // its source is gone (the server stopped)
        header(out, name, "gauge", gauge.help);
        sample(out, name, "", gauge.read());
    }
    return out;
}

Metrics& metrics() {
    static Metrics instance;
    return instance;
}

}  // namespace imap::server
