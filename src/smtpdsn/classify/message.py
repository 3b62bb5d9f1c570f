"""A read-only view of one message for the detectors (stdlib :mod:`email` only).

The view reads the input once with the shared MIME reader (:mod:`smtpdsn.mime`, which
never raises on content) and computes, lazily and at most once, what every detector
needs: the lower-cased headers, the human-readable notice text of the bounce (without
the returned message), the ``message/delivery-status`` and ``message/feedback-report``
parts, and the headers of the returned original message.
"""

from __future__ import annotations

import email.errors
import email.header
import re
from collections.abc import Callable
from email.message import Message
from typing import IO, Any, Final, Generic, TypeVar, overload

from .. import mime
from ..mime import Entity

__all__ = ["MailView", "MessageSource", "load"]

#: What :func:`load` accepts.
MessageSource = bytes | bytearray | memoryview | str | IO[bytes] | IO[str] | Message

# The line that separates a plain-text bounce notice from the copy of the message it returns.
# Written from the markers MTAs use ("--- Below this line is a copy of the message.",
# "------ This is a copy of the message, including all the headers. ------",
# "----- Original message -----", "----- Unsent message follows -----", ...).
_ORIGINAL_MARKER: Final = re.compile(
    r"^[ \t]*(?:"
    r"[-=_*#|]{2,}[ \t]*(?:[\w ,.'()]*?)(?:original|returned|unsent|undelivered|undeliverable|"
    r"rejected|copy of|below this line|attached|following|header|message text|"
    r"your message)[^\n]*"
    r"|original message(?: headers?| follows)?:?[ \t]*"
    r"|(?:the )?(?:original )?message header(?:s)? (?:follows?|of the original)[^\n]*"
    r"|content-type:[ \t]*(?:message/rfc822|text/rfc822-headers)[^\n]*"
    r"|(?:return-path|received|dkim-signature|x-received|authentication-results):[ \t][^\n]*"
    r")$",
    re.IGNORECASE | re.MULTILINE,
)
# The marker lines that start after a line break, found from the break: the regex engine
# then skips to each "\n" at C speed instead of trying "^" at every position. A marker
# on the first line never ends the notice, and no marker holds a line break, so these
# find the same lines, one character after the break.
_AFTER_BREAK: Final = "\n" + _ORIGINAL_MARKER.pattern.removeprefix("^")
_MARKER_LINE: Final = re.compile(_AFTER_BREAK, re.IGNORECASE | re.MULTILINE)
# The same pattern for lower-cased ASCII text (no IGNORECASE: faster, same matches).
_MARKER_LINE_LOWER: Final = re.compile(_AFTER_BREAK, re.MULTILINE)
# Lines that mention the transcript are part of the notice, not of the original message.
_NOT_A_MARKER: Final = re.compile(
    r"transcript|error|reason|diagnostic|recipient|address|delivery report|status",
    re.IGNORECASE,
)
_TAG: Final = re.compile(r"<[^>]*>")
_ENTITY: Final = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}
_ENTITY_RE: Final = re.compile("|".join(_ENTITY))
# Longer header values are not searched for encoded words (the stdlib's decoder is slow
# on megabytes of them).
_MAX_ENCODED: Final = 8192
_BLOCK_TAG: Final = re.compile(r"<(?:br|/p|/div|/tr|/li|/h[1-6]|p|div|tr|li)\b[^>]*>", re.I)


def load(source: MessageSource) -> tuple[Entity, bytes | None]:
    """Read ``source`` with the shared MIME reader (:func:`smtpdsn.mime.parse`) without
    ever raising on content; also return its bytes, if it was given as bytes.

    Raises:
        TypeError: ``source`` is none of the accepted types.
    """
    if isinstance(source, Message):
        flat = mime.flatten_message(source)
        if flat is None:
            flat = mime.encode_text(_text(source))
        return mime.parse(flat), None
    if isinstance(source, bytes | bytearray | memoryview):
        raw = bytes(source)
        return mime.parse(raw), raw
    if isinstance(source, str):
        return mime.parse(mime.encode_text(source)), None
    read = getattr(source, "read", None)
    if read is None:
        raise TypeError(
            "classify() takes bytes, str, a file object or an email.message.Message, "
            f"got {type(source).__name__}"
        )
    data = read()
    if isinstance(data, str):
        return mime.parse(mime.encode_text(data)), None
    if isinstance(data, bytes | bytearray):
        raw = bytes(data)
        return mime.parse(raw), raw
    raise TypeError(f"the file's read() returned {type(data).__name__}, not bytes or str")


def content_type(part: Entity) -> str:
    """The part's content type, lower case."""
    return part.content_type


def part_text(part: Entity) -> str:
    """The decoded text of a part (never raises)."""
    return part.text()


