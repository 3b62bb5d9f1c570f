"""Building a delivery status notification message: :func:`build_report` (RFC 3464,
RFC 6522, RFC 6533, RFC 3461 section 6).

The message is ``multipart/report; report-type=delivery-status`` with three parts: a
plain-text explanation, the ``message/delivery-status`` part, and the returned message
(``message/rfc822``, RET=FULL) or its header section (``text/rfc822-headers``, the
default). With non-ASCII text anywhere in the report fields (an address, a diagnostic)
the RFC 6533 types are used instead: ``message/global-delivery-status``,
``message/global`` and ``message/global-headers``; the message then has the SMTPUTF8
policy and must travel over SMTPUTF8.
"""

from __future__ import annotations

import email.policy
import quopri
import re
import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.generator import BytesGenerator, Generator
from email.message import EmailMessage, Message, MIMEPart
from email.utils import format_datetime, make_msgid
from typing import Final

from ..dsnparams import MailParams
from .body import format_report
from .checks import check_date, check_sender, check_text, host_name
from .compose import DEFAULT_NOTIFY, RecipientOutcome, compose_report
from .errors import InvalidReportError
from .fields import is_clean
from .mime import flatten_message, normalize_newlines
from .model import Action, DeliveryReport, TypedValue
from .text import explain, subject_for

__all__ = ["build_report", "render_report"]

_FROM_NAME: Final = "Mail Delivery System"
# field-name = 1*<any CHAR, excluding CTLs, SPACE, and ":">; short enough to fold.
_FIELD_NAME: Final = re.compile(r"[!-9;-~]{1,76}")
# type = atom (RFC 3464 address-type, mta-name-type, diagnostic-type)
_TYPE: Final = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
# msg-id = "<" id-left "@" id-right ">" (RFC 5322 section 3.6.4), printable ASCII, no space.
_MESSAGE_ID: Final = re.compile(r"<[!-;=?-~]{1,200}@[!-;=?-~]{1,200}>")
# Fields written exactly as given (addresses, the envelope identifier), not cleaned text.
_EXACT: Final = frozenset({"Original-Envelope-Id", "Original-Recipient", "Final-Recipient"})
# The longest word fold_field can put on a line after a field name.
_MAX_WORD_OCTETS: Final = 900


