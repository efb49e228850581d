#!/usr/bin/env python3
"""Real IMAP clients against the real imapd binary over loopback.

Usage: test_clients.py --imapd PATH [unittest args, e.g. a class name]

Each class drives one client from Debian (or Python's standard library) the
way a user would, then checks the result on both sides: what the client
ended up with, and what the server holds (through a second, independent
imaplib connection). Clients that are not installed are skipped with a
message; deps.sh installs them all (isync, offlineimap3, curl).

The server runs with a certificate made here by openssl (with
subjectAltName IP:127.0.0.1) so clients that verify certificates can be
told to trust it.
"""
import email
import imaplib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve  # noqa: E402  (ImapdServer, client_tls_context)

WAIT = 60  # seconds: the bound on every client run


def message(subject, body, sender="bob@example.org", to="alice@example.org", date=None):
    date = date or "Mon, 7 Feb 1994 21:52:25 -0800"
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n"
            "Message-ID: <%s@example.org>\r\n\r\n%s\r\n" %
            (sender, to, subject, date, re.sub(r"\W", "", subject), body)).encode()


class CertDir:
    """A self-signed certificate for 127.0.0.1 in a temporary directory."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="imapd-cert-")
        self.cert = os.path.join(self.tmp.name, "cert.pem")
        self.key = os.path.join(self.tmp.name, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", self.key, "-out", self.cert],
            check=True, capture_output=True, timeout=WAIT)

    def cleanup(self):
        self.tmp.cleanup()


class ClientTest(unittest.TestCase):
    """Starts imapd with alice:secret and a certificate clients can trust."""

    def setUp(self):
        self.certs = CertDir()
        # Debug log: one line per command, so tests can check which commands
        # a client used (not only the result).
        self.server = test_serve.ImapdServer(
            extra_args=["--tls-cert", self.certs.cert, "--tls-key", self.certs.key,
                        "--log-level", "debug"])
        self.work = tempfile.TemporaryDirectory(prefix="imapd-client-")

    def tearDown(self):
        self.server.stop()
        self.certs.cleanup()
        self.work.cleanup()

    def admin(self):
        """An independent imaplib connection, to look at the server's state."""
        conn = imaplib.IMAP4("127.0.0.1", self.server.ports["imap"], timeout=WAIT)
        conn.login("alice", "secret")
        return conn

    def seed(self, mailbox, messages, flags=""):
        conn = self.admin()
        if mailbox != "INBOX":
            conn.create(mailbox)
        for m in messages:
            typ, _ = conn.append(mailbox, flags, None, m)
            self.assertEqual(typ, "OK")
        conn.logout()

    def server_messages(self, mailbox):
        """{Subject: (flags set, body bytes)} of a mailbox on the server."""
        conn = self.admin()
        typ, exists = conn.select('"%s"' % mailbox, readonly=True)
        self.assertEqual(typ, "OK")
        result = {}
        if exists == [b"0"]:
            conn.logout()
            return result  # "1:*" names no message: BAD (RFC 3501 9)
        typ, data = conn.fetch("1:*", "(FLAGS BODY.PEEK[])")
        if typ == "OK" and data != [None]:
            for item in data:
                if not isinstance(item, tuple):
                    continue
                flags = set(imaplib.ParseFlags(item[0])) - {b"\\Recent"}
                parsed = email.message_from_bytes(item[1])
                result[parsed["Subject"]] = ({f.decode() for f in flags}, item[1])
        conn.logout()
        return result

    def local(self, folder):
        """{Subject: flags letters} of a local Maildir folder."""
        result = {}
        for sub in ("cur", "new"):
            directory = os.path.join(self.maildir, folder, sub)
            if not os.path.isdir(directory):
                continue
            for name in os.listdir(directory):
                with open(os.path.join(directory, name), "rb") as f:
                    parsed = email.message_from_bytes(f.read())
                info = name.split(":2,")[1] if ":2," in name else ""
                result[parsed["Subject"]] = info
        return result

    def assert_agree(self, folders):
        """Both sides hold the same messages with the same flags."""
        letters = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S",
                   "\\Deleted": "T"}
        for folder in folders:
            remote = {subject: "".join(sorted(letters[f] for f in flags if f in letters))
                      for subject, (flags, _) in self.server_messages(folder).items()}
            self.assertEqual(self.local(folder), remote, folder)

    def run_client(self, args, **kwargs):
        proc = subprocess.run(args, capture_output=True, timeout=WAIT, **kwargs)
        if proc.returncode != 0:
            self.fail("%s exited %d\nstdout:\n%s\nstderr:\n%s\nserver log:\n%s" %
                      (args[0], proc.returncode, proc.stdout.decode(errors="replace"),
                       proc.stderr.decode(errors="replace"), self.server.log()))
        return proc


