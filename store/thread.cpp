#include "store/thread.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "store/limits.h"

namespace imap::store {
namespace {

constexpr int kNone = -1;

// RFC 5256 3 REFERENCES, steps (1) to (6), on "containers": a message, or a
// dummy standing for a message id no searched message has. Children are
// doubly linked so a link is broken in constant time (step 1.B may break
// one per message); every walk is a loop, never a recursion.
class ReferencesThreader {
  public:
    explicit ReferencesThreader(const std::vector<ThreadMessage>& messages) : messages_(messages) {
        std::size_t references = 0;
        for (const ThreadMessage& message : messages)
            references += message.references.size();
        // Never reallocated: a container for each message and each
        // reference at most, the root, and a dummy per merged subject.
        containers_.reserve(2 * messages.size() + references + 1);
        ids_.reserve(messages.size() + references);
    }

    ThreadForest run(ThreadAlgorithm algorithm) {
        link_references();  // (1)
        root_ = add();      // (2)
        for (int x = 0; x < root_; ++x)
            if (containers_[x].parent == kNone) append(root_, x);
        prune_dummies();  // (3)
        if (algorithm == ThreadAlgorithm::References) {
            sort_all();          // (4): the order (5) walks the threads in
            merge_by_subject();  // (5)
            sort_all();          // (6)
        } else {
            sort_all();
            sort_by_latest();
        }
        return forest();
    }

  private:
    struct Container {
        int message = kNone;  // index into messages_; kNone: a dummy
        int parent = kNone;
        int first = kNone;  // children
        int last = kNone;
        int prev = kNone;  // siblings
        int next = kNone;
    };

    int add() {
        containers_.emplace_back();
        return static_cast<int>(containers_.size() - 1);
    }
    bool dummy(int x) const { return containers_[x].message == kNone; }

    void unlink(int x) {
        Container& node = containers_[x];
        if (node.parent == kNone) return;
        Container& parent = containers_[node.parent];
        (node.prev != kNone ? containers_[node.prev].next : parent.first) = node.next;
        (node.next != kNone ? containers_[node.next].prev : parent.last) = node.prev;
        node.parent = node.prev = node.next = kNone;
    }
    // `x` (unlinked) as the last child of `parent`.
    void append(int parent, int x) {
        Container& node = containers_[x];
        node.parent = parent;
        node.prev = containers_[parent].last;
        node.next = kNone;
        (node.prev != kNone ? containers_[node.prev].next : containers_[parent].first) = x;
        containers_[parent].last = x;
    }
    // `x` (unlinked) as the sibling just before `at`.
    void insert_before(int at, int x) {
        Container& node = containers_[x];
        node.parent = containers_[at].parent;
        node.next = at;
        node.prev = containers_[at].prev;
        (node.prev != kNone ? containers_[node.prev].next : containers_[node.parent].first) = x;
        containers_[at].prev = x;
    }

    // Whether making `parent` the parent of `child` would make a loop
    // (`parent` is `child` or one of its descendants). A child without
    // children has no descendants; otherwise the walk up from `parent` is
    // bounded, and a chain deeper than the bound counts as a loop.
    bool would_loop(int parent, int child) const {
        if (parent == child) return true;
        if (containers_[child].first == kNone) return false;
        std::size_t steps = 0;
        for (int at = parent; at != kNone; at = containers_[at].parent) {
            if (at == child || ++steps > limits::kMaxThreadDepth) return true;
        }
        return false;
    }

    int container_for(const std::string& id) {
        auto [it, inserted] = ids_.try_emplace(id, kNone);
        if (inserted) it->second = add();
        return it->second;
    }

