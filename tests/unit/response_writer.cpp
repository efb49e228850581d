// ResponseWriter: every response compared byte for byte with what RFC 3501
// (sections 7 and 9) and its extensions say the server sends.
#include "protocol/response_writer.h"

#include <array>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

using imap::Code;
using imap::OutputBuffer;
using imap::ResponseCode;
using imap::ResponseWriter;
using imap::Status;
using imap::StatusItems;

namespace {

std::string drain(OutputBuffer& buf) {
    std::string out;
    while (!buf.empty()) {
        out.append(buf.front());
        buf.consume(buf.front().size());
    }
    return out;
}

// Runs `build` on a fresh writer and returns the bytes it wrote.
template <class F>
std::string render(F&& build) {
    OutputBuffer buf;
    ResponseWriter w(buf);
    build(w);
    return drain(buf);
}

std::string astring(std::string_view s) {
    return render([&](ResponseWriter& w) { w.astring(s); });
}
std::string string(std::string_view s) {
    return render([&](ResponseWriter& w) { w.string(s); });
}

}  // namespace

// ---------------------------------------------------------------------------
// RFC 3501 section 8: the sample connection, server side, byte for byte (the
// long FETCH line joined where the RFC broke it "for editorial clarity").

TEST_CASE("RFC 3501 8: sample connection, server responses") {
    OutputBuffer buf;
    ResponseWriter w(buf);

    w.untagged(Status::Ok, "IMAP4rev1 Service Ready");
    w.tagged("a001", Status::Ok, "LOGIN completed");
    CHECK(drain(buf) ==
          "* OK IMAP4rev1 Service Ready\r\n"
          "a001 OK LOGIN completed\r\n");

    w.exists(18);
    w.flags({"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"});
    w.recent(2);
    w.untagged(Status::Ok, ResponseCode::unseen(17), "Message 17 is the first unseen message");
    w.untagged(Status::Ok, ResponseCode::uidvalidity(3857529045), "UIDs valid");
    w.tagged("a002", Status::Ok, Code::ReadWrite, "SELECT completed");
    CHECK(drain(buf) ==
          "* 18 EXISTS\r\n"
          "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
          "* 2 RECENT\r\n"
          "* OK [UNSEEN 17] Message 17 is the first unseen message\r\n"
          "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
          "a002 OK [READ-WRITE] SELECT completed\r\n");

    // FETCH 12 FULL: the ENVELOPE and BODY built from the building blocks.
    auto address = [&w](std::optional<std::string_view> name, std::string_view mailbox,
                        std::string_view host) {
        w.open().nstring(name).sp().nil().sp().string(mailbox).sp().string(host).close();
    };
    w.fetch_begin(12).atom("FLAGS").sp().flag_list({"\\Seen"});
    w.sp().atom("INTERNALDATE").sp().string("17-Jul-1996 02:44:25 -0700");
    w.sp().atom("RFC822.SIZE").sp().number(4286);
    w.sp().atom("ENVELOPE").sp().open();
    w.string("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)").sp();
    w.string("IMAP4rev1 WG mtg summary and minutes").sp();
    for (int i = 0; i < 3; ++i) {  // from, sender, reply-to
        w.open();
        address("Terry Gray", "gray", "cac.washington.edu");
        w.close().sp();
    }
    w.open();
    address(std::nullopt, "imap", "cac.washington.edu");
    w.close().sp().open();
    address(std::nullopt, "minutes", "CNRI.Reston.VA.US");
    w.sp();
    address("John Klensin", "KLENSIN", "MIT.EDU");
    w.close().sp().nil().sp().nil().sp().string("<B27397-0100000@cac.washington.edu>").close();
    w.sp().atom("BODY").sp().open();
    w.string("TEXT").sp().string("PLAIN").sp().open().string("CHARSET").sp().string("US-ASCII");
    w.close().sp().nil().sp().nil().sp().string("7BIT").sp().number(3028).sp().number(92).close();
    w.fetch_end();
    w.tagged("a003", Status::Ok, "FETCH completed");
    CHECK(drain(buf) ==
          "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" "
          "RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
          "\"IMAP4rev1 WG mtg summary and minutes\" "
          "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
          "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
          "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
          "((NIL NIL \"imap\" \"cac.washington.edu\")) "
          "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\") "
          "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
          "\"<B27397-0100000@cac.washington.edu>\") "
          "BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n"
          "a003 OK FETCH completed\r\n");

    // FETCH 12 BODY[HEADER]: the header is a 342-octet literal (RFC 3501 4.3).
    std::string header =
        "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
        "From: Terry Gray <gray@cac.washington.edu>\r\n"
        "Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
        "To: imap@cac.washington.edu\r\n"
        "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
        "Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
        "\r\n";
    const std::string header_copy = header;
    w.fetch_begin(12).atom("BODY[HEADER]").sp().literal(std::move(header)).fetch_end();
    w.tagged("a004", Status::Ok, "FETCH completed");
    CHECK(drain(buf) == "* 12 FETCH (BODY[HEADER] {342}\r\n" + header_copy +
                            ")\r\n"
                            "a004 OK FETCH completed\r\n");

    w.fetch_begin(12).atom("FLAGS").sp().flag_list({"\\Seen", "\\Deleted"}).fetch_end();
    w.tagged("a005", Status::Ok, "+FLAGS completed");
    w.bye("IMAP4rev1 server terminating connection");
    w.tagged("a006", Status::Ok, "LOGOUT completed");
    CHECK(drain(buf) ==
          "* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n"
          "a005 OK +FLAGS completed\r\n"
          "* BYE IMAP4rev1 server terminating connection\r\n"
          "a006 OK LOGOUT completed\r\n");
}

