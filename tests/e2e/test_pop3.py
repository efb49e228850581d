#!/usr/bin/env python3
"""End-to-end tests of POP3 (RFC 1939, RFC 2449, RFC 2595, RFC 8314;
docs/pop3.md) against the real binary with Python's poplib and raw sockets,
checked against what IMAP (imaplib) sees of the same mail.

Usage: test_pop3.py --imapd PATH [unittest args, e.g. a class name]
"""
import base64
import imaplib
import os
import poplib
import re
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve  # noqa: E402
from test_serve import WAIT, client_tls_context, recv_until  # noqa: E402

IMAPD = os.environ.get("IMAPD", "")
SANITIZED = os.environ.get("IMAPD_SANITIZED") == "1"
HOSTILE_BOUND = 2 * (5 if SANITIZED else 1)

MESSAGES = [
    b"From: bob@example.org\r\nSubject: one\r\n\r\nHello\r\n.starts with a dot\r\n",
    b"From: bob@example.org\r\nSubject: two\r\n\r\nline 1\r\nline 2\r\nline 3\r\n",
    b"From: bob@example.org\r\nSubject: three\r\n\r\n" + b"x" * 998 + b"\r\n" +
    b"".join(b".%05d %s\r\n" % (i, b"y" * 70) for i in range(4000)) + b".\r\n..\r\n",
]


def uidl(uid, uidvalidity):
    """docs/pop3.md: UID and UIDVALIDITY, 8 lower-case hex digits each."""
    return b"%08x%08x" % (uid, uidvalidity)


class Pop3Test(unittest.TestCase):
    threads = "2"

    def setUp(self):
        self.server = test_serve.ImapdServer(
            extra_args=["--listen-pop3", "127.0.0.1:0", "--listen-pop3s", "127.0.0.1:0",
                        "--threads", self.threads])

    def tearDown(self):
        self.server.stop()

    def imap(self):
        conn = imaplib.IMAP4("127.0.0.1", self.server.ports["imap"], timeout=WAIT)
        conn.login("alice", "secret")
        return conn

    def seed(self, messages=MESSAGES, mailbox="INBOX"):
        conn = self.imap()
        for m in messages:
            typ, _ = conn.append(mailbox, "", None, m)
            self.assertEqual(typ, "OK")
        conn.logout()

    def uidvalidity(self):
        conn = self.imap()
        typ, data = conn.status("INBOX", "(UIDVALIDITY)")
        conn.logout()
        return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))

    def imap_uids(self):
        conn = self.imap()
        conn.select("INBOX", readonly=True)
        typ, data = conn.uid("SEARCH", "ALL")
        conn.logout()
        return [int(x) for x in data[0].split()]

    def pop(self, user="alice", password="secret"):
        client = poplib.POP3("127.0.0.1", self.server.ports["pop3"], timeout=WAIT)
        client.user(user)
        client.pass_(password)
        return client

    def raw(self):
        sock = socket.create_connection(("127.0.0.1", self.server.ports["pop3"]), timeout=WAIT)
        greeting = recv_until(sock, rb"\r\n")
        self.assertEqual(greeting, b"+OK imapd POP3 ready\r\n")
        return sock


