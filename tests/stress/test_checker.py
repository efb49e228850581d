#!/usr/bin/env python3
"""Tests of the concurrent checker itself: its response parser and reader,
and that each invariant of view.py fails on a response that breaks it (a
checker that cannot fail proves nothing). No server needed.

    python3 tests/stress/test_checker.py [unittest args]
"""
import os
import socket
import sys
import threading
import time
import unittest

# The modules next to this file; no __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imap_wire import (ProtocolError, ResponseReader, format_set, parse_response,  # noqa: E402
                       parse_set, parse_set_ordered, summarize)
from view import CheckFailure, Ctx, Msg, Registry, View, fits_unknown  # noqa: E402


def parse(text):
    return parse_response(text.encode() if isinstance(text, str) else text)


class Parser(unittest.TestCase):
    def test_fetch_with_literal_nested_lists_and_sections(self):
        r = parse(b'* 12 FETCH (UID 7 FLAGS (\\Seen $Label1) MODSEQ (42) '
                  b'BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)] {5}\r\nab\r\nc'
                  b' ENVELOPE ("date" "a \\"q\\" \\\\ b" NIL ((NIL NIL "x" "y"))) BODY[] NIL)\r\n')
        self.assertEqual((r.tag, r.kind, r.number), ("*", "FETCH", 12))
        self.assertEqual(r.values["UID"], "7")
        self.assertEqual(r.values["FLAGS"], ["\\Seen", "$Label1"])
        self.assertEqual(r.values["MODSEQ"], ["42"])
        self.assertEqual(r.values["BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)]"], b"ab\r\nc")
        self.assertEqual(r.values["ENVELOPE"],
                         [b"date", b'a "q" \\ b', None, [[None, None, b"x", b"y"]]])
        self.assertIsNone(r.values["BODY[]"])

    def test_status_responses_and_codes(self):
        r = parse("* OK [PERMANENTFLAGS (\\Seen \\*)] Flags permitted.\r\n")
        self.assertEqual((r.kind, r.code, r.code_args), ("OK", "PERMANENTFLAGS",
                                                         [["\\Seen", "\\*"]]))
        self.assertEqual(r.text, "Flags permitted.")
        r = parse("a1 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n")
        self.assertEqual((r.tag, r.code, r.code_args), ("a1", "COPYUID",
                                                        ["38505", "304,319:320", "3956:3958"]))
        r = parse("* OK [CLOSED]\r\n")
        self.assertEqual((r.code, r.text), ("CLOSED", ""))
        r = parse("* NO [ALERT] disk is full\r\n")
        self.assertEqual((r.kind, r.code, r.text), ("NO", "ALERT", "disk is full"))
        r = parse("* OK [REFERRAL imap://x/;y] go there\r\n")
        self.assertEqual((r.code, r.code_args), ("REFERRAL", ["imap://x/;y"]))
        r = parse("+ idling\r\n")
        self.assertEqual((r.tag, r.text), ("+", "idling"))

    def test_other_untagged_responses(self):
        self.assertEqual(parse("* VANISHED (EARLIER) 1:3,7\r\n").values, [["EARLIER"], "1:3,7"])
        self.assertEqual(parse("* SEARCH 2 5 (MODSEQ 917162500)\r\n").values,
                         ["2", "5", ["MODSEQ", "917162500"]])
        self.assertEqual(parse("* SEARCH\r\n").values, [])
        self.assertEqual(parse('* ESEARCH (TAG "t1") UID MIN 3 ALL 3:5\r\n').values,
                         [["TAG", b"t1"], "UID", "MIN", "3", "ALL", "3:5"])
        self.assertEqual(parse('* STATUS "a b" (MESSAGES 2 UIDNEXT 9)\r\n').values,
                         [b"a b", ["MESSAGES", "2", "UIDNEXT", "9"]])
        self.assertEqual(parse("* 3 EXPUNGE\r\n").number, 3)

    def test_malformed_responses_raise(self):
        for bad in ("* 1 FETCH (UID 1\r\n", "* 1 FETCH (UID  1)\r\n", "* 1 FETCH (UID 1 FLAGS)\r\n",
                    "* 1 FETCH (UID 1) junk\r\n", "* 01 EXISTS\r\n", "* 1 EXPUNGED\r\n",
                    "* 1 FETCH (BODY[] {9}\r\nabc)\r\n", "a1 MAYBE done\r\n", "* OK  two spaces\r\n",
                    '* 1 FETCH (X "unterminated)\r\n', "* 1 FETCH (UID 1)",
                    "* 1 FETCH (UID 1 UID 1)\r\n", "* OK [UIDNEXT 5 text\r\n"):
            with self.subTest(bad=bad), self.assertRaises(ProtocolError):
                parse(bad)

    def test_sets(self):
        self.assertEqual(parse_set("5,1:3,3"), [1, 2, 3, 5])
        self.assertEqual(parse_set("4:2"), [2, 3, 4])
        self.assertEqual(parse_set_ordered("3:1,7"), [3, 2, 1, 7])
        self.assertEqual(format_set([5, 1, 2, 3, 9, 10]), "1:3,5,9:10")
        for bad in ("", "0", "1:*", "a", "1::2", "01"):
            with self.subTest(bad=bad), self.assertRaises(ProtocolError):
                parse_set(bad)

    def test_summary_shows_literals_short(self):
        self.assertEqual(summarize(b"* 1 FETCH (BODY[] {3}\r\nabc)\r\n"),
                         "* 1 FETCH (BODY[] {3}[abc])")


