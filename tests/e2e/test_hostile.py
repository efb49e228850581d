#!/usr/bin/env python3
"""Hostile input against the real imapd: messages built to make a quadratic
parser hang, SEARCH strings and LIST patterns built to make matching hang
(docs/security.md, "Message parsing" and "Search and listing").

Usage: test_hostile.py --imapd PATH [unittest args, e.g. a class name]

Each test has one user send the hostile command and, while it runs, another
user (bob) send NOOP: the server has one event loop, so a stall shows as
bob's NOOP going unanswered. Every wait is bounded (test_serve.WAIT); a
quadratic server fails the test by timing out there. Afterwards a fresh
client must still be served, and the server's RSS must have grown by less
than 64 MB. None of the tests asserts a duration.
"""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve  # noqa: E402
from test_serve import login_raw, recv_until  # noqa: E402

RSS_GROWTH_LIMIT = 64 * 1024 * 1024
# AddressSanitizer keeps freed memory in a quarantine (256 MB by default)
# that RSS counts; with a small one the RSS check is about the server's
# memory again (test.sh runs these against its sanitizer build too). 4 MB:
# with 16 the 20,000-level nested message (9.6 MB of growth in a plain
# build, shadow memory and redzones on top under ASan) reached 64 MB.
ASAN_QUARANTINE = "quarantine_size_mb=4"


def sanitized(binary):
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


def literal_plus(data):
    """An RFC 7888 non-synchronising literal carrying `data`."""
    return b"{%d+}\r\n" % len(data) + data


class HostileTest(test_serve.ServerTest):
    extra_args = ("--user", "bob:secret")

    def setUp(self):
        if sanitized(test_serve.IMAPD):
            options = os.environ.get("ASAN_OPTIONS", "")
            if ASAN_QUARANTINE not in options:
                os.environ["ASAN_OPTIONS"] = options + (":" if options else "") + ASAN_QUARANTINE
        super().setUp()
        self.rss_before = rss_bytes(self.server.proc.pid)
        # bob: a second user, logged in and idle, who must keep being served.
        self.bob = self.connection(b"bl", "bob")
        self.alice = self.connection(b"al", "alice")

    def connection(self, tag, user):
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        self.assertIn(tag + b" OK", login_raw(sock, tag, user))
        return sock

    def command(self, sock, tag, text):
        """Sends `text` (the command after the tag, CRLF included) and returns
        everything up to its tagged answer."""
        sock.sendall(tag + b" " + text)
        return recv_until(sock, re.escape(tag) + rb" (OK|NO|BAD)[^\r]*\r\n")

    def assert_bob_answered(self, tag=b"bn"):
        """bob's NOOP, sent while alice's command runs, is answered."""
        self.assertIn(tag + b" OK", self.command(self.bob, tag, b"NOOP\r\n"))

    def append_while_bob_waits(self, message):
        """alice APPENDs `message` to INBOX while bob's NOOP must be answered;
        then INBOX is selected."""
        self.alice.sendall(b"ap APPEND INBOX " + literal_plus(message) + b"\r\n")
        self.assert_bob_answered()
        data = recv_until(self.alice, rb"ap (OK|NO|BAD)[^\r]*\r\n")
        self.assertIn(b"ap OK [APPENDUID ", data)
        self.command(self.alice, b"as", b"SELECT INBOX\r\n")

    def tearDown(self):
        try:
            # A fresh client is served after the hostile input.
            fresh = self.connection(b"fl", "bob")
            self.assertIn(b"fn OK", self.command(fresh, b"fn", b"NOOP\r\n"))
            growth = rss_bytes(self.server.proc.pid) - self.rss_before
            self.assertLess(growth, RSS_GROWTH_LIMIT)
        finally:
            super().tearDown()


class QuadraticHeader(HostileTest):
    """RFC 2047 decoding at APPEND (the CVE-2024-23184 class: header parsing
    quadratic in the header's size)."""

    def test_append_of_encoded_word_starts(self):
        subject = b"=?a" * 80000  # 240 KB, never a complete encoded word
        self.append_while_bob_waits(b"From: a@example.org\r\nSubject: " + subject +
                                    b"\r\n\r\nbody\r\n")
        # The decoded subject is the value as written.
        data = self.command(self.alice, b"ah", b"SEARCH SUBJECT \"=?a=?a=?a\"\r\n")
        self.assertIn(b"* SEARCH 1\r\nah OK", data)

    def test_append_of_a_deeply_nested_message(self):
        # CVE-2020-12100 class: 20,000 nested multiparts.
        parts = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                         for i in range(20000))
        self.append_while_bob_waits(b"From: a@example.org\r\n" + parts + b"\r\nleaf\r\n")
        data = self.command(self.alice, b"af", b"FETCH 1 BODYSTRUCTURE\r\n")
        self.assertIn(b"af OK", data)
        # The structure stops at MessageLimits::kMaxMimeDepth (100) levels of
        # multipart, plus the innermost part and its parameter list.
        depth = deepest = 0
        for byte in data.split(b"BODYSTRUCTURE ", 1)[1]:
            depth += {ord("("): 1, ord(")"): -1}.get(byte, 0)
            deepest = max(deepest, depth)
        self.assertEqual(deepest, 100 + 1 + 2)


