"""Google Groups: "the group you tried to contact may not exist, or you may not have
permission to post messages to the group", sent by mailer-daemon@googlemail.com in the
poster's language. The recipient is the group; the reason is rejected (the group refused
the sender), whatever the language.
"""

from __future__ import annotations

import re
from typing import Final

from ..message import MailView
from ..model import Action, Reason
from ..text import find_addresses, one_line
from .base import Candidate

__all__ = ["detect"]

_SIGN: Final = re.compile(r"groups\.google\.com|googlegroups\.com", re.IGNORECASE)


def detect(view: MailView) -> list[Candidate] | None:
    """Candidates for a Google Groups posting rejection, None for anything else."""
    if "google" not in view.from_.lower() and "google" not in view.header("Received").lower():
        return None
    failed = find_addresses(view.header("X-Failed-Recipients"))
    notice = view.notice
    if not _SIGN.search(notice) and not any("googlegroups" in a.lower() for a in failed):
        return None
    if not failed:
        returned = view.returned
        to = returned.get("To") if returned is not None else None
        failed = find_addresses(str(to)) if to is not None else []
    if not failed:
        return None
    text = one_line(notice)[:600]
    return [
        Candidate(recipient=a, reason=Reason.REJECTED, diagnostic=text, action=Action.FAILED)
        for a in failed
    ]