// ---------------------------------------------------------------------------
// RFC 3501 7.1: status responses and response codes.

TEST_CASE("RFC 3501 7.1.1-7.1.3: tagged OK, NO, BAD with and without a code") {
    CHECK(render([](ResponseWriter& w) { w.tagged("A142", Status::Ok, "SELECT completed"); }) ==
          "A142 OK SELECT completed\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.tagged("A222", Status::No, "COPY failed: disk is full");
          }) == "A222 NO COPY failed: disk is full\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.tagged("A443", Status::Bad, "no such command as \"BLURDYBLOOP\"");
          }) == "A443 BAD no such command as \"BLURDYBLOOP\"\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.tagged("A932", Status::Ok, Code::ReadOnly, "EXAMINE completed");
          }) == "A932 OK [READ-ONLY] EXAMINE completed\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.tagged("A003", Status::No, Code::TryCreate, "Mailbox doesn't exist");
          }) == "A003 NO [TRYCREATE] Mailbox doesn't exist\r\n");
    // An untagged BAD for a line with no usable tag.
    CHECK(render([](ResponseWriter& w) { w.tagged("*", Status::Bad, "Missing tag"); }) ==
          "* BAD Missing tag\r\n");
}

TEST_CASE("RFC 3501 7.1: untagged OK/NO/BAD, BYE (7.1.5) and PREAUTH (7.1.4)") {
    CHECK(render([](ResponseWriter& w) {
              w.untagged(Status::Ok, Code::Alert, "System shutdown in 10 minutes");
          }) == "* OK [ALERT] System shutdown in 10 minutes\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.untagged(Status::No, "Disk is 98% full, please delete unnecessary data");
          }) == "* NO Disk is 98% full, please delete unnecessary data\r\n");
    CHECK(render([](ResponseWriter& w) { w.untagged(Status::Bad, "Command line too long"); }) ==
          "* BAD Command line too long\r\n");
    CHECK(render([](ResponseWriter& w) { w.bye("Autologout; idle for too long"); }) ==
          "* BYE Autologout; idle for too long\r\n");
    CHECK(render([](ResponseWriter& w) { w.bye(Code::Unavailable, "Shutting down"); }) ==
          "* BYE [UNAVAILABLE] Shutting down\r\n");
    CHECK(render([](ResponseWriter& w) { w.preauth("IMAP4rev1 server logged in as Smith"); }) ==
          "* PREAUTH IMAP4rev1 server logged in as Smith\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.preauth(ResponseCode::capability({"IMAP4rev1", "IDLE"}), "Logged in");
          }) == "* PREAUTH [CAPABILITY IMAP4rev1 IDLE] Logged in\r\n");
}

