"""Helpers for the protocol core's tests: a scripted transport around ServerConnection.

:class:`Session` plays the transport's part without any I/O: it feeds bytes to a
:class:`~smtpdsn.smtp.ServerConnection`, answers every request (by default with ``None``,
the core's own "accept"), and collects the events and the bytes to send.
:func:`split_replies` cuts those bytes back into replies (RFC 5321 section 4.2: a reply
ends at the line whose code is followed by a space).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from smtpdsn import Reply, parse_reply
from smtpdsn.smtp import Event, Request, ServerConnection

__all__ = [
    "Answer",
    "Session",
    "held",
    "message_held",
    "reply_codes",
    "split_replies",
    "transaction",
    "unread",
]

#: Decides the reply to a request: None for the default, or a Reply.
Answer = Callable[[Request], Reply | None]


def split_replies(data: bytes) -> list[bytes]:
    """The replies in ``data``, each with its CRLFs (the last must be complete).

    Raises:
        AssertionError: ``data`` does not end with a complete reply.
    """
    replies: list[bytes] = []
    start = 0
    pos = 0
    while pos < len(data):
        end = data.index(b"\r\n", pos) + 2
        line = data[pos:end]
        pos = end
        if len(line) == 5 or line[3:4] == b" ":  # "250\r\n" or "250 text\r\n": the last line
            replies.append(data[start:pos])
            start = pos
    assert start == len(data), f"incomplete reply at the end: {data[start:]!r}"
    return replies


def reply_codes(data: bytes) -> list[int]:
    """The code of every reply in ``data``."""
    return [parse_reply(r).code for r in split_replies(data)]


def unread(conn: ServerConnection) -> int:
    """Octets of input the connection holds and has not framed yet.

    This and :func:`message_held` read private attributes on purpose: memory that nothing
    else can see is what a bounded-memory test has to measure.
    """
    return len(conn._in) - conn._pos


def message_held(conn: ServerConnection) -> int:
    """Octets of the message being received (DATA lines or BDAT chunks) kept so far."""
    return sum(map(len, conn._data)) + sum(map(len, conn._chunks))


def held(conn: ServerConnection) -> int:
    """Octets the connection holds for the client: unread input and message being built."""
    return unread(conn) + message_held(conn)


class Session:
    """A connection driven like a transport would, without I/O.

    Args:
        answer: picks the reply to each request (default: None for every one).
        greet: answer the greeting at once (it goes to ``greeting``, not ``take()``).
        **options: passed to :class:`ServerConnection` (hostname ``mx.example.test``).
    """

    def __init__(self, answer: Answer | None = None, *, greet: bool = True, **options: Any) -> None:
        self.conn = ServerConnection("mx.example.test", **options)
        self.answer = answer
        self.events: list[Event] = []
        self.out = b""
        #: The replies sent on connecting (the greeting, unless it is not answered yet).
        self.greeting: list[Reply] = []
        if greet:
            self.pump()
            self.greeting = self.take()

    def pump(self) -> list[Event]:
        """Take every event now due, answering requests; return the new events."""
        new: list[Event] = []
        while True:
            event = self.conn.next_event()
            if event is None:
                break
            new.append(event)
            if isinstance(event, Request):
                self.conn.send_reply(self.answer(event) if self.answer else None)
        self.events += new
        self.out += self.conn.data_to_send()
        return new

    def feed(self, *chunks: bytes) -> list[Event]:
        """Give each chunk to the connection in turn (pumping after each)."""
        new: list[Event] = []
        for chunk in chunks:
            self.conn.receive_data(chunk)
            new += self.pump()
        return new

    def eof(self) -> list[Event]:
        """The client closes its sending side."""
        self.conn.receive_data(b"")
        return self.pump()

    def take(self) -> list[Reply]:
        """The replies sent since the last call, parsed (strictly)."""
        out, self.out = self.out, b""
        return [parse_reply(r) for r in split_replies(out)]

    def say(self, *lines: str | bytes) -> list[Reply]:
        """Send each line with CRLF, in one read; return the replies it brought."""
        if not lines:
            return []
        data = b"".join(
            (line.encode() if isinstance(line, str) else line) + b"\r\n" for line in lines
        )
        self.feed(data)
        return self.take()

    def codes(self, *lines: str | bytes) -> list[tuple[int, str | None]]:
        """Like :meth:`say`, as ``(code, enhanced status)`` pairs."""
        return [(r.code, str(r.status) if r.status else None) for r in self.say(*lines)]

    def of_type(self, kind: type[Event]) -> list[Event]:
        """The events of one class received so far."""
        return [e for e in self.events if isinstance(e, kind)]


def transaction(sender: str = "a@example.test", *recipients: str) -> Iterable[str]:
    """The command lines of EHLO, MAIL and RCPT for one transaction."""
    yield "EHLO client.example.test"
    yield f"MAIL FROM:<{sender}>"
    for rcpt in recipients or ("b@example.test",):
        yield f"RCPT TO:<{rcpt}>"
