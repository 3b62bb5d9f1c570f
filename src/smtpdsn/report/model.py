"""Typed records of a delivery status notification (RFC 3464 sections 2.2 and 2.3).

A report is one ``message/delivery-status`` (or RFC 6533 ``message/global-delivery-status``)
part: one group of per-message fields, then one group of per-recipient fields for each
recipient. :class:`DeliveryReport` holds the first, :class:`RecipientStatus` the others.
Field names follow RFC 3464 in snake_case (``Final-Recipient`` -> ``final_recipient``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Final

from ..errors import ReplySyntaxError
from ..parse import parse_reply
from ..reply import Reply
from ..status import EnhancedStatus
from ..xtext import decode_utf8_addr

__all__ = ["Action", "DeliveryReport", "RecipientStatus", "TypedValue"]


class Action(Enum):
    """The ``Action`` field's value (RFC 3464 section 2.3.3)."""

    #: Delivery failed; the MTA has given up and sends no further notices for it.
    FAILED = "failed"
    #: Delivery is delayed; the MTA keeps trying and may send further notices.
    DELAYED = "delayed"
    #: The message was delivered to the recipient (not necessarily read).
    DELIVERED = "delivered"
    #: The message went on to a place that will not send further DSNs.
    RELAYED = "relayed"
    #: Delivered to an alias and forwarded to several further recipients.
    EXPANDED = "expanded"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class TypedValue:
    """A ``type;value`` field value, split (RFC 3464 address-type, mta-name-type and
    diagnostic-type fields).

    ``type`` is lower-cased (type names are case-insensitive, e.g. ``rfc822``, ``utf-8``,
    ``dns``, ``smtp``); it is ``""`` when the field had no type (a deviation the parser
    reports). ``value`` is the rest of the field, unfolded, white space at both ends
    removed, otherwise as written.

    >>> TypedValue("rfc822", "user@example.com")
    TypedValue('rfc822', 'user@example.com')
    >>> str(TypedValue("dns", "mx.example.com"))
    'dns; mx.example.com'
    """

    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.type}; {self.value}" if self.type else self.value

    def __repr__(self) -> str:
        return f"TypedValue({self.type!r}, {self.value!r})"

    @property
    def address(self) -> str:
        """The value as a plain address.

        A ``utf-8`` address has its ``\\x{HEX}`` escapes decoded (RFC 6533); any address
        loses the angle brackets some MTAs put around it.
        """
        value = self.value
        if self.type == "utf-8":
            value = decode_utf8_addr(value, strict=False)
        if len(value) > 1 and value[0] == "<" and value[-1] == ">":
            value = value[1:-1]
        return value


# Longer Diagnostic-Code text is not read as a reply (the core reply parser's line
# wrapping is quadratic in the length of a non-ASCII line).
_MAX_REPLY_CHARS: Final = 65_536
# Where a flattened multi-line reply continues: the first line's code, "-" or SP, and the
# first line's enhanced status when it had one.
_REPLY_START: Final = re.compile(r"([2-5][0-5][0-9])([- ])(?:([245]\.[0-9]{1,3}\.[0-9]{1,3}) )?")


def _unflatten_reply(text: str) -> str:
    """Turn ``550-5.1.1 a 550 5.1.1 b`` (a reply written on one field line) into lines."""
    m = _REPLY_START.match(text)
    if m is None or m[2] != "-":
        return text
    code, status = m[1], m[3]
    head = re.escape(code) + r"[- ]" + (re.escape(status) + r"(?: |$)" if status else "")
    return re.sub(r" (?=" + head + ")", "\r\n", text)


