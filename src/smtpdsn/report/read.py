"""Reading delivery status notifications: :func:`parse_reports` (RFC 3464, RFC 6522,
RFC 6533).

The message is searched for ``message/delivery-status`` and
``message/global-delivery-status`` parts at any depth (RFC 6522 lets a report be nested,
and some MTAs put the part in ``multipart/mixed``). Parts inside a returned message
(``message/rfc822``) are used only when the message has no other report part.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import BinaryIO, Final

from ..mime import Entity, encode_text, flatten_message, normalize_newlines, parse
from .body import Notes, parse_body
from .errors import ReportSyntaxError
from .model import DeliveryReport

__all__ = ["REPORT_TYPES", "parse_delivery_status", "parse_reports", "reports_of"]

#: The media types of a machine-readable delivery report part.
REPORT_TYPES: Final = frozenset({"message/delivery-status", "message/global-delivery-status"})
_KNOWN_CTE: Final = frozenset({"7bit", "8bit", "binary", "base64", "quoted-printable"})
# A Content-Type line naming a report type, anywhere (for messages with broken structure).
_LOOSE_PART: Final = re.compile(
    rb"(?im)^[ \t]*content-type:[ \t]*(message/(?:global-)?delivery-status)(?![\w-])[^\n]*$"
)
_LOOSE_END: Final = re.compile(rb"(?m)^[ \t]*--")
_MAX_LOOSE: Final = 100


def parse_reports(
    source: bytes | bytearray | memoryview | str | BinaryIO | Message,
    *,
    strict: bool = False,
) -> list[DeliveryReport]:
    """Read every delivery status report of a message.

    >>> from smtpdsn.report import parse_reports
    >>> data = (b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\\n\\n"
    ...         b"--b\\nContent-Type: message/delivery-status\\n\\n"
    ...         b"Reporting-MTA: dns; mx.example.net\\n\\n"
    ...         b"Final-Recipient: rfc822; bob@example.org\\nAction: failed\\n"
    ...         b"Status: 5.1.1 (user unknown)\\n--b--\\n")
    >>> [report] = parse_reports(data)
    >>> rcpt = report.recipients[0]
    >>> rcpt.final_recipient.value, rcpt.action, str(rcpt.status), rcpt.status_comment
    ('bob@example.org', <Action.FAILED: 'failed'>, '5.1.1', 'user unknown')

    Args:
        source: the whole message as bytes (or str), a binary file, or an
            :class:`email.message.Message` (which is serialised and read again).
        strict: raise on any deviation from RFC 3464 instead of recording it in
            ``warnings``.

    Returns:
        One :class:`DeliveryReport` per delivery-status part, in message order. Each
        deviation the reader forgave is a sentence in that report's ``warnings``.

    Raises:
        ReportSyntaxError: the message has no delivery-status part, or every such part is
            unusable (no fields, no recipient group); in strict mode, also any deviation.
            Nothing is returned or kept in that case. (An :class:`OSError` from a file's
            ``read()`` is not caught.)
    """
    data = normalize_newlines(_to_bytes(source))
    return reports_of(parse(data), data, strict=strict)


def reports_of(root: Entity, data: bytes, *, strict: bool = False) -> list[DeliveryReport]:
    """:func:`parse_reports` of a message already read by :func:`smtpdsn.mime.parse`
    (``data`` is its bytes, LF line endings, searched only when the MIME structure holds
    no report part)."""
    outer: list[Entity] = []
    inner: list[Entity] = []
    for part in root.walk():
        if part.content_type in REPORT_TYPES:
            (inner if part.encapsulated else outer).append(part)
    found = outer or inner
    limits = list(root.notes)
    loose = False
    if not found:
        found, more = _search_text(data)
        loose = bool(found)
        if more:
            limits.append(f"only the first {_MAX_LOOSE} delivery-status parts were read")
    if not found:
        detail = "".join(f"; {note}" for note in limits)
        raise ReportSyntaxError(
            "not a delivery status notification: the message has no message/delivery-status "
            f"or message/global-delivery-status part{detail}"
        )
    reports: list[DeliveryReport] = []
    first_error: ReportSyntaxError | None = None
    for part in found:
        try:
            reports.append(_read_part(part, limits, strict, loose))
        except ReportSyntaxError as exc:
            if strict:
                raise
            first_error = first_error or exc
    if not reports and first_error is not None:
        raise first_error
    if first_error is not None:
        for report in reports:
            report.warnings.append(f"another delivery-status part is unusable: {first_error}")
    return reports


def parse_delivery_status(
    body: bytes | str, *, strict: bool = False, is_global: bool = False
) -> DeliveryReport:
    """Read the body of one delivery-status part (the fields alone, no MIME headers).

    >>> report = parse_delivery_status(
    ...     "Reporting-MTA: dns; mx.example.net\\n\\n"
    ...     "Final-Recipient: rfc822; bob@example.org\\nAction: failed\\nStatus: 5.1.1\\n")
    >>> str(report.recipients[0].status)
    '5.1.1'

    Args:
        body: the decoded body, as text or bytes (UTF-8, else read as Latin-1).
        strict: raise on any deviation instead of recording it in ``warnings``.
        is_global: the body is ``message/global-delivery-status`` (UTF-8 allowed).

    Returns:
        The report, with its deviations in ``warnings``.

    Raises:
        ReportSyntaxError: the body holds no fields or no recipient group, or is neither
            str nor bytes; in strict mode, also any deviation.
    """
    if isinstance(body, str):
        return parse_body(body, strict=strict, is_global=is_global)
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ReportSyntaxError(f"expected bytes or str, got {type(body).__name__}")
    ctype = "message/global-delivery-status" if is_global else "message/delivery-status"
    part = _leaf(ctype, normalize_newlines(bytes(body)), "8bit" if is_global else "7bit")
    return _read_part(part, [], strict)


def _leaf(ctype: str, body: bytes, cte: str) -> Entity:
    part = Entity([], body, 0, len(body))
    part.content_type = ctype
    part.cte = cte
    return part


def _to_bytes(source: object) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str):
        return encode_text(source)
    if isinstance(source, Message):
        data = flatten_message(source)
        if data is None:
            raise ReportSyntaxError("the email.message.Message cannot be serialised to be read")
        return data
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if isinstance(data, bytes | bytearray):
            return bytes(data)
        if isinstance(data, str):
            return encode_text(data)
        raise ReportSyntaxError(
            f"the file gave {type(data).__name__}, not bytes; open it in binary mode"
        )
    raise ReportSyntaxError(
        f"expected bytes, str, a binary file or an email.message.Message, "
        f"got {type(source).__name__}"
    )


def _search_text(data: bytes) -> tuple[list[Entity], bool]:
    """Find delivery-status parts by their Content-Type line when the MIME structure is
    broken (a boundary that does not match, an indented delimiter, a bounce pasted into a
    text part). A body runs from the blank line after that line to the next line that
    starts with ``--`` (a delimiter), the next such Content-Type line, or the end, so the
    bodies never overlap and the work stays linear. Also says whether parts were left."""
    matches = []
    for m in _LOOSE_PART.finditer(data):
        matches.append(m)
        if len(matches) > _MAX_LOOSE:
            break
    found: list[Entity] = []
    for i, m in enumerate(matches[:_MAX_LOOSE]):
        limit = matches[i + 1].start() if i + 1 < len(matches) else len(data)
        start = data.find(b"\n\n", m.end() - 1, limit)
        if start < 0:
            continue
        end = _LOOSE_END.search(data, start + 2, limit)
        body = data[start + 2 : end.start() if end else limit]
        found.append(_leaf(m[1].decode().lower(), body, "7bit"))
    return found, len(matches) > _MAX_LOOSE


def _read_part(
    part: Entity, limits: list[str], strict: bool, loose: bool = False
) -> DeliveryReport:
    notes = Notes(strict)
    is_global = part.content_type == "message/global-delivery-status"
    for limit in limits:
        notes.warn(limit)
    if loose:
        notes.warn(
            f"the {part.content_type} part was found by a text search: the MIME structure "
            "around it is broken"
        )
    if part.parent and part.parent != "multipart/report":
        notes.warn(f"the {part.content_type} part is inside {part.parent}, not multipart/report")
    if part.cte not in _KNOWN_CTE:
        notes.warn(f"unknown Content-Transfer-Encoding {part.cte!r}; the body is read as is")
    elif part.cte != "7bit" and not is_global:
        notes.warn(f"Content-Transfer-Encoding {part.cte} on message/delivery-status "
                   "(RFC 3464 requires 7bit)")
    body, ok = part.decoded()
    if not ok:
        notes.warn("the base64 body is damaged; it is read as is")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        notes.warn("the delivery-status part is not UTF-8 text; it is read as Latin-1")
        text = body.decode("latin-1")
    report = parse_body(text, strict=strict, is_global=is_global)
    report.warnings[:0] = notes.finish()
    return report

