#include "store/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "store/errors.h"

namespace imap::store {
namespace {

// A database file holds mail or password hashes: owner-only, whatever the
// umask. SQLite creates a new file 0644 less the umask, and gives its -wal
// and -shm files the database file's mode; so the file is created 0600
// here, before SQLite opens it (an empty file is an empty database).
constexpr mode_t kDatabaseFileMode = 0600;

// Makes `path` mode kDatabaseFileMode, creating it empty if `create` and
// missing. A link is left alone (O_NOFOLLOW: never chmod a link's target);
// errors are left for sqlite3_open_v2 to report in its own words.
void make_private(const std::string& path, bool create) {
    const int fd = ::open(path.c_str(),
                          O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | (create ? O_CREAT : 0),
                          kDatabaseFileMode);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) != kDatabaseFileMode) {
        ::fchmod(fd, kDatabaseFileMode);  // umask narrowed a new file, or an older imapd made it
    }
    ::close(fd);
}

bool is_file_path(const std::string& path) {
    // ":memory:", "" (a temporary database) and URI names are no plain file.
    return !path.empty() && path != ":memory:" && !path.starts_with("file:");
}

[[noreturn]] void throw_error(sqlite3* db, int code, std::string_view what) {
    std::string message(what);
    message += ": ";
    message += db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
    throw_sqlite_error(code, message);
}

void check(sqlite3* db, int code, std::string_view what) {
    if (code != SQLITE_OK) throw_error(db, code, what);
}

}  // namespace

SqliteError::SqliteError(int code, const std::string& message)
    : std::runtime_error(message), code_(code) {}

void throw_sqlite_error(int code, const std::string& message) {
    const int primary = code & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        // Another connection (another session's process: imapd deliver,
        // import) held the lock for all of busy_timeout: the caller may try
        // again, the data is fine.
        throw StoreError(StoreErrc::Busy, message);
    }
    throw SqliteError(code, message);
}

void configure_sqlite() {
    static std::once_flag once;
    std::call_once(once, [] {
        // SQLITE_MISUSE once the library is initialised (something opened a
        // connection first): then the defaults stay, which only cost time.
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    });
}

Database::Database(const OpenOptions& options) {
    configure_sqlite();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (options.create && !options.read_only) flags |= SQLITE_OPEN_CREATE;
    if (is_file_path(options.path)) {
        make_private(options.path, options.create && !options.read_only);
        // Companions an older imapd left world-readable; new ones copy the
        // database file's mode.
        for (const char* suffix : {"-wal", "-shm", "-journal"}) {
            make_private(options.path + suffix, false);
        }
    }
    int code = sqlite3_open_v2(options.path.c_str(), &db_, flags, nullptr);
    if (code != SQLITE_OK) {
        std::string message = "open " + options.path;
        sqlite3_close_v2(db_);  // a handle is returned even on failure
        db_ = nullptr;
        throw_error(nullptr, code, message);
    }
    sqlite3_extended_result_codes(db_, 1);
    check(db_, sqlite3_busy_timeout(db_, options.busy_timeout_ms), "busy_timeout");
    // WAL: readers never block the writer; an in-memory database stays in
    // its "memory" journal mode, which is fine for tests.
    exec("PRAGMA journal_mode=WAL");
    // A reader opens read-write (a WAL reader must be able to write the
    // -shm index) but may not change the database.
    if (options.read_only) exec("PRAGMA query_only=1");
    const bool deferred = options.defer_sync && !options.read_only && is_file_path(options.path);
    exec(options.full_sync && !deferred ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    exec("PRAGMA foreign_keys=ON");
    // A negative cache_size is in KiB (at least one page's worth).
    exec("PRAGMA cache_size=-" +
         std::to_string(std::max<std::size_t>(options.page_cache_bytes / 1024, 64)));
    if (deferred) {
        // synchronous=NORMAL in WAL mode: a commit appends to the log
        // without fsync, the log is synced before every checkpoint and the
        // database after it; CommitSync syncs the log for the commits.
        commit_sync_ = std::make_shared<CommitSync>(options.path);
        sqlite3_commit_hook(db_, &Database::on_commit, this);
        // CommitSync checkpoints, off this connection's thread.
        exec("PRAGMA wal_autocheckpoint=0");
        // After the PRAGMA, which installs SQLite's own hook (a null one).
        sqlite3_wal_hook(db_, &Database::on_log_written, this);
    }
}

int Database::on_log_written(void* self, sqlite3*, const char*, int frames) {
    // The log's length in use, which its file size is not: after a
    // checkpoint SQLite writes the log again from its start and the file
    // keeps its old size.
    static_cast<Database*>(self)->commit_sync_->note_log_frames(static_cast<std::uint64_t>(frames));
    return SQLITE_OK;
}

int Database::on_commit(void* self) {
    static_cast<Database*>(self)->uncounted_commit_ = true;
    return 0;  // go on with the commit
}

std::uint64_t Database::commit_serial() {
    if (!commit_sync_) return 0;
    if (uncounted_commit_) {
        uncounted_commit_ = false;
        commit_sync_->count_commit();
    }
    return commit_sync_->committed();
}

Database::~Database() {
    statements_.clear();  // finalize before close
    sqlite3_close_v2(db_);
}

void Database::exec(std::string_view sql) {
    std::string text(sql);
    char* error = nullptr;
    int code = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
    if (code != SQLITE_OK) {
        std::string message = error ? error : sqlite3_errstr(code);
        sqlite3_free(error);
        throw_sqlite_error(code, "exec: " + message);
    }
}

Query Database::prepare(std::string_view sql) {
    open_read_batch();
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
        it = statements_.emplace(std::string(sql), std::make_unique<Statement>(db_, sql)).first;
    }
    return Query(*it->second);
}