TEST_CASE("RFC 3501 7.1 and RFC 5530 3: every Code writes its registered atom") {
    const std::vector<std::pair<Code, std::string>> codes = {
        {Code::Alert, "ALERT"},
        {Code::BadCharset, "BADCHARSET"},
        {Code::Capability, "CAPABILITY"},
        {Code::Parse, "PARSE"},
        {Code::PermanentFlags, "PERMANENTFLAGS"},
        {Code::ReadOnly, "READ-ONLY"},
        {Code::ReadWrite, "READ-WRITE"},
        {Code::TryCreate, "TRYCREATE"},
        {Code::UidNext, "UIDNEXT"},
        {Code::UidValidity, "UIDVALIDITY"},
        {Code::Unseen, "UNSEEN"},
        {Code::Unavailable, "UNAVAILABLE"},
        {Code::AuthenticationFailed, "AUTHENTICATIONFAILED"},
        {Code::AuthorizationFailed, "AUTHORIZATIONFAILED"},
        {Code::Expired, "EXPIRED"},
        {Code::PrivacyRequired, "PRIVACYREQUIRED"},
        {Code::ContactAdmin, "CONTACTADMIN"},
        {Code::NoPerm, "NOPERM"},
        {Code::InUse, "INUSE"},
        {Code::ExpungeIssued, "EXPUNGEISSUED"},
        {Code::Corruption, "CORRUPTION"},
        {Code::ServerBug, "SERVERBUG"},
        {Code::ClientBug, "CLIENTBUG"},
        {Code::Cannot, "CANNOT"},
        {Code::Limit, "LIMIT"},
        {Code::OverQuota, "OVERQUOTA"},
        {Code::AlreadyExists, "ALREADYEXISTS"},
        {Code::NonExistent, "NONEXISTENT"},
    };
    for (const auto& [code, atom] : codes) {
        CHECK(imap::code_atom(code) == atom);
        CHECK(render([code = code](ResponseWriter& w) { w.tagged("t1", Status::No, code, "x"); }) ==
              "t1 NO [" + atom + "] x\r\n");
    }
}

TEST_CASE("RFC 5530 examples") {
    CHECK(render([](ResponseWriter& w) {
              w.tagged("a", Status::No, Code::AuthenticationFailed, "Authentication failed");
          }) == "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.tagged("c", Status::No, Code::AlreadyExists, "Mailbox already exists");
          }) == "c NO [ALREADYEXISTS] Mailbox already exists\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.tagged("e", Status::No, Code::NonExistent, "No such mailbox");
          }) == "e NO [NONEXISTENT] No such mailbox\r\n");
}

TEST_CASE("RFC 3501 7.1: response codes with arguments") {
    auto tagged_ok = [](const ResponseCode& code, std::string_view text = "done") {
        return render([&](ResponseWriter& w) { w.tagged("a1", Status::Ok, code, text); });
    };
    CHECK(tagged_ok(ResponseCode::uidnext(4392), "Predicted next UID") ==
          "a1 OK [UIDNEXT 4392] Predicted next UID\r\n");
    CHECK(tagged_ok(ResponseCode::uidvalidity(4294967295u)) ==
          "a1 OK [UIDVALIDITY 4294967295] done\r\n");
    CHECK(tagged_ok(ResponseCode::unseen(12)) == "a1 OK [UNSEEN 12] done\r\n");
    // RFC 3501 6.3.1 example.
    CHECK(tagged_ok(ResponseCode::permanent_flags({"\\Deleted", "\\Seen", "\\*"}), "Limited") ==
          "a1 OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n");
    CHECK(tagged_ok(ResponseCode::permanent_flags(std::vector<std::string>{})) ==
          "a1 OK [PERMANENTFLAGS ()] done\r\n");
    // Elements that are not flags cannot be written in a flag list.
    CHECK(tagged_ok(ResponseCode::permanent_flags({"bad flag", "\\Seen", "", "x]"})) ==
          "a1 OK [PERMANENTFLAGS (\\Seen)] done\r\n");
    CHECK(tagged_ok(ResponseCode::badcharset({"UTF-8", "US-ASCII"})) ==
          "a1 OK [BADCHARSET (UTF-8 US-ASCII)] done\r\n");
    CHECK(tagged_ok(ResponseCode::badcharset(std::vector<std::string_view>{})) ==
          "a1 OK [BADCHARSET] done\r\n");
    // astring: atom where possible, quoted otherwise; a name needing a
    // literal is left out.
    CHECK(tagged_ok(ResponseCode::badcharset({"two words", "bad\r\nname", "UTF-8"})) ==
          "a1 OK [BADCHARSET (\"two words\" UTF-8)] done\r\n");
    CHECK(tagged_ok(ResponseCode::badcharset({"bad\r\nname"})) == "a1 OK [BADCHARSET] done\r\n");
    CHECK(tagged_ok(ResponseCode::capability(
              std::vector<std::string>{"IMAP4rev1", "LITERAL+", "AUTH=PLAIN"})) ==
          "a1 OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] done\r\n");
    CHECK(tagged_ok(ResponseCode(Code::Parse), "Bad header") == "a1 OK [PARSE] Bad header\r\n");
}

