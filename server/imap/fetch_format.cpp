// ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 7.4.2, 9).
#include "server/imap/fetch_format.h"

#include <optional>
#include <string_view>
#include <vector>

#include "protocol/output_buffer.h"

namespace imap::server {

namespace {

using store::Address;
using store::MimeParameter;
using store::MimePart;

std::optional<std::string_view> view(const std::optional<std::string>& s) {
    if (!s) return std::nullopt;
    return std::string_view(*s);
}

// env-from etc.: "(" 1*address ")" / nil
void write_addresses(ResponseWriter& w, const std::vector<Address>& list) {
    if (list.empty()) {
        w.nil();
        return;
    }
    w.open();
    for (const auto& a : list) {
        // address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
        w.open().nstring(view(a.name)).sp().nstring(view(a.adl)).sp();
        w.nstring(view(a.mailbox)).sp().nstring(view(a.host)).close();
    }
    w.close();
}

// body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
void write_parameters(ResponseWriter& w, const std::vector<MimeParameter>& params) {
    if (params.empty()) {
        w.nil();
        return;
    }
    w.open();
    bool first = true;
    for (const auto& p : params) {
        if (!first) w.sp();
        first = false;
        w.string(p.name).sp().string(p.value);
    }
    w.close();
}

// body-fld-dsp SP body-fld-lang SP body-fld-loc: the extension data both
// body kinds share.
void write_disposition_language_location(ResponseWriter& w, const MimePart& part) {
    if (part.disposition) {
        w.open().string(*part.disposition).sp();
        write_parameters(w, part.disposition_parameters);
        w.close();
    } else {
        w.nil();
    }
    w.sp();
    // body-fld-lang = nstring / "(" string *(SP string) ")"; Dovecot always
    // writes the list form.
    if (part.language.empty()) {
        w.nil();
    } else {
        w.open();
        bool first = true;
        for (const auto& l : part.language) {
            if (!first) w.sp();
            first = false;
            w.string(l);
        }
        w.close();
    }
    w.sp().nstring(view(part.location));
}

std::string drain(OutputBuffer& out) {
    std::string s;
    while (!out.empty()) {
        s += out.front();
        out.consume(out.front().size());
    }
    return s;
}

}  // namespace

void write_envelope(ResponseWriter& w, const store::Envelope& e) {
    w.open().nstring(view(e.date)).sp().nstring(view(e.subject)).sp();
    write_addresses(w, e.from);
    w.sp();
    write_addresses(w, e.sender);
    w.sp();
    write_addresses(w, e.reply_to);
    w.sp();
    write_addresses(w, e.to);
    w.sp();
    write_addresses(w, e.cc);
    w.sp();
    write_addresses(w, e.bcc);
    w.sp().nstring(view(e.in_reply_to)).sp().nstring(view(e.message_id)).close();
}

void write_body(ResponseWriter& w, const MimePart& part, bool extensible) {
    w.open();
    if (part.is_multipart()) {
        // body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
        for (const auto& child : part.children)
            write_body(w, child, extensible);
        w.sp().string(part.subtype);
        if (extensible) {
            w.sp();
            write_parameters(w, part.parameters);
            w.sp();
            write_disposition_language_location(w, part);
        }
        w.close();
        return;
    }
    // body-type-1part: body-fields = body-fld-param SP body-fld-id SP
    // body-fld-desc SP body-fld-enc SP body-fld-octets
    w.string(part.type).sp().string(part.subtype).sp();
    write_parameters(w, part.parameters);
    w.sp().nstring(view(part.id)).sp().nstring(view(part.description)).sp();
    w.string(part.encoding).sp().number(part.body.size());
    if (part.is_message()) {
        // body-type-msg = ... SP envelope SP body SP body-fld-lines
        w.sp();
        write_envelope(w, *part.embedded_envelope);
        w.sp();
        write_body(w, part.children.front(), extensible);
        w.sp().number(part.body_lines);
    } else if (part.is_text()) {
        // body-type-text = ... SP body-fld-lines
        w.sp().number(part.body_lines);
    }
    if (extensible) {
        // body-ext-1part = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang
        //                  [SP body-fld-loc ...]]]; Dovecot sends all four.
        w.sp().nstring(view(part.md5)).sp();
        write_disposition_language_location(w, part);
    }
    w.close();
}

std::string format_envelope(const store::Envelope& envelope) {
    OutputBuffer out;
    ResponseWriter w(out);
    write_envelope(w, envelope);
    return drain(out);
}

std::string format_body(const MimePart& part) {
    OutputBuffer out;
    ResponseWriter w(out);
    write_body(w, part, false);
    return drain(out);
}

std::string format_bodystructure(const MimePart& part) {
    OutputBuffer out;
    ResponseWriter w(out);
    write_body(w, part, true);
    return drain(out);
}

}  // namespace imap::server
