#!/usr/bin/env python3
"""LMTP delivery rate: imapd against Dovecot's LMTP in one run.

Standard library only. Both servers get the same USERS users, a TCP LMTP
listener on 127.0.0.1 and fsync on (imapd: each 250 after group commit made
the message durable, docs/lmtp.md; Dovecot 2.3: its default
mail_fsync=optimized, a saved mail fsynced before the reply). CONNECTIONS
client threads, each with one LMTP connection (Python's smtplib.LMTP),
deliver MESSAGES messages of SIZE bytes in all, one recipient each, the
recipients taking turns; the clock runs from the first MAIL to the last
250. Every message is then counted in the servers' stores: a run with a
missing message is marked. Nothing is asserted: this is a benchmark.

--kill-after SECONDS adds a crash run: imapd is killed with SIGKILL that
long into a delivery, restarted on its data, and every message that got its
250 is looked for by Message-ID (docs/lmtp.md: each 250 is sent only once
the message is durable, so none may be missing; a message stored without
its 250 is allowed, the MTA delivers it again).

Python's client is part of what is measured on both sides (on two cores it
is a third of the CPU): the ratio is conservative for the faster server.

Usage:
  cmake --build build/release --target imapd
  tests/bench/bench_lmtp.py --imapd build/release/server/imapd       # ~1 min
  tests/bench/bench_lmtp.py --kill-after 0.5 --repeat 1     # and a crash run
"""
import argparse
import os
import platform
import re
import shutil
import smtplib
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot as dovecot_mod  # noqa: E402

