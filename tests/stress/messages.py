"""The checker's messages: deterministic from (seed, author, number), each
with a unique Message-ID, so any BODY[] the server returns can be compared
with what was appended byte for byte."""
import base64
import random

WORDS = ("mailbox", "device", "phone", "laptop", "webmail", "sync", "flag", "seen", "draft",
         "expunge", "vanished", "modseq", "quokka", "fjord", "meeting", "invoice", "holiday",
         "report", "minutes", "budget", "train", "coffee", "garden", "release", "stress")
SUBJECTS = ("Weekly report", "Re: meeting moved", "Invoice 2024-{n}", "Holiday photos",
            "Fwd: release notes", "=?UTF-8?B?R3LDvMOfZSBhdXMgWsO8cmljaA==?=",
            "=?ISO-8859-1?Q?caf=E9_{n}?=", "stress {n}")


def message_id(seed, author, number):
    return b"<%d.%s.%d@stress.imapd.test>" % (seed, str(author).encode(), number)


def make_message(seed, author, number):
    """(Message-ID, bytes with CRLF line ends). Sizes: 76 % 0.3-4 KB, 16 %
    4-40 KB, 8 % 200 KB-2 MB (log-uniform, an attachment): about 65 KB on
    average, like a real mailbox with attachments. A FETCH of every body
    is then more than the ~4.5 MB the kernel's socket buffers take on
    loopback, so the server has to stream it across many writes, waiting
    for the client, while other sessions change the mailbox."""
    rng = random.Random("message/%d/%s/%d" % (seed, author, number))
    mid = message_id(seed, author, number)
    roll = rng.random()
    large = False
    if roll < 0.76:
        size = rng.randint(300, 4000)
    elif roll < 0.92:
        size = rng.randint(4000, 40000)
    else:
        size = int(200000 * 10 ** rng.random())
        large = True
    subject = rng.choice(SUBJECTS).replace("{n}", str(number))
    headers = [
        "From: Stress %s <stress%s@stress.imapd.test>" % (author, author),
        "To: alice@stress.imapd.test",
        "Subject: %s" % subject,
        "Date: Mon, %d Jan 2024 %02d:%02d:00 +0000" % (1 + number % 28, number % 24, number % 60),
        "Message-ID: %s" % mid.decode(),
        "MIME-Version: 1.0",
    ]
    if large or rng.random() < 0.3:
        boundary = "b-%d-%s-%d" % (seed, author, number)
        # The text stays small: a large message is its attachment.
        text = _text(rng, min(size // 3, 20000))
        raw = rng.randbytes(max(1, size * 3 // 4 - len(text)))
        attachment = base64.encodebytes(raw).decode().replace("\n", "\r\n")
        headers.append('Content-Type: multipart/mixed; boundary="%s"' % boundary)
        body = ("--%s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"
                "--%s\r\nContent-Type: application/octet-stream\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n%s--%s--\r\n" %
                (boundary, text, boundary, attachment, boundary))
    else:
        headers.append("Content-Type: text/plain; charset=utf-8")
        body = _text(rng, size) + "\r\n"
    return mid, ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def _text(rng, size):
    lines = []
    total = 0
    while total < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12)))
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines)
