#!/usr/bin/env python3
"""Mailbox benchmarks: imapd against Dovecot, same data, same run.

Standard library only (and dovecot.py next to it). Not a test: nothing is
asserted on time; .ci/run never runs it. See tests/bench/README.md.

    tests/bench/bench_mailbox.py [--quick] [--messages N] [--big-mailbox-mb MB]
                                 [--imapd PATH] [--out docs/benchmarks.md]

Every figure is wall time seen by one plain-IMAP client on 127.0.0.1 (a
small pipelined client on raw sockets, not imaplib), best of --repeat runs,
and a ratio imapd/Dovecot: below 1 means imapd was faster.
"""
import argparse
import base64
import datetime
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_IMAPD = os.path.join(ROOT, "build", "release", "server", "imapd")
USER, PASSWORD = "bench", "pw"
SEED = 20240229
LISTEN_RE = re.compile(rb"^imapd: listening imap (\S+):(\d+)$", re.M)
IO_TIMEOUT = 900  # seconds: the bound on any single wait for a server


class BenchError(Exception):
    pass


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Data: deterministic messages (seeded), written as an mbox (for imapd
# import) and as Maildir files (for Dovecot) with identical bytes.
# ---------------------------------------------------------------------------

RARE_WORD = "quokkafjord"          # in the text of 1 message in 1009
RARE_SENDER = "alerts@rare-sender.example"   # From: of 1 message in 197
FIRST_NAMES = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan",
               "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent",
               "Victor", "Walter", "Zoe"]
