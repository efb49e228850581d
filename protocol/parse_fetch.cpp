// fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
//         fetch-att / "(" fetch-att *(SP fetch-att) ")")      (RFC 3501 9)
#include <optional>
#include <string>

#include "protocol/parser_internal.h"

namespace imap::detail {
namespace {

FetchItem simple(FetchItem::Kind kind) {
    FetchItem item;
    item.kind = kind;
    return item;
}

// RFC 3501 6.4.5: the macros, expanded.
std::vector<FetchItem> expand_macro(std::string_view name) {
    using K = FetchItem::Kind;
    std::vector<FetchItem> items{simple(K::Flags), simple(K::InternalDate), simple(K::Rfc822Size)};
    if (name == "ALL" || name == "FULL") items.push_back(simple(K::Envelope));
    if (name == "FULL") items.push_back(simple(K::Body));
    return items;
}

bool is_att_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '.';
}

std::string read_att_name(Reader& in) {
    in.count_argument();
    std::string name(in.take_while(is_att_name_char, "fetch attribute"));
    for (char& c : name)
        c = ascii_upper(c);
    return name;
}

// header-list = "(" header-fld-name *(SP header-fld-name) ")"
std::vector<std::string> read_header_list(Reader& in) {
    in.expect('(', "'(' starting the header field list");
    std::vector<std::string> fields;
    for (;;) {
        fields.push_back(in.astring());  // header-fld-name = astring
        if (in.accept(')')) return fields;
        in.space();
    }
}

// section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
// section-text    = section-msgtext / "MIME"
void read_section_text(Reader& in, SectionSpec& section, bool mime_allowed) {
    std::string name(in.take_while(
        [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '.'; },
        "section text"));
    for (char& c : name)
        c = ascii_upper(c);
    using T = SectionSpec::Text;
    if (name == "HEADER") {
        section.text = T::Header;
    } else if (name == "TEXT") {
        section.text = T::Text;
    } else if (name == "MIME" && mime_allowed) {
        section.text = T::Mime;
    } else if (name == "HEADER.FIELDS" || name == "HEADER.FIELDS.NOT") {
        section.text = name == "HEADER.FIELDS" ? T::HeaderFields : T::HeaderFieldsNot;
        in.space();
        section.fields = read_header_list(in);
    } else if (name == "MIME") {
        parse_fail("MIME is only valid after a part number (RFC 3501 6.4.5)");
    } else {
        parse_fail("Unknown section " + name.substr(0, 40));
    }
}

// section = "[" [section-spec] "]"
// section-spec = section-msgtext / (section-part ["." section-text])
// section-part = nz-number *("." nz-number)
SectionSpec read_section(Reader& in) {
    in.expect('[', "'['");
    SectionSpec section;
    if (in.accept(']')) return section;
    if (is_digit(in.peek())) {
        for (;;) {
            section.part.push_back(in.nz_number());
            if (!in.accept('.')) break;
            if (!is_digit(in.peek())) {
                read_section_text(in, section, /*mime_allowed=*/true);
                break;
            }
        }
    } else {
        read_section_text(in, section, /*mime_allowed=*/false);
    }
    in.expect(']', "']' closing the section");
    return section;
}

// section-binary = "[" [section-part] "]" (RFC 3516 7)
SectionSpec read_section_binary(Reader& in) {
    in.expect('[', "'['");
    SectionSpec section;
    if (in.accept(']')) return section;
    do {
        section.part.push_back(in.nz_number());
    } while (in.accept('.'));
    in.expect(']', "']' closing the binary section");
    return section;
}

// partial = "<" number "." nz-number ">"
std::optional<Partial> read_partial(Reader& in) {
    if (!in.accept('<')) return std::nullopt;
    Partial partial;
    partial.offset = in.number();
    in.expect('.', "'.' in the partial range");
    partial.length = in.nz_number();
    in.expect('>', "'>' closing the partial range");
    return partial;
}

// Whether `rest` starts with " (LAZY" and then " " or ")", any case.
bool starts_preview_modifiers(std::string_view rest) {
    if (rest.size() < 7 || rest.substr(0, 2) != " (") return false;
    for (std::size_t i = 0; i < 4; ++i) {
        if (ascii_upper(rest[2 + i]) != "LAZY"[i]) return false;
    }
    return rest[6] == ' ' || rest[6] == ')';
}

// "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"], preview-mod =
// "LAZY" (RFC 8970 6). Inside a list of items "(" after PREVIEW can only
// start its modifiers. A single PREVIEW item may be followed by the
// command's fetch-modifiers, "(" too (RFC 4466 2.4: "FETCH 1 PREVIEW
// (CHANGEDSINCE 5)"): there the modifier's name decides, and LAZY is the
// only preview-mod.
FetchItem read_preview(Reader& in, bool in_list) {
    FetchItem item = simple(FetchItem::Kind::Preview);
    const std::string_view rest = in.rest_of_line();
    if (in_list ? !rest.starts_with(" (") : !starts_preview_modifiers(rest)) return item;
    in.space();
    in.expect('(', "'('");
    for (;;) {
        const std::string modifier = in.keyword();
        if (modifier != "LAZY") parse_fail("Unknown PREVIEW modifier " + modifier.substr(0, 40));
        item.lazy = true;  // RFC 8970 6 allows repeating it
        if (in.accept(')')) return item;
        in.space();
    }
}

FetchItem read_fetch_att(Reader& in, bool in_list) {
    using K = FetchItem::Kind;
    std::string name = read_att_name(in);
    if (name == "ENVELOPE") return simple(K::Envelope);
    if (name == "FLAGS") return simple(K::Flags);
    if (name == "INTERNALDATE") return simple(K::InternalDate);
    if (name == "RFC822") return simple(K::Rfc822);
    if (name == "RFC822.HEADER") return simple(K::Rfc822Header);
    if (name == "RFC822.SIZE") return simple(K::Rfc822Size);
    if (name == "RFC822.TEXT") return simple(K::Rfc822Text);
    if (name == "BODYSTRUCTURE") return simple(K::BodyStructure);
    if (name == "UID") return simple(K::Uid);
    if (name == "MODSEQ") return simple(K::ModSeq);           // RFC 7162 3.1.4.2
    if (name == "EMAILID") return simple(K::EmailId);         // RFC 8474 5.3
    if (name == "THREADID") return simple(K::ThreadId);       // RFC 8474 5.3
    if (name == "SAVEDATE") return simple(K::SaveDate);       // RFC 8514 4.2
    if (name == "PREVIEW") return read_preview(in, in_list);  // RFC 8970 6
    if (name == "BODY" && in.peek() != '[') return simple(K::Body);
    if (name == "BODY" || name == "BODY.PEEK") {
        FetchItem item = simple(K::BodySection);
        item.peek = name == "BODY.PEEK";
        item.section = read_section(in);
        item.partial = read_partial(in);
        return item;
    }
    // RFC 3516 7: "BINARY" [".PEEK"] section-binary [partial] /
    // "BINARY.SIZE" section-binary
    if (name == "BINARY" || name == "BINARY.PEEK") {
        FetchItem item = simple(K::BinarySection);
        item.peek = name == "BINARY.PEEK";
        item.section = read_section_binary(in);
        item.partial = read_partial(in);
        return item;
    }
    if (name == "BINARY.SIZE") {
        FetchItem item = simple(K::BinarySize);
        item.section = read_section_binary(in);
        return item;
    }
    if (name == "ALL" || name == "FAST" || name == "FULL") {
        parse_fail(name + " is a macro and cannot be inside a list (RFC 3501 6.4.5)");
    }
    parse_fail("Unknown fetch attribute " + name.substr(0, 40));
}

// fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")" (RFC
// 4466 2.4): "CHANGEDSINCE" SP mod-sequence-value (RFC 7162 3.1.4.1); in
// UID FETCH only and together with CHANGEDSINCE, "VANISHED" (3.2.6); in UID
// FETCH only, "PARTIAL" SP partial-range (RFC 9394 3.3: the section extends
// UID FETCH, not FETCH, whose sequence numbers already say how many
// messages they name). Each at most once, in any order (RFC 9394 3.4).
void read_fetch_modifiers(Reader& in, FetchCommand& command) {
    in.space();
    in.expect('(', "'(' starting the FETCH modifiers");
    in.enter_group();
    for (;;) {
        const std::string name = in.keyword();
        if (name == "CHANGEDSINCE" && !command.changed_since) {
            in.space();
            command.changed_since = in.number64();
        } else if (name == "VANISHED" && !command.vanished) {
            if (!command.uid) parse_fail("VANISHED is only valid in UID FETCH (RFC 7162 3.2.6)");
            command.vanished = true;
        } else if (name == "PARTIAL" && !command.partial) {
            if (!command.uid) parse_fail("PARTIAL is only valid in UID FETCH (RFC 9394 3.3)");
            in.space();
            command.partial = read_partial_range(in);
        } else if (name == "CHANGEDSINCE" || name == "VANISHED" || name == "PARTIAL") {
            parse_fail("Duplicate FETCH modifier " + name);
        } else {
            parse_fail("Unknown FETCH modifier " + name.substr(0, 40));
        }
        if (in.accept(')')) break;
        in.space();
    }
    in.leave_group();
    if (command.vanished && !command.changed_since) {
        parse_fail("VANISHED used without CHANGEDSINCE (RFC 7162 3.2.6)");
    }
}

void read_fetch_items(Reader& in, FetchCommand& command) {
    if (in.accept('(')) {
        in.enter_group();
        for (;;) {
            command.items.push_back(read_fetch_att(in, true));
            if (in.accept(')')) break;
            in.space();
        }
        in.leave_group();
        return;
    }
    for (std::string_view macro : {"ALL", "FAST", "FULL"}) {
        if (in.accept_keyword(macro)) {
            command.items = expand_macro(macro);
            return;
        }
    }
    command.items.push_back(read_fetch_att(in, false));
}

}  // namespace

FetchItem read_fetch_att_in_list(Reader& in) {
    return read_fetch_att(in, true);
}

FetchCommand parse_fetch(Reader& in, bool uid) {
    FetchCommand command;
    command.uid = uid;
    in.space();
    command.set = read_sequence_set(in);
    in.space();
    read_fetch_items(in, command);
    if (in.rest_of_line().starts_with(" (")) read_fetch_modifiers(in, command);
    return command;
}

}  // namespace imap::detail
