// Compressed bodies (schema v7, docs/storage.md "Compressed bodies",
// store/body_codec.h): the round trip of every size class, byte ranges
// across block boundaries, a damaged container read as a precise store
// error (and by a session as a tagged NO that keeps the connection),
// deduplication, SEARCH over compressed search text, and the online,
// resumable migration of a database made by schema version 6.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/body_codec.h"
#include "store/body_objects.h"
#include "store/message/message.h"
#include "store/schema.h"
#include "store/search.h"
#include "store/sqlite_mail_store.h"
#include "store/structure_codec.h"
#include "support/session_driver.h"
#include "support/store_support.h"
#include "support/temp_dir.h"

using namespace imap::store;
using imap::store::test::count;
using imap::store::test::insert_legacy_message_rows;
using imap::store::test::memory;
using imap::store::test::request;
using Uids = std::vector<std::uint32_t>;

namespace {

constexpr std::size_t kBlock = limits::kBodyBlockBytes;

// A message of exactly `size` bytes (a header, then lines of varied text),
// or a prefix of the header when `size` is smaller than it.
std::string message_of_size(std::size_t size, unsigned seed = 1) {
    std::string raw = "Subject: size " + std::to_string(size) + "\r\n\r\n";
    std::mt19937 random(seed);
    static const char* const kWords[] = {"zebra ", "quokka ", "fjord ",  "lantern ", "pebble ",
                                         "orbit ", "meadow ", "cobalt ", "harbour ", "tinsel "};
    std::size_t line = 0;
    while (raw.size() < size) {
        raw += kWords[random() % 10];
        if (++line % 11 == 0) raw += std::to_string(random()) + "\r\n";
    }
    raw.resize(size);
    return raw;
}

std::string all_of(MailStore& store, BodyId body) {
    return store.read_body(body, 0, limits::kMaxMessageSize);
}

BodyId body_of(MailStore& store, MailboxId box, std::uint32_t uid) {
    const auto rows = store.fetch(box, UidSet{{uid, uid}});
    REQUIRE(rows.size() == 1);
    return rows.front().body_id;
}

// RFC 8878 3.1.1: the Literals_Block_Type of every Compressed block of
// the zstd frame at the start of `frame` (0 raw, 1 RLE, 2 Huffman-coded,
// 3 Huffman-coded with the previous block's tree); Raw and RLE blocks
// (nothing to code) are left out.
std::vector<int> literal_block_types(std::string_view frame) {
    auto byte = [&](std::size_t at) {
        REQUIRE(at < frame.size());
        return static_cast<unsigned char>(frame[at]);
    };
    REQUIRE(frame.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4));
    // 3.1.1.1: Frame_Header_Descriptor, then the optional fields it names.
    const unsigned descriptor = byte(4);
    const unsigned content_size_flag = descriptor >> 6;
    const bool single_segment = (descriptor >> 5) & 1;
    static constexpr std::size_t kDictionaryIdBytes[] = {0, 1, 2, 4};
    static constexpr std::size_t kContentSizeBytes[] = {0, 2, 4, 8};
    std::size_t at =
        5 + (single_segment ? 0 : 1) + kDictionaryIdBytes[descriptor & 3] +
        (content_size_flag == 0 && single_segment ? 1 : kContentSizeBytes[content_size_flag]);
    std::vector<int> types;
    for (;;) {
        // 3.1.1.2: Block_Header, 3 bytes little-endian: Last_Block,
        // Block_Type (2 bits), Block_Size.
        const std::uint32_t header = byte(at) | (byte(at + 1) << 8) | (byte(at + 2) << 16);
        const unsigned block_type = (header >> 1) & 3;
        const std::size_t block_size = header >> 3;
        at += 3;
        // 3.1.1.3.1.1: a Compressed block starts with its Literals_Section
        // header, whose two low bits are the Literals_Block_Type.
        if (block_type == 2) types.push_back(byte(at) & 3);
        at += block_type == 1 ? 1 : block_size;
        if (header & 1) break;
    }
    return types;
}