@dataclass(slots=True)
class RecipientStatus:
    """The per-recipient fields of a report (RFC 3464 section 2.3).

    Every field is None when the group does not carry it. Values are as the report gives
    them; the parser records deviations in :attr:`DeliveryReport.warnings`.
    """

    #: ``Original-Recipient``: the ORCPT the sender gave, e.g. ``rfc822;user@example.com``.
    original_recipient: TypedValue | None = None
    #: ``Final-Recipient`` (required): the recipient as the reporting MTA received it.
    final_recipient: TypedValue | None = None
    #: ``Action`` (required), or None when it is missing or not an RFC 3464 value
    #: (``expired`` is read as :attr:`Action.FAILED`; see :attr:`action_text`).
    action: Action | None = None
    #: ``Action`` exactly as written (e.g. ``"Failed"``, ``"expired"``), or None.
    action_text: str | None = None
    #: ``Status`` (required): the enhanced status code, or None when missing or invalid.
    status: EnhancedStatus | None = None
    #: The comment or trailing text after the code (``"user unknown"`` for
    #: ``5.1.1 (user unknown)``), or None.
    status_comment: str | None = None
    #: ``Status`` exactly as written (unfolded, trimmed), or None.
    status_text: str | None = None
    #: ``Remote-MTA``, e.g. ``dns;mx.example.com``.
    remote_mta: TypedValue | None = None
    #: ``Diagnostic-Code``, e.g. ``smtp;550 5.1.1 No such user``; see :attr:`diagnostic_reply`.
    diagnostic_code: TypedValue | None = None
    #: ``Last-Attempt-Date`` as a timezone-aware datetime.
    last_attempt_date: datetime | None = None
    #: ``Final-Log-ID``: the reporting MTA's log identifier for the final attempt.
    final_log_id: str | None = None
    #: ``Will-Retry-Until`` as a timezone-aware datetime (only in ``delayed`` reports).
    will_retry_until: datetime | None = None
    #: Every other field of the group, in order: (name as written, unfolded value).
    extensions: list[tuple[str, str]] = field(default_factory=list)

    @property
    def diagnostic_reply(self) -> Reply | None:
        """The ``smtp`` Diagnostic-Code as a core :class:`~smtpdsn.reply.Reply`, or None.

        A Diagnostic-Code without a type (a deviation some MTAs make) is read as an
        ``smtp`` one. None when there is no Diagnostic-Code, its type is another, its text does
        not start with a reply code, or it is longer than 65,536 characters (no real reply
        is; the limit keeps hostile input cheap). A multi-line reply written on one line
        (``550-5.1.1 first 550 5.1.1 second``) is split back into its lines.
        """
        diag = self.diagnostic_code
        if diag is None or diag.type not in ("smtp", "") or not diag.value:
            return None
        if len(diag.value) > _MAX_REPLY_CHARS:
            return None
        try:
            return parse_reply(_unflatten_reply(diag.value), strict=False)
        except ReplySyntaxError:
            return None

    def extension(self, name: str) -> str | None:
        """The value of the first extension field called ``name`` (any case), or None."""
        return _find(self.extensions, name)


@dataclass(slots=True)
class DeliveryReport:
    """One delivery-status part: the per-message fields and each recipient's fields
    (RFC 3464 section 2.2).
    """

    #: ``Reporting-MTA`` (required), e.g. ``dns;mx.example.com``.
    reporting_mta: TypedValue | None = None
    #: ``Original-Envelope-Id``: the ENVID the sender gave, or None.
    original_envelope_id: str | None = None
    #: ``DSN-Gateway``: the gateway that turned a foreign notice into this report.
    dsn_gateway: TypedValue | None = None
    #: ``Received-From-MTA``: the MTA the reporting MTA received the message from.
    received_from_mta: TypedValue | None = None
    #: ``Arrival-Date`` as a timezone-aware datetime.
    arrival_date: datetime | None = None
    #: Every other per-message field, in order: (name as written, unfolded value).
    extensions: list[tuple[str, str]] = field(default_factory=list)
    #: One record per recipient group, in order.
    recipients: list[RecipientStatus] = field(default_factory=list)
    #: True for an RFC 6533 ``message/global-delivery-status`` part (UTF-8 allowed).
    is_global: bool = False
    #: Each deviation from RFC 3464 the parser forgave, in plain words.
    warnings: list[str] = field(default_factory=list)

    def extension(self, name: str) -> str | None:
        """The value of the first per-message extension field called ``name`` (any case)."""
        return _find(self.extensions, name)


def _find(fields: list[tuple[str, str]], name: str) -> str | None:
    wanted = name.lower()
    for key, value in fields:
        if key.lower() == wanted:
            return value
    return None
