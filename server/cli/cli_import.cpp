// `imapd import NAME mbox|maildir PATH`: moves existing mail into a user's
// mail database: an mbox file (mboxrd / mboxo), a directory of mbox files,
// or a Maildir with its Maildir++ subfolders (docs/cli.md has the rules).
// Messages are streamed and appended in batches, so a multi-gigabyte mbox
// needs no more memory than one batch.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "protocol/datetime.h"
#include "protocol/mailbox_name.h"
#include "server/cli/cli.h"
#include "server/cli/cli_common.h"
#include "server/cli/import_progress.h"
#include "store/data_dir.h"
#include "store/errors.h"
#include "store/limits.h"
#include "store/mail_store.h"
#include "store/mailbox_names.h"
#include "store/sqlite.h"

namespace imap::server {
namespace {

namespace fs = std::filesystem;

// One batch (one transaction) takes at most this many messages or bytes.
// Few enough that a batch of large messages, held with its prepared
// (compressed) form, stays small beside the batches in flight
// (kBatchesInFlight); many enough that a commit's fsync is spread over
// 200 messages.
constexpr std::size_t kBatchMessages = 200;
constexpr std::size_t kBatchBytes = 8 * 1024 * 1024;

struct ImportArgs {
    std::vector<std::string_view> positional;  // NAME FORMAT PATH
    cli::DataDirFlags data_dir;
    std::optional<std::string> mailbox;
    bool index = false;  // --index: build the search index before exiting
};

ImportArgs parse_import_args(std::span<const std::string_view> args) {
    ImportArgs parsed;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (parsed.data_dir.parse(args, i)) continue;
        if (arg == "--index") {
            parsed.index = true;
        } else if (auto m = cli::flag_value(args, i, "--mailbox")) {
            parsed.mailbox = std::string(*m);
        } else if (arg.starts_with("-") && arg.size() > 1) {
            throw ConfigError("unknown option " + std::string(arg));
        } else {
            parsed.positional.push_back(arg);
        }
    }
    if (parsed.positional.size() != 3) throw ConfigError("expected NAME mbox|maildir PATH");
    const std::string_view format = parsed.positional[1];
    if (format != "mbox" && format != "maildir") {
        throw ConfigError("unknown format " + std::string(format) + " (mbox or maildir)");
    }
    return parsed;
}

std::int64_t now_seconds() {
    return static_cast<std::int64_t>(
        std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
}

// The local zone's offset east of UTC at `t`, in minutes.
int local_zone_minutes(std::int64_t t) {
    const auto time = static_cast<std::time_t>(t);
    struct tm local {};
    if (localtime_r(&time, &local) == nullptr) return 0;
    return static_cast<int>(local.tm_gmtoff / 60);
}

// The first problem's exit code is the command's.
struct ExitCode {
    int code = kExitOk;
    void note(int problem) {
        if (code == kExitOk) code = problem;
    }
};

// ---- Files, never through a symbolic link -----------------------------------
//
// An import reads a tree its owner may control: a user's uploaded Maildir or
// mbox folder. A symbolic link in it could name any file imapd can read
// (`cur/1:2,S -> /root/secret`, the CVE-2021-40525 path traversal class) or
// loop (`loop -> .`). So nothing below PATH is reached through a link: every
// entry is looked at with lstat semantics and opened relative to its
// parent's descriptor with O_NOFOLLOW, so a link swapped in between the look
// and the open is refused by the kernel too. Only regular files and
// directories are read; O_NONBLOCK keeps a FIFO from blocking the open.

// Directory levels below PATH an mbox tree may have: each level is a
// mailbox level, and a name cannot have more (a deeper file could not be
// imported anyway). Bounds the recursion and the descriptors open at once.
constexpr std::size_t kMaxTreeDepth = store::limits::kMaxMailboxDepth;

// An open file descriptor, closed once.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }

  private:
    int fd_ = -1;
};

enum class EntryType { Missing, Link, Directory, File, Other };

// What `name` in the directory `parent` is, the link itself for a link.
EntryType entry_type(int parent, const char* name) {
    struct stat st {};
    if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return EntryType::Missing;
    if (S_ISLNK(st.st_mode)) return EntryType::Link;
    if (S_ISDIR(st.st_mode)) return EntryType::Directory;
    if (S_ISREG(st.st_mode)) return EntryType::File;
    return EntryType::Other;
}

// Opens `name` below `parent` (AT_FDCWD: a path from the command line) as a
// directory or a regular file, never through a link in its last component.
// When it cannot, an invalid Fd and `error` says why: ELOOP for a link,
// EINVAL for a file that is not a regular file, else open(2)'s errno.
Fd open_entry(int parent, const char* name, EntryType want, int& error) {
    int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    if (want == EntryType::Directory) flags |= O_DIRECTORY;
    Fd fd(::openat(parent, name, flags));
    error = fd ? 0 : errno;
    struct stat st {};
    if (fd && ::fstat(fd.get(), &st) != 0) error = errno;
    if (fd && error == 0 && want == EntryType::File && !S_ISREG(st.st_mode)) error = EINVAL;
    return error == 0 ? std::move(fd) : Fd();
}

// The names in an open directory but "." and "..", sorted.
std::vector<std::string> directory_names(int dir, const fs::path& display) {
    const int copy = ::dup(dir);  // closedir() closes the descriptor it was given
    DIR* stream = copy >= 0 ? ::fdopendir(copy) : nullptr;
    if (stream == nullptr) {
        const int error = errno;
        if (copy >= 0) ::close(copy);
        throw fs::filesystem_error("cannot read directory", display,
                                   std::error_code(error, std::generic_category()));
    }
    std::unique_ptr<DIR, int (*)(DIR*)> guard(stream, ::closedir);
    ::rewinddir(stream);
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(stream)) {
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
        errno = 0;
    }
    if (errno != 0) {
        throw fs::filesystem_error("cannot read directory", display,
                                   std::error_code(errno, std::generic_category()));
    }
    std::sort(names.begin(), names.end());
    return names;
}

