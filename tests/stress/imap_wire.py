"""IMAP wire layer of the stress checker: reading and parsing server responses.

Standard library only. Strict on purpose: anything that does not follow the
RFC 3501 section 9 grammar (as extended by RFC 4315, 4731, 5161, 7162) raises
ProtocolError, which the checker reports as a failure.

Values produced by the parser:
  atom, number, flag, sequence set   -> str      ("FLAGS", "12", "\\Seen", "1:3,5")
  quoted string, literal, literal8   -> bytes
  NIL                                -> None
  parenthesised list                 -> list of values
"""
import re
import socket
import time

# A response line is at most this long without a literal (Dovecot's longest
# lines are a few KB; imapd's are bounded by its output chunking). Past it the
# server is sending garbage and the checker stops reading.
MAX_LINE = 1 << 20
# The largest literal accepted from the server. The checker's messages are at
# most a few hundred KB; 64 MiB is imapd's own literal limit.
MAX_LITERAL = 64 << 20
# Expanding a sequence set into numbers is bounded: the checker's mailboxes
# hold hundreds of messages, not millions.
MAX_SET_MEMBERS = 1 << 20

LITERAL_AT_END = re.compile(rb"~?\{(\d{1,10})\}\Z")
# In transcripts the client's own LITERAL+ literals ({n+}, RFC 7888) are shown too.
SHOWN_LITERAL_AT_END = re.compile(rb"~?\{(\d{1,10})\+?\}\Z")


class ProtocolError(Exception):
    """The server sent something the grammar does not allow."""


class ConnectionClosed(ProtocolError):
    """The server closed the connection."""


# ---------------------------------------------------------------------------
# Reading whole responses (lines and their literals) from a socket.
# ---------------------------------------------------------------------------

class ResponseReader:
    """Splits a socket's bytes into whole responses: a line, and when it ends
    in {n}, the n literal bytes and the rest of the response after them.

    The scan keeps its place between reads, so a response arriving in pieces
    (a 300 KB literal in 16 KB reads) is scanned once, and a read that times
    out loses nothing: the next read() continues where it stopped."""

    def __init__(self, sock, slow_read=0.0, read_size=65536):
        self.sock = sock
        self.buf = bytearray()
        self._line_start = 0    # start of the line being scanned (after a literal)
        self._find_from = 0     # where the search for its CRLF resumes
        self._literal_left = 0  # literal bytes still to skip
        self.slow_read = slow_read
        self.read_size = read_size

    def pending(self):
        """True when bytes of a next response are already buffered."""
        return len(self.buf) > 0

    def _complete(self):
        """The length of the first complete response in buf, or None."""
        while True:
            if self._literal_left:
                available = len(self.buf) - self._line_start
                if available < self._literal_left:
                    self._line_start += available
                    self._literal_left -= available
                    self._find_from = self._line_start
                    return None
                self._line_start += self._literal_left
                self._find_from = self._line_start
                self._literal_left = 0
            end = self.buf.find(b"\r\n", self._find_from)
            if end < 0:
                if len(self.buf) - self._line_start > MAX_LINE:
                    raise ProtocolError("a response line longer than %d bytes" % MAX_LINE)
                # Keep a CR at the end: its LF may come with the next read.
                self._find_from = max(self._line_start, len(self.buf) - 1)
                return None
            m = LITERAL_AT_END.search(self.buf, max(self._line_start, end - 14), end)
            if m:
                size = int(m.group(1))
                if size > MAX_LITERAL:
                    raise ProtocolError("a literal of %d bytes (limit %d)" % (size, MAX_LITERAL))
                self._line_start = self._find_from = end + 2
                self._literal_left = size
                continue
            return end + 2

    def read(self, deadline):
        """The next whole response as bytes (ending in CRLF), or None when
        `deadline` (time.monotonic()) passes first."""
        while True:
            length = self._complete()
            if length is not None:
                raw = bytes(self.buf[:length])
                del self.buf[:length]
                self._line_start = self._find_from = 0
                return raw
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(self.read_size)
            except socket.timeout:
                return None
            except OSError as e:
                raise ConnectionClosed("connection error: %s" % e) from e
            if not chunk:
                raise ConnectionClosed("the server closed the connection")
            self.buf += chunk
            if self.slow_read:
                time.sleep(self.slow_read)

    def poll(self):
        """Reads whatever has already arrived, without waiting."""
        self.sock.setblocking(False)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionClosed("the server closed the connection")
                self.buf += chunk
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as e:
            raise ConnectionClosed("connection error: %s" % e) from e
        finally:
            self.sock.setblocking(True)


