"""One session's model of its selected mailbox, kept only from what the server
sends, and the invariants every response must keep.

A View is the client's view of the mailbox: its messages in sequence-number
order, each with UID, flags and MODSEQ as far as the server has told this
session. Each untagged response updates it through View.handle(), which
raises CheckFailure when the response breaks a rule. The rules, with the RFC
each comes from, are listed in docs/testing.md ("Concurrent checker").

A new message announced by EXISTS starts with an unknown UID and unknown
flags; the client learns them with UID FETCH. A message whose UID is unknown
can still be expunged (EXPUNGE n, or a VANISHED UID that fits between the
known neighbours: RFC 7162 3.2.10 allows VANISHED for announced messages
whose UID the client does not know yet).
"""
import hashlib
import re
import threading

from imap_wire import ProtocolError, as_number, parse_set, parse_set_ordered

SYSTEM_FLAGS = ("\\answered", "\\flagged", "\\deleted", "\\seen", "\\draft")
RECENT = "\\recent"
MESSAGE_ID_RE = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]*>)", re.I | re.M)
HEADER_FIELDS_RE = re.compile(r"^BODY\[HEADER\.FIELDS \(([^)]*)\)\]$")


# Deviations of real servers from the letter of an RFC that --tolerate can
# accept, so the checker can still be run against them (each is written down
# in docs/testing.md with the server that needs it). None is accepted by
# default.
TOLERABLE = {
    "condstore-uid": "unsolicited FETCH to a CONDSTORE-only session without UID "
                     "(RFC 7162 3.2.4; Dovecot 2.3 sends UID only after ENABLE QRESYNC)",
    "seen-modseq": "FETCH FLAGS of a FETCH that set \\Seen implicitly without MODSEQ "
                   "(RFC 7162 3.2.4; Dovecot 2.3)",
}


class CheckFailure(Exception):
    """An invariant broke. The message says which and cites the rule."""


def norm_flag(flag):
    """System flags are case-insensitive (RFC 3501 2.3.2); keywords are kept
    as written (the checker always writes them the same way)."""
    return flag.lower() if flag.startswith("\\") else flag


def without_recent(flags):
    return frozenset(f for f in flags if f != RECENT)


class Msg:
    __slots__ = ("uid", "flags", "modseq")

    def __init__(self, uid=None, flags=None, modseq=None):
        self.uid = uid
        self.flags = flags      # frozenset of normalised flags incl. \recent, or None
        self.modseq = modseq    # int, or None when unknown / not CONDSTORE

    def __repr__(self):
        return "Msg(uid=%r, flags=%r, modseq=%r)" % (self.uid, self.flags and sorted(self.flags),
                                                      self.modseq)


class Sent:
    """What the checker knows of a message it appended: its size and digest,
    and those of its text (RFC 3501 6.4.5 BODY[TEXT]: after the header's
    blank line), and how to make it again for a byte-level report."""

    __slots__ = ("size", "digest", "text_digest", "remake")

    def __init__(self, body, remake):
        self.size = len(body)
        self.digest = hashlib.sha1(body).digest()
        end = body.find(b"\r\n\r\n")
        self.text_digest = hashlib.sha1(body[end + 4:] if end >= 0 else b"").digest()
        self.remake = remake