class Retrieve(Pop3Test):
    """USER/PASS, STAT, LIST, RETR and TOP give exactly the stored bytes
    (RFC 1939 7, dot-stuffing undone by poplib) and the sizes IMAP reports."""

    def test_retr_is_imap_body(self):
        self.seed()
        client = self.pop()
        total = sum(len(m) for m in MESSAGES)
        self.assertEqual(client.stat(), (3, total))
        _, listing, _ = client.list()
        self.assertEqual(listing, [b"%d %d" % (i + 1, len(m)) for i, m in enumerate(MESSAGES)])
        conn = self.imap()
        conn.select("INBOX", readonly=True)
        for i, m in enumerate(MESSAGES):
            _, lines, octets = client.retr(i + 1)
            # poplib undoes the byte-stuffing and splits at CRLF.
            self.assertEqual(b"\r\n".join(lines) + b"\r\n", m)
            typ, data = conn.fetch(str(i + 1), "(BODY.PEEK[] RFC822.SIZE)")
            self.assertEqual(data[0][1], m)
            self.assertIn(b"RFC822.SIZE %d" % len(m), data[0][0])
        conn.logout()
        _, lines, _ = client.top(2, 1)
        self.assertEqual(lines, [b"From: bob@example.org", b"Subject: two", b"", b"line 1"])
        client.quit()

    def test_raw_dot_stuffing(self):
        """RFC 1939 3: the server stuffs every line that begins with "."."""
        self.seed([MESSAGES[0]])
        sock = self.raw()
        sock.sendall(b"USER alice\r\nPASS secret\r\nRETR 1\r\n")
        data = recv_until(sock, rb"\r\n\.\r\n")
        self.assertEqual(data, b"+OK Send your password\r\n+OK Logged in\r\n+OK %d octets\r\n"
                         b"From: bob@example.org\r\nSubject: one\r\n\r\nHello\r\n"
                         b"..starts with a dot\r\n.\r\n" % len(MESSAGES[0]))
        sock.sendall(b"QUIT\r\n")
        self.assertEqual(recv_until(sock, rb"\r\n"), b"+OK Logging out, 0 messages deleted\r\n")
        sock.close()

    def test_auth_plain(self):
        """RFC 5034: AUTH PLAIN with an initial response, SASL in CAPA."""
        self.seed([MESSAGES[1]])
        client = poplib.POP3("127.0.0.1", self.server.ports["pop3"], timeout=WAIT)
        self.assertIn("PLAIN", client.capa()["SASL"])
        self.assertEqual(client._shortcmd("AUTH PLAIN " + base64.b64encode(
            b"\0alice\0secret").decode()), b"+OK Logged in")
        self.assertEqual(client.stat(), (1, len(MESSAGES[1])))
        client.quit()

    def test_retr_sets_seen(self):
        """RETR marks the message \\Seen at QUIT (docs/pop3.md, as Dovecot); TOP does not."""
        self.seed()
        client = self.pop()
        client.retr(1)
        client.top(2, 0)
        client.quit()
        conn = self.imap()
        conn.select("INBOX", readonly=True)
        typ, data = conn.fetch("1:3", "(FLAGS)")
        conn.logout()
        self.assertIn(b"\\Seen", data[0])
        self.assertNotIn(b"\\Seen", data[1])
        self.assertNotIn(b"\\Seen", data[2])


class Tls(Pop3Test):
    """RFC 2595 STLS on the plain port and RFC 8314 implicit TLS on pop3s."""

    def test_stls(self):
        self.seed([MESSAGES[1]])
        client = poplib.POP3("127.0.0.1", self.server.ports["pop3"], timeout=WAIT)
        self.assertIn("STLS", client.capa())
        client.stls(context=client_tls_context())
        self.assertNotIn("STLS", client.capa())  # RFC 2595 4: only before TLS
        client.user("alice")
        client.pass_("secret")
        self.assertEqual(client.stat(), (1, len(MESSAGES[1])))
        client.quit()

    def test_pop3s(self):
        self.seed([MESSAGES[1]])
        client = poplib.POP3_SSL("127.0.0.1", self.server.ports["pop3s"], timeout=WAIT,
                                 context=client_tls_context())
        self.assertEqual(client.getwelcome(), b"+OK imapd POP3 ready")
        self.assertNotIn("STLS", client.capa())
        client.user("alice")
        client.pass_("secret")
        _, lines, _ = client.retr(1)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", MESSAGES[1])
        client.quit()

    def test_scram_plus_over_pop3s(self):
        """RFC 5034 AUTH with SCRAM-SHA-256-PLUS (RFC 7677, RFC 5802 6),
        bound to TLS 1.2 by tls-server-end-point (RFC 5929 4): the POP3
        transport hands its channel binding to the session as IMAP's does."""
        import ssl
        import test_scram
        ctx = client_tls_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        sock = ctx.wrap_socket(socket.create_connection(
            ("127.0.0.1", self.server.ports["pop3s"]), timeout=WAIT))
        recv_until(sock, rb"\r\n")
        sock.sendall(b"CAPA\r\n")
        capa = recv_until(sock, rb"\r\n\.\r\n")
        self.assertRegex(capa, rb"\r\nSASL [^\r]*SCRAM-SHA-256-PLUS ")
        client = test_scram.ScramClient(sock, "SCRAM-SHA-256-PLUS", "sha256", command="AUTH",
                                        final=rb"[+-](OK|ERR)[^\r\n]*\r\n")
        _, answer = client.authenticate(
            "alice", "secret", gs2_header="p=tls-server-end-point,,",
            cbind_data=test_scram.tls_server_end_point(sock))
        self.assertTrue(answer.startswith(b"+OK"), answer)
        sock.sendall(b"STAT\r\n")
        self.assertRegex(recv_until(sock, rb"\r\n"), rb"^\+OK \d+ \d+\r\n$")
        sock.close()

    def test_stls_drops_pipelined_commands(self):
        """RFC 2595 4: what follows STLS before the handshake is not a command."""
        sock = self.raw()
        sock.sendall(b"STLS\r\nCAPA\r\n")
        self.assertEqual(recv_until(sock, rb"\r\n"), b"+OK Begin TLS negotiation now\r\n")
        tls = client_tls_context().wrap_socket(sock, server_hostname="localhost")
        tls.sendall(b"NOOP\r\n")
        self.assertEqual(recv_until(tls, rb"\r\n"), b"-ERR Not logged in\r\n")
        tls.close()


