// THREAD (RFC 5256 3 BASE.6.4.THREAD): the threading algorithms over the
// searched messages' stored keys (store/sort_keys.h). No IMAP syntax: the
// result is a forest the server writes as a THREAD response.
//
// Cost: linear in the messages and their references (at most
// limits::kMaxThreadReferences each), times limits::kMaxThreadDepth for the
// REFERENCES loop check in the worst case, plus the sorts. Nothing
// recurses: a chain of 100,000 replies is as safe as 100,000 threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace imap::store {

// One searched message, in mailbox (sequence) order.
struct ThreadMessage {
    std::uint32_t uid = 0;
    // RFC 5256 2.2 sent date: the Date: header in UTC, or the internal
    // date when that is missing or unparsable.
    std::int64_t sent = 0;
    std::string subject;  // base subject, casemapped (sort_casemap)
    bool reply_or_forward = false;
    std::string message_id;               // normalised; empty: none
    std::vector<std::string> references;  // normalised, oldest first
};

enum class ThreadAlgorithm {
    OrderedSubject,  // RFC 5256 3 ORDEREDSUBJECT
    References,      // RFC 5256 3 REFERENCES
    // THREAD=REFS (draft-ietf-morg-inthread, as Dovecot implements it):
    // REFERENCES without the subject merging (step 5), and the threads
    // ordered by their most recent message instead of their first.
    Refs,
};

// The threads: nodes[i].uid is a message's UID, 0 for a dummy (a parent
// that is not among the searched messages; only at the top, with two or
// more children). `roots` and every `children` list are in the order the
// THREAD response writes them.
struct ThreadForest {
    struct Node {
        std::uint32_t uid = 0;
        std::vector<std::uint32_t> children;  // indexes into nodes
    };
    std::vector<Node> nodes;
    std::vector<std::uint32_t> roots;  // indexes into nodes
};

ThreadForest thread_messages(const std::vector<ThreadMessage>& messages, ThreadAlgorithm algorithm);

}  // namespace imap::store
