#include "protocol/mailbox_name.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

using imap::is_inbox;
using imap::mutf7_decode;
using imap::mutf7_encode;
using imap::normalize_inbox;

using namespace std::string_literals;

// --- INBOX ------------------------------------------------------------------

TEST_CASE("RFC 3501 5.1: INBOX is case-insensitive", "[mailbox_name]") {
    for (const char* name : {"INBOX", "inbox", "Inbox", "iNbOx", "INBOx"}) {
        INFO(name);
        CHECK(is_inbox(name));
        CHECK(normalize_inbox(name) == "INBOX");
        CHECK(normalize_inbox(name, '/') == "INBOX");
    }
    for (const char* name : {"", "INBO", "INBOXX", " INBOX", "INBOX ", "INBOX/", "inbox.sub",
                             "Archive", "&AEk-NBOX"}) {
        INFO(name);
        CHECK_FALSE(is_inbox(name));
    }
}

TEST_CASE("RFC 3501 5.1: a child of INBOX is normalised only with a delimiter", "[mailbox_name]") {
    CHECK(normalize_inbox("inbox/Sub", '/') == "INBOX/Sub");
    CHECK(normalize_inbox("InBoX/a/b", '/') == "INBOX/a/b");
    CHECK(normalize_inbox("INBOX/x", '/') == "INBOX/x");
    CHECK(normalize_inbox("inbox.Sub", '.') == "INBOX.Sub");
    CHECK(normalize_inbox("inbox/", '/') == "INBOX/");
    // The rest of the name keeps its case: only INBOX itself is special.
    CHECK(normalize_inbox("inbox/inbox", '/') == "INBOX/inbox");
    // Without a delimiter, or with another one, nothing but INBOX changes.
    CHECK(normalize_inbox("inbox/Sub") == "inbox/Sub");
    CHECK(normalize_inbox("inbox/Sub", '.') == "inbox/Sub");
    CHECK(normalize_inbox("inboxes/Sub", '/') == "inboxes/Sub");
    CHECK(normalize_inbox("my/inbox", '/') == "my/inbox");
    CHECK(normalize_inbox("Archive", '/') == "Archive");
    CHECK(normalize_inbox("", '/').empty());
}

// --- Modified UTF-7 ------------------------------------------------------------

TEST_CASE("RFC 3501 5.1.3: the RFC's example decodes and encodes", "[mailbox_name][mutf7]") {
    const std::string wire = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
    const std::string utf8 =
        "~peter/mail/\xE5\x8F\xB0\xE5\x8C\x97/\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E";
    CHECK(mutf7_decode(wire) == utf8);
    CHECK(mutf7_encode(utf8) == wire);
}

TEST_CASE("RFC 3501 5.1.3: \"&\" is represented by \"&-\"", "[mailbox_name][mutf7]") {
    CHECK(mutf7_decode("&-") == "&");
    CHECK(mutf7_encode("&") == "&-");
    CHECK(mutf7_decode("a&-b") == "a&b");
    CHECK(mutf7_encode("a&b") == "a&-b");
    CHECK(mutf7_decode("&-&-") == "&&");
    CHECK(mutf7_encode("&&") == "&-&-");
}

TEST_CASE("RFC 3501 5.1.3: printable US-ASCII represents itself", "[mailbox_name][mutf7]") {
    std::string all;
    for (char c = 0x20; c <= 0x7e; ++c) {
        if (c != '&') all += c;
    }
    CHECK(mutf7_encode(all) == all);
    CHECK(mutf7_decode(all) == all);
    CHECK(mutf7_encode("") == "");
    CHECK(mutf7_decode("") == "");
    // "-" outside BASE64 is an ordinary character.
    CHECK(mutf7_decode("a-b-") == "a-b-");
    CHECK(mutf7_decode("-") == "-");
}

