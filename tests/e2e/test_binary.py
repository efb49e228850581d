#!/usr/bin/env python3
"""FETCH BINARY (RFC 3516) of a large part against the real imapd: a 16 MiB
base64 attachment decoded for BINARY.SIZE and streamed for BINARY, with
the hostile-input bounds (under 2 s each, RSS +< 64 MB: decoding goes in
chunks, nothing holds the part whole), and Python's imaplib reading it.

Usage: test_binary.py --imapd PATH [unittest args, e.g. a class name]
"""
import base64
import hashlib
import imaplib
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve  # noqa: E402
from test_serve import WAIT, HostileTest, cpu_seconds, recv_until, rss_bytes  # noqa: E402

RSS_BOUND = 64 * 1024 * 1024
# 16 MiB: decoded twice and sent within the hostile bound under ASan too.
PART = 16 * 1024 * 1024


def big_message(data):
    return (b"Subject: big attachment\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
            b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
            b"--b\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" +
            base64.encodebytes(data).replace(b"\n", b"\r\n") + b"--b--\r\n")


def recv_exactly(sock, n, timeout=WAIT):
    """Exactly `n` bytes (recv_until rescans everything per read: quadratic
    on 32 MiB)."""
    chunks, got = [], 0
    deadline = time.monotonic() + timeout
    while got < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("timed out: %d of %d bytes" % (got, n))
        sock.settimeout(remaining)
        chunk = sock.recv(min(1 << 20, n - got))
        if not chunk:
            raise AssertionError("connection closed: %d of %d bytes" % (got, n))
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


class BinaryLargePart(HostileTest):
    def setUp(self):
        super().setUp()
        self.data = random.Random(3516).randbytes(PART)
        message = big_message(self.data)
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        sock.sendall(b"l LOGIN alice secret\r\na APPEND INBOX {%d+}\r\n" % len(message) +
                     message + b"\r\ns SELECT INBOX\r\n")
        recv_until(sock, rb"s OK[^\r]*\r\n", timeout=30)
        self.sock = sock
        # The bounds count from here: the APPEND is not what is measured.
        self.started = time.monotonic()
        self.cpu_before = cpu_seconds(self.server.proc.pid)
        self.rss_before = rss_bytes(self.server.proc.pid)

    def test_binary_size_and_streamed_content(self):
        self.sock.sendall(b"z FETCH 1 BINARY.SIZE[2]\r\n")
        self.assertEqual(recv_until(self.sock, rb"z OK[^\r]*\r\n"),
                         b"* 1 FETCH (BINARY.SIZE[2] %d)\r\nz OK FETCH completed\r\n" % PART)
        self.sock.sendall(b"b FETCH 1 BINARY.PEEK[2]\r\n")
        head = b"* 1 FETCH (BINARY[2] ~{%d}\r\n" % PART
        tail = b")\r\nb OK FETCH completed\r\n"
        data = recv_exactly(self.sock, len(head) + PART + len(tail))
        self.assertEqual(data[:len(head)], head)
        # Compared by digest: a failure must not print 32 MiB.
        self.assertEqual(hashlib.sha256(data[len(head):len(head) + PART]).hexdigest(),
                         hashlib.sha256(self.data).hexdigest())
        self.assertEqual(data[len(head) + PART:], tail)
        self.assert_server_unharmed()

    def test_imaplib_reads_the_decoded_part(self):
        m = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=WAIT)
        self.addCleanup(self._shutdown, m)
        m.login("alice", "secret")
        m.select("INBOX")
        # imaplib reads a literal8 like a literal (its pattern takes "~{n}").
        typ, data = m.fetch("1", "(BINARY.PEEK[2]<1000.5000>)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], self.data[1000:6000])
        self.assert_server_unharmed()


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + test_serve.take_imapd_argument("test_binary.py"))
