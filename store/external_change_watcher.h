// ExternalChangeWatcher: tells the server that a user's mail was changed by
// another process (`imapd deliver`, `imapd import` into a live server), so
// idling sessions of that user are woken at once (RFC 2177) instead of at
// their next idle poll. The change feed (store/mail_store.h) covers this
// process's own commits; this covers everybody else's.
//
// SQLite backend: it watches <data dir>/users with inotify and maps the
// database file names (DataDir::user_file_name: "<user>.db", and
// "<user>.db-wal" in WAL mode) back to user names. It listens for a
// written file being closed (IN_CLOSE_WRITE), not for every write
// (IN_MODIFY): another process (`imapd deliver`, `imapd import`, the user
// CLI) opens the database, commits and closes it, so the close comes after
// its commit is visible. This server's own connections stay open while
// they write, so its own commits, which the change feed already reports,
// cost no wake-up here (under load every WAL page written woke this thread:
// 87,000 times in 10 s, as much CPU as an I/O loop). A writer that keeps
// the database open across many commits (a long `imapd import` into a live
// server) is reported when it closes; idle sessions find its earlier
// commits at their idle poll, the backstop. A user is reported kSettle
// after the first event of a burst, so the closes of one process's files
// (.db, -wal) make one report, and a steady stream of events cannot put the
// report off.
//
// Threading: a thread of its own blocks in poll() on the inotify fd and a
// stop eventfd, and calls the callback on that thread (the owner posts it
// to where the user's sessions run). The destructor stops and joins it;
// after it returned the callback is never called again.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "store/data_dir.h"

namespace imap::store {

class ExternalChangeWatcher {
  public:
    // The canonical user name whose mail changed.
    using Callback = std::function<void(const std::string& user)>;

    static constexpr std::chrono::milliseconds kSettle{100};

    // Starts watching `data_dir` (not in memory). Throws std::system_error
    // when inotify cannot be set up (the caller may go on without: the idle
    // poll still finds the changes).
    ExternalChangeWatcher(const DataDir& data_dir, Callback callback);
    ~ExternalChangeWatcher();
    ExternalChangeWatcher(const ExternalChangeWatcher&) = delete;
    ExternalChangeWatcher& operator=(const ExternalChangeWatcher&) = delete;

  private:
    void run();

    Callback callback_;
    int inotify_fd_ = -1;
    int stop_fd_ = -1;  // eventfd: written by the destructor
    std::thread thread_;
};

}  // namespace imap::store
