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

#include "server/imap/fetch_format.h"
#include "store/message/message.h"
#include "support/corpus.h"

namespace fs = std::filesystem;
using imap::store::ByteRange;
using imap::store::ParsedMessage;
using imap::store::SectionKind;

namespace {

using namespace imap::test::corpus;  // data_dir, read_file, tokens, read_expected, ...

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
