#!/usr/bin/env python3
"""Regenerates NAME.expected for every NAME.eml here from a reference Dovecot.

The unit tests never need Dovecot: they read the .expected files this writes.

    # a Dovecot 2.3 on 127.0.0.1:10143 with the user alice, password "pass"
    # (tests/bench/dovecot.py sets one up in a scratch directory), then:
    tests/data/messages/regen-from-dovecot.py [--host 127.0.0.1] [--port 10143]

Each message is APPENDed byte for byte (imaplib's CRLF normalisation is
switched off) to a scratch mailbox and fetched back. NAME.expected holds one
item per line, exactly as Dovecot sent it after "* 1 FETCH (": RFC822.SIZE,
ENVELOPE, BODY, BODYSTRUCTURE; literals are kept inline as {n}CRLF<bytes>.
Then one line per section in SECTIONS that Dovecot answered with a non-empty
string: "SECTION <size> <fnv1a64 hex>", which the corpus test compares with
the byte ranges our parser computes.

Messages listed in DELIBERATE (see DIFFERENCES.md) are written to
NAME.dovecot instead, so the hand-maintained NAME.expected stays as it is.
"""
import argparse
import imaplib
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
ITEMS = ["RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE"]
SECTIONS = ["HEADER", "TEXT", "1", "1.MIME", "1.HEADER", "1.TEXT", "1.1", "1.2",
            "2", "2.MIME", "2.HEADER", "2.TEXT", "2.1", "2.1.MIME", "2.2", "2.2.MIME",
            "3", "3.MIME", "3.HEADER", "3.TEXT", "3.1", "3.2"]
# Messages whose expectations differ from Dovecot on purpose (DIFFERENCES.md).
DELIBERATE = {"bare_lf", "bad_content_type", "empty_message"}
MAILBOX = "regen-scratch"


def fnv1a64(data: bytes) -> int:
    h = 0xcbf29ce484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def flatten(resp) -> bytes:
    """imaplib's FETCH data (bytes and (prefix, literal) tuples) back to wire bytes."""
    out = b""
    for piece in resp:
        if isinstance(piece, tuple):
            out += piece[0] + b"\r\n" + piece[1]
        else:
            out += piece
    return out


def fetch_item(imap, item):
    typ, data = imap.uid("FETCH", "1:*", "(%s)" % item)
    assert typ == "OK", data
    wire = flatten(data)
    # "<seq> (ITEM value)" -> value
    # "<seq> (UID n ITEM value)" or "<seq> (ITEM value UID n)" -> value
    m = re.match(rb"\d+ \((?:UID \d+ )?" + re.escape(item.encode()) + rb" ", wire)
    assert m, wire[:200]
    assert wire.endswith(b")"), wire[-50:]
    value = re.sub(rb" UID \d+$", b"", wire[m.end():-1])
    return value


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=10143)
    ap.add_argument("--user", default="alice")
    ap.add_argument("--password", default="pass")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    imaplib.MapCRLF = re.compile(rb"(?!x)x")  # never matches: send the bytes as they are
    names = args.names or sorted(p.stem for p in HERE.glob("*.eml"))
    imap = imaplib.IMAP4(args.host, args.port)
    imap.login(args.user, args.password)
    for name in names:
        raw = (HERE / (name + ".eml")).read_bytes()
        imap.create(MAILBOX)
        imap.select(MAILBOX)
        typ, data = imap.append(MAILBOX, None, None, raw)
        if typ != "OK":
            print(f"{name}: APPEND refused: {data}", file=sys.stderr)
            imap.close()
            imap.delete(MAILBOX)
            continue
        imap.select(MAILBOX)
        lines = []
        for item in ITEMS:
            lines.append(item.encode() + b" " + fetch_item(imap, item))
        for section in SECTIONS:
            typ, data = imap.uid("FETCH", "1:*", "(BODY.PEEK[%s])" % section)
            if typ != "OK" or not data or not isinstance(data[0], tuple):
                continue  # NIL, "" or an error: nothing to compare
            body = data[0][1]
            if not body:
                continue
            lines.append(b"BODY[%s] %d %016x" % (section.encode(), len(body), fnv1a64(body)))
        out = HERE / (name + (".dovecot" if name in DELIBERATE else ".expected"))
        out.write_bytes(b"\n".join(lines) + b"\n")
        print(f"{name}: wrote {out.name}")
        imap.close()
        imap.delete(MAILBOX)
    imap.logout()


if __name__ == "__main__":
    main()
