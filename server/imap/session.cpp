#include "server/imap/session.h"

#include <algorithm>
#include <exception>
#include <set>
#include <stdexcept>
#include <utility>
#include <variant>

#include "protocol/limits.h"
#include "protocol/parser.h"
#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/imap/beside_strand.h"
#include "server/imap/commands/handlers.h"
#include "server/imap/fetch_job.h"
#include "store/errors.h"
#include "store/limits.h"

namespace imap::server {

std::string_view state_name(SessionState state) {
    switch (state) {
        case SessionState::NotAuthenticated:
            return "not authenticated";
        case SessionState::Authenticated:
            return "authenticated";
        case SessionState::Selected:
            return "selected";
        case SessionState::Logout:
            break;
    }
    return "logout";
}

Session::Session(SessionContext context, Authenticator& authenticator, MailAccess* mail_access,
                 const CommandTable& table)
    : context_(std::move(context)),
      authenticator_(authenticator),
      mail_access_(mail_access),
      table_(table),
      framer_(framer_limits_for(SessionState::NotAuthenticated)),
      tls_(context_.tls) {}

Session::~Session() {
    // A password check still running elsewhere must not answer into a
    // destroyed session (AuthRequest::cancelled).
    gone_->store(true);
}

FramerLimits Session::framer_limits_for(SessionState state) const {
    FramerLimits limits = context_.framer_limits;
    // Every literal is announced to on_literal_request() before any of its
    // bytes is read, {n+} too, so one over its command's limit is refused
    // at once and never buffered.
    limits.max_unconfirmed_literal = 0;
    if (state == SessionState::NotAuthenticated) {
        // What an anonymous peer can make the server hold or read for one
        // command (protocol/limits.h); a larger {n+} ends the connection.
        limits.max_command_size = std::min(limits.max_command_size, limits::kMaxPreAuthCommandSize);
        limits.max_literal_size = std::min(limits.max_literal_size, limits::kMaxPreAuthCommandSize);
        limits.max_drainable_literal =
            std::min(limits.max_drainable_literal, limits::kMaxPreAuthCommandSize);
    }
    return limits;
}

void Session::greeting() {
    writer_.untagged(Status::Ok, ResponseCode::capability(capabilities()), "imapd ready.");
}

std::vector<std::string> Session::capabilities() const {
    // RFC 7888: every command takes {n+}. Before login LITERAL- (at most
    // 4096 octets each: nothing an anonymous client sends needs more, and a
    // {n} can be refused before its bytes come), LITERAL+ after.
    // RFC 9051 7.2.2: a server speaking both versions lists both;
    // IMAP4rev2 is switched on per session by ENABLE (cmd_enable.cpp).
    std::vector<std::string> caps = {
        "IMAP4rev1", "IMAP4rev2",
        state_ == SessionState::NotAuthenticated ? "LITERAL-" : "LITERAL+"};
    for (const CommandSpec& row : table_.rows()) {
        if (row.handler == nullptr || row.capability.empty()) continue;
        // Before login, what can be used before login; after it, everything
        // usable after login (MOVE is announced in the authenticated state,
        // where clients read the list, though it runs only when selected).
        const unsigned relevant =
            state_ == SessionState::NotAuthenticated ? kNotAuthenticated : kAuthenticatedOrSelected;
        if ((row.states & relevant) == 0) continue;
        // RFC 3501 6.2.1: STARTTLS only where it can work, never over TLS.
        if (row.capability == "STARTTLS" && (tls_ || !context_.starttls_available)) continue;
        caps.emplace_back(row.capability);
    }
    if (state_ != SessionState::NotAuthenticated) {
        // Extensions that are not a command of their own, advertised once
        // they work end to end (one line each, with the RFC):
        caps.emplace_back("UIDPLUS");        // RFC 4315: APPENDUID, COPYUID, UID EXPUNGE
        caps.emplace_back("MULTIAPPEND");    // RFC 3502: APPEND of several, atomically
        caps.emplace_back("CHILDREN");       // RFC 3348: LIST \HasChildren/\HasNoChildren
        caps.emplace_back("CONDSTORE");      // RFC 7162 3.1: MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE
        caps.emplace_back("QRESYNC");        // RFC 7162 3.2: SELECT (QRESYNC ...), VANISHED
        caps.emplace_back("LIST-EXTENDED");  // RFC 5258 (cmd_list.cpp)
        caps.emplace_back("LIST-STATUS");    // RFC 5819: LIST ... RETURN (STATUS (...))
        caps.emplace_back("SPECIAL-USE");    // RFC 6154: \Sent, \Trash... in LIST
        caps.emplace_back("CREATE-SPECIAL-USE");  // RFC 6154 3: CREATE name (USE (...))
        caps.emplace_back("STATUS=SIZE");         // RFC 8438
        caps.emplace_back("APPENDLIMIT=" +
                          std::to_string(store::limits::kMaxMessageSize));  // RFC 7889
        caps.emplace_back("ESEARCH");  // RFC 4731: SEARCH RETURN (MIN MAX ALL COUNT)
        // RFC 3516: FETCH BINARY[], BINARY.PEEK[], BINARY.SIZE[] (fetch_job.cpp),
        // APPEND with literal8.
        caps.emplace_back("BINARY");
        // RFC 5256 SORT and THREAD (cmd_sort.cpp, cmd_thread.cpp), RFC 5957
        // DISPLAYFROM/DISPLAYTO, RFC 5267 3 SORT RETURN (...).
        caps.emplace_back("SORT");
        caps.emplace_back("SORT=DISPLAY");
        caps.emplace_back("THREAD=ORDEREDSUBJECT");
        caps.emplace_back("THREAD=REFERENCES");
        caps.emplace_back("THREAD=REFS");
        caps.emplace_back("ESORT");
        caps.emplace_back("WITHIN");  // RFC 5032: SEARCH OLDER / YOUNGER (search_translate.cpp)
        // RFC 5182: SEARCH RETURN (SAVE) and "$" (cmd_search.cpp,
        // SelectedMailbox::save_result).
        caps.emplace_back("SEARCHRES");
        // XLIST: the pre-SPECIAL-USE Gmail command old Outlook and Apple
        // Mail versions look for in CAPABILITY (cmd_xlist.cpp).
        caps.emplace_back("XLIST");
        // RFC 9394: SEARCH/SORT RETURN (PARTIAL) and UID FETCH (PARTIAL)
        // (search_common.cpp, cmd_fetch.cpp).
        caps.emplace_back("PARTIAL");
        // RFC 4469: APPEND ... CATENATE (catenate.cpp), with RFC 5550's
        // URL-PARTIAL (";PARTIAL=" in its URLs).
        caps.emplace_back("CATENATE");
        caps.emplace_back("REPLACE");  // RFC 8508 (cmd_replace.cpp)
        caps.emplace_back("URL-PARTIAL");
        // RFC 8474: MAILBOXID in SELECT/EXAMINE/CREATE/STATUS, FETCH and
        // SEARCH EMAILID/THREADID (store/body_objects.h).
        caps.emplace_back("OBJECTID");
        caps.emplace_back("SAVEDATE");  // RFC 8514: FETCH SAVEDATE, SEARCH SAVED*
        caps.emplace_back("PREVIEW");   // RFC 8970: FETCH PREVIEW [(LAZY)]
        // RFC 5267 4: SEARCH / SORT RETURN (UPDATE), ADDTO / REMOVEFROM,
        // CANCELUPDATE (search_contexts.h, cmd_cancelupdate.cpp).
        caps.emplace_back("CONTEXT=SEARCH");
        caps.emplace_back("CONTEXT=SORT");
        // RFC 6855: ENABLE UTF8=ACCEPT (UTF-8 mailbox names and quoted
        // strings, APPEND UTF8). Not UTF8=ONLY: IMAP4rev1 clients keep
        // their modified UTF-7 names.
        caps.emplace_back("UTF8=ACCEPT");
        // RFC 5465 (cmd_notify.cpp, notify.h).
        caps.emplace_back("NOTIFY");
    }
    if (state_ == SessionState::NotAuthenticated) {
        // RFC 3501 6.2.3 and 7.2.1: LOGINDISABLED when LOGIN would be refused;
        // the plaintext mechanisms are then hidden as well, as Dovecot does,
        // so clients do not offer the password in clear.
        for (std::string_view mechanism :
             sasl::Registry::standard().advertised(sasl_connection(*this))) {
            caps.push_back("AUTH=" + std::string(mechanism));
        }
        if (!plaintext_auth_allowed()) caps.emplace_back("LOGINDISABLED");
    }
    return caps;
}

void Session::receive(std::string_view plaintext) {
    if (wants_close() || starttls_requested() || compression_requested()) return;
    const UserMail::Acting acting(mail_.get(), this);  // RFC 5465 5: our own changes
    framer_.feed(plaintext);
    process();
}

void Session::resume() {
    const UserMail::Acting acting(mail_.get(), this);
    if (notify_output_pending_) {
        push_notifications();
        if (notify_output_pending_) return;  // still behind
    }
    if (idle_update_pending()) idle_sync();  // the caller sends the output
    process();
}

void Session::tls_started() {
    tls_ = true;
    if (starttls_requested()) mode_ = session_mode::Ready{};
}

void Session::compression_started() {
    compression_ = true;
    if (compression_requested()) mode_ = session_mode::Ready{};
}

bool Session::logged_in(std::string user) {
    if (mail_access_ != nullptr) {
        try {
            mail_ = mail_access_->open(user);
        } catch (const std::exception& error) {
            log::error("mail_open_failed", {{"user", user}, {"error", error.what()}});
            return false;
        }
    }
    user_ = std::move(user);
    state_ = SessionState::Authenticated;
    framer_.set_limits(framer_limits_for(state_));
    // cmd_login took the slot (LoginGate::admit) before calling us.
    holds_login_slot_ = context_.login_gate != nullptr;
    return true;
}

void Session::release_login_slot() {
    if (!holds_login_slot_) return;
    holds_login_slot_ = false;
    context_.login_gate->release(user_);
}

void Session::select(std::unique_ptr<SelectedMailbox> view) {
    selected_ = std::move(view);
    state_ = SessionState::Selected;
}

void Session::deselect() {
    selected_.reset();
    if (state_ == SessionState::Selected) state_ = SessionState::Authenticated;
}

void Session::sync_selected(bool hold_expunges) {
    if (!selected_) return;
    SyncOptions options;
    // RFC 3501 7.4.1: no EXPUNGE while responding to FETCH, STORE or SEARCH
    // (and, as RFC 9051 7.5.1 adds, COPY and MOVE) by sequence number: the
    // client may have pipelined more commands whose numbers must not shift.
    options.allow_expunge =
        !hold_expunges && (running_ == nullptr || (running_->pipelining & kUsesSeqs) == 0);
    // RFC 9051 7.5.2 (Appendix E 21): every unsolicited FETCH carries UID.
    options.with_uid = running_uid_ || imap4rev2_;
    options.condstore = condstore_;
    options.qresync = qresync_;
    try {
        selected_->sync(writer_, options);
    } catch (const store::StoreError& error) {
        if (error.code() != store::StoreErrc::NotFound) throw;
        // The mailbox was deleted by another session. Like Dovecot, end the
        // connection: the client's view can no longer be kept consistent.
        writer_.bye("Selected mailbox was deleted, have to disconnect");
        selected_.reset();
        close();
    }
}

void Session::close() {
    state_ = SessionState::Logout;
    mode_ = session_mode::Closing{};
    release_login_slot();
}

void Session::sync_before_tagged() {
    try {
        sync_selected();
    } catch (const std::exception& error) {
        log::error("sync_failed", {{"user", user_}, {"error", error.what()}});
    }
    // The sync reported the selected mailbox as the command allows.
    notify_selected_pending_ = false;
    if (notifier_ && !wants_close()) write_notifications(false);
}

void Session::set_notify(std::optional<NotifyRules> rules, bool write_status) {
    notify_subscription_.reset();
    notifier_.reset();
    notify_selected_pending_ = false;
    notify_output_pending_ = false;
    if (!rules || !mail_) return;
    std::set<std::string> subscribed;
    if (rules->watches_subscribed()) {
        for (const store::ListEntry& entry : mail_->store().list_subscribed("*"))
            subscribed.insert(entry.name);
    }
    notifier_ = std::make_unique<Notifier>(*this, std::move(*rules), std::move(subscribed));
    std::optional<store::MailboxId> selected;
    if (selected_) selected = selected_->id();
    notifier_->start(mail_->store(), selected, write_status ? &writer_ : nullptr, condstore_);
    notify_subscription_ =
        mail_->subscribe([this](store::MailboxId mailbox) { notify_mailbox_changed(mailbox); },
                         [this](const store::NameChange& change) { notify_name_changed(change); });
}

void Session::notify_mailbox_changed(store::MailboxId mailbox) {
    // RFC 5465 5: not the session's own changes (its command reports what
    // it did to the selected mailbox anyway).
    if (!notifier_) return;
    if (mail_->actor() == this) {
        // Not reported, but learnt (at the command's end), so that a later
        // look at the mailbox does not report it either.
        if (!selected_ || selected_->id() != mailbox) notifier_->mailbox_changed(mailbox, true);
        return;
    }
    if (selected_ && selected_->id() == mailbox) {
        if (notifier_->rules().selected == NotifyRules::Selected::None) return;
        notify_selected_pending_ = true;
    } else {
        notifier_->mailbox_changed(mailbox);
    }
    push_notifications();
}

void Session::notify_name_changed(const store::NameChange& change) {
    if (!notifier_) return;
    // The own change is not written, but SUBSCRIBED and the watched
    // mailboxes follow it.
    const bool own = mail_->actor() == this;
    notifier_->name_changed(change, own);
    if (!own) push_notifications();
}

bool Session::can_push() const {
    if (idling()) return true;
    return std::holds_alternative<session_mode::Ready>(mode_) && running_ == nullptr &&
           state_ != SessionState::NotAuthenticated;
}

void Session::push_notifications() {
    if (!notifier_ || !can_push()) return;  // the running command's end writes it
    if (!notifier_->pending() && !notifier_->overflowed() && !notify_selected_pending_) return;
    if (unsent() >= kOutputHighWater) {
        // The client is behind: like IDLE, nothing more until it has read
        // (resume()); the queue meanwhile is bounded (kMaxQueuedNotifications).
        notify_output_pending_ = true;
        return;
    }
    notify_output_pending_ = false;
    const std::size_t before = output_.size();
    write_notifications(true);
    if (output_.size() != before && output_listener_) output_listener_();
}

void Session::write_notifications(bool selected_too) {
    if (notifier_->overflowed()) {
        // RFC 5465 5.8: as if NOTIFY NONE had been received.
        set_notify(std::nullopt, false);
        writer_.untagged(Status::Ok, ResponseCode::extension("NOTIFICATIONOVERFLOW"),
                         "Too many notifications queued, NOTIFY is now off");
        return;
    }
    try {
        std::optional<store::MailboxId> selected;
        if (selected_) selected = selected_->id();
        notifier_->write_pending(mail_->store(), writer_, selected, condstore_);
        if (!selected_too || !std::exchange(notify_selected_pending_, false) || !selected_) return;
        const NotifyRules& rules = notifier_->rules();
        const std::uint32_t last_uid = selected_->uids().empty() ? 0 : selected_->uids().back();
        // RFC 5465 6.1.2: SELECTED-DELAYED holds expunges until a command
        // that allows them; IDLE is one (RFC 2177 3).
        sync_selected(rules.selected == NotifyRules::Selected::Delayed && !idling());
        if (wants_close() || !selected_ || rules.fetch.empty()) return;
        fetch_new_messages(last_uid);
    } catch (const std::exception& error) {
        // Not fatal: the next change or command tries again.
        log::error("notify_failed", {{"user", user_}, {"error", error.what()}});
    }
}

void Session::fetch_new_messages(std::uint32_t after) {
    const ViewUids& uids = selected_->uids();
    const auto first = std::upper_bound(uids.begin(), uids.end(), after);
    if (first == uids.end()) return;
    // RFC 5465 5.2: one FETCH per new message with the attributes asked,
    // UID first (as in the RFC's example); they never set \Seen
    // (cmd_notify.cpp made them PEEK).
    FetchCommand request;
    request.uid = true;
    request.items = notifier_->rules().fetch;
    store::UidSet set;
    set.push_back({*first, uids.back()});
    FetchJob job(request, set, *selected_, condstore_);
    job.write_whole();
    job.step(*this);
}

void Session::complete(const std::string& tag, Status status, std::string_view text) {
    sync_before_tagged();
    completed_status_ = status;
    if (wants_close()) return;  // sync_selected() ended the session with BYE
    writer_.tagged(tag, status, text);
}

void Session::complete(const std::string& tag, Status status, const ResponseCode& code,
                       std::string_view text) {
    sync_before_tagged();
    completed_status_ = status;
    if (wants_close()) return;
    writer_.tagged(tag, status, code, text);
}

void Session::enable_condstore() {
    if (condstore_) return;
    condstore_ = true;
    if (selected_) {
        writer_.untagged(Status::Ok, ResponseCode::highestmodseq(selected_->reported_modseq()),
                         "Highest");
    }
}

void Session::enable_qresync() {
    enable_condstore();
    qresync_ = true;
}

void Session::enable_utf8_accept() {
    utf8_accept_ = true;
    writer_.allow_utf8_quoted();
}

void Session::enable_imap4rev2() {
    imap4rev2_ = true;
    writer_.allow_utf8_quoted();
}

void Session::complete_expunge(const std::string& tag, bool expunged, std::string_view text) {
    if (!expunged || !condstore_) return complete(tag, Status::Ok, text);
    sync_before_tagged();
    completed_status_ = Status::Ok;
    if (wants_close()) return;
    if (selected_) {
        writer_.tagged(tag, Status::Ok, ResponseCode::highestmodseq(selected_->reported_modseq()),
                       text);
    } else {
        writer_.tagged(tag, Status::Ok, text);
    }
}

void Session::fail(const std::string& tag, const std::exception& error) {
    if (const auto* store_error = dynamic_cast<const store::StoreError*>(&error)) {
        // A limit SQLite found carries its message (SQL text) as the nested
        // exception: for the log, never for the client.
        if (const auto* nested = dynamic_cast<const std::nested_exception*>(&error);
            nested != nullptr && nested->nested_ptr() != nullptr) {
            try {
                nested->rethrow_nested();
            } catch (const std::exception& inner) {
                log::warning(
                    "command_refused",
                    {{"user", user_}, {"error", store_error->what()}, {"detail", inner.what()}});
            } catch (...) {
            }
        }
        Code code = Code::ServerBug;
        switch (store_error->code()) {
            case store::StoreErrc::NotFound:
            case store::StoreErrc::NoSelect:
                code = Code::NonExistent;
                break;
            case store::StoreErrc::AlreadyExists:
                code = Code::AlreadyExists;
                break;
            case store::StoreErrc::HasChildren:
                return complete(tag, Status::No, ResponseCode::extension("HASCHILDREN"),
                                store_error->what());
            case store::StoreErrc::InvalidName:
            case store::StoreErrc::NotPermitted:
                code = Code::Cannot;
                break;
            case store::StoreErrc::OverLimit:
                code = Code::Limit;
                break;
            case store::StoreErrc::TooBig:
                return complete(tag, Status::No, ResponseCode::extension("TOOBIG"),
                                store_error->what());
            case store::StoreErrc::Corrupt:
                code = Code::Corruption;
                break;
            case store::StoreErrc::Expunged:
                code = Code::ExpungeIssued;  // RFC 5530
                break;
            case store::StoreErrc::Busy:
                // RFC 5530 INUSE: another process holds the mailbox; try
                // later. A fixed text: the store's names the backend's lock.
                return complete(tag, Status::No, Code::InUse,
                                "The mailbox is busy, try again later");
        }
        return complete(tag, Status::No, code, store_error->what());
    }
    log::error("command_failed", {{"user", user_}, {"error", error.what()}});
    complete(tag, Status::No, Code::ServerBug, "Internal error, the command was not completed");
}

namespace {

// What `call` returns, or the Failure of the exception it threw: an
// exception escaping a handler, a step or an exchange's callback ends the
// command with Session::fail().
template <class Call>
auto guarded(Call&& call) -> decltype(call()) {
    try {
        return call();
    } catch (const std::exception&) {
        return CommandResult::failed(std::current_exception());
    }
}

}  // namespace

void Session::apply(std::string tag, CommandResult result) {
    CommandResult::Outcome& next = result.outcome();
    if (result.ends_command()) return finish(tag, next);
    if (auto* steps = std::get_if<outcome::Steps>(&next)) {
        mode_ = session_mode::RunningSteps{std::move(tag), std::move(steps->step)};
        run_step();
    } else if (auto* continuation = std::get_if<outcome::Continuation>(&next)) {
        mode_ =
            session_mode::AwaitingContinuation{std::move(tag), std::move(continuation->handler)};
        framer_.expect_raw_line();
    } else if (auto* idle = std::get_if<outcome::Idle>(&next)) {
        begin_idle(std::move(tag), std::move(idle->on_line));
    } else if (auto* delay = std::get_if<outcome::Delay>(&next)) {
        mode_ = session_mode::Delayed{std::move(tag), delay->duration, std::move(delay->then)};
    } else if (auto* verify = std::get_if<outcome::Verify>(&next)) {
        mode_ = session_mode::Verifying{std::move(tag), std::move(verify->then), true};
        std::string login_user = verify->user;
        AuthRequest request{std::move(verify->user), std::move(verify->password), context_.peer,
                            context_.post_to_loop, gone_};
        auto on_answer = [this, gone = gone_,
                          login_user = std::move(login_user)](AuthResult answer) {
            // On this session's thread, now or later; never after it is gone.
            if (gone->load()) return;
            if (answer == AuthResult::Ok && context_.run_as_user) {
                // Logged in: the rest where the user's mail lives (its
                // strand, SessionContext::run_as_user); the session waits
                // meanwhile, as for an answer from the pool.
                if (auto* waiting = std::get_if<session_mode::Verifying>(&mode_)) {
                    waiting->in_call = false;
                }
                context_.run_as_user(login_user, [this, gone, answer] {
                    if (!gone->load()) verified(answer);
                });
                return;
            }
            verified(answer);
        };
        try {
            if (verify->decided) {
                on_answer(*verify->decided);
            } else {
                authenticator_.authenticate(std::move(request), std::move(on_answer));
            }
        } catch (const std::exception&) {
            // The Authenticator could not take the request: the command
            // ends with fail(), as when a handler throws.
            auto* waiting = std::get_if<session_mode::Verifying>(&mode_);
            if (waiting == nullptr) throw;  // answered already
            std::string failed_tag = std::move(waiting->tag);
            mode_ = session_mode::Ready{};
            return apply(std::move(failed_tag), CommandResult::failed(std::current_exception()));
        }
        // Not answered inline: the answer comes later, from the loop.
        if (auto* waiting = std::get_if<session_mode::Verifying>(&mode_)) waiting->in_call = false;
    }
}

void Session::finish(const std::string& tag, CommandResult::Outcome& result) {
    const auto write = [&](const outcome::Tagged& line) {
        if (!line.with_updates) {
            completed_status_ = line.status;
            if (line.code) {
                writer_.tagged(tag, line.status, *line.code, line.text);
            } else {
                writer_.tagged(tag, line.status, line.text);
            }
        } else if (line.code) {
            complete(tag, line.status, *line.code, line.text);
        } else {
            complete(tag, line.status, line.text);
        }
    };
    if (const auto* tagged = std::get_if<outcome::Tagged>(&result)) {
        write(*tagged);
    } else if (const auto* expunge = std::get_if<outcome::ExpungeTagged>(&result)) {
        complete_expunge(tag, expunge->expunged, expunge->text);
    } else if (const auto* failure = std::get_if<outcome::Failure>(&result)) {
        try {
            std::rethrow_exception(failure->error);
        } catch (const std::exception& error) {
            fail(tag, error);
        } catch (...) {
            fail(tag, std::runtime_error("an exception not derived from std::exception"));
        }
    } else if (const auto* starttls = std::get_if<outcome::StartTls>(&result)) {
        write(starttls->ok);
        // RFC 3501 6.2.1: whatever the client pipelined after STARTTLS
        // arrived in plaintext and must not be executed once TLS is up
        // (CVE-2011-0411).
        framer_.discard_buffered();
        if (!wants_close()) mode_ = session_mode::StartingTls{};
    } else if (const auto* compress = std::get_if<outcome::StartCompression>(&result)) {
        write(compress->ok);
        // RFC 4978 3: the client sends nothing more until it has the OK,
        // so anything behind COMPRESS came too early: it was not compressed
        // for the inflater, and running it as commands would let bytes
        // jump the layer.
        framer_.discard_buffered();
        if (!wants_close()) {
            plain_output_left_ = output_.size();
            mode_ = session_mode::StartingCompression{};
        }
    } else if (const auto* closing = std::get_if<outcome::Close>(&result)) {
        if (closing->last) write(*closing->last);
        close();
    }
    log_command_done();
    running_ = nullptr;
    running_uid_ = false;
}

void Session::run_step() {
    auto& running = std::get<session_mode::RunningSteps>(mode_);
    std::string tag = std::move(running.tag);
    CommandStep step = std::move(running.step);
    // Out of the mode while it runs: nothing the step does can destroy it.
    mode_ = session_mode::Ready{};
    std::optional<CommandResult> result = guarded([&] { return step(*this); });
    if (result) return apply(std::move(tag), std::move(*result));
    if (std::holds_alternative<session_mode::Ready>(mode_)) {
        mode_ = session_mode::RunningSteps{std::move(tag), std::move(step)};
    }
}

void Session::log_command_done() {
    if (running_ == nullptr) return;
    const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - running_since_);
    const char* status = completed_status_ == Status::Ok   ? "ok"
                         : completed_status_ == Status::No ? "no"
                                                           : "bad";
    metrics().command_done(running_->name, status, elapsed);
    if (!log::enabled(LogLevel::Debug)) return;
    log::debug("command", {{"peer", context_.peer},
                           {"user", user_},
                           {"command", running_->name},
                           {"status", status},
                           {"duration_us", static_cast<std::int64_t>(elapsed.count())}});
}

