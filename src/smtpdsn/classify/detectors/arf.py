"""ARF feedback reports (RFC 5965 message/feedback-report; RFC 6591 for auth-failure).

Each recipient is an ``Original-Rcpt-To`` or ``Removal-Recipient`` of the report, or, when
the report names none, the ``To`` of the returned message.
"""

from __future__ import annotations

import re
from typing import Final

from ...mime import Entity
from ..message import MailView, part_text
from ..model import Reason
from ..text import clean_address, find_addresses, one_line
from .base import Candidate

__all__ = ["detect"]

_FIELD: Final = re.compile(
    r"^(Feedback-Type|Original-Rcpt-To|Removal-Recipient|Arrival-Date|Received-Date)"
    r":[ \t]*(.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_SCAN: Final = 20000
# Plain-text complaint notices without the MIME structure (some providers' forwards).
_TEXT_SIGNS: Final = re.compile(
    r"^feedback-type:[ \t]*\S+|this is an? (?:e-?mail )?(?:abuse|opt-out|complaint) report",
    re.IGNORECASE | re.MULTILINE,
)


_TEXT_SIGNS_LOWER: Final = re.compile(_TEXT_SIGNS.pattern, re.MULTILINE)


def _text_signs(view: MailView) -> bool:
    """True when the first :data:`_SCAN` characters of the body carry a complaint sign."""
    lowered = view.body_lower
    if lowered is None:  # not ASCII: lower the start only, search the text (any case)
        text = view.body_text[:_SCAN]
        lowered = text.lower()
        if "feedback-type" not in lowered and " report" not in lowered:
            return False
        return _TEXT_SIGNS.search(text) is not None
    # ASCII: the lowered body keeps positions, and the lower-case pattern on it finds
    # what the IGNORECASE one finds on the text. The pre-check: the field sign needs
    # "feedback-type:", the sentence "this is a" and " report".
    lowered = lowered[:_SCAN]
    if "feedback-type:" not in lowered and (
        "this is a" not in lowered or " report" not in lowered
    ):
        return False
    return _TEXT_SIGNS_LOWER.search(lowered) is not None


def _fields(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in _FIELD.finditer(text):
        out.setdefault(m[1].lower(), []).append(m[2].strip())
    return out


def _returned_to(view: MailView) -> list[str]:
    msg: Entity | None = view.returned or view.inline_original
    if msg is None:
        return []
    to = msg.get("To")
    return [a for a in find_addresses(str(to))] if to is not None else []


def _hotmail(view: MailView) -> list[Candidate] | None:
    """Microsoft's JMRP complaints ("complaint about message from <ip>"): the original
    message, with X-HmXmrOriginalRecipient naming the recipient who complained."""
    if "complaint" not in view.subject.lower():
        return None
    returned = view.returned
    if returned is None:
        return None
    value = returned.get("X-HmXmrOriginalRecipient")
    if value is None:
        return None
    rcpts = find_addresses(str(value))
    return [
        Candidate(recipient=r, reason=Reason.FEEDBACK, feedback_type="abuse",
                  diagnostic=one_line(view.subject))
        for r in rcpts
    ] or None


def detect(view: MailView) -> list[Candidate] | None:
    """One candidate per reported recipient of a feedback report."""
    parts = view.parts_of_type("message/feedback-report")
    hotmail = _hotmail(view)
    if hotmail is not None:
        return hotmail
    if parts:
        text = "\n".join(part_text(p) for p in parts)
    elif _text_signs(view):
        text = view.body_text
    else:
        return None
    fields = _fields(text)
    ftype = (fields.get("feedback-type") or [""])[0].lower()
    rcpts = [clean_address(v) for v in fields.get("original-rcpt-to", [])]
    rcpts += [clean_address(v) for v in fields.get("removal-recipient", [])]
    rcpts = [r for r in dict.fromkeys(rcpts) if r]
    if not rcpts:
        rcpts = _returned_to(view) or [""]
    human = one_line(view.notice)[:300]
    return [
        Candidate(recipient=r, reason=Reason.FEEDBACK, feedback_type=ftype, diagnostic=human)
        for r in rcpts
    ]
