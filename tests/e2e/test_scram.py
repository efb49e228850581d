#!/usr/bin/env python3
"""End-to-end tests of SASL SCRAM (RFC 5802, RFC 7677, RFC 9266) over the
real binary: Debian's gsasl CLI as a real client (an independent SCRAM
implementation on GnuTLS, with tls-exporter channel binding on TLS 1.3),
and a small SCRAM client written here (hashlib/hmac) for what gsasl cannot
show: tls-server-end-point on TLS 1.2 (Python's ssl module exposes the
peer certificate but no exporter), the "y" downgrade check, and the
migration of an account made before SCRAM.

Usage: test_scram.py --imapd PATH [unittest args, e.g. a class name]
"""
import base64
import hashlib
import hmac
import os
import re
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve  # noqa: E402
from test_serve import WAIT, ImapdServer, recv_until  # noqa: E402

IMAPD = os.environ.get("IMAPD", "")
GSASL = shutil.which("gsasl")
# No failed-login delay, so the failure cases stay fast (the delay itself is
# LoginGate's, tested in test_serve.py FailedLoginDelay).
NO_DELAY = "[auth]\nfailed_login_delay = \"0s\"\n"


def b64(data):
    return base64.b64encode(data).decode()


class ScramClient:
    """RFC 5802 client side over one IMAP connection (socket already open,
    greeting read); with `command` and `final`, over POP3's AUTH (RFC 5034,
    the same "+ " continuations)."""

    def __init__(self, sock, mechanism="SCRAM-SHA-256", hash_name="sha256",
                 command="a AUTHENTICATE", final=rb"a (OK|NO|BAD)[^\r\n]*\r\n"):
        self.sock = sock
        self.mechanism = mechanism
        self.hash_name = hash_name
        self.command = command
        self.final = final

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def challenge(self):
        data = recv_until(self.sock, rb"\r\n$")
        return data

    def authenticate(self, user, password, gs2_header="n,,", cbind_data=b"",
                     nonce="clientnonce123"):
        """Runs the exchange; returns (server-first or None, final line)."""
        first_bare = "n=%s,r=%s" % (user, nonce)
        self.send("%s %s %s" % (self.command, self.mechanism,
                                  b64((gs2_header + first_bare).encode())))
        reply = self.challenge()
        if not reply.startswith(b"+ "):
            return None, reply
        server_first = base64.b64decode(reply[2:].strip()).decode()
        attrs = dict(item.split("=", 1) for item in server_first.split(","))
        salt = base64.b64decode(attrs["s"])
        iterations = int(attrs["i"])
        without_proof = "c=%s,r=%s" % (b64(gs2_header.encode() + cbind_data), attrs["r"])
        auth_message = ",".join([first_bare, server_first, without_proof]).encode()
        salted = hashlib.pbkdf2_hmac(self.hash_name, password.encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", self.hash_name).digest()
        stored_key = hashlib.new(self.hash_name, client_key).digest()
        signature = hmac.new(stored_key, auth_message, self.hash_name).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.send(b64((without_proof + ",p=" + b64(proof)).encode()))
        reply = self.challenge()
        if not reply.startswith(b"+ "):
            return server_first, reply
        server_key = hmac.new(salted, b"Server Key", self.hash_name).digest()
        expected = "v=" + b64(hmac.new(server_key, auth_message, self.hash_name).digest())
        if base64.b64decode(reply[2:].strip()).decode() != expected:
            raise AssertionError("server signature does not verify: %r" % reply)
        self.send("")
        return server_first, recv_until(self.sock, self.final)


def connect_plain(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    recv_until(sock, rb"\r\n")
    return sock


def connect_tls(port, max_version=None):
    ctx = test_serve.client_tls_context()
    if max_version:
        ctx.maximum_version = max_version
    sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=WAIT))
    greeting = recv_until(sock, rb"\r\n")
    return sock, greeting


