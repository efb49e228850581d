#!/usr/bin/env python3
"""Transcript tests: C:/S: conversations replayed against the real imapd.

Usage: run_transcripts.py --imapd PATH [TRANSCRIPT...]
       (default: every tests/e2e/transcripts/*.imap)

A transcript is a conversation as RFC 3501 writes them:

    # a comment; blank lines are ignored
    S: * OK [CAPABILITY {{*}}] imapd ready.
    C: a LOGIN alice secret
    S: a OK [CAPABILITY {{*}}] Logged in

Each file runs against a fresh `imapd serve --ephemeral --user
alice:secret` (no failed-login delay) over plaintext loopback, where LOGIN
is allowed. C: lines
are sent in order, each followed by CRLF. Consecutive S: lines are one
block: the runner reads until the server's bytes are exactly that block
(each line ends in CRLF), then sends the next C: lines. Nothing may arrive
that the transcript does not expect.

Placeholders in S: lines:
    {{*}}        any text within the line (non-greedy)
    {{name}}     a token (no spaces, brackets or parentheses), bound on first
                 use; later uses must be the same text
In C: lines, {{name}} sends back a value an earlier S: line bound.
Macros in C: and S: lines:
    {{file:NAME}}  C: the bytes of transcripts/data/NAME as a non-synchronising
                   literal ("{n+}" CRLF bytes); S: as a literal ("{n}" CRLF
                   bytes). The line goes on after the bytes.
    {{size:NAME}}  the size of that file, in decimal
    {{binary:NAME}}  as {{file:NAME}} but a literal8 (RFC 3516): C: "~{n+}"
                   CRLF bytes, S: "~{n}" CRLF bytes (data that holds NUL)
"""
import os
import re
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_serve  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSCRIPTS = os.path.join(HERE, "transcripts")
DATA = os.path.join(TRANSCRIPTS, "data")
WAIT = 10


def read_data(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def expand_client(text):
    """A C: line as the bytes to send (CRLF added)."""
    out = b""
    pos = 0
    for m in re.finditer(r"\{\{(file|size|binary):([^}]+)\}\}", text):
        out += text[pos:m.start()].encode()
        data = read_data(m.group(2))
        if m.group(1) == "file":
            out += b"{%d+}\r\n" % len(data) + data
        elif m.group(1) == "binary":
            out += b"~{%d+}\r\n" % len(data) + data
        else:
            out += str(len(data)).encode()
        pos = m.end()
    return out + text[pos:].encode() + b"\r\n"


def block_pattern(lines):
    """The regex (bytes) for a block of S: lines, with its group names."""
    pattern = b""
    seen = set()
    for line in lines:
        pos = 0
        for m in re.finditer(r"\{\{([^}]+)\}\}", line):
            pattern += re.escape(line[pos:m.start()].encode())
            name = m.group(1)
            if name == "*":
                pattern += rb"[^\r\n]*?"
            elif name.startswith("file:"):
                data = read_data(name[5:])
                pattern += re.escape(b"{%d}\r\n" % len(data) + data)
            elif name.startswith("binary:"):
                data = read_data(name[7:])
                pattern += re.escape(b"~{%d}\r\n" % len(data) + data)
            elif name.startswith("size:"):
                pattern += str(len(read_data(name[5:]))).encode()
            elif name in seen:
                pattern += b"(?P=" + name.encode() + b")"
            else:
                seen.add(name)
                pattern += b"(?P<" + name.encode() + rb">[^\s()\[\]]+)"
            pos = m.end()
        pattern += re.escape(line[pos:].encode()) + b"\r\n"
    return pattern


def parse_transcript(path):
    """[(kind, [lines])] with kind 'C' or 'S', consecutive lines grouped."""
    steps = []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            if not (line.startswith("C: ") or line.startswith("S: ") or line in ("C:", "S:")):
                raise ValueError("%s:%d: expected 'C: ' or 'S: ', got %r" % (path, number, line))
            kind, text = line[0], line[3:]
            if steps and steps[-1][0] == kind:
                steps[-1][1].append(text)
            else:
                steps.append((kind, [text]))
    return steps


class Replay:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.buffer = b""
        self.bindings = {}

    def close(self):
        self.sock.close()

    def expect(self, lines):
        # Earlier bindings are substituted in, so a value bound in one block
        # must match in the next.
        bound = []
        for line in lines:
            for name, value in self.bindings.items():
                line = line.replace("{{%s}}" % name, value)
            bound.append(line)
        pattern = re.compile(block_pattern(bound), re.DOTALL)
        deadline = time.monotonic() + WAIT
        while True:
            m = pattern.match(self.buffer)
            if m:
                for name, value in m.groupdict().items():
                    self.bindings[name] = value.decode()
                self.buffer = self.buffer[m.end():]
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # Once the server has gone quiet after a complete line, what it
            # said is all it will say: do not wait for the whole timeout.
            quiet = self.buffer.endswith(b"\r\n")
            self.sock.settimeout(min(remaining, 0.5) if quiet else remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self.buffer += chunk
        raise AssertionError("server output does not match the transcript\nexpected:\n%s\n"
                             "got:\n%s" % ("\n".join("S: " + l for l in bound),
                                           "\n".join("S: " + l for l in
                                                     self.buffer.decode(errors="replace")
                                                     .split("\r\n"))))

    def send(self, lines):
        # Values bound from earlier S: lines may be sent back ({{name}}),
        # e.g. a UIDVALIDITY for SELECT (QRESYNC (...)).
        bound = []
        for line in lines:
            for name, value in self.bindings.items():
                line = line.replace("{{%s}}" % name, value)
            bound.append(line)
        self.sock.sendall(b"".join(expand_client(line) for line in bound))

    def expect_nothing_more(self):
        self.sock.settimeout(0.2)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            chunk = b""
        except OSError:
            chunk = b""
        self.buffer += chunk
        if self.buffer:
            raise AssertionError("unexpected output after the transcript: %r" % self.buffer)


def make_test(path):
    def test(self):
        # No failed-login delay: transcripts test answers, not the delay
        # (e2e: FailedLoginDelay does), and must not wait seconds per failure.
        server = test_serve.ImapdServer(config_text="[auth]\nfailed_login_delay = \"0s\"\n")
        try:
            replay = Replay(server.ports["imap"])
            try:
                for kind, lines in parse_transcript(path):
                    if kind == "C":
                        replay.send(lines)
                    else:
                        replay.expect(lines)
                replay.expect_nothing_more()
            finally:
                replay.close()
        except AssertionError as error:
            raise AssertionError("%s\n%s\nserver log:\n%s" % (os.path.basename(path), error,
                                                              server.log())) from None
        finally:
            server.stop()
    return test


class Transcripts(unittest.TestCase):
    pass


def add_tests(paths):
    for path in paths:
        name = "test_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        setattr(Transcripts, name, make_test(path))


def main():
    args = test_serve.take_imapd_argument("run_transcripts.py")
    paths = [a for a in args if a.endswith(".imap")]
    rest = [a for a in args if not a.endswith(".imap")]
    if not paths:
        paths = sorted(os.path.join(TRANSCRIPTS, n) for n in os.listdir(TRANSCRIPTS)
                       if n.endswith(".imap"))
    add_tests(paths)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
