#include "server/base/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

namespace imap::server::log {
namespace {

std::atomic<LogLevel> g_level{LogLevel::Info};
std::atomic<LogFormat> g_format{LogFormat::Text};

// Serialises the writes of whole lines (log.h: threads).
std::mutex g_write_mutex;

// The whole of `line` to standard error: write(2) again after a partial
// write or a signal, so a line is never cut short, and no stdio buffer sits
// between the threads and the file. Errors are ignored: there is nowhere
// left to report them.
void write_line(std::string_view line) {
    const std::lock_guard lock(g_write_mutex);
    while (!line.empty()) {
        const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
        if (written < 0) {
            if (errno == EINTR) continue;
            return;
        }
        line.remove_prefix(static_cast<std::size_t>(written));
    }
}

bool needs_quotes(std::string_view value) {
    if (value.empty()) return true;
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '"' || c == '=' || c == '\\') return true;
    }
    return false;
}

void append_value(std::string& out, std::string_view value) {
    if (!needs_quotes(value)) {
        out += value;
        return;
    }
    out += '"';
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20 || u == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            out += hex;
        } else {
            out += c;
        }
    }
    out += '"';
}

std::string timestamp() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    // Room for any int in every field: g++ -O2 cannot prove the fields'
    // ranges and would warn of truncation (-Wformat-truncation).
    char text[96];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(millis));
    return text;
}

// `text` as a JSON string (quotes and escapes by nlohmann::json, which
// replaces bytes that are not UTF-8 with U+FFFD instead of failing).
void append_json_string(std::string& out, std::string_view text) {
    out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void set_format(LogFormat format) {
    g_format.store(format, std::memory_order_relaxed);
}

void set_level(LogLevel level) {
    g_level.store(level, std::memory_order_relaxed);
}

bool enabled(LogLevel level) {
    return static_cast<int>(level) <= static_cast<int>(g_level.load(std::memory_order_relaxed));
}

std::string format(LogLevel level, std::string_view name, std::initializer_list<Field> fields) {
    std::string line(to_string(level));
    line += ' ';
    line += name;
    for (const Field& field : fields) {
        line += ' ';
        line += field.key;
        line += '=';
        append_value(line, field.value);
    }
    return line;
}

std::string format_json(std::string_view time, LogLevel level, std::string_view name,
                        std::initializer_list<Field> fields) {
    std::string line = "{\"time\":";
    append_json_string(line, time);
    line += ",\"level\":";
    append_json_string(line, to_string(level));
    line += ",\"event\":";
    append_json_string(line, name);
    for (const Field& field : fields) {
        line += ',';
        append_json_string(line, field.key);
        line += ':';
        switch (field.kind) {
            case Field::Kind::Number:
                line += field.value;  // std::to_string of an integer
                break;
            case Field::Kind::Boolean:
                line += field.value == "yes" ? "true" : "false";
                break;
            case Field::Kind::Text:
                append_json_string(line, field.value);
                break;
        }
    }
    line += '}';
    return line;
}

void event(LogLevel level, std::string_view name, std::initializer_list<Field> fields) {
    if (!enabled(level)) return;
    std::string line = g_format.load(std::memory_order_relaxed) == LogFormat::Json
                           ? format_json(timestamp(), level, name, fields)
                           : timestamp() + " " + format(level, name, fields);
    line += '\n';
    write_line(line);
}

}  // namespace imap::server::log
