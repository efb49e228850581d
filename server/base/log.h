// Structured logging: one line per event on stderr, in one of two formats
// ([log] format, docs/operations.md "Logs"). Text (the default):
//   2024-05-01T12:00:00.123Z info connection_opened peer=127.0.0.1 listener=imap tls=no
// a UTC timestamp, the level, the event name, then key=value fields. Values
// with spaces, quotes, '=' or control characters are double-quoted with
// backslash escapes, so every line splits unambiguously. JSON (one object
// per line, RFC 8259, for log collectors):
//   {"time":"2024-05-01T12:00:00.123Z","level":"info","event":"connection_opened",
//    "peer":"127.0.0.1","listener":"imap","tls":false}
// the same fields in the same order, numbers as JSON numbers and yes/no as
// true/false; bytes that are not UTF-8 become U+FFFD, so every line parses.
// Passwords never reach this module (Secret is not streamable).
//
// Threads: every function may be called from any thread at once. Each event
// is formatted on the caller's thread and written with one write(2) per line
// under a process-wide mutex, so lines from different threads never
// interleave (a pipe only guarantees that up to PIPE_BUF bytes, and a long
// line can exceed it); the level is an atomic, so set_level() may race with
// logging threads.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "server/base/config.h"

namespace imap::server::log {

struct Field {
    // What the value is, for the JSON format (text writes them all alike).
    enum class Kind { Text, Number, Boolean };
    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v) {}
    Field(std::string_view k, const std::string& v) : key(k), value(v) {}
    Field(std::string_view k, bool v) : key(k), value(v ? "yes" : "no"), kind(Kind::Boolean) {}
    Field(std::string_view k, std::uint64_t v)
        : key(k), value(std::to_string(v)), kind(Kind::Number) {}
    Field(std::string_view k, std::int64_t v)
        : key(k), value(std::to_string(v)), kind(Kind::Number) {}
    Field(std::string_view k, int v) : key(k), value(std::to_string(v)), kind(Kind::Number) {}
    Field(std::string_view k, unsigned v) : key(k), value(std::to_string(v)), kind(Kind::Number) {}
    std::string_view key;
    std::string value;
    Kind kind = Kind::Text;
};

// Events above `level` are dropped. Default: Info.
void set_level(LogLevel level);
bool enabled(LogLevel level);
// Default: Text. Like the level, may change while other threads log.
void set_format(LogFormat format);

void event(LogLevel level, std::string_view name, std::initializer_list<Field> fields = {});

inline void error(std::string_view name, std::initializer_list<Field> fields = {}) {
    event(LogLevel::Error, name, fields);
}
inline void warning(std::string_view name, std::initializer_list<Field> fields = {}) {
    event(LogLevel::Warning, name, fields);
}
inline void info(std::string_view name, std::initializer_list<Field> fields = {}) {
    event(LogLevel::Info, name, fields);
}
inline void debug(std::string_view name, std::initializer_list<Field> fields = {}) {
    event(LogLevel::Debug, name, fields);
}

// The text line without the timestamp and newline (for tests).
std::string format(LogLevel level, std::string_view name, std::initializer_list<Field> fields);
// The JSON line without the newline, with `time` as its timestamp.
std::string format_json(std::string_view time, LogLevel level, std::string_view name,
                        std::initializer_list<Field> fields);

}  // namespace imap::server::log
