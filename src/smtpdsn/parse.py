"""Reading SMTP replies sent by a server (RFC 5321 section 4.2, RFC 2034 section 4).

Grammar (RFC 5321 section 4.2)::

    Reply-line = *( Reply-code "-" [ textstring ] CRLF )
                    Reply-code [ SP textstring ] CRLF
    Reply-code = %x32-35 %x30-35 %x30-39
    textstring = 1*(%d09 / %d32-126)

With ENHANCEDSTATUSCODES (RFC 2034 section 4) the text of every line starts with the
enhanced status code and a space: ``550-5.1.1 first`` / ``550 5.1.1 last``.

Lines may end in CRLF or a bare LF; the final line ending is optional. Text may be UTF-8
(SMTPUTF8, RFC 6531). In strict mode (the default) anything else raises
:class:`~smtpdsn.errors.ReplySyntaxError`, naming the line. ``strict=False`` keeps what
is usable: the first line's code and status, every line's text, control characters
removed, over-long lines wrapped, a missing last line forgiven.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Protocol

from .errors import ReplySyntaxError, StatusSyntaxError
from .registry import ENTRIES
from .reply import MAX_LINE_OCTETS, Reply, _new_reply, clean_text
from .status import STATUS_PATTERN, EnhancedStatus

__all__ = ["from_aiosmtplib", "from_smtplib", "parse_reply", "replies_from_refused"]

_LINE: Final = re.compile(r"([2-5][0-5][0-9])([- ]?)(.*)", re.DOTALL)
# Something that looks like an enhanced code (digit.digits.digits) at the start of text.
_CANDIDATE: Final = re.compile(r"([0-9]+\.[0-9]+\.[0-9]+)(?: |$)")
# The common case, one line with a valid enhanced code and plain ASCII text. Groups: the
# line without its line end, the code, the status, the text.
_ONE_LINE: Final = re.compile(rf"(([245][0-5][0-9]) ({STATUS_PATTERN}) ([\x20-\x7e]+))\r?\n?")
# The same for several lines: every line has the first line's code and status, "-" after
# the code on all lines but the last. Groups: the code, the status.
_MULTI_LINE: Final = re.compile(
    rf"([245][0-5][0-9])-({STATUS_PATTERN}) [\x20-\x7e]+\r?\n"
    r"(?:\1-\2 [\x20-\x7e]+\r?\n)*"
    r"\1 \2 [\x20-\x7e]+\r?\n?"
)
_CODE_VALUES: Final = {str(code): code for code in range(200, 600)}
# Registered, not deprecated statuses by their text: parsed already, and canonical.
_PLAIN_STATUS: Final = {
    str(status): status
    for status in (EnhancedStatus(c, s, d) for (s, d) in ENTRIES for c in (2, 4, 5))
    if not status.deprecated
}
_BAD_CHAR: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\x80-\x9f\u2028\u2029]")
_MAX_TEXT: Final = MAX_LINE_OCTETS - 2 - 4
_MAX_LINE: Final = MAX_LINE_OCTETS - 2  # a line without its CRLF
# A tuple, not ``bytes | bytearray``: isinstance with a tuple is the cheaper check.
_BYTES: Final = (bytes, bytearray)


def _fail(strict: bool, message: str, line: int | None = None) -> None:
    if strict:
        raise ReplySyntaxError(message, line)


def parse_reply(data: str | bytes | bytearray, *, strict: bool = True) -> Reply:
    """Parse one SMTP reply, single- or multi-line, into a :class:`Reply`.

    >>> parse_reply(b"550-5.1.1 No such user\\r\\n550 5.1.1 here\\r\\n").lines
    ('No such user', 'here')

    Args:
        data: the reply as received, str or bytes (UTF-8), CRLF or LF line endings.
        strict: raise on any deviation from the grammar; with False, keep what is usable.

    Returns:
        The reply. Its string value is the canonical wire form (CRLF line ends, one space
        after the code and status), so ``parse_reply(str(r)) == r`` for every reply.

    Raises:
        ReplySyntaxError: the data is not a reply (in lenient mode: not even one line
            starts with a reply code). ``.line`` names the offending line.
    """
    if isinstance(data, str):
        text = data
    elif isinstance(data, _BYTES):
        # bytes (what a socket and smtplib give) take the same fast paths as str: decoding
        # a short reply is one C call (UTF-8 is the default codec).
        try:
            text = data.decode()
        except UnicodeDecodeError as exc:
            _fail(strict, f"reply is not valid UTF-8 at byte {exc.start}")
            return _parse_lines(bytes(data).decode("utf-8", "replace"), strict)
    else:
        raise ReplySyntaxError(f"a reply must be str or bytes, got {type(data).__name__}")
    m = _ONE_LINE.fullmatch(text)
    if m is not None:
        wire, code, status_text, line = m.groups()
        status = _PLAIN_STATUS.get(status_text)
        if status is None:
            status = EnhancedStatus.parse(status_text)
            if status.deprecated:
                status = None
        # The limit counts the CRLF, whether or not ``data`` has one.
        if status is not None and code[0] == status_text[0] and len(wire) <= _MAX_LINE:
            return _new_reply(_CODE_VALUES[code], status, (line,), wire)
    m = _MULTI_LINE.fullmatch(text)
    if m is not None:
        reply = _plain_multi_line(text, m[1], m[2])
        if reply is not None:
            return reply
    if not text.isascii():
        text = _valid_unicode(text, strict)
    return _parse_lines(text, strict)


def _valid_unicode(text: str, strict: bool) -> str:
    """``text`` when it can be encoded as UTF-8; a str can hold lone surrogates (from
    ``surrogateescape`` decoding, say), which no reply on the wire can.

    Raises:
        ReplySyntaxError: in strict mode, for a lone surrogate (lenient: it becomes ``?``).
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        if strict:
            line = text.count("\n", 0, exc.start) + 1
            raise ReplySyntaxError(
                f"line {line} contains a lone surrogate ({text[exc.start]!r}), which is not "
                "text that UTF-8 can carry",
                line,
            ) from None
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _plain_multi_line(text: str, code: str, status_text: str) -> Reply | None:
    """The reply for ``text``, which ``_MULTI_LINE`` matched, when no rule needs a look.

    None when the status is not of the code's class, is deprecated, or a line is too long:
    the full parser then reports the problem or canonicalises the status.
    """
    if code[0] != status_text[0]:
        return None
    status = _PLAIN_STATUS.get(status_text)
    if status is None:
        status = EnhancedStatus.parse(status_text)
        if status.deprecated:
            return None
    raw = text.splitlines()  # ASCII-only with CRLF or LF ends: exactly the reply's lines
    if max(map(len, raw)) > _MAX_LINE:
        return None
    skip = len(status_text) + 5  # "550-5.1.1 "
    return _new_reply(
        _CODE_VALUES[code], status, tuple([line[skip:] for line in raw]), "\r\n".join(raw)
    )


