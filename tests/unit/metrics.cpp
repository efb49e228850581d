// The metrics (server/base/metrics.h) in the Prometheus text exposition
// format 0.0.4, and the endpoint's HTTP answers (server/net/metrics_endpoint.h,
// docs/operations.md "Metrics").
#include "server/base/metrics.h"

#include <catch2/catch.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "server/net/metrics_endpoint.h"

using namespace std::chrono_literals;
using imap::server::Metrics;
using imap::server::MetricsEndpoint;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("metrics: counters, gauges and histograms in the exposition format", "[metrics]") {
    Metrics m;
    m.connection_opened("imap");
    m.connection_opened("imaps");
    m.connection_opened("imaps");
    m.connection_closed("imaps");
    m.connection_opened("pop3s");     // POP3 (docs/pop3.md) is counted by its listener too
    m.connection_opened("nonsense");  // an unknown listener is not a label value
    m.login(true);
    m.login(false);
    m.login(false);
    m.command_done("NOOP", "ok", 50us);
    m.command_done("NOOP", "ok", 2ms);
    m.command_done("UID FETCH", "no", 20s);
    m.command_done("SELECT", "bad", 1ms);
    m.bytes_received(100);
    m.bytes_sent(2500);
    m.store_sync_done(3ms);
    m.set_gauge_source("imapd_users_open", "Users.", [] { return 3.0; });
    const std::string text = m.exposition();

    CHECK(has_line(text, "# TYPE imapd_connections_accepted_total counter"));
    CHECK(has_line(text, "imapd_connections_accepted_total{listener=\"imap\"} 1"));
    CHECK(has_line(text, "imapd_connections_accepted_total{listener=\"imaps\"} 2"));
    CHECK(has_line(text, "imapd_connections{listener=\"imaps\"} 1"));
    CHECK(has_line(text, "imapd_connections_accepted_total{listener=\"pop3s\"} 1"));
    CHECK(has_line(text, "imapd_connections{listener=\"pop3\"} 0"));
    CHECK(text.find("nonsense") == std::string::npos);
    CHECK(has_line(text, "imapd_logins_total{result=\"accepted\"} 1"));
    CHECK(has_line(text, "imapd_logins_total{result=\"refused\"} 2"));
    CHECK(has_line(text, "imapd_received_bytes_total 100"));
    CHECK(has_line(text, "imapd_sent_bytes_total 2500"));
    CHECK(has_line(text, "imapd_commands_total{command=\"NOOP\",status=\"ok\"} 2"));
    CHECK(has_line(text, "imapd_commands_total{command=\"UID FETCH\",status=\"no\"} 1"));
    CHECK(has_line(text, "imapd_commands_total{command=\"SELECT\",status=\"bad\"} 1"));
    // Cumulative buckets; 20 s falls only in +Inf; _count is the +Inf bucket.
    CHECK(has_line(text, "# TYPE imapd_command_duration_seconds histogram"));
    CHECK(
        has_line(text, "imapd_command_duration_seconds_bucket{command=\"NOOP\",le=\"0.0001\"} 1"));
    CHECK(has_line(text, "imapd_command_duration_seconds_bucket{command=\"NOOP\",le=\"0.001\"} 1"));
    CHECK(
        has_line(text, "imapd_command_duration_seconds_bucket{command=\"NOOP\",le=\"0.0025\"} 2"));
    CHECK(
        has_line(text, "imapd_command_duration_seconds_bucket{command=\"UID FETCH\",le=\"10\"} 0"));
    CHECK(has_line(text,
                   "imapd_command_duration_seconds_bucket{command=\"UID FETCH\",le=\"+Inf\"} 1"));
    CHECK(has_line(text, "imapd_command_duration_seconds_count{command=\"NOOP\"} 2"));
    CHECK(has_line(text, "imapd_command_duration_seconds_sum{command=\"NOOP\"} 0.00205"));
    CHECK(has_line(text, "imapd_store_sync_duration_seconds_count 1"));
    CHECK(has_line(text, "# TYPE imapd_users_open gauge"));
    CHECK(has_line(text, "imapd_users_open 3"));

    // Prometheus conventions: every sample line is imapd_[a-z_]+, counters
    // end in _total, every name has HELP and TYPE before its samples.
    std::istringstream lines(text);
    std::string line;
    const std::regex sample(R"(^(imapd_[a-z_]+)(\{[^}]*\})? [0-9.e+-]+$)");
    const std::regex type(R"(^# TYPE (imapd_[a-z_]+) (counter|gauge|histogram)$)");
    std::string typed;
    std::string kind;
    while (std::getline(lines, line)) {
        std::smatch m2;
        if (std::regex_match(line, m2, type)) {
            typed = m2[1];
            kind = m2[2];
            if (kind == "counter") CHECK(typed.ends_with("_total"));
            continue;
        }
        if (line.starts_with("# HELP ")) continue;
        INFO(line);
        REQUIRE(std::regex_match(line, m2, sample));
        CHECK(std::string(m2[1]).starts_with(typed));
    }
    // A gauge whose source went away is left out.
    m.set_gauge_source("imapd_users_open", {}, {});
    CHECK(m.exposition().find("imapd_users_open") == std::string::npos);
}

TEST_CASE("metrics endpoint: GET and HEAD of /metrics, and the refusals", "[metrics]") {
    const std::string ok = MetricsEndpoint::respond("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(
        ok.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                       "charset=utf-8\r\nContent-Length: "));
    const std::size_t body = ok.find("\r\n\r\n") + 4;
    CHECK(ok.find("\r\nConnection: close\r\n") < body);
    CHECK(ok.substr(body).starts_with("# HELP imapd_"));
    CHECK(ok.find("Content-Length: " + std::to_string(ok.size() - body) + "\r\n") !=
          std::string::npos);
    // Prometheus may add query parameters.
    CHECK(
        MetricsEndpoint::respond("GET /metrics?x=1 HTTP/1.0\r\n\r\n").starts_with("HTTP/1.1 200"));
    const std::string head = MetricsEndpoint::respond("HEAD /metrics HTTP/1.1\r\n\r\n");
    CHECK(head.starts_with("HTTP/1.1 200 OK"));
    CHECK(head.ends_with("\r\n\r\n"));
    CHECK(MetricsEndpoint::respond("GET / HTTP/1.1\r\n\r\n") ==
          "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: 13\r\nConnection: close\r\n\r\nsee /metrics\n");
    CHECK(MetricsEndpoint::respond("POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
    CHECK(MetricsEndpoint::respond("hello\r\n\r\n").starts_with("HTTP/1.1 400"));
    CHECK(MetricsEndpoint::respond("GET /metrics SMTP\r\n\r\n").starts_with("HTTP/1.1 400"));
}