class Imaplib(ClientTest):
    """Python's imaplib through a whole session, over STARTTLS and over TLS."""

    def test_session_over_starttls(self):
        conn = imaplib.IMAP4("127.0.0.1", self.server.ports["imap"], timeout=WAIT)
        conn.starttls(ssl_context=test_serve.client_tls_context())
        self.exercise(conn)

    def test_session_over_implicit_tls(self):
        conn = imaplib.IMAP4_SSL("127.0.0.1", self.server.ports["imaps"], timeout=WAIT,
                                 ssl_context=test_serve.client_tls_context())
        self.exercise(conn)

    def exercise(self, conn):
        self.assertEqual(conn.login("alice", "secret")[0], "OK")
        self.assertEqual(conn.create("Archive/2024")[0], "OK")
        typ, data = conn.list()
        self.assertEqual(typ, "OK")
        names = [re.search(rb'"/" (.*)$', line).group(1) for line in data]
        self.assertIn(b"INBOX", names)
        self.assertIn(b"Archive/2024", names)

        first = message("first", "one")
        second = message("second", "two two")
        self.assertEqual(conn.append("INBOX", r"(\Flagged)", None, first)[0], "OK")
        self.assertEqual(conn.append("INBOX", None, None, second)[0], "OK")
        typ, data = conn.select("INBOX")
        self.assertEqual((typ, data), ("OK", [b"2"]))

        typ, data = conn.search(None, "FLAGGED")
        self.assertEqual((typ, data), ("OK", [b"1"]))
        typ, data = conn.search(None, "BODY", '"two two"')
        self.assertEqual((typ, data), ("OK", [b"2"]))

        typ, data = conn.fetch("1", "(BODY.PEEK[] RFC822.SIZE)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0][1], first)
        self.assertIn(b"RFC822.SIZE %d" % len(first), data[0][0])
        typ, data = conn.uid("FETCH", "1:*", "(FLAGS)")
        self.assertEqual(typ, "OK")
        self.assertEqual(len(data), 2)

        typ, data = conn.store("2", "+FLAGS", r"(\Deleted)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"\\Deleted", data[0])
        self.assertEqual(conn.copy("1", "Archive/2024")[0], "OK")
        typ, data = conn.expunge()
        self.assertEqual((typ, data), ("OK", [b"2"]))
        typ, data = conn.status("Archive/2024", "(MESSAGES UIDNEXT)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"MESSAGES 1", data[0])

        # Every FETCH item of RFC 3501 6.4.5 on one message.
        typ, data = conn.fetch("1", "(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE "
                                    "UID RFC822.HEADER BODY.PEEK[TEXT] "
                                    "BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[]<0.4>)")
        self.assertEqual(typ, "OK")
        header, text = first.split(b"\r\n\r\n", 1)
        flat = b"".join(part if isinstance(part, bytes) else part[0] + part[1] for part in data)
        self.assertIn(b"FLAGS (\\Flagged", flat)
        self.assertIn(b'ENVELOPE ("Mon, 7 Feb 1994 21:52:25 -0800" "first"', flat)
        self.assertIn(b'BODY ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 1)', flat)
        self.assertIn(b"BODYSTRUCTURE (", flat)
        self.assertIn(header + b"\r\n\r\n", flat)
        self.assertIn(b"Subject: first\r\n\r\n", flat)
        self.assertIn(b"BODY[]<0> {4}From", flat)  # imaplib drops the CRLF after {n}
        typ, data = conn.fetch("1", "(RFC822.TEXT)")  # sets \Seen
        self.assertEqual(data[0][1], text)
        typ, data = conn.fetch("1", "(FLAGS)")
        self.assertIn(b"\\Seen", data[0])

        # Searches with every kind of key.
        for criteria, expected in [
                (("SEEN",), b"1"), (("UNSEEN",), b""), (("FROM", "bob"), b"1"),
                (("OR", "SUBJECT", "first", "LARGER", "1"), b"1"),
                (("NOT", "FLAGGED"), b""), (("SENTON", "7-Feb-1994"), b"1"),
                (("UID", "1:*"), b"1"), (("HEADER", "Message-ID", "first"), b"1")]:
            typ, data = conn.search(None, *criteria)
            self.assertEqual((typ, data), ("OK", [expected]), criteria)

        # Rename and delete in the folder tree.
        self.assertEqual(conn.create("Archive/2025/Q1")[0], "OK")
        self.assertEqual(conn.rename("Archive/2024", "Archive/Old")[0], "OK")
        typ, data = conn.list('""', "Archive/*")  # imaplib sends "" as nothing
        self.assertEqual(typ, "OK")
        names = sorted(re.search(rb'"/" (.*)$', line).group(1) for line in data)
        self.assertEqual(names, [b"Archive/2025", b"Archive/2025/Q1", b"Archive/Old"])
        typ, data = conn.status("Archive/Old", "(MESSAGES)")
        self.assertIn(b"MESSAGES 1", data[0])
        self.assertEqual(conn.delete("Archive/Old")[0], "OK")
        typ, data = conn.delete("Archive/Old")
        self.assertEqual(typ, "NO")
        self.assertEqual(conn.subscribe("Archive/2025/Q1")[0], "OK")
        typ, data = conn.lsub('""', "*")
        # The defaults of a new account (RFC 6154) are subscribed too.
        self.assertEqual(data, [b'() "/" Archive', b'() "/" Archive/2025/Q1', b'() "/" Drafts',
                                b'() "/" Junk', b'() "/" Sent', b'() "/" Trash'])
        self.assertEqual(conn.close()[0], "OK")
        self.assertEqual(conn.logout()[0], "BYE")


class Curl(ClientTest):
    """curl's IMAP support: list, fetch by UID, append with -T, over imaps."""

    def setUp(self):
        if shutil.which("curl") is None:
            self.skipTest("curl is not installed (deps.sh installs it)")
        super().setUp()

    def curl(self, url, *extra):
        return self.run_client(
            ["curl", "--silent", "--show-error", "--cacert", self.certs.cert,
             "--user", "alice:secret", url] + list(extra)).stdout

    def test_append_list_fetch(self):
        base = "imaps://127.0.0.1:%d" % self.server.ports["imaps"]
        body = message("via curl", "hello from curl")
        path = os.path.join(self.work.name, "message.eml")
        with open(path, "wb") as f:
            f.write(body)
        self.curl(base + "/INBOX", "-T", path)
        self.assertEqual(set(self.server_messages("INBOX")), {"via curl"})

        listing = self.curl(base + "/")
        self.assertRegex(listing, rb'\* LIST \(\\HasNoChildren \\(Marked|Unmarked)\) "/" INBOX')

        fetched = self.curl(base + "/INBOX;UID=1")
        self.assertEqual(fetched, body)
        # A section: the header fields curl asks for by URL.
        subject = self.curl(base + "/INBOX;UID=1;SECTION=HEADER.FIELDS%20(SUBJECT)")
        self.assertEqual(subject, b"Subject: via curl\r\n\r\n")

        # curl's custom request: a SEARCH.
        found = self.curl(base + "/INBOX", "--request", "SEARCH SUBJECT curl")
        self.assertIn(b"* SEARCH 1", found)

    def test_starttls_required(self):
        body = message("plain port", "over STARTTLS")
        path = os.path.join(self.work.name, "message.eml")
        with open(path, "wb") as f:
            f.write(body)
        self.curl("imap://127.0.0.1:%d/INBOX" % self.server.ports["imap"], "--ssl-reqd",
                  "-T", path)
        self.assertEqual(set(self.server_messages("INBOX")), {"plain port"})


class Mbsync(ClientTest):
    """isync's mbsync: a two-way sync with a local Maildir, flags both ways."""

    def setUp(self):
        if shutil.which("mbsync") is None:
            self.skipTest("mbsync is not installed (deps.sh installs isync)")
        super().setUp()
        self.maildir = os.path.join(self.work.name, "mail")
        os.makedirs(self.maildir)
        self.config = os.path.join(self.work.name, "mbsyncrc")
        with open(self.config, "w") as f:
            f.write("""IMAPAccount test
Host 127.0.0.1
Port %d
User alice
Pass secret
SSLType IMAPS
CertificateFile %s

IMAPStore remote
Account test

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""" % (self.server.ports["imaps"], self.certs.cert, self.maildir, self.maildir))

    def sync(self):
        return self.run_client(["mbsync", "--config", self.config, "--all"])

    def test_two_way_sync(self):
        self.seed("INBOX", [message("server one", "1"), message("server two", "2")])
        self.seed("Lists/dev", [message("list mail", "3")], flags=r"(\Seen)")
        self.sync()
        self.assertEqual(self.local("INBOX"), {"server one": "", "server two": ""})
        self.assertEqual(self.local("Lists/dev"), {"list mail": "S"})

        # A local change of flags and a new local message go up.
        inbox_cur = os.path.join(self.maildir, "INBOX", "cur")
        inbox_new = os.path.join(self.maildir, "INBOX", "new")
        for directory in (inbox_new, inbox_cur):
            for name in os.listdir(directory):
                with open(os.path.join(directory, name), "rb") as f:
                    if b"Subject: server one" in f.read():
                        base = name.split(":2,")[0]
                        os.rename(os.path.join(directory, name),
                                  os.path.join(inbox_cur, base + ":2,FS"))
        with open(os.path.join(inbox_new, "1700000000.local.host"), "wb") as f:
            f.write(message("written locally", "4").replace(b"\r\n", b"\n"))
        self.sync()
        on_server = self.server_messages("INBOX")
        self.assertEqual(set(on_server), {"server one", "server two", "written locally"})
        self.assertEqual(on_server["server one"][0], {"\\Flagged", "\\Seen"})

        # A change on the server comes down; a second sync is a no-op.
        conn = self.admin()
        conn.select("INBOX")
        typ, data = conn.search(None, "SUBJECT", '"server two"')
        conn.store(data[0].decode(), "+FLAGS", r"(\Answered)")
        conn.logout()
        self.sync()
        self.assertEqual(self.local("INBOX")["server two"], "R")
        self.assert_agree(["INBOX", "Lists/dev"])

        # Deleted on the near side: expunged on the server.
        for directory in (inbox_cur, inbox_new):
            for name in os.listdir(directory):
                with open(os.path.join(directory, name), "rb") as f:
                    if b"Subject: server two" in f.read():
                        os.unlink(os.path.join(directory, name))
        # Deleted on the server: removed locally.
        conn = self.admin()
        conn.select('"Lists/dev"')
        conn.store("1", "+FLAGS", r"(\Deleted)")
        conn.expunge()
        conn.logout()
        self.sync()
        self.assertEqual(set(self.server_messages("INBOX")), {"server one", "written locally"})
        self.assertEqual(self.local("Lists/dev"), {})
        # RFC 4315: with UIDPLUS advertised, mbsync takes the UIDs of what
        # it uploads from APPENDUID; without it, it would look each upload
        # up with UID SEARCH HEADER X-TUID. The server's debug log shows
        # which commands it used.
        log = self.server.log()
        self.assertIn("command=APPEND status=ok", log)
        self.assertIn('command="UID STORE" status=ok', log)
        self.assertNotIn('command="UID SEARCH"', log)
        self.assert_agree(["INBOX", "Lists/dev"])
        # A second sync with nothing changed changes nothing.
        self.sync()
        self.assert_agree(["INBOX", "Lists/dev"])

class OfflineImap(ClientTest):
    """OfflineIMAP: a full sync of folders and flags to a local Maildir."""

    def setUp(self):
        if shutil.which("offlineimap") is None:
            self.skipTest("offlineimap is not installed (deps.sh installs offlineimap3)")
        super().setUp()
        self.maildir = os.path.join(self.work.name, "mail")
        self.config = os.path.join(self.work.name, "offlineimaprc")
        with open(self.config, "w") as f:
            f.write("""[general]
accounts = test
metadata = %s/meta

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = %s

[Repository remote]
type = IMAP
remotehost = 127.0.0.1
remoteport = %d
remoteuser = alice
remotepass = secret
ssl = yes
sslcacertfile = %s
""" % (self.work.name, self.maildir, self.server.ports["imaps"], self.certs.cert))

    def sync(self):
        return self.run_client(["offlineimap", "-c", self.config, "-o", "-u", "basic"])

    def test_sync_folders_and_flags(self):
        self.seed("INBOX", [message("hello offlineimap", "1")], flags=r"(\Seen)")
        self.seed("Work", [message("work item", "2"), message("second item", "3")])
        self.sync()
        self.assertEqual(self.local("INBOX"), {"hello offlineimap": "S"})
        self.assertEqual(self.local("Work"), {"work item": "", "second item": ""})

        # A local flag change and a local deletion go up; a server-side
        # deletion and flag change come down.
        inbox = os.path.join(self.maildir, "INBOX", "cur")
        name = os.listdir(inbox)[0]
        os.rename(os.path.join(inbox, name),
                  os.path.join(inbox, name.split(":2,")[0] + ":2,FS"))
        for sub in ("cur", "new"):
            directory = os.path.join(self.maildir, "Work", sub)
            for entry in os.listdir(directory):
                with open(os.path.join(directory, entry), "rb") as f:
                    if b"Subject: second item" in f.read():
                        os.unlink(os.path.join(directory, entry))
        conn = self.admin()
        conn.select("Work")
        conn.store("1", "+FLAGS", r"(\Answered)")
        conn.logout()
        self.sync()
        self.assertEqual(self.server_messages("INBOX")["hello offlineimap"][0],
                         {"\\Flagged", "\\Seen"})
        self.assertEqual(set(self.server_messages("Work")), {"work item"})
        self.assertEqual(self.local("Work"), {"work item": "R"})
        self.assert_agree(["INBOX", "Work"])

        conn = self.admin()
        conn.select("Work")
        conn.store("1", "+FLAGS", r"(\Deleted)")
        conn.expunge()
        conn.logout()
        self.sync()
        self.assertEqual(self.local("Work"), {})
        self.assert_agree(["INBOX", "Work"])


def main():
    args = test_serve.take_imapd_argument("test_clients.py")
    unittest.main(argv=[sys.argv[0]] + args, verbosity=2)


if __name__ == "__main__":
    main()
