"""What the parts of the protocol core share: its limits, its states, and the base class
whose attributes and helpers the command groups (:mod:`.transaction`, :mod:`.message`,
:mod:`.auth`) use. :class:`~smtpdsn.smtp.connection.ServerConnection` puts them together.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from ..reply import Reply

if TYPE_CHECKING:
    from .events import Answered, Event, MailFrom

__all__ = [
    "AUTH_LINE",
    "BASE_COMMAND_LINE",
    "DEFAULT_MAX_ERRORS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_RECIPIENTS",
    "MAIL_EXTRA",
    "RCPT_EXTRA",
    "TEXT_LINE",
    "ConnectionBase",
    "State",
    "printable",
]

#: RFC 5321 section 4.5.3.1.4: a command line, CRLF included.
BASE_COMMAND_LINE: Final = 512
#: RFC 5321 section 4.5.3.1.6: a line of message text, CRLF included.
TEXT_LINE: Final = 1000
#: What MAIL may add (RFC 1870 SIZE 26, RFC 6152 BODY 15, RFC 6531 SMTPUTF8 9, RFC 3461
#: RET 9 and ENVID 106, RFC 4954 AUTH= 500; rounded up).
MAIL_EXTRA: Final = 700
#: What RCPT may add: RFC 3461 section 5.4 (NOTIFY and a 500-character ORCPT: 1,036 in all).
RCPT_EXTRA: Final = 524 + 64
#: RFC 4954 section 4: an AUTH command or SASL response line may be 12,288 octets.
AUTH_LINE: Final = 12288
DEFAULT_MAX_MESSAGE_SIZE: Final = 10 * 1024 * 1024
#: RFC 5321 section 4.5.3.1.8 asks for at least 100.
DEFAULT_MAX_RECIPIENTS: Final = 1000
#: Refused commands (syntax errors, unknown commands, commands out of order) before
#: ``421 4.7.0`` and a close; Postfix's smtpd_hard_error_limit is 20 as well.
DEFAULT_MAX_ERRORS: Final = 20


class State(enum.Enum):
    """Where the connection is."""

    #: Connected; the greeting is not sent yet.
    GREETING = "greeting"
    #: Reading commands.
    COMMAND = "command"
    #: Reading a message after ``354`` (until ``CRLF.CRLF``).
    DATA = "data"
    #: Reading a BDAT chunk (by count).
    CHUNK = "chunk"
    #: Reading an AUTH exchange's response line.
    AUTH = "auth"
    #: ``220`` to STARTTLS sent; waiting for the transport's ``tls_started()``.
    TLS = "tls"
    #: Over: nothing more is read or sent.
    CLOSED = "closed"


class ConnectionBase:
    """The state every command group reads and writes, and the helpers they call;
    :class:`~smtpdsn.smtp.connection.ServerConnection` sets the attributes and implements
    the helpers."""

    state: State
    tls: bool
    esmtp: bool
    client_name: str | None
    authenticated: str | None
    mail: MailFrom | None
    recipients: int
    max_message_size: int | None
    max_recipients: int
    smtputf8: bool
    chunking: bool
    starttls_required: bool
    auth_mechanisms: tuple[str, ...]
    auth_require_tls: bool
    auth_required: bool
    _in: bytes
    _pos: int
    _out: list[bytes]
    _skipping_line: bool
    _auth_step: Callable[[str], Event | None] | None
    _auth_user: str

    def _reply(self, verb: str, reply: Reply, *, error: bool = False) -> Answered:
        raise NotImplementedError

    def _error(self, verb: str, reply: Reply) -> Answered:
        raise NotImplementedError

    def _need_helo(self, verb: str) -> Answered | None:
        raise NotImplementedError

    def _drop_transaction(self) -> None:
        raise NotImplementedError

    def _next_line(self) -> bytes | None:
        raise NotImplementedError


def printable(text: str) -> str:
    """``text`` with every character that is not printable replaced by ``?``."""
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)
