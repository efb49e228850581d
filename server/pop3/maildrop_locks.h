// The POP3 maildrop lock (RFC 1939 8): one POP3 session per user at a time,
// process-wide. IMAP sessions never take it (docs/pop3.md "The maildrop
// lock"). Safe from any thread: sessions of different users run on
// different strands.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace imap::server::pop3 {

class MaildropLocks {
  public:
    // True: `user` (canonical name) was not locked and now is.
    bool try_lock(std::string_view user);
    void unlock(std::string_view user);
    bool locked(std::string_view user) const;

  private:
    mutable std::mutex mutex_;
    std::set<std::string, std::less<>> locked_;
};

// Holds one lock until destroyed or released.
class MaildropLock {
  public:
    MaildropLock() = default;
    MaildropLock(MaildropLocks& locks, std::string user) : locks_(&locks), user_(std::move(user)) {}
    MaildropLock(MaildropLock&& other) noexcept
        : locks_(std::exchange(other.locks_, nullptr)), user_(std::move(other.user_)) {}
    MaildropLock& operator=(MaildropLock&& other) noexcept {
        if (this != &other) {
            release();
            locks_ = std::exchange(other.locks_, nullptr);
            user_ = std::move(other.user_);
        }
        return *this;
    }
    MaildropLock(const MaildropLock&) = delete;
    MaildropLock& operator=(const MaildropLock&) = delete;
    ~MaildropLock() { release(); }

    void release() {
        if (locks_ != nullptr) std::exchange(locks_, nullptr)->unlock(user_);
    }
    bool held() const { return locks_ != nullptr; }

  private:
    MaildropLocks* locks_ = nullptr;
    std::string user_;
};

}  // namespace imap::server::pop3
