#!/usr/bin/env python3
"""Hostile clients: does one client's attack stall another user? imapd
against Dovecot, same run.

Standard library only (and bench_mailbox.py, dovecot.py next to it). Not a
test: nothing is asserted on time; .ci/run never runs it. See
tests/bench/README.md.

    tests/bench/bench_hostile.py [--seconds 10] [--only imapd|dovecot]
                                 [--scenarios B.1,B.4] [--imapd PATH]
                                 [--out docs/benchmarks.md]

For each server and each scenario: a victim (user "victim", its own small
INBOX selected) sends NOOP, waits for the tagged OK, pauses --victim-pause
ms, and again, all the time; the round trip of each NOOP is a sample. After
a second of quiet, one hostile scenario runs for --seconds while the victim
keeps measuring; the samples taken while the attack ran give p50/p99/max.
The server's memory is read before and after each scenario, its peak
sampled every 200 ms: PSS (shared pages counted once) summed over its
processes (imapd: one; Dovecot: every process of the instance, since
pre-login attacks land in imap-login).

Scenarios (issue 10's B.1-B.8), each from the attacker's side only:
  baseline  nothing: the victim's own figures on this machine
  B.1  20 connections: pre-auth "a LOGIN {60000000+}" and 60 MB after it,
       reconnecting whenever the server closes
  B.2  APPEND (LITERAL+) of a 240 KB message whose Subject is "=?a" repeated,
       one after the other
  B.3  SEARCH HEADER Subject / SEARCH BODY with a 20 KB needle against a
       400 KB message; and, on a second connection, LIST "" with 32,000 "*"
       over 100 mailboxes, pipelined 5 times per write
  B.4  5,000 NOOPs in one write, then 5,000 FETCHes in one write, reading
       the answers, again and again
  B.5  5 sessions IDLE on the attacker's INBOX and never read, while a sixth
       toggles \\Flagged on its 1,000 messages (STORE 1:1000 +FLAGS / -FLAGS)
  B.6  3,000 connections to the implicit-TLS port that never handshake,
       from 60 addresses 127.0.0.x (at most 50 each)
  B.7  500 connections from 10 addresses trickling a LOGIN one byte every
       2 s
  B.8  fire-and-forget wrong LOGINs (connect, send, close) from 40
       addresses 127.0.0.x, as fast as they go

Servers as packaged, defaults for every limit: imapd with a data directory,
plain and TLS listeners and two users; Dovecot as tests/bench/dovecot.py
makes it, plus a second user and an imaps listener with a self-signed
certificate (openssl). The attacker is user "bench" (its own mailboxes);
the victim never shares a mailbox with it.
"""
import argparse
import datetime
import math
import multiprocessing
import os
import select
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_mailbox as bm  # noqa: E402

ATTACKER, VICTIM, PASSWORD = "bench", "victim", "pw"
WAIT = 15          # seconds: bound on connecting, logging in, setting up
NOOP_TIMEOUT = 30  # seconds: a victim NOOP unanswered this long is given up (a stall)
SETTLE = 120       # seconds: how long a server may take to answer again between scenarios
log = bm.log
BenchError = bm.BenchError


def percentile(values, p):
    """Nearest rank: the smallest value with at least p of the samples at or below it."""
    s = sorted(values)
    return s[max(0, math.ceil(p * len(s)) - 1)] if s else None


# ---------------------------------------------------------------------------
# A small blocking IMAP connection (literals skipped by their length).
# ---------------------------------------------------------------------------