# ---------------------------------------------------------------------------
# Parsing one response.
# ---------------------------------------------------------------------------

class Response:
    """One parsed server response.

    tag       "*" (untagged), "+" (continuation request) or the command tag
    kind      upper-case response name: OK NO BAD BYE PREAUTH EXISTS RECENT
              EXPUNGE FETCH FLAGS CAPABILITY ENABLED SEARCH ESEARCH STATUS
              LIST LSUB VANISHED ..., or "+" for a continuation request
    number    the message number of EXISTS/RECENT/EXPUNGE/FETCH, else None
    code      upper-case response code name of a status response, or None
    code_args the code's arguments (list of values; raw text for unknown codes)
    text      the human-readable text
    values    the response's data: FETCH items as a dict (upper-case names),
              other responses as a list of values
    raw       the bytes as received
    """

    __slots__ = ("tag", "kind", "number", "code", "code_args", "text", "values", "raw")

    def __init__(self, raw):
        self.raw = raw
        self.tag = None
        self.kind = None
        self.number = None
        self.code = None
        self.code_args = []
        self.text = ""
        self.values = []

    def is_status(self):
        return self.kind in ("OK", "NO", "BAD", "BYE", "PREAUTH")

    def __repr__(self):
        return "Response(%s)" % summarize(self.raw)


STATUS_NAMES = ("OK", "NO", "BAD", "BYE", "PREAUTH")
# Codes whose arguments are IMAP values (parsed); any other code keeps its
# arguments as text (RFC 3501 resp-text-code: atom [SP 1*<TEXT-CHAR except "]">]).
STRUCTURED_CODES = ("PERMANENTFLAGS", "BADCHARSET", "CAPABILITY", "UIDNEXT", "UIDVALIDITY",
                    "UNSEEN", "HIGHESTMODSEQ", "APPENDUID", "COPYUID", "MODIFIED")
# Codes without arguments in the RFCs the checker knows.
BARE_CODES = ("ALERT", "PARSE", "READ-ONLY", "READ-WRITE", "TRYCREATE", "UIDNOTSTICKY",
              "NOMODSEQ", "CLOSED", "EXPUNGEISSUED", "UNAVAILABLE", "AUTHENTICATIONFAILED",
              "AUTHORIZATIONFAILED", "EXPIRED", "PRIVACYREQUIRED", "CONTACTADMIN", "NOPERM",
              "INUSE", "CORRUPTION", "SERVERBUG", "CLIENTBUG", "CANNOT", "LIMIT", "OVERQUOTA",
              "ALREADYEXISTS", "NONEXISTENT", "TOOBIG", "NOTSAVED", "HASCHILDREN")

ATOM_SPECIALS = b'(){ %"\\]' + bytes(range(0, 32)) + b"\x7f"


