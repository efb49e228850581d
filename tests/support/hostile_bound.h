// The time a hostile-input test may take: 2 s (docs/testing.md), five
// times that in a sanitizer build, whose Debug code with ASan/UBSan or TSan
// runs several times slower (the e2e tests scale theirs the same way,
// IMAPD_SANITIZED). The bound catches quadratic work, not slowness.
#pragma once

#include <chrono>

namespace imap::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int kSanitizerSlowdown = 5;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr int kSanitizerSlowdown = 5;
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif
#else
inline constexpr int kSanitizerSlowdown = 1;
#endif

inline constexpr std::chrono::seconds kHostileTimeBound{2 * kSanitizerSlowdown};

}  // namespace imap::test
