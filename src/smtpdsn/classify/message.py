"""A read-only view of one message for the detectors (stdlib :mod:`email` only).

The view parses the input once (``compat32`` policy, which never raises on bad headers)
and computes, lazily and at most once, what every detector needs: the lower-cased
headers, the human-readable notice text of the bounce (without the returned message),
the ``message/delivery-status`` and ``message/feedback-report`` parts, and the headers of
the returned original message.
"""

from __future__ import annotations

import email
import email.errors
import email.header
import email.policy
import re
from email.message import Message
from functools import cached_property
from typing import IO, Final

from . import fastmime

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
# Lines that mention the transcript are part of the notice, not of the original message.
_NOT_A_MARKER: Final = re.compile(
    r"transcript|error|reason|diagnostic|recipient|address|delivery report|status",
    re.IGNORECASE,
)
_TAG: Final = re.compile(r"<[^>]*>")
_ENTITY: Final = {"&nbsp;": " ", "&lt;": "<", "&gt;": ">", "&amp;": "&", "&quot;": '"'}
_ENTITY_RE: Final = re.compile("|".join(_ENTITY))
_BLOCK_TAG: Final = re.compile(r"<(?:br|/p|/div|/tr|/li|/h[1-6]|p|div|tr|li)\b[^>]*>", re.I)


def load(source: MessageSource) -> tuple[Message, bytes | None]:
    """Parse ``source`` without ever raising on content; also return its bytes, if any.

    Raises:
        TypeError: ``source`` is none of the accepted types.
    """
    if isinstance(source, Message):
        return source, None
    if isinstance(source, bytes | bytearray | memoryview):
        raw = bytes(source)
        return fastmime.parse(raw) or email.message_from_bytes(raw), raw
    if isinstance(source, str):
        return email.message_from_string(source), None
    read = getattr(source, "read", None)
    if read is None:
        raise TypeError(
            "classify() takes bytes, str, a file object or an email.message.Message, "
            f"got {type(source).__name__}"
        )
    data = read()
    if isinstance(data, str):
        return email.message_from_string(data), None
    if isinstance(data, bytes | bytearray):
        raw = bytes(data)
        return fastmime.parse(raw) or email.message_from_bytes(raw), raw
    raise TypeError(f"the file's read() returned {type(data).__name__}, not bytes or str")


def content_type(part: Message) -> str:
    """The part's content type, lower case, tolerating a missing ';' before parameters."""
    return _short_type(fastmime.get_content_type(part))


def _short_type(ctype: str) -> str:
    """A content type cut at white space ("text/plain charset=x" -> "text/plain")."""
    if " " in ctype or "\n" in ctype or "\t" in ctype:
        ctype = ctype.split()[0]
    return ctype