class Uidl(Pop3Test):
    """RFC 1939 7 UIDL: the same across sessions and across an IMAP RENAME
    of another folder (docs/pop3.md: UID and UIDVALIDITY)."""

    def test_stable(self):
        self.seed()
        validity = self.uidvalidity()
        client = self.pop()
        _, first, _ = client.uidl()
        client.quit()
        self.assertEqual(first, [b"%d %s" % (i + 1, uidl(uid, validity))
                                 for i, uid in enumerate(self.imap_uids())])
        conn = self.imap()
        self.assertEqual(conn.create("Projects")[0], "OK")
        self.assertEqual(conn.rename("Projects", "Projects2026")[0], "OK")
        conn.logout()
        client = self.pop()
        client.dele(1)
        client.quit()
        client = self.pop()
        _, after, _ = client.uidl()
        client.quit()
        # Message 1 is gone; the others keep their UIDL under new numbers.
        self.assertEqual([line.split()[1] for line in after],
                         [line.split()[1] for line in first[1:]])


class Deletion(Pop3Test):
    """RFC 1939 6: DELE takes effect at QUIT only, in one commit; RSET and a
    dropped connection delete nothing; an IMAP IDLE session sees EXPUNGE."""

    def test_dele_rset(self):
        self.seed()
        client = self.pop()
        client.dele(1)
        client.dele(2)
        self.assertEqual(client.stat()[0], 1)
        client.rset()
        self.assertEqual(client.stat()[0], 3)
        client.quit()
        self.assertEqual(len(self.imap_uids()), 3)

    def test_drop_without_quit_deletes_nothing(self):
        self.seed()
        sock = self.raw()
        sock.sendall(b"USER alice\r\nPASS secret\r\nDELE 1\r\nDELE 2\r\n")
        recv_until(sock, rb"Message 2 deleted\r\n")
        sock.close()
        # The lock goes with the connection: a new session logs in.
        deadline = time.monotonic() + WAIT
        while True:
            try:
                client = self.pop()
                break
            except poplib.error_proto as error:
                self.assertIn(b"[IN-USE]", error.args[0])
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
        self.assertEqual(client.stat()[0], 3)
        client.quit()

    def test_idle_sees_expunge(self):
        self.seed()
        conn = self.imap()
        conn.select("INBOX")
        tag = conn._new_tag()
        conn.send(tag + b" IDLE\r\n")
        self.assertTrue(conn.readline().startswith(b"+"))
        client = self.pop()
        client.dele(2)
        self.assertEqual(client.quit(), b"+OK Logging out, 1 messages deleted")
        conn.sock.settimeout(WAIT)
        self.assertEqual(conn.readline(), b"* 2 EXPUNGE\r\n")
        conn.send(b"DONE\r\n")
        conn.logout()
        self.assertEqual(len(self.imap_uids()), 2)

    def test_second_session_in_use(self):
        """RFC 1939 8, RFC 2449 8.1.1: -ERR [IN-USE]; IMAP stays allowed."""
        self.seed()
        first = self.pop()
        with self.assertRaises(poplib.error_proto) as refused:
            self.pop()
        self.assertEqual(refused.exception.args[0],
                         b"-ERR [IN-USE] Mailbox is locked by another POP3 session")
        conn = self.imap()
        self.assertEqual(conn.select("INBOX")[0], "OK")
        conn.logout()
        first.quit()
        self.pop().quit()

    def test_expunged_by_imap_during_session(self):
        """The message list is the login's: a message IMAP expunged later is
        -ERR on RETR, the others keep their numbers (docs/pop3.md)."""
        self.seed()
        client = self.pop()
        conn = self.imap()
        conn.select("INBOX")
        conn.store("1", "+FLAGS", "\\Deleted")
        conn.expunge()
        conn.logout()
        self.assertEqual(client.stat()[0], 3)
        with self.assertRaises(poplib.error_proto) as refused:
            client.retr(1)
        self.assertEqual(refused.exception.args[0],
                         b"-ERR Message was removed by another session")
        _, lines, _ = client.retr(2)
        self.assertEqual(b"\r\n".join(lines) + b"\r\n", MESSAGES[1])
        client.quit()