class _Scanner:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def fail(self, what):
        raise ProtocolError("%s at byte %d of %s" % (what, self.pos, summarize(self.data)))

    def at_end(self):
        return self.pos >= len(self.data)

    def peek(self):
        return self.data[self.pos:self.pos + 1]

    def expect(self, token):
        if not self.data.startswith(token, self.pos):
            self.fail("expected %r" % token)
        self.pos += len(token)

    def sp(self):
        self.expect(b" ")

    def number(self):
        start = self.pos
        while self.pos < len(self.data) and self.data[self.pos:self.pos + 1].isdigit():
            self.pos += 1
        if start == self.pos:
            self.fail("expected a number")
        text = self.data[start:self.pos]
        if len(text) > 1 and text[0:1] == b"0":
            self.fail("a number with a leading zero")
        return int(text)

    def atom(self, in_code=False):
        """An atom; a flag (\\Seen, \\*); a FETCH item name with its section
        and partial (BODY[HEADER.FIELDS (A B)]<0>)."""
        start = self.pos
        data = self.data
        if self.peek() == b"\\":
            self.pos += 1
            if self.peek() == b"*":
                self.pos += 1
                return "\\*"
        while self.pos < len(data):
            c = data[self.pos]
            if c == 0x5B:  # "[": a section, up to its "]" (may hold SP and parens)
                if in_code:
                    break
                end = data.find(b"]", self.pos)
                if end < 0:
                    self.fail("unterminated [")
                self.pos = end + 1
                continue
            if c in ATOM_SPECIALS or c > 0x7E:
                break
            self.pos += 1
        if self.pos == start or (self.pos == start + 1 and data[start:start + 1] == b"\\"):
            self.fail("expected an atom")
        return data[start:self.pos].decode("ascii")

    def quoted(self):
        self.expect(b'"')
        out = bytearray()
        data = self.data
        while True:
            if self.pos >= len(data):
                self.fail("unterminated quoted string")
            c = data[self.pos]
            if c == 0x22:
                self.pos += 1
                return bytes(out)
            if c == 0x5C:
                nxt = data[self.pos + 1:self.pos + 2]
                if nxt not in (b'"', b"\\"):
                    self.fail("bad escape in quoted string")
                out += nxt
                self.pos += 2
                continue
            if c in (0x0D, 0x0A):
                self.fail("CR or LF in a quoted string")
            out.append(c)
            self.pos += 1

    def literal(self):
        if self.peek() == b"~":
            self.pos += 1
        self.expect(b"{")
        size = self.number()
        self.expect(b"}\r\n")
        if self.pos + size > len(self.data):
            self.fail("literal runs past the response")
        value = self.data[self.pos:self.pos + size]
        self.pos += size
        return bytes(value)

    def value(self, in_code=False):
        c = self.peek()
        if c == b"(":
            return self.list(in_code)
        if c == b'"':
            return self.quoted()
        if c == b"{" or self.data.startswith(b"~{", self.pos):
            return self.literal()
        word = self.atom(in_code)
        return None if word.upper() == "NIL" else word

    def list(self, in_code=False):
        self.expect(b"(")
        items = []
        if self.peek() == b")":
            self.pos += 1
            return items
        while True:
            items.append(self.value(in_code))
            c = self.peek()
            if c == b")":
                self.pos += 1
                return items
            if c != b" ":
                self.fail("expected SP or ) in a list")
            self.pos += 1

    def values_to_end(self):
        items = []
        while not self.at_end():
            items.append(self.value())
            if self.at_end():
                break
            self.sp()
        return items

    def rest_text(self):
        text = self.data[self.pos:]
        self.pos = len(self.data)
        if b"\r" in text or b"\n" in text:
            self.fail("CR or LF in response text")
        return text.decode("utf-8", errors="replace")


def _resp_text(s, resp):
    """resp-text = ["[" resp-text-code "]" SP] text (RFC 3501 9; the text may be
    empty as in RFC 9051)."""
    if s.peek() == b"[":
        s.pos += 1
        name = s.atom(in_code=True).upper()
        resp.code = name
        if name in STRUCTURED_CODES:
            args = []
            while s.peek() == b" ":
                s.pos += 1
                args.append(s.value(in_code=True))
            resp.code_args = args
        elif s.peek() == b" ":
            end = s.data.find(b"]", s.pos)
            if end < 0:
                s.fail("unterminated response code")
            resp.code_args = [s.data[s.pos + 1:end].decode("utf-8", errors="replace")]
            s.pos = end
        s.expect(b"]")
        if s.at_end():
            return
        s.sp()
    elif s.peek() == b" ":
        s.fail("two spaces before response text")
    resp.text = s.rest_text()


def _fetch_items(s):
    items = s.list()
    if len(items) % 2:
        s.fail("FETCH items not in name/value pairs")
    out = {}
    for i in range(0, len(items), 2):
        name = items[i]
        if not isinstance(name, str):
            s.fail("FETCH item name is not an atom")
        key = name.upper()
        if key in out:
            s.fail("FETCH item %s twice" % key)
        out[key] = items[i + 1]
    return out


