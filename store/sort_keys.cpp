#include "store/sort_keys.h"

#include <unicase.h>
#include <uninorm.h>

#include <algorithm>

#include "store/limits.h"
#include "store/search.h"
#include "store/utf8.h"

namespace imap::store {
namespace {

bool is_wsp(char c) {
    return c == ' ' || c == '\t';
}

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

// Whether `text` at `at` starts with `word` (lower case ASCII), ignoring
// case (ABNF strings are case-insensitive, RFC 5234 2.3).
bool starts_with_nocase(std::string_view text, std::size_t at, std::string_view word) {
    if (text.size() - at < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i)
        if (ascii_lower(text[at + i]) != word[i]) return false;
    return true;
}

// subj-blob = "[" *BLOBCHAR "]" *WSP: the end of the blob starting at
// `at`, or npos when none starts there.
std::size_t blob_end(std::string_view s, std::size_t at) {
    if (at >= s.size() || s[at] != '[') return std::string_view::npos;
    std::size_t i = at + 1;
    while (i < s.size() && s[i] != '[' && s[i] != ']')
        ++i;
    if (i >= s.size() || s[i] != ']') return std::string_view::npos;
    ++i;
    while (i < s.size() && is_wsp(s[i]))
        ++i;
    return i;
}

// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":": its end, or
// npos.
std::size_t refwd_end(std::string_view s, std::size_t at) {
    std::size_t i = at;
    if (starts_with_nocase(s, i, "re")) {
        i += 2;
    } else if (starts_with_nocase(s, i, "fwd")) {
        i += 3;
    } else if (starts_with_nocase(s, i, "fw")) {
        i += 2;
    } else {
        return std::string_view::npos;
    }
    while (i < s.size() && is_wsp(s[i]))
        ++i;
    if (const std::size_t blob = blob_end(s, i); blob != std::string_view::npos) i = blob;
    if (i < s.size() && s[i] == ':') return i + 1;
    return std::string_view::npos;
}

// subj-leader = (*subj-blob subj-refwd) / WSP: its end, or npos. The
// blobs belong to a leader only when a subj-refwd follows them.
std::size_t leader_end(std::string_view s, std::size_t at) {
    if (at < s.size() && is_wsp(s[at])) return at + 1;
    std::size_t i = at;
    for (;;) {
        if (const std::size_t end = refwd_end(s, i); end != std::string_view::npos) return end;
        const std::size_t blob = blob_end(s, i);
        if (blob == std::string_view::npos) return std::string_view::npos;
        i = blob;
    }
}

// RFC 5256 2.1 step (1): tabs and line ends to spaces, runs of spaces to one.
std::string normalize_space(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\t' || c == '\r' || c == '\n') c = ' ';
        if (c == ' ' && !out.empty() && out.back() == ' ') continue;
        out += c;
    }
    return out;
}

// RFC 5051 2 step 2: the decomposition mapping (canonical and
// compatibility), applied recursively; no reordering.
void append_decomposed(std::string& out, char32_t code_point, int depth = 0) {
    ucs4_t parts[UC_DECOMPOSITION_MAX_LENGTH];
    int tag = 0;
    const int count = depth < 8 ? uc_decomposition(code_point, &tag, parts) : -1;
    if (count <= 0) {
        utf8::append(out, code_point);
        return;
    }
    for (int i = 0; i < count; ++i)
        append_decomposed(out, parts[i], depth + 1);
}

const HeaderField* find_field(const ParsedMessage& message, std::string_view name) {
    for (const HeaderField& field : message.header) {
        if (field.name.size() != name.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < name.size() && same; ++i)
            same = ascii_lower(field.name[i]) == ascii_lower(name[i]);
        if (same) return &field;
    }
    return nullptr;
}

const Address* first_address(const std::vector<Address>& addresses) {
    return addresses.empty() ? nullptr : &addresses.front();
}

std::string address_mailbox(const std::vector<Address>& addresses) {
    const Address* first = first_address(addresses);
    return first && first->mailbox ? sort_casemap(*first->mailbox) : std::string();
}

// RFC 5957 3: the display name if there is a non-empty one, else the
// addr-spec (mailbox "@" host).
std::string address_display(const std::vector<Address>& addresses) {
    const Address* first = first_address(addresses);
    if (first == nullptr) return {};
    if (first->name) {
        std::string name = decode_header_value(*first->name);
        if (!name.empty()) return sort_casemap(name);
    }
    std::string spec = first->mailbox.value_or("");
    if (first->host) spec += "@" + *first->host;
    return sort_casemap(spec);
}

}  // namespace