// Expected wire forms computed independently (Python's UTF-16-BE + base64,
// "/" replaced by ",", padding stripped).
TEST_CASE("RFC 3501 5.1.3: known encodings in both directions", "[mailbox_name][mutf7]") {
    const std::vector<std::pair<std::string, std::string>> table = {
        {"\xC3\xA9", "&AOk-"},                       // é: one unit, 2 padding bits
        {"\xC3\xA9\xC3\xA9", "&AOkA6Q-"},            // two units, 4 padding bits
        {"\xC3\xA9\xC3\xA9\xC3\xA9", "&AOkA6QDp-"},  // three units, no padding
        {"Entw\xC3\xBCrfe", "Entw&APw-rfe"},         // German "Drafts"
        {"Brouillons/\xC3\xA9t\xC3\xA9", "Brouillons/&AOk-t&AOk-"},
        {"\xC3\xA9&", "&AOk-&-"},  // run, then "&-"
        {"&\xC3\xA9", "&-&AOk-"},
        {"\xC3\xA9-x", "&AOk--x"},  // "-" right after a run
        {"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E&\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
         "&ZeVnLIqe-&-&ZeVnLIqe-"},
        {"\xD0\x9F\xD0\xB0\xD0\xBF\xD0\xBA\xD0\xB0", "&BB8EMAQ,BDoEMA-"},  // "," for "/"
        {"\xE2\x82\xAC", "&IKw-"},                                         // €
        {"\xEF\xBF\xBF", "&,,8-"},                                         // U+FFFF
        {"\t", "&AAk-"},                                                   // controls are encoded
        {"\x7f", "&AH8-"},
        {"\0"s, "&AAA-"},
        {"\xC3\xBF", "&AP8-"},  // U+00FF
        // Astral characters are UTF-16 surrogate pairs inside the run.
        {"\xF0\x9F\x98\x80", "&2D3eAA-"},  // U+1F600
        {"a\xF0\x9F\x98\x80z", "a&2D3eAA-z"},
        {"\xF0\x9D\x84\x9E", "&2DTdHg-"},  // U+1D11E
        {"\xF0\x9F\x98\x80\xF0\x9F\x98\x80", "&2D3eANg93gA-"},
        {"\xF4\x8F\xBF\xBF", "&2,,f,w-"},  // U+10FFFF
    };
    for (const auto& [utf8, wire] : table) {
        INFO("wire: " << wire);
        CHECK(mutf7_encode(utf8) == wire);
        CHECK(mutf7_decode(wire) == utf8);
    }
}

