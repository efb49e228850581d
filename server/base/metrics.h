// The server's metrics (docs/operations.md "Metrics"), counted wherever the
// work happens (any thread) and read by the Prometheus endpoint
// (server/net/metrics_endpoint.h) in the text exposition format, version
// 0.0.4. Names follow Prometheus conventions: the `imapd_` prefix, base
// units (seconds, bytes), `_total` on counters, a histogram's `_bucket`,
// `_sum` and `_count`.
//
// One process-wide instance (metrics()): what it counts is the process's.
// Counting is a relaxed atomic add, or a short mutex for the per-command
// table (a few threads at most contend), so it is always on; the numbers
// are only exported when `[metrics] listen` is configured.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace imap::server {

// A latency histogram with fixed buckets (seconds): 100 us to 10 s covers a
// NOOP and a long SEARCH alike.
class DurationHistogram {
  public:
    static constexpr std::array<double, 11> kBounds = {0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                       0.025,  0.05,   0.1,   1.0,    10.0};

    void observe(std::chrono::microseconds duration);
    // "NAME_bucket{LABELS,le=...} N" lines, then _sum and _count.
    void write(std::string& out, std::string_view name, std::string_view labels) const;

  private:
    std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};  // last: +Inf
    std::atomic<std::uint64_t> sum_us_{0};
    std::atomic<std::uint64_t> count_{0};
};

class Metrics {
  public:
    // A connection accepted / closed on `listener` ("imap", "imaps", "pop3",
    // "pop3s", "lmtp").
    void connection_opened(std::string_view listener);
    void connection_closed(std::string_view listener);
    // A LOGIN or AUTHENTICATE that finished: accepted or refused.
    void login(bool accepted);
    // A command that ran to its tagged answer (`status`: "ok", "no", "bad").
    void command_done(std::string_view name, std::string_view status,
                      std::chrono::microseconds duration);
    void bytes_received(std::uint64_t n) { received_.fetch_add(n, std::memory_order_relaxed); }
    void bytes_sent(std::uint64_t n) { sent_.fetch_add(n, std::memory_order_relaxed); }
    // One fdatasync of a user's log for group commit (docs/storage.md).
    void store_sync_done(std::chrono::microseconds duration) { syncs_.observe(duration); }
    // Gauges the server computes when asked (users with open mail, bodies
    // waiting for the search index); set once at startup.
    void set_gauge_source(std::string name, std::string help, std::function<double()> read);

    // The whole exposition, for one scrape.
    std::string exposition() const;

  private:
    struct Listener {
        std::atomic<std::uint64_t> opened{0};
        std::atomic<std::int64_t> open{0};
    };
    // Per command name: names come from the command table, so the label
    // set is bounded (a client's unknown command never reaches here).
    struct CommandStats {
        std::uint64_t ok = 0, no = 0, bad = 0;
        DurationHistogram durations;
    };
    Listener* listener(std::string_view name);

    std::array<Listener, 5> listeners_{};  // imap, imaps, pop3, pop3s, lmtp
    std::atomic<std::uint64_t> logins_ok_{0};
    std::atomic<std::uint64_t> logins_failed_{0};
    std::atomic<std::uint64_t> received_{0};
    std::atomic<std::uint64_t> sent_{0};
    DurationHistogram syncs_;

    mutable std::mutex mutex_;  // guards the tables below
    std::map<std::string, std::unique_ptr<CommandStats>, std::less<>> commands_;
    struct Gauge {
        std::string help;
        std::function<double()> read;
    };
    std::map<std::string, Gauge> gauges_;
};

// The process's metrics.
Metrics& metrics();

}  // namespace imap::server
