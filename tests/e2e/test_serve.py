#!/usr/bin/env python3
"""End-to-end tests of `imapd serve` over loopback (standard library only).

Usage: test_serve.py --imapd PATH [unittest args, e.g. a class name]
       IMAPD=PATH test_serve.py

Each test starts the real binary with --ephemeral and ports chosen by the
kernel, reads the "imapd: listening ..." lines from its stdout, and kills it
in tearDown whatever happened. Every wait is bounded.
"""
import imaplib
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

IMAPD = os.environ.get("IMAPD", "")
WAIT = 10  # seconds: the bound on every wait
LISTEN_RE = re.compile(rb"^imapd: listening (imaps?) (\S+):(\d+)$")


def client_tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed, generated in memory
    return ctx


class ImapdServer:
    def __init__(self, extra_args=(), config_text=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="imapd-e2e-")
        args = [IMAPD, "serve", "--ephemeral", "--listen", "127.0.0.1:0",
                "--listen-tls", "127.0.0.1:0", "--user", "alice:secret"]
        if config_text is not None:
            path = os.path.join(self.tmp.name, "imapd.conf")
            with open(path, "w") as f:
                f.write(config_text)
            args += ["--config", path]
        args += list(extra_args)
        self.stderr_path = os.path.join(self.tmp.name, "stderr.log")
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr)
        self.ports = {}
        deadline = time.monotonic() + WAIT
        buffered = b""
        while len(self.ports) < 2:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                self.stop()
                raise AssertionError("imapd did not print its listening lines; stderr:\n" +
                                     self.log())
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                continue
            buffered += chunk
            while b"\n" in buffered:
                line, buffered = buffered.split(b"\n", 1)
                m = LISTEN_RE.match(line)
                if m:
                    self.ports[m.group(1).decode()] = int(m.group(3))

    def log(self):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pass
        self.proc.stdout.close()
        self.stderr.close()
        self.tmp.cleanup()


def recv_until(sock, pattern, timeout=WAIT):
    """Reads until `pattern` (bytes regex) matches the data so far."""
    data = b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, data):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("timed out waiting for %r; got %r" % (pattern, data))
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            raise AssertionError("connection closed waiting for %r; got %r" % (pattern, data))
        data += chunk
    return data


def recv_quiet(sock, seconds):
    """Whatever arrives within `seconds` (b"" when nothing does)."""
    data = b""
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return data
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data
        if not chunk:
            return data
        data += chunk


class ServerTest(unittest.TestCase):
    extra_args = ()
    config_text = None

    def setUp(self):
        self.server = ImapdServer(self.extra_args, self.config_text)
        self.imap_port = self.server.ports["imap"]
        self.imaps_port = self.server.ports["imaps"]

    def tearDown(self):
        self.server.stop()

    def raw(self, port=None):
        sock = socket.create_connection(("127.0.0.1", port or self.imap_port), timeout=WAIT)
        self.addCleanup(sock.close)
        return sock

    def imap(self):
        m = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=WAIT)
        self.addCleanup(self._shutdown, m)
        return m

    @staticmethod
    def _shutdown(m):
        try:
            m.shutdown()
        except OSError:
            pass


class Connect(ServerTest):
    def test_greeting_and_capability(self):
        sock = self.raw()
        greeting = recv_until(sock, rb"\r\n")
        self.assertRegex(greeting, rb"^\* OK \[CAPABILITY IMAP4rev1 ")
        sock.sendall(b"a CAPABILITY\r\n")
        data = recv_until(sock, rb"a OK[^\r]*\r\n")
        caps = re.search(rb"\* CAPABILITY ([^\r]*)\r\n", data).group(1).split()
        self.assertIn(b"STARTTLS", caps)
        # Loopback is a trusted network by default: plaintext auth allowed.
        self.assertIn(b"AUTH=PLAIN", caps)
        self.assertNotIn(b"LOGINDISABLED", caps)

    def test_login_and_logout(self):
        m = self.imap()
        typ, _ = m.login("alice", "secret")
        self.assertEqual(typ, "OK")
        typ, data = m.logout()
        self.assertEqual(typ, "BYE")

    def test_logout_closes_connection(self):
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        sock.sendall(b"a LOGOUT\r\n")
        data = recv_until(sock, rb"a OK[^\r]*\r\n")
        self.assertIn(b"* BYE", data)
        self.assertEqual(recv_quiet(sock, WAIT), b"")  # closed by the server


class StartTls(ServerTest):
    def test_imaplib_starttls_then_login(self):
        m = self.imap()
        self.assertIn("STARTTLS", m.capabilities)
        typ, _ = m.starttls(ssl_context=client_tls_context())
        self.assertEqual(typ, "OK")
        self.assertNotIn("STARTTLS", m.capabilities)
        typ, _ = m.login("alice", "secret")
        self.assertEqual(typ, "OK")
        m.logout()

    def test_openssl_style_starttls_over_raw_socket(self):
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        sock.sendall(b"s STARTTLS\r\n")
        recv_until(sock, rb"s OK[^\r]*\r\n")
        tls = client_tls_context().wrap_socket(sock)
        self.addCleanup(tls.close)
        tls.sendall(b"c CAPABILITY\r\n")
        data = recv_until(tls, rb"c OK[^\r]*\r\n")
        self.assertNotIn(b"STARTTLS", data)

    def test_commands_pipelined_after_starttls_are_discarded(self):
        # RFC 3501 6.2.1, CVE-2011-0411: "b" arrived in plaintext and must
        # never run, neither before the handshake nor after it.
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        sock.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
        data = recv_until(sock, rb"a OK[^\r]*\r\n")
        data += recv_quiet(sock, 0.5)
        self.assertNotIn(b"b ", data.split(b"a OK", 1)[1])
        self.assertNotIn(b"CAPABILITY IMAP4rev1", data.split(b"\r\n", 1)[1])
        tls = client_tls_context().wrap_socket(sock)
        self.addCleanup(tls.close)
        tls.sendall(b"c NOOP\r\n")
        after = recv_until(tls, rb"c OK[^\r]*\r\n")
        self.assertNotIn(b"b OK", after)
        self.assertNotIn(b"b BAD", after)
        self.assertNotIn(b"* CAPABILITY", after)


