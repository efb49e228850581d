// Test support: reading the message corpus (tests/data/messages/NAME.eml
// and the NAME.expected Dovecot answered, see regen-from-dovecot.py) and
// comparing IMAP values the way DIFFERENCES.md allows: a string sent quoted
// by one side and as a literal by the other compares by its content.
// Shared by tests/unit/message_corpus.cpp and tests/unit/session_fetch.cpp.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imap::test::corpus {

namespace fs = std::filesystem;

inline fs::path data_dir() {
    if (const char* env = std::getenv("IMAPD_TEST_DATA")) return fs::path(env) / "messages";
    // Run by hand from the build directory or the source directory.
    for (fs::path p : {fs::path("tests/data/messages"), fs::path("../tests/data/messages"),
                       fs::path("../../tests/data/messages")})
        if (fs::exists(p)) return p;
    return "tests/data/messages";
}

inline std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// End of the IMAP value starting at `i` (parenthesised lists, quoted
// strings, literals, atoms).
inline std::size_t value_end(const std::string& s, std::size_t i) {
    int depth = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (c == '(') {
            ++depth;
            ++i;
        } else if (c == ')') {
            --depth;
            ++i;
            if (depth == 0) return i;
        } else if (c == '"') {
            ++i;
            while (i < s.size() && s[i] != '"') {
                if (s[i] == '\\') ++i;
                ++i;
            }
            ++i;
            if (depth == 0) return i;
        } else if (c == '{') {
            const std::size_t close = s.find('}', i);
            const std::size_t n = std::stoul(s.substr(i + 1, close - i - 1));
            i = close + 3 + n;  // "}\r\n" and the bytes
            if (depth == 0) return i;
        } else if (c == ' ') {
            ++i;
        } else {
            while (i < s.size() && s[i] != ' ' && s[i] != ')' && s[i] != '(' && s[i] != '\n')
                ++i;
            if (depth == 0) return i;
        }
    }
    return i;
}

// Tokens with strings decoded: quoted and literal forms compare equal.
inline std::vector<std::string> tokens(const std::string& s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (c == '(' || c == ')') {
            out.emplace_back(1, c);
            ++i;
        } else if (c == ' ') {
            ++i;
        } else if (c == '"') {
            std::string v = "S:";
            ++i;
            while (i < s.size() && s[i] != '"') {
                if (s[i] == '\\') ++i;
                v += s[i++];
            }
            ++i;
            out.push_back(v);
        } else if (c == '{') {
            const std::size_t close = s.find('}', i);
            const std::size_t n = std::stoul(s.substr(i + 1, close - i - 1));
            out.push_back("S:" + s.substr(close + 3, n));
            i = close + 3 + n;
        } else {
            std::string v = "A:";
            while (i < s.size() && s[i] != ' ' && s[i] != ')' && s[i] != '(')
                v += s[i++];
            out.push_back(v);
        }
    }
    return out;
}

struct Expected {
    std::map<std::string, std::string> items;  // RFC822.SIZE, ENVELOPE, BODY, BODYSTRUCTURE
    std::map<std::string, std::pair<std::size_t, std::string>> sections;  // "1.MIME" -> size, hash
};

inline Expected read_expected(const std::string& text) {
    Expected e;
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t sp = text.find(' ', i);
        const std::string name = text.substr(i, sp - i);
        if (name.starts_with("BODY[")) {
            const std::size_t nl = text.find('\n', sp);
            std::istringstream fields(text.substr(sp + 1, nl - sp - 1));
            std::size_t size;
            std::string hash;
            fields >> size >> hash;
            e.sections[name.substr(5, name.size() - 6)] = {size, hash};
            i = nl + 1;
            continue;
        }
        const std::size_t end = value_end(text, sp + 1);
        e.items[name] = text.substr(sp + 1, end - sp - 1);
        i = text.find('\n', end) + 1;
        if (i == 0) break;
    }
    return e;
}

inline std::string fnv1a64(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

}  // namespace imap::test::corpus