TEST_CASE("RFC 4315 and RFC 7162: extension response codes") {
    auto tagged_ok = [](const ResponseCode& code, std::string_view text) {
        return render([&](ResponseWriter& w) { w.tagged("A003", Status::Ok, code, text); });
    };
    // RFC 4315 3 examples.
    CHECK(tagged_ok(ResponseCode::appenduid(38505, "3955"), "APPEND completed") ==
          "A003 OK [APPENDUID 38505 3955] APPEND completed\r\n");
    CHECK(tagged_ok(ResponseCode::copyuid(38505, "304,319:320", "3956:3958"), "Done") ==
          "A003 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n");
    // RFC 7162 3.1.2.1 (mod-sequence is 63-bit) and 3.1.3.
    CHECK(tagged_ok(ResponseCode::highestmodseq(715194045007), "Highest") ==
          "A003 OK [HIGHESTMODSEQ 715194045007] Highest\r\n");
    CHECK(tagged_ok(ResponseCode::modified("7,9"), "Conditional STORE failed") ==
          "A003 OK [MODIFIED 7,9] Conditional STORE failed\r\n");
    CHECK(tagged_ok(ResponseCode::extension("NOMODSEQ"), "Sorry") ==
          "A003 OK [NOMODSEQ] Sorry\r\n");
    CHECK(tagged_ok(ResponseCode::extension("UIDNOTSTICKY"), "Non-persistent UIDs") ==
          "A003 OK [UIDNOTSTICKY] Non-persistent UIDs\r\n");
}

// ---------------------------------------------------------------------------
// RFC 3501 9: text = 1*TEXT-CHAR. Human text can neither end the line nor
// forge a response code.

TEST_CASE("RFC 3501 9 text: CR and LF in human text cannot inject a response") {
    CHECK(render([](ResponseWriter& w) {
              w.tagged("a1", Status::No, "bad\r\na2 OK [ALERT] forged");
          }) == "a1 NO bad  a2 OK [ALERT] forged\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.untagged(Status::Ok, Code::Alert, "line\nbreak\rhere");
          }) == "* OK [ALERT] line break here\r\n");
    CHECK(render([](ResponseWriter& w) { w.bye(std::string_view("nul\0byte", 8)); }) ==
          "* BYE nul byte\r\n");
    CHECK(render([](ResponseWriter& w) { w.tagged("a1", Status::Bad, "\r\n"); }) ==
          "a1 BAD   \r\n");
    CHECK(render([](ResponseWriter& w) { w.continuation("go\r\n* BYE x"); }) ==
          "+ go  * BYE x\r\n");
}

TEST_CASE("RFC 3501 9 resp-text: text starting with an open bracket cannot forge a response code") {
    CHECK(render([](ResponseWriter& w) {
              w.tagged("a1", Status::No, "[ALERT] mailbox \"x\" not found");
          }) == "a1 NO  [ALERT] mailbox \"x\" not found\r\n");
    CHECK(render([](ResponseWriter& w) { w.continuation("[ALERT] hi"); }) == "+  [ALERT] hi\r\n");
    // After a real code the text cannot be mistaken for one.
    CHECK(render([](ResponseWriter& w) { w.untagged(Status::Ok, Code::Alert, "[not a code]"); }) ==
          "* OK [ALERT] [not a code]\r\n");
    // A '[' later in the text is harmless.
    CHECK(render([](ResponseWriter& w) { w.tagged("a1", Status::Ok, "x [y]"); }) ==
          "a1 OK x [y]\r\n");
}

TEST_CASE("RFC 3501 9 resp-text-code: arguments cannot close the code or the line") {
    CHECK(render([](ResponseWriter& w) {
              w.tagged("a1", Status::No, ResponseCode::extension("X-CODE", "a]b\r\nc"), "t");
          }) == "a1 NO [X-CODE a b  c] t\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.tagged("a1", Status::No, ResponseCode::extension("BAD\r\n]"), "t");
          }) == "a1 NO [BAD   ] t\r\n");
    // An empty atom cannot be written; the code is dropped, the line stays valid.
    CHECK(render([](ResponseWriter& w) {
              w.tagged("a1", Status::No, ResponseCode::extension(""), "t");
          }) == "a1 NO t\r\n");
}

TEST_CASE("RFC 3501 9 text: an empty text is replaced by the status word") {
    CHECK(render([](ResponseWriter& w) { w.tagged("a1", Status::Ok, ""); }) == "a1 OK OK\r\n");
    CHECK(render([](ResponseWriter& w) { w.tagged("a1", Status::No, Code::TryCreate, ""); }) ==
          "a1 NO [TRYCREATE] NO\r\n");
    CHECK(render([](ResponseWriter& w) { w.untagged(Status::Bad, ""); }) == "* BAD BAD\r\n");
    CHECK(render([](ResponseWriter& w) { w.bye(""); }) == "* BYE BYE\r\n");
    CHECK(render([](ResponseWriter& w) { w.preauth(""); }) == "* PREAUTH PREAUTH\r\n");
    CHECK(render([](ResponseWriter& w) { w.untagged(Status::Ok, ResponseCode::uidnext(5), ""); }) ==
          "* OK [UIDNEXT 5] OK\r\n");
}

