"""What a detector returns, and the signature every detector has.

A detector is a plain function ``detect(view: MailView) -> list[Candidate] | None``.
It returns None (or an empty list) when the message is not in its format, so the next
detector is tried; otherwise one :class:`Candidate` per recipient, with whatever the
format says (status, diagnostic text, action ...). The pipeline turns candidates into
:class:`~smtpdsn.classify.model.Bounce` values: it finds status codes in the text, picks
the reason from the reason table and decides hard or soft, so detectors stay small.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ...status import EnhancedStatus
from ..message import MailView
from ..model import Action, Reason

__all__ = ["Candidate", "Detector", "DetectorInfo"]


@dataclass(slots=True)
class Candidate:
    """One recipient as a detector read it; every field but ``recipient`` is optional."""

    recipient: str
    #: The address before aliasing or forwarding: the report's Original-Recipient (RFC
    #: 3464 ORCPT), the text's "expanded from", or the envelope's VERP address.
    original_recipient: str = ""
    #: The status the report states (RFC 3464 ``Status:``), if any.
    status: EnhancedStatus | None = None
    #: The diagnostic text: the remote server's reply or the MTA's explanation.
    diagnostic: str = ""
    action: Action | None = None
    #: A reason the format itself states (feedback, vacation, or an MTA's own error name).
    reason: Reason | None = None
    reply_code: int | None = None
    remote_mta: str = ""
    command: str = ""
    timestamp: datetime | None = None
    feedback_type: str = ""
    #: The diagnostic type of an RFC 3464 Diagnostic-Code (smtp, x-unix, x-postfix ...).
    diagnostic_type: str = ""
    #: The comment after the report's Status ("5.2.1 (mailbox disabled, not accepting
    #: messages)"): the reporting MTA's own reading of the status.
    status_comment: str = ""
    #: Text around the recipient (the notice), read for the SMTP command when the
    #: diagnostic does not name it; never shown.
    context: str = ""
    #: True when ``diagnostic`` is the whole notice, not text about this recipient: when
    #: nothing in it is recognised, the reason is ``undefined`` rather than ``onhold``.
    diagnostic_is_notice: bool = False


#: A detector: one function per format or family of similar formats.
Detector = Callable[[MailView], "list[Candidate] | None"]


@dataclass(frozen=True, slots=True)
class DetectorInfo:
    """A registered detector and the name results carry in ``Bounce.detector``."""

    name: str
    detect: Detector
