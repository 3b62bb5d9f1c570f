"""The asyncio transport around the protocol core: one :class:`SMTPProtocol` per client.

It feeds the bytes it reads to a :class:`~smtpdsn.smtp.ServerConnection`, asks the
handler (:class:`~smtpdsn.server.handler.PluginHandler`) about each request, and writes
the replies: all replies that one read produced go out in one write (RFC 2920).

* A request the handler decides at once (the rules) is answered without a task; one it
  decides later (async plugins, plain plugins in threads, delivery) pauses reading until
  its reply is sent, so a client cannot pile up work.
* Reading also pauses while the socket's outgoing buffer is full (``pause_writing``).
* After the client closes its sending side (a TCP half-close, as Exim does after the final
  dot and QUIT), every complete command already received is still answered in order; then
  the connection closes.
* The idle timer is the server's (one sweep for all connections, see
  :class:`~smtpdsn.server.app.SMTPServer`): a client silent for ``timeout`` seconds while
  the server waits for it is told ``421 4.4.2`` and dropped. Time spent on the server's
  own work does not count.
* One log line (logger ``smtpdsn.server``) per reply at INFO: peer, command, reply.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final, cast

from .._version import __version__
from ..reply import Reply
from ..smtp import (
    Answered,
    AuthRequest,
    Connect,
    ConnectionClosed,
    DataCommand,
    Ehlo,
    Helo,
    MailFrom,
    MessageReceived,
    Quit,
    RcptTo,
    Request,
    ServerConnection,
    StartTLSRequest,
    State,
)
from .enhance import status_for
from .handler import Decision, PluginHandler
from .plugins import format_peer
from .session import Envelope, Session

if TYPE_CHECKING:
    from .app import SMTPServer

__all__ = ["Authenticator", "SMTPProtocol"]

log = logging.getLogger("smtpdsn.server")

#: Checks AUTH credentials: ``(session, mechanism, username, password) -> bool`` (or an
#: awaitable of it). True accepts (``235 2.7.0``), False refuses (``535 5.7.8``).
Authenticator = Callable[[Session, str, str, str], "bool | Awaitable[bool]"]

_AUTH_FAILED: Final = Reply(535, "5.7.8", "Authentication credentials invalid")
_TLS_UNAVAILABLE: Final = Reply(454, "4.7.0", "TLS not available")
_ACCEPT: Final[Decision] = (None, False)
#: Octets a client may send past a request that takes time before reading pauses.
_MAX_WAITING_INPUT: Final = 65536


def _one_line(reply: str) -> str:
    return reply.replace("\r\n", " | ")


class SMTPProtocol(asyncio.BufferedProtocol):
    """One client connection of an :class:`~smtpdsn.server.app.SMTPServer`; ``tls`` is
    true on the SMTPS listener, whose transport is TLS from the start (RFC 8314)."""

    def __init__(self, server: SMTPServer, *, tls: bool = False) -> None:
        self.server = server
        self.handler: PluginHandler = server.handler
        self.conn = ServerConnection(
            server.hostname,
            max_message_size=server.data_size_limit,
            max_recipients=server.max_recipients,
            smtputf8=server.enable_smtputf8,
            starttls=server.tls_context is not None,
            tls=tls,
            auth_mechanisms=("PLAIN", "LOGIN") if server.authenticator is not None else (),
            auth_require_tls=server.auth_require_tls,
            auth_required=server.auth_required,
            starttls_required=server.require_starttls,
            ident=f"smtpdsn {__version__}",
        )
        self.transport: asyncio.Transport | None = None
        self.session = Session(None)
        self.envelope = Envelope()
        self.peer_name = "-"
        #: The loop time of the last data received or reply sent (the idle timer).
        self.last_activity = 0.0
        #: A request is being decided or a reply written: the server is working.
        self.busy = False
        self._write_paused = False
        self._read_paused = False
        self._close_after_reply = False
        #: Between ``220`` to STARTTLS and the core's ``tls_started()``: what the client
        #: sends over TLS meanwhile (its EHLO may come with its last handshake message).
        self._tls_early: list[bytes] | None = None
        self._loop = asyncio.get_event_loop()

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.session.peer = peer
        self.peer_name = format_peer(peer)
        if self.conn.tls:
            self.session.ssl = transport.get_extra_info("ssl_object")
        self.last_activity = self._loop.time()
        self.server.connections.add(self)
        self._process()

    def get_buffer(self, sizehint: int) -> memoryview:
        # One buffer per server: asyncio fills it and calls buffer_updated() at once, on
        # the loop's thread, so connections never use it at the same time. It saves a
        # 256 KiB allocation per read (asyncio's default for plain protocols), and an idle
        # connection holds no buffer at all.
        return self.server.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self.server.read_buffer[:nbytes]))

    def data_received(self, data: bytes) -> None:
        self.last_activity = self._loop.time()
        if self._tls_early is not None:
            self._tls_early.append(data)
            return
        self.conn.receive_data(data)
        if not self.busy:
            self._process()
        elif self.conn.buffered > _MAX_WAITING_INPUT:
            self._pause()  # a client pipelining past a request that takes time

    def eof_received(self) -> bool:
        if self._tls_early is not None:
            self._tls_early.append(b"")  # the end, after what came before it
            return False
        self.conn.receive_data(b"")
        if not self.busy:
            self._process()
        # Keep the transport open to send the replies still due (a TLS transport closes
        # anyway and asyncio warns about the True).
        return not self.conn.tls

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.conn.close()
        self.transport = None

    def pause_writing(self) -> None:
        self._write_paused = True
        self._pause()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._resume()

    def _pause(self) -> None:
        if not self._read_paused and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self._read_paused and not self._write_paused and self.transport is not None:
            self._read_paused = False
            self.transport.resume_reading()

    # -- the loop between the core and the handler ------------------------------------------

    def _process(self) -> None:
        """Take events from the core until it needs data, or a request needs time."""
        conn = self.conn
        try:
            while True:
                event = conn.next_event()
                if event is None:
                    break
                if isinstance(event, Answered):
                    if log.isEnabledFor(logging.INFO):
                        log.info("%s %s %s", self.peer_name, event.verb, _one_line(event.reply))
                    if self.server.on_reply is not None:
                        self._record(event.verb, event.reply, None)
                    if conn.mail is None and self.envelope.mail_from is not None:
                        self.envelope = Envelope()  # RSET, or a refused message
                    continue
                if isinstance(event, ConnectionClosed):
                    break
                assert isinstance(event, Request)
                decided = self._decide(event)
                if isinstance(decided, tuple):
                    self._reply(event, decided)
                    if isinstance(event, StartTLSRequest) and conn.state is State.TLS:
                        self._flush()
                        self._start_tls()
                        return
                    continue
                self._wait(event, decided)
                break
        except Exception:
            log.exception("%s internal error; closing the connection", self.peer_name)
            conn.close_with(Reply(421, "4.3.0", f"{conn.hostname} Internal error, closing"))
        self._flush()

    def _decide(self, event: Request) -> Decision | Awaitable[Decision]:
        handler = self.handler
        session = self.session
        envelope = self.envelope
        if isinstance(event, RcptTo):
            return handler.rcpt(session, envelope, event)
        if isinstance(event, MailFrom):
            return handler.mail(session, envelope, event)
        if isinstance(event, MessageReceived):
            return handler.message(session, envelope, event)
        if isinstance(event, DataCommand):
            return _ACCEPT
        if isinstance(event, Ehlo | Helo):
            self.envelope = Envelope()
            return handler.greeting(session, self.envelope, event)
        if isinstance(event, Quit):
            return handler.quit(session, envelope)
        if isinstance(event, Connect):
            return handler.connect(session, envelope)
        if isinstance(event, StartTLSRequest):
            return _ACCEPT if self.server.tls_context is not None else (_TLS_UNAVAILABLE, False)
        if isinstance(event, AuthRequest):
            return self._authenticate(event)
        raise AssertionError(f"unexpected request {event!r}")  # pragma: no cover

    def _wait(self, event: Request, decided: Awaitable[Decision]) -> None:
        """Run a decision that takes time. Meanwhile the core reads nothing; what the client
        sends piles up until ``_MAX_WAITING_INPUT``, then reading pauses until the reply is
        sent (not at once: a client that waits for the reply, as most do, costs no
        pause/resume system calls)."""
        self.busy = True
        task = asyncio.ensure_future(decided)
        self.server.tasks.add(task)

        def done(task: asyncio.Future[Decision]) -> None:
            self.server.tasks.discard(task)
            self.busy = False
            try:
                decision = task.result()
            except asyncio.CancelledError:
                self.conn.close()
                self._flush()
                return
            except Exception:
                log.exception("%s error while answering %s", self.peer_name, event.verb)
                decision = (Reply(451, "4.3.0", "Internal server error, try again later"), False)
            self.last_activity = self._loop.time()
            if self.conn.closed:  # the client went away meanwhile
                return
            self._reply(event, decision)
            self._resume()
            self._process()

        task.add_done_callback(done)

    def _reply(self, event: Request, decision: Decision) -> None:
        reply, close = decision
        if (
            reply is not None
            and reply.status is None
            and reply.code // 100 in (2, 4, 5)
            and not isinstance(event, Connect | Ehlo | Helo)
        ):
            reply = _with_status(reply, event.verb)
        close = close or self._close_after_reply
        sent = self.conn.send_reply(reply, close=close)
        if self.server.on_reply is not None:
            self._record(event.verb, sent, event)
        if isinstance(event, MessageReceived):
            self.envelope = Envelope()  # the transaction is over, delivered or not
        if log.isEnabledFor(logging.INFO):
            log.info("%s %s %s", self.peer_name, event.verb, _one_line(sent))
            if self.conn.closed and sent.code != 221:
                log.info("%s closing the connection after %s", self.peer_name, sent.code)
        if isinstance(event, AuthRequest) and sent.is_success:
            self.session.authenticated = True
            self.session.login_data = event.username

    def _record(self, verb: str, reply: Reply, event: Request | None) -> None:
        """Tell the server's ``on_reply`` recorder (the test server's transcript) about a
        reply; a failing recorder is logged, never felt by the client."""
        record = self.server.on_reply
        if record is None:
            return
        try:
            record(self, verb, reply, event)
        except Exception:
            log.exception("%s the on_reply recorder failed", self.peer_name)

    def _flush(self) -> None:
        transport = self.transport
        data = self.conn.data_to_send()
        if transport is None:
            return
        if data:
            transport.write(data)
            self.last_activity = self._loop.time()
        if self.conn.closed and not transport.is_closing():
            transport.close()

    # -- shutdown and timeouts (called by the server) ----------------------------------------

    def close_with(self, reply: Reply) -> None:
        """Send ``reply`` (a 421) outside any command and close."""
        if self.transport is None or self.conn.closed:
            return
        log.info("%s - %s", self.peer_name, _one_line(reply))
        self.conn.close_with(reply)
        self._flush()

    def close_after_reply(self) -> None:
        """Close once the command being worked on has its reply."""
        self._close_after_reply = True

    # -- STARTTLS (RFC 3207) and AUTH (RFC 4954) ---------------------------------------------

    def _start_tls(self) -> None:
        context = self.server.tls_context
        transport = self.transport
        assert context is not None and transport is not None
        self.busy = True
        # Stop reading now: the client's handshake must reach the TLS layer, not the core.
        transport.pause_reading()
        self._tls_early = []

        async def upgrade() -> None:
            try:
                new = await self._loop.start_tls(transport, self, context, server_side=True)
            except (OSError, ssl.SSLError, ConnectionError) as exc:
                log.info("%s TLS handshake failed: %s", self.peer_name, exc)
                self._tls_early = None
                self.conn.close()
                transport.abort()
                return
            finally:
                self.busy = False
            early, self._tls_early = self._tls_early or [], None
            if new is None:
                self.conn.close()
                return
            self.transport = new
            self.session.ssl = new.get_extra_info("ssl_object")
            self.session.host_name = None
            self.session.extended_smtp = False
            self.session.authenticated = False
            self.session.login_data = None
            self.envelope = Envelope()
            self.conn.tls_started()
            for data in early:  # sent over TLS already: not discarded (RFC 3207 section 4.2)
                self.conn.receive_data(data)
            self.last_activity = self._loop.time()
            self._process()

        task = asyncio.ensure_future(upgrade())
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    def _authenticate(self, event: AuthRequest) -> Decision | Awaitable[Decision]:
        check = self.server.authenticator
        assert check is not None
        try:
            result = check(self.session, event.mechanism, event.username, event.password)
        except Exception:
            log.exception("%s the authenticator failed", self.peer_name)
            return Reply(454, "4.7.0", "Temporary authentication failure"), False
        if isinstance(result, bool):
            return _ACCEPT if result else (_AUTH_FAILED, False)

        async def later() -> Decision:
            try:
                ok = await result
            except Exception:
                log.exception("%s the authenticator failed", self.peer_name)
                return Reply(454, "4.7.0", "Temporary authentication failure"), False
            return _ACCEPT if ok else (_AUTH_FAILED, False)

        return later()


def _with_status(reply: Reply, verb: str) -> Reply:
    """A reply from a plain string without an enhanced status gets the one that fits
    (RFC 2034)."""
    status = status_for(reply.code, reply.lines[0] if reply.lines else "", verb)
    return Reply(reply.code, status, reply.lines) if status else reply