class ImplicitTls(ServerTest):
    def test_imap4_ssl_login(self):
        m = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port,
                              ssl_context=client_tls_context(), timeout=WAIT)
        self.addCleanup(self._shutdown, m)
        self.assertNotIn("STARTTLS", m.capabilities)
        typ, _ = m.login("alice", "secret")
        self.assertEqual(typ, "OK")
        self.assertEqual(m.logout()[0], "BYE")

    def test_plaintext_on_tls_port_fails(self):
        sock = self.raw(self.imaps_port)
        sock.sendall(b"a CAPABILITY\r\n")
        data = recv_quiet(sock, 2)
        self.assertNotIn(b"* OK", data)


class Authentication(ServerTest):
    def test_authenticate_plain(self):
        m = self.imap()
        typ, _ = m.authenticate("PLAIN", lambda _: b"\0alice\0secret")
        self.assertEqual(typ, "OK")
        m.logout()

    def test_wrong_password(self):
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        sock.sendall(b"a LOGIN alice wrong\r\n")
        data = recv_until(sock, rb"a (OK|NO|BAD)[^\r]*\r\n")
        self.assertIn(b"a NO [AUTHENTICATIONFAILED]", data)

    def test_wrong_password_imaplib(self):
        m = self.imap()
        with self.assertRaises(imaplib.IMAP4.error) as caught:
            m.login("alice", "wrong")
        self.assertIn("AUTHENTICATIONFAILED", str(caught.exception))

    def test_login_is_logged_without_password(self):
        m = self.imap()
        m.login("alice", "secret")
        m.logout()
        deadline = time.monotonic() + WAIT
        while "login_ok" not in self.server.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = self.server.log()
        self.assertRegex(log, r"login_ok user=alice peer=127\.0\.0\.1")
        self.assertNotIn("secret", log)


class Pipelining(ServerTest):
    def test_pipelined_commands_in_one_write(self):
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        sock.sendall(b"a NOOP\r\nb LOGIN alice secret\r\nc CAPABILITY\r\nd NOOP\r\ne LOGOUT\r\n")
        data = recv_until(sock, rb"e OK[^\r]*\r\n")
        positions = [data.index(tag + b" OK") for tag in (b"a", b"b", b"c", b"d", b"e")]
        self.assertEqual(positions, sorted(positions))
        self.assertEqual(recv_quiet(sock, WAIT), b"")


class Shutdown(ServerTest):
    def test_sigterm_sends_bye_and_exits_zero(self):
        plain = self.raw()
        recv_until(plain, rb"\r\n")
        tls = client_tls_context().wrap_socket(self.raw(self.imaps_port))
        self.addCleanup(tls.close)
        recv_until(tls, rb"\r\n")
        self.server.proc.send_signal(signal.SIGTERM)
        self.assertIn(b"* BYE Server shutting down", recv_until(plain, rb"\* BYE[^\r]*\r\n"))
        self.assertIn(b"* BYE Server shutting down", recv_until(tls, rb"\* BYE[^\r]*\r\n"))
        self.assertEqual(self.server.proc.wait(timeout=WAIT), 0)

    def test_sigterm_with_client_that_does_not_read(self):
        sock = self.raw()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.server.proc.send_signal(signal.SIGTERM)
        # Bounded by the server's 2 s grace period.
        self.assertEqual(self.server.proc.wait(timeout=WAIT), 0)


class Timeouts(ServerTest):
    config_text = "[timeouts]\npre_auth = 1s\n"

    def test_pre_auth_timeout(self):
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        start = time.monotonic()
        data = recv_until(sock, rb"\* BYE[^\r]*\r\n", timeout=WAIT)
        self.assertIn(b"* BYE Autologout; idle for too long", data)
        self.assertGreater(time.monotonic() - start, 0.5)
        self.assertEqual(recv_quiet(sock, WAIT), b"")

    def test_commands_reset_the_timer(self):
        sock = self.raw()
        recv_until(sock, rb"\r\n")
        for i in range(4):
            time.sleep(0.5)
            sock.sendall(b"n%d NOOP\r\n" % i)
            recv_until(sock, rb"n%d OK[^\r]*\r\n" % i)


class Limits(ServerTest):
    config_text = "[limits]\nmax_connections_per_ip = 2\n"

    def test_per_ip_limit(self):
        first, second = self.raw(), self.raw()
        recv_until(first, rb"\r\n")
        recv_until(second, rb"\r\n")
        third = self.raw()
        data = recv_until(third, rb"\r\n")
        self.assertIn(b"* BYE Too many connections from your address", data)
        self.assertEqual(recv_quiet(third, WAIT), b"")
        first.close()
        time.sleep(0.3)
        fourth = self.raw()
        self.assertRegex(recv_until(fourth, rb"\r\n"), rb"^\* OK")


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--imapd":
        IMAPD = args[1]
        args = args[2:]
    if not IMAPD or not os.access(IMAPD, os.X_OK):
        sys.stderr.write("test_serve.py: pass --imapd PATH or set IMAPD\n")
        sys.exit(2)
    unittest.main(argv=[sys.argv[0], "-v"] + args)
