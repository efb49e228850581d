#include "server/commands/mailbox_args.h"

#include <memory>

#include "protocol/mailbox_name.h"

namespace imap::server {

UserMail* require_mail(Session& session, const std::string& tag) {
    UserMail* mail = session.mail();
    if (mail == nullptr) {
        session.complete(tag, Status::No, Code::Unavailable, "Mail storage is not available");
    }
    return mail;
}

std::optional<std::string> store_mailbox_name(Session& session, const std::string& tag,
                                              std::string_view wire_name) {
    auto decoded = mutf7_decode(wire_name);
    if (!decoded) {
        session.complete(tag, Status::No, Code::Cannot,
                         "Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)");
        return std::nullopt;
    }
    return normalize_inbox(*decoded, kHierarchyDelimiter);
}

std::string wire_mailbox_name(std::string_view store_name) {
    // Store names are valid UTF-8 (they came through store_mailbox_name or
    // the CLI's checks), so encoding cannot fail; fall back to the bytes.
    auto encoded = mutf7_encode(store_name);
    return encoded ? *encoded : std::string(store_name);
}

std::optional<std::string> joined_list_pattern(std::string_view reference,
                                               std::string_view pattern) {
    auto decoded_reference = mutf7_decode(reference);
    auto decoded_pattern = mutf7_decode(pattern);
    if (!decoded_reference || !decoded_pattern) return std::nullopt;
    return *decoded_reference + *decoded_pattern;
}

std::string_view list_root(std::string_view reference) {
    const std::size_t delimiter = reference.find(kHierarchyDelimiter);
    if (delimiter == std::string_view::npos) return {};
    return reference.substr(0, delimiter + 1);
}

void select_mailbox(Session& session, const std::string& tag, std::string_view wire_name,
                    bool read_only) {
    // RFC 3501 6.3.1: a SELECT while a mailbox is selected deselects it
    // first; if the new SELECT fails, no mailbox is selected.
    session.deselect();
    UserMail* mail = require_mail(session, tag);
    if (mail == nullptr) return;
    auto name = store_mailbox_name(session, tag, wire_name);
    if (!name) return;
    store::MailStore& store = mail->store();
    const store::MailboxInfo info = store.open_mailbox(*name);
    auto view = std::make_unique<SelectedMailbox>(store, info, read_only);

    ResponseWriter& w = session.writer();
    view->write_flags(w);
    w.exists(view->exists());
    w.recent(view->recent_count());
    if (auto unseen = store.first_unseen_uid(info.id)) {
        if (auto sequence = view->sequence_of(*unseen)) {
            w.untagged(Status::Ok, ResponseCode::unseen(*sequence), "First unseen.");
        }
    }
    w.untagged(Status::Ok, ResponseCode::uidvalidity(view->uidvalidity()), "UIDs valid");
    w.untagged(Status::Ok, ResponseCode(Code::UidNext, std::to_string(view->uidnext())),
               "Predicted next UID");
    session.select(std::move(view));
    session.complete(tag, Status::Ok, read_only ? Code::ReadOnly : Code::ReadWrite,
                     read_only ? "EXAMINE completed" : "SELECT completed");
}

}  // namespace imap::server
