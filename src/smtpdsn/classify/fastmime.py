"""A fast reader of well-formed MIME messages into :class:`email.message.Message` trees.

The standard library's feed parser is general and slow; most bounces are simple trees
whose structure a few string splits recover. :func:`parse` builds the same ``compat32``
``Message`` objects the feed parser would (headers as read, folded values kept, payloads
as ``surrogateescape``-decoded text, ``message/*`` parts parsed into sub-messages) and
returns None whenever the message is anything but plain: a header line without a colon,
a multipart without its boundary, nesting deeper than :data:`MAX_DEPTH`. The caller then
uses :func:`email.message_from_bytes`, which copes with everything.
"""

from __future__ import annotations

import re
from email import errors
from email.message import Message
from email.policy import compat32
from email.utils import unquote
from typing import Final

__all__ = [
    "MAX_DEPTH",
    "field_items",
    "get_boundary",
    "get_content_charset",
    "get_content_type",
    "parse",
    "parse_headers",
]

#: Deeper trees go to the standard parser.
MAX_DEPTH: Final = 12
# A header field name: printable US-ASCII except colon (RFC 5322 section 2.2).
_NAME: Final = re.compile(r"[\x21-\x39\x3b-\x7e]+")


class _NotPlain(Exception):
    """The message needs the standard parser."""


# One header field (name, colon, value with its continuation lines) and a whole block of
# them: two passes in the regex engine instead of a Python loop over the lines.
_FIELD: Final = r"[\x21-\x39\x3b-\x7e]+:[^\n]*(?:\n[ \t][^\n]*)*"
_BLOCK_RE: Final = re.compile(rf"{_FIELD}(?:\n{_FIELD})*")
_FIELD_RE: Final = re.compile(r"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)")


def _headers(block: str) -> list[tuple[str, str]]:
    if _BLOCK_RE.fullmatch(block) is None:
        raise _NotPlain
    return [(name, value.rstrip("\r\n")) for name, value in _FIELD_RE.findall(block)]


def _plain_field(msg: Message, wanted: str) -> tuple[bool, str | None]:
    """(True, the first ``wanted`` field's value, or None when there is none) for a
    ``compat32`` message whose value is an ASCII string, read from the stored fields as
    ``msg.get`` does; (False, None) when only the standard library can say (a Header
    object, undecodable bytes, another policy)."""
    fields: list[tuple[str, object]] | None = getattr(msg, "_headers", None)
    if fields is None or msg.policy is not compat32:
        return False, None
    for name, value in fields:
        if name.lower() == wanted:
            if isinstance(value, str) and value.isascii():
                return True, value
            return False, None
    return True, None


def field_items(msg: Message) -> list[tuple[str, object]]:
    """``msg.items()``: the stored fields themselves when the ``compat32`` policy would
    return them unchanged (every value an ASCII string)."""
    fields: list[tuple[str, object]] | None = getattr(msg, "_headers", None)
    if (
        fields is None
        or msg.policy is not compat32
        or not all(isinstance(value, str) and value.isascii() for _, value in fields)
    ):
        return list(msg.items())
    return fields


def get_content_type(msg: Message) -> str:
    """``msg.get_content_type()`` with the standard library's steps on a plain field
    (the first Content-Type, up to a ";", trimmed, lower case, ``text/plain`` unless it
    has one "/"); any other message asks the standard library."""
    plain, value = _plain_field(msg, "content-type")
    if not plain:
        return msg.get_content_type()
    if value is None:
        return msg.get_default_type()
    ctype = value.partition(";")[0].strip().lower()
    return ctype if ctype.count("/") == 1 else "text/plain"


def _content_type_param(msg: Message, wanted: str) -> tuple[bool, str | None]:
    """(True, ``msg.get_param(wanted)`` or None) for a plain Content-Type field without
    backslashes or RFC 2231 parameters (``*``), split as the standard library's
    ``_parseparam`` splits it (at ";" outside quotes; a value is unquoted); (False, None)
    for any other, which the standard library reads."""
    plain, value = _plain_field(msg, "content-type")
    if not plain:
        return False, None
    if value is None:
        return True, None
    if "\\" in value or "*" in value:
        return False, None
    rest = ";" + value
    while rest[:1] == ";":
        rest = rest[1:]
        end = rest.find(";")
        while end > 0 and rest.count('"', 0, end) % 2:  # the ";" is inside quotes
            end = rest.find(";", end + 1)
        if end < 0:
            end = len(rest)
        piece, rest = rest[:end], rest[end:]
        name, eq, param = piece.partition("=")
        if (name.strip() if eq else piece.strip()).lower() == wanted:
            return True, unquote(param.strip())
    return True, None


