"""Plugin verdicts, as in Haraka, and the one function that turns a verdict into a reply.

A plugin hook answers with a :class:`Verdict` and, optionally, a reply (from a factory),
a text (a string or a list of lines) or nothing. :func:`resolve` decides what the server
sends and whether it then closes the connection. It is pure: no I/O, no state.

The rule: **the verdict decides, the reply only words it.** The class of the reply sent
always agrees with the verdict:

=====================  ==============  ===========================================  =======
verdict                the server      reply when the plugin gives none / only text  closes
=====================  ==============  ===========================================  =======
OK                     accepts         ``250 2.0.0 OK``                              no
CONT                   asks the next   (nothing: the next plugin or the default)     no
DENY                   refuses         ``550 5.0.0 Rejected``                        no
DENYSOFT               refuses for now ``450 4.0.0 Temporarily rejected ...``        no
DENYDISCONNECT         refuses         ``550 5.0.0 Rejected, closing connection``    yes
DENYSOFTDISCONNECT     refuses for now ``421 4.0.0 Try again later, closing ...``    yes
DISCONNECT             hangs up        ``421 4.0.0 Closing connection``              yes
=====================  ==============  ===========================================  =======

When the plugin's reply is of the verdict's class it is sent as it is (DENY with a 554
reply sends 554). When it contradicts the verdict:

* between a permanent and a transient refusal, only the class changes: ``DENYSOFT,
  no_such_user()`` sends ``450 4.1.1 No such user`` (the subject, detail and text are
  kept; the code becomes the same code of the other class when RFC 5321 defines it,
  else 450 or 550);
* between accepting and refusing, the plugin's reply is replaced by the verdict's default
  reply, because its text would describe the opposite of what the server does.

Either way :attr:`Resolution.adjusted` says what was changed, for the server's log.

Closing the connection: RFC 5321 section 3.8 lets a server close on its own only after a
421, so a transient reply that closes (DENYSOFTDISCONNECT, or DISCONNECT with a 4xx reply) is
always sent as 421, keeping the plugin's status subject, detail and text. DENYDISCONNECT
sends its 5xx and closes, as Haraka does. DISCONNECT sends a plugin's 221 or 5xx reply as it
is; any other reply becomes the default 421.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from .errors import InvalidReplyError
from .reply import Reply

__all__ = [
    "CONT",
    "DENY",
    "DENYDISCONNECT",
    "DENYSOFT",
    "DENYSOFTDISCONNECT",
    "DISCONNECT",
    "OK",
    "Resolution",
    "Verdict",
    "resolve",
]


class Verdict(enum.Enum):
    """What a plugin decided (Haraka's return constants)."""

    #: Accept: the command succeeds.
    OK = "OK"
    #: No opinion: ask the next plugin, or fall back to the server's default.
    CONT = "CONT"
    #: Refuse permanently (5xx).
    DENY = "DENY"
    #: Refuse for now; the client may retry (4xx).
    DENYSOFT = "DENYSOFT"
    #: Refuse permanently, then close the connection.
    DENYDISCONNECT = "DENYDISCONNECT"
    #: Refuse for now, then close the connection.
    DENYSOFTDISCONNECT = "DENYSOFTDISCONNECT"
    #: Close the connection (with a 421 unless the plugin gives a closing reply).
    DISCONNECT = "DISCONNECT"

    @property
    def disconnects(self) -> bool:
        """True when the server closes the connection after replying."""
        return self in _CLOSING

    @property
    def reply_class(self) -> int | None:
        """The class digit of the reply this verdict sends (None for CONT and DISCONNECT)."""
        return _CLASS.get(self)

    def __repr__(self) -> str:
        return self.value


OK: Final = Verdict.OK
CONT: Final = Verdict.CONT
DENY: Final = Verdict.DENY
DENYSOFT: Final = Verdict.DENYSOFT
DENYDISCONNECT: Final = Verdict.DENYDISCONNECT
DENYSOFTDISCONNECT: Final = Verdict.DENYSOFTDISCONNECT
DISCONNECT: Final = Verdict.DISCONNECT

_CLOSING: Final = frozenset({DENYDISCONNECT, DENYSOFTDISCONNECT, DISCONNECT})
_CLASS: Final = {OK: 2, DENY: 5, DENYDISCONNECT: 5, DENYSOFT: 4, DENYSOFTDISCONNECT: 4}
_DEFAULTS: Final = {
    OK: Reply(250, "2.0.0", "OK"),
    DENY: Reply(550, "5.0.0", "Rejected"),
    DENYSOFT: Reply(450, "4.0.0", "Temporarily rejected, try again later"),
    DENYDISCONNECT: Reply(550, "5.0.0", "Rejected, closing connection"),
    DENYSOFTDISCONNECT: Reply(421, "4.0.0", "Try again later, closing connection"),
    DISCONNECT: Reply(421, "4.0.0", "Closing connection"),
}
# Codes that exist in both classes with the same meaning in RFC 5321 (454 is left out: it
# means "TLS not available" or "temporary authentication failure", not "try later").
_TRANSIENT_CODES: Final = frozenset({421, 450, 451, 452, 455})
_PERMANENT_CODES: Final = frozenset({500, 501, 502, 503, 504, 550, 552, 553, 554, 555})


@dataclass(frozen=True, slots=True)
class Resolution:
    """What the server does with a plugin's answer."""

    verdict: Verdict
    #: The reply to send; None only for CONT.
    reply: Reply | None
    #: Close the connection after sending the reply.
    disconnect: bool
    #: None when the plugin's reply was sent as given; else what was changed and why.
    adjusted: str | None = None

    @property
    def accepted(self) -> bool:
        """True when the command succeeds (OK)."""
        return self.verdict is OK


def _other_class(reply: Reply, class_: int) -> Reply:
    swapped = class_ * 100 + reply.code % 100
    codes = _TRANSIENT_CODES if class_ == 4 else _PERMANENT_CODES
    return reply.with_code(swapped if swapped in codes else class_ * 100 + 50)


def resolve(verdict: Verdict, answer: Reply | str | Sequence[str] | None = None) -> Resolution:
    """Turn a plugin's verdict and optional reply or text into what the server sends.

    Args:
        verdict: the plugin's :class:`Verdict`.
        answer: a :class:`Reply` (e.g. ``no_such_user()``), a text or list of lines to send
            with the verdict's default code and status, or None for the default reply.

    Returns:
        A :class:`Resolution`. Its reply always agrees with the verdict (see the module).

    Raises:
        InvalidReplyError: ``verdict`` is not a Verdict, or ``answer`` is not a reply, a
            string or a list of strings.
    """
    if not isinstance(verdict, Verdict):
        raise InvalidReplyError(f"not a verdict: {verdict!r}; use smtpdsn.OK, smtpdsn.DENY ...")
    if verdict is CONT:
        return Resolution(verdict, None, False)
    default = _DEFAULTS[verdict]
    closes = verdict in _CLOSING
    if answer is None:
        return Resolution(verdict, default, closes)
    if not isinstance(answer, Reply):
        return Resolution(verdict, Reply(default.code, default.status, answer), closes)
    want = _CLASS.get(verdict)
    if want is None:  # DISCONNECT
        if answer.code == 221 or answer.is_permanent:
            return Resolution(verdict, answer, True)
        if answer.is_transient:
            return _closing(verdict, answer, answer)
        return Resolution(
            verdict,
            default,
            True,
            f"{verdict.value} cannot send {answer.code}; sent {default.code} instead",
        )
    have = answer.code // 100
    if want == 2 and answer.code == 221:
        have = 0  # 221 closes the connection: it contradicts an accepting verdict
    if have == want:
        if closes and want == 4:
            return _closing(verdict, answer, answer)
        return Resolution(verdict, answer, closes)
    if want != 2 and have in (4, 5):
        sent = _other_class(answer, want)
        if closes and want == 4:
            return _closing(verdict, answer, sent)
        return Resolution(
            verdict,
            sent,
            closes,
            f"{verdict.value} with a {answer.code} reply: sent {sent.code} to agree with the "
            "verdict",
        )
    return Resolution(
        verdict,
        default,
        closes,
        f"{verdict.value} with a {answer.code} reply contradicts the verdict; sent the "
        f"default {default.code} reply instead",
    )


def _closing(verdict: Verdict, answer: Reply, transient: Reply) -> Resolution:
    """A transient reply that closes the connection goes out as 421 (RFC 5321 section 3.8)."""
    if transient.code == 421 and transient is answer:
        return Resolution(verdict, answer, True)
    sent = transient.with_code(421)
    return Resolution(
        verdict,
        sent,
        True,
        f"{verdict.value} with a {answer.code} reply: sent 421, the code for closing the "
        "connection",
    )