void warn_link(const fs::path& display, std::ostream& err, ExitCode& exit) {
    err << "imapd import: skipped " << display.string() << ": a symbolic link (not followed)\n";
    exit.note(kExitDataErr);
}

// A subdirectory to descend into, or an invalid Fd (a warning given for a
// link) when it is none.
Fd open_subdirectory(int parent, const std::string& name, const fs::path& display,
                     std::ostream& err, ExitCode& exit) {
    int error = 0;
    Fd dir = open_entry(parent, name.c_str(), EntryType::Directory, error);
    if (dir || error == ENOENT || error == ENOTDIR) return dir;
    if (error == ELOOP) {
        warn_link(display, err, exit);
        return dir;
    }
    throw fs::filesystem_error("cannot open directory", display,
                               std::error_code(error, std::generic_category()));
}

// Appends an open file's bytes to `out` until its end; false on a read
// error. Stops early, with `too_big` set, once `out` holds more than `limit`
// bytes, so an oversized file is never read whole.
bool read_file(int fd, std::string& out, std::size_t limit, bool& too_big) {
    too_big = false;
    char buffer[64 * 1024];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (n == 0) return true;
        out.append(buffer, static_cast<std::size_t>(n));
        if (out.size() > limit) {
            too_big = true;
            return true;
        }
    }
}

// Preparing a batch (parsing, hashing, compression:
// MailStore::prepare_append) costs more than writing it and needs no
// database, so up to kMaxPrepareThreads threads (no more than the machine
// has cores) prepare the next batches while the importing thread reads the
// input and writes the prepared batches, one transaction each, in the
// order they were read: UIDs follow the input's order. At most
// kBatchesInFlight batches are handed over at once (being prepared or
// prepared, not yet written), beside the one being read, which bounds the
// memory to about (kBatchesInFlight + 1) * kBatchBytes and the prepared
// forms, whatever the size of the input. Three keep two threads busy
// while the oldest is written.
constexpr std::size_t kMaxPrepareThreads = 4;
constexpr std::size_t kBatchesInFlight = 3;

// --index: bodies per index transaction, and the time one may take. Larger
// than the server's batches (store::limits::kIndexBatchBodies), which must
// leave the user's commands their turn; no command waits on an import.
constexpr std::size_t kImportIndexBatch = 1000;
constexpr std::chrono::milliseconds kImportIndexBatchTime{2000};

