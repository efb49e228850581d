#!/usr/bin/env python3
"""IDLE push latency (RFC 2177): imapd against Dovecot, same run.

Standard library only (and bench_mailbox.py, dovecot.py next to it). Not a
test: nothing is asserted on time; .ci/run never runs it. See
tests/bench/README.md.

    tests/bench/bench_idle.py [--appends N] [--idlers 1,50] [--stores M]
                              [--delivers D] [--poll-intervals 2s,200ms]
                              [--imapd PATH] [--out docs/benchmarks.md]

For each server and each K in --idlers: K connections LOGIN, SELECT INBOX
and IDLE (each waits for its "+"); a writer connection APPENDs N messages
one at a time, waiting for each tagged OK and for every idler to have seen
"* n EXISTS" before the next one. The latency of one sample is the time
from sending the APPEND to an idler receiving its EXISTS. Then the writer
SELECTs INBOX and changes \\Flagged on M messages one STORE at a time; the
latency is from sending the STORE to an idler receiving "* s FETCH (FLAGS
...)" with the new state. imapd only: `imapd deliver` run as a separate
process (same data directory), once per --poll-intervals value (the server
restarted with `[timeouts] idle_poll_interval` set to it); the latency is
from starting the process to the idler receiving EXISTS.
"""
import argparse
import datetime
import math
import os
import random
import re
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_mailbox as bm  # noqa: E402

USER, PASSWORD = bm.USER, bm.PASSWORD
EXISTS_RE = re.compile(rb"^\* (\d+) EXISTS$", re.I)
FETCH_RE = re.compile(rb"^\* (\d+) FETCH \((.*)\)$", re.I)
FLAGS_RE = re.compile(rb"FLAGS \(([^)]*)\)", re.I)
log = bm.log
BenchError = bm.BenchError


