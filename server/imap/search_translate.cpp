#include "server/imap/search_translate.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "store/types.h"

namespace imap::server {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        return lower(x) == lower(y);
    });
}

// RFC 3629: well-formed UTF-8 (no overlongs, surrogates or values past
// U+10FFFF).
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        unsigned char low = 0x80, high = 0xBF;  // bounds of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            length = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            length = 3;
            if (c == 0xE0) low = 0xA0;
            if (c == 0xED) high = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            length = 4;
            if (c == 0xF0) low = 0x90;
            if (c == 0xF4) high = 0x8F;
        } else {
            return false;
        }
        if (s.size() - i < length) return false;
        const auto second = static_cast<unsigned char>(s[i + 1]);
        if (second < low || second > high) return false;
        for (std::size_t k = 2; k < length; ++k) {
            const auto next = static_cast<unsigned char>(s[i + k]);
            if (next < 0x80 || next > 0xBF) return false;
        }
        i += length;
    }
    return true;
}

struct BadKey {
    std::string message;
};

class Translator {
  public:
    Translator(const SelectedMailbox& view, std::int64_t now) : view_(view), now_(now) {}

    store::SearchKey translate(const SearchKey& key) {
        using K = SearchKey::Kind;
        using S = store::SearchKey;
        switch (key.kind) {
            case K::And: {
                std::vector<S> children;
                children.reserve(key.children.size());
                for (const SearchKey& child : key.children)
                    children.push_back(translate(child));
                return S::all_of(std::move(children));
            }
            case K::All:
                return S::all();
            case K::Not:
                return S::not_(translate(key.children.at(0)));
            case K::Or:
                return S::or_(translate(key.children.at(0)), translate(key.children.at(1)));

            case K::Answered:
                return S::has_flags(store::flag::kAnswered);
            case K::Deleted:
                return S::has_flags(store::flag::kDeleted);
            case K::Draft:
                return S::has_flags(store::flag::kDraft);
            case K::Flagged:
                return S::has_flags(store::flag::kFlagged);
            case K::Seen:
                return S::has_flags(store::flag::kSeen);
            case K::Unanswered:
                return S::not_(S::has_flags(store::flag::kAnswered));
            case K::Undeleted:
                return S::not_(S::has_flags(store::flag::kDeleted));
            case K::Undraft:
                return S::not_(S::has_flags(store::flag::kDraft));
            case K::Unflagged:
                return S::not_(S::has_flags(store::flag::kFlagged));
            case K::Unseen:
                return S::not_(S::has_flags(store::flag::kSeen));
            case K::Keyword:
                // An undefined keyword (or a system flag written as one,
                // "KEYWORD \Seen") matches nothing. Unlike Dovecot, searching
                // does not define the keyword.
                return S::keyword(key.text);
            case K::Unkeyword:
                return S::not_(S::keyword(key.text));

            case K::Recent:
                return S::uid_set(recent());
            case K::New:
                // RFC 3501 6.4.4: "equivalent to (RECENT UNSEEN)".
                return S::all_of({S::uid_set(recent()), S::not_(S::has_flags(store::flag::kSeen))});
            case K::Old:
                // "equivalent to NOT RECENT".
                return S::not_(S::uid_set(recent()));

            // RFC 3501 6.4.4: "in the envelope structure's BCC field", the
            // parsed addresses (store::SearchKey::address).
            case K::Bcc:
                return address("Bcc", key.text);
            case K::Cc:
                return address("Cc", key.text);
            case K::From:
                return address("From", key.text);
            case K::Subject:
                return header("Subject", key.text);
            case K::To:
                return address("To", key.text);
            case K::Header:
                check_text(key.text);
                return header(key.text, key.text2);
            case K::Body:
                check_text(key.text);
                return S::body(key.text);
            case K::Text:
                check_text(key.text);
                return S::text_(key.text);

            case K::Before:
                return date(S::Kind::Before, key.date);
            case K::On:
                return date(S::Kind::On, key.date);
            case K::Since:
                return date(S::Kind::Since, key.date);
            case K::SentBefore:
                return date(S::Kind::SentBefore, key.date);
            case K::SentOn:
                return date(S::Kind::SentOn, key.date);
            case K::SentSince:
                return date(S::Kind::SentSince, key.date);

            // RFC 8514 4.3: every mailbox here records the save date, so
            // SAVEDATESUPPORTED matches every message.
            case K::SaveDateSupported:
                return S::all();
            case K::SavedBefore:
                return date(S::Kind::SavedBefore, key.date);
            case K::SavedOn:
                return date(S::Kind::SavedOn, key.date);
            case K::SavedSince:
                return date(S::Kind::SavedSince, key.date);

            // RFC 8474 6 (the parser checked the objectid syntax).
            case K::EmailId:
                return S::object_id(S::Kind::EmailId, key.text);
            case K::ThreadId:
                return S::object_id(S::Kind::ThreadId, key.text);

            case K::Older:
                return S::arrived(S::Kind::ArrivedAtOrBefore, now_ - key.number);
            case K::Younger:
                return S::arrived(S::Kind::ArrivedAtOrAfter, now_ - key.number);

            case K::Larger:
                return S::larger(key.number);
            case K::ModSeq:
                // RFC 7162 3.1.5: one mod-sequence per message, so the entry
                // name and type are ignored, as the RFC requires then.
                return S::modseq(key.modseq);
            case K::Smaller:
                return S::smaller(key.number);

            case K::SequenceSet:
                // Numbers past EXISTS match nothing (SelectedMailbox::resolve_search).
                return S::uid_set(view_.resolve_search(key.set));
            case K::Uid:
                // resolve() never fails for UIDs.
                return S::uid_set(view_.resolve(key.set, true).value_or(store::UidSet{}));
        }
        throw BadKey{"Unsupported search key"};
    }