void Session::log_refused(std::string_view name, Status status, std::string_view reason) {
    if (!log::enabled(LogLevel::Debug)) return;
    // The same event as a command that ran, so an operator reading the log
    // sees why a client's command never ran; the name only when known.
    const char* status_name = status == Status::No ? "no" : "bad";
    if (name.empty()) {
        log::debug(
            "command",
            {{"peer", context_.peer}, {"user", user_}, {"status", status_name}, {"error", reason}});
    } else {
        log::debug("command", {{"peer", context_.peer},
                               {"user", user_},
                               {"command", name},
                               {"status", status_name},
                               {"error", reason}});
    }
}

void Session::run_handler(const CommandSpec& spec, Command& command) {
    running_ = &spec;
    running_uid_ = spec.name.starts_with("UID ");
    running_since_ = std::chrono::steady_clock::now();
    completed_status_ = Status::Ok;
    // Not with NOTIFY on: other sessions' commits reach this session's
    // notifier from the strand at any time, which must not race a handler
    // running away.
    if (context_.beside_strand.away && mail_ && !notifier_ && reads_beside_strand(command.body)) {
        // No reader free (kMaxReaders lent): here, as always.
        if (auto lease = mail_->lease_reader())
            return read_beside(spec, command, std::move(*lease));
    }
    CommandResult result = guarded([&] { return spec.handler(*this, command); });
    apply(command.tag, std::move(result));
}