    // (1) A container per message, its references linked as a chain of
    // parents, then the message under its last reference.
    void link_references() {
        for (std::size_t i = 0; i < messages_.size(); ++i) {
            const ThreadMessage& message = messages_[i];
            int self = kNone;
            if (!message.message_id.empty()) {
                auto [it, inserted] = ids_.try_emplace(message.message_id, kNone);
                if (inserted) {
                    it->second = add();
                    self = it->second;
                } else if (dummy(it->second)) {
                    self = it->second;  // referenced before: the dummy is this message
                }
            }
            // No id, or one an earlier message has: an id of its own.
            if (self == kNone) self = add();
            containers_[self].message = static_cast<int>(i);

            int previous = kNone;
            for (const std::string& reference : message.references) {
                const int current = container_for(reference);
                // (1.A) An existing link is kept (References may be cut).
                if (previous != kNone && containers_[current].parent == kNone &&
                    !would_loop(previous, current)) {
                    append(previous, current);
                }
                previous = current;
            }
            // (1.B) The last reference is the parent, replacing any link (1.A)
            // made from another message's References.
            if (previous != kNone && containers_[self].parent == previous) continue;
            unlink(self);
            if (previous != kNone && !would_loop(previous, self)) append(previous, self);
        }
    }

    // (3) Dummies go: one without children is deleted, one with children
    // is replaced by them, except at the top when it has several.
    void prune_dummies() {
        std::vector<int> parents{root_};
        while (!parents.empty()) {
            const int parent = parents.back();
            parents.pop_back();
            for (int x = containers_[parent].first; x != kNone;) {
                const int next = containers_[x].next;
                if (dummy(x)) {
                    const Container& node = containers_[x];
                    if (node.first == kNone) {
                        unlink(x);
                        x = next;
                        continue;
                    }
                    if (parent != root_ || node.first == node.last) {
                        const int promoted = node.first;
                        for (int child = node.first; child != kNone;) {
                            const int following = containers_[child].next;
                            unlink(child);
                            insert_before(x, child);
                            child = following;
                        }
                        unlink(x);
                        x = promoted;  // promoted dummies are pruned in turn
                        continue;
                    }
                }
                if (containers_[x].first != kNone) parents.push_back(x);
                x = next;
            }
        }
    }

    // The message that stands for a container in the sorts and the
    // subject table: itself, or a dummy's first child.
    const ThreadMessage& representative(int x) const {
        const int y = dummy(x) ? containers_[x].first : x;
        return messages_[containers_[y].message];
    }

    // Sorts x's children by `key`, ties in mailbox order (RFC 5256 2.2).
    template <typename Key>
    void sort_children(int x, Key key) {
        std::vector<int> children;
        for (int child = containers_[x].first; child != kNone; child = containers_[child].next)
            children.push_back(child);
        if (children.size() < 2) return;
        std::vector<std::pair<std::pair<std::int64_t, int>, int>> keyed;
        keyed.reserve(children.size());
        for (int child : children)
            keyed.push_back({key(child), child});
        std::sort(keyed.begin(), keyed.end());
        for (int child : children)
            unlink(child);
        for (const auto& [k, child] : keyed)
            append(x, child);
    }

    std::pair<std::int64_t, int> date_key(int x) const {
        const int y = dummy(x) ? containers_[x].first : x;
        return {messages_[containers_[y].message].sent, containers_[y].message};
    }

    // (4)/(6): every set of siblings by sent date; a dummy (only at the top)
    // by its first child, so the top is sorted last.
    void sort_all() {
        const auto key = [this](int x) { return date_key(x); };
        for (int x = 0; x < root_; ++x)
            if (containers_[x].first != kNone) sort_children(x, key);
        for (int x = root_ + 1; x < static_cast<int>(containers_.size()); ++x)
            if (containers_[x].first != kNone) sort_children(x, key);
        sort_children(root_, key);
    }

    // THREAD=REFS: the threads by their most recent message (the latest
    // sent date anywhere in the thread), ties by the first message.
    void sort_by_latest() {
        std::unordered_map<int, std::int64_t> latest;
        for (int top = containers_[root_].first; top != kNone; top = containers_[top].next) {
            std::int64_t newest = date_key(top).first;
            std::vector<int> pending{top};
            while (!pending.empty()) {
                const int x = pending.back();
                pending.pop_back();
                if (!dummy(x)) newest = std::max(newest, messages_[containers_[x].message].sent);
                for (int child = containers_[x].first; child != kNone;
                     child = containers_[child].next)
                    pending.push_back(child);
            }
            latest[top] = newest;
        }
        sort_children(root_, [&](int x) { return std::pair{latest[x], date_key(x).second}; });
    }

