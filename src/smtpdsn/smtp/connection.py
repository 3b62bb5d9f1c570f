"""The server side of an SMTP connection as a state machine that does no I/O.

Bytes from the client go in with :meth:`ServerConnection.receive_data`; events come out of
:meth:`ServerConnection.next_event`; the transport answers each
:class:`~smtpdsn.smtp.events.Request` with :meth:`ServerConnection.send_reply`, and sends
what :meth:`ServerConnection.data_to_send` returns. No sockets, no clock, no threads::

    conn = ServerConnection("mx.example.test")
    conn.next_event()                 # Connect(): the greeting is due
    conn.send_reply()                 # 220 mx.example.test smtpdsn
    conn.receive_data(b"EHLO client.test\\r\\nMAIL FROM:<a@b.test>\\r\\n")
    conn.next_event()                 # Ehlo(hostname='client.test')
    conn.send_reply()                 # 250-mx.example.test ... 250 HELP
    conn.next_event()                 # MailFrom(address='a@b.test', ...)
    conn.send_reply()                 # 250 2.1.0 Sender OK
    conn.data_to_send()               # both replies, in order, as one piece of bytes

What the core guarantees (each with the RFC that asks for it):

* every complete command gets exactly one reply, in order (RFC 5321 section 4.1.1;
  RFC 2920 for pipelined commands), also after the client closed its sending side
  (``receive_data(b"")``): the commands already received are answered, then the
  connection ends;
* commands out of order are answered ``503 5.5.1`` (RFC 5321 section 4.1.4);
* command lines are at most 512 octets, plus what the advertised extensions add (RFC 5321
  section 4.5.3.1.4; RFC 1870, RFC 3461 section 5.4: 1,036 for RCPT with NOTIFY and ORCPT;
  RFC 4954 for AUTH), text lines of a message at most 1,000 octets (section 4.5.3.1.6);
  longer lines are answered ``500 5.5.2`` and never held whole in memory;
* a message larger than the SIZE limit is answered ``552 5.3.4`` (RFC 1870) and not kept;
* DATA ends only at ``CRLF.CRLF`` (a bare LF never ends it) and is dot-unstuffed (RFC 5321
  section 4.5.2); BDAT chunks are read by count (RFC 3030);
* after STARTTLS (RFC 3207) anything the client pipelined is discarded and the session
  starts over once TLS is up;
* after ``max_errors`` refused commands the client is told ``421 4.7.0`` and the
  connection closes; a ``421`` always closes (RFC 5321 section 3.8).
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Callable
from typing import Final

from ..dsnparams import DSNParameterError, mail_params, rcpt_params
from ..reply import Reply
from . import replies as R
from .address import AddressError, parse_mailbox, parse_path
from .commands import CommandError, parse_mail_argument, parse_rcpt_argument
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
    Quit,
    RcptTo,
    Request,
    StartTLSRequest,
)

__all__ = [
    "BASE_COMMAND_LINE",
    "DEFAULT_MAX_ERRORS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_RECIPIENTS",
    "TEXT_LINE",
    "ServerConnection",
    "State",
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

_HELP: Final = Reply(
    214,
    "2.0.0",
    "Supported commands: AUTH BDAT DATA EHLO EXPN HELO HELP MAIL NOOP QUIT RCPT RSET STARTTLS VRFY",
)
# RFC 5321 section 4.1.1.8: HELP with a command name says how to use it.
_USAGE: Final = {
    "EHLO": "EHLO hostname",
    "HELO": "HELO hostname",
    "MAIL": "MAIL FROM: <address> [SP <mail-parameters>]",
    "RCPT": "RCPT TO: <address> [SP <mail-parameters>]",
    "DATA": "DATA",
    "BDAT": "BDAT size [LAST]",
    "RSET": "RSET",
    "NOOP": "NOOP [text]",
    "QUIT": "QUIT",
    "VRFY": "VRFY <address>",
    "EXPN": "EXPN <list>",
    "HELP": "HELP [command]",
    "STARTTLS": "STARTTLS",
    "AUTH": "AUTH mechanism [initial-response]",
}
_LOGIN_USER: Final = Reply(334, None, "VXNlcm5hbWU6")  # base64 "Username:"
_LOGIN_PASS: Final = Reply(334, None, "UGFzc3dvcmQ6")  # base64 "Password:"
_EMPTY_CHALLENGE: Final = b"334 \r\n"


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


class _Chunk:
    """The BDAT chunk being read."""

    __slots__ = ("error", "last", "remaining", "size")

    def __init__(self, size: int, last: bool, error: Reply | None) -> None:
        self.size = size
        self.remaining = size
        self.last = last
        self.error = error


class ServerConnection:
    """One SMTP connection, seen from the server (RFC 5321), without I/O.

    Args:
        hostname: the server's name in the greeting and the EHLO reply.
        max_message_size: the SIZE limit (RFC 1870), advertised; None for no limit.
        max_recipients: the most recipients per transaction; more get ``452 4.5.3``.
        smtputf8: offer SMTPUTF8 (RFC 6531): UTF-8 addresses after ``SMTPUTF8``.
        chunking: offer CHUNKING (RFC 3030, BDAT).
        starttls: offer STARTTLS (the transport can start TLS).
        tls: the connection is already encrypted (implicit TLS, RFC 8314).
        auth_mechanisms: the SASL mechanisms to offer, among ``"PLAIN"`` and ``"LOGIN"``
            (RFC 4954); empty for no AUTH.
        auth_require_tls: offer AUTH only over TLS (the default; RFC 4954 section 4).
        auth_required: MAIL needs a successful AUTH first (``530 5.7.0``).
        starttls_required: MAIL needs TLS first (``530 5.7.0``, RFC 3207 section 4).
        max_errors: refused commands before ``421 4.7.0`` and a close.
        ident: the software named in the greeting.

    Raises:
        ValueError: a limit that is not positive, an unknown mechanism.
    """

    def __init__(
        self,
        hostname: str,
        *,
        max_message_size: int | None = DEFAULT_MAX_MESSAGE_SIZE,
        max_recipients: int = DEFAULT_MAX_RECIPIENTS,
        smtputf8: bool = True,
        chunking: bool = True,
        starttls: bool = False,
        tls: bool = False,
        auth_mechanisms: tuple[str, ...] = (),
        auth_require_tls: bool = True,
        auth_required: bool = False,
        starttls_required: bool = False,
        max_errors: int = DEFAULT_MAX_ERRORS,
        ident: str = "smtpdsn",
    ) -> None:
        if max_message_size is not None and max_message_size <= 0:
            raise ValueError(f"max_message_size must be positive, got {max_message_size!r}")
        if max_recipients <= 0:
            raise ValueError(f"max_recipients must be positive, got {max_recipients!r}")
        if max_errors <= 0:
            raise ValueError(f"max_errors must be positive, got {max_errors!r}")
        mechanisms = tuple(m.upper() for m in auth_mechanisms)
        for mechanism in mechanisms:
            if mechanism not in ("PLAIN", "LOGIN"):
                raise ValueError(f"unknown AUTH mechanism {mechanism!r}; use PLAIN or LOGIN")
        self.hostname = Reply(250, None, hostname).text  # cleaned of control characters
        self.max_message_size = max_message_size
        self.max_recipients = max_recipients
        self.smtputf8 = smtputf8
        self.chunking = chunking
        self.starttls = starttls
        self.auth_mechanisms = mechanisms
        self.auth_require_tls = auth_require_tls
        self.auth_required = auth_required
        self.starttls_required = starttls_required
        self.max_errors = max_errors
        self.ident = ident

        self.state = State.GREETING
        #: The connection is encrypted.
        self.tls = tls
        #: The name the client gave with an accepted HELO/EHLO, or None.
        self.client_name: str | None = None
        #: The client greeted with EHLO (ESMTP parameters allowed).
        self.esmtp = False
        #: The user name of a successful AUTH, or None.
        self.authenticated: str | None = None
        #: The greeting was a 554: only QUIT, NOOP and RSET are allowed (RFC 5321 3.1).
        self.refused = False
        #: The accepted MAIL of the open transaction, or None.
        self.mail: MailFrom | None = None
        #: How many recipients the open transaction has accepted.
        self.recipients = 0
        #: Refused commands so far.
        self.errors = 0

        self._in = b""
        self._pos = 0
        self._eof = False
        self._out: list[bytes] = []
        self._pending: Request | None = None
        self._closed_reported = False
        self._skipping_line = False
        self._max_line = max(
            BASE_COMMAND_LINE + MAIL_EXTRA, AUTH_LINE if mechanisms else 0, TEXT_LINE
        )
        # DATA
        self._data: list[bytes] = []
        self._data_size = 0
        self._data_error: Reply | None = None
        # BDAT
        self._chunk: _Chunk | None = None
        self._chunks: list[bytes] = []
        self._chunked = False
        self._chunk_error: Reply | None = None
        # AUTH
        self._at_line_start = True
        self._auth_step: Callable[[str], Event | None] | None = None
        self._auth_user = ""

        self._commands: dict[str, Callable[[str], Event | None]] = {
            "EHLO": self._ehlo,
            "HELO": self._helo,
            "MAIL": self._mail_cmd,
            "RCPT": self._rcpt_cmd,
            "DATA": self._data_cmd,
            "BDAT": self._bdat_cmd,
            "RSET": self._rset,
            "NOOP": self._noop,
            "QUIT": self._quit,
            "VRFY": self._vrfy,
            "EXPN": self._expn,
            "HELP": self._help,
            "STARTTLS": self._starttls_cmd,
            "AUTH": self._auth_cmd,
        }

    # -- what the transport calls -----------------------------------------------------------

    @property
    def pending(self) -> Request | None:
        """The request waiting for :meth:`send_reply`, or None."""
        return self._pending

    @property
    def closed(self) -> bool:
        """True once the connection is over (the transport closes after sending)."""
        return self.state is State.CLOSED

    def receive_data(self, data: bytes) -> None:
        """Take bytes from the client; ``b""`` means the client closed its sending side.

        Raises:
            LocalProtocolError: data after ``b""``.
        """
        if not data:
            self._eof = True
            return
        if self._eof:
            raise LocalProtocolError("receive_data() called after the end of the stream (b'')")
        if self.state is State.CLOSED or self.state is State.TLS:
            return  # nothing more is read (RFC 3207: no pipelining past STARTTLS)
        if self._pos:
            self._in = self._in[self._pos :] + data
            self._pos = 0
        elif self._in:
            self._in += data
        else:
            self._in = data

    def next_event(self) -> Event | None:
        """The next event, or None when more data is needed or a request waits for its
        reply (see :attr:`pending`)."""
        state = self.state
        if self._pending is not None:
            return None
        if state is State.CLOSED:
            if self._closed_reported:
                return None
            self._closed_reported = True
            return ConnectionClosed()
        if state is State.GREETING:
            self._pending = Connect()
            return self._pending
        if state is State.TLS:
            return None
        while True:
            if state is State.COMMAND:
                event = self._read_command()
            elif state is State.DATA:
                event = self._read_data()
            elif state is State.CHUNK:
                event = self._read_chunk()
            else:  # AUTH
                event = self._read_auth()
            if event is not None:
                if isinstance(event, Request):
                    self._pending = event
                return event
            if self.state is state:
                break
            state = self.state  # a line switched states (e.g. DATA after 354): go on
            if state is State.CLOSED:
                return self.next_event()
        if self._eof:
            self._drop_transaction()
            self.state = State.CLOSED
            return self.next_event()
        return None

    def send_reply(self, reply: Reply | None = None, *, close: bool = False) -> Reply:
        """Answer the pending request.

        Args:
            reply: the reply; None for the request's default answer (accept). A reply to
                :class:`Connect` must be 220, 554 or 421; to :class:`DataCommand` 354 or a
                refusal; to the others 2xx, 4xx or 5xx.
            close: close the connection after this reply (a closing verdict). A ``421``
                and the reply to QUIT always close.

        Returns:
            The reply sent (for the log).

        Raises:
            LocalProtocolError: no request is pending, or the reply cannot answer it.
        """
        event = self._pending
        if event is None:
            raise LocalProtocolError("send_reply() called with no request pending")
        if reply is not None and not isinstance(reply, Reply):
            raise LocalProtocolError(f"send_reply() takes a Reply or None, got {reply!r:.80}")
        self._check_reply(event, reply)
        self._pending = None
        sent, wire = self._answer(event, reply)
        self._out.append(wire)
        if close or sent.code == 421 or isinstance(event, Quit):
            self._close()
        return sent

    def data_to_send(self) -> bytes:
        """The replies not yet handed out, as one piece of bytes (b"" when none)."""
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        self._out = []
        return data

    def close_with(self, reply: Reply) -> None:
        """Send ``reply`` outside any command and close (the idle timeout's
        ``421 4.4.2``, a shutdown's ``421 4.3.2``). A pending request is dropped."""
        if self.state is State.CLOSED:
            return
        self._pending = None
        self._out.append(reply.wire)
        self._close()

    def close(self) -> None:
        """Close without a reply (the transport lost the connection, TLS failed)."""
        if self.state is not State.CLOSED:
            self._pending = None
            self._close()

    def tls_started(self) -> None:
        """TLS is up after ``220`` to STARTTLS: the session starts over (RFC 3207 section
        4.2: the client's name, the transaction and AUTH are forgotten).

        Raises:
            LocalProtocolError: STARTTLS was not accepted just before.
        """
        if self.state is not State.TLS:
            raise LocalProtocolError("tls_started() called without an accepted STARTTLS")
        self.tls = True
        self.client_name = None
        self.esmtp = False
        self.authenticated = None
        self._drop_transaction()
        self._in = b""
        self._pos = 0
        self.state = State.COMMAND

    def extensions(self) -> list[str]:
        """The EHLO keywords offered now (RFC 5321 section 4.1.1.1)."""
        ext = []
        if self.max_message_size is not None:
            ext.append(f"SIZE {self.max_message_size}")
        ext.append("8BITMIME")
        if self.smtputf8:
            ext.append("SMTPUTF8")
        ext.append("PIPELINING")
        if self.chunking:
            ext.append("CHUNKING")
        ext += ["ENHANCEDSTATUSCODES", "DSN"]
        if self.starttls and not self.tls:
            ext.append("STARTTLS")
        if self.auth_mechanisms and (self.tls or not self.auth_require_tls):
            ext.append("AUTH " + " ".join(self.auth_mechanisms))
        ext.append("HELP")
        return ext

    # -- replies ---------------------------------------------------------------------------

    def _check_reply(self, event: Request, reply: Reply | None) -> None:
        if reply is None:
            return
        code = reply.code
        if isinstance(event, Connect):
            if code not in (220, 554, 421):
                raise LocalProtocolError(f"a greeting must be 220, 554 or 421, not {code}")
        elif isinstance(event, DataCommand):
            if code != 354 and code < 400:
                raise LocalProtocolError(f"DATA must be answered 354 or a refusal, not {code}")
        elif 300 <= code < 400:
            raise LocalProtocolError(f"{event.verb} cannot be answered with {code}")

    def _answer(self, event: Request, reply: Reply | None) -> tuple[Reply, bytes]:
        """The reply for ``event`` and its bytes, with the state it leads to."""
        if isinstance(event, Connect):
            if reply is None or reply.code == 220:
                self.state = State.COMMAND
                if reply is None:
                    line = f"220 {self.hostname} {self.ident}"
                    return Reply(220, None, line[4:]), (line + "\r\n").encode()
                return reply, reply.wire
            self.state = State.COMMAND
            self.refused = reply.code == 554
            return reply, reply.wire
        if isinstance(event, Ehlo | Helo):
            self._drop_transaction()
            if reply is None or reply.is_success:
                self.client_name = event.hostname
                self.esmtp = isinstance(event, Ehlo)
                if reply is not None:
                    return reply, reply.wire
                if isinstance(event, Helo):
                    sent = Reply(250, None, self.hostname)
                    return sent, sent.wire
                lines = [self.hostname, *self.extensions()]
                wire = "".join(
                    f"250{'-' if i < len(lines) - 1 else ' '}{line}\r\n"
                    for i, line in enumerate(lines)
                ).encode()
                return Reply(250, None, lines), wire
            self.client_name = None
            self.esmtp = False
            return reply, reply.wire
        if isinstance(event, MailFrom):
            if reply is None:
                reply = R.SENDER_OK
            if reply.is_success:
                self.mail = event
                self.recipients = 0
            return reply, reply.wire
        if isinstance(event, RcptTo):
            if reply is None:
                reply = R.RECIPIENT_OK
            if reply.is_success:
                self.recipients += 1
            return reply, reply.wire
        if isinstance(event, DataCommand):
            if reply is None:
                reply = R.DATA_GO_AHEAD
            if reply.code == 354:
                self.state = State.DATA
                self._data = []
                self._data_size = 0
                self._data_error = None
                self._at_line_start = True
            return reply, reply.wire
        if isinstance(event, MessageReceived):
            self._drop_transaction()
            if reply is None:
                reply = R.MESSAGE_ACCEPTED
            return reply, reply.wire
        if isinstance(event, Quit):
            reply = R.BYE if reply is None else reply
            return reply, reply.wire
        if isinstance(event, StartTLSRequest):
            if reply is None:
                reply = R.TLS_READY
            if reply.code == 220:
                self.state = State.TLS
                self._in = b""
                self._pos = 0
            return reply, reply.wire
        if isinstance(event, AuthRequest):
            if reply is None:
                reply = R.AUTH_OK
            if reply.is_success:
                self.authenticated = event.username
            return reply, reply.wire
        raise LocalProtocolError(f"unknown request {event!r}")  # pragma: no cover

    def _reply(self, verb: str, reply: Reply, *, error: bool = False) -> Answered:
        """Send a reply of the core's own, counting refusals; the last allowed one is
        replaced by ``421 4.7.0`` and the connection closes."""
        if error and reply.status is not None and reply.status.subject == 5:
            # Protocol errors (X.5.x: unknown commands, bad syntax, bad sequence) count
            # towards the limit; a refused address or parameter value does not.
            self.errors += 1
            if self.errors >= self.max_errors:
                reply = Reply(421, "4.7.0", f"{self.hostname} Error: too many errors")
        self._out.append(reply.wire)
        if reply.code == 421:
            self._close()
        # ``error`` on the event means "refused" (4xx/5xx), counted or not (a message
        # over the size limit, too many recipients).
        return Answered(verb, reply, error or reply.code >= 400)

    def _error(self, verb: str, reply: Reply) -> Answered:
        return self._reply(verb, reply, error=True)

    def _close(self) -> None:
        self.state = State.CLOSED
        self._in = b""
        self._pos = 0
        self._data = []
        self._chunks = []

    def _drop_transaction(self) -> None:
        self.mail = None
        self.recipients = 0
        self._chunks = []
        self._chunked = False
        self._chunk_error = None
        self._data = []

    # -- reading lines ---------------------------------------------------------------------

    def _next_line(self) -> bytes | None:
        """The next line without its line end (CRLF or a bare LF), or None for more data.

        A line longer than the largest limit is not kept: its start is dropped and the
        line is returned as ``None`` first, then reported once complete as too long
        (``_skipping_line``).
        """
        buf = self._in
        pos = self._pos
        nl = buf.find(b"\n", pos)
        if nl < 0:
            if len(buf) - pos > self._max_line:
                self._skipping_line = True
                self._in = b""
                self._pos = 0
            return None
        self._pos = nl + 1
        if nl > pos and buf[nl - 1] == 13:
            return buf[pos : nl - 1]
        return buf[pos:nl]

    def _read_command(self) -> Event | None:
        line = self._next_line()
        if line is None:
            return None
        if self._skipping_line:
            self._skipping_line = False
            return self._error("-", R.COMMAND_TOO_LONG)
        if not self.smtputf8 and not line.isascii():
            return self._error("-", R.STRICT_ASCII)
        text = line.decode("utf-8", "surrogateescape")
        verb, _, arg = text.partition(" ")
        verb = verb.upper()
        if not line or not verb.isascii():  # empty, or 8-bit garbage where a verb should be
            return self._error("-", R.BAD_SYNTAX)
        limit = BASE_COMMAND_LINE
        if self.esmtp:
            if verb == "MAIL":
                limit += MAIL_EXTRA
            elif verb == "RCPT":
                limit += RCPT_EXTRA
        if verb == "AUTH" and self.auth_mechanisms:
            limit = AUTH_LINE
        if len(line) + 2 > limit:
            return self._error(
                verb if verb.isascii() and verb.isalpha() else "-", R.COMMAND_TOO_LONG
            )
        handler = self._commands.get(verb)
        if handler is None:
            shown = verb if len(verb) <= 40 else verb[:40] + "..."
            return self._error(
                "-", Reply(500, "5.5.1", f'Error: command "{_printable(shown)}" not recognized')
            )
        if self.refused and verb not in ("QUIT", "NOOP", "RSET"):
            return self._error(verb, R.REFUSED_SESSION)
        return handler(arg)

    # -- commands --------------------------------------------------------------------------

    def _ehlo(self, arg: str) -> Event | None:
        return self._greeting_cmd("EHLO", arg)

    def _helo(self, arg: str) -> Event | None:
        return self._greeting_cmd("HELO", arg)

    def _greeting_cmd(self, verb: str, arg: str) -> Event | None:
        name = arg.strip(" ")
        if not name or not name.isprintable():
            return self._error(verb, R.syntax(f"Syntax: {verb} hostname"))
        return Ehlo(name) if verb == "EHLO" else Helo(name)

    def _need_helo(self, verb: str) -> Answered | None:
        if self.client_name is None:
            return self._error(verb, R.HELO_FIRST)
        return None

    def _mail_cmd(self, arg: str) -> Event | None:
        refused = self._need_helo("MAIL")
        if refused is not None:
            return refused
        if self.starttls_required and not self.tls:
            return self._error("MAIL", R.STARTTLS_FIRST)
        if self.auth_required and self.authenticated is None:
            return self._error("MAIL", R.AUTH_REQUIRED)
        try:
            path, params = parse_mail_argument(arg, esmtp=self.esmtp, smtputf8=self.smtputf8)
        except CommandError as exc:
            return self._error("MAIL", exc.reply)
        if self.mail is not None:
            return self._error("MAIL", R.NESTED_MAIL)
        rest = dict(params)
        body = rest.pop("BODY", None)
        if body is not None or "BODY" in params:
            if body is None or body.upper() not in ("7BIT", "8BITMIME"):
                return self._error(
                    "MAIL", R.syntax("Error: BODY can only be one of 7BIT, 8BITMIME")
                )
            body = body.upper()
        utf8 = False
        if "SMTPUTF8" in rest:
            if rest.pop("SMTPUTF8") is not None:
                return self._error("MAIL", R.syntax("Error: SMTPUTF8 takes no arguments"))
            if not self.smtputf8:
                return self._error(
                    "MAIL", Reply(555, "5.5.4", "MAIL FROM parameter SMTPUTF8 not available")
                )
            utf8 = True
        size: int | None = None
        if "SIZE" in rest:
            value = rest.pop("SIZE")
            if value is None or not (value.isascii() and value.isdigit()):
                return self._error(
                    "MAIL", R.syntax("Invalid parameter SIZE: a number of octets is needed")
                )
            size = int(value)
            if self.max_message_size is not None and size > self.max_message_size:
                return self._error("MAIL", R.MESSAGE_TOO_BIG)
        if self.auth_mechanisms:
            rest.pop("AUTH", None)  # RFC 4954 section 5: accepted and not used
        try:
            dsn = mail_params(rest)
        except DSNParameterError as exc:
            return self._error("MAIL", exc.reply)
        rest.pop("RET", None)
        rest.pop("ENVID", None)
        if rest:
            return self._error(
                "MAIL",
                Reply(
                    555,
                    "5.5.4",
                    f"MAIL FROM parameter {_printable(next(iter(rest)))} not recognized "
                    "or not implemented",
                ),
            )
        return MailFrom(path.mailbox, path, params, dsn, size, body, utf8)

    def _rcpt_cmd(self, arg: str) -> Event | None:
        refused = self._need_helo("RCPT")
        if refused is not None:
            return refused
        if self.mail is None:
            return self._error("RCPT", R.NEED_MAIL)
        try:
            path, params = parse_rcpt_argument(
                arg, esmtp=self.esmtp, smtputf8=self.smtputf8 and self.mail.smtputf8
            )
        except CommandError as exc:
            return self._error("RCPT", exc.reply)
        if self.recipients >= self.max_recipients:
            return self._reply("RCPT", R.TOO_MANY_RECIPIENTS)
        try:
            dsn = rcpt_params(params)
        except DSNParameterError as exc:
            return self._error("RCPT", exc.reply)
        for keyword in params:
            if keyword not in ("NOTIFY", "ORCPT"):
                return self._error(
                    "RCPT",
                    Reply(
                        555,
                        "5.5.4",
                        f"RCPT TO parameter {_printable(keyword)} not recognized "
                        "or not implemented",
                    ),
                )
        return RcptTo(path.mailbox, path, params, dsn)

    def _data_cmd(self, arg: str) -> Event | None:
        if arg.strip(" "):
            return self._error("DATA", R.syntax("Syntax: DATA"))
        refused = self._need_helo("DATA")
        if refused is not None:
            return refused
        if self.recipients == 0:  # aiosmtpd's and Postfix's answer, with or without MAIL
            return self._error("DATA", R.NEED_RCPT)
        if self._chunked:
            return self._error("DATA", Reply(503, "5.5.1", "Error: DATA after BDAT"))
        return DataCommand()

    def _bdat_cmd(self, arg: str) -> Event | None:
        words = arg.split(" ")
        if not self.chunking or not 1 <= len(words) <= 2:
            if not self.chunking:
                return self._error("-", Reply(500, "5.5.1", 'Error: command "BDAT" not recognized'))
            return self._error("BDAT", R.syntax("Syntax: BDAT size [LAST]"))
        size_text = words[0]
        last = len(words) == 2
        if (
            not (size_text.isascii() and size_text.isdigit())
            or len(size_text) > 20
            or (last and words[1].upper() != "LAST")
        ):
            return self._error("BDAT", R.syntax("Syntax: BDAT size [LAST]"))
        size = int(size_text)
        error: Reply | None = None
        if self.client_name is None:
            error = R.HELO_FIRST
        elif self.mail is None:
            error = R.NEED_MAIL
        elif self.recipients == 0:
            error = R.NEED_RCPT
        elif self._chunk_error is not None:
            error = self._chunk_error
        elif self.max_message_size is not None:
            total = sum(map(len, self._chunks)) + size
            if total > self.max_message_size:
                error = R.MESSAGE_TOO_BIG
        self._chunk = _Chunk(size, last, error)
        if error is None:
            self._chunked = True
        self.state = State.CHUNK
        return None

    def _rset(self, arg: str) -> Event | None:
        if arg.strip(" "):
            return self._error("RSET", R.syntax("Syntax: RSET"))
        self._drop_transaction()
        return self._reply("RSET", R.OK)

    def _noop(self, arg: str) -> Event | None:
        return self._reply("NOOP", R.OK)

    def _quit(self, arg: str) -> Event | None:
        if arg.strip(" "):
            return self._error("QUIT", R.syntax("Syntax: QUIT"))
        return Quit()

    def _vrfy(self, arg: str) -> Event | None:
        # RFC 5321 section 3.5.1: the argument is a user name or a mailbox.
        arg = arg.strip(" ")
        if not arg:
            return self._error("VRFY", R.syntax("Syntax: VRFY <address>"))
        try:
            if arg.startswith("<"):
                parse_path(arg, smtputf8=self.smtputf8)
            elif "@" in arg:
                parse_mailbox(arg, smtputf8=self.smtputf8)
            elif not arg.isprintable():
                raise AddressError("not printable")
        except AddressError:
            return self._error(
                "VRFY", Reply(502, "5.5.1", f"Could not VRFY {_printable(arg[:100])}")
            )
        return self._reply("VRFY", R.VRFY_CANNOT)

    def _expn(self, arg: str) -> Event | None:
        return self._error("EXPN", R.EXPN_NOT_IMPLEMENTED)

    def _help(self, arg: str) -> Event | None:
        topic = arg.strip(" ").upper()
        if not topic:
            return self._reply("HELP", _HELP)
        usage = _USAGE.get(topic)
        if usage is None:
            return self._error(
                "HELP", Reply(504, "5.5.4", f"No help for that command; {_HELP.text}")
            )
        return self._reply("HELP", Reply(214, "2.0.0", f"Syntax: {usage}"))

    def _starttls_cmd(self, arg: str) -> Event | None:
        if arg.strip(" "):
            return self._error("STARTTLS", R.syntax("Syntax: STARTTLS"))
        if not self.starttls:
            return self._error("STARTTLS", Reply(454, "4.7.0", "TLS not available"))
        if self.tls:
            return self._error("STARTTLS", Reply(503, "5.5.1", "Error: TLS already active"))
        return StartTLSRequest()

    # -- AUTH (RFC 4954) -------------------------------------------------------------------

    def _auth_cmd(self, arg: str) -> Event | None:
        if not self.auth_mechanisms:
            return self._error("AUTH", Reply(502, "5.5.1", "Error: authentication not enabled"))
        if not self.esmtp:
            return self._error("AUTH", Reply(503, "5.5.1", "Error: send EHLO first"))
        if self.authenticated is not None:
            return self._error("AUTH", R.AUTH_ALREADY)
        if self.mail is not None:
            return self._error(
                "AUTH", Reply(503, "5.5.1", "Error: AUTH not allowed during a mail transaction")
            )
        words = arg.split(" ")
        mechanism = words[0].upper()
        if not mechanism or len(words) > 2:
            return self._error("AUTH", R.syntax("Syntax: AUTH mechanism [initial-response]"))
        if mechanism not in self.auth_mechanisms:
            return self._error("AUTH", Reply(504, "5.5.4", "Unrecognized authentication type"))
        if self.auth_require_tls and not self.tls:
            return self._error("AUTH", R.AUTH_ENCRYPTION_REQUIRED)
        initial = words[1] if len(words) == 2 else None
        if mechanism == "PLAIN":
            if initial is None:
                return self._challenge(self._plain_response, None)
            return self._plain_response(initial)
        if initial is None:
            return self._challenge(self._login_user, _LOGIN_USER)
        return self._login_user(initial)

    def _challenge(self, step: Callable[[str], Event | None], reply: Reply | None) -> Answered:
        self._auth_step = step
        self.state = State.AUTH
        if reply is None:
            self._out.append(_EMPTY_CHALLENGE)
            return Answered("AUTH", Reply(334, None, "(empty challenge)"))
        self._out.append(reply.wire)
        return Answered("AUTH", reply)

    def _read_auth(self) -> Event | None:
        line = self._next_line()
        if line is None:
            return None
        self.state = State.COMMAND
        step, self._auth_step = self._auth_step, None
        if self._skipping_line or len(line) + 2 > AUTH_LINE:
            self._skipping_line = False
            return self._error("AUTH", R.COMMAND_TOO_LONG)
        text = line.decode("ascii", "replace").strip(" ")
        if text == "*":
            return self._error("AUTH", R.AUTH_CANCELLED)
        assert step is not None
        return step(text)

    def _decode(self, text: str) -> str | None:
        if text == "=":
            return ""
        try:
            return base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None

    def _plain_response(self, text: str) -> Event | None:
        decoded = self._decode(text)
        if decoded is None:
            return self._error("AUTH", R.BAD_BASE64)
        parts = decoded.split("\0")
        if len(parts) != 3 or not parts[1]:
            return self._error(
                "AUTH", R.syntax("Invalid PLAIN response: authzid NUL user NUL password needed")
            )
        return AuthRequest("PLAIN", parts[1], parts[2], parts[0])

    def _login_user(self, text: str) -> Event | None:
        decoded = self._decode(text)
        if decoded is None:
            return self._error("AUTH", R.BAD_BASE64)
        self._auth_user = decoded
        return self._challenge(self._login_password, _LOGIN_PASS)

    def _login_password(self, text: str) -> Event | None:
        decoded = self._decode(text)
        if decoded is None:
            return self._error("AUTH", R.BAD_BASE64)
        return AuthRequest("LOGIN", self._auth_user, decoded)

    # -- DATA (RFC 5321 section 4.5.2) ------------------------------------------------------

    def _read_data(self) -> Event | None:
        """Take the complete lines of the buffer into the message; a line of a single
        ``.`` ends it. Only CRLF ends a line here: a bare LF is message text, so
        ``LF.LF`` never ends a message (the "SMTP smuggling" defence)."""
        buf = self._in
        pos = self._pos
        if self._at_line_start:
            if buf.startswith(b".\r\n", pos):
                self._pos = pos + 3
                return self._finish_data()
            if len(buf) - pos < 3 and b".\r\n".startswith(buf[pos:]):
                return None  # maybe the final dot, not all here yet
        term = buf.find(b"\r\n.\r\n", pos)
        if term >= 0:
            self._take(buf[pos:term])
            self._pos = term + 5
            return self._finish_data()
        end = buf.rfind(b"\r\n", pos)
        if end < 0:
            if len(buf) - pos > TEXT_LINE:
                # A line longer than allowed: refuse the message, keep nothing of it but
                # the last octet (it may be the CR of the CRLF that ends the line).
                self._data_fail(R.LINE_TOO_LONG)
                self._at_line_start = False
                self._in, self._pos = buf[-1:], 0
            return None
        self._take(buf[pos:end])
        self._pos = end + 2
        self._at_line_start = True
        if len(buf) - self._pos > TEXT_LINE:
            # The partial line after the last line end is already too long: drop it now
            # rather than hold it whole until the next read.
            self._data_fail(R.LINE_TOO_LONG)
            self._at_line_start = False
            self._in, self._pos = buf[-1:], 0
        return None

    def _take(self, block: bytes) -> None:
        """Add complete lines (joined by CRLF, without the last one's CRLF) to the message:
        dot-unstuffed, each line checked against the 1,000-octet limit."""
        continues = not self._at_line_start  # the first line is the tail of a dropped one
        if len(block) + 2 > TEXT_LINE:
            lines = block.split(b"\r\n")
            if max(map(len, lines[1:] if continues else lines), default=0) + 2 > TEXT_LINE:
                self._data_fail(R.LINE_TOO_LONG)
        if self._data_error is not None:
            return
        if b"\r\n." in block or (not continues and block[:1] == b"."):
            lines = block.split(b"\r\n")
            first = 1 if continues else 0
            for i in range(first, len(lines)):
                if lines[i][:1] == b".":
                    lines[i] = lines[i][1:]
            block = b"\r\n".join(lines)
        self._data_size += len(block) + 2
        if self.max_message_size is not None and self._data_size > self.max_message_size:
            self._data_fail(R.TOO_MUCH_DATA)
            return
        self._data.append(block)
        self._data.append(b"\r\n")

    def _data_fail(self, reply: Reply) -> None:
        if self._data_error is None:
            self._data_error = reply
        self._data = []

    def _finish_data(self) -> Event | None:
        self.state = State.COMMAND
        error = self._data_error
        content = b"".join(self._data)
        self._data = []
        self._data_error = None
        if error is not None:
            self._drop_transaction()
            return self._reply("DATA", error)
        return MessageReceived(content)

    # -- BDAT (RFC 3030) -------------------------------------------------------------------

    def _read_chunk(self) -> Event | None:
        chunk = self._chunk
        assert chunk is not None
        buf = self._in
        pos = self._pos
        available = len(buf) - pos
        if chunk.remaining:
            if not available:
                return None
            take = min(available, chunk.remaining)
            if chunk.error is None:
                self._chunks.append(buf[pos : pos + take])
            chunk.remaining -= take
            self._pos = pos + take
            if chunk.remaining:
                return None
        self.state = State.COMMAND
        self._chunk = None
        if chunk.error is not None:
            if chunk.error is R.MESSAGE_TOO_BIG or self.mail is not None:
                self._chunks = []
                self._chunk_error = chunk.error
            if chunk.last:
                self._drop_transaction()
            return self._error("BDAT", chunk.error)
        if not chunk.last:
            return self._reply("BDAT", Reply(250, "2.0.0", f"{chunk.size} octets received"))
        content = b"".join(self._chunks)
        self._chunks = []
        return MessageReceived(content, chunked=True)


def _printable(text: str) -> str:
    """``text`` with every character that is not printable replaced by ``?``."""
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)
