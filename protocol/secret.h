// A password or other credential as it crosses the server: in LOGIN,
// AUTHENTICATE responses and --user seeds. It cannot be printed (no stream
// operator), and its bytes are wiped when it is destroyed, assigned over or
// moved from, so they do not linger in freed memory for a core dump or a
// later heap reader.
#pragma once

#include <string>
#include <string_view>

namespace imap {

class Secret {
  public:
    Secret() = default;
    explicit Secret(std::string_view value) : value_(value) {}
    explicit Secret(const char* value) : value_(value) {}
    explicit Secret(std::string&& value) noexcept : value_(std::move(value)) {}
    Secret(const Secret& other) : value_(other.value_) {}
    Secret(Secret&& other) noexcept;
    Secret& operator=(const Secret& other);
    Secret& operator=(Secret&& other) noexcept;
    ~Secret();

    // The only way to the bytes, so every call site that uses a secret is
    // easy to find and review.
    const std::string& reveal() const { return value_; }
    bool empty() const { return value_.empty(); }

    bool operator==(const Secret& other) const { return value_ == other.value_; }

  private:
    void wipe() noexcept;
    std::string value_;
};

// Overwrites a string's whole buffer (its capacity, not only its size) with
// zeros in a way the compiler may not elide, then clears it.
void wipe_string(std::string& s) noexcept;

}  // namespace imap