LAST_NAMES = ["Smith", "Jones", "Garcia", "Miller", "Davis", "Lopez", "Wilson", "Anderson",
              "Thomas", "Moore", "Martin", "Jackson", "White", "Harris", "Clark", "Lewis"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "corp.example",
           "lists.example.org", "uni.example.edu"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
START_TIME = 1420070400            # 2015-01-01 00:00:00 UTC
SPAN = 9 * 365 * 86400             # the inbox's internal dates cover 9 years


class Corpus:
    """Pools of text and base64 the messages are cut from, so that
    generating a gigabyte stays fast. Deterministic for a seed."""

    def __init__(self, seed=SEED):
        rnd = random.Random(seed)
        syll = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "ve", "den", "mar", "tis",
                "gra", "lin", "ost", "ber", "qua", "fel", "dor", "pan", "sel", "wu", "zen"]
        words = set()
        while len(words) < 4000:
            words.add("".join(rnd.choice(syll) for _ in range(rnd.randint(1, 4))))
        self.words = sorted(words)
        # ~2 MB of lowercase text in lines of at most 72 characters: no line
        # can start with "From " (no mbox escaping needed).
        lines, size = [], 0
        while size < 2_000_000:
            line = " ".join(rnd.choices(self.words, k=rnd.randint(6, 12)))[:72].rstrip()
            if rnd.random() < 0.08:
                line += "."
            lines.append(line)
            size += len(line) + 1
            if rnd.random() < 0.1:
                lines.append("")
                size += 1
        self.text = "\n".join(lines) + "\n"
        raw = rnd.randbytes(3 * 1024 * 1024)
        self.b64 = base64.encodebytes(raw).decode()  # 76-character lines
        self.rnd = rnd

    def text_slice(self, rnd, size):
        start = rnd.randrange(0, len(self.text) - size - 100)
        start = self.text.index("\n", start) + 1
        end = self.text.rfind("\n", start, start + size) + 1
        if end <= start:
            end = self.text.index("\n", start + size) + 1
        return self.text[start:end]

    def b64_slice(self, rnd, size):
        line = 77
        size = max(line, size - size % line)
        start = rnd.randrange(0, (len(self.b64) - size) // line) * line
        return self.b64[start:start + size]


def size_class(rnd):
    r = rnd.random()
    if r < 0.85:
        return rnd.randint(2_000, 10_000)
    if r < 0.99:
        return rnd.randint(10_000, 50_000)
    return int(100_000 * 10 ** rnd.random())  # 100 KB .. 1 MB, log-uniform


def rfc2822_date(t):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return "%s, %d %s %d %02d:%02d:%02d +0000" % (DAYS[d.weekday()], d.day, MONTHS[d.month - 1],
                                                 d.year, d.hour, d.minute, d.second)


def ctime_date(t):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return "%s %s %2d %02d:%02d:%02d %d" % (DAYS[d.weekday()], MONTHS[d.month - 1], d.day,
                                            d.hour, d.minute, d.second, d.year)


def make_message(corpus, rnd, i, t, size, big=False):
    """One message (str, LF line ends) and its flags ("S", "F")."""
    if i % 197 == 3:
        sender = RARE_SENDER
        from_field = "Rare Alerts <%s>" % sender
    else:
        first, last = rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES)
        sender = "%s.%s%d@%s" % (first.lower(), last.lower(), rnd.randint(1, 300),
                                 rnd.choice(DOMAINS))
        from_field = "%s %s <%s>" % (first, last, sender)
    to = "%s <%s@%s>" % (rnd.choice(FIRST_NAMES), rnd.choice(FIRST_NAMES).lower(),
                         rnd.choice(DOMAINS))
    subject = " ".join(rnd.choices(corpus.words, k=rnd.randint(2, 8))).capitalize()
    flags = ""
    if not big and rnd.random() < 0.05:
        flags += "F"
    if not big and rnd.random() < 0.7:
        flags += "S"
    headers = [
        "Return-Path: <%s>" % sender,
        "Received: from mx%d.example.net (mx%d.example.net [192.0.2.%d])\n"
        "\tby mail.example.com with ESMTPS id %08x\n\tfor <%s>; %s" % (
            i % 7, i % 7, i % 250, rnd.getrandbits(32), to.split("<")[1][:-1],
            rfc2822_date(t)),
        "Date: %s" % rfc2822_date(t - rnd.randint(1, 600)),
        "From: %s" % from_field,
        "To: %s" % to,
    ]
    if rnd.random() < 0.3:
        headers.append("Cc: %s <%s@%s>" % (rnd.choice(FIRST_NAMES), rnd.choice(LAST_NAMES).lower(),
                                           rnd.choice(DOMAINS)))
    headers.append("Subject: %s%s" % ("Re: " if rnd.random() < 0.3 else "", subject))
    headers.append("Message-ID: <%d.%08x@bench.example>" % (i, rnd.getrandbits(32)))
    if rnd.random() < 0.3:
        headers.append("In-Reply-To: <%d.%08x@bench.example>" % (max(0, i - rnd.randint(1, 50)),
                                                                  rnd.getrandbits(32)))
    headers.append("MIME-Version: 1.0")
    if "S" in flags:
        headers.append("Status: RO")
    if "F" in flags:
        headers.append("X-Status: F")

    head_len = sum(len(h) + 1 for h in headers)
    text_size = max(300, min(size - head_len, 8_000 if size > 12_000 else size))
    text = corpus.text_slice(rnd, text_size)
    if i % 1009 == 7 and not big:
        text = text + "the %s reading is attached.\n" % RARE_WORD
    kind = rnd.random()
    if big or size > 60_000 or (size > 10_000 and kind < 0.5) or kind < 0.1:
        # multipart/mixed: text + a base64 attachment filling the size.
        boundary = "=_mixed_%08x" % rnd.getrandbits(32)
        att = corpus.b64_slice(rnd, max(200, size - head_len - len(text) - 400))
        headers.append('Content-Type: multipart/mixed; boundary="%s"' % boundary)
        body = ("This is a multi-part message in MIME format.\n\n"
                "--%s\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n"
                "%s\n--%s\nContent-Type: application/octet-stream; name=\"data%d.bin\"\n"
                "Content-Transfer-Encoding: base64\n"
                "Content-Disposition: attachment; filename=\"data%d.bin\"\n\n%s\n--%s--\n" %
                (boundary, text, boundary, i, i, att, boundary))
    elif kind < 0.25:
        boundary = "=_alt_%08x" % rnd.getrandbits(32)
        half = corpus.text_slice(rnd, max(200, len(text) // 2)) if len(text) > 400 else text
        html = "<html><body>\n" + "".join("<p>%s</p>\n" % line for line in half.split("\n") if line)
        html += "</body></html>\n"
        headers.append('Content-Type: multipart/alternative; boundary="%s"' % boundary)
        body = ("--%s\nContent-Type: text/plain; charset=utf-8\n\n%s\n"
                "--%s\nContent-Type: text/html; charset=utf-8\n\n%s\n--%s--\n" %
                (boundary, text, boundary, html, boundary))
    else:
        headers.append("Content-Type: text/plain; charset=utf-8")
        headers.append("Content-Transfer-Encoding: 7bit")
        if size > len(text) + head_len:
            text += corpus.text_slice(rnd, size - len(text) - head_len)
        body = text
    return "\n".join(headers) + "\n\n" + body, flags


class Dataset:
    """Writes mailbox `name` both ways: mbox_path (for imapd import) and the
    Maildir folder `maildir` (cur/, names with S=, W= and :2,FLAGS as
    Dovecot itself writes them; mtime = internal date). With `maildir`
    None (an imapd-only run) no Maildir is written. With `copies`, every
    `copies.every`-th message is written a second time, byte for byte, to
    the `copies` folder (the same message filed in two mailboxes, which
    imapd stores once)."""

    def __init__(self, corpus, seed, count, t0, span, big_size=None):
        self.corpus, self.seed, self.count = corpus, seed, count
        self.t0, self.span, self.big_size = t0, span, big_size
        self.total_bytes = 0  # with CRLF line ends, as a client sees them
        self.times = []

    def write(self, mbox_path, maildir, copies=None):
        rnd = random.Random(self.seed)
        step = self.span / max(1, self.count)
        pid = os.getpid()
        with open(mbox_path, "wb", buffering=1 << 20) as mbox:
            for i in range(self.count):
                t = int(self.t0 + i * step + rnd.random() * step * 0.5)
                size = self.big_size if self.big_size else size_class(rnd)
                text, flags = make_message(self.corpus, rnd, i, t, size, big=bool(self.big_size))
                data = text.encode()
                self.total_bytes += _write_one(mbox, maildir, data, t, i, pid, flags)
                self.times.append(t)
                if copies and i % copies.every == 0:
                    copies.add(data, t, i, pid, flags)


class Copies:
    """The second folder of Dataset.write(copies=...): an mbox and, unless
    None, a Maildir folder."""

    def __init__(self, every, mbox_path, maildir):
        self.every, self.maildir = every, maildir
        self.mbox = open(mbox_path, "wb", buffering=1 << 20)
        self.count = 0
        self.total_bytes = 0

    def add(self, data, t, i, pid, flags):
        self.total_bytes += _write_one(self.mbox, self.maildir, data, t, i, pid, flags)
        self.count += 1

    def close(self):
        self.mbox.close()


def _write_one(mbox, maildir, data, t, i, pid, flags):
    """Appends one message to the mbox and, unless maildir is None, writes
    its Maildir file; returns its size with CRLF line ends."""
    mbox.write(("From %s %s\n" % ("sender@bench.example", ctime_date(t))).encode())
    mbox.write(data)
    mbox.write(b"\n")
    vsize = len(data) + data.count(b"\n")
    if maildir is not None:
        name = "%d.M%dP%d.bench,S=%d,W=%d:2,%s" % (t, i, pid, len(data), vsize,
                                                  "".join(sorted(flags)))
        path = os.path.join(maildir, "cur", name)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (t, t))
    return vsize


def append_messages(corpus, seed, count):
    """`count` messages for APPEND, CRLF line ends, deterministic."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        text, _ = make_message(corpus, rnd, 10_000_000 + i, START_TIME + SPAN, size_class(rnd))
        out.append(text.replace("\n", "\r\n").encode())
    return out


# ---------------------------------------------------------------------------
# A minimal pipelined IMAP client on raw sockets.
# ---------------------------------------------------------------------------

LITERAL_RE = re.compile(rb"\{(\d+)\+?\}\r\n")


class Result:
    def __init__(self):
        self.status = b""
        self.line = b""
        self.fetches = 0      # occurrences of " FETCH (" outside literals
        self.literals = 0
        self.literal_bytes = 0
        self.bytes = 0
        self.text = []        # untagged text outside literals, when kept

    def joined(self):
        return b"".join(self.text)


class Client:
    """One IMAP connection. send() writes commands; wait(tag) reads up to
    that tag's completion, skipping literals by their length without
    copying them, and counting FETCH responses. The buffer always starts at
    a line start marked by the CRLF that ended the previous line."""

    def __init__(self, port, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray(b"\r\n")
        self.skip = 0
        self.counter = 0
        # Greeting: one line.
        while b"\r\n" not in self.buf[2:]:
            self._recv(65536)
        end = self.buf.index(b"\r\n", 2)
        self.greeting = bytes(self.buf[2:end])
        del self.buf[:end]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _recv(self, size):
        data = self.sock.recv(size)
        if not data:
            raise BenchError("connection closed by the server")
        self.buf += data
        return len(data)

    def next_tag(self):
        self.counter += 1
        return b"b%d" % self.counter

    def send(self, line, tag=None):
        tag = tag or self.next_tag()
        self.sock.sendall(tag + b" " + line + b"\r\n")
        return tag

    def command(self, line, keep=False, ok=True):
        tag = self.send(line)
        return self.wait(tag, keep=keep, ok=ok)

    def wait(self, tag, keep=False, ok=True, slow_chunk=None, slow_sleep=0.0, on_progress=None):
        needle = b"\r\n" + tag + b" "
        res = Result()
        buf = self.buf
        pos = 0
        chunk = slow_chunk or (1 << 20)
        pat = b" FETCH ("
        while True:
            if self.skip:
                n = min(self.skip, len(buf) - pos)
                pos += n
                self.skip -= n
                res.literal_bytes += n
                if self.skip:
                    del buf[:]
                    pos = 0
                    res.bytes += self._recv(chunk)
                    if slow_sleep:
                        time.sleep(slow_sleep)
                        if on_progress:
                            on_progress(res)
                    continue
            m = LITERAL_RE.search(buf, pos)
            # The tagged line only counts before the next literal (a needle
            # inside a literal is message content).
            k = buf.find(needle, pos, (m.start() + len(needle)) if m else len(buf))
            if k != -1 and (m is None or k < m.start()):
                e = buf.find(b"\r\n", k + 2)
                if e != -1:
                    res.fetches += buf.count(pat, pos, k)
                    if keep:
                        res.text.append(bytes(buf[pos:k]))
                    res.line = bytes(buf[k + 2:e])
                    res.status = res.line.split(b" ", 2)[1].upper() if b" " in res.line else b""
                    self.buf = buf[e:]
                    if ok and res.status != b"OK":
                        raise BenchError("%s answered: %s" % (tag.decode(),
                                                              res.line.decode(errors="replace")))
                    return res
            elif m is not None:
                res.fetches += buf.count(pat, pos, m.start())
                if keep:
                    res.text.append(bytes(buf[pos:m.end()]))
                res.literals += 1
                self.skip = int(m.group(1))
                pos = m.end()
                continue
            # No literal and no complete tagged line yet: everything up to
            # the last 64 bytes (longer than a literal marker or the tag
            # line's start) is plain response text already seen; a tagged
            # line whose end has not arrived stays unscanned.
            safe = max(pos, len(buf) - 64)
            if k != -1:
                safe = min(safe, k)
            if safe > pos:
                res.fetches += buf.count(pat, pos, min(len(buf), safe + len(pat) - 1))
                if keep:
                    res.text.append(bytes(buf[pos:safe]))
                pos = safe
            if pos > (1 << 20):
                del buf[:pos]
                pos = 0
            res.bytes += self._recv(chunk)
            if slow_sleep:
                time.sleep(slow_sleep)
                if on_progress:
                    on_progress(res)

    def login_select(self, mailbox=b"INBOX"):
        self.command(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
        res = self.command(b"SELECT " + mailbox, keep=True)
        m = re.search(rb"\* (\d+) EXISTS", res.joined())
        return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------

def proc_kb(pid, field):
    return dovecot.proc_status_kb(pid, field)


def tree_bytes(root):
    """Sum of the sizes of the files under `root`."""
    total = 0
    for directory, _, files in os.walk(root):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(directory, name))
            except OSError:
                pass
    return total


class ImapdServer:
    name = "imapd"

    def __init__(self, binary, work, port=0):
        self.binary = binary
        self.listen_port = port
        self.data_dir = os.path.join(work, "imapd-data")
        self.proc = None
        self.port = None
        self.stderr_path = os.path.join(work, "imapd.stderr")
        self.import_seconds = 0.0

    def version(self):
        return subprocess.run([self.binary, "--version"], capture_output=True,
                              text=True).stdout.strip()

    def load(self, mboxes):
        """mboxes: [(path, mailbox or None)]. The server is not running."""
        os.makedirs(self.data_dir, exist_ok=True)
        subprocess.run([self.binary, "user", "add", USER, "--password-stdin", "--data-dir",
                        self.data_dir], input=PASSWORD + "\n", text=True, check=True,
                       stdout=subprocess.DEVNULL)
        for path, mailbox in mboxes:
            # --index: the scenarios measure an indexed mailbox, not the
            # server catching up with the queue the import would leave.
            args = [self.binary, "import", USER, "mbox", path, "--index", "--data-dir",
                    self.data_dir]
            if mailbox:
                args += ["--mailbox", mailbox]
            t = time.monotonic()
            out = subprocess.run(args, capture_output=True, text=True)
            self.import_seconds += time.monotonic() - t
            if out.returncode != 0:
                raise BenchError("imapd import %s failed (exit %d): %s" %
                                 (path, out.returncode, out.stderr.strip()))
            log("imapd import: " + out.stdout.strip())

    def disk_bytes(self):
        """Bytes of the user databases (with any -wal): the mail, its
        search text and the full-text index."""
        return tree_bytes(os.path.join(self.data_dir, "users"))

    def start(self):
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data-dir", self.data_dir, "--listen",
             "127.0.0.1:%d" % self.listen_port,
             "--user", "%s:%s" % (USER, PASSWORD), "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=self.stderr)
        buffered = b""
        deadline = time.monotonic() + 30
        while True:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise BenchError("imapd did not print its listening line (see %s)" %
                                 self.stderr_path)
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            buffered += chunk
            m = LISTEN_RE.search(buffered)
            if m:
                self.port = int(m.group(2))
                return

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pids(self):
        return [self.proc.pid] if self.alive() else []

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode
        self.proc.stdout.close()
        self.stderr.close()
        self.proc = None


class DovecotServer:
    name = "Dovecot"

    def __init__(self, work):
        self.d = dovecot.Dovecot(os.path.join(work, "dovecot"), user=USER, password=PASSWORD)
        self.d.prepare()
        self.port = self.d.port

    def version(self):
        return "dovecot " + dovecot.version()

    def maildir(self, mailbox=None):
        return self.d.maildir_folder(mailbox)

    def loaded(self):
        self.d.fix_ownership()

    def start(self):
        self.d.start()

    def alive(self):
        return self.d.master_pid is not None and os.path.exists("/proc/%d" % self.d.master_pid)

    def pids(self):
        return self.d.imap_pids()

    def stop(self):
        self.d.stop()


# ---------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------

class Memory:
    """Peak RSS of a server's processes over a scenario: VmHWM is reset
    (clear_refs 5) at the start, read at the end; summed over the
    processes (Dovecot: one imap process per connection)."""

    def __init__(self, server):
        self.server = server

    def reset(self):
        for pid in self.server.pids():
            dovecot.reset_peak_rss(pid)

    def peak_kb(self):
        return sum(proc_kb(pid, "VmHWM") for pid in self.server.pids())

    def current_kb(self):
        return sum(proc_kb(pid, "VmRSS") for pid in self.server.pids())


class Sampler(threading.Thread):
    """Samples the summed VmRSS of the server's processes every 100 ms."""

    def __init__(self, server, interval=0.1):
        super().__init__(daemon=True)
        self.server, self.interval = server, interval
        self.peak = 0
        self.samples = []
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            rss = sum(proc_kb(pid, "VmRSS") for pid in self.server.pids())
            self.samples.append(rss)
            self.peak = max(self.peak, rss)
            self.done.wait(self.interval)

    def stop(self):
        self.done.set()
        self.join()


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


class Suite:
    """Runs every scenario against one server; records time, peak RSS and
    a short result note (hit counts, response counts) per scenario."""

    def __init__(self, server, args, n, big_n, append_msgs, since_date):
        self.server, self.args, self.n, self.big_n = server, args, n, big_n
        self.append_msgs = append_msgs
        self.since_date = since_date
        self.results = {}   # scenario -> dict(time, rss, note, error)
        self.mem = Memory(server)

    def record(self, scenario, fn, repeat=None, single=False):
        log("%s: %s" % (self.server.name, scenario))
        entry = {"time": None, "rss": None, "note": "", "error": None}
        self.results[scenario] = entry
        if not self.server.alive():
            entry["error"] = "server not running"
            return entry
        self.mem.reset()
        try:
            note = {}

            def once():
                note["v"] = fn()

            entry["time"] = best_of(1 if single else (repeat or self.args.repeat), once)
            entry["note"] = note.get("v") or ""
        except (BenchError, OSError) as e:
            entry["error"] = "%s: %s" % (type(e).__name__, e)
            log("  FAILED: %s" % entry["error"])
            if not self.server.alive():
                entry["error"] += " (server exited with %s)" % (self.server.proc.returncode
                                                               if hasattr(self.server, "proc")
                                                               and self.server.proc else "?")
        entry["rss"] = self.mem.peak_kb()
        # What the server keeps once the command is answered (issue target:
        # RSS after every scenario): a moment for the strand to give memory
        # back after a long command.
        time.sleep(0.2)
        entry["rss_after"] = self.mem.current_kb()
        if entry["time"] is not None:
            log("  %.3f s, peak RSS %d KiB, RSS after %d KiB %s" % (
                entry["time"], entry["rss"], entry["rss_after"], entry["note"]))
        return entry

    def run(self):
        a = self.args
        port = self.server.port
        n = self.n
        main = None

        holder = {}

        # Connections stay open until their peak RSS is read (a Dovecot imap
        # process ends with its connection).
        def first_open():
            c = Client(port)
            holder["first"] = c
            exists = c.login_select()
            if exists != n:
                raise BenchError("SELECT INBOX: EXISTS %s, expected %d" % (exists, n))
            return "EXISTS %d" % exists

        self.record("first SELECT (indexing)", first_open, single=True)
        if "first" in holder:
            holder.pop("first").close()

        def login_select():
            if "c" in holder:
                holder["c"].close()
            c = Client(port)
            holder["c"] = c
            exists = c.login_select()
            if exists != n:
                raise BenchError("SELECT INBOX: EXISTS %s, expected %d" % (exists, n))
            return "EXISTS %d" % exists

        self.record("LOGIN + SELECT", login_select)
        main = holder.get("c")
        if main is None:
            return
        try:
            self._run_selected(main, port, n)
        finally:
            main.close()
        if self.big_n:
            self._run_stream(port)

    def _fetch(self, c, cmd, expect):
        def fn():
            res = c.command(cmd)
            if res.fetches != expect:
                raise BenchError("%s: %d FETCH responses, expected %d" %
                                 (cmd.decode(), res.fetches, expect))
            return "%d FETCH" % res.fetches
        return fn

    def _search(self, c, cmd):
        def fn():
            res = c.command(cmd, keep=True)
            text = res.joined()
            m = re.search(rb"\* SEARCH([ 0-9]*)(?:\r\n|$)", text)
            if not m:
                raise BenchError("%s: no * SEARCH response" % cmd.decode())
            return "%d hits" % len(m.group(1).split())
        return fn

    def _numbers(self, c, cmd, response, expect):
        """SORT / THREAD: the command, checking its untagged response counts
        `expect` message numbers (RFC 5256 3)."""
        def fn():
            res = c.command(cmd, keep=True)
            m = re.search(rb"\* " + response + rb"([^\r\n]*)", res.joined())
            if not m:
                raise BenchError("%s: no * %s response" % (cmd.decode(), response.decode()))
            count = len(re.findall(rb"\d+", m.group(1)))
            if count != expect:
                raise BenchError("%s: %d numbers, expected %d" % (cmd.decode(), count, expect))
            return "%d messages" % count
        return fn

    def _run_selected(self, c, port, n):
        self.record("FETCH 1:* (UID FLAGS)", self._fetch(c, b"FETCH 1:* (UID FLAGS)", n))
        self.record("FETCH 1:* (UID RFC822.SIZE INTERNALDATE ENVELOPE)",
                    self._fetch(c, b"FETCH 1:* (UID RFC822.SIZE INTERNALDATE ENVELOPE)", n))
        self.record('UID SEARCH FROM "%s"' % RARE_SENDER.split("@")[1],
                    self._search(c, b'UID SEARCH FROM "%s"' % RARE_SENDER.split("@")[1].encode()))
        self.record('UID SEARCH BODY "%s"' % RARE_WORD,
                    self._search(c, b'UID SEARCH BODY "%s"' % RARE_WORD.encode()))
        self.record("UID SEARCH SINCE %s" % self.since_date,
                    self._search(c, b"UID SEARCH SINCE %s" % self.since_date.encode()))
        # RFC 5256 over the whole mailbox (Dovecot's first SORT builds its
        # sort index: best of --repeat).
        for cmd, response in ((b"UID SORT (DATE) UTF-8 ALL", b"SORT"),
                              (b"UID SORT (SUBJECT) UTF-8 ALL", b"SORT"),
                              (b"UID THREAD REFERENCES UTF-8 ALL", b"THREAD")):
            self.record(cmd.decode(), self._numbers(c, cmd, response, n))

        def store(sign):
            def fn():
                res = c.command(b"STORE 1:* %sFLAGS (\\Seen)" % sign)
                return "%d FETCH" % res.fetches
            return fn

        # Each repetition adds then removes, so every run starts the same.
        times_add, times_del, notes = [], [], {}
        log("%s: STORE" % self.server.name)
        self.mem.reset()
        store_error = None
        try:
            for _ in range(self.args.repeat):
                t = time.perf_counter()
                notes["+"] = store(b"+")()
                times_add.append(time.perf_counter() - t)
                t = time.perf_counter()
                notes["-"] = store(b"-")()
                times_del.append(time.perf_counter() - t)
        except (BenchError, OSError) as e:
            store_error = "%s: %s" % (type(e).__name__, e)
            log("  FAILED: " + store_error)
        rss = self.mem.peak_kb()
        time.sleep(0.2)
        rss_after = self.mem.current_kb()
        self.results["STORE 1:* +FLAGS (\\Seen)"] = {
            "time": min(times_add) if times_add else None, "rss": rss, "rss_after": rss_after,
            "note": notes.get("+", ""), "error": store_error if not times_add else None}
        self.results["STORE 1:* -FLAGS (\\Seen)"] = {
            "time": min(times_del) if len(times_del) == len(times_add) and times_del else None,
            "rss": rss, "rss_after": rss_after, "note": notes.get("-", ""),
            "error": store_error if len(times_del) < self.args.repeat else None}

        k = min(1000, n)
        self.record("FETCH 1:%d BODY.PEEK[]" % k, self._body_fetch(c, k))

        # APPEND: pipelined LITERAL+ from a sender thread; a second session
        # (INBOX selected before) then sends NOOP and must see EXISTS.
        other = Client(port)
        other.login_select()
        state = {"exists": n}

        def append():
            tags = []
            payload = []
            for msg in self.append_msgs:
                tag = c.next_tag()
                tags.append(tag)
                payload.append(b"%s APPEND INBOX {%d+}\r\n%s\r\n" % (tag, len(msg), msg))
            data = b"".join(payload)
            err = []

            def sender():
                try:
                    c.sock.sendall(data)
                except OSError as e:
                    err.append(e)

            th = threading.Thread(target=sender, daemon=True)
            th.start()
            for tag in tags:
                c.wait(tag)
            th.join()
            if err:
                raise BenchError("sending APPENDs: %s" % err[0])
            state["exists"] += len(tags)
            return "%d APPENDs" % len(tags)

        def noop():
            res = other.command(b"NOOP", keep=True)
            found = [int(x) for x in re.findall(rb"\* (\d+) EXISTS", res.joined())]
            if not found or found[-1] != state["exists"]:
                raise BenchError("second session's NOOP: EXISTS %s, expected %d" %
                                 (found, state["exists"]))
            return "EXISTS %d" % found[-1]

        # Each APPEND batch is followed by the other session's NOOP; both
        # best of --repeat.
        t_app, t_noop, notes = [], [], {}
        log("%s: APPEND + NOOP" % self.server.name)
        self.mem.reset()
        errors = {}
        for _ in range(self.args.repeat):
            try:
                t = time.perf_counter()
                notes["a"] = append()
                t_app.append(time.perf_counter() - t)
            except (BenchError, OSError) as e:
                errors["a"] = "%s: %s" % (type(e).__name__, e)
                log("  FAILED: " + errors["a"])
                break
            try:
                t = time.perf_counter()
                notes["n"] = noop()
                t_noop.append(time.perf_counter() - t)
            except (BenchError, OSError) as e:
                errors["n"] = "%s: %s" % (type(e).__name__, e)
                log("  FAILED: " + errors["n"])
                break
        rss = self.mem.peak_kb()
        time.sleep(0.2)
        rss_after = self.mem.current_kb()
        self.results["APPEND %d messages (LITERAL+, pipelined)" % len(self.append_msgs)] = {
            "time": min(t_app) if t_app else None, "rss": rss, "rss_after": rss_after,
            "note": notes.get("a", ""),
            "error": errors.get("a")}
        self.results["second session NOOP sees EXISTS"] = {
            "time": min(t_noop) if t_noop else None, "rss": rss, "rss_after": rss_after,
            "note": notes.get("n", ""),
            "error": errors.get("n") or (errors.get("a") and "not run")}
        other.close()

    def _body_fetch(self, c, k):
        def fn():
            res = c.command(b"FETCH 1:%d BODY.PEEK[]" % k)
            if res.literals != k or res.fetches != k:
                raise BenchError("FETCH 1:%d BODY.PEEK[]: %d FETCH, %d literals" %
                                 (k, res.fetches, res.literals))
            return "%d literals, %.1f MB" % (res.literals, res.literal_bytes / 1e6)
        return fn

    def _run_stream(self, port):
        """FETCH 1:* BODY.PEEK[] of the big mailbox by a slow reader, while
        a second connection's NOOP / FETCH latency is recorded."""
        a = self.args
        name = "stream: slow FETCH 1:* BODY.PEEK[] of Big"
        log("%s: %s" % (self.server.name, name))
        entry = {"time": None, "rss": None, "note": "", "error": None}
        self.results[name] = entry
        lat = {"noop": [], "fetch": []}
        stop = threading.Event()
        errors = []
        try:
            slow = Client(port)
            exists = slow.login_select(b"Big")
            if exists != self.big_n:
                raise BenchError("SELECT Big: EXISTS %s, expected %d" % (exists, self.big_n))
            probe = Client(port)
            probe.login_select()

            def prober():
                i = 0
                try:
                    while not stop.is_set():
                        if i % 2 == 0:
                            t = time.perf_counter()
                            probe.command(b"NOOP")
                            lat["noop"].append(time.perf_counter() - t)
                        else:
                            t = time.perf_counter()
                            res = probe.command(b"FETCH 1:10 (UID FLAGS)")
                            lat["fetch"].append(time.perf_counter() - t)
                            if res.fetches != min(10, self.n):
                                raise BenchError("probe FETCH 1:10: %d responses" % res.fetches)
                        i += 1
                        stop.wait(0.05)
                except (BenchError, OSError) as e:
                    errors.append("probe connection: %s: %s" % (type(e).__name__, e))

            self.mem.reset()
            sampler = Sampler(self.server)
            sampler.start()
            th = threading.Thread(target=prober, daemon=True)
            th.start()
            t = time.perf_counter()
            try:
                res = slow.wait(slow.send(b"FETCH 1:* BODY.PEEK[]"), slow_chunk=64 * 1024,
                                slow_sleep=a.slow_sleep_ms / 1000.0)
            finally:
                elapsed = time.perf_counter() - t
                stop.set()
                th.join()
                sampler.stop()
            if res.literals != self.big_n:
                raise BenchError("stream: %d literals, expected %d" % (res.literals, self.big_n))
            entry["time"] = elapsed
            entry["rss"] = self.mem.peak_kb()
            entry["sampled_rss"] = sampler.peak
            entry["start_rss"] = sampler.samples[0] if sampler.samples else None
            entry["bytes"] = res.literal_bytes
            allv = lat["noop"] + lat["fetch"]
            entry["latency"] = {
                "count": len(allv),
                "p50": statistics.median(allv) if allv else None,
                "p99": sorted(allv)[int(0.99 * (len(allv) - 1))] if allv else None,
                "max": max(allv) if allv else None,
            }
            entry["note"] = "%.0f MB at %.1f MB/s" % (res.literal_bytes / 1e6,
                                                      res.literal_bytes / 1e6 / elapsed)
            if errors:
                entry["error"] = "; ".join(errors)
            slow.close()
            probe.close()
        except (BenchError, OSError) as e:
            entry["error"] = "%s: %s" % (type(e).__name__, e) + ("; " + "; ".join(errors)
                                                                 if errors else "")
            entry["rss"] = self.mem.peak_kb()
            log("  FAILED: " + entry["error"])
        if entry["time"] is not None:
            log("  %.1f s, peak RSS %s KiB (sampled %s), latency %s" % (
                entry["time"], entry["rss"], entry.get("sampled_rss"), entry.get("latency")))


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def machine_info():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GiB" % (int(f.readline().split()[1]) / 1048576)
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(), "mem": mem,
            "load": "%.2f %.2f %.2f" % os.getloadavg()}


