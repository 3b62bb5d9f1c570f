"""Recipients recovered from the envelope when a bounce names none it can be read for.

Bounce processors (Mailman, flufl.bounce, sisimai) fall back on what the mail system
itself recorded when the notice is unreadable:

* a VERP return path (variable envelope return path): the list sent the message from
  ``list-bounces+alice=example.org@lists.example.net``, so the bounce comes back to that
  address (its ``To``, ``Delivered-To``, ``X-Original-To`` or ``Envelope-To``), and the
  part after the ``+`` is the recipient with its ``@`` written as ``=``;
* ``X-Failed-Recipients`` (Exim and others);
* the ``Delivered-To`` and ``X-Original-To`` fields of the returned message (the address
  the final MTA delivered it to, before alias expansion for ``X-Original-To``).
"""

from __future__ import annotations

import re
from typing import Final

from .message import MailView
from .text import find_addresses

__all__ = ["envelope_recipients", "verp_recipient", "verp_recipients"]

# local part "prefix+user=domain" (the domain of the recipient cannot hold "=" or "@").
_VERP: Final = re.compile(r"^[^+@\s]+\+([^@\s]+)=([A-Za-z0-9.-]+\.[A-Za-z]{2,})@[^@\s]+$")
_BOUNCE_HEADERS: Final = ("To", "Delivered-To", "X-Original-To", "Envelope-To")
_RETURNED_HEADERS: Final = ("X-Original-To", "Delivered-To")


def verp_recipient(address: str) -> str:
    """The recipient a VERP address encodes (``list-bounces+alice=example.org@lists.example.net``
    gives ``alice@example.org``), or "" when it is no VERP address."""
    m = _VERP.match(address.strip())
    if m is None:
        return ""
    return f"{m[1]}@{m[2]}"


def verp_recipients(view: MailView) -> list[str]:
    """The recipients the VERP addresses the bounce was delivered to encode."""
    found: dict[str, None] = {}
    for name in _BOUNCE_HEADERS:
        value = view.header(name)
        if "+" not in value or "=" not in value:  # the cheap pre-check: no VERP address
            continue
        for address in find_addresses(value):
            decoded = verp_recipient(address)
            if decoded:
                found.setdefault(decoded)
    return list(found)


def envelope_recipients(view: MailView) -> list[str]:
    """The failed recipients the envelope gives, best evidence first: VERP, then
    X-Failed-Recipients, then the returned message's X-Original-To and Delivered-To."""
    verp = verp_recipients(view)
    if verp:
        return verp
    failed = find_addresses(view.header("X-Failed-Recipients"))
    if failed:
        return failed
    returned = view.returned or view.inline_original
    if returned is not None:
        for name in _RETURNED_HEADERS:
            value = returned.get(name)
            if value:
                found = find_addresses(value)
                if found:
                    return found
    return []
