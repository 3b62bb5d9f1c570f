"""Failures named in the address: ``anything+550-5.1.1@example.test`` is refused with
``550 5.1.1``, for tests that need a failure without writing a rules file.

The tag is the part of the local part after its last ``+`` (so ``a+b+550-5.1.1@x`` works).
Keywords are case-insensitive. The forms:

=====================  ==============================================================
tag                    what the client gets
=====================  ==============================================================
``+CODE-STATUS``       refused with that reply code and RFC 3463 status and the
                       registry's text (``+550-5.1.1``: ``550 5.1.1 Bad destination
                       mailbox address``); 5xx is DENY, 4xx DENYSOFT, 421
                       DENYSOFTDISCONNECT (the connection is closed)
``+bounce-STATUS``     accepted (``250 2.1.5``), then a DSN (Action: failed) reporting
                       the status with its class's default code (550 for 5.x.x, 450
                       for 4.x.x) is stored next to the message
``+delay-STATUS``      accepted, then a delayed DSN (Action: delayed, Will-Retry-Until
                       five days after arrival) reporting the 4.x.x status with 450
``+disconnect``        ``421 4.7.0`` and the connection is closed
=====================  ==============================================================

A tag that has one of these shapes but does not make sense (a code and a status of
different classes, a code or status that is not valid, a success code, a 5.x.x status to
``delay``) is answered ``501 5.5.4`` naming the tag and the problem. Any other tag
(``alice+newsletter@``, ``bob+2024-01@``) is not ours and is ignored.

:class:`AddressRulesPlugin` reads the tags of RCPT addresses and, for the refusing forms
(``+CODE-STATUS``, ``+disconnect``), of the MAIL sender too, so a test can make the sender
refused; ``+bounce-`` and ``+delay-`` in a sender are ignored (a DSN is about a
recipient). ``smtpdsn serve`` asks it after the rules, so a rule that matches decides
first; ``--no-address-rules`` turns it off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..errors import DSNError
from ..reply import Reply, check_code
from ..status import EnhancedStatus
from ..verdict import DENY, DENYSOFT, DENYSOFTDISCONNECT, OK, Resolution, resolve
from .bounce import Then

__all__ = [
    "DISCONNECT_REPLY",
    "AddressRulesPlugin",
    "FailureTag",
    "FailureTagError",
    "parse_failure_tag",
]

#: What ``+disconnect`` answers before closing the connection (RFC 5321 section 3.8).
DISCONNECT_REPLY: Final = Reply(421, "4.7.0", "Service not available, closing connection")
#: What the client is told at RCPT for ``+bounce-`` and ``+delay-``: it is accepted.
_RECIPIENT_OK: Final = Reply(250, "2.1.5", "Recipient OK")
#: The code a DSN reports with a status of each class.
_CLASS_CODE: Final = {4: 450, 5: 550}

# The shapes that are ours; whether their values make sense is checked afterwards.
_CODE_TAG: Final = re.compile(r"([0-9]+)-([0-9]*\.[0-9.]*)")
_THEN_TAG: Final = re.compile(r"(bounce|delay)-([0-9.]+)", re.IGNORECASE)


def _short(text: str, limit: int = 24) -> str:
    """``text``, cut to ``limit`` characters with ``...`` (a reply names what it refuses,
    but a long address must not make a long reply)."""
    return text if len(text) <= limit else text[: limit - 4] + "..."


class FailureTagError(DSNError):
    """A tag in the shape of a failure tag whose values do not make sense.

    The message names the tag and the problem; :attr:`reply` is the ``501 5.5.4`` the
    server answers with it.
    """

    def __init__(self, tag: str, problem: str) -> None:
        self.tag = tag
        self.problem = problem
        super().__init__(f"Address failure tag {_short(tag, 64)!r}: {problem}")

    @property
    def reply(self) -> Reply:
        """``501 5.5.4`` with this error's message (RFC 3463: invalid command arguments)."""
        return Reply(501, "5.5.4", str(self))


@dataclass(frozen=True, slots=True)
class FailureTag:
    """What an address's ``+`` tag asks for.

    Attributes:
        action: ``"refuse"`` (``+CODE-STATUS``), ``"bounce"``, ``"delay"`` or
            ``"disconnect"``.
        reply: for ``refuse`` and ``disconnect``, what the client is told; for
            ``bounce`` and ``delay``, what the DSN reports.
    """

    action: Literal["refuse", "bounce", "delay", "disconnect"]
    reply: Reply


