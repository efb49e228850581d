#include "server/imap/commands/catenate.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <variant>

#include "protocol/parser.h"
#include "server/imap/fetch_job.h"
#include "server/imap/session.h"
#include "store/errors.h"
#include "store/limits.h"

namespace imap::server {
namespace {

// An IMAP URL of a message or message part (RFC 5092 imessagepart), taken
// apart; the mailbox is nullopt for a URL relative to the selected one.
struct MessageUrl {
    std::optional<std::string> mailbox;
    std::optional<std::uint32_t> uidvalidity;
    std::uint32_t uid = 0;
    std::string section;  // section-text, percent-decoded; empty: the message
    // RFC 5550 3.x: ";PARTIAL=offset[.length]"; no length: to the end.
    std::optional<std::pair<std::uint32_t, std::optional<std::uint32_t>>> partial;
};

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::toupper(static_cast<unsigned char>(a)) ==
                      std::toupper(static_cast<unsigned char>(b));
           });
}

// Consumes `prefix` (ASCII, any case) from `text` if it is there.
bool consume(std::string_view& text, std::string_view prefix) {
    if (!starts_with_nocase(text, prefix)) return false;
    text.remove_prefix(prefix.size());
    return true;
}

// Where `needle` (any case) starts in `text`, or npos.
std::size_t find_nocase(std::string_view text, std::string_view needle) {
    for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
        if (starts_with_nocase(text.substr(i), needle)) return i;
    }
    return std::string_view::npos;
}

// RFC 3986 2.1 percent-decoding; nullopt for a "%" not followed by two hex
// digits.
std::optional<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
            return std::nullopt;
        }
        out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
        i += 2;
    }
    return out;
}

// A 32-bit number at the start of `text` (consumed); nullopt when there is
// none or it is too large. `nonzero`: nz-number.
std::optional<std::uint32_t> read_number(std::string_view& text, bool nonzero) {
    std::size_t digits = 0;
    std::uint64_t value = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
        value = value * 10 + static_cast<unsigned>(text[digits] - '0');
        if (value > 0xffffffffull) return std::nullopt;
        ++digits;
    }
    if (digits == 0 || (nonzero && value == 0)) return std::nullopt;
    text.remove_prefix(digits);
    return static_cast<std::uint32_t>(value);
}

// A relative IMAP URL (RFC 5092 7: an absolute path "/mailbox...", or
// ";UID=..." against the selected mailbox) of an imessagepart:
//   enc-mailbox [";UIDVALIDITY=" nz-number] "/;UID=" nz-number
//   ["/;SECTION=" enc-section] ["/;PARTIAL=" number ["." nz-number]]
std::optional<MessageUrl> parse_message_url(std::string_view url) {
    MessageUrl parsed;
    std::string_view rest = url;
    if (rest.starts_with('/')) {
        rest.remove_prefix(1);
        const std::size_t semicolon = rest.find(';');
        if (semicolon == std::string_view::npos) return std::nullopt;  // not a message
        std::string_view encoded = rest.substr(0, semicolon);
        rest.remove_prefix(semicolon);
        const bool slash_before_uid = encoded.ends_with('/');
        if (slash_before_uid) encoded.remove_suffix(1);
        if (encoded.empty()) return std::nullopt;
        parsed.mailbox = percent_decode(encoded);
        if (!parsed.mailbox) return std::nullopt;
        if (!slash_before_uid) {
            if (!consume(rest, ";UIDVALIDITY=")) return std::nullopt;
            parsed.uidvalidity = read_number(rest, true);
            if (!parsed.uidvalidity || !consume(rest, "/")) return std::nullopt;
        }
    }
    if (!consume(rest, ";UID=")) return std::nullopt;
    const std::optional<std::uint32_t> uid = read_number(rest, true);
    if (!uid) return std::nullopt;
    parsed.uid = *uid;
    if (consume(rest, "/;SECTION=")) {
        const std::size_t end = find_nocase(rest, "/;PARTIAL=");
        const std::optional<std::string> section = percent_decode(rest.substr(0, end));
        if (!section || section->empty()) return std::nullopt;
        parsed.section = *section;
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    }
    if (consume(rest, "/;PARTIAL=")) {
        const std::optional<std::uint32_t> offset = read_number(rest, false);
        if (!offset) return std::nullopt;
        std::optional<std::uint32_t> length;
        if (consume(rest, ".")) {
            length = read_number(rest, true);
            if (!length) return std::nullopt;
        }
        parsed.partial = {*offset, length};
    }
    // ";URLAUTH=" (RFC 4467) and anything else: not resolved here.
    if (!rest.empty()) return std::nullopt;
    return parsed;
}

