"""The fuzz tests' oracle: the client's bytes framed by the RFCs, paired with the replies.

:class:`Framer` reads the bytes a client sent with the RFCs' framing rules and no
knowledge of the core: a command line ends at LF; after a ``354`` reply the message runs to
``CRLF.CRLF`` (RFC 5321 section 4.1.1.4); a well-formed ``BDAT n`` line is followed by n
octets and answered after them (RFC 3030 section 2); after a ``334`` the next line is a SASL
response (RFC 4954 section 4); after a ``220`` to STARTTLS the plain-text input is discarded
(RFC 3207 section 4.2); a ``221`` or ``421`` ends the session (RFC 5321 sections 4.1.1.10
and 3.8). It pairs each complete unit with the next reply, and :func:`check_reply` checks
each reply's form (RFC 5321 section 4.2 and 4.5.3.1.5, RFC 2034 section 4).
"""

from __future__ import annotations

import re
from collections import deque

from hypothesis import event

from smtpdsn import Reply, parse_reply
from smtpdsn.reply import MAX_LINE_OCTETS
from smtpdsn.smtp.connection import TEXT_LINE

from .smtp_support import split_replies

__all__ = ["Framer", "check_reply"]

# RFC 3030 section 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF.
_BDAT = re.compile(rb"BDAT ([0-9]{1,20})(?: LAST)?", re.IGNORECASE)


def check_reply(raw: bytes, *, status_optional: bool) -> Reply:
    """Check one reply's wire form and parse it."""
    assert raw.endswith(b"\r\n"), raw
    for line in raw[:-2].split(b"\r\n"):
        assert len(line) + 2 <= MAX_LINE_OCTETS, f"reply line over 512 octets: {line[:80]!r}"
        assert b"\r" not in line and b"\n" not in line, raw
        # US-ASCII: the core's replies are never UTF-8 (RFC 5321 section 2.4).
        assert all(32 <= b < 127 for b in line), f"control or non-ASCII octet in {line!r}"
    reply = parse_reply(raw)  # strict: raises on anything malformed
    if reply.status is None:
        # RFC 2034 section 4 asks for it on 2xx, 4xx and 5xx replies (not 334 or 354).
        assert status_optional or reply.code // 100 == 3, f"no enhanced status: {raw!r}"
    else:
        assert reply.status.class_ == reply.code // 100, raw
    return reply


class _Waiting(Exception):
    """The next unit's reply is not due yet (its request is pending)."""


class Framer:
    """Frames the client's bytes as the RFCs do and pairs each unit with a reply."""

    def __init__(self, *, chunking: bool) -> None:
        self.chunking = chunking
        self.mode = "greeting"
        self.buf = b""
        self.replies: deque[tuple[bytes, bool]] = deque()  # (raw reply, closes)
        self.refused = False  # a 554 greeting (RFC 5321 section 3.1)
        self.chunk_left = 0
        self.answered = 0
        #: Contents of DATA messages the core reported, to compare with the bodies.
        self.messages: deque[bytes] = deque()
        self.waiting = False

    def add_replies(self, data: bytes, *, closing: bool = False) -> None:
        raws = split_replies(data)
        for i, raw in enumerate(raws):
            self.replies.append((raw, closing and i == len(raws) - 1))

    def feed(self, data: bytes) -> None:
        if self.mode not in ("tls", "closed"):
            self.buf += data

    def _pop(self, unit: bytes, *, status_optional: bool = False) -> Reply:
        if not self.replies and self.waiting:
            raise _Waiting  # the transport has not answered this one yet
        assert self.replies, f"no reply to the complete unit {unit[:80]!r}"
        raw, closes = self.replies.popleft()
        self.answered += 1
        reply = check_reply(raw, status_optional=status_optional)
        event(f"reply {reply.code} in {self.mode}")
        if closes or reply.code in (221, 421):
            self.mode = "closed"
            self.buf = b""
        return reply

    def advance(self, *, waiting: bool = False) -> None:
        """Pair every complete unit with its reply; fail on a missing or extra reply.

        ``waiting``: a request is pending, so the units from it on may have no reply yet.
        """
        self.waiting = waiting
        while True:
            saved = (self.mode, self.buf, self.chunk_left)
            try:
                if not self._step():
                    break
            except _Waiting:
                self.mode, self.buf, self.chunk_left = saved
                break
        assert not self.replies, f"reply without a command: {self.replies[0][0]!r}"
        # A message whose reply is pending is not matched yet.
        assert len(self.messages) <= (1 if waiting else 0), "a message event without a message"

    def _step(self) -> bool:
        """Take one unit and its reply; False when no complete unit is left."""
        mode = self.mode
        if mode == "greeting":
            if not self.replies:
                return False
            reply = self._pop(b"<connect>", status_optional=True)
            assert reply.code in (220, 554, 421), reply
            self.refused = reply.code == 554
            if self.mode != "closed":
                self.mode = "command"
        elif mode in ("command", "auth"):
            end = self.buf.find(b"\n")
            if end < 0:
                return False
            line = self.buf[:end]
            self.buf = self.buf[end + 1 :]
            if line.endswith(b"\r"):
                line = line[:-1]
            verb = line.split(b" ", 1)[0].upper()
            if mode == "command" and self.chunking and not self.refused:
                match = _BDAT.fullmatch(line)
                if match is not None:
                    self.mode = "chunk"
                    self.chunk_left = int(match[1])
                    return True
            reply = self._pop(
                line,
                status_optional=verb in (b"EHLO", b"HELO") or mode == "auth",
            )
            if reply.code == 250 and reply.status is None:
                assert verb in (b"EHLO", b"HELO") and mode == "command", (line, reply)
            if self.mode == "closed":
                return True
            if reply.code == 354:
                assert verb == b"DATA" and mode == "command", (line, reply)
                self.mode = "data"
            elif reply.code == 334:
                assert verb == b"AUTH" or mode == "auth", (line, reply)
                self.mode = "auth"
            elif reply.code == 220:
                assert verb == b"STARTTLS" and mode == "command", (line, reply)
                self.mode = "tls"
                self.buf = b""
            else:
                assert reply.status is not None or reply.code == 250, (line, reply)
                self.mode = "command"
        elif mode == "data":
            if self.buf.startswith(b".\r\n"):
                end = 3
            else:
                term = self.buf.find(b"\r\n.\r\n")
                if term < 0:
                    return False
                end = term + 5
            body = self.buf[: end - 3]
            self.buf = self.buf[end:]
            reply = self._pop(b"<end of data>")
            if self.mode != "closed":
                self.mode = "command"
            if reply.code in (500, 552):
                return True  # refused by the core itself (line or size): no message event
            lines = body.split(b"\r\n")[:-1] if body else []
            assert all(len(ln) + 2 <= TEXT_LINE for ln in lines)
            content = b"".join((ln[1:] if ln.startswith(b".") else ln) + b"\r\n" for ln in lines)
            assert self.messages, "a message accepted without a MessageReceived event"
            assert self.messages.popleft() == content
        elif mode == "chunk":
            if len(self.buf) < self.chunk_left:
                return False
            self.buf = self.buf[self.chunk_left :]
            self._pop(b"<end of chunk>")
            if self.mode != "closed":
                self.mode = "command"
        else:  # tls, closed: the input is discarded
            self.buf = b""
            return False
        return True