  private:
    static void check_text(std::string_view text) {
        if (!valid_utf8(text)) throw BadKey{"Search string is not valid UTF-8"};
    }

    static store::SearchKey header(std::string_view field, std::string_view text) {
        check_text(text);
        return store::SearchKey::header(std::string(field), std::string(text));
    }

    static store::SearchKey address(std::string_view field, std::string_view text) {
        check_text(text);
        return store::SearchKey::address(std::string(field), std::string(text));
    }

    static store::SearchKey date(store::SearchKey::Kind kind, const Date& d) {
        return store::SearchKey::date(kind,
                                      store::days_from_civil(d.year, static_cast<unsigned>(d.month),
                                                             static_cast<unsigned>(d.day)));
    }

    // The view's messages that are \Recent for this session, as ranges.
    const store::UidSet& recent() {
        if (!recent_) {
            store::UidSet set;
            for (std::uint32_t uid : view_.uids()) {
                if (!view_.is_recent(uid)) continue;
                if (!set.empty() && set.back().last + 1ull == uid) {
                    set.back().last = uid;
                } else {
                    set.push_back({uid, uid});
                }
            }
            recent_ = std::move(set);
        }
        return *recent_;
    }

    const SelectedMailbox& view_;
    const std::int64_t now_;
    std::optional<store::UidSet> recent_;
};

}  // namespace

bool search_charset_supported(std::string_view charset) {
    return std::any_of(std::begin(kSearchCharsets), std::end(kSearchCharsets),
                       [&](std::string_view name) { return iequals(name, charset); });
}

std::variant<store::SearchKey, SearchKeyError> translate_search(const SearchKey& key,
                                                                const SelectedMailbox& view,
                                                                std::int64_t now) {
    try {
        return Translator(view, now).translate(key);
    } catch (BadKey& bad) {
        return SearchKeyError{std::move(bad.message)};
    }
}

}  // namespace imap::server
