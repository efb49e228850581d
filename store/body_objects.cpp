#include "store/body_objects.h"

#include <openssl/evp.h>

#include <stdexcept>
#include <vector>

#include "store/limits.h"
#include "store/utf8.h"

namespace imap::store {
namespace {

constexpr std::size_t kHashBytes = 32;          // SHA-256
constexpr std::size_t kThreadIdHexDigits = 32;  // 128 bits: distinct threads never meet

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::string hex(std::string_view bytes, std::size_t digits) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < bytes.size() && out.size() < digits; ++i) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        out += kDigits[b >> 4];
        if (out.size() < digits) out += kDigits[b & 15];
    }
    return out;
}

// ---- The part a preview is made of ------------------------------------------

bool is_attachment(const MimePart& part) {
    return part.disposition && iequals(*part.disposition, "attachment");
}

// The first text/plain and the first text/html leaf that are not
// attachments, in part order. Embedded messages (message/rfc822) are not
// entered: they are forwarded content, not what this message says.
void find_text_parts(const MimePart& part, const MimePart*& plain, const MimePart*& html) {
    if (part.is_multipart()) {
        for (const MimePart& child : part.children) {
            if (plain != nullptr) return;
            find_text_parts(child, plain, html);
        }
        return;
    }
    if (!part.children.empty() || is_attachment(part) || !iequals(part.type, "text")) return;
    if (plain == nullptr && iequals(part.subtype, "plain")) plain = &part;
    if (html == nullptr && iequals(part.subtype, "html")) html = &part;
}

// The part's text, at most kPreviewSourceBytes of its encoded body
// decoded, in UTF-8.
std::string part_text(std::string_view raw, const MimePart& part) {
    std::string_view body = raw.substr(part.body.begin, part.body.size());
    const bool cut = body.size() > limits::kPreviewSourceBytes;
    if (cut) body = body.substr(0, limits::kPreviewSourceBytes);
    std::string decoded;
    if (iequals(part.encoding, "base64")) {
        decoded = decode_base64(body);
    } else if (iequals(part.encoding, "quoted-printable")) {
        decoded = decode_quoted_printable(body);
    } else {
        decoded = std::string(body);
    }
    std::string charset = "us-ascii";
    for (const MimeParameter& p : part.parameters) {
        if (iequals(p.name, "charset")) charset = p.value;
    }
    std::string text = to_utf8(decoded, charset);
    // A character the cut split became U+FFFD: drop it.
    if (cut && text.ends_with("\xEF\xBF\xBD")) text.resize(text.size() - 3);
    return text;
}

// ---- HTML to text -------------------------------------------------------------

char32_t named_entity(std::string_view name) {
    static constexpr std::pair<std::string_view, char32_t> kEntities[] = {
        {"amp", U'&'},        {"lt", U'<'},         {"gt", U'>'},          {"quot", U'"'},
        {"apos", U'\''},      {"nbsp", U' '},       {"copy", U'\u00A9'},   {"reg", U'\u00AE'},
        {"mdash", U'\u2014'}, {"ndash", U'\u2013'}, {"hellip", U'\u2026'}, {"rsquo", U'\u2019'},
        {"lsquo", U'\u2018'}, {"rdquo", U'\u201D'}, {"ldquo", U'\u201C'},  {"euro", U'\u20AC'},
        {"zwnj", U' '},
    };
    for (const auto& [entity, code_point] : kEntities) {
        if (entity == name) return code_point;
    }
    return 0;
}

// Decodes the entity at text[i] ('&'); returns its length, 0 when it is
// none (the '&' is then text).
std::size_t append_entity(std::string_view text, std::size_t i, std::string& out) {
    const std::size_t end = text.find(';', i + 1);
    if (end == std::string_view::npos || end - i > 10) return 0;
    std::string_view name = text.substr(i + 1, end - i - 1);
    char32_t code_point = 0;
    if (name.size() > 1 && name[0] == '#') {
        const bool hexadecimal = name[1] == 'x' || name[1] == 'X';
        std::string_view digits = name.substr(hexadecimal ? 2 : 1);
        if (digits.empty()) return 0;
        for (char c : digits) {
            int value = -1;
            if (c >= '0' && c <= '9') value = c - '0';
            if (hexadecimal && c >= 'a' && c <= 'f') value = c - 'a' + 10;
            if (hexadecimal && c >= 'A' && c <= 'F') value = c - 'A' + 10;
            if (value < 0) return 0;
            code_point = code_point * (hexadecimal ? 16 : 10) + static_cast<char32_t>(value);
            if (code_point > 0x10FFFF) return 0;
        }
        if (code_point == 0 || (code_point >= 0xD800 && code_point <= 0xDFFF)) return 0;
    } else {
        code_point = named_entity(name);
        if (code_point == 0) return 0;
    }
    utf8::append(out, code_point);
    return end - i + 1;
}