def part_text(part: Message) -> str:
    """The decoded text of a non-multipart part (never raises)."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        if isinstance(raw, list):  # message/* parsed into messages: their fields, in order
            return "\n\n".join(
                "\n".join(f"{k}: {v}" for k, v in fastmime.field_items(m))
                for m in raw
                if isinstance(m, Message)
            )
        return raw if isinstance(raw, str) else ""
    charset = fastmime.get_content_charset(part) or "us-ascii"
    for name in (charset, "utf-8"):
        try:
            return payload.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def html_to_text(html: str) -> str:
    """Very small HTML to text conversion for bounces sent only as text/html."""
    html = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", html)
    html = _BLOCK_TAG.sub("\n", html)
    html = _TAG.sub("", html)
    return _ENTITY_RE.sub(lambda m: _ENTITY[m[0]], html)


def _text(value: object) -> str:
    try:
        return str(value)
    except Exception:  # a malformed encoded word: keep nothing rather than fail
        return ""


def _decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; the value as it was when they are broken."""
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except (ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
        return value


class MailView:
    """The parts of one message that detectors read: ``MailView(*load(source))``."""

    def __init__(self, msg: Message, raw: bytes | None = None) -> None:
        self.msg = msg
        #: The message as read, when it was given as bytes (readers can parse it afresh
        #: instead of flattening ``msg``).
        self.raw = raw
        self.warnings: list[str] = []
        self._headers_seen: dict[str, str] = {}

    @cached_property
    def _header_map(self) -> dict[str, str]:
        found: dict[str, str] = {}
        msg = self.msg
        # The stored fields as read; a value with undecodable bytes (surrogates) goes
        # through the policy as Message.items() would (it makes a Header of it).
        fields: list[tuple[str, object]] | None = getattr(msg, "_headers", None)
        if fields is None or msg.policy is not email.policy.compat32:
            fields = list(msg.items())
        for key, value in fields:
            name = key.lower()
            if name in found:
                continue
            if isinstance(value, str) and not value.isascii():
                value = msg.policy.header_fetch_parse(key, value)
            found[name] = value if isinstance(value, str) else _text(value)
        return found

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
        return fastmime.get_content_type(self.msg)

    @cached_property
    def _walked(self) -> list[tuple[str, Message]]:
        """(content type as ``get_content_type`` gives it, part) for every part of the
        top-level tree, without descending into returned messages; each type read once."""
        out: list[tuple[str, Message]] = []
        stack: list[Message] = [self.msg]
        while stack and len(out) < 200:
            part = stack.pop()
            full = fastmime.get_content_type(part)
            out.append((full, part))
            if part.is_multipart():
                children = part.get_payload()
                if isinstance(children, list) and full.startswith("multipart/"):
                    stack.extend(c for c in reversed(children) if isinstance(c, Message))
        return out

    @cached_property
    def parts(self) -> list[Message]:
        """Every part of the top-level tree, without descending into returned messages."""
        return [part for _, part in self._walked]

    @cached_property
    def _typed_parts(self) -> list[tuple[str, Message]]:
        return [(_short_type(full), part) for full, part in self._walked]

    def parts_of_type(self, *ctypes: str) -> list[Message]:
        """The parts (not inside a returned message) whose content type is one of these."""
        return [p for ctype, p in self._typed_parts if ctype in ctypes]

    @cached_property
    def returned(self) -> Message | None:
        """The returned original message (message/rfc822 part), if any."""
        for ctype, part in self._typed_parts:
            if ctype in ("message/rfc822", "message/global"):
                payload = part.get_payload()
                if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                    return payload[0]
            if ctype in ("text/rfc822-headers", "message/rfc822-headers"):
                text = part_text(part).replace("\r\n", "\n")
                end = text.find("\n\n")
                head = text[: end + 1] if end >= 0 else text
                return fastmime.parse_headers(head) or email.message_from_string(text)
        return None

    @cached_property
    def body_text(self) -> str:
        """The decoded human-readable text parts, joined (the whole body when not MIME)."""
        texts: list[str] = []
        htmls: list[str] = []
        for full, part in self._walked:
            if part.is_multipart():
                continue
            ctype = _short_type(full)
            if ctype == "text/plain" or (
                full.startswith("multipart/") and isinstance(part.get_payload(), str)
            ):  # a multipart whose boundary was never found: read it as text
                if texts and part.get_filename():
                    continue
                texts.append(part_text(part))
            elif ctype == "text/html":
                htmls.append(part_text(part))
        if not texts and htmls:
            texts = [html_to_text(h) for h in htmls]
        text = "\n".join(texts)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    @cached_property
    def notice(self) -> str:
        """The body text up to the copy of the original message."""
        text = self.body_text
        for m in _ORIGINAL_MARKER.finditer(text):
            line = m[0]
            if line.lstrip()[:1] in "-=_*#|" and _NOT_A_MARKER.search(line):
                continue
            if m.start() == 0:
                continue
            return text[: m.start()]
        return text

    @cached_property
    def inline_original(self) -> Message | None:
        """The header fields of a returned message inlined in a plain-text bounce (after
        the notice), parsed once; None when there is no such text."""
        text = self.original_text.lstrip()[:20000]
        if not text:
            return None
        end = text.find("\n\n")
        # Only the header block is read: the same fields, without parsing the body.
        head = text[: end + 1] if end >= 0 else text
        return fastmime.parse_headers(head) or email.message_from_string(head)

    @cached_property
    def original_text(self) -> str:
        """The text after the notice (a returned message inlined in a plain-text bounce)."""
        rest = self.body_text[len(self.notice) :]
        first, _, after = rest.partition("\n")
        if ":" not in first or " " in first.partition(":")[0].strip():
            return after  # drop the marker line, keep the headers
        return rest