class Conn:
    def __init__(self, port, source=None, timeout=WAIT, greeting=True):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.tags = 0
        if greeting:
            self.line()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def line(self):
        """One response line; a literal it announces is read and dropped."""
        while True:
            end = self.buf.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buf[:end])
                del self.buf[:end + 2]
                if line.endswith(b"}") and b"{" in line:
                    size = int(line[line.rfind(b"{") + 1:-1].rstrip(b"+"))
                    while len(self.buf) < size:
                        self._recv()
                    del self.buf[:size]
                    return line + b"[literal]" + self.line()
                return line
            self._recv()

    def _recv(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise BenchError("connection closed by the server")
        self.buf += chunk

    def command(self, text, literal=None, ok=True):
        self.tags += 1
        tag = b"h%d" % self.tags
        data = tag + b" " + text
        if literal is not None:
            data += b"{%d+}\r\n" % len(literal) + literal
        self.sock.sendall(data + b"\r\n")
        return self.wait(tag, ok)

    def wait(self, tag, ok=True):
        lines = []
        while True:
            line = self.line()
            if line.startswith(tag + b" "):
                if ok and not line.startswith(tag + b" OK"):
                    raise BenchError("%s answered %s" % (lines and lines[0][:60] or tag,
                                                         line[:200].decode(errors="replace")))
                return lines, line
            lines.append(line)

    def login(self, user):
        self.command(b"LOGIN %s %s" % (user.encode(), PASSWORD.encode()))


def source_address(i):
    """127.0.0.x for x = 10 + i: Linux routes all of 127/8 to loopback."""
    return "127.0.0.%d" % (10 + i % 240)


# ---------------------------------------------------------------------------
# The victim.
# ---------------------------------------------------------------------------

class Victim:
    """User "victim": NOOP, wait, pause, again. Samples are (time sent, round
    trip), time.monotonic(). It runs in a process of its own: the
    attacker's threads share this process's interpreter lock, and 40 of
    them connecting in a loop would otherwise delay the victim's own reads
    by seconds, which is no measure of the server."""

    def __init__(self, port, pause):
        self.pipe, child = multiprocessing.get_context("fork").Pipe()
        self.proc = multiprocessing.get_context("fork").Process(
            target=victim_main, args=(port, pause, child), daemon=True)
        self.proc.start()
        child.close()
        status = self.pipe.recv() if self.pipe.poll(30) else ("error", "no answer in 30 s")
        if status[0] != "ready":
            self.proc.kill()
            raise BenchError(status[1])
        self.samples = []
        self.stalls = []     # (time, what) of NOOPs not answered within NOOP_TIMEOUT

    def start(self):
        self.pipe.send("go")

    def stop(self):
        self.pipe.send("stop")
        if self.pipe.poll(NOOP_TIMEOUT + 5):
            self.samples, self.stalls = self.pipe.recv()
        else:
            self.stalls.append((time.monotonic(), "the victim process did not report"))
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()

    def between(self, t0, t1):
        return [rtt for t, rtt in self.samples if t0 <= t < t1]


def victim_main(port, pause, pipe):
    try:
        conn = Conn(port)
        conn.login(VICTIM)
        conn.command(b"SELECT INBOX")
    except (OSError, BenchError) as e:
        pipe.send(("error", "%s: %s" % (type(e).__name__, e)))
        return
    pipe.send(("ready", ""))
    pipe.recv()  # go
    samples, stalls = [], []
    conn.sock.settimeout(NOOP_TIMEOUT)
    stopped = False
    while not stopped:
        t = time.monotonic()
        try:
            conn.command(b"NOOP")
        except (OSError, BenchError) as e:
            # Counted as a sample of "more than NOOP_TIMEOUT" (infinity).
            samples.append((t, math.inf))
            stalls.append((t, "%s: %s" % (type(e).__name__, e)))
            break
        samples.append((t, time.monotonic() - t))
        stopped = pipe.poll(pause)
    if not stopped:
        pipe.recv()  # wait for stop
    pipe.send((samples, stalls))
    conn.close()


# ---------------------------------------------------------------------------
# Attacks. Each runs until `stop` is set and returns notes on what it did.
# ---------------------------------------------------------------------------

class Attack:
    def __init__(self, server, stop):
        self.server = server
        self.stop = stop
        self.notes = {}
        self.lock = threading.Lock()
        self.conns = []

    def count(self, key, n=1):
        with self.lock:
            self.notes[key] = self.notes.get(key, 0) + n

    def keep(self, conn):
        with self.lock:
            self.conns.append(conn)
        return conn

    def close_all(self):
        """Closes every attacker socket, counting first those the server
        had already closed (or answered: a BYE, a refusal)."""
        socks = [c.sock if isinstance(c, Conn) else c for c in self.conns]
        for sock in socks:
            if sock.fileno() < 0:
                continue  # the attack closed it itself
            try:
                poller = select.poll()
                poller.register(sock, select.POLLIN)
                if poller.poll(0):
                    sock.setblocking(False)
                    data = sock.recv(65536)
                    self.count("closed by the server" if not data else "answered")
            except OSError:
                self.count("closed by the server")
            _close(sock)

    def threads(self, n, target):
        ts = [threading.Thread(target=self._guard, args=(target, i), daemon=True)
              for i in range(n)]
        for t in ts:
            t.start()
        return ts

    def _guard(self, target, i):
        try:
            target(i)
        except (OSError, BenchError) as e:
            if not self.stop.is_set():
                self.count("error: %s" % str(e).split(":")[0][:60])


def _close(sock):
    try:
        sock.close()
    except OSError:
        pass


def attack_b1(a):
    """Pre-auth LOGIN {60000000+} and 60 MB of literal, 20 connections."""
    chunk = b"x" * 65536

    def one(i):
        while not a.stop.is_set():
            c = a.keep(Conn(a.server.port, source=source_address(i % 4)))
            a.count("connections")
            sent = 0
            try:
                c.sock.sendall(b"a LOGIN {60000000+}\r\n")
                while sent < 60_000_000 and not a.stop.is_set():
                    c.sock.sendall(chunk)
                    sent += len(chunk)
                a.count("streams completed" if sent >= 60_000_000 else "streams cut by the end")
            except OSError:
                a.count("closed by the server mid-stream")
            a.count("MB sent", sent // 1_000_000)
            c.close()
    return a.threads(20, one)


def attack_b2(a):
    subject = b"=?a" * 80000  # 240 KB
    message = (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: " + subject +
               b"\r\nMessage-ID: <hostile@example.com>\r\n\r\nbody\r\n")

    def one(i):
        c = a.keep(Conn(a.server.port))
        c.login(ATTACKER)
        while not a.stop.is_set():
            a.count("APPENDs sent")
            _, line = c.command(b"APPEND Hostile2047 ", literal=message, ok=False)
            a.count("APPEND " + line.split(b" ")[1].decode(errors="replace"))
    return a.threads(1, one)


def attack_b3(a):
    needle = b"qz" * 10000  # 20 KB, found nowhere

    def search(i):
        c = a.keep(Conn(a.server.port))
        c.login(ATTACKER)
        c.command(b"SELECT Big400")
        while not a.stop.is_set():
            for key in (b"HEADER Subject ", b"BODY "):
                _, line = c.command(b"SEARCH " + key, literal=needle, ok=False)
                a.count("SEARCH " + line.split(b" ")[1].decode(errors="replace"))

    def listing(i):
        c = a.keep(Conn(a.server.port))
        c.login(ATTACKER)
        pattern = b"*" * 32000
        while not a.stop.is_set():
            c.sock.sendall(b"".join(b"l%d LIST \"\" %s\r\n" % (k, pattern) for k in range(5)))
            for k in range(5):
                _, line = c.wait(b"l%d" % k, ok=False)
                a.count("LIST " + line.split(b" ")[1].decode(errors="replace"))
    return a.threads(1, search) + a.threads(1, listing)


def attack_b4(a):
    def one(i):
        c = a.keep(Conn(a.server.port))
        c.login(ATTACKER)
        c.command(b"SELECT INBOX")
        batch = 0
        while not a.stop.is_set():
            verb = b"NOOP" if batch % 2 == 0 else b"FETCH 1:10 (FLAGS)"
            c.sock.sendall(b"".join(b"p%d %s\r\n" % (k, verb) for k in range(5000)))
            for k in range(5000):
                c.wait(b"p%d" % k, ok=False)
            a.count("5,000-command writes (%s)" % verb.split(b" ")[0].decode())
            batch += 1
    return a.threads(1, one)


def attack_b5(a):
    idlers = []
    for _ in range(5):
        c = a.keep(Conn(a.server.port))
        c.login(ATTACKER)
        c.command(b"SELECT INBOX")
        c.sock.sendall(b"i IDLE\r\n")
        while not c.line().startswith(b"+"):
            pass
        idlers.append(c)  # never read again

    def toggler(i):
        c = a.keep(Conn(a.server.port))
        c.login(ATTACKER)
        c.command(b"SELECT INBOX")
        sign = b"+"
        while not a.stop.is_set():
            c.command(b"STORE 1:1000 %sFLAGS (\\Flagged)" % sign)
            a.count("STORE 1:1000 (1,000 flag changes each)")
            sign = b"-" if sign == b"+" else b"+"
    return a.threads(1, toggler)


def attack_b6(a):
    def one(i):
        # 50 connections from each of 60 addresses.
        for k in range(50):
            if a.stop.is_set():
                return
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            try:
                s.bind((source_address(i), 0))
                s.connect(("127.0.0.1", a.server.tls_port))
                a.keep(s)
                a.count("connections open")
            except OSError:
                _close(s)
                a.count("connections refused or timed out")
    ts = a.threads(60, one)
    return ts


def attack_b7(a):
    payload = b"a LOGIN bench pw\r\n"

    def one(i):
        socks = []
        for k in range(50):
            try:
                c = Conn(a.server.port, source=source_address(100 + i))
                socks.append(a.keep(c))
                a.count("connections")
            except (OSError, BenchError):
                a.count("connections refused")
        pos = 0
        while not a.stop.is_set() and socks:
            for c in list(socks):
                try:
                    c.sock.sendall(payload[pos % len(payload):pos % len(payload) + 1])
                except OSError:
                    socks.remove(c)
                    a.count("closed by the server")
            pos += 1
            a.stop.wait(2.0)
    return a.threads(10, one)


def attack_b8(a):
    def one(i):
        while not a.stop.is_set():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            try:
                s.bind((source_address(180 + i), 0))
                s.connect(("127.0.0.1", a.server.port))
                s.sendall(b"a LOGIN %s wrong-password\r\n" % ATTACKER.encode())
                a.count("wrong LOGINs sent")
            except OSError:
                a.count("refused")
            _close(s)
    return a.threads(40, one)


SCENARIOS = [
    ("baseline", "no attack", None),
    ("B.1", "20 × pre-auth LOGIN {60000000+} + 60 MB", attack_b1),
    ("B.2", "APPEND 240 KB Subject of \"=?a\" × 80,000", attack_b2),
    ("B.3", "SEARCH HEADER/BODY 20 KB needle on 400 KB; LIST 32,000 \"*\" × 5 pipelined",
     attack_b3),
    ("B.4", "5,000 NOOPs / FETCHes per write", attack_b4),
    ("B.5", "5 non-reading IDLEs; STORE toggling \\Flagged on 1,000", attack_b5),
    ("B.6", "3,000 TLS connections never handshaking (60 addresses)", attack_b6),
    ("B.7", "500 connections trickling 1 byte / 2 s (10 addresses)", attack_b7),
    ("B.8", "wrong LOGINs, connect-send-close, 40 addresses", attack_b8),
]


# ---------------------------------------------------------------------------
# Servers.
# ---------------------------------------------------------------------------

def self_signed(work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
    return cert, key


class Imapd(bm.ImapdServer):
    """imapd serve with a data directory, plain and TLS listeners, the two
    users, every limit at its default."""

    def __init__(self, binary, work):
        super().__init__(binary, os.path.join(work, "imapd"))
        os.makedirs(os.path.join(work, "imapd"), exist_ok=True)
        self.tls_port = None

    def start(self):
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
             "--listen-tls", "127.0.0.1:0", "--user", "%s:%s" % (ATTACKER, PASSWORD),
             "--user", "%s:%s" % (VICTIM, PASSWORD), "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=self.stderr)
        buffered = b""
        deadline = time.monotonic() + 30
        while self.port is None or self.tls_port is None:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise BenchError("imapd did not print its listening lines (see %s)" %
                                 self.stderr_path)
            buffered += os.read(self.proc.stdout.fileno(), 4096)
            for line in buffered.split(b"\n"):
                parts = line.split()
                if len(parts) == 4 and parts[:2] == [b"imapd:", b"listening"]:
                    port = int(parts[3].rsplit(b":", 1)[1])
                    if parts[2] == b"imap":
                        self.port = port
                    elif parts[2] == b"imaps":
                        self.tls_port = port

    def memory_pids(self):
        return self.pids()

    def describe_exit(self):
        if self.proc is None:
            return "not started"
        rc = self.proc.poll()
        return "running" if rc is None else "exited with %s" % rc


class Dovecot(bm.DovecotServer):
    """tests/bench/dovecot.py's instance, with the victim as a second user
    and an imaps listener (self-signed certificate)."""

    def __init__(self, work):
        super().__init__(work)
        d = self.d
        with open(os.path.join(d.root, "users"), "a") as f:
            f.write("%s:{PLAIN}%s\n" % (VICTIM, PASSWORD))
        victim_home = os.path.join(d.root, "home", VICTIM)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(victim_home, "Maildir", sub), exist_ok=True)
        if d.as_root:
            for dirpath, dirnames, filenames in os.walk(victim_home):
                os.chown(dirpath, d.uid, d.gid)
        cert, key = self_signed(d.root)
        self.tls_port = bm.dovecot.free_port()
        with open(d.conf, "a") as f:
            f.write("ssl = yes\nssl_cert = <%s\nssl_key = <%s\n"
                    "service imap-login {\n  inet_listener imaps {\n    address = 127.0.0.1\n"
                    "    port = %d\n  }\n}\n" % (cert, key, self.tls_port))
        self.loaded()

    def memory_pids(self):
        """Every process of the instance: pre-login attacks land in imap-login."""
        master = self.d.master_pid
        if master is None:
            return []
        pids = [master]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = bm.dovecot._read("/proc/%s/stat" % entry)
                fields = stat[stat.rfind(b")") + 2:].split()
                if len(fields) > 1 and int(fields[1]) == master:
                    pids.append(int(entry))
        return pids

    def describe_exit(self):
        return "running" if self.alive() else "master process gone"


def pss_kb(pid):
    """Proportional set size (/proc/PID/smaps_rollup, Linux 4.14+): pages
    shared between processes count once in a sum, so Dovecot's hundreds of
    login processes are not charged each for the same libraries."""
    for line in bm.dovecot._read("/proc/%d/smaps_rollup" % pid).split(b"\n"):
        if line.startswith(b"Pss:"):
            return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    """Summed PSS of the server's processes every 200 ms."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.peak = 0
        self.done = threading.Event()

    def rss(self):
        return sum(pss_kb(pid) for pid in self.server.memory_pids())

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, self.rss())
            self.done.wait(0.2)

    def stop(self):
        self.done.set()
        self.join()


# ---------------------------------------------------------------------------
# Running.
# ---------------------------------------------------------------------------

def setup_data(server):
    """The attacker's mailboxes (INBOX with 1,000 messages, Big400 with one
    400 KB message, Hostile2047, 100 more for LIST) and the victim's INBOX."""
    c = Conn(server.port)
    c.login(ATTACKER)
    for name in [b"Big400", b"Hostile2047"] + [b"List/%d" % i for i in range(100)]:
        c.command(b"CREATE " + name, ok=False)
    body = lambda i: (b"From: a@example.com\r\nSubject: message %d\r\nMessage-ID: <h%d@x>\r\n\r\n"
                      b"%s\r\n" % (i, i, b"text " * 40))
    for start in range(0, 1000, 100):
        c.sock.sendall(b"".join(b"a%d APPEND INBOX {%d+}\r\n%s\r\n" % (i, len(body(i)), body(i))
                                for i in range(start, start + 100)))
        for i in range(start, start + 100):
            c.wait(b"a%d" % i)
    big = (b"From: a@example.com\r\nSubject: big\r\n\r\n" +
           b"".join(b"line %06d of a long message, quite ordinary text\r\n" % i
                    for i in range(8000)))
    c.command(b"APPEND Big400 ", literal=big)
    c.command(b"LOGOUT", ok=False)
    c.close()
    v = Conn(server.port)
    v.login(VICTIM)
    for i in range(10):
        v.command(b"APPEND INBOX ", literal=body(i))
    v.command(b"LOGOUT", ok=False)
    v.close()


def settle(server):
    """Seconds until the server answers a new connection's LOGIN and NOOP
    again (an attack's after-effects), or None if it does not within SETTLE."""
    t = time.perf_counter()
    deadline = time.monotonic() + SETTLE
    while time.monotonic() < deadline and server.alive():
        try:
            c = Conn(server.port, timeout=max(1.0, deadline - time.monotonic()))
            c.login(VICTIM)
            c.command(b"NOOP")
            c.close()
            return time.perf_counter() - t
        except (OSError, BenchError):
            time.sleep(0.5)
    return None


def run_scenario(server, key, title, attack, seconds, pause):
    result = {"key": key, "title": title, "server": server.name, "samples": [], "stalls": [],
              "notes": {}, "rss_peak": 0, "seconds": 0}
    sampler = Sampler(server)
    result["settle"] = settle(server)
    result["rss_before"] = sampler.rss()
    result["alive"] = server.alive()
    if result["settle"] is None:
        result["rss_after"] = sampler.rss()
        result["stalls"].append((0, "the server did not answer a new connection within %d s "
                                    "before the scenario" % SETTLE))
        return result
    try:
        victim = Victim(server.port, pause)
    except (OSError, BenchError) as e:
        result["rss_after"] = sampler.rss()
        result["stalls"].append((0, "the victim could not log in: %s" % e))
        return result
    victim.start()
    time.sleep(1.0)  # quiet: the victim alone
    sampler.start()
    stop = threading.Event()
    a = Attack(server, stop)
    threads = []
    t0 = time.monotonic()
    try:
        if attack is not None:
            threads = attack(a)
        stop.wait(seconds)
    except (OSError, BenchError) as e:
        a.count("setup failed: %s" % e)
    t1 = time.monotonic()
    stop.set()
    victim.stop()
    a.close_all()
    for t in threads:
        t.join(5)
    # After the attack: how long until a new connection is served again.
    result["recovery"] = settle(server)
    sampler.stop()
    time.sleep(1.0)  # let the server drop the closed connections
    result["rss_after"] = sampler.rss()
    result["rss_peak"] = sampler.peak
    samples = victim.between(t0, t1)
    result["samples"] = samples
    result["stalls"] = victim.stalls
    result["notes"] = dict(a.notes)
    result["alive"] = server.alive()
    result["seconds"] = t1 - t0
    return result


def fmt_ms(v):
    if v is None:
        return "–"
    if v == math.inf:
        return "> %d s" % NOOP_TIMEOUT
    return "%.1f ms" % (v * 1000) if v < 1 else "%.2f s" % v


def fmt_mib(kb):
    return "–" if not kb else "%.1f MiB" % (kb / 1024)


def report(args, info, versions, results):
    now = datetime.datetime.now(datetime.timezone.utc)
    head = "## %s: hostile clients (B.1-B.8), victim NOOP round trip" % now.strftime("%Y-%m-%d")
    out = [head, ""]
    out.append("- machine: %d CPUs (%s), %s RAM, Linux %s; load average at start %s" % (
        info["nproc"], info["cpu"], info["mem"], info["kernel"], info["load"]))
    out.append("- versions: %s; %s" % (versions.get("imapd", "–"), versions.get("Dovecot", "–")))
    out.append("- run ended %s UTC: `%s`" % (now.strftime("%H:%M"), " ".join(
        ["tests/bench/bench_hostile.py"] + sys.argv[1:])))
    out.append("- each scenario runs %.0f s; the victim (another user, its own INBOX) sends "
               "NOOP, waits for OK, pauses %d ms; samples are the NOOPs sent while the attack "
               "ran (one that waits past the end still counts, up to %d s); \"new login "
               "after\": once the attacker's sockets are closed, how long a new connection "
               "waits for LOGIN and NOOP; memory: PSS summed over the server's processes "
               "(Dovecot: every process of the instance) before, after, and its peak sampled "
               "every 200 ms" %
               (args.seconds, args.victim_pause, NOOP_TIMEOUT))
    out.append("")
    out.append("| scenario | server | NOOPs | p50 | p99 | max | over 100 ms | new login after "
               "| PSS before | PSS after | PSS peak | what the attacker did |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    problems = []
    for r in results:
        s = r["samples"]
        over = sum(1 for x in s if x > 0.1)
        notes = "; ".join("%s %s" % (k, v) for k, v in sorted(r["notes"].items()))
        recovery = r.get("recovery", "–")
        out.append("| %s %s | %s | %d | %s | %s | %s | %d | %s | %s | %s | %s | %s |" % (
            r["key"], r["title"].replace("|", "\\|"), r["server"], len(s),
            fmt_ms(percentile(s, 0.5)), fmt_ms(percentile(s, 0.99)), fmt_ms(max(s) if s else None),
            over, "–" if recovery == "–" else ("> %d s" % SETTLE if recovery is None
                                                else fmt_ms(recovery)),
            fmt_mib(r["rss_before"]), fmt_mib(r["rss_after"]), fmt_mib(r["rss_peak"]),
            notes or "–"))
        for t, what in r["stalls"]:
            problems.append("%s, %s: the victim's NOOP failed: %s" % (r["server"], r["key"], what))
        if not r["alive"]:
            problems.append("%s, %s: the server died" % (r["server"], r["key"]))
    out.append("")
    if problems:
        out.append("Failures:")
        out.append("")
        out += ["- " + p for p in problems]
        out.append("")
    return head, "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--imapd", default=bm.DEFAULT_IMAPD, help="imapd binary (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=10.0, help="per scenario (default 10)")
    p.add_argument("--victim-pause", type=int, default=20,
                   help="ms between the victim's NOOPs (default 20)")
    p.add_argument("--scenarios", help="comma-separated subset, e.g. B.1,B.6 (baseline always)")
    p.add_argument("--only", choices=["imapd", "dovecot"], help="run one server only")
    p.add_argument("--work-dir", default=None, help="default: a temporary directory")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--out", default=None, help="Markdown file to add this run's section to")
    args = p.parse_args()
    if not os.access(args.imapd, os.X_OK):
        sys.exit("no imapd at %s: build it (see tests/bench/README.md) or pass --imapd" %
                 args.imapd)
    wanted = set(args.scenarios.split(",")) if args.scenarios else None
    scenarios = [s for s in SCENARIOS if s[0] == "baseline" or not wanted or s[0] in wanted]
    # 3,000+ sockets on our side; the servers inherit the limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    work = args.work_dir or tempfile.mkdtemp(prefix="imapd-bench-hostile-")
    os.makedirs(work, exist_ok=True)
    log("work directory %s" % work)
    info = bm.machine_info()
    servers = []
    if args.only != "dovecot":
        servers.append(Imapd(os.path.abspath(args.imapd), work))
    if args.only != "imapd":
        servers.append(Dovecot(work))
    versions = {s.name: s.version() for s in servers}
    results = []
    try:
        for server in servers:
            server.start()
            try:
                setup_data(server)
                for key, title, attack in scenarios:
                    log("%s %s: %s" % (server.name, key, title))
                    r = run_scenario(server, key, title, attack, args.seconds,
                                     args.victim_pause / 1000.0)
                    s = r["samples"]
                    log("  %d NOOPs, p50 %s, p99 %s, max %s; new login after %s; PSS %s -> %s "
                        "(peak %s); %s %s" % (
                            len(s), fmt_ms(percentile(s, 0.5)), fmt_ms(percentile(s, 0.99)),
                            fmt_ms(max(s) if s else None), fmt_ms(r.get("recovery")),
                            fmt_mib(r["rss_before"]), fmt_mib(r["rss_after"]),
                            fmt_mib(r["rss_peak"]), r["notes"], r["stalls"] or ""))
                    results.append(r)
                    if not r["alive"]:
                        log("  the server died (%s); its remaining scenarios are skipped" %
                            server.describe_exit())
                        break
            finally:
                server.stop()
        head, section = report(args, info, versions, results)
        print(section)
        if args.out:
            bm.write_doc(args.out, head, section)
            log("wrote %s" % args.out)
    finally:
        for server in servers:
            server.stop()
        if not args.keep and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
        elif args.keep:
            log("kept %s" % work)


if __name__ == "__main__":
    main()
