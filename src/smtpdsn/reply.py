"""The SMTP reply value and its wire form (RFC 5321 section 4.2, RFC 2034 section 4).

A :class:`Reply` *is* its wire text: it subclasses :class:`str`, and its string value is the
reply exactly as it goes on the wire, lines joined by CRLF, without the final CRLF. That is
the form aiosmtpd's handler hooks return, so a reply can be returned from ``handle_RCPT``
as it is. ``reply.wire`` is the same text as bytes with the final CRLF.

Every line carries the reply code and, when there is one, the enhanced status code
(RFC 2034 section 4: "These codes must appear in all 2xx, 4xx, and 5xx response lines")::

    550-5.1.1 first line
    550 5.1.1 last line

Text policy, applied when a reply is built, so that the wire form is always valid:

* Line breaks of any kind (CR, LF, CRLF, VT, FF, U+0085, U+2028, U+2029 ...) start a new
  reply line. A tab becomes a space; every other control character is removed.
* Blank lines are dropped; when no text is left, a default text is used (the registry's
  sample text for the enhanced status, else a phrase for the reply code's class).
* Non-ASCII text: SMTP replies are US-ASCII unless the client negotiated SMTPUTF8
  (RFC 6531). By default letters are reduced to ASCII (``é`` -> ``e``, ``ﬁ`` -> ``fi``)
  and anything else becomes ``?``. Pass ``utf8=True`` to keep UTF-8 text for an SMTPUTF8
  session.
* No line is longer than 512 octets including its CRLF (RFC 5321 section 4.5.3.1.5):
  longer text is wrapped onto further lines, at a space where there is one. Nothing is cut.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any, Final, NoReturn

from .errors import InvalidReplyError
from .status import EnhancedStatus

__all__ = ["MAX_LINE_OCTETS", "Reply", "check_code"]

#: RFC 5321 section 4.5.3.1.5: a reply line, code and CRLF included, is at most 512 octets.
MAX_LINE_OCTETS: Final = 512

# RFC 5321 section 4.2: Reply-code = %x32-35 %x30-35 %x30-39.
_VALID_CODES: Final = frozenset(
    first * 100 + second * 10 + third
    for first in (2, 3, 4, 5)
    for second in range(6)
    for third in range(10)
)
_DEFAULT_TEXT: Final = {2: "OK", 3: "Go ahead", 4: "Temporary failure", 5: "Failure"}


def check_code(code: object, *, allow_intermediate: bool = False) -> int:
    """Return ``code`` if it is a valid SMTP reply code, else raise InvalidReplyError.

    Valid codes are integers 2yz, 4yz and 5yz (and 3yz when ``allow_intermediate``), with
    y from 0 to 5 (RFC 5321 section 4.2).
    """
    if type(code) is int and code in _VALID_CODES and (allow_intermediate or code // 100 != 3):
        return code
    allowed = "2xx, 3xx, 4xx or 5xx" if allow_intermediate else "2xx, 4xx or 5xx"
    raise InvalidReplyError(
        f"invalid SMTP reply code {code!r}: expected a three-digit integer {allowed} "
        "whose second digit is 0-5 (RFC 5321 section 4.2)"
    )


def _ascii_line(line: str) -> str:
    """Reduce one line (already free of line breaks) to printable US-ASCII."""
    out = []
    for ch in unicodedata.normalize("NFKD", line):
        o = ord(ch)
        if 0x20 <= o < 0x7F:
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        elif o < 0x80 or unicodedata.category(ch) in ("Mn", "Cc", "Cf", "Cs", "Co", "Cn"):
            continue  # controls, combining marks and invisible format characters go
        elif unicodedata.category(ch) == "Zs":
            out.append(" ")
        else:
            out.append("?")
    return "".join(out)


def _utf8_line(line: str) -> str:
    """Keep printable Unicode; spaces of any kind become SP; other characters go."""
    out = []
    for ch in line:
        if ch.isprintable():
            out.append(ch)
        elif ch == "\t" or unicodedata.category(ch) == "Zs":
            out.append(" ")
    return "".join(out)


def _split(text: str | Iterable[str]) -> list[str]:
    if isinstance(text, str):
        return text.splitlines()
    if isinstance(text, bytes | bytearray):
        raise InvalidReplyError(f"reply text must be str, not bytes: {text!r}")
    lines: list[str] = []
    try:
        items = list(text)
    except TypeError:
        raise InvalidReplyError(
            f"reply text must be a string or a list of strings, got {text!r}"
        ) from None
    for item in items:
        if not isinstance(item, str):
            raise InvalidReplyError(f"reply text lines must be strings, got {item!r}")
        lines.extend(item.splitlines())
    return lines


def _wrap(line: str, limit: int, utf8: bool) -> list[str]:
    """Split ``line`` into pieces of at most ``limit`` octets, at spaces where possible.

    Linear in the length of ``line``: each piece looks only at the next ``limit + 1``
    characters (a character is at least one octet).
    """
    size = len(line.encode()) if utf8 else len(line)
    if size <= limit:
        return [line]
    pieces: list[str] = []
    pos, end = 0, len(line)
    while pos < end:
        window = line[pos : pos + limit + 1]
        if utf8:
            cut = len(window[:limit].encode()[:limit].decode("utf-8", "ignore"))
        else:
            cut = min(limit, len(window))
        if pos + cut >= end:
            pieces.append(line[pos:])
            break
        space = window.rfind(" ", 1, cut + 1)
        if space > 0:
            pieces.append(line[pos : pos + space])
            pos += space + 1
        else:
            pieces.append(line[pos : pos + cut])
            pos += cut
    return pieces


def clean_text(
    text: str | Iterable[str], prefix_len: int, *, utf8: bool = False
) -> tuple[str, ...]:
    """Turn caller text into wire-safe reply lines (see the module's text policy).

    ``prefix_len`` is the length of ``"550-5.1.1 "`` for this reply; lines are wrapped so
    that prefix, text and CRLF fit in :data:`MAX_LINE_OCTETS`. May return an empty tuple.
    """
    limit = MAX_LINE_OCTETS - 2 - prefix_len
    if isinstance(text, str) and len(text) <= limit and text.isascii() and text.isprintable():
        return (text,) if text and not text.isspace() else ()
    lines: list[str] = []
    for raw in _split(text):
        if raw.isascii() and raw.isprintable():
            line = raw
        else:
            line = _utf8_line(raw) if utf8 else _ascii_line(raw)
        if line.strip():
            lines.extend(_wrap(line, limit, utf8))
    return tuple(lines)


def render_lines(code: int, status: EnhancedStatus | None, lines: tuple[str, ...]) -> str:
    """The wire text of a reply (lines joined by CRLF, no final CRLF)."""
    status_text = "" if status is None else f"{status} "  # EnhancedStatus.__str__: once
    last = f"{code} {status_text}"
    if len(lines) == 1:
        return last + lines[0] if lines[0] else last.rstrip(" ")
    head = f"{code}-{status_text}"
    parts = [(head + t if t else head.rstrip(" ")) for t in lines[:-1]]
    parts.append(last + lines[-1] if lines[-1] else last.rstrip(" "))
    return "\r\n".join(parts)


class Reply(str):
    """An SMTP reply: code, optional enhanced status, and text lines.

    A reply is immutable and its ``str`` value is its wire text (lines joined by CRLF, no
    final CRLF), so it can be returned as is from an aiosmtpd handler hook and compared
    with plain strings::

        >>> r = Reply(550, "5.1.1", "No such user")
        >>> r
        Reply(550, '5.1.1', 'No such user')
        >>> r == "550 5.1.1 No such user"
        True
        >>> r.wire
        b'550 5.1.1 No such user\\r\\n'

    Args:
        code: the basic reply code, 2xx/4xx/5xx (3xx only without a status).
        status: an :class:`EnhancedStatus`, its text (``"5.1.1"``), or None for a reply
            without one. Its class must match the code's first digit. The deprecated
            X.6.10 is sent as X.6.8.
        text: a string (line breaks start new lines) or a list of lines. Cleaned by the
            module's text policy.
        utf8: keep non-ASCII text (for SMTPUTF8 sessions) instead of reducing it to ASCII.

    Raises:
        InvalidReplyError: the code is not a valid reply code, the status is not valid or
            does not match the code, or the text is not a string or list of strings.
    """

    code: int
    status: EnhancedStatus | None
    lines: tuple[str, ...]

    def __new__(
        cls,
        code: int,
        status: EnhancedStatus | str | None = None,
        text: str | Iterable[str] = "",
        *,
        utf8: bool = False,
    ) -> Reply:
        check_code(code, allow_intermediate=status is None)
        if status is not None:
            if isinstance(status, str):
                try:
                    status = EnhancedStatus.parse(status)
                except ValueError as exc:
                    raise InvalidReplyError(str(exc)) from None
            elif not isinstance(status, EnhancedStatus):
                raise InvalidReplyError(
                    f"status must be an EnhancedStatus, a string such as '5.1.1', or None; "
                    f"got {status!r}"
                )
            if status.class_ != code // 100:
                raise InvalidReplyError(
                    f"enhanced status {status} does not agree with reply code {code}: "
                    f"its class must be {code // 100} (RFC 3463 section 2)"
                )
            status = status.canonical()
        prefix_len = 4 + (len(str(status)) + 1 if status is not None else 0)
        lines = clean_text(text, prefix_len, utf8=utf8)
        if not lines:
            entry = status.entry if status is not None else None
            default = entry.sample_text if entry is not None and entry.sample_text else ""
            lines = (default or _DEFAULT_TEXT[code // 100],)
        return cls._build(code, status, lines)

    @classmethod
    def _build(
        cls,
        code: int,
        status: EnhancedStatus | None,
        lines: tuple[str, ...],
        wire: str | None = None,
    ) -> Reply:
        """Assemble a reply from values already checked (for this package's own use).

        ``wire``, when given, must be exactly the rendering of the other three.
        """
        if wire is None:
            wire = render_lines(code, status, lines)
        self = str.__new__(cls, wire)
        fields = self.__dict__
        fields["code"] = code
        fields["status"] = status
        fields["lines"] = lines
        return self

    # -- immutability -------------------------------------------------------------------

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"Reply is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"Reply is immutable; cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (self.code, None if self.status is None else str(self.status), self.lines),
        )

    def __repr__(self) -> str:
        status = None if self.status is None else str(self.status)
        text: object = self.lines[0] if len(self.lines) == 1 else list(self.lines)
        return f"Reply({self.code}, {status!r}, {text!r})"

    # -- views ----------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The text lines joined by ``"\\n"``."""
        return "\n".join(self.lines)

    @property
    def wire(self) -> bytes:
        """The reply as bytes on the wire, every line ending in CRLF (UTF-8 when utf8)."""
        return self.encode("utf-8") + b"\r\n"

    @property
    def is_success(self) -> bool:
        """True for 2xx."""
        return self.code < 300

    @property
    def is_intermediate(self) -> bool:
        """True for 3xx (354, 334 ...)."""
        return 300 <= self.code < 400

    @property
    def is_transient(self) -> bool:
        """True for 4xx: a temporary failure, worth retrying."""
        return 400 <= self.code < 500

    @property
    def is_permanent(self) -> bool:
        """True for 5xx: a permanent failure."""
        return self.code >= 500

    @property
    def is_failure(self) -> bool:
        """True for 4xx and 5xx."""
        return self.code >= 400

    def with_code(self, code: int) -> Reply:
        """The same reply with another code; the status class follows the code's first digit.

        Raises:
            InvalidReplyError: ``code`` is not 2xx/4xx/5xx (or 3xx for a reply without a
                status).
        """
        if code == self.code:
            return self
        check_code(code, allow_intermediate=self.status is None)
        status = self.status
        if status is not None:
            status = status.with_class(code // 100)
        return Reply._build(code, status, self.lines)

    def to_smtplib(self) -> tuple[int, bytes]:
        """The ``(code, message)`` pair that :meth:`smtplib.SMTP.getreply` returns for it."""
        return self.code, "\n".join(line[4:].strip(" \t") for line in self.split("\r\n")).encode(
            "utf-8"
        )


_str_new: Final = str.__new__


def _new_reply(
    code: int, status: EnhancedStatus | None, lines: tuple[str, ...], wire: str
) -> Reply:
    """``Reply._build`` for callers that already have the wire text (the hot paths).

    A plain function: no classmethod binding, no ``wire is None`` test. The values must
    already be checked, and ``wire`` must be exactly ``render_lines(code, status, lines)``.
    """
    self = _str_new(Reply, wire)
    fields = self.__dict__
    fields["code"] = code
    fields["status"] = status
    fields["lines"] = lines
    return self


def _rebuild(code: int, status: str | None, lines: tuple[str, ...]) -> Reply:
    """Unpickle a reply (``Reply.__reduce__``)."""
    return Reply(code, status, lines, utf8=not all(line.isascii() for line in lines))