std::string base_subject(std::string_view raw_subject, bool* reply_or_forward) {
    bool marked = false;
    // (1) Encoded words decoded, white space normalised.
    std::string s = normalize_space(decode_header_value(raw_subject));
    for (;;) {
        // (2) Trailers: "(fwd)" and white space, repeatedly.
        for (;;) {
            if (!s.empty() && is_wsp(s.back())) {
                s.pop_back();
            } else if (s.size() >= 5 && starts_with_nocase(s, s.size() - 5, "(fwd)")) {
                s.resize(s.size() - 5);
                marked = true;
            } else {
                break;
            }
        }
        // (3)-(5): leaders, and a blob when text follows it, until neither
        // is left.
        std::size_t at = 0;
        for (bool changed = true; changed;) {
            changed = false;
            for (std::size_t end; (end = leader_end(s, at)) != std::string_view::npos;) {
                if (!is_wsp(s[at])) marked = true;
                at = end;
                changed = true;
            }
            const std::size_t blob = blob_end(s, at);
            if (blob != std::string_view::npos && blob < s.size()) {
                at = blob;
                changed = true;
            }
        }
        s.erase(0, at);
        // (6) "[fwd:" ... "]" around the whole text: removed, and again from (2).
        if (s.size() >= 6 && starts_with_nocase(s, 0, "[fwd:") && s.back() == ']') {
            s = s.substr(5, s.size() - 6);
            marked = true;
            continue;
        }
        break;
    }
    if (reply_or_forward) *reply_or_forward = marked;
    return s;
}

std::string sort_casemap(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto byte = static_cast<unsigned char>(text[i]);
        if (byte < 0x80) {
            out += static_cast<char>(byte >= 'a' && byte <= 'z' ? byte - 32 : byte);
            ++i;
            continue;
        }
        const auto [cp, n] = utf8::decode(text, i);
        if (n == 0) {
            out += text[i];  // not UTF-8: compared as the byte it is
            ++i;
            continue;
        }
        append_decomposed(out, uc_totitle(cp));
        i += n;
    }
    return out;
}

std::vector<std::string> message_ids(std::string_view value) {
    std::vector<std::string> ids;
    std::size_t i = 0;
    while (i < value.size()) {
        // RFC 5322 3.2.2: comments may stand between ids; a "<" inside one
        // starts no id.
        if (value[i] == '(') {
            int depth = 0;
            for (; i < value.size(); ++i) {
                if (value[i] == '\\') {
                    ++i;
                } else if (value[i] == '(') {
                    ++depth;
                } else if (value[i] == ')' && --depth == 0) {
                    ++i;
                    break;
                }
            }
            continue;
        }
        if (value[i] != '<') {
            ++i;
            continue;
        }
        // msg-id = "<" id-left "@" id-right ">": quotes, backslashes and
        // folding white space are removed (RFC 5256 3 normalisation).
        std::string id;
        bool at_sign = false;
        bool in_quotes = false;
        std::size_t j = i + 1;
        for (; j < value.size(); ++j) {
            const char c = value[j];
            if (c == '\\' && in_quotes && j + 1 < value.size()) {
                id += value[++j];
            } else if (c == '"') {
                in_quotes = !in_quotes;
            } else if (!in_quotes && (c == '>' || c == '<')) {
                break;
            } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                continue;
            } else {
                if (c == '@' && !in_quotes) at_sign = true;
                id += c;
            }
        }
        if (j < value.size() && value[j] == '>' && at_sign && id.front() != '@' &&
            id.back() != '@' && id.size() <= limits::kMaxMessageIdBytes) {
            ids.push_back(std::move(id));
            ++j;
        }
        i = j;
    }
    return ids;
}

std::string join_references(const std::vector<std::string>& ids) {
    std::string joined;
    for (const std::string& id : ids) {
        if (!joined.empty()) joined += ' ';
        joined += id;
    }
    return joined;
}

std::vector<std::string> split_references(std::string_view joined) {
    std::vector<std::string> ids;
    while (!joined.empty()) {
        const std::size_t space = joined.find(' ');
        ids.emplace_back(joined.substr(0, space));
        if (space == std::string_view::npos) break;
        joined.remove_prefix(space + 1);
    }
    return ids;
}

SortKeys compute_sort_keys(const ParsedMessage& message) {
    SortKeys keys;
    if (const HeaderField* date = find_field(message, "Date")) {
        if (auto sent = parse_date_header(unfold(date->raw_value))) keys.sent_time = sent->time;
    }
    if (const HeaderField* subject = find_field(message, "Subject")) {
        keys.subject =
            sort_casemap(base_subject(unfold(subject->raw_value), &keys.reply_or_forward));
    }
    const Envelope& envelope = message.envelope;
    keys.from_mailbox = address_mailbox(envelope.from);
    keys.to_mailbox = address_mailbox(envelope.to);
    keys.cc_mailbox = address_mailbox(envelope.cc);
    keys.display_from = address_display(envelope.from);
    keys.display_to = address_display(envelope.to);
    if (const HeaderField* id = find_field(message, "Message-ID")) {
        std::vector<std::string> ids = message_ids(id->raw_value);
        if (!ids.empty()) keys.message_id = std::move(ids.front());
    }
    if (const HeaderField* references = find_field(message, "References")) {
        keys.references = message_ids(references->raw_value);
    }
    if (keys.references.empty()) {
        if (const HeaderField* reply_to = find_field(message, "In-Reply-To")) {
            std::vector<std::string> ids = message_ids(reply_to->raw_value);
            if (!ids.empty()) keys.references.push_back(std::move(ids.front()));
        }
    }
    keys.thread_root = keys.references.empty() ? keys.message_id : keys.references.front();
    if (keys.references.size() > limits::kMaxThreadReferences) {
        keys.references.erase(keys.references.begin(),
                              keys.references.end() - limits::kMaxThreadReferences);
    }
    return keys;
}

}  // namespace imap::store
