"""Reading and writing the body of one delivery-status part (RFC 3464 section 2.1).

Grammar (RFC 3464 section 2.1)::

    delivery-status-content = per-message-fields 1*( CRLF per-recipient-fields )
    per-message-fields   = [ original-envelope-id-field CRLF ]
                           reporting-mta-field CRLF
                           [ dsn-gateway-field CRLF ]
                           [ received-from-mta-field CRLF ]
                           [ arrival-date-field CRLF ]
                           *( extension-field CRLF )
    per-recipient-fields = [ original-recipient-field CRLF ]
                           final-recipient-field CRLF
                           action-field CRLF
                           status-field CRLF
                           [ remote-mta-field CRLF ]
                           [ diagnostic-code-field CRLF ]
                           [ last-attempt-date-field CRLF ]
                           [ final-log-id-field CRLF ]
                           [ will-retry-until-field CRLF ]
                           *( extension-field CRLF )

Real reports deviate; each deviation the reader forgives becomes a warning (in strict
mode, a :class:`~smtpdsn.report.errors.ReportSyntaxError`). Forgiven: any field-name case,
folded fields, a missing blank line between groups (a group is split where a recipient's
identifying field repeats), ``Action: expired`` (read as failed), a Status with trailing
text or leading zeros, a value without its ``type;``, per-message fields repeated in a
recipient group, lines that are not fields.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from .errors import ReportSyntaxError
from .fields import (
    RawField,
    fold_field,
    format_date,
    parse_date,
    parse_iso_date,
    parse_status,
    parse_typed,
    split_groups,
)
from .model import Action, DeliveryReport, RecipientStatus, TypedValue

__all__ = ["MAX_WARNINGS", "Notes", "format_report", "parse_body"]

#: At most this many warnings are kept for one report.
MAX_WARNINGS: Final = 100

_PER_MESSAGE: Final = {
    "original-envelope-id": "Original-Envelope-Id",
    "reporting-mta": "Reporting-MTA",
    "dsn-gateway": "DSN-Gateway",
    "received-from-mta": "Received-From-MTA",
    "arrival-date": "Arrival-Date",
}
_PER_RECIPIENT: Final = {
    "original-recipient": "Original-Recipient",
    "final-recipient": "Final-Recipient",
    "action": "Action",
    "status": "Status",
    "remote-mta": "Remote-MTA",
    "diagnostic-code": "Diagnostic-Code",
    "last-attempt-date": "Last-Attempt-Date",
    "final-log-id": "Final-Log-ID",
    "will-retry-until": "Will-Retry-Until",
}
# Fields whose second appearance in a group means a new recipient group has begun.
_STARTS_GROUP: Final = ("original-recipient", "final-recipient", "action", "status")
# Non-standard action words seen in real reports, and how they are read.
_ACTION_ALIASES: Final = {"expired": Action.FAILED}
_ACTIONS: Final = {a.value: a for a in Action}
_COMMENT: Final = re.compile(r"\([^()]*\)")


class Notes:
    """Collects the deviations of one report; in strict mode the first one raises.

    At most :data:`MAX_WARNINGS` are kept; :meth:`finish` adds a count of the rest.
    """

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.warnings: list[str] = []
        self.more = 0

    def warn(self, message: str, line: int | None = None) -> None:
        """Record a deviation.

        Raises:
            ReportSyntaxError: in strict mode, always.
        """
        text = f"line {line}: {message}" if line is not None else message
        if self.strict:
            raise ReportSyntaxError(text, line)
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(text)
        else:
            self.more += 1

    def finish(self) -> list[str]:
        """The warnings, with a last one counting those not kept."""
        if self.more:
            return [*self.warnings, f"{self.more} more deviations are not listed"]
        return self.warnings


def parse_body(text: str, *, strict: bool, is_global: bool = False) -> DeliveryReport:
    """Read the text of a delivery-status part into a :class:`DeliveryReport`.

    Args:
        text: the decoded body of the part.
        strict: raise on the first deviation instead of recording a warning.
        is_global: the part is ``message/global-delivery-status`` (UTF-8 allowed).

    Returns:
        The report, with its deviations in ``warnings``.

    Raises:
        ReportSyntaxError: the text holds no fields at all, or no recipient group; in
            strict mode, any deviation from RFC 3464.
    """
    notes = Notes(strict)
    groups, junk = split_groups(text)
    if not groups:
        raise ReportSyntaxError("the delivery-status part holds no fields")
    if not is_global and not text.isascii():
        notes.warn("message/delivery-status holds non-ASCII text (RFC 3464 allows US-ASCII)")
    for number, line, joined in junk:
        if joined is None:
            notes.warn(f"{line[:60]!r} is not a field", number)
        else:
            notes.warn(f"{line[:60]!r} is not a field; read as a continuation of {joined}",
                       number)
    report = DeliveryReport(is_global=is_global)
    first, *rest = groups
    # A group split off where the per-message fields run into a recipient's fields.
    message_fields: list[RawField] = []
    spill: list[RawField] = []
    for item in first:
        if spill or item.key in _PER_RECIPIENT:
            if not spill:
                notes.warn(
                    "no blank line between the per-message fields and a recipient"
                    if message_fields
                    else "the report has no per-message fields before its first recipient",
                    item.line,
                )
            spill.append(item)
        else:
            message_fields.append(item)
    # Groups of per-message fields split by a blank line (no recipient seen yet).
    while not spill and rest and not any(f.key in _PER_RECIPIENT for f in rest[0]):
        notes.warn("a blank line splits the per-message fields", rest[0][0].line)
        message_fields.extend(rest.pop(0))
    _read_message(message_fields, report, notes, first[0].line)
    recipient_groups = [spill, *rest] if spill else rest
    for group in recipient_groups:
        for piece in _split_run_on(group, notes):
            recipient = _read_recipient(piece, notes)
            if recipient is not None:
                report.recipients.append(recipient)
    if not report.recipients:
        raise ReportSyntaxError("the delivery-status part has no per-recipient fields")
    report.warnings = notes.finish()
    return report


def _split_run_on(group: list[RawField], notes: Notes) -> list[list[RawField]]:
    """Split a group where two recipients run on without a blank line between them."""
    keys = [item.key for item in group]
    if len(set(keys)) == len(keys):  # no field repeats: one recipient (nearly always)
        return [group]
    pieces: list[list[RawField]] = []
    current: list[RawField] = []
    seen: set[str] = set()
    for item in group:
        key = item.key
        starts = key in _STARTS_GROUP and key in seen
        if starts and current:
            notes.warn(f"no blank line before {item.name}: a new recipient starts here", item.line)
            pieces.append(current)
            current, seen = [], set()
        current.append(item)
        seen.add(key)
    if current:
        pieces.append(current)
    return pieces


def _typed(item: RawField, notes: Notes) -> TypedValue:
    typed = parse_typed(item.value)
    if typed is None:
        notes.warn(f"{item.name} {item.value[:60]!r} has no type; expected type;value", item.line)
        return TypedValue("", item.value)
    return typed


def _date(item: RawField, notes: Notes) -> datetime | None:
    value = parse_date(item.value)
    if value is not None:
        return value
    value = parse_iso_date(item.value)
    if value is not None:
        notes.warn(
            f"{item.name} {item.value[:60]!r} is not an RFC 5322 date-time; read as "
            f"{value.isoformat()}",
            item.line,
        )
        return value
    notes.warn(f"{item.name} {item.value[:60]!r} is not a date-time", item.line)
    return None


def _read_message(items: list[RawField], report: DeliveryReport, notes: Notes, line: int) -> None:
    seen: set[str] = set()
    for item in items:
        key = item.key
        if key in seen and key in _PER_MESSAGE:
            notes.warn(f"{item.name} appears twice; the first is kept", item.line)
            continue
        seen.add(key)
        if key == "original-envelope-id":
            report.original_envelope_id = item.value
        elif key == "reporting-mta":
            report.reporting_mta = _typed(item, notes)
        elif key == "dsn-gateway":
            report.dsn_gateway = _typed(item, notes)
        elif key == "received-from-mta":
            report.received_from_mta = _typed(item, notes)
        elif key == "arrival-date":
            report.arrival_date = _date(item, notes)
        else:
            report.extensions.append((item.name, item.value))
    if report.reporting_mta is None:
        notes.warn("the per-message fields have no Reporting-MTA", line)


def _read_recipient(items: list[RawField], notes: Notes) -> RecipientStatus | None:
    if _PER_RECIPIENT.keys().isdisjoint([item.key for item in items]):
        notes.warn("a group has no per-recipient fields; it is ignored", items[0].line)
        return None
    rcpt = RecipientStatus()
    seen: set[str] = set()
    for item in items:
        key = item.key
        if key in seen and key in _PER_RECIPIENT:
            notes.warn(f"{item.name} appears twice; the first is kept", item.line)
            continue
        seen.add(key)
        if key == "original-recipient":
            rcpt.original_recipient = _typed(item, notes)
        elif key == "final-recipient":
            rcpt.final_recipient = _typed(item, notes)
        elif key == "action":
            _read_action(item, rcpt, notes)
        elif key == "status":
            status, comment, problem = parse_status(item.value)
            rcpt.status, rcpt.status_comment, rcpt.status_text = status, comment, item.value
            if problem is not None:
                notes.warn(problem, item.line)
        elif key == "remote-mta":
            rcpt.remote_mta = _typed(item, notes)
        elif key == "diagnostic-code":
            rcpt.diagnostic_code = _typed(item, notes)
        elif key == "last-attempt-date":
            rcpt.last_attempt_date = _date(item, notes)
        elif key == "final-log-id":
            rcpt.final_log_id = item.value
        elif key == "will-retry-until":
            rcpt.will_retry_until = _date(item, notes)
        else:
            if key in _PER_MESSAGE:
                notes.warn(f"per-message field {item.name} in a recipient group", item.line)
            rcpt.extensions.append((item.name, item.value))
    line = items[0].line
    for key, name in (("final-recipient", "Final-Recipient"), ("action", "Action")):
        if key not in seen:
            notes.warn(f"a recipient group has no {name}", line)
    if "status" not in seen:
        notes.warn("a recipient group has no Status", line)
    return rcpt


def _read_action(item: RawField, rcpt: RecipientStatus, notes: Notes) -> None:
    rcpt.action_text = item.value
    action = _ACTIONS.get(item.value.lower())  # the common case: a bare action word
    if action is not None:
        rcpt.action = action
        return
    # RFC 822 lets a comment follow a structured field's value: "failed (bounced)".
    word = _COMMENT.sub("", item.value).strip(" \t").lower()
    action = _ACTIONS.get(word)
    if action is not None:
        rcpt.action = action
        return
    alias = _ACTION_ALIASES.get(word)
    if alias is not None:
        rcpt.action = alias
        notes.warn(f"Action {item.value!r} is not an RFC 3464 value; read as {alias}", item.line)
        return
    notes.warn(f"Action {item.value!r} is not an RFC 3464 value", item.line)


def format_report(report: DeliveryReport) -> list[str]:
    """Write a report's fields as delivery-status lines (no line endings), groups
    separated by empty lines, every line within 998 octets.

    Values must already be safe for one field (see :func:`~.fields.clean_text`);
    :func:`~smtpdsn.report.build_report` makes them so.
    """
    lines: list[str] = []

    def put(name: str, value: str | Action | TypedValue | datetime | None) -> None:
        if value is None:
            return
        if isinstance(value, Action):
            text = value.value
        elif isinstance(value, datetime):
            text = format_date(value)
        elif isinstance(value, TypedValue):
            text = f"{value.type}; {value.value}" if value.type else value.value
        else:
            text = value
        lines.extend(fold_field(name, text))

    put("Original-Envelope-Id", report.original_envelope_id)
    put("Reporting-MTA", report.reporting_mta)
    put("DSN-Gateway", report.dsn_gateway)
    put("Received-From-MTA", report.received_from_mta)
    put("Arrival-Date", report.arrival_date)
    for name, value in report.extensions:
        put(name, value)
    for rcpt in report.recipients:
        lines.append("")
        put("Original-Recipient", rcpt.original_recipient)
        put("Final-Recipient", rcpt.final_recipient)
        put("Action", rcpt.action_text if rcpt.action_text is not None else rcpt.action)
        status = rcpt.status_text
        if status is None and rcpt.status is not None:
            status = str(rcpt.status)
        put("Status", status)
        put("Remote-MTA", rcpt.remote_mta)
        put("Diagnostic-Code", rcpt.diagnostic_code)
        put("Last-Attempt-Date", rcpt.last_attempt_date)
        put("Final-Log-ID", rcpt.final_log_id)
        put("Will-Retry-Until", rcpt.will_retry_until)
        for name, value in rcpt.extensions:
            put(name, value)
    return lines