def _status(tag: str, text: str) -> EnhancedStatus:
    try:
        return EnhancedStatus.parse(text)
    except ValueError:
        raise FailureTagError(
            tag,
            f"{_short(text)!r} is not an enhanced status code such as 5.1.1 (RFC 3463 section 2)",
        ) from None


def _tag_of(local_part: str) -> str | None:
    if len(local_part) >= 2 and local_part.startswith('"') and local_part.endswith('"'):
        local_part = local_part[1:-1]
    _, plus, tag = local_part.rpartition("+")
    return tag if plus else None


def parse_failure_tag(local_part: str) -> FailureTag | None:
    """The failure the local part's last ``+`` tag names, or None when it names none.

    ``local_part`` is the part of an address before its last ``@`` (a quoted local part
    may keep its quotes). See the module for the forms.

    >>> parse_failure_tag("alice+550-5.1.1")
    FailureTag(action='refuse', reply=Reply(550, '5.1.1', 'Bad destination mailbox address'))
    >>> parse_failure_tag("alice+newsletter") is None
    True

    Raises:
        FailureTagError: the tag has the shape of a failure tag but its code or status is
            not valid, they disagree in class, or the status does not fit the keyword.
    """
    tag = _tag_of(local_part)
    if tag is None:
        return None
    if tag.lower() == "disconnect":
        return FailureTag("disconnect", DISCONNECT_REPLY)
    if match := _CODE_TAG.fullmatch(tag):
        code_text, status_text = match.groups()
        try:
            code = check_code(int(code_text) if len(code_text) == 3 else 0)
        except DSNError:
            raise FailureTagError(
                tag,
                f"reply code {_short(code_text)} is not valid (a 4xx or 5xx code whose second "
                "digit is 0-5, RFC 5321 section 4.2)",
            ) from None
        status = _status(tag, status_text)
        if code < 400:
            raise FailureTagError(tag, f"reply code {code} is not a failure (use 4xx or 5xx)")
        if status.class_ != code // 100:
            raise FailureTagError(tag, f"reply code {code} and status {status} disagree in class")
        return FailureTag("refuse", Reply(code, status, ""))
    if match := _THEN_TAG.fullmatch(tag):
        keyword, status_text = match.group(1).lower(), match.group(2)
        status = _status(tag, status_text)
        if keyword == "delay":
            if status.class_ != 4:
                raise FailureTagError(
                    tag, f"a delay reports a transient status (4.x.x); got {status}"
                )
            return FailureTag("delay", Reply(450, status, ""))
        if status.class_ == 2:
            raise FailureTagError(
                tag, f"a bounce reports a failure status (5.x.x or 4.x.x); got {status}"
            )
        return FailureTag("bounce", Reply(_CLASS_CODE[status.class_], status, ""))
    return None


def _local_part(address: str) -> str:
    return address.rpartition("@")[0] if "@" in address else address


class AddressRulesPlugin:
    """A plugin that answers MAIL and RCPT from the address's ``+`` tag (else CONT).

    ``smtpdsn serve`` puts it after the rules plugin, so it is asked only when no rule
    matched. Its hooks are quick and never block (``inline``).
    """

    name = "address-rules"
    inline = True

    def _answer(self, address: str, stage: str, envelope: Any) -> Resolution | None:
        try:
            tag = parse_failure_tag(_local_part(address))
        except FailureTagError as exc:
            return resolve(DENY, exc.reply)
        if tag is None:
            return None
        if tag.action == "disconnect":
            return resolve(DENYSOFTDISCONNECT, tag.reply)
        if tag.action == "refuse":
            reply = tag.reply
            if reply.code == 421:
                return resolve(DENYSOFTDISCONNECT, reply)
            return resolve(DENYSOFT if reply.is_transient else DENY, reply)
        if stage != "rcpt":
            return None  # bounce/delay name a recipient's fate, not a sender's
        marks = getattr(envelope, "dsn_then", None)
        if isinstance(marks, dict):
            marks[address] = Then("bounce" if tag.action == "bounce" else "delay", tag.reply)
        return resolve(OK, _RECIPIENT_OK)

    def hook_mail(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        """The sender's tag: ``+CODE-STATUS`` and ``+disconnect`` refuse it."""
        return self._answer(address, "mail", envelope)

    def hook_rcpt(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        """The recipient's tag: refuse, disconnect, or accept and mark it for a DSN."""
        return self._answer(address, "rcpt", envelope)