TEST_CASE("RFC 3501 9 text: 8-bit text is kept (UTF-8, RFC 9051 / RFC 6855)") {
    CHECK(render([](ResponseWriter& w) {
              w.tagged("a1", Status::No,
                       "Postfach \xC3\xBC"
                       "ber Quote");
          }) ==
          "a1 NO Postfach \xC3\xBC"
          "ber Quote\r\n");
}

// ---------------------------------------------------------------------------
// RFC 3501 7.5 continuation requests and 6.2.2 AUTHENTICATE challenges.

TEST_CASE("RFC 3501 7.5: continuation request") {
    CHECK(render([](ResponseWriter& w) { w.continuation("Ready for additional command text"); }) ==
          "+ Ready for additional command text\r\n");
    CHECK(render([](ResponseWriter& w) { w.continuation("idling"); }) == "+ idling\r\n");
    // Empty: valid as an empty base64 (RFC 3501 9 continue-req).
    CHECK(render([](ResponseWriter& w) { w.continuation(""); }) == "+ \r\n");
}

TEST_CASE("RFC 3501 6.2.2: AUTHENTICATE challenges are base64 (RFC 4648 10 vectors)") {
    auto challenge = [](std::string_view data) {
        return render([&](ResponseWriter& w) { w.challenge(data); });
    };
    CHECK(challenge("") == "+ \r\n");
    CHECK(challenge("f") == "+ Zg==\r\n");
    CHECK(challenge("fo") == "+ Zm8=\r\n");
    CHECK(challenge("foo") == "+ Zm9v\r\n");
    CHECK(challenge("foob") == "+ Zm9vYg==\r\n");
    CHECK(challenge("fooba") == "+ Zm9vYmE=\r\n");
    CHECK(challenge("foobar") == "+ Zm9vYmFy\r\n");
    CHECK(challenge(std::string_view("\xff\xfe\x00", 3)) == "+ //4A\r\n");

    // The GSSAPI challenge of the RFC 3501 6.2.2 example.
    static constexpr char kGssapi[] =
        "\x60\x33\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x02\x01\x00\x00\xff\xff\xff"
        "\xff\xea\x37\x32\x1b\x81\x84\xdc\xa9\x13\xcc\x17\x81\x89\x51\xde\x71\xe3\xf6\x09"
        "\x66\x34\x49\x1d\x1f\x01\x00\x20\x00\x04\x04\x04\x04";
    CHECK(challenge(std::string_view(kGssapi, sizeof kGssapi - 1)) ==
          "+ YDMGCSqGSIb3EgECAgIBAAD/////6jcyG4GE3KkTzBeBiVHeceP2CWY0SR0fAQAgAAQEBAQ=\r\n");
}

// ---------------------------------------------------------------------------
// RFC 3501 9 (and 4.1-4.5): atom / quoted / literal choice.

TEST_CASE("RFC 3501 9 astring: atom form when every byte is ASTRING-CHAR") {
    CHECK(astring("INBOX") == "INBOX");
    CHECK(astring("a") == "a");
    CHECK(astring("Sent.2024-01") == "Sent.2024-01");
    // resp-specials "]" is an ASTRING-CHAR though not an ATOM-CHAR.
    CHECK(astring("x]y") == "x]y");
    CHECK(astring("&AOk-t&AOk-") == "&AOk-t&AOk-");  // modified UTF-7 (RFC 3501 5.1.3)
    CHECK(astring("+[!#$&'+,-./:;<=>?@^_`|}~") == "+[!#$&'+,-./:;<=>?@^_`|}~");
}

TEST_CASE("RFC 3501 9 astring: atom-specials force a quoted string") {
    CHECK(astring("") == "\"\"");
    CHECK(astring("Sent Items") == "\"Sent Items\"");
    CHECK(astring("a(b") == "\"a(b\"");
    CHECK(astring("a)b") == "\"a)b\"");
    CHECK(astring("a{b") == "\"a{b\"");
    CHECK(astring("50%") == "\"50%\"");  // list-wildcards
    CHECK(astring("a*") == "\"a*\"");
    CHECK(astring("tab\there") == "\"tab\there\"");  // CTL: not an atom, but quotable
    CHECK(astring("del\x7f") == "\"del\x7f\"");
    CHECK(astring("say \"hi\"") == "\"say \\\"hi\\\"\"");
    CHECK(astring("back\\slash") == "\"back\\\\slash\"");
}