void Session::read_beside(const CommandSpec& spec, Command& command, UserMail::ReaderLease lease) {
    mode_ = session_mode::ReadingBeside{command.tag, std::move(lease), &spec, std::move(command),
                                        std::nullopt};
    context_.beside_strand.away([this] { read_away(); });
}

void Session::read_away() {
    // On a worker, the session's only task there (SessionHost::run_away):
    // nothing else touches the session meanwhile. The strand goes on with
    // the user's other sessions; this command reads through its own
    // connection, one snapshot for all its reads (a read batch), which
    // shows every commit made before the command started.
    if (auto* reading = std::get_if<session_mode::ReadingBeside>(&mode_)) {
        // Out of the mode while the handler runs (it could end the mode).
        UserMail::ReaderLease lease = std::move(reading->lease);
        const CommandSpec& spec = *reading->spec;
        Command command = std::move(reading->command);
        std::optional<CommandResult> result;
        {
            UserMail::ReaderScope scope(*mail_, lease.store());
            store::ReadBatch batch(mail_->store());
            result = guarded([&] { return spec.handler(*this, command); });
            // A command in steps (FETCH) goes on here until a step yields:
            // at the high-water mark, or before a message too big to write
            // whole here (FetchJob::fits_beside). The rest runs on the
            // strand, once the client has read (reading there with the
            // writer).
            while (auto* steps = std::get_if<outcome::Steps>(&result->outcome())) {
                if (output_.size() >= kOutputHighWater) break;
                std::optional<CommandResult> next = guarded([&] { return steps->step(*this); });
                if (!next) break;
                result = std::move(next);
            }
        }
        if (auto* still = std::get_if<session_mode::ReadingBeside>(&mode_)) {
            still->result = std::move(result);
        }
    }
    context_.beside_strand.home([this] { back_from_reading(); });
}

