// Names the calling thread ("imapd-loop0", "imapd-strand3", ...), so `top -H`,
// `ps -L`, perf and gdb show which of the server's threads does what. Linux
// keeps at most 15 bytes of a name; longer ones are cut.
#pragma once

#include <pthread.h>

#include <string>

namespace imap::server {

inline void name_this_thread(const std::string& name) {
    ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace imap::server