// Runs jobs on a few threads. Jobs not started when it is destroyed are
// dropped (a std::packaged_task's future then reports a broken promise);
// jobs running are waited for.
class PreparePool {
  public:
    explicit PreparePool(std::size_t threads) {
        for (std::size_t i = 0; i < threads; ++i)
            threads_.emplace_back([this] { run(); });
    }
    ~PreparePool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        for (std::thread& thread : threads_)
            thread.join();
    }
    PreparePool(const PreparePool&) = delete;
    PreparePool& operator=(const PreparePool&) = delete;

    void post(std::packaged_task<store::PreparedAppend()> job) {
        {
            std::lock_guard lock(mutex_);
            jobs_.push_back(std::move(job));
        }
        wake_.notify_one();
    }

  private:
    void run() {
        for (;;) {
            std::packaged_task<store::PreparedAppend()> job;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
                if (stopping_) return;
                job = std::move(jobs_.front());
                jobs_.pop_front();
            }
            job();  // an exception goes to the job's future
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::packaged_task<store::PreparedAppend()>> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

std::size_t prepare_threads() {
    const std::size_t cores = std::thread::hardware_concurrency();
    return std::clamp<std::size_t>(cores, 1, kMaxPrepareThreads);
}

// Collects messages for one mailbox at a time and appends them in batches.
class Importer {
  public:
    Importer(store::MailStore& mail, std::ostream& out, std::ostream& err, ExitCode& exit,
             cli::ProgressLine* progress_line = nullptr)
        : mail_(mail),
          out_(out),
          err_(err),
          exit_(exit),
          progress_line_(progress_line),
          started_(std::chrono::steady_clock::now()),
          pool_(prepare_threads()) {}

    // Opens `name` for the following add() calls, creating it (and any
    // missing superiors) if needed. False, with a warning, when the name
    // cannot be a mailbox.
    bool begin(const std::string& name) {
        name_ = name;
        count_ = 0;
        try {
            const std::string canonical = store::canonical_mailbox_name(name);
            std::optional<store::MailboxInfo> found = mail_.find_mailbox(canonical);
            mailbox_ = found && found->selectable ? found->id : mail_.create_mailbox(canonical).id;
            name_ = canonical;
        } catch (const store::StoreError& e) {
            if (e.code() != store::StoreErrc::InvalidName &&
                e.code() != store::StoreErrc::OverLimit) {
                throw;
            }
            message_line() << "imapd import: cannot create mailbox \"" << name << "\": " << e.what()
                           << "\n";
            exit_.note(kExitCantCreate);
            return false;
        }
        open_ = true;
        return true;
    }

    void add(std::string message, std::int64_t internal_date, int zone_minutes,
             store::Flags flags) {
        if (!filling_) filling_ = std::make_unique<Batch>();
        filling_->bytes += message.size();
        filling_->messages.push_back(
            {std::move(message), internal_date, zone_minutes, std::move(flags)});
        if (filling_->messages.size() >= kBatchMessages || filling_->bytes >= kBatchBytes) {
            submit();
        }
        show_progress();
    }

    // `bytes` more of the input have been read (for the progress line).
    void read_input(std::uint64_t bytes) { bytes_read_ += bytes; }
    // The input's total size, for the progress line's percentage.
    void set_input_size(std::uint64_t bytes) { total_bytes_ = bytes; }

    // A message that is not imported: named `what`, for the warning.
    void skip(const std::string& what, const std::string& reason) {
        message_line() << "imapd import: skipped " << what << ": " << reason << "\n";
        exit_.note(kExitDataErr);
    }

    // Writes every batch and prints the mailbox's summary line.
    void end() {
        if (!open_) return;
        submit();
        while (!in_flight_.empty())
            write_oldest();
        open_ = false;
        message_line(out_) << "imapd: imported " << cli::count_messages(count_) << " into " << name_
                           << "\n";
    }

    // For the message of a fatal error: what was written (committed).
    std::string progress() const {
        if (!open_) return "";
        return " (after " + cli::count_messages(count_) + " into " + name_ + ")";
    }

    // The progress line's last words: erased, so the summary stands alone.
    void finish_progress() {
        if (progress_line_ != nullptr) progress_line_->clear();
    }

  private:
    struct Pending {
        std::string message;
        std::int64_t internal_date;
        int zone_minutes;
        store::Flags flags;
    };
    // Never moved once submitted: its requests and prepared bodies view
    // the messages' bytes (a short std::string keeps them inline).
    struct Batch {
        std::vector<Pending> messages;
        std::size_t bytes = 0;
        std::vector<store::AppendRequest> requests;
        std::future<store::PreparedAppend> prepared;
    };

    // Hands the batch being filled to the pool; writes the oldest batch
    // first when kBatchesInFlight are held.
    void submit() {
        if (!filling_ || filling_->messages.empty()) return;
        if (in_flight_.size() >= kBatchesInFlight) write_oldest();
        std::unique_ptr<Batch> batch = std::move(filling_);
        batch->requests.reserve(batch->messages.size());
        for (const Pending& p : batch->messages) {
            batch->requests.push_back({p.message, p.internal_date, p.zone_minutes, p.flags});
        }
        const store::MailStore& mail = mail_;
        const std::span<const store::AppendRequest> requests = batch->requests;
        std::packaged_task<store::PreparedAppend()> job(
            [&mail, requests] { return mail.prepare_append(requests); });
        batch->prepared = job.get_future();
        in_flight_.push_back(std::move(batch));
        pool_.post(std::move(job));
    }

    // Waits for the oldest batch's preparation (rethrowing its error) and
    // writes it in one transaction.
    void write_oldest() {
        Batch& batch = *in_flight_.front();
        {
            const store::PreparedAppend prepared = batch.prepared.get();
            mail_.append_prepared(mailbox_, prepared);
        }
        count_ += batch.messages.size();
        total_ += batch.messages.size();
        in_flight_.pop_front();
        show_progress();
    }

    void show_progress() {
        if (progress_line_ == nullptr) return;
        const auto now = std::chrono::steady_clock::now();
        progress_line_->update({total_, bytes_read_, total_bytes_, now - started_}, now);
    }

    // A stream to write a whole line to, the progress line erased first
    // (it is drawn again at the next update).
    std::ostream& message_line(std::ostream& stream) {
        finish_progress();
        return stream;
    }
    std::ostream& message_line() { return message_line(err_); }

    store::MailStore& mail_;
    std::ostream& out_;
    std::ostream& err_;
    ExitCode& exit_;
    cli::ProgressLine* progress_line_;
    std::chrono::steady_clock::time_point started_;
    std::string name_;
    store::MailboxId mailbox_ = 0;
    bool open_ = false;
    std::size_t count_ = 0;  // written into this mailbox
    std::size_t total_ = 0;  // written by this import
    std::uint64_t bytes_read_ = 0;
    std::uint64_t total_bytes_ = 0;
    std::unique_ptr<Batch> filling_;
    std::deque<std::unique_ptr<Batch>> in_flight_;
    // Last, so it is destroyed first: its threads stop before the batches
    // they read are freed.
    PreparePool pool_;
};

// ---- mbox -------------------------------------------------------------------

// Reads lines (LF included) from a stream through a fixed buffer; a line
// longer than the buffer comes in several pieces, only the first with
// `line_start` set. So a file with no line end at all is still read in
// bounded memory.
class LineReader {
  public:
    explicit LineReader(int fd) : fd_(fd), buffer_(kSize) {}

    bool next(std::string_view& piece, bool& line_start) {
        line_start = at_line_start_;
        char* base = buffer_.data();
        for (;;) {
            const void* lf = std::memchr(base + begin_, '\n', end_ - begin_);
            if (lf != nullptr) {
                const auto stop = static_cast<std::size_t>(static_cast<const char*>(lf) - base) + 1;
                piece = std::string_view(base + begin_, stop - begin_);
                begin_ = stop;
                at_line_start_ = true;
                return true;
            }
            if (eof_) {
                if (begin_ == end_) return false;
                piece = std::string_view(base + begin_, end_ - begin_);
                begin_ = end_;
                return true;
            }
            if (begin_ > 0) {
                std::memmove(base, base + begin_, end_ - begin_);
                end_ -= begin_;
                begin_ = 0;
            }
            if (end_ == buffer_.size()) {  // a line longer than the buffer
                piece = std::string_view(base, end_);
                begin_ = end_;
                at_line_start_ = false;
                return true;
            }
            const ssize_t n = ::read(fd_, base + end_, buffer_.size() - end_);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                eof_ = true;
                failed_ = n < 0;
            } else {
                end_ += static_cast<std::size_t>(n);
            }
        }
    }

    bool failed() const { return failed_; }

  private:
    static constexpr std::size_t kSize = 1024 * 1024;
    int fd_;
    bool failed_ = false;
    std::vector<char> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    bool eof_ = false;
    bool at_line_start_ = true;
};