// The first frame of container `container` (store/body_codec.h: three
// 32-bit words, the blocks' end offsets, then the frames).
std::string_view first_frame(std::string_view container) {
    REQUIRE(container.size() >= 16);
    const auto word = [&](std::size_t at) {
        std::uint32_t value = 0;
        for (std::size_t i = 0; i < 4; ++i)
            value |= std::uint32_t{static_cast<unsigned char>(container[at + i])} << (8 * i);
        return value;
    };
    const std::size_t blocks = word(8);
    return container.substr(12 + 4 * blocks, word(12));
}

}  // namespace

TEST_CASE("A body of every size class reads back byte for byte, stored compressed",
          "[store][compression]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::size_t size =
        GENERATE(0, 1, 100, kBlock - 1, kBlock, kBlock + 1, 3 * kBlock + 5, 10 * kBlock);
    const std::string raw = message_of_size(size);
    const std::uint32_t uid = store.append(box, request(raw));
    const BodyId body = body_of(store, box, uid);
    CHECK(all_of(store, body) == raw);
    // The bytes are in body_raw; bodies.raw is empty and size the raw size.
    CHECK(count(store, "SELECT count(*) FROM body_raw") == 1);
    CHECK(count(store, "SELECT length(raw) FROM bodies") == 0);
    CHECK(count(store, "SELECT size FROM bodies") == static_cast<std::int64_t>(size));
    CHECK(count(store, "SELECT format FROM body_raw") == kBodyFormatZstdBlocks);
    // Ranges: inside one block, across each boundary, the end, past it.
    for (std::uint64_t offset :
         {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{kBlock - 3}, std::uint64_t{kBlock},
          std::uint64_t{2 * kBlock - 1}, std::uint64_t{size > 0 ? size - 1 : 0},
          std::uint64_t{size}, std::uint64_t{size + 10}}) {
        for (std::uint64_t length : {std::uint64_t{1}, std::uint64_t{7}, std::uint64_t{kBlock + 9},
                                     std::uint64_t{3 * kBlock}}) {
            const std::string expected = offset < size ? raw.substr(offset, length) : std::string();
            INFO("offset " << offset << " length " << length);
            CHECK(store.read_body(body, offset, length) == expected);
        }
    }
    CHECK(store.read_body(body, 0, 0).empty());
}

TEST_CASE("A 64 MiB body round-trips and a partial read decompresses only its blocks",
          "[store][compression]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::string raw = message_of_size(limits::kMaxMessageSize, 7);
    const BodyId body = body_of(store, box, store.append(box, request(raw)));
    CHECK(all_of(store, body) == raw);
    const std::uint64_t middle = 512 * kBlock + 100;
    CHECK(store.read_body(body, middle, 1024) == raw.substr(middle, 1024));
    CHECK(store.read_body(body, raw.size() - 10, 1024) == raw.substr(raw.size() - 10));
    // Damage every block but the first: BODY[]<0.1024> still reads, so it
    // never touched them (a read of the whole body would fail).
    Database& db = store.database();
    std::string container;
    {
        auto q = db.prepare("SELECT data FROM body_raw");
        REQUIRE(q.step());
        container = q.column_text(0);
    }
    const std::size_t blocks = limits::kMaxMessageSize / kBlock;
    const std::size_t frames_at = 12 + 4 * blocks;
    // The first block's end (little-endian, the first entry of the table).
    std::size_t first_end = 0;
    for (int i = 3; i >= 0; --i)
        first_end = first_end * 256 + static_cast<unsigned char>(container[12 + i]);
    std::fill(container.begin() + static_cast<std::ptrdiff_t>(frames_at + first_end),
              container.end(), '\0');
    db.prepare("UPDATE body_raw SET data = ?1").bind_blob(1, container).run();
    CHECK(store.read_body(body, 0, 1024) == raw.substr(0, 1024));
    CHECK(test::error_of([&] { store.read_body(body, middle, 1024); }) == StoreErrc::Corrupt);
}

