// BodyPrefetch: the small bodies a FETCH will send next, decompressed by
// helper jobs on other threads while the FETCH writes the messages before
// them (docs/storage.md "Decompressing ahead").
//
// A FETCH of many whole messages (BODY.PEEK[] of a thousand: a client
// downloading a mailbox) spent a third of its time in zstd, one message
// after another, on the one thread that also reads the store and writes the
// responses. The containers are still read on that thread (the store's
// connection belongs to it) and handed over here; a helper job (one at a
// time per FETCH) decompresses them in the order added. The
// FETCH takes each body when it comes to it: decompressed already; being
// decompressed (meanwhile the FETCH's thread decompresses the last one
// still queued itself, rather than wait); or not started (the container
// comes back and the FETCH decompresses it, so a busy or refusing helper
// never makes a FETCH slower than doing the work alone).
//
// Bounded: the FETCH adds a container only while the bodies added and not
// taken are under kAheadBytes of raw size (ahead()). The state is shared
// with the helper jobs, so a job that runs after the FETCH ended (or after
// clear()) finds nothing to do, or decompresses one body nobody takes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "store/mail_store.h"

namespace imap::server {

class BodyPrefetch {
  public:
    // Raw bytes decompressed ahead of the FETCH at most (ahead()): about
    // ninety messages of the usual size, and a few milliseconds of zstd.
    static constexpr std::uint64_t kAheadBytes = 1024 * 1024;

    // Runs a job later on another thread; false when it refuses.
    using Submit = std::function<bool(std::function<void()> job)>;

    explicit BodyPrefetch(Submit submit);
    BodyPrefetch(const BodyPrefetch&) = delete;
    BodyPrefetch& operator=(const BodyPrefetch&) = delete;
    ~BodyPrefetch();

    // Queues `container` (store::MailStore::read_small_container) of
    // `body`, whose raw size is `raw_size`, and submits a helper job.
    void add(store::BodyId body, std::uint64_t raw_size, std::string container);
    // Raw bytes added and not taken yet.
    std::uint64_t ahead() const;

    // What became of a body's container:
    struct Taken {
        // The whole body, decompressed;
        std::optional<std::string> body;
        // or its container, not decompressed yet. Neither: decompressing
        // failed (the caller's own read of the body reports why).
        std::optional<std::string> container;
    };
    // The first entry of `body`, after dropping the entries added before it
    // (messages the FETCH passed by); nullopt when there is none, and then
    // nothing is dropped.
    std::optional<Taken> take(store::BodyId body);

    // Drops every entry (the FETCH's next batch of messages).
    void clear();

  private:
    struct Shared;
    std::shared_ptr<Shared> shared_;
};

}  // namespace imap::server