bool iequals_prefix(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

std::vector<std::string_view> split_words(std::string_view s, std::string_view separators) {
    std::vector<std::string_view> words;
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t start = s.find_first_not_of(separators, i);
        if (start == std::string_view::npos) break;
        std::size_t stop = s.find_first_of(separators, start);
        if (stop == std::string_view::npos) stop = s.size();
        words.push_back(s.substr(start, stop - start));
        i = stop;
    }
    return words;
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct FromDate {
    std::int64_t unix_seconds = 0;
    int zone_minutes = 0;
};

// The date of a From_ line, "From SENDER Www Mmm dd hh:mm[:ss] [ZONE] yyyy
// [ZONE]" (ctime(3) format, as mbox writers put it). A numeric zone
// (+hhmm/-hhmm) is applied; without one the time is taken as UTC.
std::optional<FromDate> parse_from_date(std::string_view line) {
    static constexpr std::array<std::string_view, 7> kDays = {"mon", "tue", "wed", "thu",
                                                              "fri", "sat", "sun"};
    const std::vector<std::string_view> words = split_words(trim(line.substr(5)), " \t");
    for (std::size_t j = 0; j + 4 < words.size(); ++j) {
        if (words[j].size() != 3 ||
            std::none_of(kDays.begin(), kDays.end(),
                         [&](std::string_view d) { return iequals_prefix(words[j], d); })) {
            continue;
        }
        const std::string_view month = words[j + 1];
        const std::string_view day = words[j + 2];
        const std::string_view time = words[j + 3];
        if (month.size() != 3 || !all_digits(day) || day.size() > 2) continue;
        std::optional<int> year;
        int zone = 0;
        for (std::size_t k = j + 4; k < words.size() && k < j + 7; ++k) {
            const std::string_view w = words[k];
            if (all_digits(w) && w.size() == 4 && !year) {
                year = std::stoi(std::string(w));
            } else if (w.size() == 5 && (w[0] == '+' || w[0] == '-') && all_digits(w.substr(1))) {
                const int hhmm = std::stoi(std::string(w.substr(1)));
                if (hhmm % 100 > 59) return std::nullopt;
                zone = (w[0] == '-' ? -1 : 1) * (hhmm / 100 * 60 + hhmm % 100);
            }
        }
        if (!year) return std::nullopt;
        const std::optional<Date> date =
            parse_date(std::string(day) + "-" + std::string(month) + "-" + std::to_string(*year));
        if (!date) return std::nullopt;
        // hh:mm or hh:mm:ss
        const std::vector<std::string_view> parts = split_words(time, ":");
        if ((parts.size() != 2 && parts.size() != 3) || time.front() == ':' || time.back() == ':') {
            return std::nullopt;
        }
        int fields[3] = {0, 0, 0};
        for (std::size_t p = 0; p < parts.size(); ++p) {
            if (parts[p].size() != 2 || !all_digits(parts[p])) return std::nullopt;
            fields[p] = std::stoi(std::string(parts[p]));
        }
        if (fields[0] > 23 || fields[1] > 59 || fields[2] > 60) return std::nullopt;
        DateTime date_time;
        date_time.date = *date;
        date_time.hour = fields[0];
        date_time.minute = fields[1];
        date_time.second = fields[2];
        date_time.zone_minutes = zone;
        return FromDate{date_time.to_unix(), zone};
    }
    return std::nullopt;
}

// Status: and X-Status: letters (mutt, Thunderbird, Dovecot's mbox format):
// R seen, A answered, F flagged, D deleted, T draft; O (old) means nothing
// to IMAP. Either header may carry any of them.
void add_status_flags(std::string_view value, store::Flags& flags) {
    for (char c : value) {
        switch (c) {
            case 'R':
                flags.system |= store::flag::kSeen;
                break;
            case 'A':
                flags.system |= store::flag::kAnswered;
                break;
            case 'F':
                flags.system |= store::flag::kFlagged;
                break;
            case 'D':
                flags.system |= store::flag::kDeleted;
                break;
            case 'T':
                flags.system |= store::flag::kDraft;
                break;
            default:
                break;
        }
    }
}

// One mbox message being read.
struct MboxMessage {
    std::string bytes;
    char previous = '\0';
    bool in_header = true;
    bool too_big = false;
    FromDate date;
    store::Flags flags;
};

bool is_blank_line(std::string_view line) {
    return line == "\n" || line == "\r\n";
}

// ">From ", ">>From " ...: mboxrd's escape of a body line starting "From ".
bool is_escaped_from(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] == '>')
        ++i;
    return i > 0 && line.substr(i).starts_with("From ");
}

