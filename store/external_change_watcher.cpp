#include "store/external_change_watcher.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>
#include <string_view>
#include <system_error>

namespace imap::store {
namespace {

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

// The user whose database `file` is: "<user file>.db" or "<user file>.db-wal"
// (DataDir::user_file_name), nothing for any other file (-shm, -journal,
// temporary files).
std::optional<std::string> user_of_file(std::string_view file) {
    if (file.ends_with("-wal")) file.remove_suffix(4);
    return DataDir::user_from_file_name(file);
}

}  // namespace

ExternalChangeWatcher::ExternalChangeWatcher(const DataDir& data_dir, Callback callback)
    : callback_(std::move(callback)) {
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ < 0) throw_errno("inotify_init1");
    const std::string users = data_dir.users_directory().string();
    // Another process closes the database it committed to (IN_CLOSE_WRITE,
    // see the header for why not IN_MODIFY); a new user's database appears
    // (IN_CREATE), or is renamed into place (IN_MOVED_TO).
    if (::inotify_add_watch(inotify_fd_, users.c_str(), IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO) <
        0) {
        const int error = errno;
        ::close(inotify_fd_);
        throw std::system_error(error, std::generic_category(), "inotify_add_watch " + users);
    }
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) {
        const int error = errno;
        ::close(inotify_fd_);
        throw std::system_error(error, std::generic_category(), "eventfd");
    }
    thread_ = std::thread([this] {
        ::pthread_setname_np(::pthread_self(), "imapd-watch");  // top -H, perf
        run();
    });
}

ExternalChangeWatcher::~ExternalChangeWatcher() {
    const std::uint64_t one = 1;
    // Never fails on an eventfd below its maximum count.
    [[maybe_unused]] const ssize_t written = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
    ::close(stop_fd_);
    ::close(inotify_fd_);
}

void ExternalChangeWatcher::run() {
    using Clock = std::chrono::steady_clock;
    std::set<std::string> changed;
    bool waiting = false;  // changes to report at report_at
    Clock::time_point report_at{};
    // Room for a burst of events; the kernel queues the rest.
    alignas(inotify_event) std::array<char, 16 * 1024> buffer{};
    for (;;) {
        int timeout = -1;
        if (waiting) {
            const auto left =
                std::chrono::ceil<std::chrono::milliseconds>(report_at - Clock::now());
            timeout = static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0));
        }
        std::array<pollfd, 2> fds{{{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}}};
        const int ready = ::poll(fds.data(), fds.size(), timeout);
        if (ready < 0 && errno != EINTR) return;  // nothing sensible left to do
        if (fds[1].revents != 0) return;
        if (ready > 0 && fds[0].revents != 0) {
            for (;;) {
                const ssize_t length = ::read(inotify_fd_, buffer.data(), buffer.size());
                if (length <= 0) break;  // EAGAIN: all read
                for (ssize_t at = 0; at < length;) {
                    inotify_event event;
                    std::memcpy(&event, buffer.data() + at, sizeof event);
                    if (event.len > 0) {
                        const char* name = buffer.data() + at + sizeof(inotify_event);
                        if (auto user =
                                user_of_file(std::string_view(name, ::strnlen(name, event.len)))) {
                            changed.insert(std::move(*user));
                            // One report kSettle after the first event of a
                            // burst (the closes of one process's files), not
                            // after the last: a reader opening and closing
                            // the database every 50 ms would otherwise put
                            // the report off for as long as it went on.
                            if (!waiting) report_at = Clock::now() + kSettle;
                            waiting = true;
                        }
                    }
                    at += static_cast<ssize_t>(sizeof(inotify_event) + event.len);
                }
            }
        }
        if (waiting && Clock::now() >= report_at) {
            for (const std::string& user : changed)
                callback_(user);
            changed.clear();
            waiting = false;
        }
    }
}

}  // namespace imap::store