def tls_server_end_point(sock):
    """RFC 5929 4.1: the hash of the server certificate (SHA-256 for the
    generated certificate's ecdsa-with-SHA256 or sha256WithRSA)."""
    return hashlib.sha256(sock.getpeercert(binary_form=True)).digest()


def noop_ok(sock):
    sock.sendall(b"n NOOP\r\n")
    return recv_until(sock, rb"n (OK|NO|BAD)[^\r\n]*\r\n")


@unittest.skipUnless(GSASL, "gsasl not installed (deps.sh installs it)")
class GsaslClient(unittest.TestCase):
    """RFC 5802, RFC 7677, RFC 9266: Debian's gsasl logs in with every SCRAM
    mechanism; -PLUS binds to the TLS 1.3 session with tls-exporter."""

    def setUp(self):
        self.server = ImapdServer(ephemeral=False, config_text=NO_DELAY)
        self.cert = os.path.join(self.server.data_dir, "self-signed-cert.pem")

    def tearDown(self):
        self.server.stop()

    def gsasl(self, mechanism, password="secret", tls=False):
        args = [GSASL, "--imap", "127.0.0.1", str(self.server.ports["imap"]), "-m", mechanism,
                "-a", "alice", "-p", password, "-d"]
        if tls:
            args += ["--starttls", "--x509-ca-file", self.cert]
        else:
            args += ["--no-starttls"]
        return subprocess.run(args, capture_output=True, text=True, timeout=WAIT)

    def test_scram_without_tls(self):
        for mechanism in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
            with self.subTest(mechanism=mechanism):
                result = self.gsasl(mechanism)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                # gsasl checked the server signature ("server trusted").
                self.assertIn("Client authentication finished (server trusted)", result.stderr)
                self.assertRegex(result.stdout, r"\n\. OK \[CAPABILITY [^\]]*\] Logged in\n")

    def test_scram_plus_tls_exporter(self):
        for mechanism in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"):
            with self.subTest(mechanism=mechanism):
                result = self.gsasl(mechanism, tls=True)
                self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
                # RFC 9266: the client's gs2 header names tls-exporter; the
                # base64 of "p=tls-exporter,," starts "cD10bHMtZXhwb3J0ZXIsL".
                self.assertIn("\ncD10bHMtZXhwb3J0ZXIsL", result.stdout)
                self.assertRegex(result.stdout, r"\n\. OK \[CAPABILITY [^\]]*\] Logged in\n")

    def test_wrong_password(self):
        result = self.gsasl("SCRAM-SHA-256", password="wrong")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(". NO [AUTHENTICATIONFAILED] Authentication failed", result.stdout)

    def test_plus_advertised_only_over_tls(self):
        sock = connect_plain(self.server.ports["imap"])
        sock.sendall(b"c CAPABILITY\r\n")
        caps = recv_until(sock, rb"c OK[^\r\n]*\r\n")
        self.assertIn(b" AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1 ", caps)
        self.assertNotIn(b"-PLUS", caps)
        # Not offered, so not accepted (RFC 3501 6.2.2).
        sock.sendall(b"a AUTHENTICATE SCRAM-SHA-256-PLUS\r\n")
        self.assertEqual(recv_until(sock, rb"\r\n"),
                         b"a NO Unsupported authentication mechanism\r\n")
        sock.close()
        tls, greeting = connect_tls(self.server.ports["imaps"])
        self.assertIn(b" AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1-PLUS "
                      b"AUTH=SCRAM-SHA-1 AUTH=PLAIN AUTH=LOGIN", greeting)
        tls.close()