TEST_CASE("RFC 3501 9 astring: NIL in any case is quoted, never an atom") {
    CHECK(astring("NIL") == "\"NIL\"");
    CHECK(astring("nil") == "\"nil\"");
    CHECK(astring("Nil") == "\"Nil\"");
    CHECK(astring("NILS") == "NILS");
    CHECK(astring("NI") == "NI");
}

TEST_CASE("RFC 3501 9 string: quoted for TEXT-CHAR, with quoted-specials escaped") {
    CHECK(string("") == "\"\"");
    CHECK(string("atom") == "\"atom\"");  // string() never writes an atom
    CHECK(string("two words") == "\"two words\"");
    CHECK(string("\"") == "\"\\\"\"");
    CHECK(string("\\") == "\"\\\\\"");
    CHECK(string("a\"b\\c\"\"") == "\"a\\\"b\\\\c\\\"\\\"\"");
    CHECK(string("\x01\x1f\x7f") == "\"\x01\x1f\x7f\"");
}

TEST_CASE("RFC 3501 9 string: CR, LF, NUL or 8-bit bytes force a literal (4.3)") {
    CHECK(string("a\r\nb") == "{4}\r\na\r\nb");
    CHECK(string("\n") == "{1}\r\n\n");
    CHECK(string("\r") == "{1}\r\n\r");
    CHECK(string(std::string_view("a\0b", 3)) == std::string("{3}\r\na\0b", 8));
    CHECK(string("M\xC3\xBCller") == "{7}\r\nM\xC3\xBCller");
    CHECK(string("\x80") == "{1}\r\n\x80");
    // astring takes the same path.
    CHECK(astring("caf\xC3\xA9") == "{5}\r\ncaf\xC3\xA9");
    CHECK(astring("x\r\ny") == "{4}\r\nx\r\ny");
}

TEST_CASE("RFC 3501 9 string: quoted up to kMaxQuotedLength, literal past it") {
    const std::string at_limit(ResponseWriter::kMaxQuotedLength, 'q');
    const std::string over_limit(ResponseWriter::kMaxQuotedLength + 1, 'q');
    CHECK(string(at_limit) == "\"" + at_limit + "\"");
    CHECK(string(over_limit) == "{" + std::to_string(over_limit.size()) + "}\r\n" + over_limit);
    // An atom has no length limit: astring stays an atom.
    CHECK(astring(over_limit) == over_limit);
    const std::string spaced_over(ResponseWriter::kMaxQuotedLength + 1, ' ');
    CHECK(astring(spaced_over) == "{" + std::to_string(spaced_over.size()) + "}\r\n" + spaced_over);
}

TEST_CASE("RFC 3501 9 nstring and nil") {
    auto nstring = [](std::optional<std::string_view> s) {
        return render([&](ResponseWriter& w) { w.nstring(s); });
    };
    CHECK(nstring(std::nullopt) == "NIL");
    CHECK(nstring("") == "\"\"");
    CHECK(nstring("NIL") == "\"NIL\"");
    CHECK(nstring("Terry Gray") == "\"Terry Gray\"");
    CHECK(nstring("two\r\nlines") == "{10}\r\ntwo\r\nlines");
    const std::optional<std::string> owned = "owned";
    CHECK(render([&](ResponseWriter& w) { w.nstring(owned); }) == "\"owned\"");
    CHECK(render([](ResponseWriter& w) { w.nil(); }) == "NIL");
}

TEST_CASE("RFC 3501 4.3 literal: forced, from a view or moved in") {
    CHECK(render([](ResponseWriter& w) { w.literal("abc"); }) == "{3}\r\nabc");
    CHECK(render([](ResponseWriter& w) { w.literal(""); }) == "{0}\r\n");
    CHECK(render([](ResponseWriter& w) { w.literal(std::string("moved")); }) == "{5}\r\nmoved");
    const std::string lvalue = "lvalue";
    CHECK(render([&](ResponseWriter& w) { w.literal(lvalue); }) == "{6}\r\nlvalue");
}

TEST_CASE("RFC 3516 4.2 literal8: ~{n} carries any octet, NUL included") {
    const std::string binary("\x00\x01\xff\r\n", 5);
    CHECK(render([&](ResponseWriter& w) { w.literal8(binary); }) == "~{5}\r\n" + binary);
    CHECK(render([](ResponseWriter& w) { w.literal8(""); }) == "~{0}\r\n");
    std::string moved = binary;
    CHECK(render([&](ResponseWriter& w) { w.literal8(std::move(moved)); }) == "~{5}\r\n" + binary);
}