// Imports one open mbox file into `mailbox`. Returns false (nothing
// imported, the mailbox not created) when it is not an mbox.
bool import_mbox_stream(int fd, const std::string& display, const std::string& mailbox,
                        Importer& importer) {
    LineReader lines(fd);
    std::string_view piece;
    bool line_start = true;
    // Blank lines before the first From_ line are tolerated.
    bool have_piece = false;
    while (lines.next(piece, line_start)) {
        importer.read_input(piece.size());
        if (line_start && is_blank_line(piece)) continue;
        have_piece = true;
        break;
    }
    if (have_piece && !(line_start && piece.starts_with("From "))) return false;
    if (!importer.begin(mailbox)) return true;

    std::optional<MboxMessage> current;
    std::size_t index = 0;
    bool in_from_line = false;  // the rest of a From_ line longer than the reader's buffer
    auto finish = [&] {
        if (!current) return;
        ++index;
        if (current->too_big) {
            importer.skip(
                "message " + std::to_string(index) + " of " + display,
                "larger than " + std::to_string(store::limits::kMaxMessageSize) + " bytes");
        } else if (current->bytes.empty() || current->bytes == "\r\n") {
            importer.skip("message " + std::to_string(index) + " of " + display, "empty");
        } else {
            // The writer's separator: the blank line before the next From_ line.
            if (current->bytes.ends_with("\r\n\r\n"))
                current->bytes.resize(current->bytes.size() - 2);
            importer.add(std::move(current->bytes), current->date.unix_seconds,
                         current->date.zone_minutes, std::move(current->flags));
        }
        current.reset();
    };
    while (have_piece) {
        if (!line_start && in_from_line) {
            // still the envelope line
        } else if (line_start && piece.starts_with("From ")) {
            in_from_line = !piece.ends_with('\n');
            finish();
            current.emplace();
            if (std::optional<FromDate> date = parse_from_date(piece)) {
                current->date = *date;
            } else {
                current->date.unix_seconds = now_seconds();
                current->date.zone_minutes = local_zone_minutes(current->date.unix_seconds);
            }
        } else {
            in_from_line = false;
            std::string_view data = piece;
            if (line_start && is_escaped_from(data)) data.remove_prefix(1);
            if (line_start && current->in_header) {
                if (is_blank_line(data)) {
                    current->in_header = false;
                } else if (iequals_prefix(data, "status:")) {
                    add_status_flags(trim(data.substr(7)), current->flags);
                } else if (iequals_prefix(data, "x-status:")) {
                    add_status_flags(trim(data.substr(9)), current->flags);
                } else if (iequals_prefix(data, "x-keywords:")) {
                    for (std::string_view word : split_words(trim(data.substr(11)), " \t,")) {
                        if (cli::is_valid_keyword(word)) cli::add_flag(current->flags, word);
                    }
                }
            }
            if (!current->too_big) {
                cli::append_crlf(current->bytes, data, current->previous);
                // +2: the separator's CRLF, removed at the end.
                if (current->bytes.size() > store::limits::kMaxMessageSize + 2) {
                    current->too_big = true;
                    std::string().swap(current->bytes);
                }
            }
        }
        have_piece = lines.next(piece, line_start);
        if (have_piece) importer.read_input(piece.size());
    }
    if (lines.failed()) {
        throw fs::filesystem_error("cannot read", fs::path(display),
                                   std::make_error_code(std::errc::io_error));
    }
    finish();
    importer.end();
    return true;
}

// The mbox file `name` in the directory `parent` (AT_FDCWD: PATH itself).
void import_mbox_file(int parent, const std::string& name, const fs::path& display,
                      const std::string& mailbox, Importer& importer, ExitCode& exit,
                      std::ostream& err) {
    int error = 0;
    const Fd file = open_entry(parent, name.c_str(), EntryType::File, error);
    if (!file) {
        if (error == ELOOP) return warn_link(display, err, exit);
        err << "imapd import: cannot open " << display.string() << "\n";
        exit.note(kExitNoInput);
        return;
    }
    if (!import_mbox_stream(file.get(), display.string(), mailbox, importer)) {
        err << "imapd import: " << display.string() << " is not an mbox file (no \"From \" line)\n";
        exit.note(kExitDataErr);
    }
}

std::string join_mailbox(const std::string& parent, const std::string& child) {
    return parent.empty() ? child : parent + "/" + child;
}

std::size_t mailbox_levels(const std::string& name) {
    return name.empty() ? 0
                        : 1 + static_cast<std::size_t>(std::count(name.begin(), name.end(), '/'));
}