def fmt_time(entry):
    if entry is None:
        return "–"
    if entry.get("error"):
        return "**failed**"
    t = entry["time"]
    if t is None:
        return "–"
    return "%.1f ms" % (t * 1000) if t < 1 else "%.2f s" % t


def fmt_rss(entry):
    if entry is None or not entry.get("rss"):
        return "–"
    return "%.1f MiB" % (entry["rss"] / 1024)


def fmt_ratio(a, b):
    if not a or not b or a.get("error") or b.get("error") or not a.get("time") or not b.get("time"):
        return "–"
    return "%.2f" % (a["time"] / b["time"])


def fmt_ms(s):
    return "–" if s is None else "%.1f ms" % (s * 1000)


def report(args, n, big_n, big_bytes, data_bytes, info, versions, suites, setup):
    now = datetime.datetime.now(datetime.timezone.utc)
    mode = " (quick)" if args.quick else ""
    head = "## %s: %d messages, big mailbox %d MB%s" % (now.strftime("%Y-%m-%d"), n,
                                                       big_bytes // 1_000_000, mode)
    out = [head, ""]
    out.append("- machine: %d CPUs (%s), %s RAM, Linux %s; load average at start %s" % (
        info["nproc"], info["cpu"], info["mem"], info["kernel"], info["load"]))
    out.append("- versions: %s; %s" % (versions["imapd"], versions["Dovecot"]))
    out.append("- data: INBOX %d messages, %.0f MB (CRLF); Big %d messages, %.0f MB; "
               "APPEND %d messages; best of %d; run %s UTC" % (
                   n, data_bytes / 1e6, big_n, big_bytes / 1e6, args.append, args.repeat,
                   now.strftime("%H:%M")))
    out.append("- setup (not compared): generating the data %.0f s; imapd import %.1f s; "
               "Dovecot gets its Maildir written directly" % (setup["generate"],
                                                             setup["import"]))
    copies, copies_bytes = setup.get("copies", (0, 0))
    if copies:
        out.append("- data: Archive holds %d of the INBOX messages again, %.1f MB (the same "
                   "bytes in two mailboxes), counted in the raw bytes below" % (
                       copies, copies_bytes / 1e6))
    raw_bytes = data_bytes + big_bytes + copies_bytes
    if setup.get("imapd_disk") or setup.get("dovecot_disk"):
        parts = []
        if setup.get("imapd_disk"):
            parts.append("imapd's database after import %.0f MB (%.2f x the mail, full-text "
                         "index included)" % (setup["imapd_disk"] / 1e6,
                                              setup["imapd_disk"] / raw_bytes))
        if setup.get("dovecot_disk"):
            parts.append("Dovecot's Maildir files %.0f MB (%.2f x, before its index)" % (
                setup["dovecot_disk"] / 1e6, setup["dovecot_disk"] / raw_bytes))
        out.append("- disk: " + "; ".join(parts))
    out.append("")
    out.append("| scenario | imapd | Dovecot | imapd/Dovecot | imapd peak RSS | "
               "imapd RSS after | Dovecot peak RSS | result |")
    out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    im, dc = suites["imapd"].results, suites["Dovecot"].results
    failures = []
    mismatches = []
    for scenario in list(im.keys()) + [s for s in dc.keys() if s not in im]:
        a, b = im.get(scenario), dc.get(scenario)
        na = (a or {}).get("note", "")
        nb = (b or {}).get("note", "")
        if scenario.startswith("stream"):
            note = "imapd %s; Dovecot %s" % (na or "–", nb or "–")
        elif na == nb:
            note = na
        else:
            note = "imapd %s; Dovecot %s" % (na or "–", nb or "–")
            if na and nb and not scenario.startswith("STORE"):
                mismatches.append("%s: imapd %s, Dovecot %s" % (scenario, na, nb))
        after = dict(a, rss=a.get("rss_after")) if a else a
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            scenario.replace("|", "\\|"), fmt_time(a), fmt_time(b),
            "(reader-bound)" if scenario.startswith("stream") else fmt_ratio(a, b), fmt_rss(a),
            fmt_rss(after), fmt_rss(b), note))
        for who, e in (("imapd", a), ("Dovecot", b)):
            if e and e.get("error"):
                failures.append("%s, %s: %s" % (who, scenario, e["error"]))
    out.append("")
    sa = im.get("stream: slow FETCH 1:* BODY.PEEK[] of Big")
    sb = dc.get("stream: slow FETCH 1:* BODY.PEEK[] of Big")
    if sa or sb:
        out.append("Streaming (reader takes 64 KiB then sleeps %d ms; a second connection "
                   "alternates NOOP and FETCH 1:10 (UID FLAGS) every 50 ms):" % args.slow_sleep_ms)
        out.append("")
        out.append("| server | stream time | RSS at start | peak RSS (VmHWM) | "
                   "peak RSS (sampled /100 ms) | probe commands | probe p50 | probe p99 | "
                   "probe max |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for who, e in (("imapd", sa), ("Dovecot", sb)):
            if not e:
                continue
            lat = e.get("latency") or {}
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                who, fmt_time(e),
                "%.1f MiB" % (e["start_rss"] / 1024) if e.get("start_rss") else "–",
                fmt_rss(e),
                "%.1f MiB" % (e["sampled_rss"] / 1024) if e.get("sampled_rss") else "–",
                lat.get("count", "–"), fmt_ms(lat.get("p50")), fmt_ms(lat.get("p99")),
                fmt_ms(lat.get("max"))))
        out.append("")
    if mismatches:
        out.append("Different answers (same data):")
        out.append("")
        out += ["- " + m for m in mismatches]
        out.append("")
    if failures:
        out.append("Failures:")
        out.append("")
        out += ["- " + f for f in failures]
        out.append("")
    return head, "\n".join(out) + "\n"