TEST_CASE("RFC 3501 7.4.2 FETCH BODY[]: a large literal body is sent without a copy") {
    OutputBuffer buf;
    ResponseWriter w(buf);
    std::string body(OutputBuffer::kMinMovedChunkSize * 4, 'm');
    body.replace(0, 20, "Subject: hi\r\n\r\nbody ");
    const std::string expected_body = body;
    const char* const original = body.data();

    w.fetch_begin(12).atom("UID").sp().number(5).sp().atom("FLAGS").sp();
    w.flag_list(std::vector<std::string>{"\\Seen"}).sp().atom("BODY[]").sp();
    w.literal(std::move(body)).fetch_end();

    const std::string head = "* 12 FETCH (UID 5 FLAGS (\\Seen) BODY[] {16384}\r\n";
    REQUIRE(buf.chunk_count() == 3);
    CHECK(buf.front() == head);
    buf.consume(head.size());
    CHECK(buf.front().data() == original);
    CHECK(buf.front() == expected_body);
    buf.consume(expected_body.size());
    CHECK(buf.front() == ")\r\n");
}

TEST_CASE("RFC 3501 9 number, nz-number and RFC 7162 mod-sequence (number64)") {
    auto number = [](std::uint64_t n) { return render([&](ResponseWriter& w) { w.number(n); }); };
    CHECK(number(0) == "0");
    CHECK(number(1) == "1");
    CHECK(number(std::uint32_t{4294967295u}) == "4294967295");
    CHECK(number(9223372036854775807ull) == "9223372036854775807");
    CHECK(number(18446744073709551615ull) == "18446744073709551615");
}

TEST_CASE("RFC 3501 9 building blocks: parentheses, SP, atoms and raw syntax") {
    CHECK(render([](ResponseWriter& w) {
              w.fetch_begin(7).atom("BODY[HEADER.FIELDS (FROM)]").sp().nil().fetch_end();
          }) == "* 7 FETCH (BODY[HEADER.FIELDS (FROM)] NIL)\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.begin_untagged().atom("ESEARCH").sp().open().atom("TAG").sp().string("a1");
              w.close().sp().atom("UID").sp().atom("ALL").sp().raw("1:3,5").end();
          }) == "* ESEARCH (TAG \"a1\") UID ALL 1:3,5\r\n");
    CHECK(render([](ResponseWriter& w) { w.open().close(); }) == "()");
}

// ---------------------------------------------------------------------------
// RFC 3501 9 flag-list, mailbox, and the common untagged responses.

TEST_CASE("RFC 3501 9 flag-list: system flags, keywords, the wildcard flag and invalid elements") {
    auto flags = [](auto&& list) { return render([&](ResponseWriter& w) { w.flag_list(list); }); };
    CHECK(flags(std::vector<std::string>{}) == "()");
    CHECK(flags(std::vector<std::string>{"\\Seen", "\\Answered", "$Label"}) ==
          "(\\Seen \\Answered $Label)");
    CHECK(flags(std::set<std::string>{"b", "a"}) == "(a b)");
    CHECK(flags(std::array<std::string_view, 2>{"\\Deleted", "\\*"}) == "(\\Deleted \\*)");
    // Not writable in a flag list: left out, and the spacing stays right.
    CHECK(flags(std::vector<std::string>{"", "two words", "\\", "\\Seen", "x\r\ny", "(x", "k]",
                                         "\\\\x", "\"q\"", "Junk"}) == "(\\Seen Junk)");
    CHECK(flags(std::vector<std::string>{"bad flag"}) == "()");
}

TEST_CASE("RFC 3501 9 mailbox: INBOX, atoms, quoted and literal names") {
    auto mailbox = [](std::string_view name) {
        return render([&](ResponseWriter& w) { w.mailbox(name); });
    };
    CHECK(mailbox("INBOX") == "INBOX");
    CHECK(mailbox("INBOX/Sub") == "INBOX/Sub");
    CHECK(mailbox("Sent Items") == "\"Sent Items\"");
    CHECK(mailbox("Entw&APw-rfe") == "Entw&APw-rfe");
    CHECK(mailbox("NIL") == "\"NIL\"");
    CHECK(mailbox("a%b") == "\"a%b\"");
    CHECK(mailbox("") == "\"\"");
}

TEST_CASE("RFC 3501 7.2.1 CAPABILITY") {
    CHECK(render([](ResponseWriter& w) {
              w.capability({"IMAP4rev1", "STARTTLS", "AUTH=GSSAPI", "LOGINDISABLED"});
          }) == "* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n");
    const std::vector<std::string> caps = {"IMAP4rev1", "IDLE"};
    CHECK(render([&](ResponseWriter& w) { w.capability(caps); }) ==
          "* CAPABILITY IMAP4rev1 IDLE\r\n");
}

