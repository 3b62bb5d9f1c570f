"""The message: DATA (RFC 5321 sections 4.1.1.4 and 4.5.2) and BDAT (RFC 3030).

DATA is read line by line until a line of a single ``.``; only CRLF ends a line, so a bare
LF never ends a message. Lines are dot-unstuffed and at most 1,000 octets with their CRLF
(section 4.5.3.1.6); the message at most the SIZE limit (RFC 1870). BDAT chunks are read by
count, whatever they contain; a chunk out of order is read, then refused.
"""

from __future__ import annotations

from ..reply import Reply
from . import replies as R
from ._core import TEXT_LINE, ConnectionBase, State
from .events import DataCommand, Event, MessageReceived

__all__ = ["MessageSteps"]


class _Chunk:
    """The BDAT chunk being read."""

    __slots__ = ("error", "last", "remaining", "size")

    def __init__(self, size: int, last: bool, error: Reply | None) -> None:
        self.size = size
        self.remaining = size
        self.last = last
        self.error = error


class MessageSteps(ConnectionBase):
    """DATA and BDAT, and reading what follows them."""

    _data: list[bytes]
    _data_size: int
    _data_error: Reply | None
    _at_line_start: bool
    _chunk: _Chunk | None
    _chunks: list[bytes]
    _chunked: bool
    _chunk_error: Reply | None

    def _data_cmd(self, arg: str) -> Event | None:
        if arg.strip(" "):
            return self._error("DATA", R.syntax("Syntax: DATA"))
        refused = self._need_helo("DATA")
        if refused is not None:
            return refused
        if self.recipients == 0:  # aiosmtpd's and Postfix's answer, with or without MAIL
            return self._error("DATA", R.NEED_RCPT)
        if self._chunked:
            return self._error("DATA", Reply(503, "5.5.1", "Error: DATA after BDAT"))
        return DataCommand()

    def _bdat_cmd(self, arg: str) -> Event | None:
        words = arg.split(" ")
        if not self.chunking or not 1 <= len(words) <= 2:
            if not self.chunking:
                return self._error("-", Reply(500, "5.5.1", 'Error: command "BDAT" not recognized'))
            return self._error("BDAT", R.syntax("Syntax: BDAT size [LAST]"))
        size_text = words[0]
        last = len(words) == 2
        if (
            not (size_text.isascii() and size_text.isdigit())
            or len(size_text) > 20
            or (last and words[1].upper() != "LAST")
        ):
            return self._error("BDAT", R.syntax("Syntax: BDAT size [LAST]"))
        size = int(size_text)
        error: Reply | None = None
        if self.client_name is None:
            error = R.HELO_FIRST
        elif self.mail is None:
            error = R.NEED_MAIL
        elif self.recipients == 0:
            error = R.NEED_RCPT
        elif self._chunk_error is not None:
            error = self._chunk_error
        elif self.max_message_size is not None:
            total = sum(map(len, self._chunks)) + size
            if total > self.max_message_size:
                error = R.MESSAGE_TOO_BIG
        self._chunk = _Chunk(size, last, error)
        if error is None:
            self._chunked = True
        self.state = State.CHUNK
        return None

    def _read_data(self) -> Event | None:
        """Take the complete lines of the buffer into the message; a line of a single
        ``.`` ends it. Only CRLF ends a line here: a bare LF is message text, so
        ``LF.LF`` never ends a message (the "SMTP smuggling" defence)."""
        buf = self._in
        pos = self._pos
        if self._at_line_start:
            if buf.startswith(b".\r\n", pos):
                self._pos = pos + 3
                return self._finish_data()
            if len(buf) - pos < 3 and b".\r\n".startswith(buf[pos:]):
                return None  # maybe the final dot, not all here yet
        term = buf.find(b"\r\n.\r\n", pos)
        if term >= 0:
            self._take(buf[pos:term])
            self._pos = term + 5
            return self._finish_data()
        end = buf.rfind(b"\r\n", pos)
        if end < 0:
            if len(buf) - pos > TEXT_LINE:
                # A line longer than allowed: refuse the message, keep nothing of it but
                # the last octet (it may be the CR of the CRLF that ends the line).
                self._data_fail(R.LINE_TOO_LONG)
                self._at_line_start = False
                self._in, self._pos = buf[-1:], 0
            return None
        self._take(buf[pos:end])
        self._pos = end + 2
        self._at_line_start = True
        if len(buf) - self._pos > TEXT_LINE:
            # The partial line after the last line end is already too long: drop it now
            # rather than hold it whole until the next read.
            self._data_fail(R.LINE_TOO_LONG)
            self._at_line_start = False
            self._in, self._pos = buf[-1:], 0
        return None

    def _take(self, block: bytes) -> None:
        """Add complete lines (joined by CRLF, without the last one's CRLF) to the message:
        dot-unstuffed, each line checked against the 1,000-octet limit."""
        continues = not self._at_line_start  # the first line is the tail of a dropped one
        if len(block) + 2 > TEXT_LINE:
            lines = block.split(b"\r\n")
            if max(map(len, lines[1:] if continues else lines), default=0) + 2 > TEXT_LINE:
                self._data_fail(R.LINE_TOO_LONG)
        if self._data_error is not None:
            return
        if b"\r\n." in block or (not continues and block[:1] == b"."):
            lines = block.split(b"\r\n")
            first = 1 if continues else 0
            for i in range(first, len(lines)):
                if lines[i][:1] == b".":
                    lines[i] = lines[i][1:]
            block = b"\r\n".join(lines)
        self._data_size += len(block) + 2
        if self.max_message_size is not None and self._data_size > self.max_message_size:
            self._data_fail(R.TOO_MUCH_DATA)
            return
        self._data.append(block)
        self._data.append(b"\r\n")

    def _data_fail(self, reply: Reply) -> None:
        if self._data_error is None:
            self._data_error = reply
        self._data = []

    def _finish_data(self) -> Event | None:
        self.state = State.COMMAND
        error = self._data_error
        content = b"".join(self._data)
        self._data = []
        self._data_error = None
        if error is not None:
            self._drop_transaction()
            return self._reply("DATA", error)
        return MessageReceived(content)

    def _read_chunk(self) -> Event | None:
        chunk = self._chunk
        assert chunk is not None
        buf = self._in
        pos = self._pos
        available = len(buf) - pos
        if chunk.remaining:
            if not available:
                return None
            take = min(available, chunk.remaining)
            if chunk.error is None:
                self._chunks.append(buf[pos : pos + take])
            chunk.remaining -= take
            self._pos = pos + take
            if chunk.remaining:
                return None
        self.state = State.COMMAND
        self._chunk = None
        if chunk.error is not None:
            if chunk.error is R.MESSAGE_TOO_BIG or self.mail is not None:
                self._chunks = []
                self._chunk_error = chunk.error
            if chunk.last:
                self._drop_transaction()
            return self._error("BDAT", chunk.error)
        if not chunk.last:
            return self._reply("BDAT", Reply(250, "2.0.0", f"{chunk.size} octets received"))
        content = b"".join(self._chunks)
        self._chunks = []
        return MessageReceived(content, chunked=True)