class Reader(unittest.TestCase):
    def test_responses_split_anywhere(self):
        """Every response comes out whole whatever the reads: byte by byte,
        a literal across reads, CR and LF in different reads."""
        stream = (b"* 1 FETCH (BODY[] {12}\r\nline\r\n{3}\r\nx UID 5)\r\n"
                  b"* 2 EXISTS\r\na OK [COPYUID 1 2 3] done\r\n")
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)

        def feed():
            for i in range(len(stream)):
                a.sendall(stream[i:i + 1])
                time.sleep(0.0005)

        writer = threading.Thread(target=feed)
        writer.start()
        reader = ResponseReader(b, read_size=1)
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 3:
            raw = reader.read(deadline)
            self.assertIsNotNone(raw)
            got.append(raw)
        writer.join()
        self.assertEqual(b"".join(got), stream)
        self.assertEqual(parse_response(got[0]).values["BODY[]"], b"line\r\n{3}\r\nx")

    def test_timeout_keeps_what_was_read(self):
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        reader = ResponseReader(b)
        a.sendall(b"* 1 FETCH (BODY[] {4}\r\nab")
        self.assertIsNone(reader.read(time.monotonic() + 0.05))
        a.sendall(b"cd)\r\n")
        self.assertEqual(reader.read(time.monotonic() + 5), b"* 1 FETCH (BODY[] {4}\r\nabcd)\r\n")


def make_view(count=0, uids=None, **kwargs):
    v = View("test", "stress", Registry(), **kwargs)
    v.keywords = {"$Label1"}
    uids = uids if uids is not None else list(range(1, count + 1))
    v.msgs = [Msg(u, frozenset(), 1 if kwargs.get("condstore") else None) for u in uids]
    v.selected = True
    return v


def feed(view, text, ctx=None):
    view.handle(parse(text), ctx)


