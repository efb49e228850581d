"""One IMAP connection of the stress checker: commands, responses, transcript.

Every untagged response goes through the session's View (view.py), which
checks it and updates the model; the tagged response is checked here (no
BAD ever, NO only where the caller allows it). Every wait is bounded.
"""
import collections
import re
import socket
import time

from imap_wire import ConnectionClosed, ProtocolError, ResponseReader, parse_response, summarize
from view import CheckFailure, Ctx, View

HISTORY = 60  # transcript lines of the failing session printed in the report
# Lines kept per session, so the report can also show the earlier lines that
# mention the UIDs a failure names (at ~300 bytes a line, ~1.5 MB a session).
KEPT_LINES = 5000


class Transcript:
    """The last lines a session sent and received, with times relative to
    the start of the run; optionally every line to a file."""

    def __init__(self, owner, start, path=None):
        self.owner = owner
        self.start = start
        self.lines = collections.deque(maxlen=KEPT_LINES)
        self.file = open(path, "w", encoding="utf-8") if path else None

    def add(self, direction, text):
        line = "%8.3f %s %s" % (time.monotonic() - self.start, direction, text)
        self.lines.append(line)
        if self.file:
            self.file.write(line + "\n")

    def report(self, tail, text):
        """The last `tail` lines, preceded by earlier lines that mention a
        UID named in the failure `text` (marked with "...")."""
        lines = list(self.lines)
        recent = lines[-tail:] if tail else []
        uids = set(re.findall(r"UIDs? \[?(\d+)", text))
        earlier = []
        if uids:
            pattern = re.compile(r"\bUID (%s)\b" % "|".join(sorted(uids)))
            earlier = [line for line in lines[:len(lines) - len(recent)] if pattern.search(line)]
        return ["... " + line for line in earlier[-40:]] + recent

    def close(self):
        if self.file:
            self.file.close()
            self.file = None


