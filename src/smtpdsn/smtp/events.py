"""What the protocol core tells the transport: one event per thing that happened.

Events are frozen dataclasses. Two kinds:

* **Requests** (:class:`Request` subclasses) are commands the application decides: the
  connection waits until the transport answers with
  :meth:`~smtpdsn.smtp.connection.ServerConnection.send_reply` (``None`` there means "the
  default answer": accept). While a request is waiting, no further command is read, so
  replies always go out in the order of the commands (RFC 2920 section 3).
* **Notices** report what the core already did on its own: a command it answered itself
  (:class:`Answered`: NOOP, RSET, HELP, VRFY, a BDAT chunk, a syntax error, a command out of
  order ...), and the end of the connection (:class:`ConnectionClosed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..dsnparams import MailParams, RcptParams
from ..reply import Reply
from .address import Path

__all__ = [
    "Answered",
    "AuthRequest",
    "Connect",
    "ConnectionClosed",
    "DataCommand",
    "Ehlo",
    "Event",
    "Helo",
    "MailFrom",
    "MessageReceived",
    "Notice",
    "Quit",
    "RcptTo",
    "Request",
    "StartTLSRequest",
]


class Event:
    """Base class of every event."""

    __slots__ = ()


class Request(Event):
    """An event the transport must answer with ``send_reply`` before anything else happens.

    ``verb`` is the command's name for log lines (``"CONNECT"`` for the greeting).
    """

    __slots__ = ()
    verb: str = ""


class Notice(Event):
    """An event that needs no answer."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Connect(Request):
    """The client connected; the greeting is due. ``None`` sends ``220 <name> <ident>``; a
    refusal must be ``554`` (then only QUIT, NOOP and RSET are allowed, RFC 5321 section
    3.1) or ``421`` (closes)."""

    verb = "CONNECT"


@dataclass(frozen=True, slots=True)
class Helo(Request):
    """HELO (RFC 5321 section 4.1.1.1). ``None`` answers ``250 <name>``; any other reply
    refuses the greeting and leaves the session without a client name."""

    hostname: str
    verb = "HELO"


@dataclass(frozen=True, slots=True)
class Ehlo(Request):
    """EHLO. ``None`` answers with the server's extensions. Like RSET it ends any open
    transaction (RFC 5321 section 4.1.4)."""

    hostname: str
    verb = "EHLO"


@dataclass(frozen=True, slots=True)
class MailFrom(Request):
    """MAIL FROM with a valid path and valid parameters (already checked by the core).

    Attributes:
        address: the mailbox (``""`` for the null reverse-path ``<>``).
        path: the parsed path.
        params: every ESMTP parameter as sent (keyword upper-cased, value's case kept).
        dsn: RET and ENVID (RFC 3461).
        size: the SIZE= value (RFC 1870), or None.
        body: ``"7BIT"``, ``"8BITMIME"`` (RFC 6152), or None when not given.
        smtputf8: the SMTPUTF8 parameter was given (RFC 6531).
    """

    address: str
    path: Path
    params: dict[str, str | None] = field(hash=False)
    dsn: MailParams
    size: int | None = None
    body: str | None = None
    smtputf8: bool = False
    verb = "MAIL"


@dataclass(frozen=True, slots=True)
class RcptTo(Request):
    """RCPT TO with a valid path and valid parameters; ``dsn`` holds NOTIFY and ORCPT."""

    address: str
    path: Path
    params: dict[str, str | None] = field(hash=False)
    dsn: RcptParams
    verb = "RCPT"


@dataclass(frozen=True, slots=True)
class DataCommand(Request):
    """DATA, in a transaction with at least one recipient. ``None`` answers ``354`` and the
    message follows; any other reply refuses it."""

    verb = "DATA"


@dataclass(frozen=True, slots=True)
class MessageReceived(Request):
    """The whole message is here (after the final ``.`` of DATA, or ``BDAT ... LAST``).

    Attributes:
        content: the message as received, dot-unstuffed (DATA) or the chunks joined (BDAT).
        chunked: it came with BDAT (RFC 3030).

    ``None`` answers ``250 2.0.0 Message accepted for delivery``. Either way the
    transaction ends.
    """

    content: bytes = field(repr=False)
    chunked: bool = False
    verb = "DATA"


@dataclass(frozen=True, slots=True)
class Quit(Request):
    """QUIT. ``None`` answers ``221 2.0.0 Bye``; the connection closes after the reply."""

    verb = "QUIT"


@dataclass(frozen=True, slots=True)
class StartTLSRequest(Request):
    """STARTTLS (RFC 3207). ``None`` answers ``220 2.0.0 Ready to start TLS``; then the
    transport starts TLS and calls ``tls_started()`` (or ``close()`` when it fails). Any
    other reply refuses and the session goes on in plain text."""

    verb = "STARTTLS"


@dataclass(frozen=True, slots=True)
class AuthRequest(Request):
    """AUTH PLAIN or LOGIN (RFC 4954) with the credentials decoded.

    ``None`` answers ``235 2.7.0 Authentication successful``; refuse with
    ``535 5.7.8 Authentication credentials invalid`` (or a 454 for a local problem).
    """

    mechanism: str
    username: str
    password: str = field(repr=False)
    authzid: str = ""
    verb = "AUTH"


@dataclass(frozen=True, slots=True)
class Answered(Notice):
    """A command the core answered by itself.

    Attributes:
        verb: the command's name as sent, upper-cased (``"NOOP"``, ``"RSET"``, ``"BDAT"``;
            for an unknown command its first word, cleaned of control characters).
        reply: what was sent.
        error: True when the reply refuses the command (4xx/5xx).
    """

    verb: str
    reply: Reply
    error: bool = False


@dataclass(frozen=True, slots=True)
class ConnectionClosed(Notice):
    """The connection is over: the client closed its side and every complete command has
    been answered, or a reply closed it (QUIT, 421, a closing verdict). The transport
    sends what is left (``data_to_send()``) and closes."""
