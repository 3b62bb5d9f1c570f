"""RFC 3834 automatic responses (out-of-office and other auto-replies).

The recipient is the person who is away: the ``From`` of the auto-reply.
"""

from __future__ import annotations

import re
from typing import Final

from ..message import MailView
from ..model import Reason
from ..reasons import reason_from_text
from ..text import clean_address, one_line
from . import text
from .base import Candidate

__all__ = ["detect"]

_SUBJECT: Final = re.compile(
    r"^(?:auto(?:matic)?[ -]?(?:reply|response|respons|antwort|r[ée]ponse)|"
    r"out of (?:the )?office|away from|on vacation|abwesenheit|absence|autoreply|"
    r"r[ée]ponse automatique|automatische antwort|vacation)",
    re.IGNORECASE,
)
# Reasons an auto-reply can carry instead of "vacation" (the account itself is gone).
_ACCOUNT_REASONS: Final = frozenset({Reason.SUSPEND, Reason.USERUNKNOWN, Reason.HASMOVED})


def detect(view: MailView) -> list[Candidate] | None:
    """A single candidate for an auto-reply, None for anything else."""
    auto = view.header("Auto-Submitted").lower()
    is_auto = auto.startswith("auto-replied")
    if not is_auto:
        is_auto = bool(
            view.header("X-Autoreply") or view.header("X-Autorespond")
        ) or bool(_SUBJECT.match(view.subject.strip()))
    if not is_auto or text.is_bounce_notice(view):
        return None
    sender = clean_address(view.from_)
    if not sender or "mailer-daemon" in sender.lower():
        return None
    said = one_line(view.notice)[:400]
    reason = reason_from_text(said)
    if reason not in _ACCOUNT_REASONS:
        reason = Reason.VACATION
    return [Candidate(recipient=sender, reason=reason, diagnostic=said)]
