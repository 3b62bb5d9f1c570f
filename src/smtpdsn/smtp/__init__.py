"""The SMTP server protocol without I/O (RFC 5321 and its extensions), as h11 is for HTTP.

A :class:`ServerConnection` is fed the client's bytes and gives back events; the
transport (``smtpdsn.server``) answers the events that need a decision and sends the
bytes the connection hands it. See :mod:`smtpdsn.smtp.connection`.
"""

from __future__ import annotations

from .address import AddressError, Path, parse_path, split_path
from .connection import (
    DEFAULT_MAX_ERRORS,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_MAX_RECIPIENTS,
    ServerConnection,
    State,
)
from .errors import LocalProtocolError
from .events import (
    Answered,
    AuthRequest,
    Connect,
    ConnectionClosed,
    DataCommand,
    Ehlo,
    Event,
    Helo,
    MailFrom,
    MessageReceived,
    Notice,
    Quit,
    RcptTo,
    Request,
    StartTLSRequest,
)

# Everything in __all__ is the public API of smtpdsn.smtp.
__all__ = [
    "DEFAULT_MAX_ERRORS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_RECIPIENTS",
    "AddressError",
    "Answered",
    "AuthRequest",
    "Connect",
    "ConnectionClosed",
    "DataCommand",
    "Ehlo",
    "Event",
    "Helo",
    "LocalProtocolError",
    "MailFrom",
    "MessageReceived",
    "Notice",
    "Path",
    "Quit",
    "RcptTo",
    "Request",
    "ServerConnection",
    "StartTLSRequest",
    "State",
    "parse_path",
    "split_path",
]
