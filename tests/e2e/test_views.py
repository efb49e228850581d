#!/usr/bin/env python3
"""Session views against the real binary: two connections on one mailbox,
one expunging what the other still shows (RFC 2180 4, RFC 5530
EXPUNGEISSUED, RFC 3501 7.4.1), byte for byte where the protocol fixes the
bytes.

Usage: test_views.py --imapd PATH [unittest args, e.g. a class name]
"""
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve  # noqa: E402
from test_serve import ServerTest, login_raw, recv_until  # noqa: E402

ISSUED = b" OK [EXPUNGEISSUED] Some messages were already expunged\r\n"
GONE = b" NO [EXPUNGEISSUED] Some of the requested messages no longer exist\r\n"


def big_message(size):
    """A multipart message of about `size` bytes whose bulk is a base64
    attachment (not text, so the search index stays small)."""
    head = (b"From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\n"
            b"Content-Type: text/plain\r\n\r\nsee attachment\r\n--xx\r\n"
            b"Content-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n")
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    lines = []
    total = len(head)
    i = 0
    while total < size:
        # No two lines alike, so nothing in the stream can hide a shift.
        line = (alphabet[i % 64:] + alphabet[:i % 64] + b"%012d" % i)[:76] + b"\r\n"
        lines.append(line)
        total += len(line)
        i += 1
    return head + b"".join(lines) + b"--xx--\r\n"


class ViewsTest(ServerTest):
    def session(self, tag=b"l"):
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        self.assertIn(tag + b" OK", login_raw(sock, tag))
        return sock

    def command(self, sock, tag, line):
        """Sends `tag line` and returns everything up to its tagged answer."""
        sock.sendall(tag + b" " + line + b"\r\n")
        return recv_until(sock, rb"(^|\r\n)" + re.escape(tag) + rb" (OK|NO|BAD)[^\r]*\r\n",
                          timeout=30)

    def append(self, sock, tag, message):
        sock.sendall(tag + b" APPEND INBOX {%d+}\r\n" % len(message) + message + b"\r\n")
        self.assertIn(tag + b" OK [APPENDUID",
                      recv_until(sock, re.escape(tag) + rb" (OK|NO|BAD)[^\r]*\r\n", timeout=60))

    def select(self, sock, tag=b"s"):
        self.assertIn(tag + b" OK [READ-WRITE]", self.command(sock, tag, b"SELECT INBOX"))

    def fresh_client_answers(self):
        c = self.session(b"z")
        self.assertEqual(self.command(c, b"n", b"NOOP"), b"n OK NOOP completed\r\n")


class ExpungedWhileStreaming(ViewsTest):
    """A FETCH of a 16 MB message that the client reads slowly while another
    connection expunges the message: the literal arrives whole, then the
    tagged OK (no BYE, RFC 2180 4.1.1), and the EXPUNGE comes with the next
    NOOP (RFC 3501 7.4.1)."""

    def test_expunged_in_the_middle_of_the_literal(self):
        message = big_message(16 * 1024 * 1024)
        a = self.session(b"l")
        self.append(a, b"p", message)
        self.select(a)
        b = self.session(b"m")
        self.select(b)
        # A small receive buffer keeps the server from handing the kernel
        # more than a few megabytes: the rest waits in the FetchJob.
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        a.sendall(b"f FETCH 1 (BODY.PEEK[])\r\n")
        head = b"* 1 FETCH (BODY[] {%d}\r\n" % len(message)
        data = recv_until(a, re.escape(head))
        while len(data) < 1024 * 1024:
            data += a.recv(65536)
        time.sleep(0.3)  # let the server fill the socket and pause the FETCH
        self.assertEqual(self.command(b, b"x", b"STORE 1 +FLAGS.SILENT (\\Deleted)"),
                         b"x OK STORE completed\r\n")
        self.assertEqual(self.command(b, b"y", b"EXPUNGE"),
                         b"* 1 EXPUNGE\r\ny OK EXPUNGE completed\r\n")
        tail = b")\r\n* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\nf OK FETCH completed\r\n"
        expected = head + message + tail
        while len(data) < len(expected):
            a.settimeout(30)
            chunk = a.recv(1024 * 1024)
            self.assertTrue(chunk, "connection closed after %d of %d bytes" %
                            (len(data), len(expected)))
            data += chunk
        self.assertEqual(len(data), len(expected))
        self.assertTrue(data == expected, "the stream differs from the message")
        self.assertEqual(self.command(a, b"n", b"NOOP"),
                         b"* 1 EXPUNGE\r\n* 0 RECENT\r\nn OK NOOP completed\r\n")
        self.fresh_client_answers()


