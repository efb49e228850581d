#!/usr/bin/env python3
"""The concurrent checker: many devices, one mailbox.

N clients (default 10) share one mailbox and run random SELECT, FETCH,
STORE, EXPUNGE, COPY, MOVE, APPEND, SEARCH, STATUS, IDLE and NOOP. Each
keeps its own model of its view only from what the server sends it (EXISTS,
EXPUNGE, VANISHED, FETCH FLAGS/UID/MODSEQ, RECENT, FLAGS), and every
response is checked against the rules of RFC 3501, 4315, 6851 and 7162
(view.py). At seeded checkpoints every client stops, sends NOOP, and all
views must be identical to each other and to what a fresh session reads
from the store (UIDs, flags, keywords, mod-sequences). Any BYE, BAD,
unexpected NO, mismatch or protocol error fails the run, printing the seed,
the client, its last commands and responses, and the command line that
reruns it.

    tests/stress/stress.py --imapd build/dev/server/imapd              # starts imapd itself
    tests/stress/stress.py --host 127.0.0.1 --port 143 --user alice --password pass
    tests/stress/stress.py --imapd ... --clients 10 --duration 600 --seed 42

Standard library only. See docs/testing.md ("Concurrent checker") for the
invariants, the NO answers allowed, and how to read a failure.
"""
import argparse
import collections
import os
import random
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# The modules next to this file; no __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_wire import as_number, format_set, parse_set, quote, summarize  # noqa: E402
from messages import make_message  # noqa: E402
from session import HISTORY, Session  # noqa: E402
from view import (RECENT, TOLERABLE, CheckFailure, Ctx, Msg, Registry, View,  # noqa: E402
                  copyuid_pairs, fits_unknown, fmt_flags, norm_flag, without_recent)

PROFILES = ("rfc3501", "uidplus", "condstore", "qresync")
FLAG_POOL = ("\\Seen", "\\Flagged", "\\Answered", "\\Draft", "$Label1", "$Label2", "$Label3",
             "NonJunk")
# Relative weights of the operations; each client draws one per step from
# its own seeded generator (see StressClient.step).
OPS = (("noop", 5), ("check", 1), ("idle", 5), ("fetch", 14), ("fetch_body", 4),
       ("fetch_stream", 1.5), ("store", 14), ("expunge", 6), ("copy", 5), ("move", 3),
       ("append", 13), ("search", 9), ("select", 2), ("status", 2), ("changedsince", 3))
# The mailbox is kept between these sizes by replacing operations that
# would leave it (the choice stays a function of the seed and the view).
MIN_MESSAGES = 40
MAX_MESSAGES = 250
LISTEN_RE = re.compile(rb"^imapd: listening imap (\S+):(\d+)$")
EXPUNGE_ISSUED = ("EXPUNGEISSUED",)


def remake(seed, author, number):
    return lambda: make_message(seed, author, number)[1]


class AnyCode:
    """allow_no for commands whose NO is not a failure (setup's DELETE)."""

    def __contains__(self, code):
        return True


# ---------------------------------------------------------------------------
# One simulated device.
# ---------------------------------------------------------------------------

