#!/usr/bin/env python3
"""Throughput, fairness and memory: imapd against Dovecot in one run.

Standard library only; the load comes from imapd-loadgen (C++ on libuv,
tests/bench/loadgen/), because Python alone cannot drive 10,000 commands a
second on two cores. Both servers get identical users with the same
yescrypt hash (imapd makes it; Dovecot reads the very same string from a
passwd-file with the CRYPT scheme, so both verify at libxcrypt's default
cost), fresh data for every scenario, fsync on (imapd: synchronous=FULL;
Dovecot: its default mail_fsync=optimized), and run one after the other on
the same machine, never together. Nothing is asserted: this is a
benchmark. A scenario whose answers are wrong (loadgen errors) is marked.

Scenarios (each --duration seconds after --warmup, median of --repeat):
  mixed         10 clients of one user on one mailbox (LOGIN once): APPEND,
                UID FETCH BODY.PEEK[], FETCH ENVELOPE, UID STORE, LIST,
                STATUS, SELECT, UID STORE \\Deleted, UID EXPUNGE in a loop
  mixed-login   the same with LOGIN/LOGOUT on a new connection every cycle
  append        10 users at once, --append-messages x 3 KB each, each
                APPEND in one write (LITERAL+) and awaited
  append-split  the same written as Python's imaplib does (synchronising
                literal; the literal and its CRLF in two writes)
  fairness      user B's NOOP round trips while user A runs a heavy load
                (A: 64 MB APPENDs; A: wrong-password LOGINs at full speed; A:
                mixed; A: UID SEARCH TEXT over --search-messages messages)
  memory        RSS per logged-in, selected idle connection (plain and TLS
                for imapd; plain for Dovecot), --memory-connections of them

Usage:
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release && cmake --build build/release -j2
  tests/bench/bench_throughput.py                       # everything, ~15 min
  tests/bench/bench_throughput.py --only-scenario mixed --duration 10 --repeat 1
  tests/bench/bench_throughput.py --out docs/benchmarks.md
"""
import argparse
import json
import os
import platform
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot as dovecot_mod  # noqa: E402

WORKERS = 0  # --workers
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_work_dir(prefix, parent):
    """A fresh directory that Dovecot's mail uid can traverse."""
    work = tempfile.mkdtemp(prefix=prefix, dir=parent)
    os.chmod(work, 0o755)
    return work


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def rss_kb(pids):
    return sum(dovecot_mod.proc_status_kb(p, "VmRSS") for p in pids)


# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------