void Session::back_from_reading() {
    auto* reading = std::get_if<session_mode::ReadingBeside>(&mode_);
    if (reading == nullptr || !reading->result) return;  // abandoned meanwhile
    std::string tag = std::move(reading->tag);
    CommandResult result = std::move(*reading->result);
    mode_ = session_mode::Ready{};
    const UserMail::Acting acting(mail_.get(), this);  // RFC 5465 5: our own changes
    // The tagged line, after the mailbox updates, from the strand: the
    // view syncs with the writer, as for every command.
    apply(std::move(tag), std::move(result));
    process();
}

std::chrono::milliseconds Session::pending_delay() const {
    const auto* delayed = std::get_if<session_mode::Delayed>(&mode_);
    return delayed != nullptr ? delayed->duration : std::chrono::milliseconds::zero();
}

void Session::delay_elapsed() {
    auto* delayed = std::get_if<session_mode::Delayed>(&mode_);
    if (delayed == nullptr) return;
    std::string tag = std::move(delayed->tag);
    DelayedHandler then = std::move(delayed->then);
    mode_ = session_mode::Ready{};
    const UserMail::Acting acting(mail_.get(), this);
    apply(std::move(tag), guarded([&] { return then(*this); }));
    process();
}

void Session::abandon() {
    gone_->store(true);  // a password check still queued is skipped
    // Drops a pending answer, delay, step or IDLE subscription with it.
    mode_ = session_mode::Closing{};
    release_login_slot();
}