    // (5) Threads whose subjects are the same base subject are merged.
    void merge_by_subject() {
        const auto is_reply = [this](int x) {
            return !dummy(x) && representative(x).reply_or_forward;
        };
        std::unordered_map<std::string_view, int> table;
        std::vector<int> tops;
        for (int x = containers_[root_].first; x != kNone; x = containers_[x].next)
            tops.push_back(x);
        table.reserve(tops.size());
        // (5.B) One thread per subject: a dummy if there is one, else the
        // first that is not a reply or forward, else the first.
        for (int x : tops) {
            const std::string& subject = representative(x).subject;
            if (subject.empty()) continue;
            auto [it, inserted] = table.try_emplace(subject, x);
            if (inserted) continue;
            const int held = it->second;
            if (!dummy(held) && (dummy(x) || (is_reply(held) && !is_reply(x)))) it->second = x;
        }
        // (5.C)
        for (int x : tops) {
            if (containers_[x].parent != root_) continue;  // merged already
            const std::string& subject = representative(x).subject;
            if (subject.empty()) continue;
            const auto it = table.find(subject);
            const int held = it->second;
            if (held == x) continue;
            if (dummy(held) && dummy(x)) {
                while (containers_[x].first != kNone) {
                    const int child = containers_[x].first;
                    unlink(child);
                    append(held, child);
                }
                unlink(x);
            } else if (dummy(held) || (is_reply(x) && !is_reply(held))) {
                unlink(x);
                append(held, x);
            } else {
                const int parent = add();
                insert_before(held, parent);
                unlink(held);
                append(parent, held);
                unlink(x);
                append(parent, x);
                it->second = parent;
            }
        }
    }

    ThreadForest forest() const {
        ThreadForest result;
        std::vector<std::pair<int, std::uint32_t>> pending;  // container, node
        const auto make = [&](int x) {
            result.nodes.push_back({dummy(x) ? 0u : messages_[containers_[x].message].uid, {}});
            const auto node = static_cast<std::uint32_t>(result.nodes.size() - 1);
            pending.push_back({x, node});
            return node;
        };
        for (int x = containers_[root_].first; x != kNone; x = containers_[x].next)
            result.roots.push_back(make(x));
        while (!pending.empty()) {
            const auto [x, node] = pending.back();
            pending.pop_back();
            for (int child = containers_[x].first; child != kNone;
                 child = containers_[child].next) {
                const std::uint32_t made = make(child);
                result.nodes[node].children.push_back(made);
            }
        }
        return result;
    }

    const std::vector<ThreadMessage>& messages_;
    std::vector<Container> containers_;
    std::unordered_map<std::string_view, int> ids_;
    int root_ = kNone;
};

// RFC 5256 3 ORDEREDSUBJECT: by base subject then sent date, one thread per
// subject, the threads by their first message's date; the first message
// is the parent of the others.
ThreadForest ordered_subject(const std::vector<ThreadMessage>& messages) {
    std::vector<std::size_t> order(messages.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const ThreadMessage& x = messages[a];
        const ThreadMessage& y = messages[b];
        if (x.subject != y.subject) return x.subject < y.subject;
        if (x.sent != y.sent) return x.sent < y.sent;
        return a < b;
    });
    ThreadForest result;
    std::vector<std::pair<std::pair<std::int64_t, std::size_t>, std::uint32_t>> threads;
    for (std::size_t k = 0; k < order.size(); ++k) {
        const ThreadMessage& message = messages[order[k]];
        result.nodes.push_back({message.uid, {}});
        const auto node = static_cast<std::uint32_t>(result.nodes.size() - 1);
        if (k > 0 && messages[order[k - 1]].subject == message.subject) {
            result.nodes[threads.back().second].children.push_back(node);
        } else {
            threads.push_back({{message.sent, order[k]}, node});
        }
    }
    std::sort(threads.begin(), threads.end());
    for (const auto& thread : threads)
        result.roots.push_back(thread.second);
    return result;
}

}  // namespace

ThreadForest thread_messages(const std::vector<ThreadMessage>& messages,
                             ThreadAlgorithm algorithm) {
    if (algorithm == ThreadAlgorithm::OrderedSubject) return ordered_subject(messages);
    return ReferencesThreader(messages).run(algorithm);
}

}  // namespace imap::store