class _Verbatim(Message):
    """A payload the generators write exactly as given (line endings made the policy's).

    The standard library cannot write a ``message/delivery-status`` part whose fields it
    did not fold itself, and refolds a returned message's header lines; this class writes
    its ``text`` through the generator's ``_write_headers`` hook, unchanged.
    """

    def __init__(self, data: bytes, fields: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__()
        self._data = normalize_newlines(data)
        for name, value in fields:
            self[name] = value  # for reading the built object only

    def _write_headers(self, generator: Generator) -> None:
        policy = generator.policy
        linesep = policy.linesep if policy is not None else "\n"
        data = self._data.replace(b"\n", linesep.encode("ascii"))
        if isinstance(generator, BytesGenerator):
            generator.write(data.decode("ascii", "surrogateescape"))
        else:
            generator.write(data.decode("utf-8", "replace"))


def _blocks(lines: list[str]) -> list[Message[str, str] | str]:
    """One verbatim block per group of field lines, each ending with an empty line."""
    blocks: list[Message[str, str] | str] = []
    group: list[str] = []
    for line in [*lines, ""]:
        if line:
            group.append(line)
            continue
        if group:
            fields: list[tuple[str, list[str]]] = []
            for raw in group:
                if raw[0] == " " and fields:
                    fields[-1][1].append(raw)
                else:
                    name, _, value = raw.partition(":")
                    fields.append((name, [value.strip(" ")]))
            text = "\n".join(group) + "\n\n"
            pairs = [(name, "".join(pieces)) for name, pieces in fields]
            blocks.append(_Verbatim(text.encode("utf-8"), pairs))
            group = []
    return blocks


def _check_safe(report: DeliveryReport) -> None:
    """Refuse records whose values could break out of their field (not from compose_report).

    Raises:
        InvalidReportError: a value has line breaks, control characters, runs of white
            space or an over-long word; an extension name is not a field name.
    """
    values: list[tuple[str, object]] = [
        ("Original-Envelope-Id", report.original_envelope_id),
        ("Reporting-MTA", report.reporting_mta),
        ("DSN-Gateway", report.dsn_gateway),
        ("Received-From-MTA", report.received_from_mta),
    ]
    names = [name for name, _ in report.extensions]
    values.extend(report.extensions)
    for rcpt in report.recipients:
        values.extend([
            ("Original-Recipient", rcpt.original_recipient),
            ("Final-Recipient", rcpt.final_recipient),
            ("Action", rcpt.action_text),
            ("Status", rcpt.status_text),
            ("Remote-MTA", rcpt.remote_mta),
            ("Diagnostic-Code", rcpt.diagnostic_code),
            ("Final-Log-ID", rcpt.final_log_id),
        ])
        names.extend(name for name, _ in rcpt.extensions)
        values.extend(rcpt.extensions)
    for name in names:
        if not isinstance(name, str) or _FIELD_NAME.fullmatch(name) is None:
            raise InvalidReportError(f"extension field name {name!r} is not a field name")
    for name, value in values:
        if isinstance(value, TypedValue) and value.type and (
            not isinstance(value.type, str) or _TYPE.fullmatch(value.type) is None
        ):
            raise InvalidReportError(f"the {name} type {value.type!r} is not an atom")
        text = value.value if isinstance(value, TypedValue) else value
        if text is None:
            continue
        text = check_text(text, f"{name} value")
        if name in _EXACT:
            # Kept exactly (RFC 3461 section 6.3): runs of spaces allowed, but every word
            # must fit a folded line.
            if any(len(word.encode("utf-8")) > _MAX_WORD_OCTETS for word in text.split(" ")):
                raise InvalidReportError(f"the {name} value {text[:60]!r} is too long to fold")
        elif not is_clean(text):
            raise InvalidReportError(
                f"the {name} value {text!r} is not safe for a field; "
                "make the report with compose_report"
            )


def _charset(data: bytes) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown-8bit"  # RFC 1428
    return "utf-8"


def _one(part: Message[str, str]) -> list[Message[str, str] | str]:
    return [part]


def render_report(
    report: DeliveryReport,
    original: bytes | Message,
    *,
    sender: str,
    ret: str | None = None,
    date: datetime | None = None,
    message_id: str | None = None,
    smtputf8: bool = True,
) -> EmailMessage:
    """Write report records (from :func:`~smtpdsn.report.compose.compose_report`) as a
    DSN message; :func:`build_report` does both steps.

    Raises:
        InvalidReportError: the sender, date, Message-ID or original message cannot be
            used, or (without ``smtputf8``) the report holds UTF-8 text.
    """
    if report.reporting_mta is None or not report.recipients:
        raise InvalidReportError("the report needs a Reporting-MTA and at least one recipient")
    _check_safe(report)
    host = host_name(report.reporting_mta.value)
    address = check_sender(sender, smtputf8)
    if report.is_global and not smtputf8:
        raise InvalidReportError(
            "the report holds UTF-8 text; compose it with smtputf8=False to send it without "
            "SMTPUTF8"
        )
    if isinstance(original, bytes | bytearray | memoryview):
        raw: bytes | None = bytes(original)
    elif isinstance(original, Message):
        raw = flatten_message(original)
    else:
        raise InvalidReportError(
            f"the original message must be bytes or an email.message.Message, "
            f"got {type(original).__name__}"
        )
    if raw is None:
        raise InvalidReportError("the original email.message.Message cannot be serialised")
    when = check_date(date, "report date") or datetime.now(UTC).replace(microsecond=0)
    if message_id is not None:
        check_text(message_id, "Message-ID")
    if message_id is not None and _MESSAGE_ID.fullmatch(message_id) is None:
        raise InvalidReportError(
            f"the Message-ID {message_id[:60]!r} is not of the form <left@right>"
        )
    raw = normalize_newlines(raw)
    head_ascii = raw.partition(b"\n\n")[0].isascii()
    is_global = report.is_global or (smtputf8 and not (address.isascii() and head_ascii))
    if is_global != report.is_global:
        report = replace(report, is_global=is_global)
    policy = email.policy.SMTPUTF8 if is_global else email.policy.SMTP
    msg = EmailMessage(policy=policy)
    msg["From"] = f"{_FROM_NAME} <MAILER-DAEMON@{host}>"
    msg["To"] = f"<{address}>"
    msg["Subject"] = subject_for(report)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = message_id or make_msgid("dsn", domain=host)
    msg["Auto-Submitted"] = "auto-replied"
    msg["MIME-Version"] = "1.0"
    boundary = f"=_smtpdsn_{secrets.token_hex(12)}"
    msg["Content-Type"] = (
        f'multipart/report; report-type=delivery-status; boundary="{boundary}"'
    )
    msg.preamble = "This is a MIME-encapsulated message."

    text = MIMEPart(policy=policy)
    body = explain(report, host)
    if body.isascii():
        text.set_content(body, charset="us-ascii", cte="7bit")
    else:
        text.set_content(body, charset="utf-8", cte="8bit" if is_global else "quoted-printable")

    status = MIMEPart(policy=policy)
    lines = format_report(report)
    if is_global:
        status["Content-Type"] = "message/global-delivery-status"
        status["Content-Transfer-Encoding"] = "8bit"
        status.set_payload(_one(_Verbatim(("\n".join(lines) + "\n").encode("utf-8"))))
    else:
        status["Content-Type"] = "message/delivery-status"
        status["Content-Transfer-Encoding"] = "7bit"
        status.set_payload(_blocks(lines))

    full = ret == "FULL" and any(r.action is Action.FAILED for r in report.recipients)
    # Without SMTPUTF8, a message with UTF-8 header fields can only be returned as
    # quoted-printable text/rfc822-headers.
    full = full and (smtputf8 or head_ascii)
    section = raw if full else raw.partition(b"\n\n")[0] + b"\n"
    returned = MIMEPart(policy=policy)
    if full:
        returned["Content-Type"] = "message/global" if is_global else "message/rfc822"
    else:
        returned["Content-Type"] = "message/global-headers" if is_global else "text/rfc822-headers"
    if full or is_global:
        returned["Content-Transfer-Encoding"] = "7bit" if section.isascii() else "8bit"
        returned.set_payload(_one(_Verbatim(section)))
    elif section.isascii():
        returned["Content-Transfer-Encoding"] = "7bit"
        returned.set_payload(section.decode("ascii"))
    else:
        returned.set_param("charset", _charset(section))
        returned["Content-Transfer-Encoding"] = "quoted-printable"
        returned.set_payload(quopri.encodestring(section).decode("ascii"))
    parts: list[Message[str, str] | str] = [text, status, returned]
    msg.set_payload(parts)
    return msg


def build_report(
    original: bytes | Message,
    outcomes: Sequence[RecipientOutcome],
    *,
    sender: str,
    reporting_mta: str,
    mail_params: MailParams | None = None,
    arrival_date: datetime | None = None,
    received_from_mta: str | TypedValue | None = None,
    dsn_gateway: str | TypedValue | None = None,
    default_notify: frozenset[str] = DEFAULT_NOTIFY,
    date: datetime | None = None,
    message_id: str | None = None,
    extensions: Sequence[tuple[str, str]] = (),
    smtputf8: bool = True,
) -> EmailMessage | None:
    """Build the delivery status notification for a message.

    Args:
        original: the message as received (bytes, any line endings), or a Message.
        outcomes: one :class:`RecipientOutcome` per recipient to report on.
        sender: the envelope sender (MAIL FROM) the DSN goes to; ``""`` or ``"<>"``
            for the null sender.
        reporting_mta: this MTA's host name (Reporting-MTA, and the From address
            ``MAILER-DAEMON@<name>``).
        mail_params: the MAIL parameters: RET (FULL returns the whole message in a
            report with a failed recipient; else only its header section) and ENVID
            (Original-Envelope-Id).
        arrival_date: when the message arrived (Arrival-Date), timezone-aware.
        received_from_mta: the host the message came from (Received-From-MTA).
        dsn_gateway: the gateway that turned a foreign notice into this report
            (DSN-Gateway); only for gateways.
        default_notify: the NOTIFY used for a recipient that gave none.
        date: the Date of the report (default: now).
        message_id: the Message-ID (default: a new one at the reporting MTA's name).
        extensions: further per-message fields, (name, value).
        smtputf8: the report may use UTF-8 (RFC 6533 global types), the default. Pass
            False when it must travel without SMTPUTF8: addresses are then written as
            utf-8-addr-xtext (``j\\x{F6}ran@...``), other text is reduced to ASCII, and
            UTF-8 header fields of the original are returned as quoted-printable
            text/rfc822-headers (never the full message).

    Returns:
        The DSN as an :class:`email.message.EmailMessage` (serialise with ``bytes(msg)``
        or ``msg.as_bytes()``), or None when no DSN is due: the sender is null, or the
        recipients' NOTIFY asks for no report of these outcomes (NEVER; SUCCESS and
        DELAY only when asked).

    Raises:
        InvalidReportError: the reporting MTA name is not a host name, an address is
            over 900 octets, a date is naive, a status is invalid, an outcome has
            neither reply nor action nor status, or an extension name is not a field
            name. Nothing is built.
    """
    report = compose_report(
        outcomes,
        sender=sender,
        reporting_mta=reporting_mta,
        mail_params=mail_params,
        arrival_date=arrival_date,
        received_from_mta=received_from_mta,
        dsn_gateway=dsn_gateway,
        default_notify=default_notify,
        extensions=extensions,
        smtputf8=smtputf8,
    )
    if report is None:
        return None
    return render_report(
        report,
        original,
        sender=sender,
        ret=mail_params.ret if mail_params is not None else None,
        date=date,
        message_id=message_id,
        smtputf8=smtputf8,
    )