// A directory of mbox files: each file is a mailbox named by its path below
// the directory, subdirectories (Thunderbird's "Name.sbd" too) are levels.
void import_mbox_directory(int dir, const fs::path& display, const std::string& prefix,
                           Importer& importer, ExitCode& exit, std::ostream& err) {
    for (const std::string& entry : directory_names(dir, display)) {
        std::string name = entry;
        if (name.starts_with(".") || name.ends_with(".msf")) continue;
        const fs::path path = display / entry;
        switch (entry_type(dir, entry.c_str())) {
            case EntryType::Link:
                warn_link(path, err, exit);
                break;
            case EntryType::Directory: {
                if (name.ends_with(".sbd") && name.size() > 4) name.resize(name.size() - 4);
                const std::string child = join_mailbox(prefix, name);
                // Every file below would have more levels than a name may.
                if (mailbox_levels(child) >= kMaxTreeDepth) {
                    err << "imapd import: skipped " << path.string() << ": deeper than "
                        << kMaxTreeDepth << " mailbox levels\n";
                    exit.note(kExitDataErr);
                    break;
                }
                const Fd sub = open_subdirectory(dir, entry, path, err, exit);
                if (sub) import_mbox_directory(sub.get(), path, child, importer, exit, err);
                break;
            }
            case EntryType::File:
                import_mbox_file(dir, entry, path, join_mailbox(prefix, name), importer, exit, err);
                break;
            case EntryType::Missing:  // gone since the listing
            case EntryType::Other:    // FIFOs, sockets, devices: no mail
                break;
        }
    }
}

// ---- Maildir ----------------------------------------------------------------

// A Maildir has cur/ or new/. A link by that name counts too, so that a
// folder whose cur/ is a link is reported rather than passed over.
bool is_maildir(int dir) {
    for (const char* sub : {"cur", "new"}) {
        const EntryType type = entry_type(dir, sub);
        if (type == EntryType::Directory || type == EntryType::Link) return true;
    }
    return false;
}

// dovecot-keywords names at most 26 keywords ('a' to 'z') of at most
// store::limits::kMaxKeywordBytes: a few KiB. A larger file is no keywords
// file, and is not read into memory.
constexpr std::size_t kMaxKeywordsFileBytes = 64 * 1024;

