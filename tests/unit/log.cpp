// The two log formats (server/base/log.h, docs/operations.md "Logs"): the
// text line's quoting and the JSON line's escaping, types and field order.
#include "server/base/log.h"

#include <catch2/catch.hpp>
#include <string>

using imap::server::LogLevel;
namespace slog = imap::server::log;

TEST_CASE("log: text lines quote values that would not split", "[log]") {
    CHECK(slog::format(LogLevel::Info, "connection_opened",
                       {{"peer", "127.0.0.1"}, {"tls", false}, {"port", 143}}) ==
          "info connection_opened peer=127.0.0.1 tls=no port=143");
    CHECK(slog::format(LogLevel::Warning, "e", {{"v", "a b=\"c\"\\"}, {"empty", ""}}) ==
          "warning e v=\"a b=\\\"c\\\"\\\\\" empty=\"\"");
    CHECK(slog::format(LogLevel::Error, "e", {{"v", std::string("x\ny\x01", 4)}}) ==
          "error e v=\"x\\x0ay\\x01\"");
}

TEST_CASE("log: JSON lines are one object with typed fields in order", "[log]") {
    CHECK(slog::format_json("2026-12-06T19:00:00.000Z", LogLevel::Info, "connection_opened",
                            {{"peer", "127.0.0.1"},
                             {"tls", true},
                             {"bytes", std::uint64_t{18446744073709551615u}},
                             {"delta", std::int64_t{-3}}}) ==
          "{\"time\":\"2026-12-06T19:00:00.000Z\",\"level\":\"info\","
          "\"event\":\"connection_opened\",\"peer\":\"127.0.0.1\",\"tls\":true,"
          "\"bytes\":18446744073709551615,\"delta\":-3}");
    CHECK(slog::format_json("t", LogLevel::Debug, "e", {}) ==
          "{\"time\":\"t\",\"level\":\"debug\",\"event\":\"e\"}");
}

TEST_CASE("log: JSON escapes quotes and control characters (RFC 8259 7)", "[log]") {
    CHECK(
        slog::format_json("t", LogLevel::Error, "e", {{"v", std::string("\"\\\n\x01\x7f/", 6)}}) ==
        "{\"time\":\"t\",\"level\":\"error\",\"event\":\"e\","
        "\"v\":\"\\\"\\\\\\n\\u0001\x7f/\"}");
}

TEST_CASE("log: bytes that are not UTF-8 become U+FFFD so the line still parses", "[log]") {
    // A client's ID or a mailbox name can carry any bytes into a log field.
    CHECK(slog::format_json("t", LogLevel::Info, "e",
                            {{"user",
                              "a\xff"
                              "b\xc3"}}) ==
          "{\"time\":\"t\",\"level\":\"info\",\"event\":\"e\","
          "\"user\":\"a\xef\xbf\xbd"
          "b\xef\xbf\xbd\"}");
    // Valid UTF-8 passes unchanged.
    CHECK(slog::format_json("t", LogLevel::Info, "e", {{"user", "j\xc3\xb6rg"}}) ==
          "{\"time\":\"t\",\"level\":\"info\",\"event\":\"e\",\"user\":\"j\xc3\xb6rg\"}");
}