class Registry:
    """What the whole run knows, shared by every client (thread-safe):
    every message appended (by Message-ID; its digest, not its bytes, so a
    long run stays small), which message each UID holds (UIDs never change
    content, RFC 3501 2.3.1.1), and the UIDs the server acknowledged
    (APPENDUID, COPYUID; RFC 4315)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = {}        # message-id bytes -> Sent
        self.uid_mid = {}         # (mailbox, uidvalidity, uid) -> message-id
        self.acked = {}           # mailbox -> {uid: message-id or None}
        self.max_acked = {}       # mailbox -> highest UID acknowledged

    def add_message(self, mid, body, remake=None):
        """`remake()` gives the bytes again (for reports); default: keep them."""
        sent = Sent(body, remake or (lambda: body))
        with self.lock:
            self.messages[mid] = sent

    def sent(self, mid):
        with self.lock:
            return self.messages.get(mid)

    def learn_uid(self, mailbox, uidvalidity, uid, mid, where):
        """Records that UID holds message `mid`; raises if it held another."""
        key = (mailbox, uidvalidity, uid)
        with self.lock:
            old = self.uid_mid.setdefault(key, mid)
        if old != mid:
            raise CheckFailure("%s: UID %d of %s holds %s, but it held %s before: a UID's "
                               "message never changes (RFC 3501 2.3.1.1)" %
                               (where, uid, mailbox, mid.decode(), old.decode()))

    def mid_of(self, mailbox, uidvalidity, uid):
        with self.lock:
            return self.uid_mid.get((mailbox, uidvalidity, uid))

    def max_acked_uid(self, mailbox):
        with self.lock:
            return self.max_acked.get(mailbox, 0)

    def acked_count(self, mailbox):
        with self.lock:
            return len(self.acked.get(mailbox, ()))

    def ack(self, mailbox, uidvalidity, uid, mid, where):
        with self.lock:
            table = self.acked.setdefault(mailbox, {})
            if uid in table:
                raise CheckFailure("%s: the server acknowledged UID %d in %s twice (APPENDUID/"
                                   "COPYUID): UIDs are never reused (RFC 3501 2.3.1.1)" %
                                   (where, uid, mailbox))
            table[uid] = mid
            self.max_acked[mailbox] = max(self.max_acked.get(mailbox, 0), uid)
        if mid is not None:
            self.learn_uid(mailbox, uidvalidity, uid, mid, where)

    def forget_acked(self, mailbox):
        """After the mailbox was emptied; the highest UID is kept (UIDs are
        never reused, so new ones must still be above it)."""
        with self.lock:
            self.acked[mailbox] = {}

    def acked_uids(self, mailbox):
        with self.lock:
            return dict(self.acked.get(mailbox, {}))


class Claim:
    """Something the server implied that can only be verified once the
    mailbox is quiet: 'each' -- every UID here is expunged (the server
    omitted its data); 'any' -- at least one is (it answered EXPUNGEISSUED).
    Checked at the next checkpoint against the store."""

    __slots__ = ("mode", "uids", "what")

    def __init__(self, mode, uids, what):
        self.mode = mode
        self.uids = frozenset(uids)
        self.what = what


class Ctx:
    """The command in progress, as the View needs to know it."""

    def __init__(self, name, *, seq_based=False, requested_seqs=(), requested_uids=(),
                 fetch_flags_solicited=False, wants_modseq=False, implicit_seen=False,
                 allow_earlier=False, select=None, uid_floor=None):
        self.name = name
        # RFC 3501 7.4.1: no EXPUNGE while responding to FETCH, STORE or
        # SEARCH by sequence number (RFC 7162 3.2.10: nor VANISHED).
        self.no_expunge = seq_based
        self.requested_seqs = set(requested_seqs)
        self.requested_uids = set(requested_uids)
        self.uid_floor = uid_floor        # UID FETCH n:* -- every UID >= n was asked for
        # A FETCH asking for FLAGS without MODSEQ: its answers may lack MODSEQ
        # and UID (RFC 7162 3.2.4, last sentence).
        self.fetch_flags_solicited = fetch_flags_solicited
        self.wants_modseq = wants_modseq
        self.implicit_seen = implicit_seen
        self.allow_earlier = allow_earlier
        self.select = select              # None, "plain", "condstore" or "qresync"
        self.in_progress = True
        self.untagged = []                # every untagged response, in order
        self.fetched = {}                 # seq (or uid for UID commands) -> merged items
        # UID -> why its data is unusable (NIL body, wrong size): allowed only
        # with [EXPUNGEISSUED] and then only for expunged messages.
        self.unavailable = {}
        self.vanished_earlier = set()
        self.copyuid = None               # an untagged OK [COPYUID] (MOVE, RFC 6851)
        self.new_phase = False            # SELECT: the new mailbox's responses have begun
        self.select_exists = None
        self.select_fetches = []
        self.seen = set()                 # kinds/codes seen, for SELECT's required responses
        self.search_view = None           # (UIDs by sequence number, expunged UIDs) at SEARCH

    def solicited(self, seq, uid):
        if self.requested_seqs and seq in self.requested_seqs:
            return True
        if uid is None:
            return False
        return uid in self.requested_uids or (self.uid_floor is not None and uid >= self.uid_floor)


class View:
    def __init__(self, owner, mailbox, registry, *, condstore=False, qresync=False,
                 server_qresync=False, expected_uidvalidity=None):
        self.owner = owner
        self.mailbox = mailbox
        self.registry = registry
        self.condstore = condstore        # the session is CONDSTORE-aware (RFC 7162 3.1)
        self.qresync = qresync            # ENABLE QRESYNC answered (RFC 7162 3.2.3)
        self.server_qresync = server_qresync
        self.expected_uidvalidity = expected_uidvalidity
        self.tolerate = set()
        self.selected = False
        self.msgs = []
        self.uidvalidity = None
        self.uidnext = None
        self.highestmodseq = None
        self.recent_count = 0
        # UIDs whose \Recent this session cannot know: cached messages after a
        # QRESYNC re-select, until a FETCH with FLAGS tells (see finish_select).
        self.recent_unknown = set()
        self.keywords = set()             # keywords of the last FLAGS response
        self.expunged_uids = set()
        self.expunged_gaps = []           # (lo, hi): an unknown-UID message between known UIDs
        self.claims = []

    # -- helpers -----------------------------------------------------------
    def fail(self, text):
        raise CheckFailure("%s: %s" % (self.owner, text))

    def count(self):
        return len(self.msgs)

    def known_uids(self):
        return [m.uid for m in self.msgs if m.uid is not None]

    def max_uid(self):
        for m in reversed(self.msgs):
            if m.uid is not None:
                return m.uid
        return 0

    def index_of_uid(self, uid):
        for i, m in enumerate(self.msgs):
            if m.uid == uid:
                return i
        return None

    def unknown(self):
        """Indexes whose UID or flags the session does not know."""
        return [i for i, m in enumerate(self.msgs) if m.uid is None or m.flags is None or
                (self.condstore and m.modseq is None)]

    def neighbours(self, index):
        """The nearest known UIDs below and above position `index`."""
        lo = 0
        for j in range(index - 1, -1, -1):
            if self.msgs[j].uid is not None:
                lo = self.msgs[j].uid
                break
        hi = None
        for j in range(index + 1, len(self.msgs)):
            if self.msgs[j].uid is not None:
                hi = self.msgs[j].uid
                break
        return lo, hi

    def _remove(self, index):
        lo, hi = self.neighbours(index)
        m = self.msgs.pop(index)
        if m.uid is not None:
            self.expunged_uids.add(m.uid)
        else:
            self.expunged_gaps.append((lo, hi))

    def claim(self, mode, uids, what):
        uids = [u for u in uids if u is not None]
        if uids:
            self.claims.append(Claim(mode, uids, "%s: %s" % (self.owner, what)))

    # -- dispatch ----------------------------------------------------------
    def handle(self, resp, ctx):
        """Applies one untagged response; `ctx` is the command in progress
        (None between commands)."""
        kind = resp.kind
        if ctx is not None:
            ctx.untagged.append(resp)
            ctx.seen.add(kind)
            if resp.code:
                ctx.seen.add(resp.code)
        if ctx is not None and ctx.select and not ctx.new_phase:
            if kind in ("FLAGS", "EXISTS", "RECENT") or resp.code in ("CLOSED", "UIDVALIDITY"):
                self._begin_new_mailbox(ctx)
        try:
            if kind == "EXISTS":
                self.on_exists(resp.number, ctx)
            elif kind == "RECENT":
                self.on_recent(resp.number, ctx)
            elif kind == "EXPUNGE":
                self.on_expunge(resp.number, ctx)
            elif kind == "FETCH":
                if ctx is not None and ctx.select == "qresync" and ctx.new_phase:
                    ctx.select_fetches.append(resp)
                else:
                    self.on_fetch(resp, ctx)
            elif kind == "VANISHED":
                self.on_vanished(resp, ctx)
            elif kind == "FLAGS":
                self.on_flags(resp.values)
            elif kind in ("OK", "NO", "BAD", "BYE", "PREAUTH"):
                self.on_status(resp, ctx)
            elif kind in ("CAPABILITY", "ENABLED", "SEARCH", "ESEARCH", "STATUS", "LIST", "LSUB",
                          "NAMESPACE", "ID"):
                if ctx is None:
                    self.fail("unsolicited * %s with no command in progress: %s" %
                              (kind, resp.raw[:200]))
                if kind in ("SEARCH", "ESEARCH"):
                    # Results are judged against the view as it was when they
                    # came: a UID command's later EXPUNGEs do not count.
                    ctx.search_view = ([m.uid for m in self.msgs], set(self.expunged_uids))
            else:
                self.fail("unknown untagged response %s" % resp.raw[:200])
        except ProtocolError as e:
            self.fail("protocol error in %r: %s" % (resp.raw[:200], e))

    # -- SELECT ------------------------------------------------------------
    def _begin_new_mailbox(self, ctx):
        """RFC 7162 3.2.11: responses before [CLOSED] belong to the old mailbox."""
        ctx.new_phase = True
        self.selected = True
        if ctx.select == "qresync":
            return  # the cached view stays until finish_select() rebuilds it
        self.msgs = []
        self.recent_count = 0
        self.recent_unknown = set()

    def finish_select(self, ctx, cache):
        """After SELECT's tagged OK. `cache` is the view before a QRESYNC
        SELECT (list of Msg), None otherwise."""
        missing = [r for r in ("FLAGS", "EXISTS", "RECENT", "UIDVALIDITY", "UIDNEXT",
                               "PERMANENTFLAGS") if r not in ctx.seen]
        if missing:
            self.fail("SELECT without the required %s (RFC 3501 6.3.1)" % ", ".join(missing))
        if self.condstore and not ({"HIGHESTMODSEQ", "NOMODSEQ"} & ctx.seen):
            self.fail("SELECT of a CONDSTORE-aware session without HIGHESTMODSEQ or "
                      "NOMODSEQ (RFC 7162 3.1.2.1)")
        if ctx.select != "qresync":
            return
        # RFC 7162 3.2.5: the cached UIDs minus VANISHED (EARLIER) are the
        # first messages; messages after them are new (higher UIDs).
        exists = ctx.select_exists
        kept = [m for m in cache if m.uid not in ctx.vanished_earlier]
        if exists is None:
            self.fail("QRESYNC SELECT without EXISTS")
        if exists < len(kept):
            self.fail("QRESYNC SELECT: EXISTS %d, but %d cached UIDs were not reported "
                      "VANISHED (EARLIER): every message expunged since the given MODSEQ "
                      "must be (RFC 7162 3.2.5.2)" % (exists, len(kept)))
        # \Recent of the cached messages is not re-sent; the session's
        # previous claim on them is gone with the re-select.
        self.msgs = [Msg(m.uid, without_recent(m.flags), m.modseq) for m in kept]
        self.msgs += [Msg() for _ in range(exists - len(kept))]
        self.recent_unknown = {m.uid for m in kept}
        for resp in ctx.select_fetches:
            self.on_fetch(resp, ctx)

    # -- responses ---------------------------------------------------------
    def on_exists(self, n, ctx):
        if ctx is not None and ctx.select == "qresync" and ctx.new_phase:
            ctx.select_exists = n
            return
        if n < len(self.msgs):
            self.fail("* %d EXISTS, but this session's view has %d messages: EXISTS cannot "
                      "shrink without EXPUNGE (RFC 3501 7.3.1, 7.4.1)" % (n, len(self.msgs)))
        self.msgs.extend(Msg() for _ in range(n - len(self.msgs)))

    def _current_count(self, ctx):
        """The message count as the server has announced it so far (during a
        QRESYNC SELECT the view is rebuilt only at the end)."""
        if ctx is not None and ctx.select == "qresync" and ctx.new_phase:
            return ctx.select_exists or 0
        return len(self.msgs)

    def on_recent(self, n, ctx):
        total = self._current_count(ctx)
        if n > total:
            self.fail("* %d RECENT with only %d messages in the view (RFC 3501 7.3.2)" % (n, total))
        self.recent_count = n

    def _check_expunge_allowed(self, what, ctx):
        if ctx is None or not ctx.in_progress:
            self.fail("%s with no command in progress (RFC 3501 7.4.1, RFC 7162 3.2.10)" % what)
        if ctx.no_expunge:
            self.fail("%s while responding to %s, which uses sequence numbers "
                      "(RFC 3501 7.4.1, RFC 7162 3.2.10)" % (what, ctx.name))

    def on_expunge(self, n, ctx):
        if self.qresync:
            self.fail("* %d EXPUNGE after ENABLE QRESYNC: the server must send VANISHED "
                      "instead (RFC 7162 3.2.10)" % n)
        self._check_expunge_allowed("* %d EXPUNGE" % n, ctx)
        if not 1 <= n <= len(self.msgs):
            self.fail("* %d EXPUNGE, but the view has %d messages" % (n, len(self.msgs)))
        self._remove(n - 1)

    def on_vanished(self, resp, ctx):
        values = resp.values
        earlier = False
        if len(values) == 2 and isinstance(values[0], list):
            if [str(v).upper() for v in values[0]] != ["EARLIER"]:
                self.fail("bad VANISHED modifier %r" % resp.raw[:200])
            earlier = True
            values = values[1:]
        if len(values) != 1:
            self.fail("malformed VANISHED: %r" % resp.raw[:200])
        uids = parse_set(values[0], "VANISHED UID set")
        if not self.qresync:
            self.fail("VANISHED to a session that did not enable QRESYNC (RFC 7162 3.2.10)")
        if earlier:
            if ctx is None or not ctx.allow_earlier:
                self.fail("VANISHED (EARLIER) outside SELECT (QRESYNC) and UID FETCH (VANISHED) "
                          "(RFC 7162 3.2.10.1)")
            ctx.vanished_earlier.update(uids)
            return
        self._check_expunge_allowed("VANISHED %s" % values[0], ctx)
        for uid in uids:
            index = self.index_of_uid(uid)
            if index is not None:
                self._remove(index)
                continue
            # An announced message whose UID the client has not learned yet
            # (RFC 7162 3.2.10): it sits between the known UIDs around it.
            # Unknown slots in one gap are interchangeable, so any will do.
            slot = self._unknown_slot_for(uid)
            if slot is None:
                self.fail("VANISHED UID %d, which is not in this session's view (it must "
                          "name only messages announced to the client, RFC 7162 3.2.10)" % uid)
            self.msgs.pop(slot)
            self.expunged_uids.add(uid)

    def _unknown_slot_for(self, uid):
        if uid in self.expunged_uids:
            return None
        lo = 0
        for i, m in enumerate(self.msgs):
            if m.uid is None:
                if uid > lo:
                    _, hi = self.neighbours(i)
                    if hi is None or uid < hi:
                        return i
                continue
            if m.uid > uid:
                return None
            lo = m.uid
        return None

    def on_flags(self, values):
        if len(values) != 1 or not isinstance(values[0], list):
            self.fail("malformed FLAGS response")
        flags = values[0]
        normal = {norm_flag(f) for f in flags if isinstance(f, str)}
        if len(normal) != len(flags):
            self.fail("FLAGS response with a non-atom: %r" % (flags,))
        missing = [f for f in SYSTEM_FLAGS if f not in normal]
        if missing:
            self.fail("FLAGS response without %s (RFC 3501 2.3.2, 7.2.6)" % ", ".join(missing))
        self.keywords = {f for f in normal if not f.startswith("\\")}

    def on_status(self, resp, ctx):
        kind, code, args = resp.kind, resp.code, resp.code_args
        if kind == "BYE":
            if ctx is not None and ctx.name == "LOGOUT":
                return
            self.fail("* BYE: %s" % resp.raw.decode(errors="replace").strip())
        if kind in ("BAD", "NO", "PREAUTH"):
            self.fail("untagged %s: %s" % (kind, resp.raw.decode(errors="replace").strip()))
        if code is None:
            return
        if code == "UIDVALIDITY":
            v = as_number(args[0] if args else None, "UIDVALIDITY")
            if self.expected_uidvalidity is not None and v != self.expected_uidvalidity:
                self.fail("UIDVALIDITY %d, but the mailbox had %d and was never re-created "
                          "(RFC 3501 2.3.1.1)" % (v, self.expected_uidvalidity))
            self.uidvalidity = v
        elif code == "UIDNEXT":
            n = as_number(args[0] if args else None, "UIDNEXT")
            if self.uidnext is not None and n < self.uidnext:
                self.fail("UIDNEXT went down from %d to %d (RFC 3501 2.3.1.1)" % (self.uidnext, n))
            top = self.max_uid()
            if n <= top and not (ctx is not None and ctx.select == "qresync"):
                self.fail("UIDNEXT %d, but UID %d is in the view (RFC 3501 2.3.1.1)" % (n, top))
            self.uidnext = n
        elif code == "HIGHESTMODSEQ":
            n = as_number(args[0] if args else None, "HIGHESTMODSEQ")
            if self.highestmodseq is not None and n < self.highestmodseq:
                self.fail("HIGHESTMODSEQ went down from %d to %d (RFC 7162 3.1.2.1)" %
                          (self.highestmodseq, n))
            self.highestmodseq = n
        elif code == "NOMODSEQ":
            if self.condstore:
                self.fail("NOMODSEQ for the stress mailbox, which had mod-sequences")
        elif code == "PERMANENTFLAGS":
            if len(args) != 1 or not isinstance(args[0], list):
                self.fail("malformed PERMANENTFLAGS")
        elif code == "UNSEEN":
            n = as_number(args[0] if args else None, "UNSEEN")
            total = self._current_count(ctx)
            if not 1 <= n <= total:
                self.fail("[UNSEEN %d] past the %d messages (RFC 3501 7.1)" % (n, total))
        elif code == "COPYUID":
            if ctx is None or ctx.name not in ("MOVE", "UID MOVE"):
                self.fail("untagged OK [COPYUID] outside MOVE (RFC 6851 4.3)")
            ctx.copyuid = args

    def on_fetch(self, resp, ctx):
        n = resp.number
        items = resp.values
        if not 1 <= n <= len(self.msgs):
            self.fail("* %d FETCH, but the view has %d messages (RFC 3501 7.4.2)" %
                      (n, len(self.msgs)))
        m = self.msgs[n - 1]
        uid = None
        if "UID" in items:
            uid = as_number(items["UID"], "UID")
            if m.uid is None:
                lo, hi = self.neighbours(n - 1)
                if uid <= lo or (hi is not None and uid >= hi):
                    self.fail("* %d FETCH (UID %d): UIDs must ascend with sequence numbers, but "
                              "the neighbours are UIDs %s and %s (RFC 3501 2.3.1.1)" %
                              (n, uid, lo or "-", hi or "-"))
                if uid in self.expunged_uids:
                    self.fail("* %d FETCH (UID %d): that UID was expunged from this view" %
                              (n, uid))
                m.uid = uid
            elif m.uid != uid:
                self.fail("* %d FETCH (UID %d), but message %d is UID %d in this view" %
                          (n, uid, n, m.uid))
        solicited = ctx is not None and ctx.solicited(n, m.uid)
        if solicited:
            key = n if ctx.requested_seqs else m.uid
            ctx.fetched.setdefault(key, {}).update(items)
        if "FLAGS" in items and self.condstore:
            exempt = solicited and ctx.fetch_flags_solicited and not ctx.implicit_seen
            seen_exempt = solicited and ctx.implicit_seen and "seen-modseq" in self.tolerate
            if not exempt and not seen_exempt and "MODSEQ" not in items:
                self.fail("* %d FETCH with FLAGS but no MODSEQ to a CONDSTORE-aware session "
                          "(RFC 7162 3.1, 3.2.4%s)" % (n, "; --tolerate seen-modseq accepts "
                                                      "this" if ctx and ctx.implicit_seen else ""))
            uid_required = self.qresync or (self.server_qresync and
                                            "condstore-uid" not in self.tolerate)
            if not exempt and uid_required and "UID" not in items:
                self.fail("* %d FETCH with FLAGS but no UID to a CONDSTORE-aware session of a "
                          "QRESYNC server (RFC 7162 3.2.4%s)" %
                          (n, "" if self.qresync else "; --tolerate condstore-uid accepts this"))
        if ctx is not None and solicited and ctx.wants_modseq and "MODSEQ" not in items:
            self.fail("* %d FETCH without the MODSEQ asked for (RFC 7162 3.1.4.2)" % n)
        new_modseq = None
        if "MODSEQ" in items:
            value = items["MODSEQ"]
            if not isinstance(value, list) or len(value) != 1:
                self.fail("malformed MODSEQ %r" % (value,))
            new_modseq = as_number(value[0], "mod-sequence")
            if new_modseq == 0:
                self.fail("* %d FETCH (MODSEQ (0)): mod-sequences are positive (RFC 7162 3.1.1)"
                          % n)
            if m.modseq is not None and new_modseq < m.modseq:
                self.fail("MODSEQ of UID %s went down from %d to %d (RFC 7162 3.1.1)" %
                          (m.uid, m.modseq, new_modseq))
        if "FLAGS" in items:
            flags = self._flags(items["FLAGS"], n)
            if (new_modseq is not None and m.modseq == new_modseq and m.flags is not None and
                    without_recent(m.flags) != without_recent(flags)):
                self.fail("flags of UID %s changed from %s to %s but its MODSEQ stayed %d: "
                          "every flag change gets a new mod-sequence (RFC 7162 3.1.1)" %
                          (m.uid, fmt_flags(m.flags), fmt_flags(flags), new_modseq))
            m.flags = flags
            self.recent_unknown.discard(m.uid)
        if new_modseq is not None and (self.condstore or m.modseq is not None):
            m.modseq = new_modseq
        self._check_content(n, m, items, ctx)

    def _flags(self, value, n):
        if not isinstance(value, list) or not all(isinstance(f, str) for f in value):
            self.fail("* %d FETCH: malformed FLAGS %r" % (n, value))
        flags = frozenset(norm_flag(f) for f in value)
        for f in flags:
            if f.startswith("\\"):
                if f not in SYSTEM_FLAGS and f != RECENT:
                    self.fail("* %d FETCH: unknown system flag %s" % (n, f))
            elif f not in self.keywords:
                self.fail("* %d FETCH: keyword %s before a FLAGS response announced it "
                          "(RFC 3501 7.2.6)" % (n, f))
        return flags

    def _check_content(self, n, m, items, ctx):
        """BODY[] and the Message-ID header are compared with what was
        appended; the message a UID holds never changes. Data that looks
        like a server's stand-in for an expunged message (NIL, no
        Message-ID, a size that is not the message's) is noted in
        ctx.unavailable for the command's tagged response to judge."""
        where = "%s * %d FETCH" % (self.owner, n)

        def unavailable(reason):
            if ctx is None or m.uid is None:
                self.fail("%s: %s" % (where, reason))
            ctx.unavailable[m.uid] = reason

        for key, value in items.items():
            if key in ("BODY[]", "BODY[TEXT]"):
                # BODY[TEXT] is judged by the Message-ID the view knows for
                # the UID (learned from this response's BODY[] or earlier).
                if value is None:
                    unavailable("%s NIL" % key)
                    continue
                if key == "BODY[]":
                    mid = self._mid_in(value)
                    if mid is None:
                        unavailable("BODY[] without Message-ID (%d bytes)" % len(value))
                        continue
                else:
                    mid = self.registry.mid_of(self.mailbox, self.uidvalidity, m.uid)
                    if mid is None and "BODY[]" in items and items["BODY[]"] is not None:
                        mid = self._mid_in(items["BODY[]"])
                    if mid is None:
                        continue
                sent = self.registry.sent(mid)
                if sent is None:
                    self.fail("%s: %s holds Message-ID %s, which was never appended" %
                              (where, key, mid.decode()))
                digest = hashlib.sha1(value).digest()
                if digest != (sent.digest if key == "BODY[]" else sent.text_digest):
                    expected = sent.remake()
                    if key == "BODY[TEXT]":
                        expected = expected[expected.find(b"\r\n\r\n") + 4:]
                    at = first_difference(value, expected)
                    self.fail("%s: %s of UID %s (%s) differs from the appended message at "
                              "byte %d (%d bytes, appended %d): got %r, appended %r" %
                              (where, key, m.uid, mid.decode(), at, len(value), len(expected),
                               value[at:at + 24], expected[at:at + 24]))
                if key == "BODY[]":
                    self._learn(m, mid, where)
            elif key.startswith("BODY[HEADER.FIELDS"):
                fields = HEADER_FIELDS_RE.match(key)
                if not fields or fields.group(1).upper() != "MESSAGE-ID":
                    continue
                mid = self._mid_in(value) if value is not None else None
                if mid is None:
                    unavailable("%s %r" % (key, value))
                    continue
                if value != b"Message-ID: " + mid + b"\r\n\r\n":
                    self.fail("%s: BODY[HEADER.FIELDS (MESSAGE-ID)] is %r: the field as "
                              "stored and the blank line (RFC 3501 6.4.5)" % (where, value))
                self._learn(m, mid, where)
            elif key == "RFC822.SIZE":
                size = as_number(value, "RFC822.SIZE")
                mid = m.uid is not None and self.registry.mid_of(self.mailbox, self.uidvalidity,
                                                                 m.uid)
                sent = mid and self.registry.sent(mid)
                if sent and size != sent.size:
                    unavailable("RFC822.SIZE %d, but UID %d has %d bytes" % (size, m.uid,
                                                                             sent.size))

    def _mid_in(self, value):
        header_end = value.find(b"\r\n\r\n")
        found = MESSAGE_ID_RE.search(value if header_end < 0 else value[:header_end + 2])
        return found.group(1) if found else None

    def _learn(self, m, mid, where):
        if m.uid is not None and self.uidvalidity is not None:
            self.registry.learn_uid(self.mailbox, self.uidvalidity, m.uid, mid, where)

    # -- snapshot ----------------------------------------------------------
    def snapshot(self):
        """(uid, flags without \\Recent, modseq) per message, in order."""
        return [(m.uid, without_recent(m.flags) if m.flags is not None else None, m.modseq)
                for m in self.msgs]

    def recent_known(self):
        """True when this session knows which of its messages are \Recent."""
        return not (self.recent_unknown & set(self.known_uids()))

    def recent_uids(self):
        return {m.uid for m in self.msgs if m.flags is not None and RECENT in m.flags}