void Session::verified(AuthResult result) {
    auto* waiting = std::get_if<session_mode::Verifying>(&mode_);
    if (waiting == nullptr) return;
    const bool answered_inline = waiting->in_call;
    std::string tag = std::move(waiting->tag);
    VerifiedHandler then = std::move(waiting->then);
    mode_ = session_mode::Ready{};
    apply(std::move(tag), guarded([&] { return then(*this, result); }));
    if (answered_inline) return;  // inside authenticate(): the handler carries on
    // Later, from the transport's loop: go on with what the client sent
    // meanwhile, and tell the transport (it reads again, sends, arms a
    // delay the answer may have started).
    process();
    if (output_listener_) output_listener_();
}

void Session::begin_idle(std::string tag, ContinuationHandler on_line) {
    // RFC 2177 3: what is pending goes out first (EXPUNGE too: IDLE breaks
    // sequence numbers), then the continuation.
    sync_before_tagged();
    if (wants_close()) return;  // the mailbox was deleted: BYE
    writer_.continuation("idling");
    session_mode::Idling idle{std::move(tag), std::move(on_line), {}, false};
    // RFC 5465 4: with NOTIFY, IDLE sends exactly what NOTIFY asked for,
    // through NOTIFY's own subscription.
    if (mail_ && !notifier_) {
        idle.subscription = mail_->subscribe([this](store::MailboxId mailbox) {
            if (selected_ && selected_->id() == mailbox) idle_poll();
        });
    }
    mode_ = std::move(idle);
    framer_.expect_raw_line();
}

