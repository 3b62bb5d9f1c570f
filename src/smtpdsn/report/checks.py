"""Checks of caller values for a report: text for a field (no line breaks), the reporting
MTA's name, the envelope sender, dates (RFC 5322 section 3.3 needs a numeric zone and a
four-digit year).

Each check returns the value to use, or raises
:class:`~smtpdsn.report.errors.InvalidReportError` naming the value at fault. Every value
a caller gives for a field goes through :func:`check_text` first, so a line break is
refused the same way wherever it is (RFC 5322 section 2.2: a CR or LF would end the field
and could start a new one).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Final

from .errors import InvalidReportError

__all__ = [
    "MAX_ADDRESS_OCTETS",
    "check_date",
    "check_sender",
    "check_text",
    "host_name",
    "is_fqdn",
]

#: An address longer than this cannot be written within a 998-octet line.
MAX_ADDRESS_OCTETS: Final = 900
# RFC 1123 host name (letters, digits, hyphens; dot-separated labels) or an address literal.
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST: Final = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?|\[[!-Z^-~]{{1,200}}\]")


# Line breaks (every separator str.splitlines knows), other control characters, and lone
# surrogates (which no encoding can write).
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cs", "Zl", "Zp"})


def check_text(value: object, what: str, *, tab: bool = False) -> str:
    """``value`` when it is a string that can stay on one field line.

    Args:
        value: the caller's value.
        what: its name in the error message (``"remote MTA"``).
        tab: allow HTAB (white space in free text, which the writer turns into a space).

    Raises:
        InvalidReportError: ``value`` is not a string, or holds a line break (CR, LF, or
            any other line or paragraph separator), another control character or a lone
            surrogate.
    """
    if not isinstance(value, str):
        raise InvalidReportError(f"the {what} must be a string, got {value!r}")
    if value.isprintable():  # the common case, one pass in C
        return value
    for ch in value:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES and not (tab and ch == "\t"):
            raise InvalidReportError(
                f"the {what} {value[:60]!r} contains a line break or a control character "
                f"({ch!r}); a report field must stay on one line"
            )
    return value


def host_name(name: str) -> str:
    """Check a reporting MTA name and return its ASCII form (IDNA for a non-ASCII name).

    Raises:
        InvalidReportError: ``name`` has a line break or control character (as
            :func:`check_text` says), or is not a host name or address literal.
    """
    check_text(name, "reporting MTA name")
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


def is_fqdn(name: str) -> bool:
    """True for a fully qualified domain name: two or more labels, the last one not all
    digits (so not an IPv4 address), no address literal; a trailing root dot is allowed.

    RFC 3461 section 6.3(b): the Reporting-MTA has type ``dns`` only for such a name
    (``mx.example.com``); a bare host name (``vm``, ``localhost``) takes another
    MTA-name-type, ``x-local-hostname``.
    """
    labels = name.rstrip(".").split(".")
    return (
        len(labels) >= 2
        and not labels[-1].isdigit()
        and _HOST.fullmatch(name) is not None
        and not name.startswith("[")
    )


# Characters that would let one "address" read as several in the To field (RFC 5322
# specials and space) outside a quoted local part, and in the domain.
_NOT_IN_LOCAL: Final = frozenset(' ,;<>()[]:\\"')
_NOT_IN_DOMAIN: Final = frozenset(' ,;<>()"\\')


def check_sender(sender: str, smtputf8: bool = True) -> str:
    """The envelope sender without angle brackets, checked for use in a To field.

    Raises:
        InvalidReportError: it is not a string, is empty, holds line breaks or control
            characters (see :func:`check_text`), has white space at its ends, is longer
            than 900 octets, or (without ``smtputf8``) is not ASCII.
    """
    check_text(sender, "envelope sender")
    address = sender[1:-1] if sender.startswith("<") and sender.endswith(">") else sender
    if not address.strip() or address != address.strip():
        raise InvalidReportError(
            f"the envelope sender {sender[:60]!r} is empty or has white space at its ends"
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