TEST_CASE("A damaged container is StoreErrc::Corrupt, never a crash", "[store][compression]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    // Both ways of reading (SqliteMailStore::read_body): a small container
    // whole with a statement, a big one through a blob handle.
    const bool small = GENERATE(true, false);
    const std::string raw = message_of_size(small ? 3 * kBlock + 5 : 10 * kBlock);
    const BodyId body = body_of(store, box, store.append(box, request(raw)));
    Database& db = store.database();
    REQUIRE((count(store, "SELECT length(data) FROM body_raw") <=
             static_cast<std::int64_t>(limits::kBodyReadWholeBytes)) == small);
    const char* damage = GENERATE(
        // Cut short: header, block table, a frame.
        "UPDATE body_raw SET data = substr(data, 1, 5)",
        "UPDATE body_raw SET data = substr(data, 1, 14)",
        "UPDATE body_raw SET data = substr(data, 1, length(data) - 3)",
        // A raw size that disagrees with the block count.
        "UPDATE body_raw SET data = x'ffffff00' || substr(data, 5)",
        // Block size 0.
        "UPDATE body_raw SET data = substr(data, 1, 4) || x'00000000' || substr(data, 9)",
        // Garbage where the frames are.
        "UPDATE body_raw SET data = substr(data, 1, 28) || randomblob(length(data) - 28)",
        // A block end beyond the container.
        "UPDATE body_raw SET data = substr(data, 1, 12) || x'ffffff7f' || substr(data, 17)");
    INFO(damage);
    db.exec(damage);
    CHECK(test::error_of([&] { all_of(store, body); }) == StoreErrc::Corrupt);
    // The store still answers.
    CHECK(store.append(box, request(test::message("after"))) == 2);
    CHECK(all_of(store, body_of(store, box, 2)) == test::message("after"));
}

TEST_CASE("Damaged search text fails SEARCH with StoreErrc::Corrupt", "[store][compression]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    store.append(box, request(message_of_size(5000)));
    REQUIRE(count(store, "SELECT typeof(search_body) = 'blob' FROM bodies") == 1);
    store.database().exec("UPDATE bodies SET search_body = x'28b52ffd0000'");
    CHECK(test::error_of([&] { store.search(box, SearchKey::body("quokka")); }) ==
          StoreErrc::Corrupt);
}

TEST_CASE("RFC 3501 6.4.5: a damaged body is a tagged NO [CORRUPTION], the connection stays",
          "[store][compression][session]") {
    imap::server::UserMailRegistry mail(DataDir::in_memory());
    MailStore& store = mail.open("alice")->store();
    const MailboxId box = store.open_mailbox("INBOX").id;
    store.append(box, request(test::message("whole")));
    store.append(box, request(test::message("damaged")));
    test::sqlite_database(store).exec(
        "UPDATE body_raw SET data = substr(data, 1, 20) WHERE body_id = 2");
    imap::test::SessionDriver d(mail);
    d.login();
    d.send("s SELECT INBOX\r\n");
    const std::string answer = d.send("a FETCH 2 BODY.PEEK[]\r\n");
    INFO(answer);
    // RFC 5530 CORRUPTION with the store's precise reason, after the
    // response begun for message 2 is closed with the one item that is
    // always true (RFC 3501 9: msg-att is never empty).
    CHECK(answer ==
          "* 2 FETCH (UID 2)\r\na NO [CORRUPTION] stored message body is damaged: the block table "
          "is inconsistent\r\n");
    CHECK_FALSE(d.session.wants_close());
    CHECK(d.send("b FETCH 1 BODY.PEEK[]<0.4>\r\n") ==
          "* 1 FETCH (BODY[]<0> {4}\r\nFrom)\r\n"
          "b OK FETCH completed\r\n");
}