std::size_t Session::unsent() const {
    return output_.size() + (transport_unsent_ ? transport_unsent_() : 0);
}

bool Session::idle_sync() {
    auto* idle = std::get_if<session_mode::Idling>(&mode_);
    if (idle == nullptr) return false;
    if (unsent() >= kOutputHighWater) {
        // The client is behind: like a FETCH, produce nothing more until it
        // has read. One sync then sends the state as it is by then (the
        // flags now, not every change on the way), so a flood of changes
        // costs this client one update per message.
        idle->update_pending = true;
        return false;
    }
    idle->update_pending = false;
    const std::size_t before = output_.size();
    try {
        sync_selected();
    } catch (const std::exception& error) {
        // Not fatal: the next poll or notification tries again.
        log::error("sync_failed", {{"user", user_}, {"error", error.what()}});
    }
    // A deleted mailbox (BYE) ended the IDLE with the session: Closing.
    return output_.size() != before;
}

void Session::idle_poll() {
    if (notifier_) {
        // The IDLE timer: the selected mailbox as NOTIFY asks (RFC 5465 4).
        if (selected_ && notifier_->rules().selected != NotifyRules::Selected::None) {
            notify_selected_pending_ = true;
        }
        push_notifications();
        return;
    }
    if (idle_sync() && output_listener_) output_listener_();
}

