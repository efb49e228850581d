// RFC 5322 / RFC 2045 lexing and the Content-* field parsers.
#include "store/message/mime_lexer.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace imap::store {

namespace {

bool is_atext(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return true;
    if (u <= 0x20 || u == 0x7f) return false;
    return std::string_view("()<>[]:;@\\,.\"").find(c) == std::string_view::npos;
}

bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) return true;
    if (u <= 0x20 || u == 0x7f) return false;
    // RFC 2045 5.1 tspecials
    return std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

struct RawParameter {
    std::string name;
    std::string value;
};

// RFC 2231 3 and 4: "name*0", "name*1*" ... are joined into one parameter
// at the place of the first segment. Dovecot names the result "name" when
// no segment is extended and "name*" when one is, with the raw
// charset'language'%XX value: the client decodes it. So do we.
std::vector<MimeParameter> join_rfc2231(std::vector<RawParameter> raw) {
    struct Segment {
        unsigned index;
        bool extended;
        std::string value;
    };
    std::vector<MimeParameter> out;
    std::map<std::string, std::pair<std::size_t, std::vector<Segment>>> continued;
    for (auto& p : raw) {
        const std::size_t star = p.name.find('*');
        unsigned index = 0;
        bool is_continuation = false;
        bool extended = false;
        if (star != std::string::npos && star > 0) {
            std::string_view rest = std::string_view(p.name).substr(star + 1);
            if (!rest.empty() && rest.back() == '*') {
                extended = true;
                rest.remove_suffix(1);
            }
            if (!rest.empty()) {
                const auto [ptr, ec] =
                    std::from_chars(rest.data(), rest.data() + rest.size(), index);
                is_continuation = ec == std::errc() && ptr == rest.data() + rest.size();
            }
        }
        if (!is_continuation) {
            out.push_back({std::move(p.name), std::move(p.value)});
            continue;
        }
        std::string base;
        for (char c : p.name.substr(0, star))
            base += ascii_lower(c);
        auto it = continued.find(base);
        if (it == continued.end()) {
            out.push_back({p.name.substr(0, star), {}});
            it = continued.emplace(base, std::make_pair(out.size() - 1, std::vector<Segment>{}))
                     .first;
        }
        it->second.second.push_back({index, extended, std::move(p.value)});
    }
    for (auto& [base, entry] : continued) {
        auto& [pos, segments] = entry;
        std::stable_sort(segments.begin(), segments.end(),
                         [](const Segment& a, const Segment& b) { return a.index < b.index; });
        bool any_extended = false;
        for (const auto& s : segments) {
            out[pos].value += s.value;
            any_extended = any_extended || s.extended;
        }
        if (any_extended) out[pos].name += '*';
    }
    return out;
}

// *(";" parameter), leniently: empty ";;" and junk up to the next ";" are
// skipped, parameters without a value dropped.
std::vector<MimeParameter> parse_parameters(Rfc822Lexer& lex) {
    std::vector<RawParameter> raw;
    while (raw.size() < MessageLimits::kMaxParameters) {
        lex.skip_cfws();
        if (lex.at_end()) break;
        if (lex.peek() != ';') {
            lex.advance();  // junk between parameters
            continue;
        }
        lex.advance();
        lex.skip_cfws();
        auto name = lex.mime_token();
        if (!name) continue;
        lex.skip_cfws();
        if (lex.peek() != '=') continue;
        lex.advance();
        lex.skip_cfws();
        std::optional<std::string> value;
        if (lex.peek() == '"')
            value = lex.quoted_string();
        else
            value = lex.lenient_value();
        if (!value) continue;
        raw.push_back({std::move(*name), std::move(*value)});
    }
    return join_rfc2231(std::move(raw));
}

}  // namespace

void Rfc822Lexer::skip_cfws() {
    while (!at_end()) {
        const char c = s_[i_];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++i_;
        } else if (c == '(') {
            // RFC 5322 3.2.2: comments nest; quoted-pairs are allowed.
            std::string text;
            int depth = 0;
            while (!at_end()) {
                const char d = s_[i_++];
                if (d == '\\' && !at_end()) {
                    text += s_[i_++];
                } else if (d == '(') {
                    if (depth++ > 0) text += d;
                } else if (d == ')') {
                    if (--depth == 0) break;
                    text += d;
                } else if (d != '\r' && d != '\n') {
                    text += d;
                }
            }
            comments_.push_back(std::move(text));
        } else {
            break;
        }
    }
}

std::optional<std::string> Rfc822Lexer::atom() {
    const std::size_t start = i_;
    while (!at_end() && is_atext(s_[i_]))
        ++i_;
    if (i_ == start) return std::nullopt;
    return std::string(s_.substr(start, i_ - start));
}

std::optional<std::string> Rfc822Lexer::mime_token() {
    const std::size_t start = i_;
    while (!at_end() && is_token_char(s_[i_]))
        ++i_;
    if (i_ == start) return std::nullopt;
    return std::string(s_.substr(start, i_ - start));
}

std::optional<std::string> Rfc822Lexer::lenient_value() {
    const std::size_t start = i_;
    while (!at_end()) {
        const char c = s_[i_];
        if (c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' || c == '"')
            break;
        ++i_;
    }
    if (i_ == start) return std::nullopt;
    return std::string(s_.substr(start, i_ - start));
}

std::string Rfc822Lexer::quoted_string() {
    std::string out;
    ++i_;  // the opening quote
    while (!at_end()) {
        const char c = s_[i_++];
        if (c == '"') break;
        if (c == '\\' && !at_end()) {
            out += s_[i_++];
        } else if (c != '\r' && c != '\n') {
            // RFC 5322 3.2.4: folding inside a quoted string is removed.
            out += c;
        }
    }
    return out;
}

std::string Rfc822Lexer::domain_literal() {
    std::string out;
    while (!at_end()) {
        const char c = s_[i_++];
        if (c == '\r' || c == '\n') continue;
        out += c;
        if (c == ']') break;
    }
    return out;
}

ContentType parse_content_type(std::string_view raw_value) {
    ContentType ct;
    Rfc822Lexer lex(raw_value);
    lex.skip_cfws();
    auto type = lex.mime_token();
    lex.skip_cfws();
    if (!type || lex.peek() != '/') return ct;
    lex.advance();
    lex.skip_cfws();
    auto subtype = lex.mime_token();
    if (!subtype) return ct;
    ct.valid = true;
    ct.type = std::move(*type);
    ct.subtype = std::move(*subtype);
    ct.parameters = parse_parameters(lex);
    return ct;
}

ContentType parse_content_disposition(std::string_view raw_value) {
    ContentType cd;
    Rfc822Lexer lex(raw_value);
    lex.skip_cfws();
    auto type = lex.mime_token();
    if (!type) return cd;
    cd.valid = true;
    cd.type = std::move(*type);
    cd.parameters = parse_parameters(lex);
    return cd;
}

std::vector<std::string> parse_language_list(std::string_view raw_value) {
    std::vector<std::string> out;
    Rfc822Lexer lex(raw_value);
    while (out.size() < MessageLimits::kMaxParameters) {
        lex.skip_cfws();
        if (lex.at_end()) break;
        if (auto tag = lex.mime_token()) {
            out.push_back(std::move(*tag));
        } else {
            lex.advance();  // "," and junk
        }
    }
    return out;
}

}  // namespace imap::store