def fits_unknown(uids, uid):
    """True when `uid` can be one of the unknown (None) entries of a view's
    UID list: UIDs ascend, so it sits between the known UIDs around it."""
    lo = 0
    for i, u in enumerate(uids):
        if u is None:
            if uid > lo:
                hi = next((x for x in uids[i + 1:] if x is not None), None)
                if hi is None or uid < hi:
                    return True
            continue
        if u >= uid:
            return False
        lo = u
    return False


def fmt_flags(flags):
    if flags is None:
        return "(unknown)"
    return "(" + " ".join(sorted(flags)) + ")"


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def copyuid_pairs(args, where):
    """COPYUID uidvalidity source-set dest-set (RFC 4315 3) as
    (uidvalidity, [(src, dst), ...]); raises on a malformed code."""
    if len(args) != 3:
        raise CheckFailure("%s: COPYUID needs 3 arguments, got %r" % (where, args))
    validity = as_number(args[0], "UIDVALIDITY")
    src = parse_set_ordered(args[1], "COPYUID source set")
    dst = parse_set_ordered(args[2], "COPYUID destination set")
    if len(src) != len(dst):
        raise CheckFailure("%s: COPYUID with %d source and %d destination UIDs (RFC 4315 3)" %
                           (where, len(src), len(dst)))
    return validity, list(zip(src, dst))