void Session::changed_elsewhere() {
    // Another process's changes are not in the feed: every watched mailbox
    // is looked at again (one row read each), then as idle_poll().
    if (notifier_) notifier_->changed_elsewhere();
    idle_poll();
}

void Session::idle_keepalive() {
    // As Dovecot: nothing when output is still waiting to be sent, which
    // shows the connection is not idle anyway.
    if (idling() && unsent() == 0) writer_.untagged(Status::Ok, "Still here");
}

void Session::process() {
    paused_ = false;
    yielded_ = false;
    const TurnBudget& budget = context_.turn_budget;
    const auto started = budget.max_time.count() > 0 ? std::chrono::steady_clock::now()
                                                     : std::chrono::steady_clock::time_point{};
    std::size_t events = 0;
    while (!wants_close() && !starttls_requested() && !compression_requested() &&
           !waiting_on_server()) {
        if (output_.size() >= kOutputHighWater) {
            paused_ = true;
            return;
        }
        // The first event of a turn always runs, whatever the clock says: a
        // turn that could end before doing anything would never make progress.
        if ((budget.max_commands > 0 && events >= budget.max_commands) ||
            (budget.max_time.count() > 0 && events > 0 &&
             std::chrono::steady_clock::now() - started >= budget.max_time)) {
            yielded_ = true;
            return;
        }
        ++events;
        if (std::holds_alternative<session_mode::RunningSteps>(mode_)) {
            run_step();
            continue;  // pauses above while the output is full
        }
        FramerEvent event = framer_.next();
        if (std::holds_alternative<NeedMoreData>(event)) return;
        if (auto* ready = std::get_if<FrameReady>(&event)) {
            on_frame(std::move(ready->frame));
        } else if (auto* request = std::get_if<LiteralRequest>(&event)) {
            on_literal_request(*request);
        } else if (auto* raw = std::get_if<RawLine>(&event)) {
            on_raw_line(raw->line);
        } else if (auto* error = std::get_if<FramingError>(&event)) {
            on_framing_error(*error);
        }
    }
}

bool Session::check_runnable(const CommandSpec* spec, std::string_view name,
                             const std::string& tag) {
    if (spec == nullptr) {
        writer_.tagged(tag, Status::Bad, "Unknown command");
        log_refused(name, Status::Bad, "Unknown command");
        return false;
    }
    if (!spec->allowed_in(state_)) {
        // RFC 3501 6: a command outside its states is a protocol error.
        const std::string text = std::string(name) + " is not valid in the " +
                                 std::string(state_name(state_)) + " state";
        writer_.tagged(tag, Status::Bad, text);
        log_refused(name, Status::Bad, text);
        return false;
    }
    if (spec->handler == nullptr) {
        const std::string text = std::string(name) + " is not implemented yet";
        writer_.tagged(tag, Status::No, Code::Cannot, text);
        log_refused(name, Status::No, text);
        return false;
    }
    return true;
}

void Session::on_frame(Frame frame) {
    std::uint64_t largest_literal = 0;
    for (const std::string& literal : frame.literals)
        largest_literal = std::max<std::uint64_t>(largest_literal, literal.size());

    // Only for the log: the frame is moved into the parser.
    const std::string known_name =
        log::enabled(LogLevel::Debug) ? peek_command_name(frame) : std::string();
    ParseResult result = parse_command(std::move(frame));
    if (auto* error = std::get_if<ParseError>(&result)) {
        // RFC 3501 7.1.3: tagged BAD when the tag was readable, else untagged.
        writer_.tagged(error->tag ? std::string_view(*error->tag) : "*", Status::Bad,
                       error->message);
        log_refused(known_name, Status::Bad, error->message);
        return;
    }
    Command& command = std::get<Command>(result);
    const std::string_view name = command_name(command.body);
    const CommandSpec* spec = table_.find(name);
    if (!check_runnable(spec, name, command.tag)) return;
    // Every literal, {n+} too, was checked against this limit when it was
    // announced (on_literal_request, FramerLimits::max_unconfirmed_literal
    // 0); this second check costs nothing and keeps the limit should a
    // literal ever reach a command unasked.
    if (spec->max_literal != kNoLiteral && largest_literal > spec->max_literal) {
        const std::string text = "Literal too large for " + std::string(name) + " (at most " +
                                 std::to_string(spec->max_literal) + " octets)";
        writer_.tagged(command.tag, Status::No, Code::Limit, text);
        log_refused(name, Status::No, text);
        return;
    }
    run_handler(*spec, command);
}

