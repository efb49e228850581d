// libFuzzer target for the message parser (store/message/): any bytes are a
// message. Parses, formats ENVELOPE/BODY/BODYSTRUCTURE, resolves every
// addressable section, extracts search text, and checks that every range
// lies inside the message and that nested ranges nest.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "store/message/message.h"

// tests/fuzz/CMakeLists.txt links imap_protocol and imap_store only; the
// formatter lives in imap_session, so its one source file is compiled here.
#include "server/imap/fetch_format.h"

namespace {

using imap::store::ByteRange;
using imap::store::MimePart;
using imap::store::ParsedMessage;
using imap::store::SectionKind;

void require(bool ok) {
    if (!ok) std::abort();
}

bool inside(ByteRange inner, ByteRange outer) {
    return inner.begin <= inner.end && outer.begin <= inner.begin && inner.end <= outer.end;
}

// Walks the tree: each part's header precedes its body, children lie in
// the parent's body, and every section of every path resolves inside.
void check_part(const ParsedMessage& m, const MimePart& part, ByteRange parent,
                std::vector<std::uint32_t>& path, std::size_t depth) {
    require(depth <= imap::store::MessageLimits::kMaxMimeDepth + 2);
    require(inside(part.header, parent));
    require(inside(part.body, parent));
    require(part.header.end <= part.body.begin);
    for (auto kind : {SectionKind::Whole, SectionKind::Header, SectionKind::Text, SectionKind::Mime,
                      SectionKind::HeaderFields}) {
        if (auto r = imap::store::resolve_section(m, path, kind))
            require(inside(*r, ByteRange{0, m.size}));
    }
    if (part.is_message()) {
        require(part.children.size() == 1);
        require(inside(part.children.front().header, part.body));
        require(inside(part.children.front().body, part.body));
    }
    for (std::size_t i = 0; i < part.children.size(); ++i) {
        const MimePart& child = part.children[i];
        if (part.is_multipart()) {
            require(inside(child.header, part.body));
            require(inside(child.body, part.body));
            path.push_back(static_cast<std::uint32_t>(i + 1));
            check_part(m, child, part.body, path, depth + 1);
            path.pop_back();
        } else {
            // message/rfc822: its numbers index the embedded message.
            check_part(m, child, part.body, path, depth + 1);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    const ParsedMessage m = imap::store::parse_message(raw);
    require(m.size == size);
    std::vector<std::uint32_t> path;
    require(inside(m.root.header, ByteRange{0, size}));
    require(inside(m.root.body, ByteRange{0, size}));
    check_part(m, m.root, ByteRange{0, size}, path, 0);
    // Paths that do not exist resolve to nothing, never out of bounds.
    for (std::vector<std::uint32_t> p :
         {std::vector<std::uint32_t>{1, 1, 1}, std::vector<std::uint32_t>{2, 1}, {3, 0}, {1000}})
        if (auto r = imap::store::resolve_section(m, p, SectionKind::Whole))
            require(r->end <= size);
    require(!imap::server::format_bodystructure(m.root).empty());
    require(!imap::server::format_body(m.root).empty());
    require(!imap::server::format_envelope(m.envelope).empty());
    (void)imap::store::extract_search_text(raw, m);
    return 0;
}