// Maildir++ ".Sub.Folder" -> "Sub/Folder", each level decoded from modified
// UTF-7 (how Dovecot and Courier spell non-ASCII names); a level that is
// not valid modified UTF-7 is taken as it is.
std::string maildirpp_mailbox(std::string_view folder) {
    std::string name;
    std::size_t start = 0;
    for (;;) {
        const std::size_t dot = folder.find('.', start);
        const std::string_view level = folder.substr(start, dot - start);
        if (start > 0) name += store::kHierarchyDelimiter;
        std::optional<std::string> decoded = mutf7_decode(level);
        name += decoded ? *decoded : std::string(level);
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return name;
}

// dovecot-keywords: "N name" lines; keyword N is the letter 'a' + N.
std::map<char, std::string> read_dovecot_keywords(int folder, const fs::path& display,
                                                  std::ostream& err, ExitCode& exit) {
    std::map<char, std::string> keywords;
    const fs::path path = display / "dovecot-keywords";
    switch (entry_type(folder, "dovecot-keywords")) {
        case EntryType::Link:
            warn_link(path, err, exit);
            return keywords;
        case EntryType::File:
            break;
        default:
            return keywords;
    }
    int error = 0;
    const Fd file = open_entry(folder, "dovecot-keywords", EntryType::File, error);
    std::string text;
    bool too_big = false;
    if (!file || !read_file(file.get(), text, kMaxKeywordsFileBytes, too_big) || too_big) {
        if (error == ELOOP) {
            warn_link(path, err, exit);
        } else {
            err << "imapd import: skipped " << path.string()
                << (too_big ? ": larger than " + std::to_string(kMaxKeywordsFileBytes) + " bytes"
                            : ": cannot read")
                << "\n";
            exit.note(kExitDataErr);
        }
        return keywords;
    }
    for (std::string_view line : split_words(text, "\n")) {
        const std::vector<std::string_view> words = split_words(line, " \t\r");
        if (words.size() != 2 || !all_digits(words[0]) || words[0].size() > 2) continue;
        const int n = std::stoi(std::string(words[0]));
        if (n < 26 && cli::is_valid_keyword(words[1])) {
            keywords[static_cast<char>('a' + n)] = std::string(words[1]);
        }
    }
    return keywords;
}

struct MaildirMessage {
    fs::path path;
    std::string file_name;
    bool is_new = false;
    std::int64_t mtime = 0;
    std::uint64_t size = 0;
};

store::Flags maildir_flags(const MaildirMessage& message,
                           const std::map<char, std::string>& keywords) {
    store::Flags flags;
    const std::size_t info = message.file_name.rfind(":2,");
    if (info == std::string::npos) return flags;
    for (char c : std::string_view(message.file_name).substr(info + 3)) {
        switch (c) {
            case 'S':
                flags.system |= store::flag::kSeen;
                break;
            case 'R':
                flags.system |= store::flag::kAnswered;
                break;
            case 'F':
                flags.system |= store::flag::kFlagged;
                break;
            case 'T':
                flags.system |= store::flag::kDeleted;
                break;
            case 'D':
                flags.system |= store::flag::kDraft;
                break;
            default:
                if (auto it = keywords.find(c); it != keywords.end()) {
                    cli::add_flag(flags, it->second);
                }
                break;
        }
    }
    // new/ holds mail no client has seen yet.
    if (message.is_new) flags.system &= ~store::flag::kSeen;
    return flags;
}

// The messages of one Maildir folder (its cur/ and new/), `folder` open.
void import_maildir_folder(int folder, const fs::path& display, const std::string& mailbox,
                           Importer& importer, std::ostream& err, ExitCode& exit) {
    std::vector<MaildirMessage> messages;
    std::array<Fd, 2> subs;  // cur/, new/: open until their messages are read
    static constexpr std::array<const char*, 2> kSubs = {"cur", "new"};
    for (std::size_t i = 0; i < kSubs.size(); ++i) {
        const fs::path sub_display = display / kSubs[i];
        if (entry_type(folder, kSubs[i]) == EntryType::Link) {
            warn_link(sub_display, err, exit);
            continue;
        }
        subs[i] = open_subdirectory(folder, kSubs[i], sub_display, err, exit);
        if (!subs[i]) continue;
        for (std::string& name : directory_names(subs[i].get(), sub_display)) {
            if (name.starts_with(".")) continue;
            struct stat st {};
            if (::fstatat(subs[i].get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
            if (S_ISLNK(st.st_mode)) {
                warn_link(sub_display / name, err, exit);
                continue;
            }
            if (!S_ISREG(st.st_mode)) continue;
            messages.push_back({sub_display / name, std::move(name), i == 1,
                                static_cast<std::int64_t>(st.st_mtime),
                                static_cast<std::uint64_t>(st.st_size)});
        }
    }
    // Delivery order: by mtime, then by the unique name (which starts with
    // the delivery time).
    std::sort(messages.begin(), messages.end(), [](const auto& a, const auto& b) {
        return a.mtime != b.mtime ? a.mtime < b.mtime : a.file_name < b.file_name;
    });
    const std::map<char, std::string> keywords = read_dovecot_keywords(folder, display, err, exit);
    if (!importer.begin(mailbox)) return;
    // Converting to CRLF adds at most one byte per line: the raw file may be
    // up to twice the limit, which is checked after.
    constexpr std::size_t kMaxRawBytes = 2 * store::limits::kMaxMessageSize;
    for (const MaildirMessage& message : messages) {
        if (message.size > kMaxRawBytes) {
            importer.skip(message.path.string(), "too large");
            continue;
        }
        int error = 0;
        const Fd file = open_entry(subs[message.is_new ? 1 : 0].get(), message.file_name.c_str(),
                                   EntryType::File, error);
        if (error == ELOOP) {  // replaced by a link since it was listed
            warn_link(message.path, err, exit);
            continue;
        }
        importer.read_input(message.size);
        std::string raw;
        raw.reserve(static_cast<std::size_t>(message.size));
        bool too_big = false;
        if (!file || !read_file(file.get(), raw, kMaxRawBytes, too_big)) {
            err << "imapd import: cannot read " << message.path.string() << "\n";
            exit.note(kExitDataErr);
            continue;
        }
        std::string bytes;
        bytes.reserve(raw.size() + raw.size() / 32);
        char previous = '\0';
        cli::append_crlf(bytes, raw, previous);
        if (too_big || bytes.size() > store::limits::kMaxMessageSize) {
            importer.skip(
                message.path.string(),
                "larger than " + std::to_string(store::limits::kMaxMessageSize) + " bytes");
            continue;
        }
        importer.add(std::move(bytes), message.mtime, local_zone_minutes(message.mtime),
                     maildir_flags(message, keywords));
    }
    importer.end();
}

// A Maildir and its Maildir++ subfolders (".Sub.Folder", one level each).
void import_maildir(int root, const fs::path& display, const std::optional<std::string>& base,
                    Importer& importer, std::ostream& err, ExitCode& exit) {
    import_maildir_folder(root, display, base.value_or("INBOX"), importer, err, exit);
    std::vector<std::pair<std::string, std::string>> folders;  // mailbox, directory name
    for (std::string& name : directory_names(root, display)) {
        if (name.size() < 2 || name[0] != '.') continue;
        const EntryType type = entry_type(root, name.c_str());
        if (type == EntryType::Link) {
            warn_link(display / name, err, exit);
            continue;
        }
        if (type != EntryType::Directory) continue;
        folders.emplace_back(maildirpp_mailbox(std::string_view(name).substr(1)), std::move(name));
    }
    std::sort(folders.begin(), folders.end());
    for (const auto& [mailbox, name] : folders) {
        const fs::path path = display / name;
        const Fd folder = open_subdirectory(root, name, path, err, exit);
        if (!folder || !is_maildir(folder.get())) continue;
        import_maildir_folder(folder.get(), path, base ? *base + "/" + mailbox : mailbox, importer,
                              err, exit);
    }
}

// ---- The command --------------------------------------------------------------

int import_command(std::span<const std::string_view> args, std::ostream& out, std::ostream& err,
                   std::string& progress) {
    ImportArgs parsed;
    Config config;
    try {
        parsed = parse_import_args(args);
        config = parsed.data_dir.config();
        if (parsed.mailbox) *parsed.mailbox = store::canonical_mailbox_name(*parsed.mailbox);
    } catch (const ConfigError& e) {
        err << "imapd import: " << e.what() << "\n";
        return kExitUsage;
    } catch (const store::StoreError& e) {
        err << "imapd import: invalid --mailbox: " << e.what() << "\n";
        return kExitUsage;
    }
    const std::string_view name = parsed.positional[0];
    const std::string_view format = parsed.positional[1];
    const fs::path path(parsed.positional[2]);

    const std::unique_ptr<store::AccountStore> accounts =
        cli::open_existing_accounts(config.data_dir);
    if (!accounts) {
        err << "imapd import: no accounts database in " << config.data_dir.string() << "\n";
        return kExitNoUser;
    }
    std::string user;
    try {
        user = store::AccountStore::canonical_user_name(name);
    } catch (const store::StoreError&) {
        err << "imapd import: no such user \"" << name << "\"\n";
        return kExitNoUser;
    }
    if (!accounts->find_user(user)) {
        err << "imapd import: no such user \"" << user << "\"\n";
        return kExitNoUser;
    }

    // PATH is not followed either when it is a link: the tree's owner may
    // have made it one (docs/cli.md). Links in its parent directories are
    // the administrator's own and are followed as usual.
    const EntryType type = entry_type(AT_FDCWD, path.c_str());
    if (type == EntryType::Missing) {
        err << "imapd import: " << path.string() << " does not exist\n";
        return kExitNoInput;
    }
    if (type == EntryType::Link) {
        err << "imapd import: " << path.string()
            << " is a symbolic link (not followed; give the path it points to)\n";
        return kExitNoInput;
    }
    Fd directory;
    if (type == EntryType::Directory) {
        int error = 0;
        directory = open_entry(AT_FDCWD, path.c_str(), EntryType::Directory, error);
        if (!directory) {
            throw fs::filesystem_error("cannot open directory", path,
                                       std::error_code(error, std::generic_category()));
        }
    }
    if (format == "maildir" && !(directory && is_maildir(directory.get()))) {
        err << "imapd import: " << path.string() << " is not a Maildir (no cur/ or new/)\n";
        return kExitDataErr;
    }
    if (format == "mbox" && type != EntryType::Directory && type != EntryType::File) {
        err << "imapd import: " << path.string() << " is not a file or a directory\n";
        return kExitDataErr;
    }

    const auto opened = store::open_mail_store(store::DataDir(config.data_dir).user_options(user));
    store::MailStore& mail = *opened;
    ExitCode exit;
    // Only on the process's own standard error, and only on a terminal:
    // scripts and logs get the summary lines alone.
    std::optional<cli::ProgressLine> progress_line;
    if (&err == &std::cerr && ::isatty(STDERR_FILENO) == 1) progress_line.emplace(err);
    Importer importer(mail, out, err, exit, progress_line ? &*progress_line : nullptr);
    if (type == EntryType::File) {
        struct stat st {};
        if (::stat(path.c_str(), &st) == 0)
            importer.set_input_size(static_cast<std::uint64_t>(st.st_size));
    }
    try {
        if (format == "maildir") {
            import_maildir(directory.get(), path, parsed.mailbox, importer, err, exit);
        } else if (directory) {
            import_mbox_directory(directory.get(), path, parsed.mailbox.value_or(""), importer,
                                  exit, err);
        } else {
            import_mbox_file(AT_FDCWD, path.string(), path, parsed.mailbox.value_or("INBOX"),
                             importer, exit, err);
        }
    } catch (const std::exception&) {
        importer.finish_progress();
        progress = importer.progress();
        throw;
    }
    importer.finish_progress();
    // The search index costs about three times what storing the mail does
    // (docs/benchmarks.md), so by default it is left to the server, which
    // indexes a user's queue in the background once it opens the mail or
    // sees another process's change; SEARCH is exact meanwhile (a queued
    // body is a candidate of every search: docs/storage.md "The search
    // index"). --index builds it here, in batches of kImportIndexBatch
    // bodies (each its own transaction). Should that fail (the server
    // holding the lock too long), the bodies stay queued for the server.
    if (parsed.index) {
        try {
            for (;;) {
                store::IndexLimits limits;
                limits.max_bodies = kImportIndexBatch;
                limits.max_time = kImportIndexBatchTime;
                const store::IndexResult done = mail.index_pending(limits);
                if (!done.more) break;
                if (progress_line) {
                    progress_line->draw(
                        "indexing for search, " + std::to_string(done.queued) + " messages left",
                        std::chrono::steady_clock::now());
                }
            }
        } catch (const std::exception& e) {
            if (progress_line) progress_line->clear();
            err << "imapd import: indexing left to the server: " << e.what() << "\n";
        }
        if (progress_line) progress_line->clear();
    }
    return exit.code;
}

}  // namespace

int run_import(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
    // Messages already appended stay: each batch is its own transaction.
    std::string progress;
    auto fail = [&](const std::exception& e, int code) {
        err << "imapd import: " << e.what() << progress << "\n";
        return code;
    };
    try {
        return import_command(args, out, err, progress);
    } catch (const store::SqliteError& e) {
        return fail(e, kExitTempFail);  // disk full: try again later
    } catch (const store::StoreError& e) {
        switch (e.code()) {
            case store::StoreErrc::Busy:
                return fail(e, kExitTempFail);  // a lock held too long: try again later
            case store::StoreErrc::OverLimit:
                return fail(e, kExitCantCreate);
            default:
                return fail(e, kExitDataErr);
        }
    } catch (const fs::filesystem_error& e) {
        return fail(e, kExitIoErr);
    } catch (const std::exception& e) {
        return fail(e, kExitSoftware);
    }
}

}  // namespace imap::server