def html_to_text(html: str) -> str:
    """Very small HTML to text conversion for bounces sent only as text/html."""
    html = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", html)
    html = _BLOCK_TAG.sub("\n", html)
    html = _TAG.sub("", html)
    return _ENTITY_RE.sub(lambda m: _ENTITY[m[0]], html)


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:  # whatever str() of a broken object raises: keep nothing
        return ""


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; the value as it was when they are broken (a bad
    charset raises email.errors.CharsetError, a MessageError, inside the stdlib)."""
    if len(value) > _MAX_ENCODED:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeError, email.errors.MessageError):
        return value


def _unescape(value: str) -> str:
    """A header value whose non-ASCII bytes stand as surrogates: as UTF-8 when they are,
    else with U+FFFD for each byte (as the ``compat32`` policy reads them)."""
    raw = value.encode("ascii", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("ascii", "replace")


_T = TypeVar("_T")


class cached_property(Generic[_T]):
    """A lazily computed attribute, stored on the instance at first use (as
    :class:`functools.cached_property`, without its lock: a view belongs to one call)."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> cached_property[_T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...

    def __get__(self, obj: object, owner: type | None = None) -> _T | cached_property[_T]:
        if obj is None:
            return self
        value = self.func(obj)
        obj.__dict__[self.name] = value
        return value


class MailView:
    """The parts of one message that detectors read: ``MailView(*load(source))``."""

    def __init__(self, msg: Entity, raw: bytes | None = None) -> None:
        #: The message tree, read once by :func:`smtpdsn.mime.parse`.
        self.msg = msg
        #: The message as read, when it was given as bytes.
        self.raw = raw
        self.warnings: list[str] = []
        self._headers_seen: dict[str, str] = {}

    @cached_property
    def _header_map(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for key, value in self.msg.headers:
            name = key.lower()
            if name in found:
                continue
            found[name] = value if value.isascii() else _unescape(value)
        return found

    @property
    def header_names(self) -> dict[str, str]:
        """The lower-case names of the message's header fields (a mapping to their first
        raw values: use :meth:`header` for the values)."""
        return self._header_map

    def header(self, name: str) -> str:
        """The first value of header ``name`` ("" when absent), unfolded and decoded."""
        seen = self._headers_seen.get(name)
        if seen is not None:
            return seen
        value = self._header_map.get(name.lower())
        if value is None:
            value = ""
        else:
            value = " ".join(value.split())
            if "=?" in value:
                value = _decode_words(value)
        self._headers_seen[name] = value
        return value

    @cached_property
    def subject(self) -> str:
        return self.header("Subject")

    @cached_property
    def from_(self) -> str:
        return self.header("From")

    @cached_property
    def content_type(self) -> str:
        return self.msg.content_type

    @cached_property
    def parts(self) -> list[Entity]:
        """Every part of the top-level tree (at most 200), without descending into
        returned messages."""
        out: list[Entity] = []
        stack: list[Entity] = [self.msg]
        while stack and len(out) < 200:
            part = stack.pop()
            out.append(part)
            if part.children and part.content_type.startswith("multipart/"):
                stack.extend(reversed(part.children))
        return out

    def parts_of_type(self, *ctypes: str) -> list[Entity]:
        """The parts (not inside a returned message) whose content type is one of these."""
        return [p for p in self.parts if p.content_type in ctypes]

    @cached_property
    def returned(self) -> Entity | None:
        """The returned original message (message/rfc822 part), if any."""
        for part in self.parts:
            ctype = part.content_type
            if ctype in ("message/rfc822", "message/global"):
                if part.children:
                    return part.children[0]
            elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
                return mime.parse_headers(part.decoded()[0])
        return None

    @cached_property
    def body_text(self) -> str:
        """The decoded human-readable text parts, joined (the whole body when not MIME)."""
        texts: list[str] = []
        htmls: list[str] = []
        for part in self.parts:
            if part.children is not None:
                continue
            ctype = part.content_type
            if ctype == "text/plain" or ctype.startswith("multipart/"):
                # (a multipart whose boundary was never found is read as text)
                if texts and part.filename:
                    continue
                texts.append(part.text())
            elif ctype == "text/html":
                htmls.append(part.text())
        if not texts and htmls:
            texts = [html_to_text(h) for h in htmls]
        text = "\n".join(texts)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    @cached_property
    def body_lower(self) -> str | None:
        """:attr:`body_text` lower-cased when it is ASCII (lowering then keeps every
        position, so a match in it is a match at the same place in the text); None
        otherwise. Lowered once for every reader."""
        text = self.body_text
        return text.lower() if text.isascii() else None

    @cached_property
    def notice(self) -> str:
        """The body text up to the copy of the original message."""
        text = self.body_text
        # ASCII text lowered keeps every position: the case-sensitive lower-case pattern
        # then finds what the IGNORECASE one finds on the text, faster.
        lowered = self.body_lower
        marker = _MARKER_LINE if lowered is None else _MARKER_LINE_LOWER
        for m in marker.finditer(text if lowered is None else lowered):
            line = m[0][1:]  # without the line break before it
            if line.lstrip()[:1] in "-=_*#|" and _NOT_A_MARKER.search(line):
                continue
            return text[: m.start() + 1]
        return text

    @cached_property
    def inline_original(self) -> Entity | None:
        """The header fields of a returned message inlined in a plain-text bounce (after
        the notice), read once; None when there is no such text."""
        text = self.original_text.lstrip()[:20000]
        if not text:
            return None
        return mime.parse_headers(text)

    @cached_property
    def original_text(self) -> str:
        """The text after the notice (a returned message inlined in a plain-text bounce)."""
        rest = self.body_text[len(self.notice) :]
        first, _, after = rest.partition("\n")
        if ":" not in first or " " in first.partition(":")[0].strip():
            return after  # drop the marker line, keep the headers
        return rest
