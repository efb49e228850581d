#include "store/local_delivery.h"

#include <time.h>

#include <optional>
#include <utility>

#include "store/errors.h"
#include "store/mailbox_names.h"

namespace imap::store {
namespace {

// The mailbox named `canonical`, or with MailboxMatch::IgnoreCase the first
// (by name) whose name equals it ignoring ASCII case.
std::optional<MailboxInfo> find_target(MailStore& mail, const std::string& canonical,
                                       MailboxMatch match) {
    std::optional<MailboxInfo> found = mail.find_mailbox(canonical);
    if (found || match == MailboxMatch::Exact) return found;
    for (const ListEntry& entry : mail.list_all()) {
        if ((entry.attributes & list_attr::kNonExistent) != 0) continue;
        if (equal_ignoring_ascii_case(entry.name, canonical)) return mail.find_mailbox(entry.name);
    }
    return std::nullopt;
}

}  // namespace

Recipient find_recipient(AccountStore& accounts, std::string_view name) {
    Recipient recipient;
    try {
        recipient.user = AccountStore::canonical_user_name(name);
    } catch (const StoreError&) {
        recipient.user = std::string(name);
        return recipient;  // not a valid name: no such user
    }
    const std::optional<User> account = accounts.find_user(recipient.user);
    if (!account) return recipient;
    recipient.status = account->disabled ? RecipientStatus::Disabled : RecipientStatus::Ok;
    return recipient;
}

DeliveryResult deliver_message(MailStore& mail, const DeliveryTarget& target,
                               std::string_view message, const Flags& flags, std::time_t now) {
    DeliveryResult result;
    std::optional<MailboxInfo> chosen;
    try {
        const std::string canonical = canonical_mailbox_name(target.mailbox);
        std::optional<MailboxInfo> found = find_target(mail, canonical, target.match);
        if (found && found->selectable) {
            chosen = std::move(found);
        } else if (target.create) {
            try {
                chosen = mail.create_mailbox(canonical);
            } catch (const StoreError& e) {
                // Another delivery may have created it in the meantime.
                if (e.code() != StoreErrc::AlreadyExists) throw;
                chosen = mail.open_mailbox(canonical);
            }
        } else {
            result.fallback_reason = found ? "is not selectable" : "does not exist";
        }
    } catch (const StoreError& e) {
        result.fallback_reason = std::string("cannot be used (") + e.what() + ")";
    }
    if (!chosen) chosen = mail.open_mailbox("INBOX");

    AppendRequest request;
    request.message = message;
    request.internal_date = static_cast<std::int64_t>(now);
    request.zone_minutes = local_zone_minutes(now);
    request.flags = flags;
    result.uid = mail.append(chosen->id, request);
    result.mailbox = std::move(*chosen);
    return result;
}

int local_zone_minutes(std::time_t t) {
    struct tm local {};
    if (localtime_r(&t, &local) == nullptr) return 0;
    return static_cast<int>(local.tm_gmtoff / 60);
}

}  // namespace imap::store
