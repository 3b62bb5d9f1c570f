"""RFC 3464 delivery status notifications (message/delivery-status parts).

Uses the project's RFC 3464 reader (:mod:`smtpdsn.report`) when it is installed, and a
small tolerant reader of its own (stdlib :mod:`email`, which already splits the part into
header blocks) otherwise or when the reader finds no usable report.
"""

from __future__ import annotations

import email.utils
import importlib
import re
from datetime import datetime
from typing import Any, Final

from ... import mime
from ...errors import StatusSyntaxError
from ...mime import Entity
from ...status import EnhancedStatus
from ..message import MailView, content_type, part_text
from ..model import Action
from ..text import clean_address, one_line
from . import text
from .base import Candidate

__all__ = ["detect"]

_DSN_TYPES: Final = ("message/delivery-status", "message/global-delivery-status")
_ACTIONS: Final = {a.value: a for a in Action}
_ACTION_ALIASES: Final = {"expired": Action.FAILED, "deliverable": Action.DELIVERED}



def _reader() -> Any:
    """The project's RFC 3464 reader module, or None while it is not installed."""
    try:
        return importlib.import_module("smtpdsn.report")
    except ImportError:  # pragma: no cover - depends on the checkout
        return None


_REPORT: Final[Any] = _reader()


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# Address types whose value is no mailbox a sender could write to (RFC 3464 section
# 2.3.2 allows any registered type; "system" is no address at all).
_NOT_MAILBOX: Final = frozenset({"system", "x400", "x-400", "x.400", "unknown"})


def _usable(value: str, kind: str | None = None) -> str:
    """The address of a recipient field (``type; address``), or "" when it has none a
    sender could use: ``system;<>``, an X.400 form, no address at all."""
    if kind is None:
        head, sep, _ = value.partition(";")
        kind = head.strip().lower() if sep and len(head) < 16 else ""
    if kind in _NOT_MAILBOX:
        return ""
    return clean_address(value)


def _status(value: str) -> EnhancedStatus | None:
    text = value.strip().split(" ", 1)[0].split("(", 1)[0].strip()
    try:
        return EnhancedStatus.parse(text).canonical()
    except StatusSyntaxError:
        return None


def _comment(value: str) -> str:
    start = value.find("(")
    return value[start + 1 :].rstrip().rstrip(")").strip() if start >= 0 else ""


def _action(value: str) -> Action | None:
    value = value.strip().lower()
    return _ACTIONS.get(value) or _ACTION_ALIASES.get(value)


_MAX_NOTICE: Final = 600
# The first line of a multi-line reply ("552-5.7.0 ..."): the rest is in the transcript.
_TRUNCATED: Final = re.compile(r"[245]\d\d-")
_LEADING_STATUS: Final = re.compile(r"^\s*[245]\.\d{1,3}\.\d{1,3}\s*")
_PER_RECIPIENT: Final = ("final-recipient", "original-recipient", "x-actual-recipient")
_TEXT_DSN: Final = re.compile(
    r"^(?:Reporting-MTA|Original-Recipient|Final-Recipient):[ \t]*\S", re.IGNORECASE | re.MULTILINE
)


def _block_fields(block: str) -> list[tuple[str, str]]:
    return [(k.lower(), " ".join(v.split())) for k, v in mime.parse_headers(block).headers]


def _field_lines(part: Entity) -> list[tuple[str, str] | None]:
    """(name, value) pairs in order, None where a blank line separates two groups."""
    out: list[tuple[str, str] | None] = []
    text = part_text(part).replace("\r\n", "\n")
    for block in re.split(r"\n[ \t]*\n", text):
        if block.strip():
            out.extend(_block_fields(block.strip("\n")))
            out.append(None)
    return out


def _text_field_lines(text: str) -> list[tuple[str, str] | None]:
    """Delivery-status fields written into a text part (broken MIME, forwarded reports)."""
    start = _TEXT_DSN.search(text)
    if start is None:
        return []
    out: list[tuple[str, str] | None] = []
    for block in text[start.start() :].split("\n\n"):
        if not block.strip():
            continue
        items = _block_fields(block.strip())
        if not items:
            break
        out.extend(items)
        out.append(None)
    return out