class Session:
    def __init__(self, name, host, port, registry, start, *, timeout=30.0, mailbox=None,
                 trace_path=None, tag_prefix="t"):
        self.name = name
        self.timeout = timeout
        self.transcript = Transcript(name, start, trace_path)
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = ResponseReader(self.sock)
        self.tag_prefix = tag_prefix
        self.tags = 0
        self.capabilities = set()
        self.view = View(name, mailbox, registry)
        self.closed = False
        greeting = self._read(time.monotonic() + timeout, "the greeting")
        if greeting.tag != "*" or greeting.kind not in ("OK", "PREAUTH"):
            self.fail("greeting is not * OK: %s" % summarize(greeting.raw))
        if greeting.code == "CAPABILITY":
            self.capabilities = {str(c).upper() for c in greeting.code_args}

    def fail(self, text):
        raise CheckFailure("%s: %s" % (self.name, text))

    def shutdown(self):
        """Wakes a thread blocked on this socket (used when the run fails)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass
            self.transcript.close()

    # -- reading -----------------------------------------------------------
    def _read(self, deadline, waiting_for):
        try:
            raw = self.reader.read(deadline)
        except ConnectionClosed as e:
            self.fail("%s while waiting for %s" % (e, waiting_for))
        except ProtocolError as e:
            self.fail("protocol error while waiting for %s: %s" % (waiting_for, e))
        if raw is None:
            self.fail("no response within %.0f s while waiting for %s" % (self.timeout,
                                                                          waiting_for))
        self.transcript.add("S:", summarize(raw))
        return self.parse(raw)

    def parse(self, raw):
        try:
            return parse_response(raw)
        except ProtocolError as e:
            self.fail("unparsable response: %s" % e)

    def drain_unsolicited(self):
        """Whatever the server sent while no command was in progress:
        RFC 3501 7.4.1 forbids EXPUNGE then; the View checks that (ctx None)."""
        try:
            self.reader.poll()
        except ConnectionClosed as e:
            self.fail("%s between commands" % e)
        while self.reader.pending():
            # A response may be partly here: finish it (it was already sent).
            resp = self._read(time.monotonic() + self.timeout, "the rest of an unsolicited "
                              "response")
            if resp.tag != "*":
                self.fail("a %s response with no command in progress: %s" %
                          (resp.tag, summarize(resp.raw)))
            self.view.handle(resp, None)

    # -- commands ----------------------------------------------------------
    def next_tag(self):
        self.tags += 1
        return "%s%d" % (self.tag_prefix, self.tags)

    def send(self, data, shown):
        self.transcript.add("C:", shown)
        try:
            self.sock.sendall(data)
        except OSError as e:
            self.fail("send failed: %s" % e)

    def command(self, text, ctx=None, *, literals=(), literal_plus=False, allow_no=(),
                deadline=None):
        """Runs one command and returns its tagged response.

        `text` holds "%L" where each literal goes; `literals` are their bytes.
        Synchronising literals wait for "+" (RFC 3501 7.5); with
        `literal_plus` they are sent at once as {n+} (RFC 7888). A tagged NO
        is a failure unless its response code is in `allow_no`; BAD always
        is."""
        if ctx is None:
            ctx = Ctx(text.split(" ", 1)[0].upper())
        self.drain_unsolicited()
        tag = self.next_tag()
        pieces = text.split("%L")
        if len(pieces) != len(literals) + 1:
            raise ValueError("literal placeholders do not match: %r" % text)
        deadline = deadline or time.monotonic() + self.timeout
        head = ("%s %s" % (tag, pieces[0])).encode()
        for literal, piece in zip(literals, pieces[1:]):
            marker = b"{%d+}" % len(literal) if literal_plus else b"{%d}" % len(literal)
            line = head + marker + b"\r\n"
            if literal_plus:
                self.send(line + literal, summarize(line + literal))
            else:
                self.send(line, summarize(line))
                # Not in progress until the whole command is received
                # (RFC 3501 7.4.1): no EXPUNGE before the "+".
                ctx.in_progress = False
                self._wait_continuation(tag, ctx, deadline)
                ctx.in_progress = True
                self.send(literal, "[literal, %d bytes]" % len(literal))
            head = piece.encode()
        self.send(head + b"\r\n", head.decode())
        return self.finish(tag, ctx, allow_no, deadline)

    def _wait_continuation(self, tag, ctx, deadline):
        while True:
            resp = self._read(deadline, "the continuation request of %s" % tag)
            if resp.tag == "+":
                return
            if resp.tag == tag:
                self.fail("%s refused the literal: %s" % (ctx.name, summarize(resp.raw)))
            if resp.tag != "*":
                self.fail("response with a foreign tag: %s" % summarize(resp.raw))
            self.view.handle(resp, ctx)

    def finish(self, tag, ctx, allow_no=(), deadline=None):
        """Reads until the tagged response of `tag`."""
        deadline = deadline or time.monotonic() + self.timeout
        while True:
            resp = self._read(deadline, "the tagged response of %s (%s)" % (tag, ctx.name))
            if resp.tag == "*":
                self.view.handle(resp, ctx)
                continue
            if resp.tag == "+":
                self.fail("unexpected continuation request during %s" % ctx.name)
            if resp.tag != tag:
                self.fail("tagged response for %s while %s was in progress: %s" %
                          (resp.tag, tag, summarize(resp.raw)))
            ctx.in_progress = False
            if resp.kind == "BAD":
                self.fail("%s answered BAD: %s" % (ctx.name, summarize(resp.raw)))
            if resp.kind == "NO" and resp.code not in allow_no:
                self.fail("%s answered NO: %s" % (ctx.name, summarize(resp.raw)))
            if resp.code == "HIGHESTMODSEQ":
                self.view.on_status(resp, ctx)
            if resp.code == "CAPABILITY":
                self.capabilities = {str(c).upper() for c in resp.code_args}
            return resp

    # -- common commands ---------------------------------------------------
    def login(self, user, password):
        from imap_wire import quote
        resp = self.command("LOGIN %s %s" % (quote(user), quote(password)), Ctx("LOGIN"))
        if resp.code != "CAPABILITY" or not self.capabilities:
            ctx = Ctx("CAPABILITY")
            self.command("CAPABILITY", ctx)
            caps = [r for r in ctx.untagged if r.kind == "CAPABILITY"]
            if len(caps) != 1:
                self.fail("CAPABILITY without one * CAPABILITY response")
            self.capabilities = {str(c).upper() for c in caps[0].values}
        if "IMAP4REV1" not in self.capabilities:
            self.fail("no IMAP4rev1 in CAPABILITY")

    def logout(self):
        ctx = Ctx("LOGOUT")
        self.command("LOGOUT", ctx)
        if "BYE" not in ctx.seen:
            self.fail("LOGOUT without * BYE (RFC 3501 6.1.3)")
        self.close()

    def has(self, capability):
        return capability in self.capabilities