// section-text as FETCH takes it (RFC 3501 6.4.5), by the FETCH grammar
// itself; nullopt when it is not one, or carries more than a section.
std::optional<SectionSpec> parse_section(const std::string& section) {
    if (section.find_first_of("\r\n") != std::string::npos) return std::nullopt;
    Frame frame{{"x FETCH 1 BODY.PEEK[" + section + "]"}, {}};
    ParseResult result = parse_command(std::move(frame));
    const auto* command = std::get_if<Command>(&result);
    if (command == nullptr) return std::nullopt;
    const auto& fetch = std::get<FetchCommand>(command->body);
    if (fetch.items.size() != 1 || fetch.items.front().kind != FetchItem::Kind::BodySection ||
        fetch.items.front().partial) {
        return std::nullopt;
    }
    return fetch.items.front().section;
}

// One part, resolved to what it adds: TEXT's bytes, or a URL's range of a
// body (its bytes are read only once every part is known to fit).
struct ResolvedPart {
    const CatenatePart* part = nullptr;
    store::BodyId body;
    store::ByteRange range;
    std::optional<SectionSpec> header_fields;  // HEADER.FIELDS[.NOT]: filtered when read
    std::optional<std::pair<std::uint32_t, std::optional<std::uint32_t>>> partial;
    // What it adds at most: exact but for HEADER.FIELDS, whose filtered
    // header is at most the header.
    std::uint64_t size = 0;
};

// `range` cut to BODY[]<offset.length> (RFC 3501 6.4.5: an offset past the
// end gives nothing).
store::ByteRange cut(
    store::ByteRange range,
    const std::optional<std::pair<std::uint32_t, std::optional<std::uint32_t>>>& partial) {
    if (!partial) return range;
    const std::uint64_t offset = std::min<std::uint64_t>(partial->first, range.size());
    std::uint64_t length = range.size() - offset;
    if (partial->second) length = std::min<std::uint64_t>(length, *partial->second);
    return store::ByteRange{range.begin + offset, range.begin + offset + length};
}

std::string cut(
    std::string text,
    const std::optional<std::pair<std::uint32_t, std::optional<std::uint32_t>>>& partial) {
    const store::ByteRange range = cut(store::ByteRange{0, text.size()}, partial);
    return text.substr(range.begin, range.size());
}