TEST_CASE("Identical bodies in two mailboxes are one compressed row", "[store][compression]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const MailboxId work = store.create_mailbox("Work").id;
    const std::string raw = message_of_size(2 * kBlock + 17);
    store.append(inbox, request(raw));
    store.append(work, request(raw));
    store.copy(inbox, test::all(), work);
    CHECK(count(store, "SELECT count(*) FROM bodies") == 1);
    CHECK(count(store, "SELECT count(*) FROM body_raw") == 1);
    CHECK(all_of(store, body_of(store, work, 2)) == raw);
}

TEST_CASE("RFC 3501 6.4.4: SEARCH BODY/TEXT/HEADER over compressed search text",
          "[store][compression][search]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::string long_text = message_of_size(20000, 3);
    store.append(box, request(test::message("Grüße aus Köln",
                                            "Ein Gruß: ÄÖÜ straße\r\n" + long_text.substr(30))));
    store.append(box, request(test::message("short", "hi\r\n")));
    // The long text is a zstd frame, the short one text as it was.
    CHECK(count(store, "SELECT count(*) FROM bodies WHERE typeof(search_body) = 'blob'") == 1);
    auto check = [&] {
        CHECK(store.search(box, SearchKey::body("straSSe")).empty());
        CHECK(store.search(box, SearchKey::body("STRASSE")).empty());
        CHECK(store.search(box, SearchKey::body("straße")) == Uids{1});
        CHECK(store.search(box, SearchKey::body("äöü")) == Uids{1});
        CHECK(store.search(box, SearchKey::body("quokka")) == Uids{1});
        CHECK(store.search(box, SearchKey::body("hi")) == Uids{2});
        CHECK(store.search(box, SearchKey::text_("köln")) == Uids{1});
        CHECK(store.search(box, SearchKey::header("Subject", "grüSSe")).empty());
        CHECK(store.search(box, SearchKey::header("Subject", "grüße")) == Uids{1});
        CHECK(store.search(box, SearchKey::address("From", "alice@")) == Uids{1, 2});
    };
    check();  // queued: scanned
    test::index_all(store);
    check();  // indexed: narrowed, then matched
    // The index's 'delete' of an indexed, compressed body gets the indexed
    // text back: nothing of it stays in the index.
    store.store_flags(box, UidSet{{1, 1}}, FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(box);
    store.collect_garbage();
    CHECK(test::indexed_matching(store, "\"quo\"") == 0);
    CHECK(count(store, "SELECT count(*) FROM body_raw") == 1);
    CHECK(store.search(box, SearchKey::body("quokka")).empty());
}

namespace {

// A database as schema version 6 made it: bodies with their bytes in raw
// and text search columns, queued for the index, and the messages.
void make_v6_database(const OpenOptions& options, const std::vector<std::string>& raws) {
    Database db(options);
    db.migrate(mail_migrations().first(6));
    REQUIRE(db.user_version() == 6);
    std::int64_t uid = 1;
    for (const std::string& raw : raws) {
        const ParsedMessage parsed = parse_message(raw);
        SearchText text = extract_search_text(raw, parsed);
        db.prepare(
              "INSERT INTO bodies (hash, size, structure, search_header, search_body, raw) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .bind_blob(1, sha256(raw))
            .bind(2, static_cast<std::int64_t>(raw.size()))
            .bind_blob(3, encode_structure(parsed))
            .bind(4, search_header_column(text))
            .bind(5, text.body)
            .bind_blob(6, raw)
            .run();
        const std::int64_t body = db.last_insert_rowid();
        insert_legacy_message_rows(db, body, uid++, raw.size());
    }
    db.prepare("UPDATE mailboxes SET uidnext = ?1 WHERE name = 'INBOX'").bind(1, uid).run();
}

std::vector<std::string> migration_corpus() {
    std::vector<std::string> raws;
    for (int i = 0; i < 40; ++i) {
        raws.push_back(message_of_size(i % 5 == 0 ? 2 * kBlock + 3 * static_cast<std::size_t>(i)
                                                  : 500 + 100 * static_cast<std::size_t>(i),
                                       static_cast<unsigned>(i + 10)));
    }
    raws.push_back(test::message("needle", "the word marmalade is here\r\n"));
    return raws;
}

void check_readable(MailStore& store, MailboxId box, const std::vector<std::string>& raws) {
    const auto rows = store.fetch(box, test::all());
    REQUIRE(rows.size() == raws.size());
    for (std::size_t i = 0; i < raws.size(); ++i) {
        CHECK(all_of(store, rows[i].body_id) == raws[i]);
        CHECK(store.read_body(rows[i].body_id, kBlock - 2, 5) ==
              (raws[i].size() > kBlock - 2 ? raws[i].substr(kBlock - 2, 5) : std::string()));
    }
    CHECK(store.search(box, SearchKey::body("marmalade")) == Uids{41});
    CHECK(store.search(box, SearchKey::header("Subject", "needle")) == Uids{41});
}

}  // namespace

TEST_CASE("Schema version 7 compresses a version 6 database online, in batches",
          "[store][compression][migrate]") {
    imap::test::UniqueTempDir dir("imapd-store-compression-migrate");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    const std::vector<std::string> raws = migration_corpus();
    make_v6_database(options, raws);
    {
        SqliteMailStore store(options);
        CHECK(store.database().user_version() == static_cast<int>(mail_migrations().size()));
        const MailboxId box = store.open_mailbox("INBOX").id;
        // The migration only queued them: every body still readable as it was.
        CHECK(count(store, "SELECT count(*) FROM compress_pending") == 41);
        CHECK(count(store, "SELECT count(*) FROM body_raw") == 0);
        check_readable(store, box, raws);
        // Batches of one body: the index first (so these bodies are
        // indexed while uncompressed, and the FTS 'delete' must still get
        // their text once they are compressed), then ten compressed.
        IndexLimits one;
        one.max_bodies = 1;
        one.max_time = std::chrono::milliseconds(0);
        for (int batch = 0; batch < 200 && count(store, "SELECT count(*) FROM body_raw") < 10;
             ++batch)
            store.index_pending(one);
        CHECK(count(store, "SELECT count(*) FROM fts_pending") == 0);
        CHECK(count(store, "SELECT count(*) FROM body_raw") == 10);
        CHECK(count(store, "SELECT count(*) FROM compress_pending") == 31);
        // Half-way: both forms are read the same way.
        check_readable(store, box, raws);
    }
    {
        // Reopened (as after a crash): the rest is still queued and drains.
        SqliteMailStore store(options);
        const MailboxId box = store.open_mailbox("INBOX").id;
        CHECK(count(store, "SELECT count(*) FROM compress_pending") > 0);
        test::index_all(store);
        CHECK(count(store, "SELECT count(*) FROM compress_pending") == 0);
        CHECK(count(store, "SELECT count(*) FROM body_raw") == 41);
        CHECK(count(store, "SELECT sum(length(raw)) FROM bodies") == 0);
        check_readable(store, box, raws);
        // Every indexed body leaves the index whole when it goes.
        store.store_flags(box, test::all(), FlagOp::Add, Flags{flag::kDeleted, {}});
        store.expunge(box);
        store.collect_garbage();
        CHECK(count(store, "SELECT count(*) FROM bodies") == 0);
        CHECK(count(store, "SELECT count(*) FROM body_raw") == 0);
        CHECK(test::indexed_matching(store, "\"mar\"") == 0);
        CHECK(count(store, "SELECT count(*) FROM body_fts_header_docsize") == 0);
        CHECK(count(store, "SELECT count(*) FROM body_fts_body_docsize") == 0);
    }
}

TEST_CASE("A crash in the middle of the v7 migration's batches loses nothing",
          "[store][compression][migrate][crash]") {
    imap::test::UniqueTempDir dir("imapd-store-compression-crash");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    const std::vector<std::string> raws = migration_corpus();
    make_v6_database(options, raws);
    { SqliteMailStore store(options); }  // migrated: everything queued
    for (int round = 0; round < 5; ++round) {
        const pid_t child = fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            // Batches of one body until killed.
            SqliteMailStore store(options);
            IndexLimits one;
            one.max_bodies = 1;
            one.max_time = std::chrono::milliseconds(0);
            for (;;) {
                if (!store.index_pending(one).more) pause();
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + 7 * round));
        kill(child, SIGKILL);
        int status = 0;
        waitpid(child, &status, 0);
        SqliteMailStore store(options);
        {
            auto q = store.database().prepare("PRAGMA integrity_check");
            REQUIRE(q.step());
            CHECK(q.column_text(0) == "ok");
        }
        CHECK(count(store, "SELECT count(*) FROM body_raw") +
                  count(store, "SELECT count(*) FROM compress_pending") ==
              41);
        check_readable(store, store.open_mailbox("INBOX").id, raws);
    }
    SqliteMailStore store(options);
    test::index_all(store);
    CHECK(count(store, "SELECT count(*) FROM compress_pending") == 0);
    check_readable(store, store.open_mailbox("INBOX").id, raws);
}

// limits::kBodyLiteralsRaw: a body's frames keep their literals as they
// are (decoding Huffman-coded literals was most of a whole-message FETCH's
// CPU), while the search text frames keep Huffman coding. RFC 8878 3.1.1.
TEST_CASE("A body's frames store their literals raw, its search text stays Huffman-coded",
          "[store][compression]") {
    static_assert(limits::kBodyLiteralsRaw);
    const std::string raw = message_of_size(20000, 7);
    const std::string container = compress_body(raw);
    const std::vector<int> types = literal_block_types(first_frame(container));
    REQUIRE_FALSE(types.empty());
    for (int type : types)
        CHECK(type == 0);
    CHECK(read_container_range(container, 0, raw.size()) == raw);
    // Text of the same words: well under the raw-literal body's size, so
    // Huffman coding is on (the body's parameters did not stay set on the
    // shared context).
    const std::string text = message_of_size(20000, 8);
    const std::string frame = compress_text_with_prefix(text, {});
    REQUIRE(frame.size() > 5);
    const std::vector<int> text_types = literal_block_types(std::string_view(frame).substr(5));
    REQUIRE_FALSE(text_types.empty());
    for (int type : text_types)
        CHECK((type == 2 || type == 3));
    CHECK(decompress_prefixed_text(frame, {}) == text);
    // The plain frame (schema v7's, still written when a prefix does not
    // pay) too.
    const std::string plain = compress_text(text);
    const std::vector<int> plain_types = literal_block_types(plain);
    REQUIRE_FALSE(plain_types.empty());
    for (int type : plain_types)
        CHECK((type == 2 || type == 3));
    CHECK(decompress_text(plain) == text);
    // And a body compressed after the text is raw again.
    for (int type : literal_block_types(first_frame(compress_body(raw))))
        CHECK(type == 0);
}

// Bodies stored before limits::kBodyLiteralsRaw have Huffman-coded
// literals; they are not rewritten and must read back as they are.
TEST_CASE("A container whose literals are Huffman-coded (stored before) reads back",
          "[store][compression]") {
    const std::string raw = message_of_size(30000, 9);
    std::string frame(ZSTD_compressBound(raw.size()), '\0');
    const std::size_t written =
        ZSTD_compress(frame.data(), frame.size(), raw.data(), raw.size(), 3);
    REQUIRE_FALSE(ZSTD_isError(written));
    frame.resize(written);
    const std::vector<int> types = literal_block_types(frame);
    REQUIRE_FALSE(types.empty());
    for (int type : types)
        CHECK((type == 2 || type == 3));
    std::string container;
    for (std::uint32_t value :
         {static_cast<std::uint32_t>(raw.size()), static_cast<std::uint32_t>(kBlock),
          std::uint32_t{1}, static_cast<std::uint32_t>(frame.size())}) {
        for (int i = 0; i < 4; ++i)
            container.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    }
    container += frame;
    CHECK(read_container_range(container, 0, raw.size()) == raw);
    CHECK(read_container_range(container, 1000, 5000) == raw.substr(1000, 5000));
}