TEST_CASE("RFC 3501 5.1.3: encode then decode round-trips many strings", "[mailbox_name][mutf7]") {
    const std::vector<std::string> samples = {
        "INBOX",
        "Sent Items",
        "Gel\xC3\xB6schte Elemente",
        "\xE5\x8F\xB0\xE5\x8C\x97",
        "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D",          // Hebrew
        "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7",  // Arabic
        "\xF0\x9F\x93\xA7 mail \xF0\x9F\x93\xA8",
        "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9",  // ZWJ sequence
        "&&&",
        "a&\xC3\xA9&b",
        "-&-",
        "~/\\\"%*",
        "tab\there",
        "\x01\x02\x03",
        "\xC2\x80",          // U+0080, the first non-ASCII
        "\xED\x9F\xBF",      // U+D7FF, just below the surrogates
        "\xEE\x80\x80",      // U+E000, just above them
        "\xF0\x90\x80\x80",  // U+10000, the first astral
        std::string(200, 'x') + "\xC3\xA9",
    };
    for (const auto& s : samples) {
        INFO("utf8: " << s);
        auto wire = mutf7_encode(s);
        REQUIRE(wire.has_value());
        CHECK(mutf7_decode(*wire) == s);
        // The wire form is 7-bit and free of controls.
        for (char c : *wire)
            CHECK((c >= 0x20 && c <= 0x7e));
    }
    // Every BMP code point outside the surrogates, one per string and in runs.
    std::string run;
    for (std::uint32_t cp = 0; cp < 0x10000; cp += 7) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        std::string s;
        if (cp < 0x80) {
            s += static_cast<char>(cp);
        } else if (cp < 0x800) {
            s += static_cast<char>(0xC0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            s += static_cast<char>(0xE0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
        }
        run += s;
        auto wire = mutf7_encode(s);
        REQUIRE(wire.has_value());
        if (mutf7_decode(*wire) != s) FAIL("code point " << cp);
    }
    auto wire = mutf7_encode(run);
    REQUIRE(wire.has_value());
    CHECK(mutf7_decode(*wire) == run);
}

TEST_CASE("RFC 3501 5.1.3: decode rejects what the RFC does not allow", "[mailbox_name][mutf7]") {
    const std::vector<std::pair<std::string, const char*>> bad = {
        // "&" must be closed by "-": no implicit shift back to US-ASCII.
        {"&", "unterminated"},
        {"a&", "unterminated"},
        {"&AOk", "unterminated"},
        {"&AOk/", "unterminated"},
        // Characters outside the modified BASE64 alphabet [A-Za-z0-9+,].
        {"&AO/-", "'/' is not modified BASE64"},
        {"&AOk=-", "no '=' padding"},
        {"&AO k-", "space inside BASE64"},
        {"&AO.k-", "'.'"},
        {"&AOk&-", "'&' inside BASE64"},
        // Lengths and padding bits.
        {"&A-", "one digit is not a UTF-16 unit"},
        {"&AO-", "two digits are not a UTF-16 unit"},
        {"&AOkA-", "superfluous digit"},
        {"&AOl-", "non-zero padding bits (1 unit)"},
        {"&AOkA6R-", "non-zero padding bits (2 units)"},
        // Printing US-ASCII must be sent directly, "&" as "&-".
        {"&AGE-", "'a' encoded"},
        {"&ACY-", "'&' encoded"},
        {"&ACA-", "space encoded"},
        {"&AH4-", "'~' encoded"},
        {"&AC0-", "'-' encoded"},
        {"&AOkAYQ-", "'a' encoded after a non-ASCII character"},
        // Two encoded sequences back to back are a superfluous shift.
        {"&AGE-&AGE-", "the header's own example"},
        {"&AOk-&AOk-", "back to back non-ASCII"},
        {"x&AOk-&AOk-y", "back to back in the middle"},
        // 8-bit bytes and raw controls are never sent directly.
        {"caf\xC3\xA9", "raw UTF-8"},
        {"\x80", "8-bit byte"},
        {"\xFF", "8-bit byte"},
        {"&AOk-\xC3\xA9", "raw UTF-8 after a run"},
        {"a\tb", "raw TAB"},
        {"a\x7f", "raw DEL"},
        {"\r\n", "raw CRLF"},
        {"a\0b"s, "raw NUL"},
        // Unpaired UTF-16 surrogates.
        {"&2D0-", "high surrogate alone"},
        {"&3gA-", "low surrogate alone"},
        {"&2D0A6Q-", "high surrogate then a BMP character"},
        {"&3gDYPQ-", "low before high"},
        {"&2D3YPd4A-", "two highs then a low"},
        {"&AOnYPQ-", "high surrogate at the end of a run"},
        {"&2D0-&3gA-", "a pair split across two runs"},
    };
    for (const auto& [wire, why] : bad) {
        INFO(why << ": \"" << wire << "\"");
        CHECK_FALSE(mutf7_decode(wire).has_value());
    }
}

TEST_CASE("RFC 3501 5.1.3: a run may follow \"&-\" and \"&-\" may follow a run",
          "[mailbox_name][mutf7]") {
    // Not back to back: the "&-" between them is an ASCII "&".
    CHECK(mutf7_decode("&AOk-&-&AOk-") == "\xC3\xA9&\xC3\xA9");
    CHECK(mutf7_decode("&AOk-x&AOk-") == "\xC3\xA9x\xC3\xA9");
}

TEST_CASE("RFC 3629: encode rejects invalid UTF-8", "[mailbox_name][mutf7]") {
    const std::vector<std::pair<std::string, const char*>> bad = {
        {"\x80", "lone continuation byte"},
        {"a\xBFz", "lone continuation byte"},
        {"\xC3", "truncated 2-byte sequence"},
        {"\xE6\x97", "truncated 3-byte sequence"},
        {"\xF0\x9F\x98", "truncated 4-byte sequence"},
        {"\xC3\x28", "bad continuation"},
        {"\xE6\x28\xA5", "bad continuation"},
        {"\xC0\xAF", "overlong '/'"},
        {"\xC1\xBF", "overlong"},
        {"\xE0\x80\xAF", "overlong 3-byte"},
        {"\xE0\x9F\xBF", "overlong 3-byte (U+07FF)"},
        {"\xF0\x80\x80\xAF", "overlong 4-byte"},
        {"\xF0\x8F\xBF\xBF", "overlong 4-byte (U+FFFF)"},
        {"\xED\xA0\x80", "surrogate U+D800"},
        {"\xED\xBF\xBF", "surrogate U+DFFF"},
        {"\xED\xA0\xBD\xED\xB8\x80", "CESU-8 surrogate pair"},
        {"\xF4\x90\x80\x80", "U+110000"},
        {"\xF5\x80\x80\x80", "F5 lead byte"},
        {"\xF8\x88\x80\x80\x80", "5-byte form"},
        {"\xFE", "FE"},
        {"\xFF", "FF"},
    };
    for (const auto& [utf8, why] : bad) {
        INFO(why);
        CHECK_FALSE(mutf7_encode(utf8).has_value());
    }
}
