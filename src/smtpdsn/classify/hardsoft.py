"""Hard or soft: should a mailing list stop sending to this address?

A hard bounce means the address itself is bad: it does not exist (userunknown), its
domain does not exist (hostunknown), it has moved (hasmoved), or its domain accepts no
mail at all, permanently (notaccept with a 5xx status). Everything else is soft: the
mailbox is full, the sender was blocked, the message was refused for its content or the
network failed; the address may work tomorrow. This is the rule sisimai uses.
"""

from __future__ import annotations

from typing import Final

from ..status import EnhancedStatus
from .model import Reason

__all__ = ["HARD_REASONS", "is_hard_bounce"]

#: Reasons that mean the address is bad whatever the status class.
HARD_REASONS: Final = frozenset({Reason.USERUNKNOWN, Reason.HOSTUNKNOWN, Reason.HASMOVED})


def is_hard_bounce(
    reason: Reason, status: EnhancedStatus | None, reply_code: int | None
) -> bool | None:
    """True for a hard bounce, False for a soft one, None when it is no failure at all."""
    if not reason.is_bounce:
        return None
    if reason in HARD_REASONS:
        return True
    if reason is Reason.NOTACCEPT:
        if status is not None:
            return status.is_permanent
        return reply_code is None or reply_code >= 500
    return False
