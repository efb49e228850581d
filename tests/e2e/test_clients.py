#!/usr/bin/env python3
"""Real IMAP clients against the real imapd binary over loopback.

Usage: test_clients.py --imapd PATH [unittest args, e.g. a class name]

Each class drives one client from Debian (or Python's standard library, or
npm) the way a user would, then checks the result on both sides: what the
client ended up with, and what the server holds (through a second,
independent imaplib connection), message by message and flag by flag.
Clients that are not installed are skipped with a message; deps.sh installs
them all (isync, offlineimap3, curl, fetchmail, getmail6, imapfilter,
dovecot-core for doveadm) and test.sh runs `npm ci` for node-imap.

The server runs with a certificate made here by openssl (with
subjectAltName IP:127.0.0.1) so clients that verify certificates can be
told to trust it.
"""
import base64
import email
import glob
import imaplib
import json
import os
import pwd
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


# Maildir info letters (as mbsync, OfflineIMAP, Dovecot and getmail write
# them) for the IMAP system flags.
LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S",
           "\\Deleted": "T"}
FLAG_OF_LETTER = {letter: flag for flag, letter in LETTERS.items()}


def crlf(data):
    """Bytes with every line end CRLF (what the server stores for mail that a
    client kept with LF line ends)."""
    return re.sub(rb"\r?\n", b"\r\n", data)


