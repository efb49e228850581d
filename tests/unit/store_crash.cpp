// Durability (docs/storage.md: kill -9 at any moment loses nothing that was
// acknowledged). A forked child appends messages to a file database in a
// loop and reports each UID on a pipe only after append() returned, i.e.
// after COMMIT; the parent kills it with SIGKILL after a random delay,
// reopens the database, runs PRAGMA integrity_check and checks every
// reported message byte for byte. Rounds are bounded by count and time.
//
// The child is forked, not exec'd, so the test needs no helper executable
// and runs under ctest like every other unit test; it opens its own
// connection after fork() and leaves with _exit() (no destructors, no
// atexit handlers shared with the parent).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "store/sqlite.h"
#include "store/sqlite_mail_store.h"

using namespace imap::store;

namespace {

constexpr int kRounds = 30;
constexpr auto kTimeBudget = std::chrono::seconds(10);  // per mode
constexpr int kMinDelayMs = 5;
constexpr int kMaxDelayMs = 250;
constexpr std::size_t kMaxBodyBytes = 20000;

// The message a child appends as number `n` of round `round`: deterministic,
// so the parent can rebuild it and compare bytes. Sizes vary so bodies land
// inline and on overflow pages.
std::string crash_message(int round, int n) {
    std::mt19937 rng(static_cast<unsigned>(round * 100003 + n));
    std::size_t size = rng() % kMaxBodyBytes;
    std::string body;
    body.reserve(size + 64);
    while (body.size() < size) {
        body += "line " + std::to_string(rng()) + " of round " + std::to_string(round) + "\r\n";
    }
    return "From: crash@example.org\r\nSubject: round " + std::to_string(round) + " message " +
           std::to_string(n) + "\r\n\r\n" + body;
}

[[noreturn]] void child(const std::string& path, int round, int out, bool deferred) {
    try {
        OpenOptions options;
        options.path = path;
        options.defer_sync = deferred;
        SqliteMailStore store(options);
        const MailboxId inbox = store.open_mailbox("INBOX").id;
        for (int n = 0;; ++n) {
            const std::string raw = crash_message(round, n);
            AppendRequest request;
            request.message = raw;
            request.internal_date = 1700000000 + n;
            request.flags.system = (n % 3 == 0) ? flag::kSeen : 0;
            const std::uint32_t uid = store.append(inbox, request);
            // Group commit (docs/storage.md): durable once a sync covered
            // the commit's serial, as the server waits before its OK.
            if (deferred) {
                const std::uint64_t serial = store.commit_serial();
                if (store.commit_sync()->sync() < serial) _exit(4);
            }
            // Acknowledge only now, after COMMIT. One short write() to a
            // pipe is atomic, so the parent never sees half a line.
            const std::string line =
                std::to_string(uid) + " " + std::to_string(round) + " " + std::to_string(n) + "\n";
            if (write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(2);
        }
    } catch (...) {
        _exit(3);
    }
}

struct Acked {
    int round;
    int n;
};

void verify(MailStore& store, const std::map<std::uint32_t, Acked>& acked, std::uint32_t from_uid) {
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    for (auto it = acked.lower_bound(from_uid); it != acked.end(); ++it) {
        UidSet one{{it->first, it->first}};
        auto infos = store.fetch(inbox, one);
        INFO("uid " << it->first << " round " << it->second.round << " n " << it->second.n);
        REQUIRE(infos.size() == 1);
        const std::string expected = crash_message(it->second.round, it->second.n);
        REQUIRE(infos[0].size == expected.size());
        REQUIRE(store.read_body(infos[0].body_id, 0, expected.size()) == expected);
    }
}

}  // namespace

TEST_CASE("SIGKILL during appends loses no acknowledged message") {
    // synchronous=FULL, and group commit (OpenOptions::defer_sync) with the
    // acknowledgement after CommitSync::sync().
    const bool deferred = GENERATE(false, true);
    INFO("defer_sync=" << deferred);
    std::string pattern = (std::filesystem::temp_directory_path() / "imapd-crash-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    const std::filesystem::path dir = pattern;
    const std::string path = (dir / "user.db").string();

    unsigned seed = std::random_device{}();
    if (const char* env = std::getenv("IMAPD_CRASH_SEED"))
        seed = static_cast<unsigned>(std::atoi(env));
    INFO("IMAPD_CRASH_SEED=" << seed);
    std::mt19937 rng(seed);

    { SqliteMailStore create{OpenOptions{path}}; }  // schema before the first kill

    std::map<std::uint32_t, Acked> acked;
    const auto start = std::chrono::steady_clock::now();
    int rounds = 0;
    for (int round = 0; round < kRounds && std::chrono::steady_clock::now() - start < kTimeBudget;
         ++round, ++rounds) {
        int fds[2];
        REQUIRE(pipe(fds) == 0);
        const pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child(path, round, fds[1], deferred);
        }
        close(fds[1]);
        // Keep draining the pipe while waiting, so the child never blocks
        // on a full pipe and is killed mid-append, not mid-write.
        fcntl(fds[0], F_SETFL, O_NONBLOCK);
        std::string received;
        char buffer[4096];
        auto drain = [&] {
            ssize_t got = 0;
            while ((got = read(fds[0], buffer, sizeof buffer)) > 0) {
                received.append(buffer, static_cast<std::size_t>(got));
            }
        };
        const auto delay =
            std::chrono::milliseconds(kMinDelayMs + rng() % (kMaxDelayMs - kMinDelayMs));
        const auto kill_at = std::chrono::steady_clock::now() + delay;
        while (std::chrono::steady_clock::now() < kill_at) {
            drain();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        kill(pid, SIGKILL);
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        INFO("child status " << status);
        REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));
        drain();
        close(fds[0]);

        std::uint32_t first_new = 0xffffffffu;
        std::istringstream lines(received);
        std::uint32_t uid = 0;
        Acked a{};
        while (lines >> uid >> a.round >> a.n) {
            REQUIRE(acked.emplace(uid, a).second);  // UIDs never reused
            first_new = std::min(first_new, uid);
        }

        {
            Database db(OpenOptions{path});
            auto check = db.prepare("PRAGMA integrity_check");
            REQUIRE(check.step());
            REQUIRE(check.column_text(0) == "ok");
        }
        SqliteMailStore store(OpenOptions{path});
        verify(store, acked, first_new);
        if (!acked.empty()) {
            CHECK(store.open_mailbox("INBOX").uidnext > acked.rbegin()->first);
        }
    }
    {
        SqliteMailStore store(OpenOptions{path});
        verify(store, acked, 0);  // everything, once more, at the end
    }
    CHECK(rounds >= 5);
    CHECK(acked.size() > 0);
    std::filesystem::remove_all(dir);
}
