#!/usr/bin/env python3
"""End-to-end tests of NOTIFY (RFC 5465) against the real binary: one
connection watches with NOTIFY (idling, or doing nothing at all between
commands) while another APPENDs, STOREs, EXPUNGEs, CREATEs, RENAMEs,
DELETEs and SUBSCRIBEs, and `imapd deliver` delivers from another process;
and a client that stops reading until its queue overflows (5.8).

Usage: test_notify.py --imapd PATH [unittest args, e.g. a class name]
"""
import os
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve  # noqa: E402
from test_serve import IdleServerTest, login_raw, recv_quiet, recv_until  # noqa: E402

WATCH = (b"n NOTIFY SET (selected (MessageNew (UID) MessageExpunge FlagChange)) "
         b"(personal (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\n")


def read_until_suffix(sock, suffix, timeout=test_serve.WAIT):
    """Everything up to and including `suffix`, read in big chunks and
    searched only at the end (a FETCH of megabytes: recv_until would
    search the whole buffer at every read)."""
    chunks = []
    tail = b""
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while not tail.endswith(suffix):
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %r; last bytes %r" % (suffix, tail[-200:]))
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        if not chunk:
            raise AssertionError("connection closed; last bytes %r" % tail[-200:])
        chunks.append(chunk)
        tail = (tail + chunk)[-4096:]
    return b"".join(chunks)


class NotifyServerTest(IdleServerTest):
    # No poll, no keepalive: every byte the watcher gets is a notification.
    config_text = "[timeouts]\nidle_poll_interval = \"60s\"\nidle_keepalive = \"0s\"\n"

    def logged_in(self, tag=b"l"):
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        self.assertIn(tag + b" OK", login_raw(sock, tag))
        return sock

    def command(self, sock, line, tag):
        sock.sendall(line)
        return recv_until(sock, tag + rb" (OK|NO|BAD)[^\r]*\r\n")

    def deliver(self, mailbox=None):
        args = [test_serve.IMAPD, "deliver", "alice", "--data-dir", self.server.data_dir]
        if mailbox:
            args += ["--mailbox", mailbox]
        result = subprocess.run(args, input=b"Subject: delivered\n\nhello\n",
                                capture_output=True, timeout=test_serve.WAIT)
        self.assertEqual(result.returncode, 0, result.stderr)


class Notify(NotifyServerTest):
    """RFC 5465 3.1, 4, 5.1-5.5: the events of another connection and of
    `imapd deliver`, byte for byte, while idling and between commands."""

    def test_events_while_idling_and_between_commands(self):
        a = self.logged_in(b"l")
        b = self.logged_in(b"m")
        self.command(b, b"c CREATE Work\r\n", b"c")
        self.assertEqual(self.command(a, WATCH, b"n"), b"n OK NOTIFY completed\r\n")
        self.command(a, b"s SELECT INBOX\r\n", b"s")
        self.idle(a)
        # 5.2 in another mailbox.
        self.command(b, b"p APPEND Work {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n", b"p")
        self.assertEqual(recv_until(a, rb"\)\r\n"),
                         b"* STATUS Work (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n")
        # FlagChange is not asked for Work: a flag change says nothing.
        self.command(b, b"t SELECT Work\r\n", b"t")
        self.command(b, b"f STORE 1 +FLAGS (\\Deleted)\r\n", b"f")
        # 5.3: EXPUNGE in another mailbox.
        self.command(b, b"e EXPUNGE\r\n", b"e")
        self.assertEqual(recv_until(a, rb"\)\r\n"),
                         b"* STATUS Work (MESSAGES 0 UIDNEXT 2 UNSEEN 0)\r\n")
        # 5.4, 5.5.
        self.command(b, b"c CREATE Projects\r\n", b"c")
        self.assertEqual(recv_until(a, rb"\r\n"), b'* LIST () "/" Projects\r\n')
        self.command(b, b"r RENAME Projects Done\r\n", b"r")
        self.assertEqual(recv_until(a, rb"\r\n"), b'* LIST () "/" Done ("OLDNAME" (Projects))\r\n')
        self.command(b, b"u SUBSCRIBE Done\r\n", b"u")
        self.assertEqual(recv_until(a, rb"\r\n"), b'* LIST (\\Subscribed) "/" Done\r\n')
        self.command(b, b"d DELETE Done\r\n", b"d")
        self.assertEqual(recv_until(a, rb"\r\n"), b'* LIST (\\NonExistent) "/" Done\r\n')
        # 5.2 in the selected mailbox, from another process: EXISTS and the
        # FETCH asked for, as the delivery's commit lands.
        self.deliver()
        self.assertEqual(recv_until(a, rb"FETCH \(UID 1\)\r\n", timeout=3),
                         b"* 1 EXISTS\r\n* 1 RECENT\r\n* 1 FETCH (UID 1)\r\n")
        # 5.1 in the selected mailbox: FETCH FLAGS.
        self.command(b, b"i SELECT INBOX\r\n", b"i")
        self.command(b, b"f STORE 1 +FLAGS (\\Flagged)\r\n", b"f")
        self.assertEqual(recv_until(a, rb"\)\)\r\n"),
                         b"* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n")
        a.sendall(b"DONE\r\n")
        self.assertEqual(recv_until(a, rb"i OK[^\r]*\r\n"), b"i OK IDLE completed\r\n")
        # 3.1: no IDLE, no command: the client listens all the time.
        self.command(b, b"p APPEND Work {20+}\r\nSubject: y\r\n\r\nbody\r\n\r\n", b"p")
        self.assertEqual(recv_until(a, rb"\)\r\n"),
                         b"* STATUS Work (MESSAGES 1 UIDNEXT 3 UNSEEN 1)\r\n")
        self.deliver("Work")
        self.assertEqual(recv_until(a, rb"\)\r\n", timeout=3),
                         b"* STATUS Work (MESSAGES 2 UIDNEXT 4 UNSEEN 2)\r\n")
        # 5.3 in the selected mailbox, SELECTED: at once.
        self.command(b, b"f STORE 1 +FLAGS.SILENT (\\Deleted)\r\n", b"f")
        recv_until(a, rb"\)\)\r\n")
        self.command(b, b"e EXPUNGE\r\n", b"e")
        self.assertEqual(recv_until(a, rb"RECENT\r\n"), b"* 1 EXPUNGE\r\n* 0 RECENT\r\n")
        # The own changes: nothing but the command's answer.
        self.assertRegex(self.command(a, b"c CREATE Mine\r\n", b"c"), rb"^c OK [^\r]*\r\n$")
        self.assertEqual(self.command(a, b"x NOTIFY NONE\r\n", b"x"), b"x OK NOTIFY completed\r\n")
        self.command(b, b"c CREATE Quiet\r\n", b"c")
        self.assertEqual(recv_quiet(a, 0.3), b"")


