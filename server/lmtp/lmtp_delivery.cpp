#include "server/lmtp/lmtp_delivery.h"

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "server/base/log.h"
#include "store/errors.h"
#include "store/local_delivery.h"

namespace imap::server::lmtp {

Reply refusal(const std::string& shown, const std::exception& error) {
    if (const auto* store_error = dynamic_cast<const store::StoreError*>(&error)) {
        switch (store_error->code()) {
            case store::StoreErrc::TooBig:
                return {552, "5.3.4 " + shown + " Message too big"};
            case store::StoreErrc::OverLimit:
                // RFC 3463 X.2.2 mailbox full: the user may make room.
                return {452, "4.2.2 " + shown + " Mailbox full, try again later"};
            default:
                break;
        }
    }
    return {451, "4.3.0 " + shown + " Temporary failure, try again later"};
}

void store_copy(MailAccess& mail, const Delivery& delivery, std::time_t now, const Answer& answer,
                const Release& release) {
    const std::string shown = "<" + delivery.recipient.address + ">";
    std::shared_ptr<UserMail> user_mail;
    Reply reply;
    std::shared_ptr<GroupCommit> group;
    std::uint64_t serial = 0;
    try {
        user_mail = mail.open(delivery.recipient.user);
        std::string message;
        message.reserve(delivery.trace.size() + delivery.data->size());
        message += delivery.trace;
        message += *delivery.data;
        store::DeliveryTarget target;
        if (!delivery.recipient.mailbox.empty()) target.mailbox = delivery.recipient.mailbox;
        target.match = store::MailboxMatch::IgnoreCase;
        const store::DeliveryResult result =
            store::deliver_message(user_mail->store(), target, message, {}, now);
        reply = {250, "2.0.0 " + shown + " Saved in " + result.mailbox.name + " as UID " +
                          std::to_string(result.uid)};
        serial = user_mail->commit_serial();
        group = user_mail->group_commit();
        log::info("lmtp_delivered", {{"user", delivery.recipient.user},
                                     {"mailbox", result.mailbox.name},
                                     {"uid", static_cast<std::uint64_t>(result.uid)},
                                     {"size", static_cast<std::uint64_t>(message.size())}});
    } catch (const std::exception& error) {
        log::warning("lmtp_delivery_failed",
                     {{"user", delivery.recipient.user}, {"error", error.what()}});
        answer(refusal(shown, error));
        return;
    }
    if (!group) {
        answer(std::move(reply));  // every commit durable on return (one thread)
        release(std::move(user_mail));
        return;
    }
    // The reply waits for the sync that covers this commit (the UserMail
    // stays open meanwhile: its sync tracker is the store's); a failed sync
    // answers 451 and the MTA keeps the message.
    auto ready = [answer, reply, release, user_mail, shown](bool durable) mutable {
        answer(durable ? std::move(reply)
                       : Reply{451, "4.3.0 " + shown + " Storage failure, try again later"});
        release(std::move(user_mail));
    };
    if (group->when_durable(serial, ready)) {
        answer(std::move(reply));
        release(std::move(user_mail));
    }
}

}  // namespace imap::server::lmtp