class Imapd:
    name = "imapd"

    def __init__(self, binary, work, users, password, threads=None):
        self.binary = binary
        self.work = work
        self.users = users
        self.password = password
        self.threads = threads
        self.proc = None
        self.port = None
        self.tls_port = None

    def version(self):
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return (out.stdout or out.stderr).strip()

    def data_dir(self):
        return os.path.join(self.work, "imapd-data")

    def config(self, connections):
        path = os.path.join(self.work, "imapd.conf")
        lines = ["[server]", "data_dir = %s" % json.dumps(self.data_dir())]  # a TOML string
        if self.threads:
            lines.append("threads = %d" % self.threads)
        if WORKERS:
            lines.append("workers = %d" % WORKERS)
        lines += ["[limits]",
                  "max_connections = %d" % max(1000, connections + 100),
                  "max_connections_per_ip = %d" % max(50, connections + 50),
                  "max_connections_per_user = %d" % max(20, connections + 50),
                  "[log]", 'level = "warning"']
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def prepare(self):
        os.makedirs(self.data_dir(), exist_ok=True)
        for user in self.users:
            subprocess.run([self.binary, "user", "add", user, "--password-stdin",
                            "--data-dir", self.data_dir()],
                           input=self.password + "\n", text=True, check=True,
                           stdout=subprocess.DEVNULL)

    def password_hashes(self):
        """name -> crypt string, as imapd stored it (for Dovecot)."""
        out = subprocess.run(["sqlite3", os.path.join(self.data_dir(), "accounts.db"),
                              "SELECT name, password_hash FROM users"],
                             capture_output=True, text=True, check=True).stdout
        return dict(line.split("|", 1) for line in out.splitlines() if "|" in line)

    def start(self, connections=100):
        args = [self.binary, "serve", "--config", self.config(connections),
                "--listen", "127.0.0.1:0", "--listen-tls", "127.0.0.1:0"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        deadline = time.monotonic() + 15
        while self.port is None or self.tls_port is None:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("imapd did not start: %s" % self.proc.stderr.read())
            if line.startswith("imapd: listening imaps "):
                self.tls_port = int(line.rsplit(":", 1)[1])
            elif line.startswith("imapd: listening imap "):
                self.port = int(line.rsplit(":", 1)[1])
            if time.monotonic() > deadline:
                raise RuntimeError("imapd did not print its ports")
        # Drain stderr so a chatty log never blocks the server.
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def pids(self):
        return [self.proc.pid] if self.proc else []

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
            self.port = self.tls_port = None


class BenchDovecot(dovecot_mod.Dovecot):
    """A Dovecot with several users, each with a given crypt hash, and the
    per-user connection limit raised for many connections of one user."""

    name = "dovecot"

    def __init__(self, root, hashes, password):
        self.hashes = hashes
        super().__init__(root, user=next(iter(hashes)), password=password)
        self.tls_port = None

    def home_of(self, user):
        return os.path.join(self.root, "home", user)

    def prepare(self):
        super().prepare()
        users = os.path.join(self.root, "users")
        with open(users, "w") as f:
            for name, crypted in self.hashes.items():
                f.write("%s:{CRYPT}%s\n" % (name, crypted))
        with open(self.conf) as f:
            conf = f.read()
        conf = conf.replace("scheme=PLAIN", "scheme=CRYPT")
        conf += "\n".join([
            "protocol imap {",
            "  mail_max_userip_connections = 10000",
            "}",
            "default_process_limit = 5000",
            "default_client_limit = 10000",
            "service imap {",
            "  process_limit = 5000",
            "}",
            "service imap-login {",
            "  process_min_avail = 2",
            "}",
            ""])
        with open(self.conf, "w") as f:
            f.write(conf)
        for name in self.hashes:
            os.makedirs(os.path.join(self.home_of(name), "Maildir", "cur"), exist_ok=True)
            os.makedirs(os.path.join(self.home_of(name), "Maildir", "new"), exist_ok=True)
            os.makedirs(os.path.join(self.home_of(name), "Maildir", "tmp"), exist_ok=True)

    def fix_ownership(self):
        if not self.as_root:
            return
        for name in self.hashes:
            home = self.home_of(name)
            for dirpath, dirnames, filenames in os.walk(home):
                os.chown(dirpath, self.uid, self.gid)
                for entry in filenames:
                    os.lchown(os.path.join(dirpath, entry), self.uid, self.gid)

    def start(self, connections=0):
        super().start()

    def pids(self):
        return self.imap_pids()


# ---------------------------------------------------------------------------
# Running the load generator
# ---------------------------------------------------------------------------

def run_loadgen(loadgen, port, mode, users, password, clients, duration, warmup, extra=()):
    args = [loadgen, "--port", str(port), "--mode", mode, "--clients", str(clients),
            "--users", ",".join(users), "--password", password,
            "--duration", str(duration), "--warmup", str(warmup), "--json"] + list(extra)
    out = subprocess.run(args, capture_output=True, text=True, timeout=duration + warmup + 600)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError("loadgen failed: %s %s" % (out.stdout, out.stderr))


def seed_mailbox(loadgen, port, user, password, count=100):
    run_loadgen(loadgen, port, "append", [user], password, 1, 0, 0,
                ["--messages", str(count)])


class Scenario:
    def __init__(self, name, what, metric):
        self.name = name
        self.what = what
        self.metric = metric  # key of the loadgen result


def measure(server_factory, scenario, args, users):
    """Runs `scenario` --repeat times, each on a fresh server and data."""
    results = []
    for attempt in range(args.repeat):
        work = make_work_dir("bench-%s-" % scenario.name, args.work_dir)
        server = server_factory(work)
        try:
            server.start(connections=200)
            result = run_scenario(server, scenario, args, users)
            result["rss_kb"] = rss_kb(server.pids())
            results.append(result)
        finally:
            server.stop()
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        log("  %s %s run %d: %s" % (server.name, scenario.name, attempt + 1,
                                    summary(scenario, result)))
    return results


def summary(scenario, result):
    return "%.1f %s, p50 %.2f ms, p99 %.2f ms, errors %d" % (
        result[scenario.metric], scenario.metric, result["p50_us"] / 1000.0,
        result["p99_us"] / 1000.0, result["errors"])


def run_scenario(server, scenario, args, users):
    lg = args.loadgen
    pw = args.password
    if scenario.name in ("mixed", "mixed-login"):
        seed_mailbox(lg, server.port, users[0], pw)
        return run_loadgen(lg, server.port, scenario.name, [users[0]], pw, args.clients,
                           args.duration, args.warmup)
    if scenario.name in ("append", "append-split"):
        extra = ["--messages", str(args.append_messages), "--message-size", "3072"]
        if scenario.name == "append-split":
            extra.append("--split-literal")
        return run_loadgen(lg, server.port, "append", users[:args.clients], pw, args.clients,
                           0, 0, extra)
    raise ValueError(scenario.name)


# ---------------------------------------------------------------------------
# Fairness: user B's NOOP latency while user A works
# ---------------------------------------------------------------------------

def fairness(server, args, users):
    lg = args.loadgen
    pw = args.password
    out = {}
    seed_mailbox(lg, server.port, users[1], pw, 10)
    loads = {
        "idle": None,
        "A: 64 MB APPENDs": ["--mode", "append", "--clients", "1", "--messages", "3",
                             "--message-size", str(64 * 1024 * 1024 - 4096)],
        "A: wrong-password LOGINs (40 addresses)": ["--mode", "bad-login", "--clients", "40",
                                                    "--source-ips", "40", "--duration",
                                                    str(args.duration), "--warmup", "0"],
        "A: mixed, 10 clients": ["--mode", "mixed", "--clients", "10", "--duration",
                                 str(args.duration), "--warmup", "0"],
    }
    # Dovecot takes APPENDs from ten clients into one mailbox at about 190 a
    # second (9 minutes for 100,000): it gets at most 20,000.
    search_messages = args.search_messages
    if server.name == "dovecot":
        search_messages = min(search_messages, 20000)
    search_load = "A: UID SEARCH TEXT over a big INBOX (--search-messages)"
    if search_messages > 0:
        # Last: A's INBOX is filled first (10 clients of A, 1 KB each). The
        # needles: one that a single message holds (the trigram index finds
        # it), one every message holds (100,000 UIDs to write), and "q",
        # which none holds and which is too short for a trigram, so every
        # message's text is read (RFC 3501 6.4.4: substring).
        loads[search_load] = ["--mode", "search", "--clients", "1", "--duration",
                              str(args.duration), "--warmup", "0", "--needles",
                              "message 4242,tempor,q"]
    for name, load in loads.items():
        hostile = None
        if name == search_load:
            started = time.monotonic()
            per_client = (search_messages + 9) // 10
            run_loadgen(lg, server.port, "append", [users[0]], pw, 10, 0, 0,
                        ["--messages", str(per_client), "--message-size", "1024"])
            log("  %s: %d messages appended for user A in %.0f s" % (
                server.name, per_client * 10, time.monotonic() - started))
        if load is not None:
            hostile = subprocess.Popen([lg, "--port", str(server.port), "--users", users[0],
                                        "--password", pw] + load,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        probe_seconds = args.duration if load is None or "--duration" in load else 5
        # One NOOP every 10 ms, each timed from when it was due, so a stall
        # counts in every probe it delays (loadgen --interval-ms).
        result = run_loadgen(lg, server.port, "noop", [users[1]], pw, 1, probe_seconds, 0.5,
                             ["--interval-ms", "10"])
        if hostile:
            hostile.kill()
            hostile.wait()
        out[name] = result
        log("  %s fairness [%s]: B's NOOP p50 %.2f ms p99 %.2f ms max %.2f ms (%d)" % (
            server.name, name, result["p50_us"] / 1000.0, result["p99_us"] / 1000.0,
            result["max_us"] / 1000.0, result["commands"]))
    return out


# ---------------------------------------------------------------------------
# Memory per idle connection
# ---------------------------------------------------------------------------

def open_idle_connections(port, user, password, count, use_tls):
    socks = []
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    for i in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        if use_tls:
            s = context.wrap_socket(s)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a LOGIN %s %s\r\nb SELECT INBOX\r\n" % (user.encode(), password.encode()))
        while True:
            line = f.readline()
            if not line:
                raise RuntimeError("connection %d closed" % i)
            if line.startswith(b"b "):
                if not line.startswith(b"b OK"):
                    raise RuntimeError("SELECT failed: %r" % line)
                break
        socks.append((s, f))
    return socks


def memory(server, args, users, use_tls):
    port = server.tls_port if use_tls else server.port
    seed_mailbox(args.loadgen, server.port, users[0], args.password, 20)
    time.sleep(0.5)
    before = rss_kb(server.pids()) if server.name == "imapd" else 0
    socks = open_idle_connections(port, users[0], args.password, args.memory_connections,
                                  use_tls)
    time.sleep(1.0)
    after = rss_kb(server.pids())
    for s, f in socks:
        s.close()
    per_connection = (after - before) / float(args.memory_connections)
    log("  %s memory (%s): %.1f KiB per connection" % (server.name, "TLS" if use_tls else "plain",
                                                       per_connection))
    return per_connection


# ---------------------------------------------------------------------------

SCENARIOS = [
    Scenario("mixed", "mixed steady state: 10 clients on one mailbox, logged in once",
             "commands_per_s"),
    Scenario("mixed-login", "the same mix with LOGIN/LOGOUT every cycle", "commands_per_s"),
    Scenario("append", "durable APPEND, 10 users at once, 3 KB each, one write each",
             "appends_per_s"),
    Scenario("append-split", "the same written as imaplib does (literal and CRLF apart)",
             "appends_per_s"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--imapd", default=os.path.join(ROOT, "build/release/server/imapd"))
    parser.add_argument("--loadgen",
                        default=os.path.join(ROOT, "build/release/tests/bench/imapd-loadgen"))
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--append-messages", type=int, default=200)
    parser.add_argument("--memory-connections", type=int, default=1000)
    parser.add_argument("--search-messages", type=int, default=100000,
                        help="fairness: messages in user A's INBOX for its SEARCH TEXT load "
                             "(Dovecot: at most 20,000; 0: no such load)")
    parser.add_argument("--threads", default="",
                        help="imapd [server] threads values to compare, e.g. 1,2 (default: "
                             "the server's default only)")
    parser.add_argument("--workers", type=int, default=0,
                        help="imapd [server] workers (default: the server's default)")
    parser.add_argument("--only", choices=["imapd", "dovecot"])
    parser.add_argument("--only-scenario", action="append", default=[],
                        help="mixed, mixed-login, append, append-split, fairness, memory")
    parser.add_argument("--password", default="pw")
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    global WORKERS
    WORKERS = args.workers

    users = ["bench%02d" % i for i in range(max(args.clients, 2))]
    wanted = set(args.only_scenario) or {s.name for s in SCENARIOS} | {"fairness", "memory"}
    thread_counts = [int(t) for t in args.threads.split(",") if t] or [None]
    hashes_holder = {}

    def imapd_factory(threads):
        def make(work):
            server = Imapd(args.imapd, work, users, args.password, threads)
            server.prepare()
            if not hashes_holder:
                hashes_holder.update(server.password_hashes())
            return server
        return make

    def dovecot_factory(work):
        if not hashes_holder:
            imapd_factory(None)(make_work_dir("bench-hash-", args.work_dir))
        server = BenchDovecot(os.path.join(work, "dovecot"), dict(hashes_holder), args.password)
        server.prepare()
        server.fix_ownership()
        return server

    servers = []
    if args.only != "dovecot":
        for threads in thread_counts:
            label = "imapd" if threads is None else "imapd threads=%d" % threads
            servers.append((label, imapd_factory(threads)))
    if args.only != "imapd":
        servers.append(("dovecot", dovecot_factory))

    started = time.strftime("%Y-%m-%d %H:%M")
    header = {
        "date": started,
        "machine": "%s, %d cores, kernel %s" % (platform.machine(), os.cpu_count(),
                                                platform.release()),
        "load_before": loadavg(),
        "imapd": Imapd(args.imapd, "/tmp", [], "").version(),
        "dovecot": dovecot_mod.version() if args.only != "imapd" else "-",
        "command": " ".join(sys.argv),
    }
    table = {}
    for scenario in SCENARIOS:
        if scenario.name not in wanted:
            continue
        for label, factory in servers:
            log("%s: %s" % (label, scenario.name))
            results = measure(factory, scenario, args, users)
            table[(scenario.name, label)] = results

    extra = {}
    for label, factory in servers:
        # A fresh server for each: the wrong-password flood of `fairness`
        # leaves connections waiting out their failed-login delay (up to a
        # minute, reading nothing), which would count against the memory
        # scenario's connection limit and its RSS.
        for kind in ("fairness", "memory"):
            if kind not in wanted:
                continue
            work = make_work_dir("bench-extra-", args.work_dir)
            server = factory(work)
            try:
                server.start(connections=args.memory_connections + 100)
                if kind == "fairness":
                    extra[("fairness", label)] = fairness(server, args, users)
                else:
                    extra[("memory plain", label)] = memory(server, args, users, False)
                    if server.tls_port:
                        extra[("memory TLS", label)] = memory(server, args, users, True)
            finally:
                server.stop()
                if not args.keep:
                    shutil.rmtree(work, ignore_errors=True)

    header["load_after"] = loadavg()
    text = render(header, table, extra, servers)
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n" + text)


def render(header, table, extra, servers):
    labels = [label for label, _ in servers]
    lines = ["## Throughput, fairness and memory (%s)" % header["date"], "",
             "Machine: %s; load average %s before, %s after. imapd %s; %s. "
             "Command: `%s`." % (header["machine"], header["load_before"],
                                 header["load_after"], header["imapd"],
                                 header["dovecot"], header["command"]), ""]
    reference = "dovecot" if "dovecot" in labels else None
    lines.append("| workload | " + " | ".join(labels) +
                 (" | " + " | ".join("%s/Dovecot" % l for l in labels if l != "dovecot")
                  if reference else "") + " |")
    lines.append("| --- " * (1 + len(labels) + (len(labels) - 1 if reference else 0)) + "|")
    for scenario in SCENARIOS:
        row = {}
        for label in labels:
            results = table.get((scenario.name, label))
            if results:
                row[label] = statistics.median(r[scenario.metric] for r in results)
        if not row:
            continue
        cells = []
        for label in labels:
            results = table.get((scenario.name, label), [])
            if label in row:
                p99 = statistics.median(r["p99_us"] for r in results) / 1000.0
                errors = sum(r["errors"] for r in results)
                cells.append("%.0f/s, p99 %.1f ms%s" % (row[label], p99,
                                                       " (%d errors)" % errors if errors else ""))
            else:
                cells.append("-")
        ratios = []
        if reference:
            for label in labels:
                if label == "dovecot":
                    continue
                if label in row and row.get("dovecot"):
                    ratios.append("%.2f" % (row[label] / row["dovecot"]))
                else:
                    ratios.append("-")
        lines.append("| %s | %s |" % (scenario.what, " | ".join(cells + ratios)))
    lines.append("")
    fair = [(k, v) for k, v in extra.items() if k[0] == "fairness"]
    if fair:
        lines.append("Fairness: user B's NOOP round trip (p50 / p99 / max, ms) while user A "
                     "runs a load:")
        lines.append("")
        lines.append("| load of user A | " + " | ".join(label for (_, label), _ in fair) + " |")
        lines.append("| --- " * (1 + len(fair)) + "|")
        loads = list(fair[0][1].keys())
        for load in loads:
            cells = []
            for _, results in fair:
                r = results.get(load)
                cells.append("%.2f / %.2f / %.2f" % (r["p50_us"] / 1000.0, r["p99_us"] / 1000.0,
                                                     r["max_us"] / 1000.0) if r else "-")
            lines.append("| %s | %s |" % (load, " | ".join(cells)))
        lines.append("")
    mem = [(k, v) for k, v in extra.items() if k[0].startswith("memory")]
    if mem:
        lines.append("Memory per logged-in, selected, idle connection (KiB): " +
                     "; ".join("%s %s %.0f" % (label, kind.split()[1], value)
                               for (kind, label), value in mem) + ".")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
