"""Bounce classification: every failed, delayed or delivered recipient of any bounce.

>>> from smtpdsn.classify import classify
>>> result = classify(b"From: MAILER-DAEMON@example.net\\nSubject: failure notice\\n\\n"
...                   b"<kijitora@example.jp>:\\n550 5.1.1 User unknown\\n")
>>> [(b.recipient, str(b.status), b.reason.value, b.hard_bounce) for b in result.recipients]
[('kijitora@example.jp', '5.1.1', 'userunknown', True)]

A message that is no bounce gives an empty result, never an error.
"""

from __future__ import annotations

from .detectors import DETECTORS, Candidate, Detector, DetectorInfo
from .message import MailView, MessageSource, load
from .model import Action, Bounce, ClassifyResult, Reason
from .pipeline import classify_view
from .reasons import reason_from_text

__all__ = [
    "DETECTORS",
    "Action",
    "Bounce",
    "Candidate",
    "ClassifyResult",
    "Detector",
    "DetectorInfo",
    "MessageSource",
    "Reason",
    "classify",
]


def classify(message: MessageSource, /) -> ClassifyResult:
    """Find and classify every recipient a bounce, feedback report or auto-reply reports.

    Args:
        message: the message as bytes, str, a binary or text file object, or an
            :class:`email.message.Message`.

    Returns:
        A :class:`ClassifyResult`: one :class:`Bounce` per recipient (empty when the
        message is not a bounce) and warnings about what could not be read.

    Raises:
        TypeError: ``message`` is none of the accepted types. Nothing else is raised,
            whatever the content.
    """
    reason_from_text.cache_clear()  # the cache only spares repeats within one message
    return classify_view(MailView(*load(message)))
