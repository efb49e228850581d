#include "server/pop3/maildrop_locks.h"

namespace imap::server::pop3 {

bool MaildropLocks::try_lock(std::string_view user) {
    std::lock_guard lock(mutex_);
    return locked_.emplace(user).second;
}

void MaildropLocks::unlock(std::string_view user) {
    std::lock_guard lock(mutex_);
    auto found = locked_.find(user);
    if (found != locked_.end()) locked_.erase(found);
}

bool MaildropLocks::locked(std::string_view user) const {
    std::lock_guard lock(mutex_);
    return locked_.find(user) != locked_.end();
}

}  // namespace imap::server::pop3
