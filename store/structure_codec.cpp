#include "store/structure_codec.h"

#include "store/errors.h"

namespace imap::store {
namespace {

// Version byte first, so a later layout can be told apart and old rows
// re-encoded (or re-parsed from `raw`) by a migration.
constexpr unsigned char kVersion = 1;
// Deeper than the parser ever produces (MessageLimits::kMaxMimeDepth levels
// of multipart plus message/rfc822); only guards the decoder's stack
// against a damaged row.
constexpr std::size_t kMaxDecodeDepth = 2 * MessageLimits::kMaxMimeDepth + 4;

class Writer {
  public:
    void number(std::uint64_t value) {
        // LEB128: small numbers (most lengths and offsets) take one byte.
        while (value >= 0x80) {
            out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
            value >>= 7;
        }
        out_.push_back(static_cast<char>(value));
    }
    void string(std::string_view s) {
        number(s.size());
        out_.append(s);
    }
    void optional(const std::optional<std::string>& s) {
        number(s ? 1 : 0);
        if (s) string(*s);
    }
    void addresses(const std::vector<Address>& list) {
        number(list.size());
        for (const Address& a : list) {
            optional(a.name);
            optional(a.adl);
            optional(a.mailbox);
            optional(a.host);
        }
    }
    void envelope(const Envelope& e) {
        optional(e.date);
        optional(e.subject);
        addresses(e.from);
        addresses(e.sender);
        addresses(e.reply_to);
        addresses(e.to);
        addresses(e.cc);
        addresses(e.bcc);
        optional(e.in_reply_to);
        optional(e.message_id);
    }
    void parameters(const std::vector<MimeParameter>& list) {
        number(list.size());
        for (const MimeParameter& p : list) {
            string(p.name);
            string(p.value);
        }
    }
    void part(const MimePart& p) {
        string(p.type);
        string(p.subtype);
        parameters(p.parameters);
        optional(p.id);
        optional(p.description);
        string(p.encoding);
        optional(p.md5);
        optional(p.disposition);
        parameters(p.disposition_parameters);
        number(p.language.size());
        for (const std::string& l : p.language)
            string(l);
        optional(p.location);
        number(p.header.begin);
        number(p.header.end);
        number(p.body.begin);
        number(p.body.end);
        number(p.body_lines);
        number(p.embedded_envelope ? 1 : 0);
        if (p.embedded_envelope) envelope(*p.embedded_envelope);
        number(p.children.size());
        for (const MimePart& child : p.children)
            part(child);
    }
    std::string take() { return std::move(out_); }

  private:
    std::string out_;
};

[[noreturn]] void corrupt() {
    throw StoreError(StoreErrc::Corrupt, "stored message structure is damaged");
}

class Reader {
  public:
    explicit Reader(std::string_view in) : in_(in) {}
    std::uint64_t number() {
        std::uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos_ >= in_.size()) corrupt();
            auto byte = static_cast<unsigned char>(in_[pos_++]);
            value |= std::uint64_t{byte & 0x7fu} << shift;
            if (!(byte & 0x80)) return value;
        }
        corrupt();
    }
    std::size_t count() {
        // A count can never exceed the bytes left (each element takes at
        // least one byte), which bounds allocations on damaged input.
        std::uint64_t n = number();
        if (n > in_.size() - pos_) corrupt();
        return static_cast<std::size_t>(n);
    }
    std::string string() {
        std::size_t n = count();
        std::string s(in_.substr(pos_, n));
        pos_ += n;
        return s;
    }
    std::optional<std::string> optional() {
        if (number() == 0) return std::nullopt;
        return string();
    }
    std::vector<Address> addresses() {
        std::vector<Address> list(count());
        for (Address& a : list) {
            a.name = optional();
            a.adl = optional();
            a.mailbox = optional();
            a.host = optional();
        }
        return list;
    }
    Envelope envelope() {
        Envelope e;
        e.date = optional();
        e.subject = optional();
        e.from = addresses();
        e.sender = addresses();
        e.reply_to = addresses();
        e.to = addresses();
        e.cc = addresses();
        e.bcc = addresses();
        e.in_reply_to = optional();
        e.message_id = optional();
        return e;
    }
    std::vector<MimeParameter> parameters() {
        std::vector<MimeParameter> list(count());
        for (MimeParameter& p : list) {
            p.name = string();
            p.value = string();
        }
        return list;
    }
    void part(MimePart& p, std::size_t depth) {
        if (depth > kMaxDecodeDepth) corrupt();
        p.type = string();
        p.subtype = string();
        p.parameters = parameters();
        p.id = optional();
        p.description = optional();
        p.encoding = string();
        p.md5 = optional();
        p.disposition = optional();
        p.disposition_parameters = parameters();
        p.language.resize(count());
        for (std::string& l : p.language)
            l = string();
        p.location = optional();
        p.header.begin = number();
        p.header.end = number();
        p.body.begin = number();
        p.body.end = number();
        p.body_lines = number();
        if (number() != 0) p.embedded_envelope = envelope();
        p.children.resize(count());
        for (MimePart& child : p.children)
            part(child, depth + 1);
        if (p.header.end < p.header.begin || p.body.end < p.body.begin) corrupt();
    }
    bool done() const { return pos_ == in_.size(); }

  private:
    std::string_view in_;
    std::size_t pos_ = 0;
};

}  // namespace

std::string encode_structure(const ParsedMessage& message) {
    Writer w;
    w.number(kVersion);
    w.number(message.size);
    w.envelope(message.envelope);
    w.part(message.root);
    return w.take();
}

ParsedMessage decode_structure(std::string_view bytes) {
    Reader r(bytes);
    if (r.number() != kVersion) corrupt();
    ParsedMessage message;
    message.size = r.number();
    message.envelope = r.envelope();
    r.part(message.root, 0);
    if (!r.done()) corrupt();
    return message;
}

}  // namespace imap::store