def parse_response(raw):
    """Parses one whole response (as returned by ResponseReader.read)."""
    if not raw.endswith(b"\r\n"):
        raise ProtocolError("response without CRLF: %s" % summarize(raw))
    s = _Scanner(raw[:-2])
    resp = Response(raw)
    if s.peek() == b"+":
        resp.tag = "+"
        resp.kind = "+"
        s.pos += 1
        if s.peek() == b" ":
            s.pos += 1
            resp.text = s.rest_text()
        elif not s.at_end():
            s.fail("expected SP after +")
        return resp
    if s.peek() == b"*":
        s.pos += 1
        resp.tag = "*"
        s.sp()
        if s.peek().isdigit():
            resp.number = s.number()
            s.sp()
            resp.kind = s.atom().upper()
            if resp.kind == "FETCH":
                s.sp()
                resp.values = _fetch_items(s)
            elif resp.kind not in ("EXISTS", "RECENT", "EXPUNGE"):
                s.fail("unknown numbered response %s" % resp.kind)
            if not s.at_end():
                s.fail("junk after %s" % resp.kind)
            return resp
        resp.kind = s.atom().upper()
        if resp.kind in STATUS_NAMES:
            if not s.at_end():
                s.sp()
                _resp_text(s, resp)
            return resp
        if not s.at_end():
            s.sp()
            resp.values = s.values_to_end()
        return resp
    # Tagged: tag SP ("OK" / "NO" / "BAD") SP resp-text
    tag_end = raw.find(b" ")
    if tag_end <= 0:
        raise ProtocolError("malformed response: %s" % summarize(raw))
    resp.tag = raw[:tag_end].decode("ascii", errors="replace")
    s.pos = tag_end + 1
    resp.kind = s.atom().upper()
    if resp.kind not in ("OK", "NO", "BAD"):
        s.fail("tagged response %s is not OK, NO or BAD" % resp.kind)
    if not s.at_end():
        s.sp()
        _resp_text(s, resp)
    return resp


# ---------------------------------------------------------------------------
# Values.
# ---------------------------------------------------------------------------

def as_number(value, what="number"):
    if not isinstance(value, str) or not value.isdigit() or (len(value) > 1 and value[0] == "0"):
        raise ProtocolError("expected a %s, got %r" % (what, value))
    return int(value)


def parse_set(text, what="sequence set"):
    """A sequence set without "*" (as servers send in COPYUID, VANISHED,
    MODIFIED, ESEARCH) as a sorted list of distinct numbers."""
    return sorted(set(parse_set_ordered(text, what)))


def parse_set_ordered(text, what="UID set"):
    """A sequence set in the order written (COPYUID's source and destination
    sets correspond member by member, RFC 4315 3)."""
    if not isinstance(text, str) or not text:
        raise ProtocolError("expected a %s, got %r" % (what, text))
    out = []
    for part in text.split(","):
        bounds = part.split(":")
        if len(bounds) > 2:
            raise ProtocolError("bad %s %r" % (what, text))
        lo = as_number(bounds[0], what)
        hi = as_number(bounds[-1], what)
        if lo == 0 or hi == 0:
            raise ProtocolError("0 in %s %r" % (what, text))
        step = 1 if hi >= lo else -1
        if len(out) + abs(hi - lo) + 1 > MAX_SET_MEMBERS:
            raise ProtocolError("%s %r is too large" % (what, text))
        out.extend(range(lo, hi + step, step))
    return out


def format_set(numbers):
    """Numbers as a compact sequence set: 1:3,5,7:8."""
    nums = sorted(set(numbers))
    if not nums:
        raise ValueError("empty set")
    parts = []
    start = prev = nums[0]
    for n in nums[1:]:
        if n == prev + 1:
            prev = n
            continue
        parts.append(str(start) if start == prev else "%d:%d" % (start, prev))
        start = prev = n
    parts.append(str(start) if start == prev else "%d:%d" % (start, prev))
    return ",".join(parts)


def quote(text):
    """An IMAP quoted string (the checker only quotes short ASCII values)."""
    if any(c in text for c in "\r\n\0") or not text.isascii():
        raise ValueError("cannot quote %r" % text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def summarize(raw, limit=300):
    """A response for a transcript: literals shown as {n} and their first
    bytes, long lines cut, CRLF removed."""
    if isinstance(raw, str):
        raw = raw.encode()
    out = bytearray()
    pos = 0
    while pos < len(raw) and len(out) < limit:
        end = raw.find(b"\r\n", pos)
        if end < 0:
            out += raw[pos:]
            break
        line = raw[pos:end]
        out += line
        pos = end + 2
        m = SHOWN_LITERAL_AT_END.search(line)
        if m:
            size = int(m.group(1))
            body = raw[pos:pos + size]
            preview = body[:40].replace(b"\r\n", b"\\r\\n")
            out += b"[" + preview + (b"..." if size > 40 else b"") + b"]"
            pos += size
    text = bytes(out).decode("utf-8", errors="replace")
    if len(text) > limit:
        text = text[:limit] + "..."
    return text
