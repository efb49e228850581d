// The message parser: header blocks, the MIME tree and section ranges.
// See message.h for the contract; DIFFERENCES.md under tests/data/messages/
// for where we read a broken message differently from Dovecot.
#include "store/message/message.h"

#include <algorithm>
#include <utility>

#include "store/message/mime_lexer.h"

namespace imap::store {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = ascii_lower(c);
    return out;
}

bool is_wsp(char c) {
    return c == ' ' || c == '\t';
}

// End of the line starting at `pos` (the index after its LF, or `end`).
std::size_t line_end(std::string_view raw, std::size_t pos, std::size_t end) {
    const std::size_t nl = raw.find('\n', pos);
    return nl == std::string_view::npos || nl >= end ? end : nl + 1;
}

// A line holding only its line end: the end of a header (RFC 5322 2.1).
bool is_blank_line(std::string_view raw, std::size_t pos, std::size_t end) {
    if (pos < end && raw[pos] == '\n') return true;
    return pos + 1 < end && raw[pos] == '\r' && raw[pos + 1] == '\n';
}

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && (is_wsp(s.front()) || s.front() == '\r' || s.front() == '\n'))
        s.remove_prefix(1);
    return s;
}

std::string_view trim(std::string_view s) {
    s = trim_left(s);
    while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n'))
        s.remove_suffix(1);
    return s;
}

// Dovecot's reading of unstructured values: leading white space dropped,
// folding line ends removed (RFC 5322 2.2.3), everything else kept.
std::string unfold_keep_trailing(std::string_view raw_value) {
    std::string out;
    const std::string_view v = trim_left(raw_value);
    out.reserve(v.size());
    for (char c : v)
        if (c != '\r' && c != '\n') out += c;
    return out;
}

// Line ends (LF) in byte ranges of one message. Nested message/rfc822 parts
// each report the line count of their whole body, so counting every range
// from scratch would read the innermost bytes once per level (100 times
// at kMaxMimeDepth). Large ranges use a running count kept every
// kStride bytes, built on first need: each query then reads at most two
// strides, and the message once.
class LineCounter {
  public:
    explicit LineCounter(std::string_view raw) : raw_(raw) {}

    std::uint64_t count(ByteRange r) {
        if (r.size() < 2 * kStride) return count_direct(r.begin, r.end);
        return lines_before(r.end) - lines_before(r.begin);
    }

  private:
    static constexpr std::size_t kStride = 4096;

