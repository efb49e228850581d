// Typed store errors. Every failure the server must answer with a specific
// response code is a StoreError with one of these codes, so the mapping to
// RFC 5530 response codes lives in one place in server/ (suggested mapping
// beside each code). Busy is the one backend condition the server answers
// specifically; every other backend failure (SqliteError for the SQLite
// backend: disk full, corruption) is a plain std::exception -> [SERVERBUG].
#pragma once

#include <stdexcept>
#include <string>

namespace imap::store {

enum class StoreErrc {
    NotFound,       // no such mailbox / user / message        -> [NONEXISTENT]
    AlreadyExists,  // CREATE/RENAME target exists               -> [ALREADYEXISTS]
    HasChildren,    // DELETE of a \Noselect name with inferiors -> [HASCHILDREN] (RFC 9051)
    NoSelect,       // the mailbox is a \Noselect placeholder    -> [NONEXISTENT] / [CANNOT]
    InvalidName,    // mailbox or user name not acceptable       -> [CANNOT]
    NotPermitted,   // e.g. DELETE INBOX (RFC 3501 6.3.4)        -> [CANNOT]
    OverLimit,      // a named limit in store/limits.h           -> [LIMIT]
    TooBig,         // message larger than kMaxMessageSize       -> [TOOBIG] (RFC 7889)
    Corrupt,        // stored data that cannot be decoded        -> [CORRUPTION]
    Expunged,       // a message of the view was expunged meanwhile -> [EXPUNGEISSUED]
    Busy,           // another process held the store's lock too long -> [INUSE]
};

const char* to_string(StoreErrc code);

class StoreError : public std::runtime_error {
  public:
    StoreError(StoreErrc code, const std::string& message)
        : std::runtime_error(message), code_(code) {}
    StoreErrc code() const { return code_; }

  private:
    StoreErrc code_;
};

}  // namespace imap::store
