// ResponseWriter: IMAP responses, byte-exact per RFC 3501 section 7 and the
// grammar of section 9, appended to an OutputBuffer. No I/O.
//
// Whole responses:
//   w.tagged("A142", Status::Ok, Code::ReadWrite, "SELECT completed");
//     -> A142 OK [READ-WRITE] SELECT completed\r\n
//   w.untagged(Status::Ok, ResponseCode::uidvalidity(3857529045), "UIDs valid");
//   w.exists(172).recent(1).flags({"\\Answered", "\\Seen"});
//
// Building blocks, for FETCH and anything else without a helper; spaces are
// explicit so the output is exactly what the calls say:
//   w.fetch_begin(12).atom("UID").sp().number(5).sp().atom("FLAGS").sp()
//    .flag_list(flags).sp().atom("BODY[]").sp().literal(std::move(body))
//    .fetch_end();
//     -> * 12 FETCH (UID 5 FLAGS (\Seen) BODY[] {n}\r\n<body>)\r\n
//
// Human text (after the status word or the response code, and after "+") is
// sanitised: it can never end the line early or forge a response code.
// Strings given to astring()/string()/nstring()/mailbox() are written in a
// form that carries any bytes. atom(), raw() and number() are for syntax the
// server builds itself and are written verbatim.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "protocol/output_buffer.h"

namespace imap {

// Anything iterable whose elements read as strings: std::vector<std::string>,
// std::set<std::string>, std::array<std::string_view, N>, ...
template <class R>
concept StringRange = std::ranges::input_range<R> &&
    std::convertible_to<std::ranges::range_reference_t<R>, std::string_view>;

// resp-cond-state (RFC 3501 7.1.1-7.1.3). BYE and PREAUTH are separate
// grammar rules and have their own functions.
enum class Status { Ok, No, Bad };

// Response codes with a fixed meaning: RFC 3501 7.1 and RFC 5530. Codes of
// other extensions (APPENDUID, COPYUID, HIGHESTMODSEQ, ...) are built with
// ResponseCode::extension() or the named constructors below.
enum class Code {
    // RFC 3501 7.1
    Alert,
    BadCharset,
    Capability,
    Parse,
    PermanentFlags,
    ReadOnly,
    ReadWrite,
    TryCreate,
    UidNext,
    UidValidity,
    Unseen,
    // RFC 5530 3
    Unavailable,
    AuthenticationFailed,
    AuthorizationFailed,
    Expired,
    PrivacyRequired,
    ContactAdmin,
    NoPerm,
    InUse,
    ExpungeIssued,
    Corruption,
    ServerBug,
    ClientBug,
    Cannot,
    Limit,
    OverQuota,
    AlreadyExists,
    NonExistent,
    // RFC 3516 4.3: a content-transfer-encoding BINARY cannot undo.
    UnknownCte,
    // RFC 4978 3: COMPRESS while compression is active.
    CompressionActive,
};

// The atom of `code` as written on the wire ("READ-WRITE", "NOPERM", ...).
std::string_view code_atom(Code code);

// resp-text-code = atom [SP 1*<any TEXT-CHAR except "]">] (RFC 3501 9).
// `arguments` is the rendered text after the atom and its space, empty for
// none. The writer replaces CR, LF, NUL and "]" in it (and in the atom) with
// spaces: the generic grammar forbids "]" inside a code, and a line end there
// would let data forge a response.
struct ResponseCode {
    std::string atom;
    std::string arguments;

    // Implicit, so a bare Code can be passed where a ResponseCode is wanted:
    // w.tagged(tag, Status::No, Code::TryCreate, "No such mailbox").
    ResponseCode(Code code, std::string args = {})  // NOLINT(google-explicit-constructor)
        : atom(code_atom(code)), arguments(std::move(args)) {}

    // A code outside Code; `name` must be an atom.
    static ResponseCode extension(std::string name, std::string args = {}) {
        return ResponseCode(std::move(name), std::move(args));
    }