    std::uint64_t count_direct(std::size_t begin, std::size_t end) const {
        return static_cast<std::uint64_t>(
            std::count(raw_.begin() + static_cast<std::ptrdiff_t>(begin),
                       raw_.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
    }

    std::uint64_t lines_before(std::size_t pos) {
        if (strides_.empty()) {
            strides_.reserve(raw_.size() / kStride + 1);
            std::uint64_t total = 0;
            strides_.push_back(0);
            for (std::size_t at = kStride; at <= raw_.size(); at += kStride) {
                total += count_direct(at - kStride, at);
                strides_.push_back(total);
            }
        }
        const std::size_t stride = pos / kStride;
        return strides_[stride] + count_direct(stride * kStride, pos);
    }

    std::string_view raw_;
    std::vector<std::uint64_t> strides_;  // LFs before stride i's first byte
};

// The boundaries of the enclosing multiparts, innermost last.
using BoundaryStack = std::vector<std::string_view>;

// A boundary delimiter line found by the scanner (RFC 2046 5.1.1).
struct BoundaryHit {
    std::size_t index = 0;       // into the stack
    std::size_t line_begin = 0;  // the "--"
    std::size_t line_end = 0;    // after its line end
    bool close = false;          // "--boundary--"
};

class Parser {
  public:
    explicit Parser(std::string_view raw) : raw_(raw), lines_(raw) {}

    // Parses the entity starting at `pos` (header, then body) up to the next
    // boundary line of `stack` or the end. Returns the boundary that ended
    // it, if any. `part` gets its ranges and fields.
    std::optional<BoundaryHit> parse_entity(MimePart& part, std::size_t pos, std::size_t depth,
                                            BoundaryStack& stack, bool digest_parent,
                                            std::vector<HeaderField>* fields_out,
                                            Envelope* envelope_out) {
        ++parts_;
        // Header: up to the blank line, or up to a boundary line (a part
        // header cut short, as Dovecot reads it), or the end.
        const std::size_t end = raw_.size();
        std::size_t p = pos;
        std::optional<BoundaryHit> hit;
        while (p < end) {
            if (is_blank_line(raw_, p, end)) {
                p = line_end(raw_, p, end);
                break;
            }
            if (auto h = boundary_at(p, stack)) {
                hit = h;
                break;
            }
            p = line_end(raw_, p, end);
        }
        part.header = {pos, p};
        std::vector<HeaderField> fields = parse_header_fields(raw_, part.header);
        apply_mime_fields(part, fields, digest_parent);
        if (envelope_out) *envelope_out = build_envelope(fields);
        if (fields_out) *fields_out = std::move(fields);

        if (hit) {
            part.body = {p, p};
            finish_leaf(part);
            return hit;
        }

        const bool can_nest =
            depth < MessageLimits::kMaxMimeDepth && parts_ < MessageLimits::kMaxParts;
        if (part.is_multipart()) return parse_multipart(part, p, depth, stack, can_nest);
        if (can_nest && iequals(part.type, "message") && iequals(part.subtype, "rfc822")) {
            // RFC 2046 5.2.1: the body is a whole message. Dovecot parses it
            // as one whatever the transfer encoding claims, and so do we.
            part.children.emplace_back();
            part.embedded_envelope.emplace();
            hit = parse_entity(part.children.back(), p, depth + 1, stack, false, nullptr,
                               &*part.embedded_envelope);
            part.body = {p, part.children.back().body.end};
            part.body_lines = lines_.count(part.body);
            return hit;
        }
        hit = scan_to_boundary(p, stack);
        part.body = {p, content_end(p, hit)};
        finish_leaf(part);
        return hit;
    }

  private:
    std::optional<BoundaryHit> parse_multipart(MimePart& part, std::size_t body_begin,
                                               std::size_t depth, BoundaryStack& stack,
                                               bool can_nest) {
        std::string_view boundary;
        for (const auto& param : part.parameters)
            if (iequals(param.name, "boundary")) {
                boundary = param.value;
                break;
            }
        const bool digest = iequals(part.subtype, "digest");
        std::optional<BoundaryHit> hit;
        if (!boundary.empty() && boundary.size() <= MessageLimits::kMaxBoundaryLength && can_nest) {
            stack.push_back(boundary);
            const std::size_t mine = stack.size() - 1;
            hit = scan_to_boundary(body_begin, stack);  // the preamble
            while (hit && hit->index == mine && !hit->close && parts_ < MessageLimits::kMaxParts) {
                part.children.emplace_back();
                hit = parse_entity(part.children.back(), hit->line_end, depth + 1, stack, digest,
                                   nullptr, nullptr);
            }
            std::size_t end;
            if (hit && hit->index == mine) {
                // The close delimiter, or the part limit: the rest up to an
                // outer boundary is epilogue (RFC 2046 5.1.1). The line end
                // of the close delimiter stays with this multipart, as in
                // Dovecot.
                const std::size_t epilogue = hit->line_end;
                hit = scan_to_boundary(epilogue, stack, mine);
                end = content_end(epilogue, hit);
            } else if (!part.children.empty()) {
                end = part.children.back().body.end;  // no close delimiter
            } else {
                end = content_end(body_begin, hit);  // no delimiter at all
            }
            stack.pop_back();
            part.body = {body_begin, end};
        } else {
            hit = scan_to_boundary(body_begin, stack);
            part.body = {body_begin, content_end(body_begin, hit)};
        }
        if (part.children.empty()) {
            // RFC 3501 body-type-mpart needs one body at least; Dovecot
            // reports an empty text/plain, and so do we.
            MimePart empty;
            empty.parameters.push_back({"charset", "us-ascii"});
            empty.header = empty.body = {part.body.end, part.body.end};
            part.children.push_back(std::move(empty));
        }
        return hit;
    }

    // Where the content before `hit` ends: the line end before a boundary
    // belongs to the boundary (RFC 2046 5.1.1).
    std::size_t content_end(std::size_t begin, const std::optional<BoundaryHit>& hit) const {
        if (!hit) return raw_.size();
        std::size_t e = hit->line_begin;
        if (e > begin && raw_[e - 1] == '\n') --e;
        if (e > begin && raw_[e - 1] == '\r') --e;
        return e;
    }

    void finish_leaf(MimePart& part) {
        if (part.is_text()) part.body_lines = lines_.count(part.body);
    }

    // The first boundary line of `stack` (entries below `skip_from` only,
    // when given) at or after `pos`, which must be a line start.
    std::optional<BoundaryHit> scan_to_boundary(std::size_t pos, const BoundaryStack& stack,
                                                std::size_t skip_from = SIZE_MAX) const {
        if (stack.empty()) return std::nullopt;
        const std::size_t end = raw_.size();
        while (pos < end) {
            if (auto h = boundary_at(pos, stack, skip_from)) return h;
            pos = line_end(raw_, pos, end);
        }
        return std::nullopt;
    }

    // Whether the line at `pos` is a delimiter of one of the boundaries.
    // Like Dovecot, a line that starts with "--" + boundary matches whatever
    // follows; when several boundaries match, the longest wins (an inner
    // "ab" against an outer "a").
    std::optional<BoundaryHit> boundary_at(std::size_t pos, const BoundaryStack& stack,
                                           std::size_t skip_from = SIZE_MAX) const {
        const std::size_t end = raw_.size();
        if (pos + 2 > end || raw_[pos] != '-' || raw_[pos + 1] != '-') return std::nullopt;
        const std::string_view rest = raw_.substr(pos + 2);
        std::optional<BoundaryHit> best;
        std::size_t best_len = 0;
        for (std::size_t i = 0; i < stack.size(); ++i) {
            if (i >= skip_from) break;
            const std::string_view b = stack[i];
            if (rest.starts_with(b) && (!best || b.size() > best_len)) {
                best = BoundaryHit{i, pos, 0, false};
                best_len = b.size();
            }
        }
        if (best) {
            const std::size_t after = pos + 2 + best_len;
            best->close = raw_.substr(after, 2) == "--";
            best->line_end = line_end(raw_, pos, end);
        }
        return best;
    }

    void apply_mime_fields(MimePart& part, const std::vector<HeaderField>& fields,
                           bool digest_parent) const {
        bool have_type = false;
        for (const auto& f : fields) {
            const std::string_view n = f.name;
            if (iequals(n, "Content-Type")) {
                // The first Content-Type counts, as in Dovecot.
                if (have_type) continue;
                have_type = true;
                ContentType ct = parse_content_type(f.raw_value);
                if (ct.valid) {
                    // Dovecot reports type and subtype in lower case (they
                    // are case-insensitive, RFC 2045 5.1); parameters keep
                    // their case.
                    part.type = lower(ct.type);
                    part.subtype = lower(ct.subtype);
                    for (auto& param : ct.parameters) {
                        // "charset=US-ASCII" is the default, reported as
                        // the default below.
                        if (iequals(param.name, "charset") && iequals(param.value, "us-ascii"))
                            continue;
                        part.parameters.push_back(std::move(param));
                    }
                }
                // An invalid Content-Type keeps the RFC 2045 5.2 default
                // (a deliberate difference from Dovecot, DIFFERENCES.md).
            } else if (iequals(n, "Content-Transfer-Encoding")) {
                const std::string_view v = trim(f.raw_value);
                if (!v.empty()) part.encoding = std::string(v);
            } else if (iequals(n, "Content-ID")) {
                part.id = unfold_keep_trailing(f.raw_value);
            } else if (iequals(n, "Content-Description")) {
                part.description = unfold_keep_trailing(f.raw_value);
            } else if (iequals(n, "Content-MD5")) {
                part.md5 = unfold_keep_trailing(f.raw_value);
            } else if (iequals(n, "Content-Disposition")) {
                ContentType cd = parse_content_disposition(f.raw_value);
                if (cd.valid) {
                    part.disposition = std::move(cd.type);
                    part.disposition_parameters = std::move(cd.parameters);
                }
            } else if (iequals(n, "Content-Language")) {
                part.language = parse_language_list(f.raw_value);
            } else if (iequals(n, "Content-Location")) {
                part.location = unfold_keep_trailing(f.raw_value);
            }
        }
        if (!have_type && digest_parent) {
            // RFC 2046 5.1.5: in a digest the default is message/rfc822.
            part.type = "message";
            part.subtype = "rfc822";
        }
        if (part.is_text()) {
            const bool has_charset =
                std::any_of(part.parameters.begin(), part.parameters.end(),
                            [](const MimeParameter& p) { return iequals(p.name, "charset"); });
            // RFC 2045 5.2: text without a charset is us-ascii; Dovecot
            // reports the parameter, appended after the others.
            if (!has_charset) part.parameters.push_back({"charset", "us-ascii"});
        }
    }

    std::string_view raw_;
    LineCounter lines_;
    std::size_t parts_ = 0;

  public:
    static Envelope build_envelope(const std::vector<HeaderField>& fields);
};

void append_addresses(std::vector<Address>& to, std::string_view raw_value) {
    std::vector<Address> more = parse_address_list(raw_value);
    for (auto& a : more) {
        if (to.size() >= MessageLimits::kMaxAddresses) break;
        to.push_back(std::move(a));
    }
}

Envelope Parser::build_envelope(const std::vector<HeaderField>& fields) {
    // RFC 3501 7.4.2. Matching Dovecot: for the single-valued fields the
    // last occurrence counts; address fields that occur more than once are
    // concatenated.
    Envelope env;
    for (const auto& f : fields) {
        const std::string_view n = f.name;
        if (iequals(n, "Date")) {
            env.date = unfold_keep_trailing(f.raw_value);
        } else if (iequals(n, "Subject")) {
            env.subject = std::string(trim(unfold_keep_trailing(f.raw_value)));
        } else if (iequals(n, "From")) {
            append_addresses(env.from, f.raw_value);
        } else if (iequals(n, "Sender")) {
            append_addresses(env.sender, f.raw_value);
        } else if (iequals(n, "Reply-To")) {
            append_addresses(env.reply_to, f.raw_value);
        } else if (iequals(n, "To")) {
            append_addresses(env.to, f.raw_value);
        } else if (iequals(n, "Cc")) {
            append_addresses(env.cc, f.raw_value);
        } else if (iequals(n, "Bcc")) {
            append_addresses(env.bcc, f.raw_value);
        } else if (iequals(n, "In-Reply-To")) {
            env.in_reply_to = unfold_keep_trailing(f.raw_value);
        } else if (iequals(n, "Message-ID")) {
            env.message_id = unfold_keep_trailing(f.raw_value);
        }
    }
    // RFC 3501 7.4.2: "If the Sender or Reply-To lines are absent in the
    // [RFC-2822] header, or are present but empty, the server sets the
    // corresponding member of the envelope to be the same value as the from
    // member".
    if (env.sender.empty()) env.sender = env.from;
    if (env.reply_to.empty()) env.reply_to = env.from;
    return env;
}

}  // namespace

bool MimePart::is_multipart() const {
    return iequals(type, "multipart");
}
bool MimePart::is_text() const {
    return iequals(type, "text");
}

std::vector<HeaderField> parse_header_fields(std::string_view raw, ByteRange range) {
    std::vector<HeaderField> fields;
    const std::size_t end = std::min(range.end, raw.size());
    std::size_t p = range.begin;
    while (p < end && fields.size() < MessageLimits::kMaxHeaderFields) {
        if (is_blank_line(raw, p, end)) break;
        const std::size_t start = p;
        p = line_end(raw, p, end);
        // RFC 5322 2.2.3: lines starting with white space continue the field.
        while (p < end && is_wsp(raw[p]))
            p = line_end(raw, p, end);
        std::string_view text = raw.substr(start, p - start);
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
            text.remove_suffix(1);
        const std::size_t colon = text.find(':');
        // A line without a colon, or a continuation with nothing to
        // continue, is not a field; it is skipped, and the header goes on
        // (Dovecot does the same).
        if (colon == std::string_view::npos || is_wsp(raw[start])) continue;
        std::string_view name = text.substr(0, colon);
        while (!name.empty() && is_wsp(name.back()))
            name.remove_suffix(1);
        if (name.empty()) continue;
        fields.push_back({name, text.substr(colon + 1), {start, p}});
    }
    return fields;
}

std::string unfold(std::string_view raw_value) {
    return std::string(trim(unfold_keep_trailing(raw_value)));
}

ParsedMessage parse_message(std::string_view raw) {
    ParsedMessage m;
    m.size = raw.size();
    Parser parser(raw);
    BoundaryStack stack;
    parser.parse_entity(m.root, 0, 0, stack, false, &m.header, &m.envelope);
    return m;
}

const MimePart* find_part(const ParsedMessage& message, std::span<const std::uint32_t> path) {
    const MimePart* part = &message.root;
    for (std::size_t i = 0; i < path.size(); ++i) {
        const std::uint32_t n = path[i];
        if (n == 0) return nullptr;
        // Past the first level a message/rfc822 part's numbers index the
        // embedded message (RFC 3501 6.4.5: "3.1" is part 1 of the message
        // in part 3).
        if (i > 0 && part->is_message()) part = &part->children.front();
        if (part->is_multipart()) {
            if (n > part->children.size()) return nullptr;
            part = &part->children[n - 1];
        } else if (n != 1) {
            // A non-multipart entity has only part 1: itself.
            return nullptr;
        }
    }
    return part;
}

std::optional<ByteRange> resolve_section(const ParsedMessage& message,
                                         std::span<const std::uint32_t> path, SectionKind kind) {
    if (path.empty()) {
        switch (kind) {
            case SectionKind::Whole:
                return ByteRange{0, message.size};
            case SectionKind::Header:
            case SectionKind::HeaderFields:
                return message.root.header;
            case SectionKind::Text:
                return message.root.body;
            case SectionKind::Mime:
                return std::nullopt;
        }
        return std::nullopt;
    }
    const MimePart* part = find_part(message, path);
    if (!part) return std::nullopt;
    switch (kind) {
        case SectionKind::Whole:
            return part->body;
        case SectionKind::Mime:
            return part->header;
        case SectionKind::Header:
        case SectionKind::HeaderFields:
            // RFC 3501 6.4.5: HEADER, HEADER.FIELDS and TEXT after a part
            // number need a message/rfc822 part.
            if (!part->is_message()) return std::nullopt;
            return part->children.front().header;
        case SectionKind::Text:
            if (!part->is_message()) return std::nullopt;
            return part->children.front().body;
    }
    return std::nullopt;
}

}  // namespace imap::store