class ChannelBinding(unittest.TestCase):
    """RFC 5802 6, RFC 5929 4: SCRAM-SHA-256-PLUS on TLS 1.2 binds with
    tls-server-end-point; a client that sends another binding, or says "y"
    where the server offered -PLUS (a downgrade), fails; the connection and
    the server survive."""

    def setUp(self):
        self.server = ImapdServer(config_text=NO_DELAY)

    def tearDown(self):
        self.server.stop()

    def test_tls12_server_end_point(self):
        sock, greeting = connect_tls(self.server.ports["imaps"], ssl.TLSVersion.TLSv1_2)
        self.assertIn(b"AUTH=SCRAM-SHA-256-PLUS", greeting)
        client = ScramClient(sock, "SCRAM-SHA-256-PLUS")
        _, final = client.authenticate("alice", "secret", "p=tls-server-end-point,,",
                                       tls_server_end_point(sock))
        self.assertRegex(final, rb"^a OK \[CAPABILITY [^\]]*\] Logged in\r\n$")
        sock.close()

    def test_tls12_wrong_binding_data(self):
        sock, _ = connect_tls(self.server.ports["imaps"], ssl.TLSVersion.TLSv1_2)
        client = ScramClient(sock, "SCRAM-SHA-256-PLUS")
        _, final = client.authenticate("alice", "secret", "p=tls-server-end-point,,",
                                       b"\x00" * 32)
        self.assertEqual(final, b"a NO [AUTHENTICATIONFAILED] Channel binding does not match\r\n")
        self.assertIn(b"n OK", noop_ok(sock))
        sock.close()

    def test_tls13_offers_exporter_only(self):
        sock, _ = connect_tls(self.server.ports["imaps"])
        client = ScramClient(sock, "SCRAM-SHA-256-PLUS")
        _, final = client.authenticate("alice", "secret", "p=tls-server-end-point,,",
                                       tls_server_end_point(sock))
        self.assertEqual(final, b"a NO [AUTHENTICATIONFAILED] Unsupported channel binding type\r\n")
        sock.close()

    def test_downgrade_detected(self):
        # RFC 5802 6: "y" means "I could bind, but you do not offer it"; this
        # server offered -PLUS on this connection, so the list was tampered.
        sock, _ = connect_tls(self.server.ports["imaps"])
        client = ScramClient(sock, "SCRAM-SHA-256")
        _, final = client.authenticate("alice", "secret", "y,,")
        self.assertEqual(final, b"a NO [AUTHENTICATIONFAILED] Server supports channel binding: "
                                b"downgrade detected\r\n")
        self.assertIn(b"n OK", noop_ok(sock))
        # The same client without TLS: "y" is honest there, and logs in.
        plain = connect_plain(self.server.ports["imap"])
        _, final = ScramClient(plain).authenticate("alice", "secret", "y,,")
        self.assertRegex(final, rb"^a OK \[CAPABILITY [^\]]*\] Logged in\r\n$")
        plain.close()
        sock.close()

    def test_malformed_and_cancel(self):
        sock = connect_plain(self.server.ports["imap"])
        sock.sendall(b"a AUTHENTICATE SCRAM-SHA-256 " + b64(b"x,,n=alice,r=abc").encode() +
                     b"\r\n")
        self.assertEqual(recv_until(sock, rb"\r\n"),
                         b"a BAD SCRAM: invalid channel binding flag\r\n")
        sock.sendall(b"b AUTHENTICATE SCRAM-SHA-256\r\n")
        self.assertEqual(recv_until(sock, rb"\r\n"), b"+ \r\n")
        sock.sendall(b"*\r\n")
        self.assertEqual(recv_until(sock, rb"\r\n"), b"b BAD Authentication cancelled\r\n")
        self.assertIn(b"n OK", noop_ok(sock))
        sock.close()