    // RFC 3501 7.1 codes with arguments.
    static ResponseCode uidnext(std::uint32_t uid) { return {Code::UidNext, std::to_string(uid)}; }
    static ResponseCode uidvalidity(std::uint32_t value) {
        return {Code::UidValidity, std::to_string(value)};
    }
    static ResponseCode unseen(std::uint32_t seq) { return {Code::Unseen, std::to_string(seq)}; }
    // "PERMANENTFLAGS (\Seen \*)"; elements that are not a flag or "\*" are
    // left out (see ResponseWriter::flag_list).
    template <StringRange R>
    static ResponseCode permanent_flags(const R& flags);
    static ResponseCode permanent_flags(std::initializer_list<std::string_view> flags) {
        return permanent_flags<std::initializer_list<std::string_view>>(flags);
    }
    // "BADCHARSET (UTF-8 US-ASCII)", or a bare "BADCHARSET" for an empty
    // list. Names are written as astrings; a name that would need a literal
    // is left out, since a literal cannot sit inside a response code here.
    template <StringRange R>
    static ResponseCode badcharset(const R& charsets);
    static ResponseCode badcharset(std::initializer_list<std::string_view> charsets) {
        return badcharset<std::initializer_list<std::string_view>>(charsets);
    }
    // "CAPABILITY IMAP4rev1 ..." for the greeting and the LOGIN/AUTHENTICATE
    // OK; `capabilities` are atoms and must include "IMAP4rev1".
    template <StringRange R>
    static ResponseCode capability(const R& capabilities);
    static ResponseCode capability(std::initializer_list<std::string_view> capabilities) {
        return capability<std::initializer_list<std::string_view>>(capabilities);
    }

    // RFC 4315 UIDPLUS. Sets are rendered uid-sets ("4:6,9").
    static ResponseCode appenduid(std::uint32_t uidvalidity, std::string_view uids) {
        return extension("APPENDUID", std::to_string(uidvalidity) + ' ' + std::string(uids));
    }
    static ResponseCode copyuid(std::uint32_t uidvalidity, std::string_view source_uids,
                                std::string_view destination_uids) {
        return extension("COPYUID", std::to_string(uidvalidity) + ' ' + std::string(source_uids) +
                                        ' ' + std::string(destination_uids));
    }
    // RFC 7162 3.1.2.1 and 3.1.3.
    static ResponseCode highestmodseq(std::uint64_t modseq) {
        return extension("HIGHESTMODSEQ", std::to_string(modseq));
    }
    // RFC 8474 4.1, 4.2: "MAILBOXID" SP "(" objectid ")"
    static ResponseCode mailboxid(std::string_view objectid) {
        return extension("MAILBOXID", "(" + std::string(objectid) + ")");
    }
    static ResponseCode modified(std::string_view set) {
        return extension("MODIFIED", std::string(set));
    }

  private:
    ResponseCode(std::string name, std::string args)
        : atom(std::move(name)), arguments(std::move(args)) {}

    // Appends `flag` with a leading space unless `out` ends in "(", when it
    // is a valid flag; returns whether it was.
    static bool append_flag(std::string& out, std::string_view flag);
    // Appends `s` as an atom or a quoted string; returns false (appending
    // nothing) when only a literal could carry it.
    static bool append_astring_inline(std::string& out, std::string_view s);
};

// The attributes of a STATUS response (RFC 3501 7.2.4); those set are
// written, in this order.
struct StatusItems {
    std::optional<std::uint32_t> messages;
    std::optional<std::uint32_t> recent;
    std::optional<std::uint32_t> uidnext;
    std::optional<std::uint32_t> uidvalidity;
    std::optional<std::uint32_t> unseen;
    std::optional<std::uint32_t> deleted;        // RFC 9051 6.3.11
    std::optional<std::uint64_t> highestmodseq;  // RFC 7162 3.1.1
    std::optional<std::uint64_t> size;           // RFC 8438
    std::optional<std::uint64_t> appendlimit;    // RFC 7889
    std::optional<std::string> mailboxid;        // RFC 8474 4.3: an objectid
};

class ResponseWriter {
  public:
    // Longest string written as a quoted string; longer ones are literals.
    // Keeps response lines short for clients that read line by line, and the
    // escaping overhead bounded.
    static constexpr std::size_t kMaxQuotedLength = 1024;