class SearchNeedle(HostileTest):
    """SEARCH strings against one 400 KB message that repeats one letter:
    naive substring search and FTS5 phrase matching both cost the string's
    length times the message's there."""

    def setUp(self):
        super().setUp()
        message = (b"Subject: " + b"a" * 900 + b"\r\nX-Long: " + b"a" * 900 + b"\r\n\r\n" +
                   b"a" * (400 * 1024) + b"\r\n")
        self.assertIn(b"ap OK", self.command(self.alice, b"ap",
                                             b"APPEND INBOX " + literal_plus(message) + b"\r\n"))
        self.command(self.alice, b"as", b"SELECT INBOX\r\n")

    def test_strings_at_the_limit_against_a_repetitive_message(self):
        miss = b"a" * 4095 + b"b"
        for key in (b"BODY", b"TEXT", b"HEADER X-Long"):
            self.alice.sendall(b"s1 SEARCH " + key + b" " + literal_plus(miss) + b"\r\n")
            self.assert_bob_answered()
            data = recv_until(self.alice, rb"s1 (OK|NO|BAD)[^\r]*\r\n")
            self.assertEqual(data, b"* SEARCH\r\ns1 OK SEARCH completed\r\n")
        data = self.command(self.alice, b"s2", b"SEARCH TEXT " + literal_plus(b"a" * 4096) + b"\r\n")
        self.assertEqual(data, b"* SEARCH 1\r\ns2 OK SEARCH completed\r\n")

    def test_a_20_kb_string_is_refused(self):
        needle = b"a" * 20479 + b"b"
        self.alice.sendall(b"s1 SEARCH BODY " + literal_plus(needle) + b"\r\n")
        self.assert_bob_answered()
        self.assertEqual(recv_until(self.alice, rb"s1 (OK|NO|BAD)[^\r]*\r\n"),
                         b"s1 NO [LIMIT] Literal too large for SEARCH (at most 4096 octets)\r\n")
        data = self.command(self.alice, b"s2", b"SEARCH TEXT \"" + needle + b"\"\r\n")
        self.assertEqual(data, b"s2 NO [LIMIT] Search string too long (at most 4096 octets)\r\n")
        # Synchronising: refused before the client sends it (RFC 3501 7.5).
        data = self.command(self.alice, b"s3", b"SEARCH HEADER Subject {20480}\r\n")
        self.assertEqual(data, b"s3 NO [LIMIT] Literal too large for SEARCH (at most 4096 octets)\r\n")


class SearchKeys(HostileTest):
    """SEARCH with thousands of keys: SQLite compiled numbered parameters
    in time quadratic in their count (9,990 keys stalled the server for
    seconds on an empty mailbox)."""

    def setUp(self):
        super().setUp()
        message = b"Subject: one\r\nX-Tag: abc\r\n\r\nbody\r\n"
        self.command(self.alice, b"ap", b"APPEND INBOX " + literal_plus(message) + b"\r\n")
        self.command(self.alice, b"as", b"SELECT INBOX\r\n")

    def test_thousands_of_keys(self):
        self.alice.sendall(b"k1 SEARCH " + b" ".join([b"SEEN"] * 9990) + b"\r\n")
        self.alice.sendall(b"k2 SEARCH " + b" ".join([b"HEADER X-Tag abc"] * 3000) + b"\r\n")
        self.alice.sendall(b"k3 SEARCH " + b" ".join([b"NOT SUBJECT two"] * 3000) + b"\r\n")
        self.assert_bob_answered()
        data = recv_until(self.alice, rb"k3 (OK|NO|BAD)[^\r]*\r\n")
        self.assertEqual(data, b"* SEARCH\r\nk1 OK SEARCH completed\r\n"
                               b"* SEARCH 1\r\nk2 OK SEARCH completed\r\n"
                               b"* SEARCH 1\r\nk3 OK SEARCH completed\r\n")


class ListPattern(HostileTest):
    """LIST and LSUB patterns of 32,000 "*" over 100 mailboxes, pipelined:
    a matcher costing the pattern's length per name byte took seconds each."""

    LONG = b"x" * 800

    def setUp(self):
        super().setUp()
        creates = b"".join(b"c%d CREATE folder%d/%s\r\n" % (i, i, self.LONG) for i in range(50))
        self.alice.sendall(creates)
        recv_until(self.alice, rb"c49 (OK|NO|BAD)[^\r]*\r\n")

    def test_pipelined_long_patterns(self):
        stars = b"*" * 32000
        self.alice.sendall(b"".join(b"l%d LIST \"\" %s\r\nm%d LSUB \"\" %s\r\n" %
                                    (i, stars, i, stars) for i in range(20)))
        self.assert_bob_answered()
        data = recv_until(self.alice, rb"m19 (OK|NO|BAD)[^\r]*\r\n")
        refused = b" NO [LIMIT] Mailbox pattern too long (at most 1024 octets)\r\n"
        self.assertEqual(data, b"".join(b"l%d%sm%d%s" % (i, refused, i, refused)
                                        for i in range(20)))

    def test_pipelined_patterns_at_the_limit(self):
        pattern = b"*f" * 510 + b"*b"  # 1022 bytes, a wildcard between every two
        self.alice.sendall(b"".join(b"l%d LIST \"\" %s\r\n" % (i, pattern) for i in range(20)))
        self.assert_bob_answered()
        data = recv_until(self.alice, rb"l19 (OK|NO|BAD)[^\r]*\r\n")
        self.assertEqual(data.count(b" OK LIST completed"), 20)
        self.assertNotIn(b"* LIST", data)  # no name has 510 "f"
        data = self.command(self.alice, b"l", b"LIST \"\" \"f*9*%/*x\"\r\n")
        self.assertEqual(data, b"".join(b"* LIST (\\HasNoChildren \\Unmarked) \"/\" folder%s/%s\r\n"
                                        % (n, self.LONG) for n in (b"19", b"29", b"39", b"49", b"9")) +
                         b"l OK LIST completed\r\n")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0], "-v"] + test_serve.take_imapd_argument("test_hostile.py"))
