#!/usr/bin/env python3
"""imapflow (npm) against the real imapd: IDLE push, QRESYNC resync and a
device switch (RFC 2177, RFC 7162), all over COMPRESS=DEFLATE, which
imapflow negotiates whenever the server offers it (RFC 4978).

Usage: test_imapflow.py --imapd PATH [unittest args, e.g. a class name]

The node scenarios live in tests/e2e/imapflow/scenarios.mjs; `npm ci` in
that directory installs the pinned imapflow (test.sh does it). Without node
or the installed module the tests are skipped with a message.
"""
import imaplib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FLOW = os.path.join(HERE, "imapflow")
WAIT = 60


def message(subject):
    return ("From: bob@example.org\r\nTo: alice@example.org\r\nSubject: %s\r\n\r\n%s\r\n" %
            (subject, subject)).encode()


class FlowTest(unittest.TestCase):
    def setUp(self):
        if shutil.which("node") is None:
            self.skipTest("node is not installed (deps.sh installs nodejs)")
        if not os.path.isdir(os.path.join(FLOW, "node_modules", "imapflow")):
            self.skipTest("imapflow is not installed: run `npm ci` in tests/e2e/imapflow")
        # Debug: the log shows whether imapflow negotiated COMPRESS.
        self.server = test_serve.ImapdServer(("--log-level", "debug"))
        self.tmp = tempfile.TemporaryDirectory(prefix="imapd-flow-")
        self.state = os.path.join(self.tmp.name, "state.json")

    def tearDown(self):
        self.server.stop()
        self.tmp.cleanup()

    def flow(self, scenario):
        proc = subprocess.run(["node", os.path.join(FLOW, "scenarios.mjs"), scenario,
                               str(self.server.ports["imap"]), self.state],
                              capture_output=True, timeout=WAIT, cwd=FLOW)
        if proc.returncode != 0:
            self.fail("imapflow %s failed:\n%s\nserver log:\n%s" %
                      (scenario, proc.stderr.decode(errors="replace"), self.server.log()))
        return json.loads(proc.stdout)

    def admin(self):
        conn = imaplib.IMAP4("127.0.0.1", self.server.ports["imap"], timeout=WAIT)
        conn.login("alice", "secret")
        return conn

    def server_flags(self):
        """{uid: sorted flags without \\Recent} of INBOX."""
        conn = self.admin()
        typ, data = conn.select("INBOX", readonly=True)
        result = {}
        if data != [b"0"]:
            typ, data = conn.uid("FETCH", "1:*", "(FLAGS)")
            for line in data:
                uid = int(line.split(b"UID ")[1].split()[0].rstrip(b")"))
                flags = sorted(f.decode() for f in imaplib.ParseFlags(line)
                               if f != b"\\Recent")
                result[str(uid)] = flags
        conn.logout()
        return result