PASSWORD = "benchpass"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def message(n, size):
    head = ("From: sender@example.org\r\nTo: user@example.org\r\nSubject: lmtp %d\r\n"
            "Message-ID: <lmtp-%d@bench>\r\n\r\n" % (n, n))
    body = ("line %d of the benchmark message body, some words to index\r\n" % n) * \
        max(1, (size - len(head)) // 60)
    return (head + body).encode()


def deliver(port, users, connections, messages, size):
    """msgs/s and the number of 250s, delivering `messages` over
    `connections` LMTP connections to `users` in turn."""
    per_connection = messages // connections
    done = [0] * connections
    acked = set()  # message numbers that got their 250
    errors = []
    start = threading.Barrier(connections + 1)

    def run(index):
        try:
            client = smtplib.LMTP("127.0.0.1", port, timeout=60)
            client.ehlo_or_helo_if_needed()
            start.wait()
            for i in range(per_connection):
                n = index * per_connection + i
                rcpt = "%s@example.org" % users[n % len(users)]
                refused = client.sendmail("sender@example.org", [rcpt], message(n, size))
                if refused:
                    errors.append(refused)
                else:
                    done[index] += 1
                    acked.add(n)
            client.quit()
        except Exception as error:  # counted, reported
            errors.append(repr(error))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    start.wait()
    began = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    deliver.acked = acked
    return sum(done) / elapsed, sum(done), errors


class Imapd:
    name = "imapd"

    def __init__(self, binary, work, users, threads):
        self.binary, self.users = binary, users
        self.dir = os.path.join(work, "imapd")
        os.makedirs(self.dir)
        self.data = os.path.join(self.dir, "data")
        for user in users:
            subprocess.run([binary, "user", "add", user, "--password-stdin", "--data-dir",
                            self.data], input=PASSWORD + "\n", text=True, check=True,
                           stdout=subprocess.DEVNULL)
        self.port = free_port()
        config = os.path.join(self.dir, "imapd.toml")
        with open(config, "w") as f:
            f.write('[server]\ndata_dir = "%s"\n' % self.data)
            if threads:
                f.write("threads = %d\n" % threads)
            f.write('[listen]\nimap = ["127.0.0.1:0"]\nlmtp = ["127.0.0.1:%d"]\n'
                    '[log]\nlevel = "warning"\n' % self.port)
        self.proc = subprocess.Popen([binary, "serve", "--config", config],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while b"listening lmtp" not in self.proc.stdout.readline():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("imapd did not start its LMTP listener")

    def stored(self):
        total = 0
        for name in os.listdir(os.path.join(self.data, "users")):
            if name.endswith(".db"):
                db = sqlite3.connect(os.path.join(self.data, "users", name))
                total += db.execute("SELECT count(*) FROM messages").fetchone()[0]
                db.close()
        return total

    def stored_numbers(self):
        """The message numbers (from the Message-IDs) in every user's store."""
        numbers = set()
        for name in os.listdir(os.path.join(self.data, "users")):
            if name.endswith(".db"):
                db = sqlite3.connect(os.path.join(self.data, "users", name))
                # The stored Message-ID (body_sort; the bytes themselves are
                # compressed since schema v7, docs/storage.md).
                for (message_id,) in db.execute("SELECT s.message_id FROM messages m JOIN "
                                                "body_sort s ON s.body_id = m.body_id"):
                    found = re.search(r"lmtp-(\d+)@bench", message_id)
                    if found:
                        numbers.add(int(found.group(1)))
                db.close()
        return numbers

    def kill(self):
        self.proc.kill()
        self.proc.wait(15)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)


def crash_run(binary, users, args):
    """Kills imapd args.kill_after seconds into a delivery; returns (acked,
    stored, missing): 250s the clients got, of those how many are stored
    after a restart, and the acked message numbers not stored."""
    work = tempfile.mkdtemp(prefix="imapd-bench-lmtp-kill-")
    try:
        server = Imapd(binary, work, users, args.threads)
        killer = threading.Timer(args.kill_after, server.kill)
        killer.start()
        deliver(server.port, users, args.connections, args.messages, args.size)
        killer.join()
        acked = deliver.acked
        # The restart recovers the write-ahead logs as a client's next
        # login would; then the stores are read directly.
        server.proc = subprocess.Popen([binary, "serve", "--config",
                                        os.path.join(server.dir, "imapd.toml")],
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        while b"listening lmtp" not in server.proc.stdout.readline():
            if server.proc.poll() is not None:
                raise RuntimeError("imapd did not restart")
        server.stop()
        stored = server.stored_numbers()
        return len(acked), len(acked & stored), sorted(acked - stored)
    finally:
        shutil.rmtree(work, ignore_errors=True)


class DovecotLmtp(dovecot_mod.Dovecot):
    """Dovecot with an LMTP listener and every user known to its userdb."""
    name = "dovecot"

    def __init__(self, root, users):
        self.users = users
        super().__init__(root, user=users[0], password=PASSWORD)
        self.lmtp_port = free_port()

    def prepare(self):
        super().prepare()
        with open(self.conf) as f:
            conf = f.read()
        conf = conf.replace("protocols = imap", "protocols = imap lmtp")
        conf = conf.replace("home=%s/home/%%u" % self.root,
                            "home=%s/home/%%u allow_all_users=yes" % self.root)
        conf += "\n".join([
            # RCPT TO:<u0@example.org> is the user u0, as for imapd.
            "auth_username_format = %Ln",
            "postmaster_address = postmaster@example.org",
            "service lmtp {",
            "  inet_listener lmtp {",
            "    address = 127.0.0.1",
            "    port = %d" % self.lmtp_port,
            "  }",
            "}",
            ""])
        with open(self.conf, "w") as f:
            f.write(conf)
        for user in self.users:
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(self.root, "home", user, "Maildir", sub),
                            exist_ok=True)

    def fix_ownership(self):
        if not self.as_root:
            return
        for user in self.users:
            for dirpath, _, _ in os.walk(os.path.join(self.root, "home", user)):
                os.chown(dirpath, self.uid, self.gid)

    def stored(self):
        total = 0
        for user in self.users:
            for sub in ("cur", "new"):
                total += len(os.listdir(os.path.join(self.root, "home", user, "Maildir", sub)))
        return total


def ensure_dovecot_lmtp():
    if os.path.exists("/usr/lib/dovecot/lmtp"):
        return
    if os.geteuid() != 0:
        raise RuntimeError("Dovecot's LMTP is not installed: apt-get install dovecot-lmtpd")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-qq", "dovecot-lmtpd"], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--imapd", default="build/release/server/imapd")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--size", type=int, default=3072)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="imapd [server] threads")
    parser.add_argument("--kill-after", type=float, default=0,
                        help="also kill -9 imapd this many seconds into a delivery")
    args = parser.parse_args()
    ensure_dovecot_lmtp()
    users = ["u%d" % i for i in range(args.users)]
    load = os.getloadavg()
    results = {"imapd": [], "dovecot": []}
    lost = {"imapd": 0, "dovecot": 0}
    for run in range(args.repeat):
        for kind in ("imapd", "dovecot"):
            work = tempfile.mkdtemp(prefix="imapd-bench-lmtp-")
            try:
                if kind == "imapd":
                    server = Imapd(os.path.abspath(args.imapd), work, users, args.threads)
                    port = server.port
                else:
                    server = DovecotLmtp(os.path.join(work, "dovecot"), users)
                    server.prepare()
                    server.fix_ownership()
                    server.start()
                    port = server.lmtp_port
                rate, delivered, errors = deliver(port, users, args.connections, args.messages,
                                                  args.size)
                stored = server.stored()
                server.stop()
                lost[kind] += delivered - stored if stored < delivered else 0
                results[kind].append(rate)
                print("  %s run %d: %.0f msgs/s, %d delivered, %d stored, %d errors%s" %
                      (kind, run + 1, rate, delivered, stored, len(errors),
                       (": " + str(errors[:2])) if errors else ""), flush=True)
            finally:
                shutil.rmtree(work, ignore_errors=True)
    imapd, dovecot = (statistics.median(results[k]) for k in ("imapd", "dovecot"))
    ratio = imapd / dovecot if dovecot else float("inf")
    print()
    print("## LMTP delivery (%s)" % time.strftime("%Y-%m-%d %H:%M"))
    print()
    print("Machine: %s, %d cores; load average %.2f %.2f %.2f before, %.2f %.2f %.2f after. "
          "Dovecot %s. Command: `%s`." %
          (platform.machine(), os.cpu_count(), *load, *os.getloadavg(), dovecot_mod.version(),
           " ".join(["tests/bench/bench_lmtp.py"] + sys.argv[1:])))
    print()
    print("| workload | imapd | Dovecot | imapd/Dovecot |")
    print("| --- | ---: | ---: | ---: |")
    print("| %d x %d B over %d LMTP connections to %d users (median of %d)%s | %.0f msgs/s | "
          "%.0f msgs/s | %.2f |" %
          (args.messages, args.size, args.connections, args.users, args.repeat,
           "" if not any(lost.values()) else " (LOST: %s)" % lost, imapd, dovecot,
           ratio))
    if args.kill_after:
        acked, kept, missing = crash_run(os.path.abspath(args.imapd), users, args)
        print()
        print("kill -9 of imapd %.1f s into delivering %d messages: %d got their 250, "
              "%d of those stored after the restart, %d lost%s." %
              (args.kill_after, args.messages, acked, kept, len(missing),
               (" (" + ", ".join(map(str, missing[:10])) + ")") if missing else ""))


if __name__ == "__main__":
    main()