def get_boundary(msg: Message) -> str | None:
    """``msg.get_boundary()`` (see :func:`_content_type_param`)."""
    plain, value = _content_type_param(msg, "boundary")
    if not plain:
        return msg.get_boundary()
    return None if value is None else unquote(value).rstrip()


def get_content_charset(msg: Message) -> str | None:
    """``msg.get_content_charset()`` (see :func:`_content_type_param`)."""
    plain, value = _content_type_param(msg, "charset")
    if not plain:
        return msg.get_content_charset()
    return None if value is None else value.lower()


def _entity(text: str, depth: int) -> Message:
    if depth > MAX_DEPTH:
        raise _NotPlain
    if text.startswith("\n"):
        head, body = "", text[1:]
    else:
        head, sep, body = text.partition("\n\n")
        if not sep:
            # Header fields and no body (a feedback-report part): every line must be a
            # field, or _headers sends the message to the feed parser.
            head, body = text.rstrip("\n"), ""
    msg = Message()
    if head.startswith("From ") and depth == 0:
        first, _, head = head.partition("\n")
        msg.set_unixfrom(first)
    msg._headers = _headers(head) if head else []  # type: ignore[attr-defined]
    maintype, _, subtype = get_content_type(msg).partition("/")
    if maintype == "multipart":
        boundary = get_boundary(msg)
        if not boundary:
            raise _NotPlain
        found, closed = _multipart(body, boundary, depth)
        parts: list[Message | str] = list(found)
        msg.set_payload(parts)
        if not closed:  # as the feed parser: the last part runs to the end, and a defect
            msg.defects.append(errors.CloseBoundaryNotFoundDefect())
    elif maintype == "message":
        if subtype == "delivery-status":
            blocks = [b for b in re.split(r"\n[ \t]*\n", body.strip("\n")) if b.strip()]
            fields: list[Message | str] = [_block(b) for b in blocks]
            msg.set_payload(fields)
        elif msg.get("content-transfer-encoding", "7bit").lower() in ("7bit", "8bit", "binary"):
            inner: list[Message | str] = [_entity(body, depth + 1)]
            msg.set_payload(inner)
        else:
            raise _NotPlain
    else:
        msg.set_payload(body)
    return msg


def _block(text: str) -> Message:
    msg = Message()
    msg._headers = _headers(text.strip("\n"))  # type: ignore[attr-defined]
    return msg


def _multipart(body: str, boundary: str, depth: int) -> tuple[list[Message], bool]:
    """The parts, and whether the closing delimiter was there."""
    delimiter = "--" + boundary
    parts: list[Message] = []
    start: int | None = None
    pos = 0
    while True:
        at = body.find(delimiter, pos)
        if at < 0:
            if start is None:
                raise _NotPlain  # no part at all: let the feed parser judge
            # No closing delimiter (a truncated bounce): the last part runs to the end,
            # less the line end the feed parser also drops.
            last = body[start:]
            last = last[:-1] if last.endswith("\n") else last
            part = _entity(last, depth + 1)
            if get_content_type(part).startswith("multipart/"):
                raise _NotPlain  # its epilogue would need the feed parser's handling
            parts.append(part)
            return parts, False
        pos = at + len(delimiter)
        if at and body[at - 1] != "\n":
            continue  # not at the start of a line
        end = body.find("\n", pos)
        rest = body[pos:] if end < 0 else body[pos:end]
        closing = rest.startswith("--")
        if (rest[2:] if closing else rest).strip(" \t"):
            continue  # the delimiter is the start of a longer line
        if start is not None:
            parts.append(_entity(body[start : at - 1 if at else 0], depth + 1))
        if closing:
            return parts, True
        if end < 0:
            raise _NotPlain
        start = end + 1


def parse(raw: bytes) -> Message | None:
    """The message tree of ``raw``, or None when it needs the standard parser."""
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n")
        if b"\r" in raw:
            return None
    text = raw.decode("ascii", "surrogateescape")
    try:
        return _entity(text, 0)
    except _NotPlain:
        return None


def parse_headers(text: str) -> Message | None:
    """A message of the header block ``text`` alone (no body), or None when a line is not
    a plain header field (the caller then uses the standard parser)."""
    try:
        headers = _headers(text.rstrip("\n"))
    except _NotPlain:
        return None
    msg = Message()
    msg._headers = headers  # type: ignore[attr-defined]
    return msg
