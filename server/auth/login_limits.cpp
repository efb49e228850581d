#include "server/auth/login_limits.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "server/base/log.h"
#include "store/accounts.h"
#include "store/errors.h"

namespace imap::server {
namespace {

// The failure table is pruned of expired entries when it reaches this size,
// and then again each time it has doubled.
constexpr std::size_t kPruneMinimum = 1024;

}  // namespace

LoginLimits::LoginLimits(const Config& config, Clock clock)
    : max_per_user_(config.max_connections_per_user),
      delay_(config.failed_login_delay),
      delay_max_(std::max(config.failed_login_delay_max, config.failed_login_delay)),
      reset_after_(config.failed_login_reset),
      clock_(std::move(clock)),
      prune_at_(kPruneMinimum) {}

std::string LoginLimits::canonical(std::string_view user) {
    try {
        return store::AccountStore::canonical_user_name(user);
    } catch (const store::StoreError&) {
        // Not a valid account name, so never admitted by the real
        // authenticator; count it as given.
        return std::string(user);
    }
}

bool LoginLimits::admit(std::string_view user, std::string_view peer) {
    const std::string name = canonical(user);
    std::size_t refused_at = 0;
    {
        const std::lock_guard lock(mutex_);
        // A successful login forgives the address its failures.
        if (auto found = failures_.find(peer); found != failures_.end()) failures_.erase(found);
        auto [entry, inserted] = per_user_.try_emplace(name, 0);
        if (entry->second < max_per_user_) {
            ++entry->second;
            return true;
        }
        refused_at = entry->second;
        if (entry->second == 0) per_user_.erase(entry);
    }
    // Logged outside the lock: the log's write may block.
    log::warning(
        "user_connection_limit",
        {{"user", name}, {"peer", peer}, {"connections", static_cast<std::uint64_t>(refused_at)}});
    return false;
}

void LoginLimits::release(std::string_view user) {
    const std::string name = canonical(user);
    const std::lock_guard lock(mutex_);
    auto found = per_user_.find(name);
    if (found == per_user_.end()) return;
    if (--found->second == 0) per_user_.erase(found);
}

bool LoginLimits::expired(const Failures& entry, std::chrono::steady_clock::time_point now) const {
    return now - entry.last >= reset_after_;
}

void LoginLimits::prune(std::chrono::steady_clock::time_point now) {
    std::erase_if(failures_, [&](const auto& item) { return expired(item.second, now); });
    prune_at_ = std::max(kPruneMinimum, failures_.size() * 2);
}

std::chrono::milliseconds LoginLimits::delay_after(unsigned failures) const {
    // delay * 2^(failures-1), capped; doubling stops at the cap (no overflow).
    std::chrono::milliseconds delay = delay_;
    for (unsigned i = 1; i < failures && delay < delay_max_; ++i)
        delay *= 2;
    return std::min(delay, delay_max_);
}

std::chrono::milliseconds LoginLimits::penalty(std::string_view peer) {
    if (delay_ <= std::chrono::milliseconds::zero()) return std::chrono::milliseconds::zero();
    const unsigned failures = failures_from(peer);
    if (failures == 0) return std::chrono::milliseconds::zero();
    const std::chrono::milliseconds delay = delay_after(failures + 1);
    log::info("login_penalty", {{"peer", peer},
                                {"failures", failures},
                                {"delay_ms", static_cast<std::int64_t>(delay.count())}});
    return delay;
}

std::chrono::milliseconds LoginLimits::failed(std::string_view peer) {
    if (delay_ <= std::chrono::milliseconds::zero()) return std::chrono::milliseconds::zero();
    unsigned count = 0;
    {
        const std::lock_guard lock(mutex_);
        const auto now = clock_();
        if (failures_.size() >= prune_at_) prune(now);
        auto [entry, inserted] = failures_.try_emplace(std::string(peer));
        Failures& failures = entry->second;
        if (!inserted && expired(failures, now)) failures.count = 0;
        count = ++failures.count;
        failures.last = now;
    }
    // What the next attempt from the address waits is logged by penalty().
    log::info("login_failures", {{"peer", peer}, {"failures", count}});
    return delay_after(count);
}

std::chrono::milliseconds LoginLimits::unavailable(std::string_view) {
    return std::max(delay_, std::chrono::milliseconds::zero());
}

std::size_t LoginLimits::connections_of(std::string_view user) const {
    const std::string name = canonical(user);
    const std::lock_guard lock(mutex_);
    auto found = per_user_.find(name);
    return found == per_user_.end() ? 0 : found->second;
}

unsigned LoginLimits::failures_from(std::string_view peer) const {
    const std::lock_guard lock(mutex_);
    auto found = failures_.find(peer);
    if (found == failures_.end() || expired(found->second, clock_())) return 0;
    return found->second.count;
}

std::size_t LoginLimits::tracked_addresses() const {
    const std::lock_guard lock(mutex_);
    return failures_.size();
}

}  // namespace imap::server
