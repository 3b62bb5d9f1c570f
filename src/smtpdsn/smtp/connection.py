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

from collections.abc import Callable
from typing import Final

from ..reply import Reply
from . import replies as R
from ._core import (
    AUTH_LINE,
    BASE_COMMAND_LINE,
    DEFAULT_MAX_ERRORS,
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_MAX_RECIPIENTS,
    MAIL_EXTRA,
    RCPT_EXTRA,
    TEXT_LINE,
    State,
    printable,
)
from .address import AddressError, parse_mailbox, parse_path
from .auth import AuthSteps
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
from .message import MessageSteps, _Chunk
from .transaction import TransactionSteps

# The limits are defined in ._core and re-exported here, where they were first.
__all__ = [
    "AUTH_LINE",
    "BASE_COMMAND_LINE",
    "DEFAULT_MAX_ERRORS",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_MAX_RECIPIENTS",
    "MAIL_EXTRA",
    "RCPT_EXTRA",
    "TEXT_LINE",
    "ServerConnection",
    "State",
]

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


class ServerConnection(TransactionSteps, MessageSteps, AuthSteps):
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
    def buffered(self) -> int:
        """Octets received and not read yet (while a request waits, input only piles up:
        the transport pauses reading past a bound)."""
        return len(self._in) - self._pos

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
                "-", Reply(500, "5.5.1", f'Error: command "{printable(shown)}" not recognized')
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
                "VRFY", Reply(502, "5.5.1", f"Could not VRFY {printable(arg[:100])}")
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
