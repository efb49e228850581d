#include "store/mail_store.h"

#include <utility>

#include "store/errors.h"
#include "store/sqlite_mail_store.h"

namespace imap::store {

void MailStore::report_changes(const ChangeSet& changes) noexcept {
    if ((changes.mailboxes.empty() && changes.names.empty()) || !change_listener_) return;
    // A copy: the listener may replace itself while it runs.
    const ChangeListener listener = change_listener_;
    listener(changes);
}

// ---- Pins --------------------------------------------------------------------

MailStore::Pin::Pin(Pin&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)), kind_(other.kind_), key_(other.key_) {}

MailStore::Pin& MailStore::Pin::operator=(Pin&& other) noexcept {
    if (this != &other) {
        release();
        store_ = std::exchange(other.store_, nullptr);
        kind_ = other.kind_;
        key_ = other.key_;
    }
    return *this;
}

MailStore::Pin::~Pin() {
    release();
}

void MailStore::Pin::release() noexcept {
    if (store_ == nullptr) return;
    MailStore* store = std::exchange(store_, nullptr);
    if (kind_ == Kind::View) {
        store->release_view(key_);
    } else {
        store->release_body(BodyId{key_});
    }
}

void MailStore::ViewPin::advance(std::uint64_t watermark) {
    if (store_ != nullptr) store_->advance_view(key_, watermark);
}

std::uint64_t MailStore::ViewPin::watermark() const {
    return store_ == nullptr ? 0 : store_->view_watermark(key_);
}

// ---- Factory -----------------------------------------------------------------

std::unique_ptr<MailStore> open_mail_store(const OpenOptions& options) {
    switch (options.backend) {
        case Backend::Sqlite:
            return std::make_unique<SqliteMailStore>(options);
    }
    throw StoreError(StoreErrc::InvalidName, "unknown mail store backend");
}

}  // namespace imap::store