void Database::open_read_batch() {
    // Autocommit: no transaction is open (a write Transaction or a
    // ReadSnapshot outside the batch would be one).
    if (read_batch_depth_ == 0 || sqlite3_get_autocommit(db_) == 0) return;
    exec("BEGIN");
    read_batch_open_ = true;
}

void Database::close_read_batch() noexcept {
    if (!read_batch_open_) return;
    read_batch_open_ = false;
    if (sqlite3_get_autocommit(db_) != 0) return;
    // COMMIT, not ROLLBACK: it wrote nothing, and a statement still being
    // stepped goes on (a rollback would abort it).
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Database::end_read_batch() noexcept {
    if (read_batch_depth_ > 0 && --read_batch_depth_ == 0) close_read_batch();
}

std::int64_t Database::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(db_);
}

int Database::changes() const {
    return sqlite3_changes(db_);
}

int Database::user_version() {
    Query statement = prepare("PRAGMA user_version");
    statement.step();
    return static_cast<int>(statement.column_int(0));
}

void Database::migrate(std::span<const std::function<void(Database&)>> migrations) {
    const int target = static_cast<int>(migrations.size());
    int version = user_version();
    if (version > target) {
        throw SqliteError(SQLITE_ERROR, "database schema version " + std::to_string(version) +
                                            " is newer than this imapd supports (" +
                                            std::to_string(target) + ")");
    }
    for (; version < target; ++version) {
        Transaction transaction(*this);
        migrations[static_cast<std::size_t>(version)](*this);
        // PRAGMA takes no bound parameters; the value is our own integer.
        exec("PRAGMA user_version=" + std::to_string(version + 1));
        transaction.commit();
    }
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
    check(db_,
          sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                             SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr),
          "prepare " + std::string(sql.substr(0, 60)));
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
    check(db_, sqlite3_bind_int64(stmt_, index, value), "bind");
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    check(
        db_,
        sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
        "bind");
    return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::byte> blob) {
    check(db_, sqlite3_bind_blob64(stmt_, index, blob.data(), blob.size(), SQLITE_TRANSIENT),
          "bind");
    return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
    return bind_blob(index, std::as_bytes(std::span(bytes.data(), bytes.size())));
}

Statement& Statement::bind_null(int index) {
    check(db_, sqlite3_bind_null(stmt_, index), "bind");
    return *this;
}

Statement& Statement::bind_pointer(int index, void* pointer, const char* type) {
    check(db_, sqlite3_bind_pointer(stmt_, index, pointer, type, nullptr), "bind");
    return *this;
}

bool Statement::step() {
    int code = sqlite3_step(stmt_);
    if (code == SQLITE_ROW) return true;
    if (code == SQLITE_DONE) return false;
    throw_error(db_, code, "step");
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() {
    // sqlite3_reset repeats the last step's error; that error was already
    // reported by step(), so it is not thrown again here.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int(int index) const {
    return sqlite3_column_int64(stmt_, index);
}

std::string Statement::column_text(int index) const {
    const auto* text = sqlite3_column_text(stmt_, index);
    int size = sqlite3_column_bytes(stmt_, index);
    return text ? std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size))
                : std::string();
}

std::string_view Statement::column_blob(int index) const {
    const void* bytes = sqlite3_column_blob(stmt_, index);
    const int size = sqlite3_column_bytes(stmt_, index);
    return bytes ? std::string_view(static_cast<const char*>(bytes), static_cast<std::size_t>(size))
                 : std::string_view();
}

bool Statement::column_is_null(int index) const {
    return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

int Statement::column_bytes(int index) const {
    return sqlite3_column_bytes(stmt_, index);
}

Query::~Query() {
    if (statement_) statement_->reset();
}

Query& Query::bind(int index, std::int64_t value) {
    statement_->bind(index, value);
    return *this;
}

Query& Query::bind(int index, std::string_view text) {
    statement_->bind(index, text);
    return *this;
}

Query& Query::bind_blob(int index, std::string_view bytes) {
    statement_->bind_blob(index, bytes);
    return *this;
}

Query& Query::bind_null(int index) {
    statement_->bind_null(index);
    return *this;
}

bool Query::step() {
    return statement_->step();
}
void Query::run() {
    statement_->run();
}
std::int64_t Query::column_int(int index) const {
    return statement_->column_int(index);
}
std::string Query::column_text(int index) const {
    return statement_->column_text(index);
}
std::string_view Query::column_blob(int index) const {
    return statement_->column_blob(index);
}
bool Query::column_is_null(int index) const {
    return statement_->column_is_null(index);
}
int Query::column_bytes(int index) const {
    return statement_->column_bytes(index);
}

Transaction::Transaction(Database& db) : db_(db) {
    db_.close_read_batch();  // a read batch's snapshot cannot become a write
    db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
    if (done_) return;
    // Never throws: a failed rollback leaves SQLite to roll back on close.
    sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

}  // namespace imap::store