class Invariants(unittest.TestCase):
    """Each rule of view.py, broken once: the checker must fail."""

    def assertFails(self, view, text, ctx=None, message=""):
        with self.assertRaises(CheckFailure) as caught:
            feed(view, text, ctx)
        self.assertIn(message, str(caught.exception))

    def test_expunge_renumbers(self):
        v = make_view(uids=[10, 20, 30])
        feed(v, "* 2 EXPUNGE\r\n", Ctx("NOOP"))
        self.assertEqual(v.known_uids(), [10, 30])
        feed(v, "* 2 FETCH (UID 30 FLAGS ())\r\n", Ctx("NOOP"))

    def test_rfc3501_7_4_1_no_expunge_during_fetch_store_search(self):
        for name in ("FETCH", "STORE", "SEARCH"):
            with self.subTest(name=name):
                self.assertFails(make_view(3), "* 1 EXPUNGE\r\n", Ctx(name, seq_based=True),
                                 "RFC 3501 7.4.1")

    def test_rfc3501_7_4_1_no_expunge_without_a_command(self):
        self.assertFails(make_view(3), "* 1 EXPUNGE\r\n", None, "no command in progress")
        ctx = Ctx("APPEND")
        ctx.in_progress = False  # waiting for "+": not yet in progress
        self.assertFails(make_view(3), "* 1 EXPUNGE\r\n", ctx, "no command in progress")

    def test_sequence_numbers_within_the_view(self):
        self.assertFails(make_view(3), "* 4 FETCH (FLAGS ())\r\n", Ctx("NOOP"), "has 3")
        self.assertFails(make_view(3), "* 4 EXPUNGE\r\n", Ctx("NOOP"), "has 3")

    def test_fetch_uid_matches_the_view(self):
        self.assertFails(make_view(uids=[10, 20]), "* 2 FETCH (UID 21)\r\n", Ctx("NOOP"),
                         "message 2 is UID 20")

    def test_uids_ascend_for_new_messages(self):
        v = make_view(uids=[10, 20])
        feed(v, "* 4 EXISTS\r\n", Ctx("NOOP"))
        self.assertFails(v, "* 3 FETCH (UID 15 FLAGS ())\r\n", Ctx("NOOP"), "ascend")
        feed(v, "* 4 FETCH (UID 40 FLAGS ())\r\n", Ctx("NOOP"))
        self.assertFails(v, "* 3 FETCH (UID 41 FLAGS ())\r\n", Ctx("NOOP"), "ascend")
        feed(v, "* 3 FETCH (UID 39 FLAGS ())\r\n", Ctx("NOOP"))
        self.assertEqual(v.known_uids(), [10, 20, 39, 40])

    def test_exists_never_shrinks(self):
        self.assertFails(make_view(3), "* 2 EXISTS\r\n", Ctx("NOOP"), "RFC 3501 7.3.1")

    def test_recent_within_exists(self):
        self.assertFails(make_view(3), "* 4 RECENT\r\n", Ctx("NOOP"), "RFC 3501 7.3.2")

    def test_modseq_never_goes_back(self):
        v = make_view(2, condstore=True)
        feed(v, "* 1 FETCH (UID 1 FLAGS () MODSEQ (9))\r\n", Ctx("NOOP"))
        self.assertFails(v, "* 1 FETCH (UID 1 FLAGS () MODSEQ (8))\r\n", Ctx("NOOP"),
                         "went down")

    def test_flag_change_needs_a_new_modseq(self):
        v = make_view(2, condstore=True)
        feed(v, "* 1 FETCH (UID 1 FLAGS () MODSEQ (9))\r\n", Ctx("NOOP"))
        self.assertFails(v, "* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (9))\r\n", Ctx("NOOP"),
                         "MODSEQ stayed 9")

    def test_condstore_unsolicited_fetch_carries_modseq_and_uid(self):
        v = make_view(2, condstore=True)
        self.assertFails(v, "* 1 FETCH (UID 1 FLAGS (\\Seen))\r\n", Ctx("NOOP"), "no MODSEQ")
        v = make_view(2, condstore=True, server_qresync=True)
        self.assertFails(v, "* 1 FETCH (FLAGS (\\Seen) MODSEQ (5))\r\n", Ctx("NOOP"), "no UID")
        # The answer to FETCH (FLAGS) itself may leave them out (RFC 7162 3.2.4).
        feed(v, "* 1 FETCH (FLAGS (\\Seen))\r\n",
             Ctx("FETCH", seq_based=True, requested_seqs=[1], fetch_flags_solicited=True))

    def test_highestmodseq_and_uidnext_never_go_back(self):
        v = make_view(uids=[3, 4])
        feed(v, "* OK [HIGHESTMODSEQ 10] x\r\n", Ctx("NOOP"))
        self.assertFails(v, "* OK [HIGHESTMODSEQ 9] x\r\n", Ctx("NOOP"), "went down")
        feed(v, "* OK [UIDNEXT 6] x\r\n", Ctx("NOOP"))
        self.assertFails(v, "* OK [UIDNEXT 5] x\r\n", Ctx("NOOP"), "went down")
        self.assertFails(make_view(uids=[3, 4]), "* OK [UIDNEXT 4] x\r\n", Ctx("NOOP"),
                         "UID 4 is in the view")

    def test_keywords_are_announced_by_flags_first(self):
        v = make_view(1)
        self.assertFails(v, "* 1 FETCH (FLAGS ($New))\r\n", Ctx("NOOP"), "RFC 3501 7.2.6")
        feed(v, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $New)\r\n", Ctx("NOOP"))
        feed(v, "* 1 FETCH (FLAGS ($New))\r\n", Ctx("NOOP"))

    def test_vanished_rules(self):
        self.assertFails(make_view(3), "* VANISHED 2\r\n", Ctx("NOOP"), "did not enable QRESYNC")
        self.assertFails(make_view(3, qresync=True), "* 2 EXPUNGE\r\n", Ctx("NOOP"),
                         "VANISHED instead")
        self.assertFails(make_view(3, qresync=True), "* VANISHED 7\r\n", Ctx("NOOP"),
                         "not in this session's view")
        self.assertFails(make_view(3, qresync=True), "* VANISHED 2\r\n",
                         Ctx("FETCH", seq_based=True), "RFC 3501 7.4.1")
        self.assertFails(make_view(3, qresync=True), "* VANISHED (EARLIER) 2\r\n", Ctx("NOOP"),
                         "3.2.10.1")

    def test_vanished_of_an_announced_message_whose_uid_is_unknown(self):
        """RFC 7162 3.2.10: allowed; it fits between the known UIDs."""
        v = make_view(uids=[10, 20], qresync=True)
        feed(v, "* 4 EXISTS\r\n", Ctx("NOOP"))
        feed(v, "* VANISHED 10,25\r\n", Ctx("NOOP"))
        self.assertEqual([m.uid for m in v.msgs], [20, None])
        self.assertFails(v, "* VANISHED 15\r\n", Ctx("NOOP"), "not in this session's view")

    def test_status_responses_that_fail(self):
        self.assertFails(make_view(1), "* BYE going away\r\n", Ctx("NOOP"), "BYE")
        self.assertFails(make_view(1), "* BAD what\r\n", Ctx("NOOP"), "untagged BAD")
        feed(make_view(1), "* BYE logging out\r\n", Ctx("LOGOUT"))
        self.assertFails(make_view(1), "* SEARCH 1\r\n", None, "unsolicited")
        self.assertFails(make_view(1), "* WHATEVER 1\r\n", Ctx("NOOP"), "unknown")

    def test_bodies_and_uids_keep_their_message(self):
        v = make_view(uids=[5, 6])
        v.uidvalidity = 1
        body = b"Message-ID: <a@b>\r\nSubject: x\r\n\r\nhello\r\n"
        v.registry.add_message(b"<a@b>", body)
        v.registry.add_message(b"<c@d>", b"Message-ID: <c@d>\r\n\r\nbye\r\n")
        feed(v, b"* 1 FETCH (UID 5 BODY[] {%d}\r\n%s)\r\n" % (len(body), body), Ctx("NOOP"))
        changed = body.replace(b"hello", b"hellO")
        self.assertFails(v, b"* 1 FETCH (BODY[] {%d}\r\n%s)\r\n" % (len(changed), changed),
                         Ctx("NOOP"), "differs from the appended message at byte 37")
        feed(v, b"* 1 FETCH (BODY[TEXT] {7}\r\nhello\r\n)\r\n", Ctx("NOOP"))
        self.assertFails(v, b"* 1 FETCH (BODY[TEXT] {7}\r\nhellO\r\n)\r\n", Ctx("NOOP"),
                         "BODY[TEXT] of UID 5")
        self.assertFails(v, b"* 1 FETCH (BODY[HEADER.FIELDS (MESSAGE-ID)] {21}\r\n"
                            b"Message-ID: <c@d>\r\n\r\n)\r\n", Ctx("NOOP"), "never changes")

    def test_qresync_select_rebuilds_the_view(self):
        v = make_view(uids=[1, 2, 3], condstore=True, qresync=True, server_qresync=True)
        cache = [Msg(m.uid, m.flags, m.modseq) for m in v.msgs]
        ctx = Ctx("SELECT", select="qresync", allow_earlier=True)
        for line in ("* OK [CLOSED]", "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
                     "* OK [PERMANENTFLAGS ()] x", "* 3 EXISTS", "* 0 RECENT",
                     "* OK [UIDVALIDITY 1] x", "* OK [UIDNEXT 6] x", "* OK [HIGHESTMODSEQ 9] x",
                     "* VANISHED (EARLIER) 2", "* 2 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (9))"):
            feed(v, line + "\r\n", ctx)
        v.finish_select(ctx, cache)
        self.assertEqual([m.uid for m in v.msgs], [1, 3, None])
        self.assertEqual(v.msgs[1].flags, frozenset({"\\seen"}))
        # EXISTS below what the cache keeps: a VANISHED (EARLIER) is missing.
        ctx = Ctx("SELECT", select="qresync", allow_earlier=True)
        for line in ("* OK [CLOSED]", "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
                     "* OK [PERMANENTFLAGS ()] x", "* 1 EXISTS", "* 0 RECENT",
                     "* OK [UIDVALIDITY 1] x", "* OK [UIDNEXT 6] x", "* OK [HIGHESTMODSEQ 9] x"):
            feed(v, line + "\r\n", ctx)
        with self.assertRaises(CheckFailure):
            v.finish_select(ctx, [Msg(1, frozenset(), 1), Msg(3, frozenset(), 9)])

    def test_select_without_required_responses(self):
        v = make_view(0)
        ctx = Ctx("SELECT", select="plain")
        for line in ("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)", "* 0 EXISTS"):
            feed(v, line + "\r\n", ctx)
        with self.assertRaises(CheckFailure) as caught:
            v.finish_select(ctx, None)
        self.assertIn("RFC 3501 6.3.1", str(caught.exception))

    def test_fits_unknown(self):
        self.assertTrue(fits_unknown([1, None, 5], 3))
        self.assertFalse(fits_unknown([1, None, 5], 6))
        self.assertTrue(fits_unknown([1, 5, None], 6))
        self.assertFalse(fits_unknown([1, 5], 3))


if __name__ == "__main__":
    unittest.main()