    // Appends to `out`, which must outlive the writer.
    explicit ResponseWriter(OutputBuffer& out) : out_(out) {}

    // The client enabled UTF8=ACCEPT or IMAP4rev2: from now on strings of
    // well-formed UTF-8 may be quoted strings (RFC 6855 3, RFC 9051 4.3).
    // Until then no 8-bit byte is ever quoted ("MUST NOT send UTF-8 in
    // quoted-strings to the client unless the client has indicated
    // support", RFC 6855 3): such strings are literals.
    void allow_utf8_quoted() { utf8_quoted_ = true; }

    // --- Status responses (RFC 3501 7.1) ---------------------------------
    //
    // text = 1*TEXT-CHAR, so the human text is sanitised: CR, LF and NUL
    // become spaces; an empty text is replaced by the status word ("OK",
    // "NO", "BAD", "BYE", "PREAUTH"); and a text starting with "[" when no
    // code is given gets a leading space, so clients cannot read it as a
    // response code (an injected "[ALERT]"). 8-bit bytes are kept: they are
    // UTF-8 from our own messages, which RFC 9051 and RFC 6855 allow.

    // tag SP ("OK" / "NO" / "BAD") SP [ "[" code "]" SP ] text CRLF. `tag` is
    // the one the parser accepted, or "*" for an untagged BAD to a line
    // without a usable tag.
    ResponseWriter& tagged(std::string_view tag, Status status, std::string_view text);
    ResponseWriter& tagged(std::string_view tag, Status status, const ResponseCode& code,
                           std::string_view text);
    // "* OK ...", "* NO ...", "* BAD ..."
    ResponseWriter& untagged(Status status, std::string_view text);
    ResponseWriter& untagged(Status status, const ResponseCode& code, std::string_view text);
    // RFC 3501 7.1.5
    ResponseWriter& bye(std::string_view text);
    ResponseWriter& bye(const ResponseCode& code, std::string_view text);
    // RFC 3501 7.1.4
    ResponseWriter& preauth(std::string_view text);
    ResponseWriter& preauth(const ResponseCode& code, std::string_view text);

    // continue-req = "+" SP (resp-text / base64) CRLF (RFC 3501 7.5).
    // Sanitised as above, except that an empty text stays empty ("+ "),
    // which is valid as an empty base64.
    ResponseWriter& continuation(std::string_view text);
    // AUTHENTICATE challenge (RFC 3501 6.2.2): `data` is the raw challenge,
    // written base64-encoded (RFC 4648 with padding); an empty challenge is
    // "+ " CRLF.
    ResponseWriter& challenge(std::string_view data);

    // --- Common untagged data (RFC 3501 7.2-7.4) -------------------------