// The lower-cased name of the tag at text[i] ('<'), "/name" for an end tag.
std::string tag_name(std::string_view text, std::size_t i) {
    std::string name;
    for (std::size_t k = i + 1; k < text.size() && name.size() < 16; ++k) {
        const char c = text[k];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!letter && !(c == '/' && name.empty()) && !(c >= '0' && c <= '9' && !name.empty())) {
            break;
        }
        name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    return name;
}

// Text of HTML: tags become white space, the content of head, script,
// style and title is dropped, comments too, entities are decoded. Linear.
std::string html_text(std::string_view html) {
    std::string out;
    std::string skip_until;  // an end tag ("/style") whose content is dropped
    std::size_t i = 0;
    while (i < html.size()) {
        const char c = html[i];
        if (c == '<') {
            if (html.substr(i, 4) == "<!--") {
                const std::size_t end = html.find("-->", i + 4);
                i = end == std::string_view::npos ? html.size() : end + 3;
                continue;
            }
            const std::string name = tag_name(html, i);
            const std::size_t end = html.find('>', i + 1);
            i = end == std::string_view::npos ? html.size() : end + 1;
            if (!skip_until.empty()) {
                if (name == skip_until) skip_until.clear();
                continue;
            }
            if (name == "head" || name == "script" || name == "style" || name == "title") {
                skip_until = "/" + name;
            }
            out += ' ';
            continue;
        }
        if (!skip_until.empty()) {
            ++i;
            continue;
        }
        if (c == '&') {
            if (const std::size_t length = append_entity(html, i, out)) {
                i += length;
                continue;
            }
        }
        out += c;
        ++i;
    }
    return out;
}

// ---- Plain text -------------------------------------------------------------

// The text without its quoted lines ("> ..." of a reply), as Dovecot's
// snippets leave them out: the new text is what identifies the message.
std::string without_quotes(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t end = text.find('\n', i);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view line = text.substr(i, end - i);
        if (!line.starts_with('>')) {
            out += line;
            out += '\n';
        }
        i = end + 1;
    }
    return out;
}

// White space runs (and control characters) as one space, trimmed, at most
// kPreviewCharacters characters.
std::string collapse(std::string_view text) {
    std::string out;
    std::size_t characters = 0;
    bool space = false;
    for (std::size_t i = 0; i < text.size();) {
        const utf8::Sequence seq = utf8::decode(text, i);
        const std::size_t length = seq.length == 0 ? 1 : seq.length;
        const char32_t c = seq.length == 0 ? U'\uFFFD' : seq.code_point;
        i += length;
        if (c <= 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F) || c == 0xA0 || c == 0x200B ||
            c == 0xFEFF) {
            space = !out.empty();
            continue;
        }
        if (space) {
            if (characters + 1 >= limits::kPreviewCharacters) break;
            out += ' ';
            ++characters;
            space = false;
        }
        utf8::append(out, c);
        if (++characters == limits::kPreviewCharacters) break;
    }
    return out;
}

}  // namespace

std::string sha256(std::string_view bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed");
    }
    return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string email_id(std::string_view hash) {
    return "M" + hex(hash, 2 * kHashBytes);
}

std::optional<std::string> email_id_hash(std::string_view id) {
    if (id.size() != 1 + 2 * kHashBytes || id[0] != 'M') return std::nullopt;
    std::string hash;
    for (std::size_t i = 1; i < id.size(); i += 2) {
        int value = 0;
        for (char c : id.substr(i, 2)) {
            int digit = -1;
            if (c >= '0' && c <= '9') digit = c - '0';
            if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;  // ids are case sensitive
            if (digit < 0) return std::nullopt;
            value = value * 16 + digit;
        }
        hash += static_cast<char>(value);
    }
    return hash;
}

std::string thread_id(const SortKeys& keys, std::string_view hash) {
    // Distinct prefixes keep a root id from ever meeting a content hash.
    const std::string digest = keys.thread_root.empty() ? sha256("body:" + std::string(hash))
                                                        : sha256("root:" + keys.thread_root);
    return "T" + hex(digest, kThreadIdHexDigits);
}

std::string compute_preview(std::string_view raw, const ParsedMessage& message) {
    const MimePart* plain = nullptr;
    const MimePart* html = nullptr;
    find_text_parts(message.root, plain, html);
    if (plain != nullptr) return collapse(without_quotes(part_text(raw, *plain)));
    if (html != nullptr) return collapse(html_text(part_text(raw, *html)));
    return {};
}

BodyObjects compute_body_objects(std::string_view raw, const ParsedMessage& message,
                                 const SortKeys& keys, std::string_view hash) {
    return {thread_id(keys, hash), compute_preview(raw, message)};
}

}  // namespace imap::store