def poll(condition, what, timeout=WAIT, interval=0.05):
    """Waits until condition() is true (no fixed sleeps); fails after timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def read_dovecot_maildir(root):
    """{mailbox (as IMAP names it, modified UTF-7): sorted [(CRLF bytes,
    frozenset of flags)]} of a Maildir++ tree as Dovecot writes it: INBOX
    at the root, ".A.B" for A/B, keywords as letters a-z named in each
    folder's dovecot-keywords."""
    folders = {"INBOX": root}
    for entry in os.listdir(root):
        path = os.path.join(root, entry)
        if entry.startswith(".") and entry not in (".", "..") and os.path.isdir(path):
            folders[entry[1:].replace(".", "/")] = path
    result = {}
    for name, path in folders.items():
        keywords = {}
        keywords_file = os.path.join(path, "dovecot-keywords")
        if os.path.exists(keywords_file):
            with open(keywords_file) as f:
                for line in f:
                    number, keyword = line.split()
                    keywords[chr(ord("a") + int(number))] = keyword
        messages = []
        for sub in ("cur", "new"):
            directory = os.path.join(path, sub)
            if not os.path.isdir(directory):
                continue
            for file_name in os.listdir(directory):
                with open(os.path.join(directory, file_name), "rb") as f:
                    data = f.read()
                info = file_name.split(":2,", 1)[1] if ":2," in file_name else ""
                flags = {FLAG_OF_LETTER.get(c) or keywords[c] for c in info}
                messages.append((crlf(data), frozenset(flags)))
        result[name] = sorted(messages)
    return result


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
                        "--listen-pop3", "127.0.0.1:0", "--listen-pop3s", "127.0.0.1:0",
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

    def server_state(self, with_dates=False, noselect_as_empty=False):
        """{mailbox: sorted [(bytes, frozenset of flags without \\Recent)
        (, INTERNALDATE)]} for every selectable mailbox on the server (and
        each \\Noselect one as empty, if asked), names as the server writes
        them."""
        conn = self.admin()
        typ, listing = conn.list('""', "*")
        self.assertEqual(typ, "OK")
        state = {}
        for line in listing:
            attributes, name = re.match(rb'\((.*?)\) "/" (.*)$', line).groups()
            name = name.decode()
            if b"\\Noselect" in attributes:
                if noselect_as_empty:
                    state[name.strip('"')] = []
                continue
            typ, exists = conn.select(name if name.startswith('"') else '"%s"' % name,
                                      readonly=True)
            self.assertEqual(typ, "OK", name)
            messages = []
            if exists != [b"0"]:
                typ, data = conn.fetch("1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
                self.assertEqual(typ, "OK")
                for item in data:
                    if not isinstance(item, tuple):
                        continue
                    flags = frozenset(f.decode() for f in imaplib.ParseFlags(item[0])
                                      if f != b"\\Recent")
                    date = time.mktime(imaplib.Internaldate2tuple(item[0]))
                    messages.append((item[1], flags, date) if with_dates else (item[1], flags))
            state[name.strip('"')] = sorted(messages)
        conn.logout()
        return state

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

    def test_utf8_accept(self):
        """RFC 6855: imaplib's enable("UTF8=ACCEPT") switches it to UTF-8;
        a UTF-8 mailbox name, an APPEND with RFC 6532 header fields and a
        SEARCH by UTF-8 strings (no CHARSET) then work, and a client that
        did not enable it sees modified UTF-7 (RFC 3501 5.1.3)."""
        conn = imaplib.IMAP4("127.0.0.1", self.server.ports["imap"], timeout=WAIT)
        self.assertEqual(conn.login("alice", "secret")[0], "OK")
        # imaplib keeps the greeting's list; ENABLE comes after login.
        conn._get_capabilities()
        self.assertIn("UTF8=ACCEPT", conn.capabilities)
        self.assertIn("IMAP4REV2", conn.capabilities)
        self.assertEqual(conn.enable("UTF8=ACCEPT"), ("OK", [b"ENABLE completed"]))
        self.assertEqual(conn.untagged_responses.get("ENABLED"), [b"UTF8=ACCEPT"])
        self.assertTrue(conn.utf8_enabled)
        # imaplib quotes nothing itself; the quoted string carries UTF-8.
        self.assertEqual(conn.create('"Entw\u00fcrfe"')[0], "OK")
        typ, data = conn.list('""', '"Entw*"')
        self.assertEqual((typ, data),
                         ("OK", ['(\\HasNoChildren \\Unmarked) "/" "Entw\u00fcrfe"'.encode()]))
        raw = ("From: J\u00f6rg <j\u00f6rg@b\u00fccher.example>\r\n"
               "Subject: Gr\u00fc\u00dfe\r\n\r\nGr\u00fc\u00dfe aus M\u00fcnchen.\r\n"
               ).encode()
        # imaplib's append() puts "UTF8 (" inside the literal once UTF-8 is
        # enabled (CPython gh-78319), which stores those bytes in the
        # message; the plain literal RFC 9051 uses is sent instead.
        conn.literal = raw
        typ, data = conn._simple_command("APPEND", '"Entw\u00fcrfe"')
        self.assertEqual(typ, "OK", data)
        typ, data = conn.select('"Entw\u00fcrfe"')
        self.assertEqual((typ, data), ("OK", [b"1"]))
        typ, data = conn.search(None, "SUBJECT", '"Gr\u00fc\u00dfe"', "FROM", '"j\u00f6rg"')
        self.assertEqual((typ, data), ("OK", [b"1"]))
        # RFC 6855 3: CHARSET is BAD now (imaplib itself refuses to send
        # one in UTF-8 mode, so it goes out by hand).
        with self.assertRaisesRegex(imaplib.IMAP4.error, "CHARSET after ENABLE UTF8=ACCEPT"):
            conn._simple_command("SEARCH", "CHARSET", "UTF-8", "ALL")
        typ, data = conn.fetch("1", "(BODY.PEEK[])")
        self.assertEqual(data[0][1], raw)
        conn.logout()
        legacy = imaplib.IMAP4("127.0.0.1", self.server.ports["imap"], timeout=WAIT)
        legacy.login("alice", "secret")
        typ, data = legacy.list('""', "Entw*")
        self.assertEqual((typ, data), ("OK", [b'(\\HasNoChildren \\Unmarked) "/" Entw&APw-rfe']))
        legacy.logout()

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


def multipart(subject, text, attachment):
    """A multipart/mixed message with a text part and a base64 attachment."""
    encoded = base64.encodebytes(attachment).replace(b"\n", b"\r\n")
    return (b"From: carol@example.org\r\nTo: alice@example.org\r\nSubject: " +
            subject.encode() + b"\r\nDate: Wed, 3 Jan 2024 10:00:00 +0100\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
            b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n" + text.encode() + b"\r\n"
            b"--b1\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--b1--\r\n")


def seed_mail():
    """Messages every download client gets: plain, one with 8-bit UTF-8 text
    and a binary attachment, one with a line starting "From " and a long
    line, and one already \\Seen. (subject, bytes, flags) each."""
    return [
        ("plain", message("plain", "hello"), ""),
        ("mime", multipart("mime", "Gr\u00fc\u00dfe \u2013 caf\u00e9", bytes(range(256)) * 8),
         r"(\Flagged $Label1)"),
        ("from line", message("from line", "From here on\r\n>From there\r\n" + "x" * 5000),
         ""),
        ("seen", message("seen", "read before"), r"(\Seen)"),
    ]


class Fetchmail(ClientTest):
    """fetchmail: every message byte for byte into an MDA, \\Seen set when it
    keeps the mail, deleted and expunged when it does not, and a message
    appended by another client fetched while it waits in IDLE (RFC 2177)."""

    def setUp(self):
        if shutil.which("fetchmail") is None:
            self.skipTest("fetchmail is not installed (deps.sh installs it)")
        super().setUp()
        self.delivered = os.path.join(self.work.name, "delivered")
        os.makedirs(self.delivered)
        # The MDA stores each message it is given in the next numbered file.
        self.mda = os.path.join(self.work.name, "mda.py")
        with open(self.mda, "w") as f:
            f.write("import os, sys\n"
                    "directory = sys.argv[1]\n"
                    "data = sys.stdin.buffer.read()\n"
                    "name = os.path.join(directory, '%03d' % len(os.listdir(directory)))\n"
                    "with open(name + '.tmp', 'wb') as f:\n"
                    "    f.write(data)\n"
                    "os.rename(name + '.tmp', name)\n")

    def rc(self, options):
        """A run control file (fetchmail wants it 0600): STARTTLS on the plain
        port with the certificate checked."""
        path = os.path.join(self.work.name, "fetchmailrc")
        with open(path, "w") as f:
            f.write("""set no syslog
poll 127.0.0.1 port %d protocol IMAP
  user "alice" there with password "secret" is "alice" here
  sslcertck sslcertfile "%s" sslcommonname localhost
  mda "%s %s %s"
  %s
""" % (self.server.ports["imap"], self.certs.cert, sys.executable, self.mda, self.delivered,
       options))
        os.chmod(path, 0o600)
        return path

    def fetchmail(self, options, *args, expect_mail=True):
        env = dict(os.environ, HOME=self.work.name, FETCHMAILHOME=self.work.name)
        # Its own lock file: run as root, fetchmail locks /var/run/fetchmail.pid
        # whatever FETCHMAILHOME says, and the IMAP and POP3 tests run at once
        # under ctest -j ("another foreground fetchmail is running", exit 8).
        pidfile = os.path.join(self.work.name, "fetchmail.pid")
        proc = subprocess.run(["fetchmail", "--pidfile", pidfile, "-f", self.rc(options)] +
                              list(args),
                              capture_output=True, timeout=WAIT, env=env)
        # Exit 0: mail was delivered; 1: there was none (fetchmail(1)).
        if proc.returncode != (0 if expect_mail else 1):
            self.fail("fetchmail exited %d\n%s\nserver log:\n%s" %
                      (proc.returncode, proc.stderr.decode(errors="replace"), self.server.log()))

    def deliveries(self):
        """What the MDA got, in order, without the Received: field fetchmail
        puts first, with the CRLF line ends fetchmail turned into LF."""
        result = []
        for name in sorted(os.listdir(self.delivered)):
            if name.endswith(".tmp"):
                continue
            with open(os.path.join(self.delivered, name), "rb") as f:
                data = f.read()
            received = re.match(rb"Received: [^\n]*\n(?:[ \t][^\n]*\n)*", data)
            self.assertIsNotNone(received, data[:200])
            result.append(crlf(data[received.end():]))
        return result

    def test_keep_then_delete(self):
        mail = seed_mail()
        for _, body, flags in mail:
            self.seed("INBOX", [body], flags=flags)
        unseen = [body for _, body, flags in mail if "Seen" not in flags]
        # keep: the unseen messages, exactly; fetchmail marks them \Seen.
        self.fetchmail("keep")
        self.assertEqual(self.deliveries(), unseen)
        self.assertEqual(self.server_state()["INBOX"], sorted([
            (mail[0][1], frozenset({"\\Seen"})),
            (mail[1][1], frozenset({"\\Seen", "\\Flagged", "$Label1"})),
            (mail[2][1], frozenset({"\\Seen"})),
            (mail[3][1], frozenset({"\\Seen"}))]))
        # Nothing new: nothing fetched (exit 1).
        self.fetchmail("keep", expect_mail=False)
        self.assertEqual(len(self.deliveries()), 3)
        # Without keep a new message is fetched, then deleted and expunged.
        late = message("late", "arrived later")
        self.seed("INBOX", [late])
        self.fetchmail("")
        self.assertEqual(self.deliveries(), unseen + [late])
        self.assertEqual(len(self.server_state()["INBOX"]), 4)
        # fetchall without keep: every message, and the mailbox is empty.
        self.fetchmail("fetchall")
        self.assertEqual(self.deliveries(), unseen + [late] + [body for _, body, _ in mail])
        self.assertEqual(self.server_state()["INBOX"], [])

    def test_idle_fetches_what_another_client_appends(self):
        first = message("before idle", "one")
        self.seed("INBOX", [first])
        env = dict(os.environ, HOME=self.work.name, FETCHMAILHOME=self.work.name)
        log_path = os.path.join(self.work.name, "fetchmail.log")
        with open(log_path, "wb") as log:
            # -v: fetchmail shows its IMAP commands, so the test can wait for IDLE.
            proc = subprocess.Popen(["fetchmail", "--pidfile",
                                     os.path.join(self.work.name, "fetchmail.pid"), "-f",
                                     self.rc("keep idle"), "-v"],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            def idling():
                with open(log_path, "rb") as f:
                    return re.search(rb"IMAP> \S+ IDLE", f.read()) is not None
            poll(idling, "fetchmail to enter IDLE")
            self.assertEqual(self.deliveries(), [first])
            pushed = message("pushed", "appended by another client")
            self.seed("INBOX", [pushed])
            poll(lambda: len(self.deliveries()) == 2, "fetchmail to deliver the pushed message")
            self.assertEqual(self.deliveries(), [first, pushed])
            poll(lambda: self.server_state()["INBOX"] ==
                 sorted([(first, frozenset({"\\Seen"})), (pushed, frozenset({"\\Seen"}))]),
                 "fetchmail to mark the pushed message seen")
            self.assertIsNone(proc.poll(), "fetchmail stopped idling")
        finally:
            proc.terminate()
            proc.wait(timeout=WAIT)
        with open(log_path, "rb") as f:
            log = f.read()
        # It heard of the message in IDLE (RFC 2177), not from a new poll.
        self.assertRegex(log, rb"IMAP< \* 2 EXISTS")
        self.assertRegex(log, rb"IMAP> DONE")


class FetchmailPop3(Fetchmail):
    """fetchmail over POP3 (docs/pop3.md) with STLS and the certificate
    checked: the same bytes IMAP serves; a "keep" run leaves the mail, a run
    without it deletes what it fetched and IMAP sees it gone; what IMAP
    expunged is not offered to POP3."""

    def rc(self, options):
        path = os.path.join(self.work.name, "fetchmailrc")
        with open(path, "w") as f:
            f.write("""set no syslog
poll 127.0.0.1 port %d protocol POP3 uidl
  user "alice" there with password "secret" is "alice" here
  sslproto tls1.2+ sslcertck sslcertfile "%s" sslcommonname localhost
  mda "%s %s %s"
  %s
""" % (self.server.ports["pop3"], self.certs.cert, sys.executable, self.mda, self.delivered,
       options))
        os.chmod(path, 0o600)
        return path

    def test_keep_then_delete(self):
        mail = seed_mail()
        for _, body, flags in mail:
            self.seed("INBOX", [body], flags=flags)
        everything = [body for _, body, _ in mail]
        # POP3 has no \Seen: "fetchall keep" takes every message, IMAP's bytes.
        self.fetchmail("fetchall keep")
        self.assertEqual(self.deliveries(), everything)
        self.assertEqual([body for body, _ in self.server_state()["INBOX"]], sorted(everything))
        # A deletion over IMAP: POP3 no longer offers that message.
        conn = self.admin()
        conn.select("INBOX")
        conn.store("1", "+FLAGS", "\\Deleted")
        conn.expunge()
        conn.logout()
        # Without keep: fetched, deleted at QUIT, gone for IMAP too.
        self.fetchmail("fetchall")
        self.assertEqual(self.deliveries(), everything + everything[1:])
        self.assertEqual(self.server_state()["INBOX"], [])

    def test_idle_fetches_what_another_client_appends(self):
        self.skipTest("IDLE is IMAP's (RFC 2177); POP3 has no push")


class GetmailClient(ClientTest):
    """getmail6 into a Maildir: what its IMAP and POP3 tests share."""

    def setUp(self):
        if shutil.which("getmail") is None:
            self.skipTest("getmail is not installed (deps.sh installs getmail6)")
        super().setUp()
        self.maildir = os.path.join(self.work.name, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub))
        self.user = None
        if os.geteuid() == 0:
            # getmail refuses to deliver as root: its destination drops to nobody.
            self.user = "nobody"
            os.chmod(self.work.name, 0o755)
            nobody = pwd.getpwnam("nobody")
            for directory, _, _ in os.walk(self.maildir):
                os.chown(directory, nobody.pw_uid, nobody.pw_gid)

    def delivered(self):
        """The messages in the Maildir, sorted, without the Return-Path:
        field getmail writes first, CRLF again."""
        result = []
        for sub in ("cur", "new"):
            for name in os.listdir(os.path.join(self.maildir, sub)):
                with open(os.path.join(self.maildir, sub, name), "rb") as f:
                    data = f.read()
                self.assertTrue(data.startswith(b"Return-Path: <unknown>\n"), data[:100])
                result.append(crlf(data[data.index(b"\n") + 1:]))
        return sorted(result)


class GetmailPop3(GetmailClient):
    """getmail6 over POP3 (SimplePOP3SSLRetriever on pop3s, SimplePOP3Retriever
    on the plain port): the same bytes as IMAP, read_all = false by UIDL,
    delete = true removes them for IMAP as well."""

    def getmail(self, retriever, **options):
        if retriever == "SimplePOP3SSLRetriever":
            connection = "port = %d\nca_certs = %s\n" % (self.server.ports["pop3s"],
                                                         self.certs.cert)
        else:
            connection = "port = %d\n" % self.server.ports["pop3"]
        settings = {"read_all": "false", "delete": "false", "delivered_to": "false",
                    "received": "false", "verbose": "0"}
        settings.update(options)
        rc = os.path.join(self.work.name, "getmailrc")
        with open(rc, "w") as f:
            f.write("[retriever]\ntype = %s\nserver = 127.0.0.1\n%susername = alice\n"
                    "password = secret\n\n[destination]\ntype = Maildir\npath = %s/\n%s\n"
                    "[options]\n%s" %
                    (retriever, connection, self.maildir,
                     "user = %s\n" % self.user if self.user else "",
                     "".join("%s = %s\n" % item for item in settings.items())))
        self.run_client(["getmail", "--getmaildir", self.work.name, "--rcfile", rc])

    def test_uidl_and_delete(self):
        mail = seed_mail()
        for _, body, flags in mail:
            self.seed("INBOX", [body], flags=flags)
        everything = sorted(body for _, body, _ in mail)
        self.getmail("SimplePOP3SSLRetriever")
        self.assertEqual(self.delivered(), everything)
        # read_all = false: its oldmail file (UIDLs) says it has them all.
        self.getmail("SimplePOP3SSLRetriever")
        self.assertEqual(self.delivered(), everything)
        late = message("late", "new since")
        self.seed("INBOX", [late])
        self.getmail("SimplePOP3SSLRetriever")
        self.assertEqual(self.delivered(), sorted(everything + [late]))
        # Another port is another oldmail file: everything again, deleted.
        self.getmail("SimplePOP3Retriever", delete="true")
        self.assertEqual(self.delivered(), sorted(2 * everything + 2 * [late]))
        # delete = true deletes what it retrieved or had: IMAP sees none left.
        self.assertEqual(self.server_state()["INBOX"], [])


class Getmail(GetmailClient):
    """getmail6 into a Maildir: every message byte for byte; read_all, delete
    and the imap_search/imap_on_delete flag options change the server
    exactly as documented; over SimpleIMAPSSLRetriever and
    SimpleIMAPRetriever."""

    def getmail(self, retriever, **options):
        if retriever == "SimpleIMAPSSLRetriever":
            connection = "port = %d\nca_certs = %s\n" % (self.server.ports["imaps"],
                                                       self.certs.cert)
        else:
            connection = "port = %d\n" % self.server.ports["imap"]
        settings = {"read_all": "false", "delete": "false", "delivered_to": "false",
                    "received": "false", "verbose": "0", "record_mailbox": "false"}
        settings.update(options)
        retriever_options = "".join(
            "%s = %s\n" % (k, settings.pop(k))
            for k in ("imap_search", "imap_on_delete", "record_mailbox") if k in settings)
        rc = os.path.join(self.work.name, "getmailrc")
        with open(rc, "w") as f:
            f.write("[retriever]\ntype = %s\nserver = 127.0.0.1\n%susername = alice\n"
                    "password = secret\nmailboxes = (\"INBOX\", \"Work\")\n%s\n"
                    "[destination]\ntype = Maildir\npath = %s/\n%s\n[options]\n%s" %
                    (retriever, connection, retriever_options, self.maildir,
                     "user = %s\n" % self.user if self.user else "",
                     "".join("%s = %s\n" % item for item in settings.items())))
        self.run_client(["getmail", "--getmaildir", self.work.name, "--rcfile", rc])

    def test_read_all_delete_and_flags(self):
        mail = seed_mail()
        for _, body, flags in mail:
            self.seed("INBOX", [body], flags=flags)
        work = [message("work one", "1"), message("work two", "2")]
        self.seed("Work", work, flags=r"(\Answered)")
        before = self.server_state()

        # First run: everything is new to getmail; BODY.PEEK leaves the
        # server as it was.
        self.getmail("SimpleIMAPSSLRetriever")
        everything = sorted([body for _, body, _ in mail] + work)
        self.assertEqual(self.delivered(), everything)
        self.assertEqual(self.server_state(), before)
        # read_all = false: what it has seen (its oldmail file) is not fetched again.
        self.getmail("SimpleIMAPSSLRetriever")
        self.assertEqual(self.delivered(), everything)
        late = message("late", "new since")
        self.seed("INBOX", [late])
        self.getmail("SimpleIMAPSSLRetriever")
        self.assertEqual(self.delivered(), sorted(everything + [late]))

        # imap_search UNSEEN with imap_on_delete \Seen: the unseen messages
        # again (read_all), then "deleted" with UID STORE n FLAGS (\Seen),
        # which replaces their flags (getmail's _retrieverbases.py).
        self.getmail("SimpleIMAPRetriever", read_all="true", delete="true",
                     imap_search="UNSEEN", imap_on_delete="\\Seen")
        unseen = [mail[0][1], mail[1][1], mail[2][1], late] + work
        self.assertEqual(self.delivered(), sorted(everything + [late] + unseen))
        state = self.server_state()
        self.assertEqual(state["INBOX"], sorted(
            (body, frozenset({"\\Seen"})) for body in [m[1] for m in mail] + [late]))
        self.assertEqual(state["Work"], sorted((body, frozenset({"\\Seen"})) for body in work))

        # read_all and delete: everything once more, then gone from the server.
        self.getmail("SimpleIMAPRetriever", read_all="true", delete="true")
        self.assertEqual(self.delivered(),
                         sorted(everything * 2 + [late] * 2 + unseen))
        state = self.server_state()
        self.assertEqual((state["INBOX"], state["Work"]), ([], []))


class Imapfilter(ClientTest):
    """imapfilter's Lua rules: move by sender, flag by subject, keyword and
    mark seen, delete by age; the server's state afterwards, exactly."""

    def setUp(self):
        if shutil.which("imapfilter") is None:
            self.skipTest("imapfilter is not installed (deps.sh installs it)")
        super().setUp()

    def test_rules(self):
        now = time.time()
        day = 86400
        spam = [message("win money", "now", sender="spam@example.net"),
                message("win more", "now", sender="Spam@Example.NET")]
        urgent = message("URGENT: server down", "please", sender="ops@example.org")
        boss = message("budget", "numbers", sender="boss@example.org")
        old = [message("ancient %d" % i, "old") for i in range(3)]
        recent = message("recent", "new")
        conn = self.admin()
        for body in spam + [urgent, recent]:
            conn.append("INBOX", None, now - day, body)
        conn.append("INBOX", r"(\Flagged)", now - 2 * day, boss)
        for i, body in enumerate(old):
            conn.append("INBOX", None, now - (400 + i) * day, body)
        conn.create("Lists")
        conn.append("Lists", r"(\Seen)", now - 500 * day, message("list archive", "keep me"))
        conn.logout()

        config = os.path.join(self.work.name, "config.lua")
        with open(config, "w") as f:
            f.write("""options.timeout = 30
options.create = true
options.certificates = false
account = IMAP {
  server = '127.0.0.1',
  port = %d,
  username = 'alice',
  password = 'secret',
}
-- Move everything from the spammer to Junk (the search is case-insensitive).
account.INBOX:contain_from('spam@example.net'):move_messages(account['Junk'])
-- Flag urgent mail and tag it with a keyword.
local urgent = account.INBOX:contain_subject('urgent')
urgent:mark_flagged()
urgent:add_flags({ '$Label1' })
-- Mail from the boss is read.
account.INBOX:contain_from('boss@example.org'):mark_seen()
-- Delete what is older than a year in INBOX (not in Lists).
account.INBOX:is_older(365):delete_messages()
""" % self.server.ports["imap"])
        # STARTTLS is used when offered; -t names the CA file to check against.
        self.run_client(["imapfilter", "-c", config, "-t", self.certs.cert],
                        env=dict(os.environ, HOME=self.work.name))
        state = self.server_state()
        self.assertEqual(state["Junk"], sorted((body, frozenset()) for body in spam))
        self.assertEqual(state["INBOX"], sorted([
            (urgent, frozenset({"\\Flagged", "$Label1"})),
            (boss, frozenset({"\\Flagged", "\\Seen"})),
            (recent, frozenset()),
        ]))
        self.assertEqual(state["Lists"],
                         [(message("list archive", "keep me"), frozenset({"\\Seen"}))])


class NodeImap(ClientTest):
    """node-imap (npm "imap", pinned in tests/e2e/node-imap/package-lock.json):
    openBox, search, fetch of bodies and BODYSTRUCTURE, flags, MOVE and
    APPEND, compared with what the server holds."""

    HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node-imap")

    def setUp(self):
        if shutil.which("node") is None:
            self.skipTest("node is not installed (deps.sh installs nodejs)")
        if not os.path.isdir(os.path.join(self.HERE, "node_modules", "imap")):
            self.skipTest("node-imap is not installed: run `npm ci` in tests/e2e/node-imap")
        # Not super(): NodeImapSortThread shares this setUp.
        ClientTest.setUp(self)

    def test_session(self):
        mail = seed_mail()
        conn = self.admin()
        dates = [1704067200 - 86400, 1704067200 + 3600, 1704067200 + 7200, 1704067200 + 10800]
        for (_, body, flags), date in zip(mail, dates):
            self.assertEqual(conn.append("INBOX", flags or None, date, body)[0], "OK")
        report = message("quarterly report", "numbers", sender="dave@example.org")
        self.assertEqual(conn.append("INBOX", r"($Label1)", 1704067200 + 14400, report)[0], "OK")
        conn.logout()
        before = {uid: entry for uid, entry in enumerate(self.server_state()["INBOX"])}
        appended = message("sent from node", "appended")

        proc = subprocess.run(["node", os.path.join(self.HERE, "scenario.js"),
                               str(self.server.ports["imaps"]), self.certs.cert],
                              input=appended, capture_output=True, timeout=WAIT, cwd=self.HERE)
        if proc.returncode != 0:
            self.fail("node-imap failed:\n%s\nserver log:\n%s" %
                      (proc.stderr.decode(errors="replace"), self.server.log()))
        seen = json.loads(proc.stdout)
        self.assertEqual(len(before), 5)

        # What openBox reported.
        conn = self.admin()
        typ, status = conn.status("INBOX", "(UIDVALIDITY UIDNEXT)")
        conn.logout()
        self.assertIn(b"UIDVALIDITY %d" % seen["inbox"]["uidvalidity"], status[0])
        self.assertEqual(seen["inbox"]["uidnext"], 6)
        self.assertEqual(seen["inbox"]["total"], 5)
        self.assertEqual(seen["inbox"]["flags"],
                         ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft",
                          "$Label1"])
        # PERMANENTFLAGS (\Answered ... $Label1 \*), as node-imap splits it.
        self.assertEqual(seen["inbox"]["permFlags"],
                         ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"])
        self.assertEqual(seen["inbox"]["keywords"], ["$Label1"])
        self.assertTrue(seen["inbox"]["newKeywords"])
        # Searches (UIDs 1 to 5 are the seeded messages in order).
        self.assertEqual(seen["search"], {"unseen": [1, 2, 3, 5], "subject": [5],
                                          "keyword": [2, 5], "flaggedOrFrom": [2],
                                          "since": [2, 3, 4, 5]})
        # Every fetched section, byte for byte.
        bodies = [body for _, body, _ in mail] + [report]
        for uid, body in enumerate(bodies, 1):
            fetched = seen["fetched"][str(uid)]
            header, text = body.split(b"\r\n\r\n", 1)
            self.assertEqual(base64.b64decode(fetched["sections"][""]), body)
            self.assertEqual(base64.b64decode(fetched["sections"]["TEXT"]), text)
            fields = b"".join(line + b"\r\n" for line in header.split(b"\r\n")
                              if line.startswith((b"Subject:", b"From:")))
            self.assertEqual(
                base64.b64decode(fetched["sections"]["HEADER.FIELDS (SUBJECT FROM)"]),
                fields + b"\r\n")
            self.assertEqual(fetched["size"], len(body))
        # BODYSTRUCTURE as node-imap parsed it: a text part and the attachment.
        struct = seen["fetched"]["2"]["struct"]
        self.assertEqual(struct[0]["type"], "mixed")
        self.assertEqual(struct[0]["params"], {"boundary": "b1"})
        text_part, attachment = struct[1][0], struct[2][0]
        self.assertEqual((text_part["type"], text_part["subtype"], text_part["params"],
                          text_part["encoding"]),
                         ("text", "plain", {"charset": "utf-8"}, "8bit"))
        self.assertEqual((attachment["type"], attachment["subtype"], attachment["params"],
                          attachment["encoding"]),
                         ("application", "octet-stream", {"name": "data.bin"}, "base64"))
        # node-imap's is the first session to SELECT INBOX: \Recent is its.
        self.assertEqual(seen["fetched"]["4"]["flags"], ["\\Seen", "\\Recent"])
        self.assertEqual(seen["fetched"]["2"]["date"], "2024-01-01T01:00:00.000Z")

        # The changes it made, as the server holds them.
        state = self.server_state(with_dates=True)
        inbox = {entry[0]: entry[1] for entry in state["INBOX"]}
        self.assertEqual(inbox, {
            bodies[0]: frozenset({"\\Flagged", "$Label2"}),
            bodies[1]: frozenset({"\\Flagged", "$Label1"}),  # \Seen removed: it had none
            bodies[2]: frozenset({"NonJunk"}),
            bodies[4]: frozenset({"$Label1"}),
        })
        self.assertEqual([entry[:2] for entry in state["Archive"]],
                         [(bodies[3], frozenset({"\\Seen"}))])
        self.assertEqual(base64.b64decode(seen["archive"]["1"]["sections"][""]), bodies[3])
        self.assertEqual(state["Sent"],
                         [(appended, frozenset({"\\Seen", "$Forwarded"}), 1683356889.0)])


class NodeImapSortThread(ClientTest):
    """node-imap's sort() and thread() (RFC 5256 SORT and THREAD; its
    UID SORT / UID THREAD with UTF-8), on messages whose dates, subjects,
    senders and References give a known order and threads."""

    HERE = NodeImap.HERE
    setUp = NodeImap.setUp

    def test_sort_and_thread(self):
        def mail(date, sender, subject, msgid, refs=None, body="text"):
            headers = ("Date: %s\r\nFrom: %s\r\nSubject: %s\r\nMessage-ID: <%s>\r\n"
                       % (date, sender, subject, msgid))
            if refs:
                headers += "References: %s\r\n" % refs
            return (headers + "\r\n" + body + "\r\n").encode()
        conn = self.admin()
        for raw, flags in [
                (mail("Mon, 1 Jan 2024 10:00:00 +0000", "carol@x", "Plans", "p@x"), r"(\Seen)"),
                (mail("Mon, 1 Jan 2024 12:00:00 +0200", "bob@x", "Re: Plans", "q@x", "<p@x>",
                      "a longer reply body"), None),
                (mail("Sun, 31 Dec 2023 23:00:00 -0500", "alice@x", "Lunch", "l@x"), None),
                (mail("Mon, 1 Jan 2024 11:00:00 +0000", "dave@x", "Re: Re: Plans", "r@x",
                      "<p@x> <q@x>"), None)]:
            self.assertEqual(conn.append("INBOX", flags, None, raw)[0], "OK")
        conn.logout()
        proc = subprocess.run(["node", os.path.join(self.HERE, "sort_thread.js"),
                               str(self.server.ports["imaps"]), self.certs.cert],
                              capture_output=True, timeout=WAIT, cwd=self.HERE)
        if proc.returncode != 0:
            self.fail("node-imap failed:\n%s\nserver log:\n%s" %
                      (proc.stderr.decode(errors="replace"), self.server.log()))
        seen = json.loads(proc.stdout)
        # Sent dates in UTC (RFC 5256 2.2): 3 (04:00 on Jan 1), 1 and 2
        # (10:00: ties in mailbox order, also under REVERSE), 4 (11:00).
        self.assertEqual(seen["date"], [3, 1, 2, 4])
        self.assertEqual(seen["reverseDate"], [4, 1, 2, 3])
        self.assertEqual(seen["subjectDate"], [3, 1, 2, 4])  # LUNCH, then PLANS by date
        self.assertEqual(seen["from"], [3, 2, 1, 4])
        self.assertEqual(seen["unseenBySize"], [2, 4, 3])
        # 2 replies to 1, 4 to 2; 3 alone (node-imap's nested arrays).
        self.assertEqual(seen["references"], [[3], [1, 2, 4]])
        self.assertEqual(seen["orderedSubject"], [[3], [1, [2], [4]]])


class Doveadm(ClientTest):
    """Dovecot's doveadm migrating mail through imapc, both ways: `backup -R`
    from imapd into a Maildir, and `import` from a Maildir into imapd. imapc
    writes flag lists with a stray space (`( $Label1 Work)` for a message
    with keywords only), which imapd accepts as Dovecot does
    (docs/architecture.md, "Parser"); every message must arrive byte for
    byte with every flag and keyword, and its internal date."""

    # (keywords, system flags) cycled over the seeded messages: keywords
    # alone (imapc's "( $Label1 Work)"), system flags alone, both, none.
    FLAG_SETS = [
        ({"$Label1", "Work"}, set()),
        (set(), {"\\Seen"}),
        ({"$Forwarded"}, {"\\Seen", "\\Answered"}),
        (set(), set()),
        ({"NonJunk", "$Label1"}, {"\\Flagged", "\\Draft", "\\Deleted"}),
        ({"Work"}, set()),
    ]

    def setUp(self):
        if shutil.which("doveadm") is None:
            self.skipTest("doveadm is not installed (deps.sh installs dovecot-core)")
        super().setUp()
        os.chmod(self.work.name, 0o755)  # doveadm drops privileges to mail_uid
        # Dovecot refuses mail access as root: as root, doveadm works as nobody.
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.mail_ids = (nobody.pw_uid, nobody.pw_gid)
        else:
            self.mail_ids = (os.getuid(), os.getgid())
        self.rawlog = self.private_dir("rawlog")
        self.config = os.path.join(self.work.name, "dovecot.conf")
        with open(self.config, "w") as f:
            f.write("""# A throwaway configuration for doveadm alone: no Dovecot service runs.
base_dir = {work}/run
state_dir = {work}/state
log_path = {work}/log/doveadm.log
ssl = no
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
first_valid_gid = {gid}
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
}}
imapc_host = 127.0.0.1
imapc_port = {port}
imapc_user = alice
imapc_password = secret
imapc_rawlog_dir = {rawlog}
""".format(work=self.work.name, uid=self.mail_ids[0], gid=self.mail_ids[1],
           port=self.server.ports["imap"], rawlog=self.rawlog))
        for directory in ("run", "state", "log"):
            self.private_dir(directory)

    def private_dir(self, name):
        """A directory below the work directory that doveadm may write."""
        path = os.path.join(self.work.name, name)
        os.makedirs(path, exist_ok=True)
        self.give_to_doveadm(path)
        return path

    def give_to_doveadm(self, path):
        for directory, _, files in os.walk(path):
            for entry in [directory] + [os.path.join(directory, f) for f in files]:
                os.chown(entry, *self.mail_ids)

    def doveadm(self, mail_location, *command):
        # No -u: without a Dovecot auth service the user comes from USER and
        # HOME, with no userdb lookup.
        env = dict(os.environ, USER="alice", HOME=self.work.name)
        args = ["doveadm", "-c", self.config, "-o", "mail_location=" + mail_location]
        proc = subprocess.run(args + list(command), capture_output=True, timeout=WAIT, env=env)
        if proc.returncode != 0:
            log_path = os.path.join(self.work.name, "log", "doveadm.log")
            log = open(log_path, errors="replace").read() if os.path.exists(log_path) else ""
            self.fail("doveadm %s exited %d\n%s%s\nimapd's answers:\n%s\nserver log:\n%s" %
                      (command[0], proc.returncode, proc.stderr.decode(errors="replace"), log,
                       self.wire("in").decode(errors="replace")[-3000:], self.server.log()))

    def wire(self, direction):
        """What doveadm sent ("out") or received ("in"), from imapc's rawlog."""
        data = b""
        for path in glob.glob(os.path.join(self.rawlog, "*." + direction)):
            with open(path, "rb") as f:
                data += f.read()
        return data

    def assert_no_bad(self):
        # The rawlog lines are "<timestamp> <line>".
        bad = [line for line in self.wire("in").splitlines()
               if re.match(rb"[\d.]+ \S+ BAD ", line)]
        self.assertEqual(bad, [], "imapd answered BAD")

    def test_backup_from_imapd_into_maildir(self):
        mailboxes = {"INBOX": 24, "Work": 8, "Lists/dev": 5, "Entw&APw-rfe": 3}
        conn = self.admin()
        base = 1700000000
        expected = {}
        number = 0
        for mailbox, count in mailboxes.items():
            if mailbox != "INBOX":
                self.assertEqual(conn.create('"%s"' % mailbox)[0], "OK")
            expected[mailbox] = []
            for i in range(count):
                number += 1
                keywords, system = self.FLAG_SETS[number % len(self.FLAG_SETS)]
                flags = system | keywords
                body = message("%s %d" % (mailbox, i), "line\r\n" * (number * 37 % 400),
                               date="Tue, 14 Nov 2023 22:13:%02d +0000" % (number % 60))
                typ, _ = conn.append('"%s"' % mailbox, "(%s)" % " ".join(sorted(flags)),
                                     base + number * 3600, body)
                self.assertEqual(typ, "OK")
                expected[mailbox].append((body, frozenset(flags)))
        conn.logout()
        on_server = self.server_state()
        for mailbox in mailboxes:
            self.assertEqual(on_server[mailbox], sorted(expected[mailbox]), mailbox)

        maildir = os.path.join(self.private_dir("backup"), "Maildir")
        self.doveadm("maildir:" + maildir, "backup", "-R", "imapc:")
        # Every mailbox with every message, byte for byte, flag for flag.
        # Maildir++ has no non-selectable folders: Dovecot makes the parent
        # "Lists" of Lists/dev an empty mailbox.
        self.assertEqual(read_dovecot_maildir(maildir), self.server_state(noselect_as_empty=True))
        # The internal date became the file's modification time.
        for path in glob.glob(os.path.join(maildir, "cur", "*")):
            with open(path, "rb") as f:
                subject = email.message_from_bytes(f.read())["Subject"]
            number = 1 + int(subject.split()[-1])  # INBOX is seeded first
            self.assertEqual(int(os.stat(path).st_mtime), base + number * 3600, subject)
        self.assert_no_bad()
        # A second backup with nothing changed changes no message (Dovecot
        # drops the empty placeholder it made for the parent this time).
        self.doveadm("maildir:" + maildir, "backup", "-R", "imapc:")
        after = read_dovecot_maildir(maildir)
        self.assertEqual(after.pop("Lists", []), [])
        self.assertEqual(after, self.server_state())

    def test_import_from_maildir_into_imapd(self):
        # A Maildir as Dovecot keeps it: LF line ends, keywords as letters
        # named in dovecot-keywords, Maildir++ folders, mtime = received.
        source = os.path.join(self.work.name, "source")
        folders = {"": 30, ".Work": 8, ".Lists.dev": 4, ".Entw&APw-rfe": 2}
        keyword_names = ["$Label1", "Work", "$Forwarded", "NonJunk"]
        expected = {}
        number = 0
        for folder, count in folders.items():
            path = os.path.join(source, folder)
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(path, sub))
            with open(os.path.join(path, "dovecot-keywords"), "w") as f:
                f.write("".join("%d %s\n" % (i, k) for i, k in enumerate(keyword_names)))
            name = folder[1:].replace(".", "/") if folder else "INBOX"
            expected[name] = []
            for i in range(count):
                number += 1
                keywords, system = self.FLAG_SETS[number % len(self.FLAG_SETS)]
                body = message("%s %d" % (name, i), "text\r\n" * (number * 53 % 300))
                # Every fifth message is still in new/ (no flags: unseen).
                in_new = number % 5 == 0
                if in_new:
                    keywords, system = set(), set()
                info = "".join(sorted(LETTERS[f] for f in system)) + "".join(
                    sorted(chr(ord("a") + keyword_names.index(k)) for k in keywords))
                file_name = "%d.M%dP1.source" % (1600000000 + number, number)
                if not in_new:
                    file_name += ":2," + info
                file_path = os.path.join(path, "new" if in_new else "cur", file_name)
                with open(file_path, "wb") as f:
                    f.write(body.replace(b"\r\n", b"\n"))
                date = 1600000000 + number * 86400
                os.utime(file_path, (date, date))
                expected[name].append((body, frozenset(system | keywords), float(date)))
        self.give_to_doveadm(source)

        self.doveadm("imapc:", "import", "maildir:" + source, "", "all")
        state = self.server_state(with_dates=True)
        for name, messages in expected.items():
            self.assertEqual(state[name], sorted(messages), name)
        # The case this proves: imapc's flag list with a leading space.
        self.assertIn(b"APPEND \"INBOX\" ( $Label1 Work) ", self.wire("out"))
        self.assert_no_bad()


def main():
    args = test_serve.take_imapd_argument("test_clients.py")
    unittest.main(argv=[sys.argv[0]] + args, verbosity=2)


if __name__ == "__main__":
    main()
