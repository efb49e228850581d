#include "protocol/secret.h"

namespace imap {

void wipe_string(std::string& s) noexcept {
    // Growing to the capacity covers bytes past size() (a longer earlier
    // value, or the small-string buffer); resize within the capacity does not
    // reallocate, so it cannot throw. The volatile stores are not elided.
    s.resize(s.capacity());
    volatile char* bytes = s.data();
    for (std::size_t i = 0; i < s.size(); ++i)
        bytes[i] = 0;
    s.clear();
}

// Moving steals a heap buffer, but a short value lives in the source's inline
// buffer and would stay there: wipe the source after every move.
Secret::Secret(Secret&& other) noexcept : value_(std::move(other.value_)) {
    other.wipe();
}

Secret& Secret::operator=(const Secret& other) {
    if (this != &other) {
        wipe();
        value_ = other.value_;
    }
    return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
    if (this != &other) {
        wipe();
        value_ = std::move(other.value_);
        other.wipe();
    }
    return *this;
}

Secret::~Secret() {
    wipe();
}

void Secret::wipe() noexcept {
    wipe_string(value_);
}

}  // namespace imap