class Kick(Pop3Test):
    """`imapd who` lists POP3 connections and `imapd kick` ends them without
    entering UPDATE (RFC 1939 6: only QUIT commits the DELEs)."""

    def setUp(self):
        import shutil
        import subprocess
        import tempfile
        self.subprocess = subprocess
        socket_dir = tempfile.mkdtemp(prefix="imapd-pop3-control-")
        self.addCleanup(shutil.rmtree, socket_dir, True)
        self.server = test_serve.ImapdServer(
            extra_args=["--listen-pop3", "127.0.0.1:0", "--threads", self.threads],
            config_text='[server]\ncontrol_socket = "%s/control.sock"\n' % socket_dir)
        test_serve.wait_for_log(self.server, "protocol=control")
        self.config = os.path.join(self.server.tmp.name, "imapd.conf")

    def cli(self, *args):
        return self.subprocess.run([IMAPD] + list(args) + ["--config", self.config],
                                   capture_output=True, text=True, timeout=WAIT)

    def test_who_and_kick(self):
        self.seed([MESSAGES[1]])
        client = self.pop()
        client.dele(1)
        import json
        who = json.loads(self.cli("who", "--json").stdout)["connections"]
        self.assertEqual([(c["user"], c["listener"]) for c in who], [("alice", "pop3")])
        done = self.cli("kick", "alice")
        self.assertEqual(done.stdout, "imapd: ended 1 connection of alice\n", done.stderr)
        with self.assertRaises(poplib.error_proto) as caught:
            client.noop()
        self.assertIn(b"Disconnected by the administrator", str(caught.exception).encode())
        client.close()
        # The DELE was not applied, and the maildrop lock is free again.
        again = self.pop()
        self.assertEqual(again.stat()[0], 1)
        again.quit()


class Hostile(Pop3Test):
    """Bounded hostile input: long lines, a pipelined flood, TOP with huge
    numbers; each under HOSTILE_BOUND seconds, and a fresh client is served
    afterwards with RSS grown less than 64 MB."""

    def rss_kb(self):
        with open("/proc/%d/status" % self.server.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def check_alive(self, rss_before):
        client = self.pop()
        self.assertEqual(client.stat()[0], 3)
        client.quit()
        self.assertLess(self.rss_kb() - rss_before, 64 * 1024)

    def test_long_lines(self):
        self.seed()
        rss = self.rss_kb()
        started = time.monotonic()
        sock = self.raw()
        # 8 MB without a line end, then a command: one -ERR, then CAPA.
        chunk = b"A" * 65536
        for _ in range(128):
            sock.sendall(chunk)
        sock.sendall(b"\r\nCAPA\r\n")
        data = recv_until(sock, rb"IMPLEMENTATION imapd\r\n\.\r\n")
        self.assertTrue(data.startswith(b"-ERR Command line too long\r\n+OK Capability"), data[:80])
        sock.close()
        self.assertLess(time.monotonic() - started, HOSTILE_BOUND)
        self.check_alive(rss)

    def test_pipelined_flood(self):
        self.seed()
        rss = self.rss_kb()
        started = time.monotonic()
        sock = self.raw()
        sock.sendall(b"USER alice\r\nPASS secret\r\n")
        recv_until(sock, rb"Logged in\r\n")
        count = 50000
        sender = threading.Thread(target=lambda: sock.sendall(b"LIST 1\r\n" * count))
        sender.start()
        received = 0
        expected = len(b"+OK 1 %d\r\n" % len(MESSAGES[0])) * count
        while received < expected:
            sock.settimeout(WAIT)
            data = sock.recv(1 << 16)
            self.assertTrue(data)
            received += len(data)
        sender.join()
        self.assertEqual(received, expected)
        sock.sendall(b"QUIT\r\n")
        recv_until(sock, rb"Logging out")
        sock.close()
        self.assertLess(time.monotonic() - started, HOSTILE_BOUND)
        self.check_alive(rss)

    def test_top_huge_numbers(self):
        self.seed()
        rss = self.rss_kb()
        started = time.monotonic()
        sock = self.raw()
        sock.sendall(b"USER alice\r\nPASS secret\r\nTOP 1 18446744073709551615\r\n"
                     b"TOP 18446744073709551615 1\r\nTOP 1 99999999999999999999999\r\n"
                     b"TOP 4294967297 0\r\nNOOP\r\n")
        data = recv_until(sock, rb"\+OK\r\n$")
        self.assertIn(b"\r\n..starts with a dot\r\n.\r\n-ERR No such message\r\n"
                      b"-ERR Invalid line count\r\n-ERR No such message\r\n+OK\r\n", data)
        sock.sendall(b"QUIT\r\n")
        recv_until(sock, rb"Logging out")
        sock.close()
        self.assertLess(time.monotonic() - started, HOSTILE_BOUND)
        self.check_alive(rss)


class OneThread(Deletion):
    """The deletion tests with threads = 1 (everything on one loop)."""
    threads = "1"


if __name__ == "__main__":
    if "--imapd" in sys.argv:
        i = sys.argv.index("--imapd")
        IMAPD = test_serve.IMAPD = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    if not IMAPD:
        sys.exit("usage: test_pop3.py --imapd PATH [unittest args]")
    unittest.main()