def parse_duration(text):
    m = re.fullmatch(r"(\d+)(ms|s)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("duration like 2s or 200ms: %r" % text)
    return int(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)


def make_message(i, crlf=True):
    rnd = random.Random(bm.SEED + 77 + i)
    words = ["idle", "push", "latency", "mailbox", "notify", "server", "client", "change",
             "exists", "fetch", "flags", "quokka", "fjord", "commit", "append", "poll"]
    lines = [" ".join(rnd.choices(words, k=10)) for _ in range(rnd.randint(20, 50))]
    text = ("From: Bench Sender <sender%d@bench.example>\n"
            "To: bench@bench.example\n"
            "Subject: idle bench %d\n"
            "Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
            "Message-ID: <idle.%d@bench.example>\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n\n%s\n" % (i, i, i, "\n".join(lines)))
    return (text.replace("\n", "\r\n") if crlf else text).encode()


def percentile(values, p):
    """Nearest rank: the smallest value with at least p of the samples at or below it."""
    s = sorted(values)
    return s[max(0, math.ceil(p * len(s)) - 1)]


# ---------------------------------------------------------------------------
# Idling connections, read by one selector thread.
# ---------------------------------------------------------------------------

class Idler:
    """One connection: LOGIN, SELECT INBOX, IDLE. Once idling, the reader
    thread feeds it; it records when each EXISTS count and each FLAGS
    change first arrived (the time select() returned with its bytes)."""

    def __init__(self, port, index):
        self.index = index
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.exists = 0
        self.exists_at = {}       # count -> time it was first reached
        self.flags_at = {}        # (seq, flagged) -> time
        self.closed = None        # reason, when the server closed the connection
        self.bad = []             # unexpected lines (BYE, BAD, ...)
        self.lines = 0
        self._line()  # greeting
        self._command(b"l LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
        self._command(b"s SELECT INBOX")

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise BenchError("idler %d: connection closed during setup" % self.index)
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _command(self, cmd):
        tag = cmd.split(b" ", 1)[0]
        self.sock.sendall(cmd + b"\r\n")
        while True:
            line = self._line()
            self._untagged(line, time.perf_counter())
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise BenchError("idler %d: %s" % (self.index, line.decode(errors="replace")))
                return

    def start_idle(self):
        self.sock.sendall(b"i IDLE\r\n")
        while True:
            line = self._line()
            if line.startswith(b"+"):
                break
            if line.startswith(b"i "):
                raise BenchError("idler %d: IDLE answered %s" % (self.index,
                                                                 line.decode(errors="replace")))
            self._untagged(line, time.perf_counter())
        self.sock.setblocking(False)

    def _untagged(self, line, t):
        self.lines += 1
        m = EXISTS_RE.match(line)
        if m:
            n = int(m.group(1))
            for k in range(self.exists + 1, n + 1):
                self.exists_at.setdefault(k, t)
            self.exists = max(self.exists, n)
            return
        m = FETCH_RE.match(line)
        if m:
            f = FLAGS_RE.search(m.group(2))
            if f:
                flagged = b"\\flagged" in f.group(1).lower()
                self.flags_at.setdefault((int(m.group(1)), flagged), t)
            return
        if line.startswith((b"* BYE", b"* BAD", b"* NO")):
            self.bad.append(line.decode(errors="replace"))

    def feed(self, data, t):
        self.buf += data
        while b"\r\n" in self.buf:
            line, self.buf = self.buf.split(b"\r\n", 1)
            self._untagged(line, t)

    def done(self, timeout=5.0):
        """Ends IDLE; returns None, or what went wrong."""
        try:
            self.sock.setblocking(True)
            self.sock.settimeout(timeout)
            self.sock.sendall(b"DONE\r\n")
            while True:
                line = self._line()
                if line.startswith(b"i "):
                    return None if line.startswith(b"i OK") else line.decode(errors="replace")
                self._untagged(line, time.perf_counter())
        except (OSError, BenchError) as e:
            return "DONE: %s: %s" % (type(e).__name__, e)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Reader(threading.Thread):
    """Reads every idler; timestamps are taken when select() returns, so an
    idler later in the batch is not charged for the client's own work."""

    def __init__(self, idlers):
        super().__init__(daemon=True)
        self.idlers = idlers
        self.cond = threading.Condition()
        self.stop_flag = False
        self.sel = selectors.DefaultSelector()
        for idler in idlers:
            self.sel.register(idler.sock, selectors.EVENT_READ, idler)

    def run(self):
        while not self.stop_flag:
            events = self.sel.select(0.05)
            if not events:
                continue
            t = time.perf_counter()
            with self.cond:
                for key, _ in events:
                    idler = key.data
                    try:
                        data = idler.sock.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    except OSError as e:
                        data = b""
                        idler.closed = "%s: %s" % (type(e).__name__, e)
                    if not data:
                        idler.closed = idler.closed or "connection closed by the server"
                        self.sel.unregister(idler.sock)
                        continue
                    idler.feed(data, t)
                self.cond.notify_all()
        self.sel.close()

    def wait_for(self, pred, timeout):
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def stop(self):
        self.stop_flag = True
        self.join()


def open_idlers(port, k):
    idlers = []
    try:
        for i in range(k):
            idlers.append(Idler(port, i))
        for idler in idlers:
            idler.start_idle()
    except BaseException:
        for idler in idlers:
            idler.close()
        raise
    time.sleep(0.3)  # let every server-side session settle into IDLE
    return idlers


def close_idlers(reader, idlers, problems):
    reader.stop()
    for idler in idlers:
        if idler.closed is None:
            err = idler.done()
            if err:
                problems.append("idler %d: %s" % (idler.index, err))
        idler.close()


class Series:
    """Samples of one series (seconds) and what went wrong in it."""

    def __init__(self, name, server):
        self.name, self.server = name, server
        self.samples = []
        self.slowest = []     # per event, the last idler's latency (K > 1)
        self.round_trip = []  # the writer's command (or the deliver process), to its end
        self.missed = 0       # (event, idler) pairs not notified within the timeout
        self.events = 0
        self.problems = []
        self.note = ""


# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------

class Imapd(bm.ImapdServer):
    """imapd with a configuration file: limits raised for 50+ connections
    of one user from one address, and idle_poll_interval when given."""

    def __init__(self, binary, work):
        super().__init__(binary, work)
        self.conf_path = os.path.join(work, "imapd.conf")
        self.poll = None

    def create_user(self):
        os.makedirs(self.data_dir, exist_ok=True)
        subprocess.run([self.binary, "user", "add", USER, "--password-stdin", "--data-dir",
                        self.data_dir], input=PASSWORD + "\n", text=True, check=True,
                       stdout=subprocess.DEVNULL)

    def start(self, poll=None, limit=200):
        self.poll = poll
        with open(self.conf_path, "w") as f:
            f.write("[limits]\nmax_connections_per_ip = %d\nmax_connections_per_user = %d\n"
                    % (limit, limit))
            if poll is not None:
                f.write("[timeouts]\nidle_poll_interval = \"%dms\"\n" % round(poll * 1000))
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--config", self.conf_path, "--data-dir", self.data_dir,
             "--listen", "127.0.0.1:0", "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=self.stderr)
        buffered = b""
        deadline = time.monotonic() + 30
        while True:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise BenchError("imapd did not print its listening line (see %s)" %
                                 self.stderr_path)
            buffered += os.read(self.proc.stdout.fileno(), 4096)
            m = bm.LISTEN_RE.search(buffered)
            if m:
                self.port = int(m.group(2))
                return

    def describe_exit(self):
        if self.proc is None:
            return "not started"
        rc = self.proc.poll()
        return "running" if rc is None else "exited with %s" % rc


class Dovecot(bm.DovecotServer):
    def __init__(self, work, limit=200):
        super().__init__(work)
        # Dovecot allows 10 connections per user and address by default.
        with open(self.d.conf, "a") as f:
            f.write("protocol imap {\n  mail_max_userip_connections = %d\n}\n" % limit)
        self.d.maildir_folder(None)
        self.loaded()

    def describe_exit(self):
        return "running" if self.alive() else "master process gone"


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

def check_alive(server, series):
    if not server.alive():
        series.problems.append("server %s" % server.describe_exit())
        return False
    return True


def record_event(reader, idlers, key_of, t0, timeout, series):
    """Waits until every idler has `key_of(idler)` (a time) or timeout;
    records each latency from t0; counts the missing ones."""
    def all_there():
        return all(key_of(i) is not None or i.closed for i in idlers)

    reader.wait_for(all_there, timeout)
    with reader.cond:
        lat = []
        for idler in idlers:
            t = key_of(idler)
            if t is None or t - t0 > timeout:
                series.missed += 1
                if idler.closed:
                    series.problems.append("idler %d: %s" % (idler.index, idler.closed))
            else:
                lat.append(t - t0)
    series.events += 1
    series.samples += lat
    if lat and len(idlers) > 1 and len(lat) == len(idlers):
        series.slowest.append(max(lat))
    return len(lat) == len(idlers)


def run_writer_series(server, k, n, m, timeout, msg_base):
    """K idlers; N APPENDs, then M STOREs. Returns (append series, store series)."""
    name = server.name
    app = Series("APPEND → EXISTS, %d idler%s" % (k, "s" if k > 1 else ""), name)
    sto = Series("STORE → FETCH FLAGS, %d idler%s" % (k, "s" if k > 1 else ""), name)
    log("%s: %d idler(s), %d APPENDs, %d STOREs" % (name, k, n, m))
    idlers = open_idlers(server.port, k)
    base = idlers[0].exists
    if any(i.exists != base for i in idlers):
        app.problems.append("idlers saw different EXISTS at SELECT")
    reader = Reader(idlers)
    reader.start()
    writer = bm.Client(server.port, timeout=max(60, timeout * 2))
    writer.command(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
    try:
        consecutive_misses = 0
        for j in range(n):
            msg = make_message(msg_base + j)
            target = base + j + 1
            t0 = time.perf_counter()
            tag = writer.send(b"APPEND INBOX {%d+}\r\n%s" % (len(msg), msg))
            writer.wait(tag)
            app.round_trip.append(time.perf_counter() - t0)
            ok = record_event(reader, idlers, lambda i, c=target: i.exists_at.get(c), t0,
                              timeout, app)
            consecutive_misses = 0 if ok else consecutive_misses + 1
            if not ok:
                log("  APPEND %d: %d idler(s) without EXISTS %d after %.0f s" % (
                    j + 1, sum(1 for i in idlers if i.exists < target), target, timeout))
                if not check_alive(server, app) or consecutive_misses >= 3:
                    app.problems.append("stopped after APPEND %d (%d misses in a row)" % (
                        j + 1, consecutive_misses))
                    break
            if (j + 1) % 50 == 0:
                log("  %d APPENDs" % (j + 1))
        count = base + n
        res = writer.command(b"SELECT INBOX", keep=True)
        mm = re.search(rb"\* (\d+) EXISTS", res.joined())
        count = int(mm.group(1)) if mm else count
        # Each STORE flips \Flagged, so that every one is a change (an
        # earlier series may have flagged these messages already).
        state = {}
        if count:
            res = writer.command(b"FETCH 1:* (FLAGS)", keep=True)
            for line in res.joined().split(b"\r\n"):
                fm = FETCH_RE.match(line)
                ff = FLAGS_RE.search(fm.group(2)) if fm else None
                if ff:
                    state[int(fm.group(1))] = b"\\flagged" in ff.group(1).lower()
        consecutive_misses = 0
        for j in range(m if count else 0):
            seq = j % count + 1
            flagged = not state.get(seq, False)
            state[seq] = flagged
            key = (seq, flagged)
            with reader.cond:
                for idler in idlers:
                    idler.flags_at.pop(key, None)
            t0 = time.perf_counter()
            tag = writer.send(b"STORE %d %sFLAGS (\\Flagged)" % (seq, b"+" if flagged else b"-"))
            writer.wait(tag)
            sto.round_trip.append(time.perf_counter() - t0)
            ok = record_event(reader, idlers, lambda i, key=key: i.flags_at.get(key), t0,
                              timeout, sto)
            consecutive_misses = 0 if ok else consecutive_misses + 1
            if not ok:
                log("  STORE %d: FETCH FLAGS missing on some idler" % (j + 1))
                if not check_alive(server, sto) or consecutive_misses >= 3:
                    sto.problems.append("stopped after STORE %d (%d misses in a row)" % (
                        j + 1, consecutive_misses))
                    break
        writer.command(b"LOGOUT", ok=False)
    except (BenchError, OSError) as e:
        (sto if app.events == n else app).problems.append(
            "writer: %s: %s (server %s)" % (type(e).__name__, e, server.describe_exit()))
    finally:
        writer.close()
        problems = []
        close_idlers(reader, idlers, problems)
        for idler in idlers:
            if idler.bad:
                problems.append("idler %d got %s" % (idler.index, "; ".join(idler.bad[:3])))
        (sto if sto.events else app).problems += problems
    for s in (app, sto):
        log("  %s: %s" % (s.name, summary_line(s)))
    return app, sto


def run_deliver_series(server, poll, count, timeout):
    """imapd only: one idler; `imapd deliver` from another process."""
    s = Series("imapd deliver → EXISTS, 1 idler, idle_poll_interval %s" % fmt_poll(poll),
               server.name)
    log("imapd: %d deliveries, idle_poll_interval %s" % (count, fmt_poll(poll)))
    idlers = open_idlers(server.port, 1)
    base = idlers[0].exists
    reader = Reader(idlers)
    reader.start()
    rnd = random.Random(bm.SEED + 5)
    try:
        consecutive_misses = 0
        for j in range(count):
            # A random pause, so that deliveries do not fall at one phase of
            # the poll timer (the previous EXISTS arrived just after a poll).
            time.sleep(rnd.uniform(0, poll))
            msg = make_message(900_000 + j, crlf=False)
            target = base + j + 1
            t0 = time.perf_counter()
            out = subprocess.run([server.binary, "deliver", USER, "--data-dir", server.data_dir],
                                 input=msg, capture_output=True)
            s.round_trip.append(time.perf_counter() - t0)
            if out.returncode != 0:
                s.problems.append("deliver %d exited %d: %s" % (
                    j + 1, out.returncode, out.stderr.decode(errors="replace").strip()))
                if len(s.problems) >= 3:
                    break
                base -= 1  # nothing was delivered
                continue
            ok = record_event(reader, idlers, lambda i, c=target: i.exists_at.get(c), t0,
                              timeout, s)
            consecutive_misses = 0 if ok else consecutive_misses + 1
            if not ok:
                log("  deliver %d: no EXISTS %d after %.0f s" % (j + 1, target, timeout))
                if not check_alive(server, s) or consecutive_misses >= 3:
                    s.problems.append("stopped after deliver %d" % (j + 1))
                    break
    finally:
        problems = []
        close_idlers(reader, idlers, problems)
        s.problems += problems
    if s.round_trip:
        s.note = "deliver process p50 %s" % fmt_ms(percentile(s.round_trip, 0.5))
    log("  %s: %s" % (s.name, summary_line(s)))
    return s


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def fmt_poll(poll):
    return "%dms" % round(poll * 1000) if poll < 1 else "%gs" % poll


def fmt_ms(v):
    if v is None:
        return "–"
    if v >= 1:
        return "%.2f s" % v
    return "%.2f ms" % (v * 1000) if v < 0.01 else "%.1f ms" % (v * 1000)


STATS = [("min", 0.0), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)]


def stats(values):
    if not values:
        return None
    return {name: (min(values) if p == 0 else percentile(values, p)) for name, p in STATS}


def summary_line(s):
    st = stats(s.samples)
    if not st:
        return "no samples; %s" % "; ".join(s.problems)
    return "%d samples, p50 %s, p99 %s, max %s, missed %d%s" % (
        len(s.samples), fmt_ms(st["p50"]), fmt_ms(st["p99"]), fmt_ms(st["max"]), s.missed,
        ("; " + "; ".join(s.problems)) if s.problems else "")


def row(label, server, values, missed="", note=""):
    st = stats(values)
    cells = [fmt_ms(st[n]) for n, _ in STATS] if st else ["–"] * len(STATS)
    return "| %s | %s | %d | %s | %s | %s |" % (label, server, len(values), " | ".join(cells),
                                                missed, note)


def ratio_row(label, a, b):
    sa, sb = stats(a), stats(b)
    if not sa or not sb:
        return None
    cells = []
    for n, _ in STATS:
        cells.append("%.3f" % (sa[n] / sb[n]) if sb[n] > 0 else "–")
    return "| %s | imapd/Dovecot | | %s | | |" % (label, " | ".join(cells))


def report(args, info, versions, pairs, delivers):
    now = datetime.datetime.now(datetime.timezone.utc)
    head = "## %s: IDLE push latency (%d APPENDs, %s idlers)" % (
        now.strftime("%Y-%m-%d"), args.appends, ", ".join(str(k) for k in args.idlers))
    out = [head, ""]
    out.append("- machine: %d CPUs (%s), %s RAM, Linux %s; load average at start %s" % (
        info["nproc"], info["cpu"], info["mem"], info["kernel"], info["load"]))
    out.append("- versions: %s; %s" % (versions["imapd"], versions["Dovecot"]))
    out.append("- run ended %s UTC: `tests/bench/bench_idle.py --appends %d --idlers %s --stores %d "
               "--delivers %d --poll-intervals %s`; every series on the same INBOX, which grows "
               "from 0 by the APPENDs (about 1-3 KB each)" % (
                   now.strftime("%H:%M"), args.appends, ",".join(map(str, args.idlers)),
                   args.stores, args.delivers, ",".join(fmt_poll(p) for p in args.poll)))
    out.append("- one sample = one (change, idler) pair: from sending the command (or starting "
               "`imapd deliver`) to that idler's socket becoming readable with the untagged "
               "response; \"slowest idler\" = per change, the last of the K idlers")
    out.append("")
    out.append("| series | server | samples | min | p50 | p90 | p99 | max | missed | note |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    failures = []
    for label, by_server in pairs:
        im, dc = by_server.get("imapd"), by_server.get("Dovecot")
        for s in (im, dc):
            if s is None:
                continue
            out.append(row(label, s.server, s.samples, s.missed))
        if im and dc:
            r = ratio_row(label, im.samples, dc.samples)
            if r:
                out.append(r)
        if any(s and len(s.slowest) for s in (im, dc)):
            for s in (im, dc):
                if s and s.slowest:
                    out.append(row(label + ": slowest idler", s.server, s.slowest))
            if im and dc and im.slowest and dc.slowest:
                r = ratio_row(label + ": slowest idler", im.slowest, dc.slowest)
                if r:
                    out.append(r)
        for s in (im, dc):
            if s and s.round_trip:
                out.append(row(label.split(",")[0].split(" →")[0] + " round trip (writer's "
                               "tagged OK), %s" % label.split(", ", 1)[1], s.server,
                               s.round_trip))
            if s and s.problems:
                failures += ["%s, %s: %s" % (s.server, label, p) for p in s.problems]
    for s in delivers:
        out.append(row(s.name, "imapd", s.samples, s.missed, s.note))
        failures += ["imapd, %s: %s" % (s.name, p) for p in s.problems]
    out.append("")
    out.append("Notes:")
    out.append("")
    out.append("- How each server notices a change. imapd pushes in-process: the APPEND or "
               "STORE that commits on one connection notifies the other sessions of the same "
               "mailbox at once (`UserMail::notify`), without polling. Dovecot runs one `imap` "
               "process per connection, so an idler learns of another process's change "
               "through inotify on the mailbox's index log and Maildir directories, and then "
               "waits `NOTIFY_DELAY_MSECS` = 500 ms before syncing, to batch changes "
               "(`src/lib-storage/mailbox-watch.c`); without inotify it falls back to "
               "`mailbox_idle_check_interval` (30 s). Dovecot's figures are therefore "
               "~500 ms by design, not a slowness of its I/O, and the ratio compares two "
               "notification designs rather than two implementations of one.")
    out.append("- `imapd deliver` runs outside the server, which only learns of it at its "
               "next IDLE poll (`[timeouts] idle_poll_interval`, default 2 s, docs/"
               "configuration.md): the latency is the deliver process (start-up, store, "
               "fsync) plus up to one interval. Each delivery is preceded by a random pause "
               "of 0 to one interval so that deliveries do not fall at one phase of the "
               "poll timer.")
    out.append("- The client is Python on the same 2 cores: one thread reads all idlers with "
               "select(); a sample's time is when select() returned with its bytes. The "
               "writer sends one command at a time and waits for every idler before the next "
               "one, so changes never overlap.")
    if failures:
        out.append("")
        out.append("Failures:")
        out.append("")
        out += ["- " + f for f in failures]
    return head, "\n".join(out) + "\n"


# ---------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--imapd", default=bm.DEFAULT_IMAPD, help="imapd binary (default: %(default)s)")
    p.add_argument("--appends", type=int, default=200, help="APPENDs per series (default 200)")
    p.add_argument("--idlers", default="1,50",
                   help="comma-separated numbers of idling clients, one series each "
                        "(default 1,50)")
    p.add_argument("--stores", type=int, default=100,
                   help="STORE flag changes per series (default 100)")
    p.add_argument("--delivers", type=int, default=40,
                   help="imapd deliver runs per poll interval (default 40; 0 skips)")
    p.add_argument("--poll-intervals", default="2s,200ms",
                   help="imapd idle_poll_interval values for the deliver series "
                        "(default 2s,200ms; 2s is the default, so that server runs with "
                        "no [timeouts] section)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds to wait for a push before counting it missed (default 10; "
                        "deliver series: at least 3 poll intervals)")
    p.add_argument("--only", choices=["imapd", "dovecot"], help="run one server only")
    p.add_argument("--work-dir", default=None, help="default: a temporary directory")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--out", default=None, help="Markdown file to add this run's section to")
    args = p.parse_args()
    args.idlers = [int(x) for x in args.idlers.split(",") if x.strip()]
    args.poll = [parse_duration(x) for x in args.poll_intervals.split(",") if x.strip()]
    if not os.access(args.imapd, os.X_OK):
        sys.exit("no imapd at %s: build it (see tests/bench/README.md) or pass --imapd" %
                 args.imapd)

    work = args.work_dir or tempfile.mkdtemp(prefix="imapd-bench-idle-")
    os.makedirs(work, exist_ok=True)
    log("work directory %s" % work)
    imapd = Imapd(os.path.abspath(args.imapd), work)
    dc = Dovecot(work, limit=max(args.idlers) + 20)
    info = bm.machine_info()
    versions = {"imapd": imapd.version(), "Dovecot": dc.version()}
    labels = {}
    delivers = []
    try:
        for server in (imapd, dc):
            if args.only and server.name.lower() != args.only:
                continue
            if server is imapd:
                imapd.create_user()
                imapd.start(poll=None, limit=max(args.idlers) + 20)
            else:
                dc.start()
            try:
                msg_base = 0
                for k in args.idlers:
                    try:
                        app, sto = run_writer_series(server, k, args.appends, args.stores,
                                                     args.timeout, msg_base)
                    except (BenchError, OSError) as e:
                        app = Series("APPEND → EXISTS, %d idler%s" % (k, "s" if k > 1 else ""),
                                     server.name)
                        sto = Series("STORE → FETCH FLAGS, %d idler%s" % (
                            k, "s" if k > 1 else ""), server.name)
                        app.problems.append("setting up %d idlers: %s: %s (server %s)" % (
                            k, type(e).__name__, e, server.describe_exit()))
                        log("  FAILED: " + app.problems[-1])
                    msg_base += args.appends
                    for s in (app, sto):
                        labels.setdefault(s.name, {})[server.name] = s
                if server is imapd and args.delivers:
                    for poll in args.poll:
                        try:
                            if abs(poll - 2.0) > 1e-9 or imapd.poll is not None:
                                imapd.stop()
                                imapd.start(poll=poll, limit=max(args.idlers) + 20)
                            delivers.append(run_deliver_series(imapd, poll, args.delivers,
                                                               max(args.timeout, 3 * poll)))
                        except (BenchError, OSError) as e:
                            s = Series("imapd deliver → EXISTS, 1 idler, idle_poll_interval %s"
                                       % fmt_poll(poll), "imapd")
                            s.problems.append("%s: %s (server %s)" % (
                                type(e).__name__, e, imapd.describe_exit()))
                            delivers.append(s)
            finally:
                if server is imapd:
                    state = imapd.describe_exit()
                    imapd.stop()
                    if getattr(imapd, "exit_code", 0) not in (0, None):
                        log("imapd exit code %s (was %s before SIGTERM)" % (imapd.exit_code,
                                                                            state))
                else:
                    dc.stop()
        order = []
        for k in args.idlers:
            for kind in ("APPEND → EXISTS", "STORE → FETCH FLAGS"):
                name = "%s, %d idler%s" % (kind, k, "s" if k > 1 else "")
                if name in labels:
                    order.append((name, labels[name]))
        imapd_log = bm.dovecot._read(imapd.stderr_path).decode(errors="replace").strip()
        if imapd_log:
            log("imapd's log (warning and above):\n" + imapd_log[-4000:])
        head, section = report(args, info, versions, order, delivers)
        print(section)
        if args.out:
            bm.write_doc(args.out, head, section)
            log("wrote %s" % args.out)
    finally:
        imapd.stop()
        dc.stop()
        if not args.keep and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            log("kept %s" % work)


if __name__ == "__main__":
    main()