class Accounts(unittest.TestCase):
    """Stored keys: an account made before SCRAM answers SCRAM like an
    unknown user until its next PLAIN/LOGIN, then logs in with SCRAM; an
    unknown user gets the same made-up salt every time, across restarts
    (RFC 5802 9: no user enumeration through the salt)."""

    def test_migration_and_fake_salt(self):
        # alice's password and keys come from --user; the keys are then
        # deleted under the running server, which makes alice an account
        # from before SCRAM.
        again = ImapdServer(ephemeral=False, config_text=NO_DELAY, extra_args=["--threads", "2"])
        data_dir = again.data_dir
        try:
            db = sqlite3.connect(os.path.join(data_dir, "accounts.db"))
            self.assertEqual(db.execute("SELECT count(*) FROM scram_credentials").fetchone()[0],
                             2)
            db.execute("DELETE FROM scram_credentials")
            db.commit()
            db.close()
            try:
                port = again.ports["imap"]
                sock = connect_plain(port)
                first, final = ScramClient(sock).authenticate("alice", "secret")
                self.assertEqual(final, b"a NO [AUTHENTICATIONFAILED] Authentication failed\r\n")
                fake_alice_salt = first.split(",")[1]
                _, unknown = ScramClient(sock).authenticate("nobody", "secret")
                self.assertEqual(unknown,
                                 b"a NO [AUTHENTICATIONFAILED] Authentication failed\r\n")
                # PLAIN succeeds and, off the loop, stores the keys.
                sock.sendall(b"p AUTHENTICATE PLAIN " + b64(b"\0alice\0secret").encode() +
                             b"\r\n")
                self.assertRegex(recv_until(sock, rb"p (OK|NO)[^\r\n]*\r\n"), rb"p OK ")
                sock.close()
                scram_ok = None
                for _ in range(50):  # the keys are written by the pool job
                    sock = connect_plain(port)
                    first, final = ScramClient(sock).authenticate("alice", "secret")
                    sock.close()
                    if final.startswith(b"a OK"):
                        scram_ok = first
                        break
                    time.sleep(0.1)
                self.assertIsNotNone(scram_ok, "SCRAM never succeeded after PLAIN")
                self.assertNotEqual(scram_ok.split(",")[1], fake_alice_salt)
                salts = []
                for _ in range(2):
                    sock = connect_plain(port)
                    first, _ = ScramClient(sock).authenticate("nobody", "x")
                    salts.append(first.split(",")[1:])
                    sock.close()
            finally:
                again.proc.kill()
                again.proc.wait(timeout=WAIT)
            # After a restart the unknown user's salt is still the same.
            third = ImapdServer(data_dir=data_dir, config_text=NO_DELAY)
            try:
                sock = connect_plain(third.ports["imap"])
                first, _ = ScramClient(sock).authenticate("nobody", "x")
                salts.append(first.split(",")[1:])
                sock.close()
            finally:
                third.stop()
            self.assertEqual(salts[0], salts[1])
            self.assertEqual(salts[0], salts[2])
            self.assertEqual(salts[0][1], "i=4096")
        finally:
            again.stop()

    def test_user_passwd_writes_keys_with_configured_iterations(self):
        server = ImapdServer(ephemeral=False, config_text=NO_DELAY)
        try:
            config = os.path.join(server.tmp.name, "admin.conf")
            with open(config, "w") as f:
                f.write("[server]\ndata_dir = \"%s\"\n[auth]\nscram_iterations = 5000\n" %
                        server.data_dir)
            result = subprocess.run([IMAPD, "user", "add", "carol", "--password-stdin",
                                     "--config", config], input="carol-pw\n",
                                    capture_output=True, text=True, timeout=WAIT)
            self.assertEqual(result.returncode, 0, result.stderr)
            sock = connect_plain(server.ports["imap"])
            first, final = ScramClient(sock, "SCRAM-SHA-1", "sha1").authenticate("carol",
                                                                                 "carol-pw")
            self.assertIn(",i=5000", first)
            self.assertRegex(final, rb"^a OK \[CAPABILITY [^\]]*\] Logged in\r\n$")
            sock.close()
        finally:
            server.stop()


if __name__ == "__main__":
    if "--imapd" in sys.argv:
        i = sys.argv.index("--imapd")
        IMAPD = test_serve.IMAPD = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    if not IMAPD:
        sys.exit("usage: test_scram.py --imapd PATH [unittest args]")
    unittest.main()
