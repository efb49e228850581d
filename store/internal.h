// Helpers shared by the store's own .cpp files; not part of its API.
#pragma once

#include <string>
#include <string_view>

#include "store/sqlite.h"

namespace imap::store::detail {

// Well-formed UTF-8: no overlong forms, surrogates or values past U+10FFFF.
bool valid_utf8(std::string_view s);

// SQL functions SEARCH uses (imap_uid_in, imap_header_has), registered on
// every mail database connection (search.cpp).
void register_search_functions(Database& db);

// A read snapshot: the statements inside see one consistent state of the
// database (deferred BEGIN, so it takes no write lock). Rolled back on
// destruction; never throws from the destructor.
class ReadSnapshot {
  public:
    explicit ReadSnapshot(Database& db);
    ~ReadSnapshot();
    ReadSnapshot(const ReadSnapshot&) = delete;
    ReadSnapshot& operator=(const ReadSnapshot&) = delete;

  private:
    Database& db_;
    bool active_ = true;
};

}  // namespace imap::store::detail
