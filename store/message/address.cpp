// RFC 5322 3.4 address lists, read the way Dovecot reads them (obsolete
// routes, missing domains, groups, comments as names), into RFC 3501 7.4.2
// address structures.
#include <algorithm>
#include <utility>

#include "store/message/message.h"
#include "store/message/mime_lexer.h"

namespace imap::store {

namespace {

// Dovecot's placeholders for parts an address lacks; clients know them.
constexpr std::string_view kMissingMailbox = "MISSING_MAILBOX";
constexpr std::string_view kMissingDomain = "MISSING_DOMAIN";

bool is_word_start(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"') return true;
    if (u >= 0x80) return true;
    if (u <= 0x20 || u == 0x7f) return false;
    return std::string_view("()<>[]:;@\\,.").find(c) == std::string_view::npos;
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        if (!out.empty()) out += ' ';
        out += w;
    }
    return out;
}

// domain = dot-atom / domain-literal / obs-domain (CFWS around dots).
std::string parse_domain(Rfc822Lexer& lex) {
    std::string domain;
    for (;;) {
        lex.skip_cfws();
        if (lex.peek() == '[') {
            domain += lex.domain_literal();
        } else if (auto a = lex.atom()) {
            domain += *a;
        } else {
            break;
        }
        lex.skip_cfws();
        if (lex.peek() != '.') break;
        lex.advance();
        domain += '.';
    }
    return domain;
}

// local-part "@" domain, after an optional obs-route inside "<...>".
void parse_addr_spec(Rfc822Lexer& lex, Address& a) {
    std::string local;
    for (;;) {
        lex.skip_cfws();
        const char c = lex.peek();
        if (c == '"') {
            local += lex.quoted_string();
        } else if (c == '.') {
            lex.advance();
            local += '.';
        } else if (auto w = lex.atom()) {
            local += *w;
        } else {
            break;
        }
    }
    a.mailbox = local.empty() ? std::string(kMissingMailbox) : local;
    lex.skip_cfws();
    if (lex.peek() == '@') {
        lex.advance();
        std::string domain = parse_domain(lex);
        a.host = domain.empty() ? std::string(kMissingDomain) : domain;
    } else {
        a.host = std::string(kMissingDomain);
    }
}

// angle-addr = "<" [obs-route] addr-spec ">"; called at the "<".
void parse_angle_addr(Rfc822Lexer& lex, Address& a) {
    lex.advance();
    lex.skip_cfws();
    if (lex.peek() == '@') {
        // obs-route = obs-domain-list ":" (RFC 5322 4.4), kept as the adl.
        std::string route;
        while (lex.peek() == '@' || lex.peek() == ',') {
            const char c = lex.peek();
            lex.advance();
            if (c == ',') {
                lex.skip_cfws();
                continue;
            }
            if (!route.empty()) route += ',';
            route += '@';
            route += parse_domain(lex);
            lex.skip_cfws();
        }
        if (lex.peek() == ':') lex.advance();
        a.adl = route;
    }
    parse_addr_spec(lex, a);
    lex.skip_cfws();
    // Skip whatever is left up to the ">" (or the end of this address).
    while (!lex.at_end() && lex.peek() != '>' && lex.peek() != ',' && lex.peek() != ';')
        lex.advance();
    if (lex.peek() == '>') lex.advance();
}

// One mailbox (or, when `allow_group`, a group) at the lexer's position.
void parse_address(Rfc822Lexer& lex, std::vector<Address>& out, bool allow_group) {
    lex.comments().clear();
    std::vector<std::string> words;  // the display name (or local part) so far
    std::string local;               // the same words as an obs-local-part
    for (;;) {
        lex.skip_cfws();
        const char c = lex.peek();
        if (c == '"') {
            std::string q = lex.quoted_string();
            local += q;
            words.push_back(std::move(q));
        } else if (c == '.') {
            // obs-phrase allows dots in names; a local part has them.
            lex.advance();
            local += '.';
            if (words.empty())
                words.emplace_back(".");
            else
                words.back() += '.';
        } else if (is_word_start(c)) {
            auto a = lex.atom();
            if (!a) break;
            local += *a;
            words.push_back(std::move(*a));
        } else {
            break;
        }
    }
    const char c = lex.peek();
    // The obsolete "local@domain (Name)" (RFC 5322 4.4): with no phrase and
    // no angle brackets, the last comment of the address is its name, as
    // Dovecot reads it; an angle-addr's comments never are.
    auto comment_name = [&]() -> std::optional<std::string> {
        const auto& comments = lex.comments();
        for (auto it = comments.rbegin(); it != comments.rend(); ++it)
            if (!it->empty()) return *it;
        return std::nullopt;
    };
    if (c == ':' && allow_group) {
        // group = display-name ":" [group-list] ";" (RFC 5322 3.4); RFC
        // 3501 7.4.2 marks it with a start (mailbox = name, host NIL) and
        // an end (all NIL).
        lex.advance();
        out.push_back({std::nullopt, std::nullopt, join(words), std::nullopt});
        while (out.size() < MessageLimits::kMaxAddresses) {
            lex.skip_cfws();
            if (lex.at_end()) break;
            if (lex.peek() == ';') {
                lex.advance();
                break;
            }
            if (lex.peek() == ',') {
                lex.advance();
                continue;
            }
            const std::size_t before = lex.position();
            parse_address(lex, out, false);
            if (lex.position() == before) lex.advance();  // junk: make progress
        }
        out.push_back({});
        return;
    }
    Address a;
    bool angle = false;
    if (c == '<') {
        // "<>", the null reverse path, keeps both placeholders (Dovecot).
        angle = true;
        if (!words.empty()) a.name = join(words);
        parse_angle_addr(lex, a);
    } else if (c == '@') {
        lex.advance();
        a.mailbox = local.empty() ? std::string(kMissingMailbox) : local;
        std::string domain = parse_domain(lex);
        a.host = domain.empty() ? std::string(kMissingDomain) : domain;
    } else if (!words.empty()) {
        // A bare word: a local part without a domain.
        a.mailbox = local;
        a.host = std::string(kMissingDomain);
    } else {
        return;  // nothing here
    }
    lex.skip_cfws();  // a trailing "(Name)" comment
    if (!a.name && !angle) a.name = comment_name();
    out.push_back(std::move(a));
}

// A display name or group name for searching: RFC 2047 words decoded.
std::string decoded_name(const std::optional<std::string>& name) {
    return name ? decode_header_value(*name) : std::string();
}

}  // namespace

