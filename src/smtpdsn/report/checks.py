"""Checks of caller values for a report: the reporting MTA's name, the envelope sender,
dates (RFC 5322 section 3.3 needs a numeric zone and a four-digit year).

Each check returns the value to use, or raises
:class:`~smtpdsn.report.errors.InvalidReportError` naming the value at fault.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from .errors import InvalidReportError

__all__ = ["MAX_ADDRESS_OCTETS", "check_date", "check_sender", "host_name"]

#: An address longer than this cannot be written within a 998-octet line.
MAX_ADDRESS_OCTETS: Final = 900
# RFC 1123 host name (letters, digits, hyphens; dot-separated labels) or an address literal.
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?|\[[!-Z^-~]{{1,200}}\]")


def host_name(name: str) -> str:
    """Check a reporting MTA name and return its ASCII form (IDNA for a non-ASCII name).

    Raises:
        InvalidReportError: ``name`` is not a host name or address literal.
    """
    if not isinstance(name, str):
        raise InvalidReportError(f"the reporting MTA name must be a string, got {name!r}")
    ascii_name = name
    if not name.isascii():
        try:
            ascii_name = name.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_name = ""
    if len(ascii_name) > 253 or _HOST.fullmatch(ascii_name) is None:
        raise InvalidReportError(
            f"the reporting MTA name {name[:80]!r} is not a host name such as mx.example.com"
        )
    return ascii_name


# Characters that would let one "address" read as several in the To field (RFC 5322
# specials and space) outside a quoted local part, and in the domain.
_NOT_IN_LOCAL: Final = frozenset(' ,;<>()[]:\\"')
_NOT_IN_DOMAIN: Final = frozenset(' ,;<>()"\\')


def check_sender(sender: str, smtputf8: bool = True) -> str:
    """The envelope sender without angle brackets, checked for use in a To field.

    Raises:
        InvalidReportError: it is not a string, is empty, holds line breaks or control
            characters, is longer than 900 octets, or (without ``smtputf8``) is not ASCII.
    """
    if not isinstance(sender, str):
        raise InvalidReportError(f"the envelope sender must be a string, got {sender!r}")
    address = sender[1:-1] if sender.startswith("<") and sender.endswith(">") else sender
    if not address.strip() or not address.isprintable():
        raise InvalidReportError(
            f"the envelope sender {sender[:60]!r} is empty or contains line breaks or "
            "control characters"
        )
    if len(address.encode("utf-8", "surrogatepass")) > MAX_ADDRESS_OCTETS:
        raise InvalidReportError(
            f"the envelope sender is longer than {MAX_ADDRESS_OCTETS} octets"
        )
    local, at, domain = address.rpartition("@")
    if not at:
        local, domain = address, ""
    quoted = len(local) >= 2 and local.startswith('"') and local.endswith('"')
    if (not quoted and any(ch in _NOT_IN_LOCAL for ch in local)) or any(
        ch in _NOT_IN_DOMAIN for ch in domain
    ):
        raise InvalidReportError(
            f"the envelope sender {sender[:60]!r} is not a single address (local-part@domain)"
        )
    if not smtputf8 and not address.isascii():
        raise InvalidReportError(
            f"the envelope sender {sender[:60]!r} is not ASCII: a report to it needs SMTPUTF8"
        )
    return address


def check_date(value: datetime | None, what: str) -> datetime | None:
    """A timezone-aware datetime without microseconds, or None.

    Raises:
        InvalidReportError: the value is naive, not a datetime, or outside 1900-9999.
    """
    if value is None:
        return None
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidReportError(f"the {what} must be a timezone-aware datetime, got {value!r}")
    if not 1900 <= value.year <= 9999:
        raise InvalidReportError(f"the {what} year {value.year} is outside 1900-9999")
    offset = value.utcoffset()
    if offset is not None and offset.seconds % 60:
        value = value.astimezone(UTC)
    return value.replace(microsecond=0)