void Session::on_literal_request(const LiteralRequest& request) {
    // RFC 3501 7.5 and DESIGN: "+" only once the command so far is known to
    // be valid in this state and the literal fits its limit. Otherwise the
    // client gets a tagged answer instead of "+" and does not send the
    // literal; the framer's next line is a new command. A non-synchronising
    // literal (RFC 7888) is on its way already: it gets no "+", and a
    // refused one is drained, never buffered, whatever its size.
    const std::string name = peek_command_name(framer_.partial());
    const auto reject = [&] {
        if (!framer_.reject_literal()) {
            // Too large to drain: RFC 7888 4 choice 2, BYE and close.
            writer_.bye(ResponseCode::extension("TOOBIG"), "Literal too large");
            close();
        }
    };
    const auto refuse = [&](Status status, std::optional<ResponseCode> code,
                            std::string_view text) {
        const std::string_view tag = request.tag.empty() ? "*" : std::string_view(request.tag);
        if (code) {
            writer_.tagged(tag, status, *code, text);
        } else {
            writer_.tagged(tag, status, text);
        }
        log_refused(name, status, text);
        reject();
    };
    if (request.tag.empty()) return refuse(Status::Bad, std::nullopt, "Invalid tag");
    const CommandSpec* spec = name.empty() ? nullptr : table_.find(name);
    if (spec == nullptr) return refuse(Status::Bad, std::nullopt, "Unknown command");
    if (!check_runnable(spec, name, request.tag)) return reject();
    if (spec->max_literal == kNoLiteral) {
        return refuse(Status::Bad, std::nullopt, name + " takes no literal");
    }
    if (name == "LOGIN" && !plaintext_auth_allowed()) {
        // Refuse before the client uploads a password in clear.
        return refuse(Status::No, Code::PrivacyRequired,
                      "Plaintext authentication is not allowed without TLS");
    }
    if (!request.synchronising && state_ == SessionState::NotAuthenticated &&
        request.size > limits::kMaxLiteralMinus) {
        // RFC 7888 5: before login we advertise LITERAL-, which caps {n+} at
        // 4096 octets; the client broke it, so BAD, with TOOBIG as for APPEND.
        return refuse(Status::Bad, ResponseCode::extension("TOOBIG"),
                      "Non-synchronising literal over " + std::to_string(limits::kMaxLiteralMinus) +
                          " octets (LITERAL-); use a synchronising one");
    }
    if (request.size > spec->max_literal) {
        // RFC 5530 LIMIT: an implementation limit. The command is well formed,
        // so not BAD; TOOBIG (RFC 4469, RFC 7889) is about message sizes and
        // is kept for APPEND.
        return refuse(Status::No, Code::Limit,
                      "Literal too large for " + name + " (at most " +
                          std::to_string(spec->max_literal) + " octets)");
    }
    if (request.synchronising) writer_.continuation("Ready for literal data");
    framer_.accept_literal();
}

void Session::on_raw_line(std::string_view line) {
    // Only AwaitingContinuation and Idling ask the framer for raw lines.
    std::string tag;
    ContinuationHandler handler;
    if (auto* awaiting = std::get_if<session_mode::AwaitingContinuation>(&mode_)) {
        tag = std::move(awaiting->tag);
        handler = std::move(awaiting->handler);
    } else if (auto* idle = std::get_if<session_mode::Idling>(&mode_)) {
        tag = std::move(idle->tag);
        handler = std::move(idle->on_line);
    } else {
        return;
    }
    mode_ = session_mode::Ready{};  // the IDLE ends here: its subscription goes
    apply(std::move(tag), guarded([&] { return handler(*this, line); }));
}

void Session::on_framing_error(const FramingError& error) {
    std::string_view text;
    std::optional<ResponseCode> code;
    switch (error.kind) {
        case FramingErrorKind::LineTooLong:
            text = "Line too long";
            break;
        case FramingErrorKind::LiteralTooLarge:
            // RFC 7888 4: a refused literal gets TOOBIG, in BAD or in BYE.
            text = "Literal too large";
            code = ResponseCode::extension("TOOBIG");
            break;
        case FramingErrorKind::CommandTooLarge:
            text = "Command too large";
            break;
        case FramingErrorKind::TooManyLiterals:
            text = "Too many literals in one command";
            break;
    }
    if (error.kind == FramingErrorKind::LiteralTooLarge && error.tag && !error.fatal) {
        Frame head;
        head.lines.push_back(error.first_line);
        const std::string name = peek_command_name(head);
        if (name == "APPEND" || name == "REPLACE" || name == "UID REPLACE") {
            // RFC 7889 4 and RFC 4469 4.2: a message over the server's size
            // limit is an APPEND error, NO with TOOBIG, and it is said
            // before the client sends the message (no "+"). REPLACE takes
            // its message as APPEND does (RFC 8508 3.4).
            const std::string message = "Message too large (at most " +
                                        std::to_string(context_.framer_limits.max_literal_size) +
                                        " octets)";
            writer_.tagged(*error.tag, Status::No, ResponseCode::extension("TOOBIG"), message);
            log_refused(name, Status::No, message);
            return;
        }
    }
    if (!error.fatal && !error.tag) {
        // A raw continuation line was too long: it ends that exchange.
        std::string* exchange_tag = nullptr;
        if (auto* awaiting = std::get_if<session_mode::AwaitingContinuation>(&mode_)) {
            exchange_tag = &awaiting->tag;
        } else if (auto* idle = std::get_if<session_mode::Idling>(&mode_)) {
            exchange_tag = &idle->tag;
        }
        if (exchange_tag != nullptr) {
            std::string tag = std::move(*exchange_tag);
            mode_ = session_mode::Ready{};
            return apply(std::move(tag), CommandResult::bad_at_once(code, std::string(text)));
        }
    }
    log_refused({}, Status::Bad, text);
    if (error.fatal) {
        // The framer lost the command boundary: RFC 3501 7.1.5 BYE, then close.
        if (code) {
            writer_.bye(*code, text);
        } else {
            writer_.bye(text);
        }
        close();
        return;
    }
    const std::string tag = error.tag.value_or("*");
    if (code) {
        writer_.tagged(tag, Status::Bad, *code, text);
    } else {
        writer_.tagged(tag, Status::Bad, text);
    }
}

}  // namespace imap::server