class Push(FlowTest):
    """RFC 2177: an idling imapflow client hears of every APPEND and STORE."""

    def test_idle_push(self):
        result = self.flow("push")
        self.assertEqual(result["exists"], 20)
        self.assertNotIn(None, result["latencies"], result)
        self.assertEqual(result["flagEvent"], {"uid": 3, "flags": ["\\Flagged"]})
        # imapflow negotiates COMPRESS=DEFLATE by itself (RFC 4978): every
        # exchange above ran compressed.
        self.assertRegex(self.server.log(), r"\bcompress\b")
        latencies = sorted(result["latencies"])
        # Recorded, not asserted (benchmarks measure; tests check behaviour).
        print("IDLE push latency ms: min %.1f median %.1f max %.1f; flag %.1f" %
              (latencies[0], latencies[len(latencies) // 2], latencies[-1],
               result["flagLatency"]), file=sys.stderr)


class Resync(FlowTest):
    """RFC 7162 3.2.5: a QRESYNC SELECT brings exactly what changed."""

    def test_qresync_after_offline_changes(self):
        conn = self.admin()
        for i in range(1, 7):
            conn.append("INBOX", None, None, message("m%d" % i))
        conn.logout()
        before = self.flow("snapshot")
        self.assertIn("QRESYNC", before["enabled"])
        self.assertEqual(sorted(before["messages"]), ["1", "2", "3", "4", "5", "6"])

        # Offline: two expunged, one flagged, one new message.
        conn = self.admin()
        conn.select("INBOX")
        conn.uid("STORE", "2,5", "+FLAGS", r"(\Deleted)")
        conn.expunge()
        conn.uid("STORE", "3", "+FLAGS", r"(\Flagged)")
        conn.append("INBOX", None, None, message("m7"))
        conn.logout()

        after = self.flow("resync")
        self.assertEqual(after["uidValidity"], before["uidValidity"])
        self.assertEqual(after["vanished"], [2, 5])
        # RFC 7162 3.2.5.2: without known-uids, every message whose modseq
        # is above the client's, the new one included, comes as a FETCH.
        self.assertEqual(after["changed"], {"3": ["\\Flagged"], "7": []})
        self.assertEqual(after["arrived"], [7])
        self.assertEqual(after["cache"], self.server_flags())


class DeviceSwitch(FlowTest):
    """Device A reads, flags and deletes while device B is offline; B comes
    back with QRESYNC and ends identical to A."""

    def test_device_switch(self):
        conn = self.admin()
        for i in range(1, 9):
            conn.append("INBOX", r"(\Seen)" if i % 3 == 0 else None, None, message("d%d" % i))
        conn.logout()
        self.flow("snapshot")  # device B syncs, then goes offline

        a = self.admin()  # device A
        a.select("INBOX")
        a.fetch("1,2", "(BODY[])")  # reading sets \Seen
        a.store("4", "+FLAGS", r"(\Flagged \Answered)")
        a.store("3", "-FLAGS", r"(\Seen)")
        a.store("5,7", "+FLAGS", r"(\Deleted)")
        a.expunge()
        a.logout()

        after = self.flow("resync")
        self.assertEqual(after["vanished"], [5, 7])
        self.assertEqual(sorted(after["changed"], key=int), ["1", "2", "3", "4"])
        self.assertEqual(after["arrived"], [])
        self.assertEqual(after["cache"], self.server_flags())


class ObjectIds(FlowTest):
    """RFC 8474: imapflow reads MAILBOXID, EMAILID and THREADID and
    searches by them; the ids survive MOVE and RENAME."""

    def test_object_ids(self):
        conn = self.admin()
        conn.append("INBOX", None, None, b"Subject: root\r\nMessage-ID: <r@x>\r\n\r\nroot\r\n")
        conn.append("INBOX", None, None,
                    b"Subject: Re: root\r\nMessage-ID: <s@x>\r\nReferences: <r@x>\r\n\r\nre\r\n")
        conn.append("INBOX", None, None, b"Subject: other\r\nMessage-ID: <o@x>\r\n\r\no\r\n")
        conn.logout()
        result = self.flow("objectids")
        ids = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,254}$")
        for key in ("createdId", "renamedId", "inboxId"):
            self.assertRegex(result[key] or "", ids, result)
        # RFC 8474 4: RENAME keeps the id; distinct mailboxes differ.
        self.assertEqual(result["renamedId"], result["createdId"])
        self.assertNotEqual(result["inboxId"], result["createdId"])
        first, second, third = result["messages"]
        self.assertEqual(len({first["emailId"], second["emailId"], third["emailId"]}), 3)
        self.assertEqual(first["threadId"], second["threadId"])
        self.assertNotEqual(first["threadId"], third["threadId"])
        self.assertEqual(result["byEmail"], [first["uid"]])
        self.assertEqual(result["byThread"], [first["uid"], second["uid"]])
        # RFC 8474 5.1: the moved message keeps both ids.
        self.assertEqual(result["after"], [{"uid": 1, "emailId": first["emailId"],
                                            "threadId": first["threadId"]}])


class Utf8Accept(FlowTest):
    """RFC 6855: imapflow enables UTF8=ACCEPT when offered and then sends
    and reads mailbox names and strings as UTF-8: a UTF-8 mailbox name,
    an APPEND with RFC 6532 header fields, a SEARCH by UTF-8 strings. An
    IMAP4rev1 client (imaplib without ENABLE) sees the same mailbox in
    modified UTF-7 (RFC 3501 5.1.3)."""

    def test_utf8_names_append_search(self):
        result = self.flow("utf8")
        self.assertIn("UTF8=ACCEPT", result["enabled"])
        name = "Entw\u00fcrfe"
        self.assertEqual(result["listed"], [name])
        self.assertEqual(result["openedPath"], name)
        self.assertEqual(result["exists"], 1)
        self.assertEqual(result["appendedUid"], 1)
        self.assertEqual(result["bySubject"], [1])
        self.assertEqual(result["byFrom"], [1])
        self.assertEqual(result["byTo"], [1])
        self.assertEqual(result["none"], [])
        self.assertEqual(result["subject"], "Gr\u00fc\u00dfe")
        self.assertEqual(result["from"], [{"name": "J\u00f6rg",
                                           "address": "j\u00f6rg@b\u00fccher.example"}])
        self.assertEqual(result["to"], [{"name": "\u535a\u58eb",
                                         "address": "\u535a\u58eb@example.org"}])
        # The debug log has imapflow's ENABLE and no SEARCH CHARSET.
        log = self.server.log()
        self.assertNotIn("CHARSET", log)
        conn = self.admin()
        typ, data = conn.list('""', "Entw*")
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [b'(\\HasNoChildren \\Unmarked) "/" Entw&APw-rfe'])
        conn.logout()


def main():
    args = test_serve.take_imapd_argument("test_imapflow.py")
    unittest.main(argv=[sys.argv[0]] + args, verbosity=2)


if __name__ == "__main__":
    main()
