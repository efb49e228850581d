// Schema migrations of the accounts database and of a user's mail database
// (docs/storage.md describes the tables and why they are shaped so). Used by
// AccountStore and MailStore through Database::migrate(); never edit a
// released migration, append a new one.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "store/sqlite.h"

namespace imap::store {

using Migration = std::function<void(Database&)>;

std::span<const Migration> accounts_migrations();
std::span<const Migration> mail_migrations();

// The next UIDVALIDITY of this user's database: max(last + 1, now in
// seconds), persisted in `meta`. Strictly increasing per user, so a
// re-created mailbox name never gets a value it had before (RFC 3501
// 2.3.1.1); seeding from the clock keeps that true even if the user's file
// is deleted and created again. Must run inside a write transaction.
std::uint32_t allocate_uidvalidity(Database& db);

}  // namespace imap::store
