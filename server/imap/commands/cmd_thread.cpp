// THREAD and UID THREAD (RFC 5256 3 BASE.6.4.THREAD): "* THREAD" with the
// matching messages as threads, then the tagged OK. The search part is
// SEARCH's (cmd_search.cpp); the threading is the store's
// (store/thread.h): ORDEREDSUBJECT, REFERENCES, and REFS (Dovecot's
// THREAD=REFS). Another algorithm name is a BAD, as in Dovecot.
//
// The response (RFC 5256 5 thread-data): "THREAD" [SP 1*thread-list], a
// message followed by its only child on the same level, several children
// each in parentheses, a dummy parent (top level only) as just its
// children: "* THREAD (2)(3 6 (4 23)(44 7 96))((3)(5))". An empty result
// is "* THREAD" (Dovecot writes "* THREAD " with a space). Written without
// recursion: a chain of 100,000 replies is one flat list.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/search_common.h"
#include "server/imap/session.h"

namespace imap::server {
namespace {

std::optional<store::ThreadAlgorithm> algorithm_named(std::string_view name) {
    if (name == "ORDEREDSUBJECT") return store::ThreadAlgorithm::OrderedSubject;
    if (name == "REFERENCES") return store::ThreadAlgorithm::References;
    if (name == "REFS") return store::ThreadAlgorithm::Refs;
    return std::nullopt;
}

// 1*thread-list for `forest`, numbers from `number_of` (0: not in the view,
// written as a dummy would be).
template <typename NumberOf>
std::string thread_lists(const store::ThreadForest& forest, NumberOf number_of) {
    enum class Step { Open, Members, Close };
    std::vector<std::pair<Step, std::uint32_t>> steps;
    const auto push_list = [&steps](std::uint32_t node) {
        steps.push_back({Step::Close, node});
        steps.push_back({Step::Members, node});
        steps.push_back({Step::Open, node});
    };
    for (auto it = forest.roots.rbegin(); it != forest.roots.rend(); ++it)
        push_list(*it);
    std::string out;
    while (!steps.empty()) {
        const auto [step, first] = steps.back();
        steps.pop_back();
        if (step == Step::Open) {
            out += '(';
            continue;
        }
        if (step == Step::Close) {
            out += ')';
            continue;
        }
        // thread-members = nz-number *(SP nz-number) [SP thread-nested]
        std::uint32_t node = first;
        bool wrote = false;
        for (;;) {
            const std::uint32_t number = number_of(forest.nodes[node].uid);
            if (number != 0) {
                if (wrote) out += ' ';
                out += std::to_string(number);
                wrote = true;
            }
            const std::vector<std::uint32_t>& children = forest.nodes[node].children;
            if (children.size() != 1 || number == 0) break;
            node = children.front();
        }
        // thread-nested = 2*thread-list
        const std::vector<std::uint32_t>& children = forest.nodes[node].children;
        if (children.empty()) continue;
        if (wrote) out += ' ';
        for (auto it = children.rbegin(); it != children.rend(); ++it)
            push_list(*it);
    }
    return out;
}

}  // namespace

CommandResult cmd_thread(Session& session, Command& command) {
    const ThreadCommand& thread = std::get<ThreadCommand>(command.body);
    const std::string name(command_name(command.body));
    const auto algorithm = algorithm_named(thread.algorithm);
    if (!algorithm) return CommandResult::bad(name + ": Unknown thread algorithm");
    auto key = view_search_key(session, name, thread.charset, thread.key);
    if (!key) return key.refusal();

    ResponseWriter& w = session.writer();
    w.begin_untagged().atom("THREAD");
    if (*key) {
        const SelectedMailbox& view = *session.selected();
        const store::ThreadForest forest =
            session.mail()->store().thread(view.id(), **key, *algorithm);
        if (!forest.roots.empty()) {
            w.sp().raw(thread_lists(forest, [&](std::uint32_t uid) -> std::uint32_t {
                if (uid == 0) return 0;
                if (thread.uid) return view.sequence_of(uid) ? uid : 0;
                return view.sequence_of(uid).value_or(0);
            }));
        }
    }
    w.end();
    return CommandResult::ok(name + " completed");
}

}  // namespace imap::server
