"""Test mail-sending code against a server that fails on purpose.

:class:`SMTPTestServer` runs smtpdsn's SMTP server on its own thread, with rules that
refuse, defer or bounce chosen addresses the way real servers do (enhanced status codes,
RFC 3463; DSNs, RFC 3464), and records what it received. The pytest plugin
(:mod:`smtpdsn.testing.plugin`) gives it as the ``smtpdsn_server`` and
``smtpdsn_server_session`` fixtures; :func:`assert_refused` and friends check the enhanced
status an smtplib or aiosmtplib client received. See docs/testing.md.

Standard library only (the plugin module alone imports pytest).
"""

from __future__ import annotations

from .asserts import (
    ReceivedReply,
    assert_accepted,
    assert_refused,
    enhanced_status_of,
    replies_of,
)
from .server import (
    DEFAULT_MAX_MESSAGES,
    DEFAULT_MAX_TRANSCRIPT,
    Bounce,
    ReceivedEnvelope,
    ReceivedMessage,
    SMTPTestServer,
    TranscriptEntry,
)

__all__ = [
    "DEFAULT_MAX_MESSAGES",
    "DEFAULT_MAX_TRANSCRIPT",
    "Bounce",
    "ReceivedEnvelope",
    "ReceivedMessage",
    "ReceivedReply",
    "SMTPTestServer",
    "TranscriptEntry",
    "assert_accepted",
    "assert_refused",
    "enhanced_status_of",
    "replies_of",
]