class ExpungedByAnotherSession(ViewsTest):
    """The two-session conversation compared with Dovecot 2.3: FETCH, STORE,
    COPY, SEARCH of messages another session expunged, then the EXPUNGEs
    and the new \\Recent count."""

    def test_conversation(self):
        a = self.session(b"l")
        self.assertIn(b"c OK", self.command(a, b"c", b"CREATE dest"))
        for i in range(5):
            msg = b"Subject: m%d\r\n\r\nbody %d\r\n" % (i, i)
            self.append(a, b"p%d" % i, msg)
        self.select(a)
        b = self.session(b"m")
        self.select(b)
        self.assertEqual(self.command(a, b"t1", b"STORE 1 +FLAGS (\\Seen)"),
                         b"* 1 FETCH (FLAGS (\\Seen \\Recent))\r\nt1 OK STORE completed\r\n")
        self.assertIn(b"x OK", self.command(b, b"x", b"STORE 1:2 +FLAGS.SILENT (\\Deleted)"))
        self.assertIn(b"y OK", self.command(b, b"y", b"EXPUNGE"))
        body = b"Subject: m0\r\n\r\nbody 0\r\n"
        self.assertEqual(self.command(a, b"t2", b"FETCH 1 (FLAGS BODY[])"),
                         b"* 1 FETCH (FLAGS (\\Deleted \\Seen \\Recent) BODY[] {%d}\r\n" % len(body)
                         + body + b")\r\n* 1 FETCH (FLAGS (\\Deleted \\Seen \\Recent))\r\n"
                         b"* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\nt2" + ISSUED)
        self.assertEqual(self.command(a, b"t3", b"FETCH 1:3 (UID FLAGS)"),
                         b"* 1 FETCH (UID 1 FLAGS (\\Deleted \\Seen \\Recent))\r\n"
                         b"* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent))\r\n"
                         b"* 3 FETCH (UID 3 FLAGS (\\Recent))\r\nt3 OK FETCH completed\r\n")
        self.assertEqual(self.command(a, b"t4", b"STORE 2 +FLAGS (\\Flagged)"),
                         b"* 2 FETCH (FLAGS (\\Flagged \\Deleted \\Recent))\r\n"
                         b"t4 OK STORE completed\r\n")
        self.assertEqual(self.command(a, b"t5", b"STORE 2 +FLAGS.SILENT (\\Draft)"),
                         b"t5 OK STORE completed\r\n")
        self.assertEqual(self.command(a, b"t6", b"COPY 1:3 dest"), b"t6" + GONE)
        self.assertEqual(self.command(a, b"t7", b"SEARCH 1:1000"),
                         b"* SEARCH 3 4 5\r\nt7 OK SEARCH completed\r\n")
        self.assertEqual(self.command(a, b"t8", b"SEARCH RETURN () 1000"),
                         b"* ESEARCH (TAG \"t8\")\r\nt8 OK SEARCH completed\r\n")
        self.assertEqual(self.command(a, b"t9", b"UID SEARCH 1:1000"),
                         b"* SEARCH 3 4 5\r\n* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 3 RECENT\r\n"
                         b"t9 OK UID SEARCH completed\r\n")
        self.assertEqual(self.command(a, b"t10", b"FETCH 1 (UID)"),
                         b"* 1 FETCH (UID 3)\r\nt10 OK FETCH completed\r\n")
        self.fresh_client_answers()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + test_serve.take_imapd_argument("test_views.py"))