std::string address_search_form(std::string_view raw_value) {
    std::string out;
    bool after_address = false;  // the next address needs ", "
    bool group_opened = false;   // the next address is a group's first
    for (const Address& a : parse_address_list(raw_value)) {
        if (!a.host && !a.mailbox) {  // group end
            out += ';';
            group_opened = false;
            after_address = true;
            continue;
        }
        if (group_opened) {
            out += ' ';
        } else if (after_address) {
            out += ", ";
        }
        group_opened = false;
        if (!a.host) {  // group start: the name in `mailbox`
            out += decoded_name(a.mailbox);
            out += ':';
            group_opened = true;
            after_address = false;
            continue;
        }
        if (a.name) {
            const std::string name = decoded_name(a.name);
            if (!name.empty()) {
                out += name;
                out += ' ';
            }
        }
        out += '<';
        if (a.adl) {
            out += *a.adl;
            out += ':';
        }
        if (a.mailbox != kMissingMailbox) out += *a.mailbox;
        if (a.host != kMissingDomain) {
            out += '@';
            out += *a.host;
        }
        out += '>';
        after_address = true;
    }
    // Local parts and domains may hold 8-bit bytes (RFC 6532); the search
    // text is UTF-8, and a tab in a quoted string is white space.
    std::string text = to_utf8(out, "utf-8");
    std::replace(text.begin(), text.end(), '\t', ' ');
    return text;
}

std::vector<Address> parse_address_list(std::string_view raw_value) {
    std::vector<Address> out;
    Rfc822Lexer lex(raw_value);
    while (out.size() < MessageLimits::kMaxAddresses) {
        lex.skip_cfws();
        if (lex.at_end()) break;
        const std::size_t before = lex.position();
        if (lex.peek() == ',' || lex.peek() == ';' || lex.peek() == '>') {
            lex.advance();
            continue;
        }
        parse_address(lex, out, true);
        if (lex.position() == before) lex.advance();  // junk: make progress
    }
    if (out.size() > MessageLimits::kMaxAddresses) out.resize(MessageLimits::kMaxAddresses);
    return out;
}

}  // namespace imap::store