TEST_CASE("RFC 3501 7.3.1, 7.3.2, 7.4.1: EXISTS, RECENT, EXPUNGE") {
    CHECK(render([](ResponseWriter& w) { w.exists(23); }) == "* 23 EXISTS\r\n");
    CHECK(render([](ResponseWriter& w) { w.exists(0); }) == "* 0 EXISTS\r\n");
    CHECK(render([](ResponseWriter& w) { w.recent(5); }) == "* 5 RECENT\r\n");
    CHECK(render([](ResponseWriter& w) { w.expunge(44); }) == "* 44 EXPUNGE\r\n");
    CHECK(render([](ResponseWriter& w) { w.exists(172).recent(1); }) ==
          "* 172 EXISTS\r\n* 1 RECENT\r\n");
}

TEST_CASE("RFC 3501 7.2.6 FLAGS") {
    CHECK(render([](ResponseWriter& w) {
              w.flags({"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"});
          }) == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
    CHECK(render([](ResponseWriter& w) { w.flags(std::vector<std::string>{}); }) ==
          "* FLAGS ()\r\n");
}

TEST_CASE("RFC 3501 7.2.2 LIST and 7.2.3 LSUB") {
    CHECK(render([](ResponseWriter& w) { w.list({"\\Noselect"}, '/', "~/Mail/foo"); }) ==
          "* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n");
    CHECK(render([](ResponseWriter& w) { w.list({}, '.', "INBOX"); }) ==
          "* LIST () \".\" INBOX\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.list(std::vector<std::string>{"\\HasNoChildren", "\\Sent"}, '/', "Sent Items");
          }) == "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent Items\"\r\n");
    // A flat namespace: no hierarchy delimiter (RFC 3501 6.3.8).
    CHECK(render([](ResponseWriter& w) { w.list({"\\Noselect"}, std::nullopt, ""); }) ==
          "* LIST (\\Noselect) NIL \"\"\r\n");
    // QUOTED-CHAR escapes quoted-specials; a non-TEXT-CHAR becomes NIL.
    CHECK(render([](ResponseWriter& w) { w.list({}, '"', "a"); }) == "* LIST () \"\\\"\" a\r\n");
    CHECK(render([](ResponseWriter& w) { w.list({}, '\\', "a"); }) == "* LIST () \"\\\\\" a\r\n");
    CHECK(render([](ResponseWriter& w) { w.list({}, '\n', "a"); }) == "* LIST () NIL a\r\n");
    CHECK(render([](ResponseWriter& w) { w.list({}, '/', "caf\xC3\xA9"); }) ==
          "* LIST () \"/\" {5}\r\ncaf\xC3\xA9\r\n");
    CHECK(render([](ResponseWriter& w) { w.lsub({}, '/', "#news.comp.mail.misc"); }) ==
          "* LSUB () \"/\" #news.comp.mail.misc\r\n");
    CHECK(render([](ResponseWriter& w) {
              w.lsub(std::vector<std::string>{"\\Noselect"}, '.', "#news.comp.mail");
          }) == "* LSUB (\\Noselect) \".\" #news.comp.mail\r\n");
}

TEST_CASE("RFC 3501 7.2.4 STATUS") {
    StatusItems items;
    items.messages = 231;
    items.uidnext = 44292;
    CHECK(render([&](ResponseWriter& w) { w.status("blurdybloop", items); }) ==
          "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n");

    StatusItems all;
    all.messages = 1;
    all.recent = 2;
    all.uidnext = 3;
    all.uidvalidity = 4;
    all.unseen = 5;
    all.highestmodseq = 7011231777;  // RFC 7162 3.1.1
    all.size = 12345;                // RFC 8438
    CHECK(render([&](ResponseWriter& w) { w.status("Sent Items", all); }) ==
          "* STATUS \"Sent Items\" (MESSAGES 1 RECENT 2 UIDNEXT 3 UIDVALIDITY 4 UNSEEN 5 "
          "HIGHESTMODSEQ 7011231777 SIZE 12345)\r\n");
    CHECK(render([](ResponseWriter& w) { w.status("INBOX", StatusItems{}); }) ==
          "* STATUS INBOX ()\r\n");
}

TEST_CASE("RFC 3501 7.2.5 SEARCH") {
    const std::vector<std::uint32_t> hits = {2, 3, 6};
    CHECK(render([&](ResponseWriter& w) { w.search(hits); }) == "* SEARCH 2 3 6\r\n");
    CHECK(render([](ResponseWriter& w) { w.search({}); }) == "* SEARCH\r\n");
    const std::array<std::uint32_t, 1> one = {4294967295u};
    CHECK(render([&](ResponseWriter& w) { w.search(one); }) == "* SEARCH 4294967295\r\n");
}