    // "* CAPABILITY IMAP4rev1 ..." (7.2.1); `capabilities` are atoms, in the
    // order given, and must include "IMAP4rev1".
    template <StringRange R>
    ResponseWriter& capability(const R& capabilities);
    ResponseWriter& capability(std::initializer_list<std::string_view> capabilities) {
        return capability<std::initializer_list<std::string_view>>(capabilities);
    }
    ResponseWriter& exists(std::uint32_t count);      // 7.3.1
    ResponseWriter& recent(std::uint32_t count);      // 7.3.2
    ResponseWriter& expunge(std::uint32_t sequence);  // 7.4.1
    // "* FLAGS (...)" (7.2.6)
    template <StringRange R>
    ResponseWriter& flags(const R& flag_names) {
        begin_untagged().atom("FLAGS").sp().flag_list(flag_names);
        return end();
    }
    ResponseWriter& flags(std::initializer_list<std::string_view> flag_names) {
        return flags<std::initializer_list<std::string_view>>(flag_names);
    }
    // "* LIST (attrs) "/" name" (7.2.2) and "* LSUB ..." (7.2.3). The
    // delimiter is a quoted character, or NIL when there is none (flat
    // namespace) or it is not a TEXT-CHAR. `name` is the wire form (modified
    // UTF-7, RFC 3501 5.1.3).
    template <StringRange R>
    ResponseWriter& list(const R& attributes, std::optional<char> delimiter,
                         std::string_view name) {
        return list_or_lsub("LIST", attributes, delimiter, name);
    }
    ResponseWriter& list(std::initializer_list<std::string_view> attributes,
                         std::optional<char> delimiter, std::string_view name) {
        return list_or_lsub("LIST", attributes, delimiter, name);
    }
    template <StringRange R>
    ResponseWriter& lsub(const R& attributes, std::optional<char> delimiter,
                         std::string_view name) {
        return list_or_lsub("LSUB", attributes, delimiter, name);
    }
    ResponseWriter& lsub(std::initializer_list<std::string_view> attributes,
                         std::optional<char> delimiter, std::string_view name) {
        return list_or_lsub("LSUB", attributes, delimiter, name);
    }
    // "* STATUS name (MESSAGES 1 UIDNEXT 5)" (7.2.4)
    ResponseWriter& status(std::string_view mailbox_name, const StatusItems& items);
    // "* SEARCH 2 84 882" or "* SEARCH" for no match (7.2.5)
    ResponseWriter& search(std::span<const std::uint32_t> numbers);

    // --- Building blocks --------------------------------------------------

    // Starts an untagged line: "* ".
    ResponseWriter& begin_untagged();
    // Starts a FETCH response (7.4.2): "* <sequence> FETCH (".
    ResponseWriter& fetch_begin(std::uint32_t sequence);
    // Ends it: ")" CRLF.
    ResponseWriter& fetch_end() { return close().end(); }
    // Ends the line: CRLF.
    ResponseWriter& end();

    // Verbatim: an atom the server chose ("FETCH", "UID", "BODY[]").
    ResponseWriter& atom(std::string_view a);
    // Verbatim: syntax the server built that is not one token
    // ("BODY[HEADER.FIELDS (FROM)]<0>", a sequence set).
    ResponseWriter& raw(std::string_view bytes);
    // number / nz-number (RFC 3501 9) and number64 / mod-sequence-value
    // (RFC 7162 7); a uint32_t converts losslessly.
    ResponseWriter& number(std::uint64_t n);
    ResponseWriter& sp();
    ResponseWriter& open();   // "("
    ResponseWriter& close();  // ")"
    ResponseWriter& nil();

    // astring = 1*ASTRING-CHAR / string. An atom when `s` is non-empty, all
    // ASTRING-CHAR and not "NIL" in any case (a client could read that as
    // nil); otherwise string().
    ResponseWriter& astring(std::string_view s);
    // string = quoted / literal. Quoted when `s` is at most kMaxQuotedLength
    // bytes of TEXT-CHAR (%x01-7F less CR and LF), or also of UTF-8 once
    // allow_utf8_quoted(), with DQUOTE and "\" escaped; otherwise a
    // literal. A NUL goes into the literal as given,
    // though CHAR8 excludes it: content with NULs belongs in literal8.
    ResponseWriter& string(std::string_view s);
    // nstring = string / nil
    ResponseWriter& nstring(std::optional<std::string_view> s);
    // mailbox = "INBOX" / astring (RFC 3501 9), given in its wire form.
    ResponseWriter& mailbox(std::string_view name);