BENCH_DOC_HEADER = """# Benchmarks

Produced by `tests/bench/bench_mailbox.py` (see
[tests/bench/README.md](../tests/bench/README.md)): imapd and Dovecot on the
same machine, in the same run, with the same messages, over one plain IMAP
connection on 127.0.0.1. Times are wall time seen by the client, best of 3;
the ratio is imapd/Dovecot (below 1: imapd faster). Peak RSS is VmHWM of the
imapd process and of Dovecot's `imap` process(es) (one per connection; the
master, login, auth and other helper processes are not counted), reset at the
start of each scenario. These are measurements, not tests: nothing here
gates a commit.

Each run is a section; a new run on the same day with the same size replaces
its section.
"""


def write_doc(path, head, section):
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    if not text.strip():
        text = BENCH_DOC_HEADER
    # Sections start with "## "; replace the one with the same heading.
    parts = re.split(r"(?m)^(?=## )", text)
    replaced = False
    for i, part in enumerate(parts):
        if part.startswith(head + "\n"):
            parts[i] = section + "\n"
            replaced = True
    if not replaced:
        if not parts[-1].endswith("\n\n"):
            parts[-1] = parts[-1].rstrip("\n") + "\n\n"
        parts.append(section + "\n")
    with open(path, "w") as f:
        f.write("".join(parts).rstrip("\n") + "\n")


