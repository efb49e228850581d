// The message corpus: tests/data/messages/NAME.eml with NAME.expected, the
// ENVELOPE, BODY, BODYSTRUCTURE, RFC822.SIZE and section contents Dovecot
// answered for it (regen-from-dovecot.py). Where we differ on purpose the
// .expected is kept by hand and DIFFERENCES.md says why.
//
// Values are compared byte for byte, except that a string Dovecot sends as
// a literal and we as a quoted string (or the reverse) is compared by its
// content: the choice follows protocol/response_writer.h (DIFFERENCES.md).
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "server/fetch_format.h"
#include "store/message/message.h"

namespace fs = std::filesystem;
using imap::store::ByteRange;
using imap::store::ParsedMessage;
using imap::store::SectionKind;

namespace {

fs::path data_dir() {
    if (const char* env = std::getenv("IMAPD_TEST_DATA")) return fs::path(env) / "messages";
    // Run by hand from the build directory or the source directory.
    for (fs::path p : {fs::path("tests/data/messages"), fs::path("../tests/data/messages"),
                       fs::path("../../tests/data/messages")})
        if (fs::exists(p)) return p;
    return "tests/data/messages";
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// End of the IMAP value starting at `i` (parenthesised lists, quoted
// strings, literals, atoms).
std::size_t value_end(const std::string& s, std::size_t i) {
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
std::vector<std::string> tokens(const std::string& s) {
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

Expected read_expected(const std::string& text) {
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

std::string fnv1a64(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

// "2.1.MIME" -> path {2, 1}, kind Mime.
void split_section(const std::string& spec, std::vector<std::uint32_t>& path, SectionKind& kind) {
    kind = SectionKind::Whole;
    std::size_t i = 0;
    while (i < spec.size()) {
        const std::size_t dot = spec.find('.', i);
        const std::string part =
            spec.substr(i, dot == std::string::npos ? std::string::npos : dot - i);
        if (part == "HEADER")
            kind = SectionKind::Header;
        else if (part == "TEXT")
            kind = SectionKind::Text;
        else if (part == "MIME")
            kind = SectionKind::Mime;
        else
            path.push_back(static_cast<std::uint32_t>(std::stoul(part)));
        if (dot == std::string::npos) break;
        i = dot + 1;
    }
}

void check_value(const std::string& what, const std::string& ours, const std::string& theirs) {
    INFO(what << "\n ours:   " << ours << "\n theirs: " << theirs);
    if (ours.find('{') == std::string::npos && theirs.find('{') == std::string::npos)
        CHECK(ours == theirs);
    else
        CHECK(tokens(ours) == tokens(theirs));
}

}  // namespace

TEST_CASE("corpus: ENVELOPE, BODY, BODYSTRUCTURE and sections match the expectations",
          "[message][corpus]") {
    const fs::path dir = data_dir();
    REQUIRE(fs::exists(dir));
    std::size_t checked = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ".eml") continue;
        const std::string name = entry.path().stem().string();
        const fs::path expected_path = dir / (name + ".expected");
        INFO("message " << name);
        REQUIRE(fs::exists(expected_path));
        const std::string raw = read_file(entry.path());
        const Expected e = read_expected(read_file(expected_path));
        const ParsedMessage m = imap::store::parse_message(raw);

        REQUIRE(e.items.count("ENVELOPE"));
        REQUIRE(e.items.count("BODYSTRUCTURE"));
        CHECK(std::to_string(m.size) == e.items.at("RFC822.SIZE"));
        check_value("ENVELOPE", imap::server::format_envelope(m.envelope), e.items.at("ENVELOPE"));
        check_value("BODY", imap::server::format_body(m.root), e.items.at("BODY"));
        check_value("BODYSTRUCTURE", imap::server::format_bodystructure(m.root),
                    e.items.at("BODYSTRUCTURE"));
        for (const auto& [spec, size_hash] : e.sections) {
            INFO("BODY[" << spec << "]");
            std::vector<std::uint32_t> path;
            SectionKind kind;
            split_section(spec, path, kind);
            const auto range = imap::store::resolve_section(m, path, kind);
            REQUIRE(range);
            REQUIRE(range->end <= raw.size());
            const std::string_view bytes =
                std::string_view(raw).substr(range->begin, range->size());
            CHECK(bytes.size() == size_hash.first);
            CHECK(fnv1a64(bytes) == size_hash.second);
        }
        ++checked;
    }
    CHECK(checked >= 20);
}