class NotifyOverflow(NotifyServerTest):
    """RFC 5465 5.8, hostile: a watcher that stops reading while another
    connection makes a thousand and one changes gets its queue dropped
    (limits::kMaxQueuedNotifications) and `* OK [NOTIFICATIONOVERFLOW]`,
    then nothing more; the server answers a fresh client meanwhile."""

    def setUp(self):
        # In memory: a thousand commits without a thousand fsyncs.
        test_serve.ServerTest.setUp(self)

    def test_overflow(self):
        started = time.monotonic()
        a = self.logged_in(b"l")
        # A small window, so that a FETCH of a few megabytes stalls.
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        b = self.logged_in(b"m")
        self.assertEqual(self.command(a, b"n NOTIFY SET (personal (SubscriptionChange))\r\n", b"n"),
                         b"n OK NOTIFY completed\r\n")
        # A message big enough that a FETCH of it fills every buffer on
        # the way while a does not read.
        body = b"Subject: big\r\n\r\n" + b"x" * (4 * 1024 * 1024) + b"\r\n"
        self.command(a, b"p APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n", b"p")
        self.command(a, b"s SELECT INBOX\r\n", b"s")
        a.sendall(b"f FETCH 1 BODY.PEEK[]\r\n")
        time.sleep(0.2)
        # 1,002 changes, each an event of its own (LIST events do not coalesce).
        b.sendall(b"".join(b"u%d SUBSCRIBE INBOX\r\nv%d UNSUBSCRIBE INBOX\r\n" % (i, i)
                           for i in range(501)))
        recv_until(b, rb"v500 OK[^\r]*\r\n")
        # A fresh client is served meanwhile.
        c = self.logged_in(b"k")
        self.assertEqual(self.command(c, b"z NOOP\r\n", b"z"), b"z OK NOOP completed\r\n")
        data = read_until_suffix(a, b"f OK FETCH completed\r\n")
        self.assertNotIn(b"* LIST", data)
        self.assertTrue(data.endswith(
            b"* OK [NOTIFICATIONOVERFLOW] Too many notifications queued, NOTIFY is now off\r\n"
            b"f OK FETCH completed\r\n"), data[-300:])
        # As after NOTIFY NONE.
        self.command(b, b"v SUBSCRIBE after\r\n", b"v")
        self.assertEqual(recv_quiet(a, 0.3), b"")
        self.assertEqual(self.command(a, b"y NOOP\r\n", b"y"), b"y OK NOOP completed\r\n")
        self.assertLess(time.monotonic() - started, 2 * (3 if os.environ.get("IMAPD_SANITIZED") else 1))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + test_serve.take_imapd_argument("test_notify.py"))