def _parse_lines(text: str, strict: bool) -> Reply:
    if text.endswith("\n"):
        text = text[:-1]
        if text.endswith("\r"):
            text = text[:-1]
    if not text:
        raise ReplySyntaxError("empty reply: expected a line such as '250 2.0.0 OK'")
    raw_lines = text.split("\n")
    code: int | None = None
    status: EnhancedStatus | None = None
    first_status_text: str | None = None
    lines: list[str] = []
    last_sep = " "
    for number, raw in enumerate(raw_lines, 1):
        if raw.endswith("\r"):
            raw = raw[:-1]
        m = _LINE.fullmatch(raw)
        if m is None:
            _fail(strict, f"line {number} does not start with a reply code: {raw[:40]!r}", number)
            continue
        this_code, sep, body = int(m[1]), m[2], m[3]
        if not sep and body:
            _fail(
                strict,
                f"line {number}: expected '-' or a space after the reply code, got {body[:1]!r}",
                number,
            )
            body = body.lstrip()
        if code is None:
            code = this_code
        elif this_code != code:
            _fail(strict, f"line {number} has reply code {this_code} but line 1 has {code}", number)
        if last_sep != "-" and number > 1:
            _fail(
                strict,
                f"line {number} follows the last line of the reply (line "
                f"{number - 1} has no '-' after its code)",
                number,
            )
        last_sep = sep or " "
        if len(raw.encode("utf-8")) + 2 > MAX_LINE_OCTETS:
            _fail(
                strict,
                f"line {number} is {len(raw.encode('utf-8')) + 2} octets long; "
                f"RFC 5321 allows {MAX_LINE_OCTETS} including CRLF",
                number,
            )
        if _BAD_CHAR.search(body):
            _fail(strict, f"line {number} contains a control character", number)
        line_status, body = _split_status(body, code, number, strict)
        if number == 1 or (first_status_text is None and not lines):
            first_status_text = str(line_status) if line_status else ""
            status = line_status
        elif (str(line_status) if line_status else "") != first_status_text:
            _fail(
                strict,
                f"line {number} has enhanced status "
                f"{line_status or 'none'} but line 1 has {status or 'none'}",
                number,
            )
        lines.append(body)
    if code is None:
        raise ReplySyntaxError("no line of the reply starts with a reply code")
    if last_sep == "-":
        _fail(
            strict,
            f"the reply is truncated: line {len(raw_lines)} continues ('{code}-') "
            "but no last line follows",
            len(raw_lines),
        )
    if status is not None:
        status = status.canonical()
    if not strict:
        return _lenient_reply(code, status, lines)
    return Reply._build(code, status, tuple(lines))