# ---------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--imapd", default=DEFAULT_IMAPD, help="imapd binary (default: %(default)s)")
    p.add_argument("--messages", type=int, default=None, help="INBOX size (default 100000)")
    p.add_argument("--big-mailbox-mb", type=int, default=None,
                   help="size of the streamed mailbox in MB (1 MB messages; default 1024)")
    p.add_argument("--append", type=int, default=1000, help="messages per APPEND batch")
    p.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    p.add_argument("--imapd-port", type=int, default=0,
                   help="imapd's port on 127.0.0.1 (default: one the kernel picks)")
    p.add_argument("--slow-sleep-ms", type=int, default=10,
                   help="slow reader: sleep after each 64 KiB (default 10)")
    p.add_argument("--quick", action="store_true",
                   help="5,000 messages and a 100 MB big mailbox (a sanity run)")
    p.add_argument("--only", choices=["imapd", "dovecot"], help="run one server only")
    p.add_argument("--copies-every", type=int, default=0, metavar="K",
                   help="file every K-th INBOX message a second time in mailbox Archive "
                        "(the same bytes in two mailboxes; default 0: none)")
    p.add_argument("--work-dir", default=None, help="where to put the data (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--out", default=None, help="Markdown file to add this run's section to")
    args = p.parse_args()
    n = args.messages if args.messages is not None else (5_000 if args.quick else 100_000)
    big_mb = args.big_mailbox_mb if args.big_mailbox_mb is not None else (
        100 if args.quick else 1024)
    big_size = 1_000_000
    big_n = max(0, big_mb * 1_000_000 // big_size) if big_mb else 0
    if not os.access(args.imapd, os.X_OK):
        sys.exit("no imapd at %s: build it (see tests/bench/README.md) or pass --imapd" %
                 args.imapd)

    work = args.work_dir or tempfile.mkdtemp(prefix="imapd-bench-")
    os.makedirs(work, exist_ok=True)
    log("work directory %s" % work)
    imapd = ImapdServer(os.path.abspath(args.imapd), work, args.imapd_port)
    dc = DovecotServer(work)
    info = machine_info()
    versions = {"imapd": imapd.version(), "Dovecot": dc.version()}
    suites = {}
    setup = {"generate": 0.0, "import": 0.0}
    try:
        t = time.monotonic()
        log("generating %d messages + %d big ones" % (n, big_n))
        corpus = Corpus()
        # An imapd-only run writes no Maildir (a million files of 14 GB at 1M).
        maildirs = args.only != "imapd"
        copies = None
        if args.copies_every > 0:
            copies = Copies(args.copies_every, os.path.join(work, "archive.mbox"),
                            dc.maildir("Archive") if maildirs else None)
        inbox = Dataset(corpus, SEED + 1, n, START_TIME, SPAN)
        inbox.write(os.path.join(work, "inbox.mbox"), dc.maildir(None) if maildirs else None,
                    copies)
        if copies:
            copies.close()
        big = Dataset(corpus, SEED + 2, big_n, START_TIME, SPAN, big_size=big_size)
        if big_n:
            big.write(os.path.join(work, "big.mbox"), dc.maildir("Big") if maildirs else None)
        append_msgs = append_messages(corpus, SEED + 3, args.append)
        setup["generate"] = time.monotonic() - t
        log("data: INBOX %.0f MB, Big %.0f MB, in %.0f s" % (inbox.total_bytes / 1e6,
                                                          big.total_bytes / 1e6,
                                                          setup["generate"]))
        if copies:
            setup["copies"] = (copies.count, copies.total_bytes)
            log("data: Archive %d copies of INBOX messages, %.0f MB" % (
                copies.count, copies.total_bytes / 1e6))
        # SINCE: a day that about 10% of the INBOX is on or after.
        since_t = inbox.times[int(len(inbox.times) * 0.9)] if inbox.times else START_TIME
        d = datetime.datetime.fromtimestamp(since_t, datetime.timezone.utc)
        since_date = "%d-%s-%d" % (d.day, MONTHS[d.month - 1], d.year)

        mboxes = [(os.path.join(work, "inbox.mbox"), None)]
        if big_n:
            mboxes.append((os.path.join(work, "big.mbox"), "Big"))
        if copies:
            mboxes.append((os.path.join(work, "archive.mbox"), "Archive"))
        dc.loaded()
        # The Maildir as written: one file per message (Dovecot adds its
        # index, a few MB, at the first SELECT).
        if maildirs:
            setup["dovecot_disk"] = tree_bytes(dc.maildir(None))

        for server in (imapd, dc):
            if args.only and server.name.lower() != args.only:
                continue
            if server is imapd:
                log("importing into imapd")
                imapd.load(mboxes)
                setup["import"] = imapd.import_seconds
                setup["imapd_disk"] = imapd.disk_bytes()
            server.start()
            suite = Suite(server, args, n, big_n, append_msgs, since_date)
            suites[server.name] = suite
            try:
                suite.run()
            finally:
                server.stop()
            if server is imapd and getattr(imapd, "exit_code", 0) not in (0, None):
                log("imapd exited with %s" % imapd.exit_code)
        for name in ("imapd", "Dovecot"):
            suites.setdefault(name, Suite(imapd if name == "imapd" else dc, args, n, big_n,
                                          append_msgs, since_date))
        head, section = report(args, n, big_n, big.total_bytes, inbox.total_bytes, info,
                               versions, suites, setup)
        print(section)
        if args.out:
            write_doc(args.out, head, section)
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