class StressClient(threading.Thread):
    def __init__(self, run, index, profile):
        super().__init__(name="client-%d" % index, daemon=True)
        self.run_ = run
        self.index = index
        self.profile = profile
        self.label = "client %d (%s)" % (index, profile)
        self.session = None
        self.opno = 0
        self.op = None
        self.op_counts = collections.Counter()
        self.appended = 0
        self.snapshot = None

    # -- the thread ----------------------------------------------------------
    def run(self):
        try:
            self.connect()
            self.loop()
            if not self.run_.failed():
                self.session.logout()
        except CheckFailure as e:
            self.run_.fail(self, str(e))
        except threading.BrokenBarrierError:
            pass
        except Exception:  # a bug in the checker: report it as such
            self.run_.fail(self, "checker error:\n" + traceback.format_exc())
        finally:
            if self.session:
                self.session.close()

    def loop(self):
        for checkpoint in self.run_.schedule():
            while self.opno < checkpoint:
                if self.run_.failed():
                    return
                self.step()
                self.opno += 1
            self.checkpoint()
            if self.run_.finished:
                return

    # -- connection ----------------------------------------------------------
    def connect(self):
        run = self.run_
        trace = os.path.join(run.args.trace_dir, "client-%d.log" % self.index) \
            if run.args.trace_dir else None
        s = Session(self.label, run.host, run.port, run.registry, run.start,
                    timeout=run.args.timeout, mailbox=run.mailbox,
                    trace_path=trace, tag_prefix="c%d." % self.index)
        self.session = s
        s.login(run.args.user, run.args.password)
        plain = self.profile == "rfc3501"
        self.uidplus = not plain and s.has("UIDPLUS")
        self.move = not plain and s.has("MOVE")
        self.idle = not plain and s.has("IDLE")
        self.literal_plus = not plain and s.has("LITERAL+")
        self.esearch = not plain and s.has("ESEARCH")
        self.multiappend = not plain and s.has("MULTIAPPEND")
        self.condstore = self.profile in ("condstore", "qresync") and s.has("CONDSTORE")
        self.qresync = self.profile == "qresync" and s.has("QRESYNC") and s.has("ENABLE")
        v = s.view
        v.expected_uidvalidity = run.uidvalidity
        v.server_qresync = s.has("QRESYNC")
        v.tolerate = run.tolerate
        rng = random.Random("connect/%d/%d" % (run.seed, self.index))
        if self.qresync:
            self.enable("QRESYNC")
            v.qresync = True
        elif self.condstore and s.has("ENABLE") and rng.random() < 0.5:
            self.enable("CONDSTORE")
        v.condstore = self.condstore
        self.select(first=True)

    def enable(self, what):
        ctx = Ctx("ENABLE")
        self.session.command("ENABLE %s" % what, ctx)
        enabled = {str(x).upper() for r in ctx.untagged if r.kind == "ENABLED" for x in r.values}
        if what not in enabled:
            self.session.fail("ENABLE %s without * ENABLED %s (RFC 5161 3.2)" % (what, what))

    # -- helpers -------------------------------------------------------------
    @property
    def view(self):
        return self.session.view

    def fail(self, text):
        raise CheckFailure("%s: %s" % (self.label, text))

    def fetch_items(self, *extra):
        items = ["UID", "FLAGS"]
        if self.condstore:
            items.append("MODSEQ")
        return "(%s)" % " ".join(items + list(extra))

    def pick_seqs(self, rng, most=6):
        """A random sequence set over the view: one number, a range, a list,
        "*" or "n:*". Returns (text, sorted numbers)."""
        n = self.view.count()
        style = rng.random()
        if style < 0.35:
            s = rng.randint(1, n)
            return str(s), [s]
        if style < 0.65:
            a = rng.randint(1, n)
            b = min(n, a + rng.randint(1, most))
            return ("%d:%d" % (a, b) if rng.random() < 0.8 else "%d:%d" % (b, a)), \
                list(range(a, b + 1))
        if style < 0.85:
            seqs = sorted(rng.sample(range(1, n + 1), min(n, rng.randint(2, 4))))
            return ",".join(map(str, seqs)), seqs
        if style < 0.93:
            return "*", [n]
        a = max(1, n - rng.randint(0, most))
        return "%d:*" % a, list(range(a, n + 1))

    def uids_of(self, seqs):
        return [self.view.msgs[s - 1].uid for s in seqs if self.view.msgs[s - 1].uid is not None]

    def claim(self, mode, uids, what):
        self.view.claim(mode, uids, "op %d %s: %s" % (self.opno, self.op, what))

    def ensure_known(self, must=False):
        """Learns the UID, flags (and MODSEQ) of every message the view has
        without them: new arrivals announced by EXISTS (UID FETCH n:*), and
        messages whose flags a .SILENT STORE left unknown. With `must`
        (checkpoints: nothing changes any more) a message still unknown
        afterwards is a failure."""
        v = self.view
        items = self.fetch_items("BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]")
        for _ in range(3):
            unknown = v.unknown()
            if not unknown:
                return
            known_uid = [v.msgs[i].uid for i in unknown if v.msgs[i].uid is not None]
            last_known = max((i for i, m in enumerate(v.msgs) if m.uid is not None), default=-1)
            tail = [i for i in unknown if v.msgs[i].uid is None and i > last_known]
            middle = [i for i in unknown if v.msgs[i].uid is None and i < last_known]
            if known_uid:
                ctx = Ctx("UID FETCH", requested_uids=known_uid, fetch_flags_solicited=True,
                          wants_modseq=self.condstore)
                self.session.command("UID FETCH %s %s" % (format_set(known_uid), items), ctx)
                for uid in known_uid:
                    got = ctx.fetched.get(uid, {})
                    if "FLAGS" not in got:
                        # RFC 3501 6.4.8: UIDs that no longer exist are skipped.
                        self.claim("each", [uid], "UID FETCH %d gave no FLAGS" % uid)
            elif tail:
                floor = v.max_uid() + 1
                ctx = Ctx("UID FETCH", uid_floor=floor, fetch_flags_solicited=True,
                          wants_modseq=self.condstore)
                self.session.command("UID FETCH %d:* %s" % (floor, items), ctx)
            elif middle:
                seqs = [i + 1 for i in middle]
                ctx = Ctx("FETCH", seq_based=True, requested_seqs=seqs,
                          fetch_flags_solicited=True, wants_modseq=self.condstore)
                self.session.command("FETCH %s %s" % (format_set(seqs), items), ctx,
                                     allow_no=EXPUNGE_ISSUED)
        if must and v.unknown():
            i = v.unknown()[0]
            self.fail("after NOOP, with every other client paused, message %d (%r) is still "
                      "unknown after UID FETCH asked for it three times" % (i + 1, v.msgs[i]))

    # -- one step --------------------------------------------------------------
    def step(self):
        run = self.run_
        rng = random.Random("op/%d/%d/%d" % (run.seed, self.index, self.opno))
        names = [name for name, _ in OPS]
        weights = [w for _, w in OPS]
        op = rng.choices(names, weights)[0]
        n = self.view.count()
        if n == 0 and op not in ("noop", "check", "idle", "append", "select", "status"):
            op = "append"
        elif n < MIN_MESSAGES and op in ("expunge", "move"):
            op = "append"
        elif n > MAX_MESSAGES and op in ("append", "copy"):
            op = "expunge"
        if op == "idle" and not self.idle:
            op = "noop"
        if op == "move" and not self.move:
            op = "copy"
        if op == "changedsince" and not self.condstore:
            op = "fetch"
        self.op = op
        self.op_counts[op] += 1
        self.session.transcript.add("--", "op %d: %s" % (self.opno, op))
        getattr(self, "op_" + op)(rng)
        self.ensure_known()

    # -- operations ------------------------------------------------------------
    def op_noop(self, rng):
        self.session.command("NOOP", Ctx("NOOP"))

    def op_check(self, rng):
        self.session.command("CHECK", Ctx("CHECK"))

    def op_idle(self, rng):
        """RFC 2177: IDLE, take what the server pushes for a while, DONE."""
        s = self.session
        ctx = Ctx("IDLE")
        s.drain_unsolicited()
        tag = s.next_tag()
        s.send(("%s IDLE\r\n" % tag).encode(), "%s IDLE" % tag)
        deadline = time.monotonic() + s.timeout
        while True:
            resp = s._read(deadline, "the + of IDLE")
            if resp.tag == "+":
                break
            if resp.tag != "*":
                self.fail("IDLE refused: %s" % summarize(resp.raw))
            self.view.handle(resp, ctx)
        until = time.monotonic() + rng.uniform(0.05, 0.6)
        while True:
            raw = s.reader.read(until)
            if raw is None:
                break
            s.transcript.add("S:", summarize(raw))
            resp = s.parse(raw)
            if resp.tag != "*":
                self.fail("during IDLE: %s" % summarize(raw))
            self.view.handle(resp, ctx)
        s.send(b"DONE\r\n", "DONE")
        s.finish(tag, ctx)

    def op_fetch(self, rng):
        by_uid = rng.random() < 0.35
        text, seqs = self.pick_seqs(rng)
        variant = rng.random()
        if variant < 0.3:
            items = ["FLAGS"]
        elif variant < 0.6:
            items = ["UID", "FLAGS"] + (["MODSEQ"] if self.condstore else [])
        elif variant < 0.85:
            items = ["UID", "RFC822.SIZE", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]
        else:
            items = ["FLAGS", "INTERNALDATE", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]
        self._fetch(text, seqs, items, by_uid)

    def _fetch(self, text, seqs, items, by_uid, implicit_seen=False):
        v = self.view
        wants_modseq = "MODSEQ" in items
        flags = "FLAGS" in items
        if by_uid:
            uids = self.uids_of(seqs)
            if not uids:
                return self.op_noop(None)
            ctx = Ctx("UID FETCH", requested_uids=uids, fetch_flags_solicited=flags,
                      wants_modseq=wants_modseq, implicit_seen=implicit_seen)
            resp = self.session.command("UID FETCH %s (%s)" % (format_set(uids), " ".join(items)),
                                        ctx, allow_no=EXPUNGE_ISSUED)
            keys = uids
        else:
            ctx = Ctx("FETCH", seq_based=True, requested_seqs=seqs, fetch_flags_solicited=flags,
                      wants_modseq=wants_modseq, implicit_seen=implicit_seen)
            before = {s: v.msgs[s - 1].uid for s in seqs}
            resp = self.session.command("FETCH %s (%s)" % (text, " ".join(items)), ctx,
                                        allow_no=EXPUNGE_ISSUED)
            keys = seqs
        required = [self._answer_name(i) for i in items]
        missing = [k for k in keys
                   if any(name not in ctx.fetched.get(k, {}) for name in required)]
        if by_uid:
            # RFC 3501 6.4.8: a UID FETCH skips UIDs that no longer exist.
            for uid in missing:
                self.claim("each", [uid], "UID FETCH gave no data for UID %d" % uid)
        elif missing:
            missing_uids = [before[k] or v.msgs[k - 1].uid for k in missing]
            if resp.kind == "NO":
                self.claim("any", missing_uids, "FETCH answered NO [EXPUNGEISSUED]")
            else:
                self.fail("FETCH %s answered %s but gave no %s for message(s) %s (UIDs %s): "
                          "an OK FETCH returns the data of every message in the set (RFC 3501 "
                          "6.4.5); a message another session expunged can be answered with "
                          "NIL data and [EXPUNGEISSUED], or the command with NO (RFC 2180 "
                          "4.1, RFC 5530)" % (text, summarize(resp.raw), "/".join(required),
                                              format_set(missing), missing_uids))
        self.judge_unavailable(ctx, resp)
        return ctx

    def judge_unavailable(self, ctx, resp):
        """NIL or stand-in data is how a server answers for a message another
        session expunged, and it must say so with [EXPUNGEISSUED] (RFC 5530;
        Dovecot does); the messages must then really be gone."""
        if not ctx.unavailable:
            return
        if resp.code != "EXPUNGEISSUED":
            uid, reason = sorted(ctx.unavailable.items())[0]
            self.fail("%s answered %s with unusable data for UID %d (%s) and no "
                      "[EXPUNGEISSUED]" % (ctx.name, summarize(resp.raw), uid, reason))
        self.claim("each", ctx.unavailable, "%s answered [EXPUNGEISSUED] with data %s" %
                   (ctx.name, "; ".join("UID %d: %s" % item
                                        for item in sorted(ctx.unavailable.items()))))

    @staticmethod
    def _answer_name(item):
        """The FETCH response item a requested item comes back as."""
        return item.replace(".PEEK", "") if item.startswith("BODY.PEEK") else item

    def op_fetch_body(self, rng):
        text, seqs = self.pick_seqs(rng, most=4)
        peek = rng.random() < 0.7
        body = "BODY.PEEK[]" if peek else "BODY[]"
        by_uid = rng.random() < 0.3
        self._fetch(text, seqs, ["UID", "RFC822.SIZE", body], by_uid, implicit_seen=not peek)

    def op_fetch_stream(self, rng):
        """Every message whole and its text in one FETCH, megabytes, read
        slowly (16 KB per 2 ms), so the server streams it across many
        writes, a large body across several, while the other clients change
        the mailbox, expunges included."""
        s = self.session
        s.reader.slow_read, s.reader.read_size = 0.002, 16384
        try:
            self._fetch("1:*", list(range(1, self.view.count() + 1)),
                        ["UID", "BODY.PEEK[]", "BODY.PEEK[TEXT]"], by_uid=False)
        finally:
            s.reader.slow_read, s.reader.read_size = 0.0, 65536

    def op_store(self, rng):
        v = self.view
        text, seqs = self.pick_seqs(rng)
        mode = rng.choice(("+", "-", ""))
        flags = rng.sample(FLAG_POOL, rng.randint(1 if mode else 0, 3))
        if mode and rng.random() < 0.08:
            flags.append("\\Deleted")
        silent = rng.random() < 0.15
        by_uid = rng.random() < 0.4
        unchanged = None
        if self.condstore and not silent and rng.random() < 0.3:
            known = [v.msgs[s - 1].modseq for s in seqs if v.msgs[s - 1].modseq is not None]
            if known:
                unchanged = min(known) if rng.random() < 0.5 else max(known)
        self._store(text, seqs, mode, flags, silent, by_uid, unchanged)

    def _store(self, text, seqs, mode, flags, silent=False, by_uid=False, unchanged=None):
        v = self.view
        item = "%sFLAGS%s (%s)" % (mode, ".SILENT" if silent else "", " ".join(flags))
        modifier = " (UNCHANGEDSINCE %d)" % unchanged if unchanged is not None else ""
        # RFC 7162 3.1.3 Example 11 (after RFC 2180 4.2.3): a conditional
        # STORE over expunged messages may answer NO [MODIFIED set] when some
        # also failed the test.
        allowed_no = EXPUNGE_ISSUED + (("MODIFIED",) if unchanged is not None else ())
        if by_uid:
            uids = self.uids_of(seqs)
            if not uids:
                return
            ctx = Ctx("UID STORE", requested_uids=uids)
            resp = self.session.command("UID STORE %s%s %s" % (format_set(uids), modifier, item),
                                        ctx, allow_no=allowed_no)
            keys = uids
        else:
            uids = self.uids_of(seqs)
            before = {s: v.msgs[s - 1].uid for s in seqs}
            ctx = Ctx("STORE", seq_based=True, requested_seqs=seqs)
            resp = self.session.command("STORE %s%s %s" % (text, modifier, item), ctx,
                                        allow_no=allowed_no)
            keys = seqs
        if resp.kind == "NO":
            if resp.code == "MODIFIED":
                modified = set(parse_set(resp.code_args[0] if resp.code_args else None,
                                         "MODIFIED set"))
                if not modified <= set(keys):
                    self.fail("[MODIFIED %s] names messages outside the STORE's set %s" %
                              (resp.code_args[0], format_set(keys)))
                # The NO says some of the others no longer exist.
                if by_uid:
                    gone = [k for k in keys if k not in modified]
                else:
                    gone = [before[k] for k in keys
                            if k not in modified and before.get(k) is not None]
                self.claim("any", gone, "conditional STORE answered NO [MODIFIED]")
            else:
                self.claim("any", uids, "STORE answered NO [EXPUNGEISSUED]")
            if silent:
                self._forget_flags(keys, by_uid)
            return
        modified = set()
        if resp.code == "MODIFIED":
            if unchanged is None:
                self.fail("[MODIFIED] without UNCHANGEDSINCE (RFC 7162 3.1.3)")
            modified = set(parse_set(resp.code_args[0] if resp.code_args else None,
                                     "MODIFIED set"))
            if not modified <= set(keys):
                self.fail("[MODIFIED %s] names messages outside the STORE's set %s" %
                          (resp.code_args[0], format_set(keys)))
        if silent:
            # The new flags are not reported (RFC 3501 6.4.6), and another
            # session's change may have come before or after ours: learn them.
            self._forget_flags(keys, by_uid)
            return
        wanted = {norm_flag(f) for f in flags}

        def changes(current):
            current = without_recent(current)
            if mode == "+":
                return not wanted <= current
            if mode == "-":
                return bool(wanted & current)
            return wanted != current

        silent_drop = []
        for k in keys:
            if k in modified:
                continue
            got = ctx.fetched.get(k)
            if got is None or "FLAGS" not in got:
                # A server may leave out messages whose flags did not change
                # (Dovecot does: RFC 3501 6.4.6 says "normally"). The view,
                # which has every update the command brought, must agree that
                # nothing changed.
                index = v.index_of_uid(k) if by_uid else k - 1
                current = v.msgs[index].flags if index is not None else None
                if current is None or not changes(current):
                    continue
                if by_uid:
                    # RFC 3501 6.4.8: a UID that no longer exists is ignored.
                    self.claim("each", [k], "UID STORE gave no FETCH for UID %d" % k)
                    continue
                silent_drop.append((k, before.get(k), current))
        # The flags reported are the latest: another session's later change
        # may already be in them (Dovecot merges), so their content is not
        # compared with the request; the checkpoints catch lost updates.
        # A missing FETCH where the view expected a change: either another
        # session undid the change at once (a multi-process server may then
        # report nothing), or the server said OK to a STORE it did not do.
        # Ask: the message must still be there.
        for seq, uid, current in silent_drop:
            if uid is None:
                continue
            check = Ctx("UID FETCH", requested_uids=[uid], fetch_flags_solicited=True)
            self.session.command("UID FETCH %d (FLAGS)" % uid, check)
            if uid not in check.fetched:
                self.fail("STORE %s answered %s without * %d FETCH (FLAGS ...), though the view "
                          "had its flags as %s, and UID %d no longer exists: the STORE was "
                          "dropped but answered OK. The new flags of a message the STORE "
                          "changes are returned (RFC 3501 6.4.6); for a message another session "
                          "expunged the answer is NO [EXPUNGEISSUED], or the FETCH as if it were "
                          "stored (RFC 2180 4.2, RFC 5530)" %
                          (text, summarize(resp.raw), seq, fmt_flags(current), uid))

    def _forget_flags(self, keys, by_uid):
        v = self.view
        for k in keys:
            index = v.index_of_uid(k) if by_uid else k - 1
            if index is not None and index < v.count():
                v.msgs[index].flags = None
                v.msgs[index].modseq = None

    def op_expunge(self, rng):
        """Marks a few messages \\Deleted, then EXPUNGE or (UIDPLUS) UID
        EXPUNGE of them."""
        v = self.view
        count = min(v.count(), rng.randint(1, 3))
        seqs = sorted(rng.sample(range(1, v.count() + 1), count))
        uids = self.uids_of(seqs)  # before the STORE: its answers may renumber
        self._store(",".join(map(str, seqs)), seqs, "+", ["\\Deleted"])
        if self.uidplus and rng.random() < 0.6:
            if uids:
                self.session.command("UID EXPUNGE %s" % format_set(uids), Ctx("UID EXPUNGE"))
                return
        self.session.command("EXPUNGE", Ctx("EXPUNGE"))

    def _copy_or_move(self, rng, command):
        run, v = self.run_, self.view
        target = run.mailbox if rng.random() < (0.3 if command == "COPY" else 0.15) else run.sink
        text, seqs = self.pick_seqs(rng, most=3)
        by_uid = rng.random() < 0.4
        requested = self.uids_of(seqs)
        view_uids = [m.uid for m in v.msgs]
        floor = max(run.registry.max_acked_uid(target),
                    v.max_uid() if target == run.mailbox else 0)
        name = ("UID " if by_uid else "") + command
        if by_uid:
            if not requested:
                return
            args = format_set(requested)
        else:
            args = text
        ctx = Ctx(name)
        resp = self.session.command("%s %s %s" % (name, args, quote(target)), ctx,
                                    allow_no=EXPUNGE_ISSUED)
        if resp.kind == "NO":
            self.claim("any", requested, "%s answered NO [EXPUNGEISSUED]" % name)
            return
        code = resp.code_args if resp.code == "COPYUID" else ctx.copyuid
        if code is None:
            if self.run_.uidplus and requested:
                if by_uid:
                    # Nothing copied is allowed only when every UID is gone.
                    self.claim("each", requested, "%s copied nothing" % name)
                else:
                    self.fail("%s answered OK without COPYUID (RFC 4315 3, RFC 6851 4.3)" % name)
            return
        where = "%s op %d %s" % (self.label, self.opno, name)
        validity, pairs = copyuid_pairs(code, where)
        expected_validity = run.uidvalidity if target == run.mailbox else run.sink_validity
        if validity != expected_validity:
            self.fail("COPYUID UIDVALIDITY %d, but %s has %d" % (validity, target,
                                                                  expected_validity))
        sources = [src for src, _ in pairs]
        strays = [u for u in sources if u not in requested and
                  (by_uid or not fits_unknown(view_uids, u))]
        if strays:
            self.fail("COPYUID source UIDs %s include UIDs not in the %s set %s (RFC 4315 3)" %
                      (sources, name, requested))
        gone = [u for u in requested if u not in sources]
        if gone:
            self.claim("each", gone, "%s OK without copying UIDs %s" % (name, gone))
        dsts = [dst for _, dst in pairs]
        if min(dsts) <= floor:
            self.fail("COPYUID destination UIDs %s are not above UID %d, which %s had already "
                      "assigned before the %s was sent (RFC 3501 2.3.1.1)" %
                      (dsts, floor, target, name))
        for src, dst in pairs:
            mid = run.registry.mid_of(run.mailbox, run.uidvalidity, src)
            run.registry.ack(target, validity, dst, mid, where)
        if command == "MOVE":
            # RFC 6851 3.3: MOVE has the effect of UID EXPUNGE of the moved
            # messages, whose EXPUNGE/VANISHED come before the tagged OK.
            left = [u for u in sources if v.index_of_uid(u) is not None]
            if left:
                self.fail("%s moved UIDs %s but they are still in the view after its tagged OK "
                          "(RFC 6851 3.3, RFC 4315 2.1)" % (name, left))

    def op_copy(self, rng):
        self._copy_or_move(rng, "COPY")

    def op_move(self, rng):
        self._copy_or_move(rng, "MOVE")

    def op_append(self, rng):
        run, v = self.run_, self.view
        target = run.mailbox if rng.random() < 0.85 else run.sink
        count = rng.randint(2, 3) if self.multiappend and rng.random() < 0.15 else 1
        parts, literals, mids = [], [], []
        for _ in range(count):
            self.appended += 1
            mid, body = make_message(run.seed, self.index, self.appended)
            run.registry.add_message(mid, body, remake(run.seed, self.index, self.appended))
            flags = rng.sample(FLAG_POOL, rng.randint(0, 2))
            date = ' "%02d-Mar-2024 10:%02d:00 +0100"' % (rng.randint(1, 28), rng.randint(0, 59)) \
                if rng.random() < 0.3 else ""
            parts.append(" (%s)%s %%L" % (" ".join(flags), date))
            literals.append(body)
            mids.append(mid)
        floor = max(run.registry.max_acked_uid(target), v.max_uid() if target == run.mailbox else 0)
        ctx = Ctx("APPEND")
        resp = self.session.command("APPEND %s%s" % (quote(target), "".join(parts)), ctx,
                                    literals=literals, literal_plus=self.literal_plus)
        if resp.code != "APPENDUID":
            if run.uidplus:
                self.fail("APPEND answered OK without APPENDUID (RFC 4315 3)")
            return
        where = "%s op %d APPEND" % (self.label, self.opno)
        if len(resp.code_args) != 2:
            self.fail("malformed APPENDUID %r" % (resp.code_args,))
        validity = as_number(resp.code_args[0], "UIDVALIDITY")
        uids = parse_set(resp.code_args[1], "APPENDUID set")
        expected_validity = run.uidvalidity if target == run.mailbox else run.sink_validity
        if validity != expected_validity:
            self.fail("APPENDUID UIDVALIDITY %d, but %s has %d" % (validity, target,
                                                                    expected_validity))
        if len(uids) != count:
            self.fail("APPENDUID names %d UIDs for %d messages (RFC 4315 3)" % (len(uids), count))
        if uids[0] <= floor:
            self.fail("APPENDUID UID %d is not above UID %d, which %s had already assigned "
                      "before the APPEND was sent (RFC 3501 2.3.1.1)" % (uids[0], floor, target))
        for uid, mid in zip(uids, mids):
            run.registry.ack(target, validity, uid, mid, where)

    def op_search(self, rng):
        v = self.view
        n = v.count()
        roll = rng.random()
        if roll < 0.3:
            a = rng.randint(1, n)
            b = a + rng.randint(0, 40)  # past EXISTS on purpose: a search key, not an error
            self._search_seq_range(a, b)
            return
        criteria = rng.choice(("FLAGGED", "UNSEEN", "DELETED", "KEYWORD $Label1",
                               "NOT ANSWERED", "OR SEEN FLAGGED", "SUBJECT stress",
                               "UNKEYWORD $Label2", "ALL", "NEW", "DRAFT"))
        if roll < 0.55:
            ctx = Ctx("SEARCH", seq_based=True)
            self.session.command("SEARCH %s" % criteria, ctx)
            self._search_result(ctx, by_uid=False)
        elif roll < 0.75 or not (self.esearch or self.condstore):
            if rng.random() < 0.5 and v.max_uid():
                lo = rng.randint(1, v.max_uid())
                criteria = "UID %d:%d" % (lo, lo + rng.randint(0, 30))
            ctx = Ctx("UID SEARCH")
            self.session.command("UID SEARCH %s" % criteria, ctx)
            self._search_result(ctx, by_uid=True)
        elif self.esearch and (roll < 0.88 or not self.condstore):
            ctx = Ctx("UID SEARCH")
            tag_before = self.session.tags + 1
            self.session.command("UID SEARCH RETURN (MIN MAX COUNT ALL) %s" % criteria, ctx)
            self._esearch_result(ctx, "%s%d" % (self.session.tag_prefix, tag_before))
        else:
            known = [m.modseq for m in v.msgs if m.modseq is not None]
            since = rng.choice(known) if known else 1
            ctx = Ctx("SEARCH", seq_based=True)
            self.session.command("SEARCH MODSEQ %d" % since, ctx)
            numbers, modseq = self._search_result(ctx, by_uid=False)
            if numbers and modseq is None:
                self.fail("SEARCH MODSEQ with results but no (MODSEQ n) (RFC 7162 3.1.5)")

    def _search_seq_range(self, a, b):
        v = self.view
        before = [m.uid for m in v.msgs]
        ctx = Ctx("SEARCH", seq_based=True)
        self.session.command("SEARCH %d:%d" % (a, b), ctx)
        numbers, _ = self._search_result(ctx, by_uid=False)
        expected = set(range(a, min(b, len(before)) + 1))
        extra = set(numbers) - expected
        if extra:
            self.fail("SEARCH %d:%d found %s, outside the range" % (a, b, sorted(extra)))
        missing = expected - set(numbers)
        if missing:
            self.claim("each", [before[s - 1] for s in missing],
                       "SEARCH %d:%d left out messages %s" % (a, b, format_set(missing)))

    def _search_result(self, ctx, by_uid):
        """The one * SEARCH response's numbers (and its MODSEQ, RFC 7162
        3.1.5), each within the view (sequence numbers) or a UID the view
        holds, a UID above it (a new arrival), never one it saw expunged."""
        results = [r for r in ctx.untagged if r.kind == "SEARCH"]
        if len(results) != 1:
            self.fail("%s with %d * SEARCH responses (RFC 3501 6.4.4)" % (ctx.name, len(results)))
        values = results[0].values
        modseq = None
        if values and isinstance(values[-1], list):
            tail = values.pop()
            if len(tail) != 2 or str(tail[0]).upper() != "MODSEQ":
                self.fail("malformed SEARCH result %s" % summarize(results[0].raw))
            modseq = as_number(tail[1], "mod-sequence")
        numbers = [as_number(x, "search result") for x in values]
        uids, expunged = ctx.search_view
        present = set(uids)
        top = max((u for u in uids if u is not None), default=0)
        for x in numbers:
            if by_uid:
                if x in expunged:
                    self.fail("UID SEARCH found UID %d, which this session saw expunged" % x)
                if x not in present and x <= top and not fits_unknown(uids, x):
                    self.fail("UID SEARCH found UID %d, which is not in the view" % x)
            elif not 1 <= x <= len(uids):
                self.fail("SEARCH found message %d, but the view has %d (RFC 3501 7.2.5)" %
                          (x, len(uids)))
        return numbers, modseq

    def _esearch_result(self, ctx, tag):
        """RFC 4731: one * ESEARCH (TAG "t") UID ... whose MIN, MAX, COUNT
        and ALL agree."""
        results = [r for r in ctx.untagged if r.kind == "ESEARCH"]
        if len(results) != 1:
            self.fail("UID SEARCH RETURN with %d * ESEARCH responses (RFC 4731 3.1)" %
                      len(results))
        values = list(results[0].values)
        if not values or not isinstance(values[0], list) or len(values[0]) != 2 or \
                str(values[0][0]).upper() != "TAG" or values[0][1] != tag.encode():
            self.fail("ESEARCH without (TAG \"%s\"): %s" % (tag, summarize(results[0].raw)))
        values = values[1:]
        if not values or str(values[0]).upper() != "UID":
            self.fail("ESEARCH for UID SEARCH without UID (RFC 4731 3.1)")
        pairs = values[1:]
        if len(pairs) % 2:
            self.fail("malformed ESEARCH %s" % summarize(results[0].raw))
        data = {str(pairs[i]).upper(): pairs[i + 1] for i in range(0, len(pairs), 2)}
        all_uids = parse_set(data["ALL"], "ESEARCH ALL") if "ALL" in data else []
        count = as_number(data.get("COUNT", "0"), "COUNT")
        if count != len(all_uids):
            self.fail("ESEARCH COUNT %d but ALL has %d UIDs" % (count, len(all_uids)))
        if all_uids:
            if as_number(data.get("MIN"), "MIN") != all_uids[0] or \
                    as_number(data.get("MAX"), "MAX") != all_uids[-1]:
                self.fail("ESEARCH MIN/MAX disagree with ALL: %s" % summarize(results[0].raw))
        elif "MIN" in data or "MAX" in data:
            self.fail("ESEARCH MIN/MAX with no match (RFC 4731 3.1)")

    def op_select(self, rng):
        self.select(first=False)

    def select(self, first):
        run, v, s = self.run_, self.view, self.session
        mode = "condstore" if self.condstore else "plain"
        if self.qresync and not first:
            self.ensure_known()
            if not v.unknown() and v.highestmodseq:
                mode = "qresync"
        cache = [Msg(m.uid, m.flags, m.modseq) for m in v.msgs] if mode == "qresync" else None
        old_uids = set(v.known_uids())
        if mode == "qresync":
            known = format_set(old_uids) if old_uids else None
            params = " (QRESYNC (%d %d%s))" % (v.uidvalidity, v.highestmodseq,
                                               " " + known if known else "")
        elif mode == "condstore":
            params = " (CONDSTORE)"
        else:
            params = ""
        ctx = Ctx("SELECT", select=mode, allow_earlier=mode == "qresync")
        resp = s.command("SELECT %s%s" % (quote(run.mailbox), params), ctx)
        if resp.code != "READ-WRITE":
            self.fail("SELECT answered %s: a mailbox selected read-write says [READ-WRITE] "
                      "(RFC 3501 6.3.1)" % summarize(resp.raw))
        v.finish_select(ctx, cache)
        if mode == "qresync":
            # Vanished cached UIDs were expunged (RFC 7162 3.2.5.2).
            v.expunged_uids |= (ctx.vanished_earlier & old_uids)
        else:
            # A UID of the old view missing from the new one was expunged:
            # UIDs are never reused (RFC 3501 2.3.1.1).
            if v.count():
                ctx2 = Ctx("UID FETCH", uid_floor=1, fetch_flags_solicited=True,
                           wants_modseq=self.condstore)
                s.command("UID FETCH 1:* %s" %
                          self.fetch_items("BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"), ctx2)
            self.ensure_known()
            v.expunged_uids |= old_uids - set(v.known_uids())

    def op_status(self, rng):
        """STATUS of the sink, which only ever grows: at least every message
        acknowledged before the command was sent, UIDNEXT above them all."""
        run = self.run_
        acked = run.registry.acked_count(run.sink)
        top = run.registry.max_acked_uid(run.sink)
        ctx = Ctx("STATUS")
        extra = " HIGHESTMODSEQ" if self.condstore else ""
        self.session.command("STATUS %s (MESSAGES UIDNEXT UIDVALIDITY%s)" %
                             (quote(run.sink), extra), ctx)
        results = [r for r in ctx.untagged if r.kind == "STATUS"]
        if len(results) != 1 or len(results[0].values) != 2 or \
                not isinstance(results[0].values[1], list):
            self.fail("STATUS without one well-formed * STATUS response (RFC 3501 7.2.4)")
        items = results[0].values[1]
        data = {str(items[i]).upper(): as_number(items[i + 1], "STATUS value")
                for i in range(0, len(items) - 1, 2)}
        if data.get("MESSAGES", -1) < acked:
            self.fail("STATUS MESSAGES %s, but %d messages were acknowledged in %s before it" %
                      (data.get("MESSAGES"), acked, run.sink))
        if data.get("UIDNEXT", 0) <= top:
            self.fail("STATUS UIDNEXT %s, but UID %d was acknowledged in %s before it "
                      "(RFC 3501 2.3.1.1)" % (data.get("UIDNEXT"), top, run.sink))
        if data.get("UIDVALIDITY") != run.sink_validity:
            self.fail("STATUS UIDVALIDITY %s, but %s has %d" % (data.get("UIDVALIDITY"),
                                                                 run.sink, run.sink_validity))

    def op_changedsince(self, rng):
        """RFC 7162 3.1.4.1 CHANGEDSINCE (and with QRESYNC, 3.2.6 VANISHED):
        every message whose MODSEQ the view knows to be above the value is
        returned, and nothing at or below it."""
        v = self.view
        known = sorted({m.modseq for m in v.msgs if m.modseq is not None})
        if not known:
            return self.op_fetch(rng)
        since = rng.choice(known[-10:]) - rng.randint(0, 1)
        must = {m.uid for m in v.msgs if m.modseq is not None and m.modseq > since}
        if self.qresync and rng.random() < 0.6:
            ctx = Ctx("UID FETCH", uid_floor=1, fetch_flags_solicited=True, wants_modseq=True,
                      allow_earlier=True)
            self.session.command("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % since, ctx)
            returned = set(ctx.fetched)
            still = [u for u in ctx.vanished_earlier if v.index_of_uid(u) is not None]
            if still:
                self.claim("each", still, "VANISHED (EARLIER) of UIDs still in the view")
        else:
            ctx = Ctx("FETCH", seq_based=True, requested_seqs=range(1, v.count() + 1),
                      fetch_flags_solicited=True, wants_modseq=True)
            uids = [m.uid for m in v.msgs]
            self.session.command("FETCH 1:* (UID FLAGS) (CHANGEDSINCE %d)" % since, ctx,
                                 allow_no=EXPUNGE_ISSUED)
            returned = {uids[s - 1] for s in ctx.fetched}
        for key, items in ctx.fetched.items():
            modseq = items.get("MODSEQ")
            if modseq is None or as_number(modseq[0], "mod-sequence") <= since:
                self.fail("CHANGEDSINCE %d returned %s with MODSEQ %s (RFC 7162 3.1.4.1)" %
                          (since, key, modseq))
        left_out = sorted(u for u in must - returned if u is not None)
        if left_out:
            self.claim("each", left_out, "CHANGEDSINCE %d left out UIDs whose MODSEQ is above it"
                       % since)

    # -- checkpoints -------------------------------------------------------------
    def checkpoint(self):
        """All clients stop here (barrier); each sends NOOP and learns every
        message; its view's own invariants are checked; the coordinator
        then compares every view with the store."""
        run = self.run_
        self.op = "checkpoint"
        self.session.transcript.add("--", "checkpoint %d" % (run.checkpoints + 1))
        run.wait_barrier(self)
        self.session.command("NOOP", Ctx("NOOP"))
        self.ensure_known(must=True)
        v = self.view
        if v.recent_known():
            recent = v.recent_uids()
            if len(recent) != v.recent_count:
                self.fail("the last * RECENT said %d, but %d messages of the view have \\Recent "
                          "(UIDs %s): RECENT is re-sent when the count changes, expunges "
                          "included (RFC 3501 7.3.2)" % (v.recent_count, len(recent),
                                                         sorted(recent)))
        self.checkpoint_search()
        self.snapshot = (v.snapshot(), v.recent_uids() if v.recent_known() else None,
                         v.highestmodseq, list(v.claims), set(v.expunged_uids),
                         list(v.expunged_gaps))
        v.claims.clear()
        run.wait_barrier(self)
        run.wait_barrier(self)

    def checkpoint_search(self):
        """With the mailbox quiet, SEARCH must match the view exactly."""
        rng = random.Random("cpsearch/%d/%d/%d" % (self.run_.seed, self.index, self.opno))
        v = self.view
        tests = [
            ("ALL", lambda m: True),
            ("FLAGGED", lambda m: "\\flagged" in m.flags),
            ("UNSEEN", lambda m: "\\seen" not in m.flags),
            ("DELETED", lambda m: "\\deleted" in m.flags),
            ("ANSWERED", lambda m: "\\answered" in m.flags),
            ("NOT DRAFT", lambda m: "\\draft" not in m.flags),
            ("KEYWORD $Label1", lambda m: "$Label1" in m.flags),
            ("UNKEYWORD $Label2", lambda m: "$Label2" not in m.flags),
            ("OR SEEN KEYWORD $Label3", lambda m: "\\seen" in m.flags or "$Label3" in m.flags),
        ]
        if v.recent_known():
            tests.append(("RECENT", lambda m: RECENT in m.flags))
        criteria, match = rng.choice(tests)
        by_uid = rng.random() < 0.5
        ctx = Ctx("UID SEARCH" if by_uid else "SEARCH", seq_based=not by_uid)
        self.session.command("%sSEARCH %s" % ("UID " if by_uid else "", criteria), ctx)
        numbers, _ = self._search_result(ctx, by_uid)
        expected = {m.uid if by_uid else i + 1 for i, m in enumerate(v.msgs) if match(m)}
        if set(numbers) != expected:
            self.fail("at the checkpoint (nothing changing) %sSEARCH %s found %s, but the view "
                      "has %s (RFC 3501 6.4.4)" % ("UID " if by_uid else "", criteria,
                                                    sorted(numbers), sorted(expected)))


# ---------------------------------------------------------------------------
# The run: setup, checkpoints, the verdict.
# ---------------------------------------------------------------------------

class Run:
    def __init__(self, args, host, port, server):
        self.args = args
        self.host = host
        self.port = port
        self.server = server
        self.seed = args.seed
        self.mailbox = args.mailbox
        self.sink = args.mailbox + "-sink"
        self.registry = Registry()
        self.start = time.monotonic()
        self.failure = None
        self.lock = threading.Lock()
        self.clients = []
        self.sessions = []
        self.finished = False
        self.checkpoints = 0
        self.barrier = threading.Barrier(args.clients + 1)
        self.uidvalidity = None
        self.sink_validity = None
        self.uidplus = False
        self.condstore = False
        self.last_store = None
        self.tolerate = set(args.tolerate.split(",")) if args.tolerate else set()

    # -- failure -----------------------------------------------------------------
    def failed(self):
        return self.failure is not None

    def fail(self, who, text):
        with self.lock:
            if self.failure is not None:
                return
            lines = who.session.transcript.report(self.args.history, text) \
                if who is not None and getattr(who, "session", None) else []
            label = who.label if who is not None else "coordinator"
            self.failure = (label, text, lines, time.monotonic() - self.start)
        self.barrier.abort()
        for client in self.clients:
            if client.session:
                client.session.shutdown()

    def wait_barrier(self, client):
        self.barrier.wait(self.args.barrier_timeout)

    # -- schedule ------------------------------------------------------------------
    def schedule(self):
        """Op counts at which every client checkpoints: the same for all,
        from the seed. With --ops the last one is at --ops; otherwise the
        coordinator ends the run at the first checkpoint after --duration."""
        rng = random.Random("checkpoints/%d" % self.seed)
        at = 0
        while True:
            at += rng.randint(self.args.checkpoint_min, self.args.checkpoint_max)
            if self.args.ops and at >= self.args.ops:
                yield self.args.ops
                return
            yield at

    # -- setup ---------------------------------------------------------------------
    def session(self, name):
        s = Session(name, self.host, self.port, self.registry, self.start,
                    timeout=self.args.timeout, mailbox=self.mailbox,
                    tag_prefix="s")
        self.sessions.append(s)
        s.login(self.args.user, self.args.password)
        return s

    def setup(self):
        s = self.session("setup")
        self.uidplus = s.has("UIDPLUS")
        self.condstore = s.has("CONDSTORE")
        for name in (self.mailbox, self.sink):
            s.command("DELETE %s" % quote(name), allow_no=AnyCode())
            s.command("CREATE %s" % quote(name))
        self.uidvalidity = self.status_validity(s, self.mailbox)
        self.sink_validity = self.status_validity(s, self.sink)
        rng = random.Random("setup/%d" % self.seed)
        plus = s.has("LITERAL+")
        for number in range(1, self.args.initial + 1):
            mid, body = make_message(self.seed, "setup", number)
            self.registry.add_message(mid, body, remake(self.seed, "setup", number))
            flags = " ".join(rng.sample(FLAG_POOL, rng.randint(0, 3)))
            resp = s.command("APPEND %s (%s) %%L" % (quote(self.mailbox), flags),
                             literals=[body], literal_plus=plus)
            if resp.code == "APPENDUID":
                validity, uid = (as_number(x) for x in resp.code_args)
                self.registry.ack(self.mailbox, validity, uid, mid, "setup APPEND")
        s.logout()

    @staticmethod
    def status_validity(s, name):
        ctx = Ctx("STATUS")
        s.command("STATUS %s (UIDVALIDITY)" % quote(name), ctx)
        for r in ctx.untagged:
            if r.kind == "STATUS":
                return as_number(r.values[1][1], "UIDVALIDITY")
        s.fail("STATUS without * STATUS")

    def teardown(self):
        if self.args.keep:
            return
        s = self.session("teardown")
        for name in (self.mailbox, self.sink):
            s.command("DELETE %s" % quote(name))
        s.logout()

    # -- the coordinator -------------------------------------------------------------
    def coordinate(self):
        while True:
            self.barrier.wait(self.args.barrier_timeout)   # clients stopped
            self.barrier.wait(self.args.barrier_timeout)   # clients synced and checked
            self.checkpoints += 1
            self.compare()
            self.empty_sink()
            elapsed = time.monotonic() - self.start
            ops_done = self.args.ops and all(c.opno >= self.args.ops for c in self.clients)
            if ops_done or (not self.args.ops and elapsed >= self.args.duration):
                self.finished = True
            self.barrier.wait(self.args.barrier_timeout)   # release
            if self.finished:
                return

    def empty_sink(self):
        """Empties the sink while every client waits, so a long run does not
        keep every copied body alive (the bodies are shared, RFC 4315 COPY
        makes no new ones): memory stays bounded however long it runs."""
        acked = self.registry.acked_uids(self.sink)
        if not acked:
            return
        s = self.session("sink cleanup, checkpoint %d" % self.checkpoints)
        s.view = View(s.name, self.sink, self.registry, expected_uidvalidity=self.sink_validity)
        ctx = Ctx("SELECT", select="plain")
        s.command("SELECT %s" % quote(self.sink), ctx)
        s.view.finish_select(ctx, None)
        s.command("STORE 1:* +FLAGS.SILENT (\\Deleted)", Ctx("STORE", seq_based=True))
        s.command("CLOSE")  # RFC 3501 6.4.2: expunges, with no responses
        s.logout()
        self.registry.forget_acked(self.sink)

    def read_store(self):
        """What a fresh session reads: EXAMINE (no \\Recent claimed, RFC
        3501 6.3.2) and UID FETCH 1:* of both mailboxes."""
        s = self.session("store (fresh session, checkpoint %d)" % self.checkpoints)
        result = {}
        for mailbox, validity in ((self.mailbox, self.uidvalidity),
                                  (self.sink, self.sink_validity)):
            v = s.view = View(s.name, mailbox, self.registry, condstore=self.condstore,
                              server_qresync=s.has("QRESYNC"), expected_uidvalidity=validity)
            v.tolerate = self.tolerate
            mode = "condstore" if self.condstore else "plain"
            ctx = Ctx("EXAMINE", select=mode)
            resp = s.command("EXAMINE %s%s" % (quote(mailbox),
                                               " (CONDSTORE)" if self.condstore else ""), ctx)
            if resp.code != "READ-ONLY":
                s.fail("EXAMINE answered %s, not [READ-ONLY] (RFC 3501 6.3.2)" %
                       summarize(resp.raw))
            v.finish_select(ctx, None)
            if v.count():
                items = "UID FLAGS%s BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]" % (
                    " MODSEQ" if self.condstore else "")
                fctx = Ctx("UID FETCH", uid_floor=1, fetch_flags_solicited=True,
                           wants_modseq=self.condstore)
                s.command("UID FETCH 1:* (%s)" % items, fctx)
            if v.unknown():
                s.fail("UID FETCH 1:* left messages %s unknown" % [i + 1 for i in v.unknown()])
            result[mailbox] = v
        s.logout()
        return result

    def compare(self):
        try:
            self._compare()
        except CheckFailure as e:
            self.fail(self.blame, str(e))
            raise threading.BrokenBarrierError()

    def _compare(self):
        self.blame = None
        store = self.read_store()
        sv = store[self.mailbox]
        snap = sv.snapshot()
        store_uids = [u for u, _, _ in snap]
        present = set(store_uids)
        by_uid = {u: (f, m) for u, f, m in snap}
        n = self.checkpoints
        for c in self.clients:
            self.blame = c
            view, recent, hms, claims, expunged, gaps = c.snapshot
            uids = [u for u, _, _ in view]
            if uids != store_uids:
                raise CheckFailure(
                    "checkpoint %d: %s's view differs from the store: %d vs %d messages; only in "
                    "the view: UIDs %s; only in the store: UIDs %s" %
                    (n, c.label, len(uids), len(store_uids), sorted(set(uids) - present)[:20],
                     sorted(present - set(uids))[:20]))
            for u, flags, modseq in view:
                sflags, smodseq = by_uid[u]
                if flags != sflags:
                    raise CheckFailure("checkpoint %d: %s has UID %d with flags %s, the store "
                                       "has %s" % (n, c.label, u, fmt_flags(flags),
                                                   fmt_flags(sflags)))
                if c.condstore and self.condstore and modseq != smodseq:
                    raise CheckFailure("checkpoint %d: %s has UID %d with MODSEQ %s, the store "
                                       "has %s" % (n, c.label, u, modseq, smodseq))
            if hms is not None and sv.highestmodseq is not None and hms > sv.highestmodseq:
                raise CheckFailure("checkpoint %d: %s was told HIGHESTMODSEQ %d, above the "
                                   "store's %d" % (n, c.label, hms, sv.highestmodseq))
        self.blame = None
        # \Recent belongs to one session (RFC 3501 2.3.2).
        owners = {}
        for c in self.clients:
            recent = c.snapshot[1]
            for u in recent or ():
                if u in owners:
                    self.blame = c
                    raise CheckFailure("checkpoint %d: UID %d is \\Recent in %s and in %s "
                                       "(RFC 3501 2.3.2)" % (n, u, owners[u], c.label))
                owners[u] = c.label
        if sv.highestmodseq is not None and snap:
            top = max(m for _, _, m in snap if m is not None) if self.condstore else 0
            if top > sv.highestmodseq:
                raise CheckFailure("checkpoint %d: the store's HIGHESTMODSEQ %d is below a "
                                   "message's MODSEQ %d (RFC 7162 3.1.1)" %
                                   (n, sv.highestmodseq, top))
        if store_uids and sv.uidnext is not None and sv.uidnext <= store_uids[-1]:
            raise CheckFailure("checkpoint %d: UIDNEXT %d, but UID %d exists" %
                               (n, sv.uidnext, store_uids[-1]))
        # What the server implied during the run (data omitted, EXPUNGEISSUED)
        # must be true of the store now.
        all_expunged = set()
        all_gaps = []
        for c in self.clients:
            _, _, _, claims, expunged, gaps = c.snapshot
            all_expunged |= expunged
            all_gaps += gaps
            for claim in claims:
                still = claim.uids & present
                if (claim.mode == "each" and still) or (claim.mode == "any" and
                                                        claim.uids <= present):
                    self.blame = c
                    raise CheckFailure(
                        "checkpoint %d: %s -- but UIDs %s are still in the mailbox, so the "
                        "server %s" % (n, claim.what, sorted(still),
                                       "left out data of messages that exist" if
                                       claim.mode == "each" else
                                       "said EXPUNGEISSUED when none of them was expunged"))
        self.blame = None
        # Every UID acknowledged by APPENDUID/COPYUID is in the mailbox, or a
        # session saw it expunged (RFC 4315 3).
        for uid, _ in sorted(self.registry.acked_uids(self.mailbox).items()):
            if uid in present or uid in all_expunged:
                continue
            if any(lo < uid and (hi is None or uid < hi) for lo, hi in all_gaps):
                continue
            raise CheckFailure("checkpoint %d: UID %d was acknowledged (APPENDUID/COPYUID) but "
                               "is not in %s and no session saw it expunged" %
                               (n, uid, self.mailbox))
        sink = store[self.sink]
        sink_uids = set(sink.known_uids())
        acked = set(self.registry.acked_uids(self.sink))
        if self.uidplus and sink_uids != acked:
            raise CheckFailure("checkpoint %d: %s holds UIDs %s, but the acknowledged "
                               "COPY/MOVE/APPEND UIDs are %s (nothing else writes to it)" %
                               (n, self.sink, format_set(sink_uids) if sink_uids else "none",
                                format_set(acked) if acked else "none"))
        self.last_store = (len(store_uids), len(sink_uids))
        if self.args.verbose:
            print("stress: checkpoint %d at %.1f s: %d clients agree on %d messages "
                  "(HIGHESTMODSEQ %s), sink %d; %d operations" %
                  (n, time.monotonic() - self.start, len(self.clients), len(store_uids),
                   sv.highestmodseq, len(sink_uids), sum(c.opno for c in self.clients)),
                  file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Starting imapd.
# ---------------------------------------------------------------------------

class ImapdServer:
    """`imapd serve --ephemeral` on a port the kernel picks (as
    tests/e2e/test_serve.py starts it), with connection limits raised for
    N clients of one user."""

    def __init__(self, binary, user, password, clients, wait=15, extra_args=()):
        self.tmp = tempfile.TemporaryDirectory(prefix="imapd-stress-")
        config = os.path.join(self.tmp.name, "imapd.conf")
        limit = clients + 20
        with open(config, "w") as f:
            f.write("[limits]\nmax_connections_per_ip = %d\nmax_connections_per_user = %d\n" %
                    (limit, limit))
        self.log_path = os.path.join(self.tmp.name, "stderr.log")
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary, "serve", "--ephemeral", "--config", config, "--listen", "127.0.0.1:0",
             "--user", "%s:%s" % (user, password)] + list(extra_args),
            stdout=subprocess.PIPE, stderr=self.log_file)
        deadline = time.monotonic() + wait
        buffered = b""
        self.port = None
        while self.port is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("imapd did not print its listening line; log:\n" + self.log())
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                buffered += chunk
                for line in buffered.split(b"\n"):
                    m = LISTEN_RE.match(line)
                    if m:
                        self.port = int(m.group(2))

    def log(self, tail=None):
        self.log_file.flush()
        with open(self.log_path, "rb") as f:
            lines = f.read().decode(errors="replace").splitlines()
        return "\n".join(lines[-tail:] if tail else lines)

    def status(self):
        code = self.proc.poll()
        if code is None:
            return "running"
        return "exited with %d" % code if code >= 0 else "killed by signal %d" % -code

    def stop(self):
        """SIGTERM (imapd shuts down gracefully, exit 0); returns what went
        wrong: a bad exit, or a sanitizer report in its log (ASan builds)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        problem = None
        log = self.log()
        self.final_log = "\n".join(log.splitlines()[-40:])
        if self.proc.returncode != 0:
            problem = "imapd %s after SIGTERM" % self.status()
        elif "ERROR: AddressSanitizer" in log or "runtime error:" in log or \
                "ERROR: LeakSanitizer" in log:
            problem = "imapd's log holds a sanitizer report"
        self.proc.stdout.close()
        self.log_file.close()
        self.tmp.cleanup()
        return problem


# ---------------------------------------------------------------------------
# Command line.
# ---------------------------------------------------------------------------

def assign_profiles(args):
    if args.profiles:
        wanted = args.profiles.split(",")
        for p in wanted:
            if p not in PROFILES:
                raise SystemExit("stress: unknown profile %r (choose from %s)" %
                                 (p, ", ".join(PROFILES)))
        return [wanted[i % len(wanted)] for i in range(args.clients)]
    profiles = [PROFILES[i % len(PROFILES)] for i in range(args.clients)]
    random.Random("profiles/%d" % args.seed).shuffle(profiles)
    return profiles


def reproduce_line(args):
    parts = ["python3", os.path.abspath(__file__)]
    if args.imapd:
        parts += ["--imapd", os.path.abspath(args.imapd)]
    else:
        parts += ["--host", args.host, "--port", str(args.port), "--user", args.user,
                  "--password", args.password]
    parts += ["--seed", str(args.seed), "--clients", str(args.clients)]
    parts += ["--ops", str(args.ops)] if args.ops else ["--duration", str(args.duration)]
    if args.profiles:
        parts += ["--profiles", args.profiles]
    if (args.checkpoint_min, args.checkpoint_max) != (20, 60):
        parts += ["--checkpoint-min", str(args.checkpoint_min),
                  "--checkpoint-max", str(args.checkpoint_max)]
    if args.tolerate:
        parts += ["--tolerate", args.tolerate]
    if args.initial != 60:
        parts += ["--initial", str(args.initial)]
    return " ".join(parts)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Concurrent checker: N clients on one mailbox, every response checked, "
                    "every view compared with the store at seeded checkpoints.")
    target = p.add_argument_group("server (either --imapd, or --host/--port)")
    target.add_argument("--imapd", help="start this imapd binary (serve --ephemeral) and test it")
    target.add_argument("--imapd-arg", action="append", default=[], metavar="ARG",
                        help="an extra argument for `imapd serve` (repeat it), e.g. "
                             "--imapd-arg=--threads=4")
    target.add_argument("--host", default="127.0.0.1")
    target.add_argument("--port", type=int, help="test a running server on this port")
    target.add_argument("--user", default="stress")
    target.add_argument("--password", default="stress-pass")
    p.add_argument("--clients", type=int, default=10, help="concurrent clients (default 10)")
    p.add_argument("--duration", type=float, default=30.0,
                   help="seconds; the run ends at the first checkpoint after it (default 30)")
    p.add_argument("--ops", type=int, default=0,
                   help="operations per client instead of --duration")
    p.add_argument("--seed", type=int, help="the run's seed (default: $IMAPD_STRESS_SEED, else "
                                            "random; printed either way)")
    p.add_argument("--profiles", help="comma-separated profiles to cycle through instead of "
                                      "the seeded mix: " + ", ".join(PROFILES))
    p.add_argument("--checkpoint-min", type=int, default=20,
                   help="fewest operations per client between checkpoints (default 20)")
    p.add_argument("--checkpoint-max", type=int, default=60,
                   help="most operations per client between checkpoints (default 60)")
    p.add_argument("--initial", type=int, default=60, help="messages appended before the clients "
                                                           "start (default 60)")
    p.add_argument("--mailbox", default="stress", help="the shared mailbox (re-created; its "
                   "COPY/MOVE target is MAILBOX-sink)")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds to wait for any one response (default 30)")
    p.add_argument("--barrier-timeout", type=float, default=300.0,
                   help="seconds to wait for every client at a checkpoint (default 300)")
    p.add_argument("--history", type=int, default=HISTORY,
                   help="transcript lines of the failing client to print (default %d)" % HISTORY)
    p.add_argument("--trace-dir", help="write every client's whole transcript to "
                                       "DIR/client-N.log")
    p.add_argument("--tolerate", help="comma-separated deviations to accept (for checking "
                   "other servers; none by default): " + "; ".join(
                       "%s: %s" % item for item in sorted(TOLERABLE.items())))
    p.add_argument("--keep", action="store_true", help="leave the mailboxes at the end")
    p.add_argument("--verbose", "-v", action="store_true", help="a line per checkpoint")
    args = p.parse_args(argv)
    if bool(args.imapd) == bool(args.port):
        p.error("give either --imapd PATH or --port PORT")
    if args.clients < 1 or args.checkpoint_min < 1 or args.checkpoint_max < args.checkpoint_min:
        p.error("need --clients >= 1 and 1 <= --checkpoint-min <= --checkpoint-max")
    for item in (args.tolerate.split(",") if args.tolerate else ()):
        if item not in TOLERABLE:
            p.error("unknown --tolerate item %r" % item)
    if args.seed is None and os.environ.get("IMAPD_STRESS_SEED"):
        args.seed = int(os.environ["IMAPD_STRESS_SEED"])
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2 ** 31)
    if args.trace_dir:
        os.makedirs(args.trace_dir, exist_ok=True)
    return args


def main(argv=None):
    args = parse_args(argv)
    profiles = assign_profiles(args)
    server = None
    if args.imapd:
        server = ImapdServer(args.imapd, args.user, args.password, args.clients,
                             extra_args=args.imapd_arg)
        host, port = "127.0.0.1", server.port
    else:
        host, port = args.host, args.port
    print("stress: seed %d, %d clients (%s), %s, checkpoints every %d-%d operations; "
          "server %s:%d" % (args.seed, args.clients, ", ".join(profiles),
                            "%d operations each" % args.ops if args.ops
                            else "%.0f s" % args.duration, args.checkpoint_min,
                            args.checkpoint_max, host, port), file=sys.stderr, flush=True)
    run = Run(args, host, port, server)
    try:
        try:
            run.setup()
            run.clients = [StressClient(run, i, profile) for i, profile in enumerate(profiles)]
            for c in run.clients:
                c.start()
            run.coordinate()
        except threading.BrokenBarrierError:
            if not run.failed():
                run.fail(None, "a checkpoint barrier broke (a client did not arrive within "
                               "%.0f s); clients were at: %s" % (
                                   args.barrier_timeout,
                                   ", ".join("%s op %d %s" % (c.label, c.opno, c.op)
                                             for c in run.clients)))
        except CheckFailure as e:
            run.fail(None, str(e))
        for c in run.clients:
            c.join(args.timeout + 10)
        if not run.failed():
            run.teardown()
    except CheckFailure as e:
        run.fail(None, str(e))
    finally:
        for s in run.sessions:
            s.close()
    elapsed = time.monotonic() - run.start
    ops = collections.Counter()
    for c in run.clients:
        ops.update(c.op_counts)
    total = sum(ops.values())
    mix = ", ".join("%s %d" % (k, ops[k]) for k, _ in OPS if ops[k])
    if run.failed():
        label, text, lines, at = run.failure
        out = sys.stderr
        print("\nstress: FAILED at %.1f s (seed %d): %s" % (at, args.seed, text), file=out)
        print("  after %d operations, %d checkpoints passed" % (total, run.checkpoints), file=out)
        if lines:
            print("  transcript of %s (seconds, C: sent, S: received; \"...\" earlier lines "
                  "naming the UIDs above, then the last %d):" % (label, args.history), file=out)
            for line in lines:
                print("    " + line, file=out)
        if server is not None:
            print("  imapd %s; last lines of its log:" % server.status(), file=out)
            for line in server.log(tail=20).splitlines():
                print("    " + line, file=out)
        print("  reproduce: %s" % reproduce_line(args), file=out)
        if server is not None:
            server.stop()
        return 1
    if server is not None:
        problem = server.stop()
        if problem:
            print("\nstress: FAILED at the end (seed %d): %s; last lines of its log:" %
                  (args.seed, problem), file=sys.stderr)
            for line in server.final_log.splitlines():
                print("    " + line, file=sys.stderr)
            print("  reproduce: %s" % reproduce_line(args), file=sys.stderr)
            return 1
    print("stress: passed: seed %d, %d clients, %d operations in %.1f s, %d checkpoints "
          "(last: %s messages, sink %s)\n  operations: %s" %
          (args.seed, args.clients, total, elapsed, run.checkpoints,
           *(run.last_store or ("?", "?")), mix), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