def _split_status(
    body: str, code: int, number: int, strict: bool
) -> tuple[EnhancedStatus | None, str]:
    """Take the enhanced status code off the start of a line's text, if it has one."""
    if code // 100 == 3:
        return None, body
    m = _CANDIDATE.match(body)
    if m is None:
        return None, body
    try:
        status = EnhancedStatus.parse(m[1])
    except StatusSyntaxError:
        _fail(
            strict,
            f"line {number}: {m[1]!r} is not a valid enhanced status code "
            "(RFC 3463: class 2, 4 or 5; sub-codes 0-999 without leading zeros)",
            number,
        )
        return None, body
    if status.class_ != code // 100:
        _fail(
            strict,
            f"line {number}: enhanced status {status} does not agree with reply code {code}",
            number,
        )
        status = status.with_class(code // 100)
    return status, body[m.end() :]


def _lenient_reply(code: int, status: EnhancedStatus | None, lines: list[str]) -> Reply:
    prefix = 4 + (len(str(status)) + 1 if status is not None else 0)
    kept: list[str] = []
    for line in lines:
        if line.isprintable() and len(line.encode("utf-8")) <= _MAX_TEXT - prefix + 4:
            kept.append(line)
        else:
            kept.extend(clean_text(line, prefix, utf8=True) or ("",))
    if code // 100 == 3:
        status = None
    return Reply._build(code, status, tuple(kept) or ("",))


# -- client libraries -----------------------------------------------------------------------


class _AioResponse(Protocol):
    code: int
    message: str


def _from_code_and_text(code: object, message: str | bytes | bytearray, strict: bool) -> Reply:
    """Rebuild the wire text from a client library's (code, text-without-codes) pair."""
    if type(code) is not int or not 200 <= code <= 599:
        raise ReplySyntaxError(f"not an SMTP reply code: {code!r}")
    if isinstance(message, bytes | bytearray):
        raw = bytes(message)
        try:
            message = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if strict:
                raise ReplySyntaxError(
                    f"reply text is not valid UTF-8 at byte {exc.start}"
                ) from None
            message = raw.decode("utf-8", "replace")
    parts = message.split("\n") if message else [""]
    wire = "\r\n".join(
        f"{code}{'-' if i < len(parts) - 1 else ' '}{part}" for i, part in enumerate(parts)
    )
    return parse_reply(wire, strict=strict)


def from_smtplib(value: tuple[int, bytes | str] | BaseException, *, strict: bool = True) -> Reply:
    """Build a reply from what :mod:`smtplib` gives.

    Accepts the ``(code, message)`` tuple of ``SMTP.getreply()``/``ehlo()``/``rcpt()`` ...,
    or an :class:`smtplib.SMTPResponseException` (``SMTPSenderRefused``,
    ``SMTPDataError`` ...), whose ``smtp_code`` and ``smtp_error`` are used.

    Raises:
        ReplySyntaxError: the code is not 2xx-5xx (smtplib uses -1 for a dropped
            connection) or the text is malformed (in strict mode).
    """
    if isinstance(value, BaseException):
        code = getattr(value, "smtp_code", None)
        message = getattr(value, "smtp_error", None)
        if code is None or not isinstance(message, str | bytes | bytearray):
            raise ReplySyntaxError(f"{type(value).__name__} carries no SMTP reply")
        return _from_code_and_text(code, message, strict)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], str | bytes):
        return _from_code_and_text(value[0], value[1], strict)
    raise ReplySyntaxError(f"expected a (code, message) tuple or an SMTP exception, got {value!r}")


def from_aiosmtplib(value: _AioResponse | BaseException, *, strict: bool = True) -> Reply:
    """Build a reply from aiosmtplib's ``SMTPResponse`` or ``SMTPResponseException``.

    aiosmtplib is not imported: any object with an int ``code`` and a str ``message``
    works.

    Raises:
        ReplySyntaxError: as for :func:`from_smtplib`.
    """
    code = getattr(value, "code", None)
    message = getattr(value, "message", None)
    if not isinstance(message, str):
        raise ReplySyntaxError(f"{type(value).__name__} carries no SMTP reply")
    return _from_code_and_text(code, message, strict)


def replies_from_refused(
    recipients: Mapping[str, tuple[int, bytes]] | BaseException, *, strict: bool = False
) -> dict[str, Reply]:
    """The reply for each refused recipient of :class:`smtplib.SMTPRecipientsRefused`.

    Also accepts the dict that ``SMTP.sendmail()`` returns for the recipients it could
    not deliver to. Lenient by default: one malformed reply should not hide the others.
    """
    if isinstance(recipients, BaseException):
        found = getattr(recipients, "recipients", None)
        if not isinstance(found, Mapping):
            raise ReplySyntaxError(f"{type(recipients).__name__} carries no recipients")
        recipients = found
    return {addr: from_smtplib(pair, strict=strict) for addr, pair in recipients.items()}