// The part a URL names, or why it names none (BADURL).
std::variant<ResolvedPart, std::string> resolve_url(Session& session, const CatenatePart& part) {
    // RFC 4469 3: an absolute URL is "outside the scope of this document",
    // and a server implementing only it "would return NO".
    if (starts_with_nocase(part.data, "imap:")) return "Relative IMAP URL required (RFC 4469 3)";
    const std::optional<MessageUrl> url = parse_message_url(part.data);
    if (!url) return "Invalid IMAP message URL (RFC 5092)";
    store::MailStore& store = session.mail()->store();
    store::MailboxId mailbox = 0;
    std::uint32_t uidvalidity = 0;
    if (url->mailbox) {
        std::optional<store::MailboxInfo> info;
        try {
            info = store.find_mailbox(*url->mailbox);
        } catch (const store::StoreError&) {
            return "Invalid mailbox name";
        }
        if (!info || !info->selectable) return "Mailbox does not exist";
        mailbox = info->id;
        uidvalidity = info->uidvalidity;
    } else {
        const SelectedMailbox* selected = session.selected();
        if (selected == nullptr) return "Mailbox-relative IMAP URL, but no mailbox selected";
        mailbox = selected->id();
        uidvalidity = selected->uidvalidity();
    }
    if (url->uidvalidity && *url->uidvalidity != uidvalidity) return "Invalid UIDVALIDITY";
    std::optional<SectionSpec> section = SectionSpec{};
    if (!url->section.empty()) section = parse_section(url->section);
    if (!section) return "Invalid section";

    const store::UidRange uid{url->uid, url->uid};
    const std::vector<store::MessageInfo> found = store.fetch(mailbox, std::span(&uid, 1));
    if (found.empty()) return "Message not found";
    const store::ParsedMessage structure = store.structure(found.front().body_id);
    const std::optional<store::ByteRange> range =
        store::resolve_section(structure, section->part, section_kind(section->text));
    // RFC 4469 4.1: "invalid body part" is a BADURL.
    if (!range) return "No such body part";

    ResolvedPart resolved;
    resolved.part = &part;
    resolved.body = found.front().body_id;
    resolved.range = *range;
    resolved.partial = url->partial;
    if (section->text == SectionSpec::Text::HeaderFields ||
        section->text == SectionSpec::Text::HeaderFieldsNot) {
        resolved.header_fields = std::move(*section);
        resolved.size = cut(*range, url->partial).size();
    } else {
        resolved.range = cut(*range, url->partial);
        resolved.size = resolved.range.size();
    }
    return resolved;
}

// url-resp-text = 1*(any TEXT-CHAR except "]") (RFC 4469 5): the URL as
// given, with "]", control characters and 8-bit octets percent-encoded
// (RFC 3986 2.1), so that the response code stays well formed whatever the
// client sent.
std::string url_resp_text(std::string_view url) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : url) {
        const auto octet = static_cast<unsigned char>(c);
        if (c == ']' || octet < 0x20 || octet >= 0x7f) {
            out += '%';
            out += kHex[octet >> 4];
            out += kHex[octet & 0xf];
        } else {
            out += c;
        }
    }
    return out.empty() ? std::string("\"\"") : out;  // URL "": 1*char still
}

}  // namespace

Checked<std::string> catenate(Session& session, const std::vector<CatenatePart>& parts) {
    const std::uint64_t limit = store::limits::kMaxMessageSize;
    const auto too_big = [&] {
        return CommandResult::no(
            ResponseCode::extension("TOOBIG"),
            "Message would be too large (at most " + std::to_string(limit) + " octets)");
    };
    // First every part's size, so nothing is read for a message that
    // would be refused (RFC 4469 4.2).
    std::vector<ResolvedPart> resolved;
    resolved.reserve(parts.size());
    std::uint64_t total = 0;
    for (const CatenatePart& part : parts) {
        if (part.url) {
            std::variant<ResolvedPart, std::string> url = resolve_url(session, part);
            if (auto* reason = std::get_if<std::string>(&url)) {
                return CommandResult::no(
                    ResponseCode::extension("BADURL", url_resp_text(part.data)), *reason);
            }
            resolved.push_back(std::move(std::get<ResolvedPart>(url)));
        } else {
            ResolvedPart text;
            text.part = &part;
            text.size = part.data.size();
            resolved.push_back(text);
        }
        total += resolved.back().size;
        if (total > limit) return too_big();
    }
    std::string message;
    message.reserve(static_cast<std::size_t>(total));
    store::MailStore& store = session.mail()->store();
    for (const ResolvedPart& part : resolved) {
        if (!part.part->url) {
            message += part.part->data;
            continue;
        }
        std::string bytes = store.read_body(part.body, part.range.begin, part.range.size());
        if (bytes.size() != part.range.size()) {
            // The body went away since it was resolved (another process).
            return CommandResult::no(
                ResponseCode::extension("BADURL", url_resp_text(part.part->data)),
                "The message of the URL no longer exists");
        }
        if (part.header_fields) {
            bytes =
                cut(filter_header(bytes, part.header_fields->fields,
                                  part.header_fields->text == SectionSpec::Text::HeaderFieldsNot),
                    part.partial);
        }
        message += bytes;
    }
    return message;
}

}  // namespace imap::server