def _groups(part: Entity | str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The per-message fields and one dict per recipient.

    A new recipient starts at a blank line, or where a per-recipient field repeats (a
    second Final-Recipient or Original-Recipient) when the MTA forgot the blank line.
    """
    per_message: dict[str, str] = {}
    groups: list[dict[str, str]] = []
    current: dict[str, str] = {}
    lines = _text_field_lines(part) if isinstance(part, str) else _field_lines(part)
    for item in lines:
        if item is None:
            if current:
                groups.append(current)
            current = {}
            continue
        name, value = item
        if name in _PER_RECIPIENT and name in current and "final-recipient" in current:
            groups.append(current)
            current = {}
        current.setdefault(name, value)
    if current:
        groups.append(current)
    recipients: list[dict[str, str]] = []
    for group in groups:
        if any(k in group for k in _PER_RECIPIENT):
            recipients.append(group)
        else:
            for k, v in group.items():
                per_message.setdefault(k, v)
    return per_message, recipients


def _from_stdlib(view: MailView, parts: list[Entity] | list[str]) -> list[Candidate]:
    found: list[Candidate] = []
    for part in parts:
        per_message, groups = _groups(part)
        for group in groups:
            original = _usable(group.get("original-recipient", ""))
            final = (
                _usable(group.get("final-recipient", ""))
                or original
                or _usable(group.get("x-actual-recipient", ""))
            )
            diag = group.get("diagnostic-code", "")
            dtype = ""
            if ";" in diag[:20]:
                dtype, _, diag = diag.partition(";")
                dtype = dtype.strip().lower()
            found.append(
                Candidate(
                    recipient=final,
                    original_recipient=original,
                    status=_status(group.get("status", "")),
                    status_comment=_comment(group.get("status", "")),
                    diagnostic=one_line(diag),
                    diagnostic_type=dtype,
                    action=_action(group.get("action", "")),
                    remote_mta=clean_address(group.get("remote-mta", "")),
                    timestamp=_date(
                        group.get("last-attempt-date") or per_message.get("arrival-date", "")
                    ),
                )
            )
    return found


def _from_reader(view: MailView, parts: list[Entity]) -> list[Candidate] | None:
    """Read the delivery-status parts already split from the message with the project's
    reader (its parse_delivery_status: the fields alone, so the message is not read a
    second time); a part it refuses is skipped."""
    reports: list[Any] = []
    for part in parts:
        is_global = content_type(part) == "message/global-delivery-status"
        try:
            reports.append(_REPORT.parse_delivery_status(part_text(part), is_global=is_global))
        except (ValueError, LookupError, TypeError):
            continue
    found: list[Candidate] = []
    for report in reports:
        for rcpt in report.recipients:
            orcpt, frcpt = rcpt.original_recipient, rcpt.final_recipient
            original = _usable(str(orcpt.value), str(orcpt.type).lower()) if orcpt else ""
            final = _usable(str(frcpt.value), str(frcpt.type).lower()) if frcpt else ""
            if rcpt.final_recipient is None and rcpt.original_recipient is None:
                continue
            diag = rcpt.diagnostic_code
            action = _action(str(getattr(rcpt.action, "value", rcpt.action) or ""))
            remote = rcpt.remote_mta
            when = rcpt.last_attempt_date
            found.append(
                Candidate(
                    recipient=final or original,
                    original_recipient=original,
                    status=rcpt.status,
                    status_comment=str(getattr(rcpt, "status_comment", "") or ""),
                    diagnostic=one_line(str(diag.value)) if diag is not None else "",
                    diagnostic_type=str(diag.type).lower() if diag is not None else "",
                    action=action,
                    remote_mta=str(getattr(remote, "value", "") or "") if remote else "",
                    timestamp=when if isinstance(when, datetime) else None,
                )
            )
    return found or None


def _complete(diagnostic: str, notice: str) -> str:
    """The whole multi-line reply whose first line is ``diagnostic`` (Sendmail keeps only
    the first line in the report; its transcript has them all)."""
    code = diagnostic[:3]
    head = diagnostic[4:40]
    at = notice.find(head)
    while at >= 0:
        lines: list[str] = []
        for line in notice[notice.rfind("\n", 0, at) + 1 :].split("\n"):
            text = line.strip().removeprefix("<<<").strip()
            if not text.startswith(code):
                break
            lines.append(text[4:] if not lines else _LEADING_STATUS.sub("", text[4:]))
            if text[3:4] == " ":
                break
        if len(lines) > 1:
            return one_line(f"{code} " + " ".join(lines))
        at = notice.find(head, at + 1)
    return ""


def detect(view: MailView) -> list[Candidate] | None:
    """One candidate per per-recipient block of every message/delivery-status part."""
    parts = view.parts_of_type(*_DSN_TYPES)
    if not parts:
        returned = view.returned
        if returned is not None and content_type(returned) == "multipart/report":
            # A relay forwarding the report it received (the returned message is itself
            # a DSN): its recipients are the failed ones.
            inner = [p for p in returned.walk() if content_type(p) in _DSN_TYPES]
            if inner:
                return _from_stdlib(view, inner) or None
        body = view.body_text
        if "final-recipient:" not in body.lower():  # cheap pre-check of the scan below
            return None
        if re.search(r"^final-recipient:", body, re.I | re.M) is None:
            return None
        return _from_stdlib(view, [view.body_text]) or None
    # The project's reader is preferred; ours reads what it refuses.
    found = _from_reader(view, parts) if _REPORT is not None else None
    found = found or _from_stdlib(view, parts)
    if not found:
        return None
    notes: dict[str, str] | None = None
    for c in found:
        c.context = view.notice[:4000]
        if _TRUNCATED.match(c.diagnostic):
            c.diagnostic = _complete(c.diagnostic, view.notice) or c.diagnostic
        if not c.diagnostic:
            if notes is None:
                notes = text.diagnostics_by_address(view)
            c.diagnostic = notes.get(c.recipient.lower(), "")
            if not c.diagnostic and len(found) == 1:
                c.diagnostic = one_line(view.notice)[:_MAX_NOTICE]
                c.diagnostic_is_notice = True
    return found