    // literal = "{" number "}" CRLF *CHAR8 (RFC 3501 4.3), whatever `s` holds.
    ResponseWriter& literal(std::string_view s);
    ResponseWriter& literal(const char* s) { return literal(std::string_view(s)); }
    // The same, handing `s` to the OutputBuffer as its own chunk when it is
    // large enough (OutputBuffer::kMinMovedChunkSize): no copy of a message
    // body.
    ResponseWriter& literal(std::string&& s);
    // literal8 = "~{" number "}" CRLF *OCTET (RFC 3516 4.2), for BINARY.
    ResponseWriter& literal8(std::string_view s);
    ResponseWriter& literal8(const char* s) { return literal8(std::string_view(s)); }
    ResponseWriter& literal8(std::string&& s);

    // flag-list = "(" [flag *(SP flag)] ")" (RFC 3501 9), also used for
    // PERMANENTFLAGS' flag-perm and LIST's mbx-list-flags. An element is
    // written when it is an atom, "\" followed by an atom, or "\*"; anything
    // else cannot be written in a flag list and is left out.
    template <StringRange R>
    ResponseWriter& flag_list(const R& flag_names) {
        open();
        bool first = true;
        for (const auto& f : flag_names) {
            if (flag_element(std::string_view(f), first)) first = false;
        }
        return close();
    }
    ResponseWriter& flag_list(std::initializer_list<std::string_view> flag_names) {
        return flag_list<std::initializer_list<std::string_view>>(flag_names);
    }

  private:
    ResponseWriter& status_line(std::string_view status_word, const ResponseCode* code,
                                std::string_view text);
    ResponseWriter& untagged_number(std::uint32_t n, std::string_view name);
    ResponseWriter& literal_header(std::string_view prefix, std::size_t size);
    // Writes `flag` (preceded by SP unless `first`) if it is valid; returns
    // whether it wrote it.
    bool flag_element(std::string_view flag, bool first);
    void append_text(std::string_view text, bool guard_bracket);
    template <class R>
    ResponseWriter& list_or_lsub(std::string_view kind, const R& attributes,
                                 std::optional<char> delimiter, std::string_view name);
    void delimiter(std::optional<char> d);

    OutputBuffer& out_;
    bool utf8_quoted_ = false;
};

// --- Template definitions ---------------------------------------------------

template <StringRange R>
ResponseCode ResponseCode::permanent_flags(const R& flags) {
    std::string args = "(";
    for (const auto& f : flags)
        append_flag(args, std::string_view(f));
    args += ')';
    return {Code::PermanentFlags, std::move(args)};
}

template <StringRange R>
ResponseCode ResponseCode::badcharset(const R& charsets) {
    std::string args;
    for (const auto& c : charsets) {
        const std::size_t before = args.size();
        args += before == 0 ? '(' : ' ';
        if (!append_astring_inline(args, std::string_view(c))) args.resize(before);
    }
    if (!args.empty()) args += ')';
    return {Code::BadCharset, std::move(args)};
}

template <StringRange R>
ResponseCode ResponseCode::capability(const R& capabilities) {
    std::string args;
    for (const auto& c : capabilities) {
        if (!args.empty()) args += ' ';
        args += std::string_view(c);
    }
    return {Code::Capability, std::move(args)};
}

template <StringRange R>
ResponseWriter& ResponseWriter::capability(const R& capabilities) {
    begin_untagged().atom("CAPABILITY");
    for (const auto& c : capabilities)
        sp().atom(std::string_view(c));
    return end();
}

template <class R>
ResponseWriter& ResponseWriter::list_or_lsub(std::string_view kind, const R& attributes,
                                             std::optional<char> d, std::string_view name) {
    begin_untagged().atom(kind).sp().flag_list(attributes).sp();
    delimiter(d);
    sp().mailbox(name);
    return end();
}

}  // namespace imap
