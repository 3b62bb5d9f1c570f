"""Errors of the protocol core.

The client's mistakes never raise: they are answered (a 5xx reply) and reported as
:class:`~smtpdsn.smtp.events.Answered` events. Only the transport's misuse of the core
raises, as :class:`LocalProtocolError`: a reply when none is due, a reply that cannot
answer the request, data after the end of the stream.
"""

from __future__ import annotations

__all__ = ["LocalProtocolError"]


class LocalProtocolError(RuntimeError):
    """The transport used the connection object in a way the protocol does not allow.

    The connection is left as it was before the call.
    """
