"""Turning an envelope and delivery outcomes into report records (RFC 3461 section 6,
RFC 3464 sections 2.2 and 2.3, RFC 6533 section 3).

:func:`compose_report` applies the DSN rules (NOTIFY, null sender) and makes every value
safe for a field: a value with a line break or control character is refused
(:func:`~smtpdsn.report.checks.check_text`), free text has its white space runs made
single spaces, and every line fits in 998 octets. The RFC 3461 section 6.3 rules:

* Reporting-MTA has type ``dns`` for a fully qualified domain name, else
  ``x-local-hostname`` (6.3(b));
* Final-Recipient is the recipient exactly as received, type ``rfc822`` (mail received
  over SMTP), whatever its local part (quoted, with spaces); a non-ASCII (SMTPUTF8)
  address is an RFC 6533 ``utf-8`` address with ``\\x{HEX}`` escapes;
* Original-Recipient keeps the ORCPT's address type as the client wrote it (its case
  too) and the decoded address exactly;
* Original-Envelope-Id is the decoded ENVID exactly, spaces kept.

:func:`~smtpdsn.report.build_report` writes the result.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ..dsnparams import MailParams, RcptParams
from ..errors import StatusSyntaxError
from ..reply import Reply
from ..status import EnhancedStatus
from .checks import MAX_ADDRESS_OCTETS, check_date, check_sender, check_text, host_name, is_fqdn
from .errors import InvalidReportError
from .fields import ascii_text, clean_text
from .model import Action, DeliveryReport, RecipientStatus, TypedValue

__all__ = ["DEFAULT_NOTIFY", "RecipientOutcome", "compose_report"]

#: What a recipient without NOTIFY gets reports for (RFC 3461 section 4.1 lets the MTA
#: choose between FAILURE and FAILURE,DELAY).
DEFAULT_NOTIFY: Final = frozenset({"FAILURE", "DELAY"})
_NOTIFY_FOR: Final = {
    Action.FAILED: "FAILURE",
    Action.DELAYED: "DELAY",
    Action.DELIVERED: "SUCCESS",
    Action.RELAYED: "SUCCESS",
    Action.EXPANDED: "SUCCESS",
}
_ACTION_NAMES: Final = {a.value: a for a in Action}
_ACTION_FOR_CLASS: Final = {2: Action.DELIVERED, 4: Action.DELAYED, 5: Action.FAILED}
_CLASS_FOR_ACTION: Final = {
    Action.FAILED: 5,
    Action.DELAYED: 4,
    Action.DELIVERED: 2,
    Action.RELAYED: 2,
    Action.EXPANDED: 2,
}
# QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e (RFC 6533): kept as is in a utf-8 address.
_QCHAR: Final = frozenset(chr(c) for c in range(0x21, 0x7F)) - {"+", "=", "\\"}
# field-name = 1*<any CHAR, excluding CTLs, SPACE, and ":">; kept short so the line folds.
_FIELD_NAME: Final = re.compile(r"[!-9;-~]{1,76}")
# type = atom
_ATOM: Final = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,40}")
_STANDARD: Final = frozenset(
    {
        "original-envelope-id", "reporting-mta", "dsn-gateway", "received-from-mta",
        "arrival-date", "original-recipient", "final-recipient", "action", "status",
        "remote-mta", "diagnostic-code", "last-attempt-date", "final-log-id",
        "will-retry-until",
    }
)


@dataclass(frozen=True, slots=True)
class RecipientOutcome:
    """What happened to one recipient: the input of :func:`build_report` per recipient.

    Give either ``reply`` (the SMTP reply that ended the attempt; action, status and
    Diagnostic-Code are taken from it) or ``action`` and/or ``status``; explicit values win
    over the reply's.

    Attributes:
        recipient: the envelope recipient as received (RCPT TO, without ``<>``).
        reply: the final reply for this recipient, e.g. ``Reply(550, "5.1.1", ...)``.
        action: the Action (or its name, ``"failed"``); default from the reply's or
            status's class (5 failed, 4 delayed, 2 delivered).
        status: the enhanced status; default the reply's, else X.0.0 of the class.
        diagnostic: Diagnostic-Code text (an ``smtp`` diagnostic), or a TypedValue
            for another type; default the reply's text.
        params: the recipient's RCPT parameters (NOTIFY, ORCPT), or None.
        remote_mta: the host name of the MTA that gave the reply, if any.
        last_attempt_date, will_retry_until: timezone-aware datetimes (the second only
            for a delayed recipient).
        final_log_id: the log identifier of the final attempt.
        extensions: further per-recipient fields, (name, value).
    """

    recipient: str
    reply: Reply | None = None
    action: Action | str | None = None
    status: EnhancedStatus | str | None = None
    diagnostic: str | TypedValue | None = None
    params: RcptParams | None = None
    remote_mta: str | TypedValue | None = None
    last_attempt_date: datetime | None = None
    will_retry_until: datetime | None = None
    final_log_id: str | None = None
    extensions: Sequence[tuple[str, str]] = ()


def _clean(text: str, what: str, ascii_only: bool) -> str:
    """Free text for a field: line breaks and control characters refused (HTAB is white
    space), :func:`clean_text` applied, and with ``ascii_only`` reduced to ASCII as well."""
    cleaned = clean_text(check_text(text, what, tab=True))
    if ascii_only and not cleaned.isascii():
        cleaned = clean_text(ascii_text(cleaned))
    return cleaned


def _utf8_address(address: str, ascii_only: bool) -> str:
    """An RFC 6533 utf-8 address: CTLs, SP, ``\\``, ``+``, ``=`` escaped as ``\\x{HEX}``
    (and, with ``ascii_only``, every non-ASCII character: utf-8-addr-xtext)."""
    return "".join(
        ch
        if ch in _QCHAR
        or (not ascii_only and ord(ch) > 0x7F and ch.isprintable() and not ch.isspace())
        else f"\\x{{{ord(ch):X}}}"
        for ch in address
    )


def _address(addr_type: str, address: str, what: str, ascii_only: bool) -> TypedValue:
    """The typed value for an address, the address kept exactly as given (RFC 3461
    section 6.3): ``addr_type`` as given unless the address cannot be written in it
    without SMTPUTF8 (a non-ASCII address in a report that must stay ASCII, or a
    non-ASCII Final-Recipient), which makes it an RFC 6533 ``utf-8`` address."""
    check_text(address, what)
    if not address or address != address.strip():
        raise InvalidReportError(
            f"the {what} {address[:60]!r} is empty or has white space at its ends"
        )
    if addr_type.lower() == "utf-8":
        value = TypedValue(addr_type, _utf8_address(address, ascii_only))
    elif address.isascii() or not (ascii_only or addr_type.lower() == "rfc822"):
        value = TypedValue(addr_type, address)
    else:
        value = TypedValue("utf-8", _utf8_address(address, ascii_only))
    if len(value.value.encode("utf-8")) > MAX_ADDRESS_OCTETS:
        raise InvalidReportError(
            f"the {what} {address[:60]!r} is longer than {MAX_ADDRESS_OCTETS} octets"
        )
    return value


def _typed(
    value: str | TypedValue, default_type: str, what: str, ascii_only: bool
) -> TypedValue:
    if isinstance(value, TypedValue):
        check_text(value.type, f"{what} type")
        if _ATOM.fullmatch(value.type) is None:
            raise InvalidReportError(f"the {what} type {value.type!r} is not an atom")
        return TypedValue(value.type.lower(), _clean(value.value, what, ascii_only))
    if not isinstance(value, str):
        raise InvalidReportError(f"the {what} must be a string or a TypedValue, got {value!r}")
    return TypedValue(default_type, _clean(value, what, ascii_only))


def _extensions(items: Sequence[tuple[str, str]], ascii_only: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if not isinstance(items, list | tuple) or not all(
        isinstance(item, tuple) and len(item) == 2 for item in items
    ):
        raise InvalidReportError(f"extensions must be (name, value) pairs, got {items!r}")
    for name, value in items:
        check_text(name, "extension field name")
        if _FIELD_NAME.fullmatch(name) is None:
            raise InvalidReportError(
                f"extension field name {name!r} is not a field name "
                "(1 to 76 printable ASCII characters, no space or colon)"
            )
        if name.lower() in _STANDARD:
            raise InvalidReportError(f"{name!r} is an RFC 3464 field, not an extension")
        out.append((name, _clean(value, f"extension field {name}", ascii_only)))
    return out


def _status(outcome: RecipientOutcome) -> tuple[Action, EnhancedStatus]:
    status: EnhancedStatus | None
    if isinstance(outcome.status, str):
        check_text(outcome.status, "status")
        try:
            status = EnhancedStatus.parse(outcome.status)
        except StatusSyntaxError as exc:
            raise InvalidReportError(str(exc)) from None
    elif outcome.status is None or isinstance(outcome.status, EnhancedStatus):
        status = outcome.status
    else:
        raise InvalidReportError(
            f"status must be an EnhancedStatus or a string, got {outcome.status!r}"
        )
    reply = outcome.reply
    if reply is not None and not isinstance(reply, Reply):
        raise InvalidReportError(f"reply must be a smtpdsn Reply, got {reply!r}")
    if status is None and reply is not None:
        status = reply.status or EnhancedStatus(reply.code // 100 if reply.code >= 200 else 5, 0, 0)
    action = outcome.action
    if isinstance(action, str):
        check_text(action, "action")
        action = _ACTION_NAMES.get(action.lower())
        if action is None:
            raise InvalidReportError(
                f"action {outcome.action!r} is not one of failed, delayed, delivered, "
                "relayed, expanded"
            )
    elif action is not None and not isinstance(action, Action):
        raise InvalidReportError(f"action must be an Action or its name, got {action!r}")
    if action is None:
        if status is None:
            raise InvalidReportError(
                f"the outcome for {outcome.recipient[:60]!r} needs a reply, an action or a status"
            )
        action = _ACTION_FOR_CLASS[status.class_]
    if status is None:
        status = EnhancedStatus(_CLASS_FOR_ACTION[action], 0, 0)
    return action, status.canonical()


def _recipient(outcome: RecipientOutcome, ascii_only: bool) -> RecipientStatus:
    if not isinstance(outcome, RecipientOutcome):
        raise InvalidReportError(f"expected a RecipientOutcome, got {outcome!r}")
    if outcome.params is not None and not isinstance(outcome.params, RcptParams):
        raise InvalidReportError(f"params must be RcptParams or None, got {outcome.params!r}")
    final_recipient = _address("rfc822", outcome.recipient, "recipient", ascii_only)
    action, status = _status(outcome)
    rcpt = RecipientStatus(
        final_recipient=final_recipient,
        action=action,
        action_text=action.value,
        status=status,
        status_text=str(status),
    )
    orcpt = outcome.params.orcpt if outcome.params is not None else None
    if orcpt is not None:
        # RcptParams holds no control characters; an optional field too long to write is
        # left out rather than failing the whole report.
        with contextlib.suppress(InvalidReportError):
            rcpt.original_recipient = _address(
                orcpt[0], orcpt[1], "original recipient", ascii_only
            )
    if outcome.remote_mta is not None:
        rcpt.remote_mta = _typed(outcome.remote_mta, "dns", "remote MTA", ascii_only)
    diagnostic = outcome.diagnostic
    if diagnostic is None and outcome.reply is not None:
        diagnostic = " ".join(outcome.reply.split("\r\n"))
    if diagnostic is not None:
        rcpt.diagnostic_code = _typed(diagnostic, "smtp", "diagnostic", ascii_only)
    rcpt.last_attempt_date = check_date(outcome.last_attempt_date, "last attempt date")
    if outcome.will_retry_until is not None and action is not Action.DELAYED:
        raise InvalidReportError(
            "Will-Retry-Until is only for a delayed recipient (RFC 3464 section 2.3.9)"
        )
    rcpt.will_retry_until = check_date(outcome.will_retry_until, "will-retry-until date")
    if outcome.final_log_id is not None:
        rcpt.final_log_id = _clean(outcome.final_log_id, "final log ID", ascii_only)
    rcpt.extensions = _extensions(outcome.extensions, ascii_only)
    return rcpt


def _wanted(outcome: RecipientOutcome, action: Action, default: frozenset[str]) -> bool:
    notify = outcome.params.notify if outcome.params is not None else None
    if notify is None:
        notify = default
    return "NEVER" not in notify and _NOTIFY_FOR[action] in notify


def compose_report(
    outcomes: Sequence[RecipientOutcome],
    *,
    sender: str,
    reporting_mta: str,
    mail_params: MailParams | None = None,
    arrival_date: datetime | None = None,
    received_from_mta: str | TypedValue | None = None,
    dsn_gateway: str | TypedValue | None = None,
    default_notify: frozenset[str] = DEFAULT_NOTIFY,
    extensions: Sequence[tuple[str, str]] = (),
    smtputf8: bool = True,
) -> DeliveryReport | None:
    """The report records for :func:`~smtpdsn.report.build_report` (same arguments).

    Returns:
        The report, or None when no DSN is due: the sender is null (``""`` or ``"<>"``),
        or NOTIFY asks for no report about any outcome given.

    Raises:
        InvalidReportError: a value cannot be put in a valid report (see
            :func:`~smtpdsn.report.build_report`). Nothing is built.
    """
    if sender in ("", "<>"):
        return None
    check_sender(sender, smtputf8)
    if mail_params is not None and not isinstance(mail_params, MailParams):
        raise InvalidReportError(f"mail_params must be MailParams or None, got {mail_params!r}")
    if not isinstance(default_notify, frozenset | set) or not all(
        isinstance(word, str) for word in default_notify
    ):
        raise InvalidReportError(
            f"default_notify must be a set of NOTIFY words, got {default_notify!r}"
        )
    if isinstance(outcomes, str | bytes) or not hasattr(outcomes, "__iter__"):
        raise InvalidReportError(
            f"outcomes must be a list of RecipientOutcome, got {outcomes!r}"
        )
    name = host_name(reporting_mta)
    report = DeliveryReport(
        reporting_mta=TypedValue("dns" if is_fqdn(name) else "x-local-hostname", name)
    )
    if mail_params is not None and mail_params.envid is not None:
        # RFC 3461 section 6.3(a): the decoded ENVID exactly; MailParams holds it
        # printable US-ASCII, at most 100 characters.
        report.original_envelope_id = check_text(mail_params.envid, "envelope identifier")
    if received_from_mta is not None:
        report.received_from_mta = _typed(
            received_from_mta, "dns", "received-from MTA", not smtputf8
        )
    if dsn_gateway is not None:
        report.dsn_gateway = _typed(dsn_gateway, "dns", "DSN gateway", not smtputf8)
    report.arrival_date = check_date(arrival_date, "arrival date")
    report.extensions = _extensions(extensions, not smtputf8)
    for outcome in outcomes:
        rcpt = _recipient(outcome, not smtputf8)
        if rcpt.action is not None and _wanted(outcome, rcpt.action, default_notify):
            report.recipients.append(rcpt)
    if not report.recipients:
        return None
    report.is_global = not (_all_ascii(report) and sender.isascii())
    return report


def _all_ascii(report: DeliveryReport) -> bool:
    texts: list[str] = [report.original_envelope_id or ""]
    texts.extend(value for _, value in report.extensions)
    for rcpt in report.recipients:
        for typed in (rcpt.original_recipient, rcpt.final_recipient, rcpt.remote_mta,
                      rcpt.diagnostic_code):
            if typed is not None:
                texts.append(typed.value)
        texts.append(rcpt.final_log_id or "")
        texts.extend(value for _, value in rcpt.extensions)
    for typed in (report.received_from_mta, report.dsn_gateway):
        if typed is not None:
            texts.append(typed.value)
    return all(text.isascii() for text in texts)
