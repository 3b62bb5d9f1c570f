"""RFC 3464 delivery status notifications (message/delivery-status parts).

Uses the project's RFC 3464 reader (:mod:`smtpdsn.report`) when it is installed, and a
small tolerant reader of its own (stdlib :mod:`email`, which already splits the part into
header blocks) otherwise or when the reader finds no usable report.
"""

from __future__ import annotations

import email.utils
from datetime import datetime
from email.message import Message
from typing import Any, Final

from ...errors import StatusSyntaxError
from ...status import EnhancedStatus
from ..message import MailView, part_text
from ..model import Action
from ..text import clean_address, one_line
from .base import Candidate

__all__ = ["detect"]

_DSN_TYPES: Final = ("message/delivery-status", "message/global-delivery-status")
_ACTIONS: Final = {a.value: a for a in Action}
_ACTION_ALIASES: Final = {"expired": Action.FAILED, "deliverable": Action.DELIVERED}

try:  # the RFC 3464 reader lands in the same release; stay usable without it.
    from ...report import ReportSyntaxError, parse_reports

    _HAVE_REPORT = True
except ImportError:  # pragma: no cover - depends on the checkout
    _HAVE_REPORT = False


def _date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _status(value: str) -> EnhancedStatus | None:
    text = value.strip().split(" ", 1)[0].split("(", 1)[0].strip()
    try:
        return EnhancedStatus.parse(text).canonical()
    except StatusSyntaxError:
        return None


def _action(value: str) -> Action | None:
    value = value.strip().lower()
    return _ACTIONS.get(value) or _ACTION_ALIASES.get(value)


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list) and all(isinstance(p, Message) for p in payload):
        return list(payload)
    # Not split by the email package (e.g. base64 or 8bit content): split it ourselves.
    text = part_text(part).replace("\r\n", "\n")
    return [email.message_from_string(b.strip() + "\n") for b in text.split("\n\n") if b.strip()]


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _from_stdlib(view: MailView, parts: list[Message]) -> list[Candidate]:
    found: list[Candidate] = []
    for part in parts:
        blocks = _blocks(part)
        per_message_date = ""
        remote_default = ""
        for block in blocks:
            per_message_date = per_message_date or _field(block, "Arrival-Date")
            final = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
            if not final:
                final = _field(block, "X-Actual-Recipient")
            if not final:
                remote_default = remote_default or _field(block, "Reporting-MTA")
                continue
            diag = _field(block, "Diagnostic-Code")
            dtype = ""
            if ";" in diag[:20]:
                dtype, _, diag = diag.partition(";")
                dtype = dtype.strip().lower()
            found.append(
                Candidate(
                    recipient=clean_address(final),
                    status=_status(_field(block, "Status")),
                    diagnostic=one_line(diag),
                    diagnostic_type=dtype,
                    action=_action(_field(block, "Action")),
                    remote_mta=clean_address(_field(block, "Remote-MTA")) or remote_default,
                    timestamp=_date(_field(block, "Last-Attempt-Date") or per_message_date),
                )
            )
    return found


def _from_reader(view: MailView) -> list[Candidate] | None:  # pragma: no cover - optional
    try:
        reports: Any = parse_reports(view.msg)
    except (ReportSyntaxError, ValueError, LookupError):
        return None
    found: list[Candidate] = []
    for report in reports:
        for rcpt in report.recipients:
            final = rcpt.final_recipient or rcpt.original_recipient
            if final is None:
                continue
            diag = rcpt.diagnostic_code
            action = _action(str(getattr(rcpt.action, "value", rcpt.action) or ""))
            remote = rcpt.remote_mta
            when = rcpt.last_attempt_date
            found.append(
                Candidate(
                    recipient=clean_address(str(final.value)),
                    status=rcpt.status,
                    diagnostic=one_line(str(diag.value)) if diag is not None else "",
                    diagnostic_type=str(diag.type).lower() if diag is not None else "",
                    action=action,
                    remote_mta=str(getattr(remote, "value", "") or "") if remote else "",
                    timestamp=when if isinstance(when, datetime) else None,
                )
            )
    return found or None


def detect(view: MailView) -> list[Candidate] | None:
    """One candidate per per-recipient block of every message/delivery-status part."""
    parts = view.parts_of_type(*_DSN_TYPES)
    if not parts:
        return None
    if _HAVE_REPORT:
        found = _from_reader(view)
        if found:
            return found
    return _from_stdlib(view, parts) or None
