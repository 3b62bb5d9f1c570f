"""Assert the enhanced status code (RFC 3463) a mail-sending test's client received.

They read what SMTP clients give a program:

* smtplib: :class:`smtplib.SMTPRecipientsRefused` (``.recipients``, one ``(code, message)``
  per refused address), :class:`smtplib.SMTPSenderRefused`, :class:`smtplib.SMTPDataError`
  and every :class:`smtplib.SMTPResponseException` (``.smtp_code``, ``.smtp_error``), and
  the dict ``sendmail`` returns when only some recipients were refused;
* aiosmtplib (read by their attributes, without importing it): exceptions with ``.code``
  and ``.message``, ``SMTPRecipientsRefused.recipients`` (a list of exceptions with
  ``.recipient``), and the ``(errors, message)`` tuple ``send_message`` returns;
* smtpdsn's :class:`~smtpdsn.reply.Reply`, a reply's text (``"550 5.1.1 No such user"``),
  and a ``(code, text)`` pair.

>>> try:                                                             # doctest: +SKIP
...     client.sendmail("me@example.test", ["unknown@example.test"], message)
... except smtplib.SMTPRecipientsRefused as exc:
...     assert_refused(exc, "5.1.1")

The enhanced status is read from the start of the reply text (RFC 2034 section 4), where
servers that support ENHANCEDSTATUSCODES put it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from ..reply import Reply

__all__ = [
    "ReceivedReply",
    "assert_accepted",
    "assert_refused",
    "enhanced_status_of",
    "replies_of",
]

_STATUS: Final = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})(?!\S)")


@dataclass(frozen=True)
class ReceivedReply:
    """One reply a client received: its code, enhanced status (or None) and text, and the
    recipient it is about (None when it is not about one recipient)."""

    code: int
    status: str | None
    text: str
    recipient: str | None = None

    def __str__(self) -> str:
        words = [str(self.code), *([self.status] if self.status else []), self.text]
        about = f" for <{self.recipient}>" if self.recipient is not None else ""
        return " ".join(w for w in words if w) + about


def _text(message: object) -> str:
    if isinstance(message, bytes | bytearray):
        return bytes(message).decode("utf-8", "replace")
    return str(message)


def _make(code: int, message: object, recipient: str | None) -> ReceivedReply:
    if isinstance(message, Reply):
        status = None if message.status is None else str(message.status)
        return ReceivedReply(message.code, status, "\n".join(message.lines), recipient)
    text = _text(message)
    m = _STATUS.match(text)
    status = f"{m[1]}.{int(m[2])}.{int(m[3])}" if m else None
    rest = text[m.end() :].strip() if m else text.strip()
    return ReceivedReply(code, status, rest, recipient)


def _pair(value: object, recipient: str | None) -> ReceivedReply | None:
    """A reply from a ``(code, message)`` pair or an object with code and message."""
    if isinstance(value, Reply):
        return _make(value.code, value, recipient)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int):
        return _make(value[0], value[1], recipient)
    code = getattr(value, "smtp_code", None)
    if isinstance(code, int):  # smtplib.SMTPResponseException
        return _make(code, getattr(value, "smtp_error", b""), recipient)
    code = getattr(value, "code", None)
    if isinstance(code, int):  # aiosmtplib's exceptions and SMTPResponse
        about = getattr(value, "recipient", None)
        about = about if isinstance(about, str) else recipient
        return _make(code, getattr(value, "message", ""), about)
    return None


def replies_of(received: object) -> list[ReceivedReply]:
    """Every reply that ``received`` carries: one per recipient for a recipients-refused
    error or a ``sendmail`` result, else one.

    Raises:
        TypeError: ``received`` is nothing this module can read; the message names its
            type.
    """
    if isinstance(received, str) and not isinstance(received, Reply):
        m = re.match(r"\s*(\d{3})[ -]?(.*)", received, re.DOTALL)
        if m is None:
            raise TypeError(f"{received!r} is not an SMTP reply such as '550 5.1.1 No such user'")
        return [_make(int(m[1]), m[2], None)]
    recipients = getattr(received, "recipients", None)
    if isinstance(recipients, Mapping):  # smtplib.SMTPRecipientsRefused
        return _mapping(recipients)
    if isinstance(recipients, list) and not isinstance(received, Mapping):
        # aiosmtplib.SMTPRecipientsRefused: a list of SMTPRecipientRefused
        found = [_pair(r, None) for r in recipients]
        return [r for r in found if r is not None]
    if isinstance(received, Mapping):  # smtplib sendmail's / aiosmtplib's refused recipients
        return _mapping(received)
    if (
        isinstance(received, tuple)
        and len(received) == 2
        and isinstance(received[0], Mapping)
        and isinstance(received[1], str)
    ):  # aiosmtplib send_message's (errors, message)
        return _mapping(received[0])
    found_one = _pair(received, None)
    if found_one is None:
        raise TypeError(
            f"cannot read an SMTP reply from {type(received).__name__} {received!r}; expected "
            "an smtplib or aiosmtplib exception, a sendmail result, a Reply or a reply text"
        )
    return [found_one]


def _mapping(recipients: Mapping[object, object]) -> list[ReceivedReply]:
    out = []
    for address, value in recipients.items():
        reply = _pair(value, str(address))
        if reply is None:
            raise TypeError(f"cannot read the reply for {address!r} from {value!r}")
        out.append(reply)
    return out


def _select(received: object, recipient: str | None) -> list[ReceivedReply]:
    replies = replies_of(received)
    if recipient is None:
        return replies
    chosen = [
        r for r in replies if r.recipient is not None and r.recipient.lower() == recipient.lower()
    ]
    return chosen


def _listing(replies: list[ReceivedReply]) -> str:
    return "; ".join(str(r) for r in replies) if replies else "no reply"


def enhanced_status_of(received: object, recipient: str | None = None) -> str | None:
    """The enhanced status (``"5.1.1"``) of the reply ``received`` carries (for
    ``recipient`` when it carries one per recipient), or None when the reply has none.

    Raises:
        TypeError: ``received`` is nothing this module can read.
        AssertionError: ``recipient`` is not among its replies, or it carries several
            replies and no recipient was named.
    """
    replies = _select(received, recipient)
    if not replies:
        raise AssertionError(f"no reply for <{recipient}> in {_listing(replies_of(received))}")
    if len(replies) > 1:
        raise AssertionError(
            f"{len(replies)} replies ({_listing(replies)}); name one with recipient="
        )
    return replies[0].status


def assert_refused(
    received: object,
    status: str,
    recipient: str | None = None,
    *,
    code: int | None = None,
) -> None:
    """Assert that the client was refused with the enhanced status ``status``.

    Args:
        received: what the client raised or returned (see the module docstring).
        status: the expected enhanced status, ``"5.1.1"``; a class and subject alone
            (``"5.1"``) or a class alone (``"4"``) match every detail.
        recipient: check the reply to this recipient only; without it, every reply
            ``received`` carries must match.
        code: also expect this reply code (``550``).

    Raises:
        AssertionError: the client was not refused so, naming what it received.
    """
    want = status.split(".")
    if not (1 <= len(want) <= 3 and want[0] in ("4", "5") and all(w.isdigit() for w in want)):
        raise ValueError(f"expected a refusing status such as '5.1.1' or '4.2'; got {status!r}")
    replies = _select(received, recipient)
    if not replies:
        raise AssertionError(
            f"expected <{recipient}> to be refused with {status}, but it got no refusal; "
            f"received: {_listing(replies_of(received))}"
        )
    for reply in replies:
        got = (reply.status or "").split(".")
        problems = []
        if reply.code < 400:
            problems.append("it was not refused")
        if got[: len(want)] != want:
            problems.append(
                f"its enhanced status is {reply.status}"
                if reply.status
                else "it has no enhanced status"
            )
        if code is not None and reply.code != code:
            problems.append(f"its code is {reply.code}, not {code}")
        if problems:
            about = f" <{reply.recipient}>" if reply.recipient else ""
            raise AssertionError(
                f"expected{about} refused with {status}{f' ({code})' if code else ''}, but "
                f"{' and '.join(problems)}: received {reply}"
            )


def assert_accepted(received: object, recipient: str | None = None) -> None:
    """Assert that nothing (or ``recipient``) was refused: ``received`` is a ``sendmail`` /
    ``send_message`` result or a reply, not a refusal.

    Raises:
        AssertionError: a refusal was received; the message names it.
    """
    if (
        isinstance(received, BaseException)
        and _pair(received, None) is None
        and not hasattr(received, "recipients")
    ):
        raise AssertionError(f"expected acceptance, but the client raised {received!r}")
    replies = _select(received, recipient)
    refused = [r for r in replies if r.code >= 400]
    if refused:
        raise AssertionError(f"expected acceptance, but received {_listing(refused)}")
