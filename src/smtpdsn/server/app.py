"""Build and run the server: :class:`SMTPServer` (start, stop) and :func:`serve` (until a
signal).

>>> async def main() -> None:                                        # doctest: +SKIP
...     server = SMTPServer(PluginHandler([MyPlugin()]), port=0)
...     await server.start()
...     print(server.port)
...     await server.stop()
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import signal
import socket
import ssl
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..reply import Reply
from ..report import InvalidReportError
from ..report.checks import host_name
from ..smtp import DEFAULT_MAX_RECIPIENTS, Request
from .address_rules import AddressRulesPlugin
from .bounce import build_bounce
from .handler import PluginHandler
from .maildir import Maildir, delivery_failure_reply
from .protocol import Authenticator, SMTPProtocol
from .rules import DEFAULT_RULES, Rule, RulesPlugin, parse_rules
from .tlsauth import CredentialsAuthenticator, load_tls_context

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_MAX_SIZE",
    "SMTPServer",
    "ServerConfig",
    "build_server",
    "serve",
]

log = logging.getLogger("smtpdsn.server")

#: The default message size limit (advertised with SIZE), 10 MiB.
DEFAULT_MAX_SIZE = 10 * 1024 * 1024
#: The default listen backlog; the kernel caps it at net.core.somaxconn.
DEFAULT_BACKLOG = 1024


class SMTPServer:
    """An SMTP server on one address: smtpdsn's protocol core
    (:mod:`smtpdsn.smtp`) under an asyncio transport
    (:class:`~smtpdsn.server.protocol.SMTPProtocol`).

    Args:
        handler: what answers the clients' requests, usually a
            :class:`~smtpdsn.server.handler.PluginHandler`.
        host, port: where to listen; port 0 picks a free port (see :attr:`port`).
        hostname: the name in the greeting and the EHLO reply.
        data_size_limit: the largest message accepted, advertised with SIZE (None: no
            limit).
        timeout: seconds a client may stay silent before it is told 421 4.4.2 and dropped.
        enable_smtputf8: advertise and accept SMTPUTF8 (RFC 6531).
        max_recipients: the most recipients per transaction; more get ``452 4.5.3``.
        backlog: the listening socket's queue of connections not yet accepted (the
            kernel caps it at ``net.core.somaxconn``).
        tls_context: offer STARTTLS with this server-side context (RFC 3207).
        smtps_port: also listen on this port with implicit TLS (RFC 8314 section 3.3:
            TLS from the first byte, no STARTTLS); 0 picks a free port (see
            :attr:`smtps_port`). Needs ``tls_context``.
        authenticator: offer AUTH PLAIN and LOGIN (RFC 4954), checking credentials with
            it (see :data:`~smtpdsn.server.protocol.Authenticator`).
        auth_require_tls: offer AUTH only after STARTTLS (the default).
        auth_required: MAIL needs a successful AUTH first.
        require_starttls: MAIL needs STARTTLS first (``530 5.7.0``).

    Raises:
        TypeError: an unknown keyword argument (aiosmtpd's ``SMTP`` arguments are gone;
            see CHANGELOG.md).
    """

    def __init__(
        self,
        handler: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 2525,
        hostname: str | None = None,
        data_size_limit: int | None = DEFAULT_MAX_SIZE,
        timeout: float = 300.0,
        enable_smtputf8: bool = True,
        max_recipients: int = DEFAULT_MAX_RECIPIENTS,
        backlog: int = DEFAULT_BACKLOG,
        tls_context: ssl.SSLContext | None = None,
        authenticator: Authenticator | None = None,
        auth_require_tls: bool = True,
        auth_required: bool = False,
        require_starttls: bool = False,
        smtps_port: int | None = None,
    ) -> None:
        if max_recipients <= 0:
            raise ValueError(f"max_recipients must be positive, got {max_recipients!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        if backlog <= 0:
            raise ValueError(f"backlog must be positive, got {backlog!r}")
        if smtps_port is not None and tls_context is None:
            raise ValueError(f"smtps_port={smtps_port!r} needs a tls_context")
        self.handler = handler
        self.host = host
        self.port = port
        self.hostname = hostname or socket.gethostname() or "localhost"
        self.data_size_limit = data_size_limit
        self.timeout = timeout
        self.enable_smtputf8 = enable_smtputf8
        self.max_recipients = max_recipients
        self.backlog = backlog
        self.tls_context = tls_context
        self.authenticator = authenticator
        self.auth_require_tls = auth_require_tls
        self.auth_required = auth_required
        self.require_starttls = require_starttls
        self.smtps_port = smtps_port
        #: The certificate file clients can trust, when :func:`build_server` made a
        #: self-signed one (``ServerConfig.tls_self_signed``).
        self.tls_cert_file: Path | None = None
        self._server: asyncio.Server | None = None
        self._smtps_server: asyncio.Server | None = None
        #: Called by :meth:`stop` once every connection is closed, to release resources
        #: such as the threads of a Maildir (``Maildir.close``). The handler's ``close()``
        #: (``PluginHandler.close``) is called as well.
        self.on_stop: list[Callable[[], None]] = []
        #: The open connections.
        self.connections: set[SMTPProtocol] = set()
        #: The requests being decided (tasks), so that :meth:`stop` can wait for them.
        self.tasks: set[asyncio.Future[Any]] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        #: Called with ``(protocol, verb, reply, request)`` for every reply sent to a
        #: client (``request`` is None when the protocol core answered by itself, e.g. a
        #: syntax error or RSET), on the server's loop; :mod:`smtpdsn.testing` records
        #: its transcript with it. None (the default) costs nothing.
        self.on_reply: Callable[[SMTPProtocol, str, Reply, Request | None], None] | None = None
        #: Where the connections' reads land (see ``SMTPProtocol.get_buffer``).
        self.read_buffer = memoryview(bytearray(65536))

    async def start(self) -> None:
        """Listen (on the SMTPS port too when there is one). Afterwards :attr:`port` and
        :attr:`smtps_port` are the ports actually bound.

        Raises:
            OSError: an address cannot be bound (in use, not permitted ...); nothing is left
                listening.
        """
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTPProtocol(self), self.host, self.port, backlog=self.backlog
        )
        if self.smtps_port is not None:
            try:
                self._smtps_server = await loop.create_server(
                    lambda: SMTPProtocol(self, tls=True),
                    self.host,
                    self.smtps_port,
                    backlog=self.backlog,
                    ssl=self.tls_context,
                )
            except BaseException:
                server.close()
                await server.wait_closed()
                raise
            self.smtps_port = self._smtps_server.sockets[0].getsockname()[1]
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        self._schedule_sweep(loop)
        log.info("listening on %s:%d", self.host, self.port)
        if self._smtps_server is not None:
            log.info("listening on %s:%d (SMTPS, implicit TLS)", self.host, self.smtps_port)

    def _schedule_sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        self._sweeper = loop.call_later(min(1.0, self.timeout / 4), self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tell the clients that have been silent too long ``421 4.4.2`` (one timer for
        every connection, not one per connection and read)."""
        deadline = loop.time() - self.timeout
        for proto in list(self.connections):
            if not proto.busy and proto.last_activity < deadline:
                proto.close_with(
                    Reply(421, "4.4.2", f"{self.hostname} Timeout, closing connection")
                )
        if self._server is not None:
            self._schedule_sweep(loop)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening and close every connection.

        An idle client is told ``421 4.3.2`` at once. A client in the middle of a command
        (a plugin call, a message being stored) gets that command's reply first, so a
        message being stored is acknowledged, and then the connection closes. After
        ``grace`` seconds the remaining connections are closed with ``421 4.3.2``.
        """
        if self._server is None:
            return
        server, self._server = self._server, None
        smtps, self._smtps_server = self._smtps_server, None
        server.close()
        if smtps is not None:
            smtps.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        bye = Reply(421, "4.3.2", f"{self.hostname} Service shutting down, closing connection")
        for proto in list(self.connections):
            if proto.busy:
                proto.close_after_reply()
            else:
                proto.close_with(bye)
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=grace)
        for proto in list(self.connections):
            proto.close_with(bye)
        await server.wait_closed()
        if smtps is not None:
            await smtps.wait_closed()
        # Without waiting: a hung plain hook's daemon thread must not keep us from stopping.
        close = getattr(self.handler, "close", None)
        if callable(close):
            close()
        for callback in self.on_stop:
            callback()
        log.info("stopped")


@dataclass
class ServerConfig:
    """What ``smtpdsn serve`` runs; see :func:`build_server`."""

    host: str = "127.0.0.1"
    port: int = 2525
    #: The rules; None for the default rules (:data:`~smtpdsn.server.rules.DEFAULT_RULES`).
    rules: Sequence[Rule] | None = None
    #: Where accepted messages are stored; None accepts them without storing them.
    maildir: Path | None = Path("maildir")
    max_size: int | None = DEFAULT_MAX_SIZE
    #: Plugins asked before the rules.
    plugins: Sequence[object] = field(default_factory=tuple)
    plugin_timeout: float = 30.0
    timeout: float = 300.0
    hostname: str | None = None
    #: The most recipients per transaction; more get ``452 4.5.3 Too many recipients``.
    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    #: The listening socket's backlog.
    backlog: int = DEFAULT_BACKLOG
    #: Threads that write and fsync messages, each taking the deliveries waiting as one
    #: batch (group commit). One costs the least CPU per message (larger batches, no
    #: contention); more keep several fsyncs in flight on a slow disk.
    maildir_writers: int = 1
    #: A PEM certificate chain and its key: STARTTLS is offered (RFC 3207). Both or neither.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Make a self-signed certificate for :attr:`hostname` at start instead (needs the
    #: ``tls`` extra); it is written to :attr:`tls_self_signed_dir`, or to a temporary
    #: directory removed when the server stops, and its path is logged and kept in
    #: ``SMTPServer.tls_cert_file``.
    tls_self_signed: bool = False
    tls_self_signed_dir: Path | None = None
    #: Also listen on this port with implicit TLS (RFC 8314); needs a certificate.
    smtps_port: int | None = None
    #: ``(user, password)`` pairs accepted by AUTH PLAIN and LOGIN (RFC 4954).
    auth: Sequence[tuple[str, str]] = field(default_factory=tuple)
    #: Offer AUTH before TLS too; by default it is offered only after STARTTLS or on the
    #: SMTPS port (a client trying earlier gets ``538 5.7.11``).
    auth_insecure: bool = False
    #: Failures named in the address (``bob+550-5.1.1@example.test``), asked after the
    #: rules when no rule matched (:mod:`~smtpdsn.server.address_rules`).
    address_rules: bool = True


def _reporting_mta(hostname: str, bounces: bool) -> str:
    """The name DSNs are written with: the server's name, or ``localhost`` when that is not
    a host name that fits a Reporting-MTA field."""
    try:
        host_name(hostname)
    except InvalidReportError:
        if bounces:
            log.warning("%r is not a host name; DSNs name the reporting MTA localhost", hostname)
        return "localhost"
    return hostname


def build_server(config: ServerConfig) -> SMTPServer:
    """The server for ``config``: its plugins, then the rules, then (unless
    ``config.address_rules`` is False) the failures named in the address, delivering to the
    Maildir.

    A recipient that a rule (``then = "bounce"`` / ``"delay"``) or a plugin marked in
    ``envelope.dsn_then`` gets a DSN (:func:`~smtpdsn.server.bounce.build_bounce`), stored
    in the Maildir after the original message in the same delivery step, before the
    ``250``. If the DSN cannot be built or stored, neither file is kept and the client
    gets ``451 4.3.0``.

    Raises:
        OSError: the Maildir cannot be created.
        ValueError: the TLS or AUTH settings do not fit together, or the certificate
            cannot be loaded (:class:`~smtpdsn.server.tlsauth.TLSConfigError`).
        smtpdsn.server.selfsigned.SelfSignedError: ``tls_self_signed`` without the
            ``cryptography`` package.
    """
    if (config.tls_cert is None) != (config.tls_key is None):
        raise ValueError("a TLS certificate needs its key, and a key its certificate")
    if config.tls_self_signed and config.tls_cert is not None:
        raise ValueError("give either a TLS certificate and key or tls_self_signed, not both")
    tls_on = config.tls_self_signed or config.tls_cert is not None
    if config.smtps_port is not None and not tls_on:
        raise ValueError(f"smtps_port={config.smtps_port!r} needs a TLS certificate")
    if config.auth and not (tls_on or config.auth_insecure):
        raise ValueError("AUTH is offered only over TLS: give a certificate, or auth_insecure")
    rules = config.rules if config.rules is not None else parse_rules(DEFAULT_RULES, "<default>")
    plugins = [*config.plugins, RulesPlugin(rules)]
    if config.address_rules:
        plugins.append(AddressRulesPlugin())
    hostname = config.hostname or socket.gethostname() or "localhost"
    bounces = config.address_rules or any(rule.then for rule in rules)
    reporting_mta = _reporting_mta(hostname, bounces)
    deliver = None
    if config.maildir is not None:
        maildir = Maildir(config.maildir, writers=config.maildir_writers)

        def deliver_to_maildir(envelope: Any) -> asyncio.Future[str | None]:
            original = envelope.original_content or b""
            dsn = None
            if envelope.dsn_then:  # a recipient marked to bounce or delay
                arrival = datetime.now(UTC)
                dsn = build_bounce(envelope, reporting_mta=reporting_mta, arrival=arrival)
            stored = maildir.submit([original] if dsn is None else [original, bytes(dsn)])
            named: asyncio.Future[str | None] = stored.get_loop().create_future()

            def done(stored: asyncio.Future[list[str]]) -> None:
                if named.cancelled():
                    return
                if stored.cancelled():
                    named.cancel()
                elif (exc := stored.exception()) is not None:
                    named.set_exception(exc)
                else:
                    names = stored.result()
                    if len(names) > 1:
                        log.info("DSN to <%s> stored as %s", envelope.mail_from, names[1])
                    named.set_result(names[0])

            stored.add_done_callback(done)
            return named

        deliver = deliver_to_maildir
    tls_context, cert_file, cleanup = _tls_context(config, hostname)
    handler = PluginHandler(plugins, timeout=config.plugin_timeout, deliver=deliver)
    handler.failure_reply = delivery_failure_reply
    server = SMTPServer(
        handler,
        host=config.host,
        port=config.port,
        hostname=hostname,
        data_size_limit=config.max_size,
        timeout=config.timeout,
        max_recipients=config.max_recipients,
        backlog=config.backlog,
        tls_context=tls_context,
        smtps_port=config.smtps_port,
        authenticator=CredentialsAuthenticator(config.auth) if config.auth else None,
        auth_require_tls=not config.auth_insecure,
    )
    server.tls_cert_file = cert_file
    if cleanup is not None:
        server.on_stop.append(cleanup)
    if config.maildir is not None:
        server.on_stop.append(maildir.close)
    return server


def _tls_context(
    config: ServerConfig, hostname: str
) -> tuple[ssl.SSLContext | None, Path | None, Callable[[], None] | None]:
    """The TLS context ``config`` asks for, the self-signed certificate's path (or None),
    and what removes its temporary directory when the server stops (or None)."""
    if config.tls_cert is not None and config.tls_key is not None:
        return load_tls_context(config.tls_cert, config.tls_key), None, None
    if not config.tls_self_signed:
        return None, None, None
    from .selfsigned import make_self_signed

    directory = config.tls_self_signed_dir
    temporary = directory is None
    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="smtpdsn-tls-"))
    try:
        cert, key = make_self_signed(hostname, directory)
        context = load_tls_context(cert, key)
    except BaseException:
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
        raise
    log.info("TLS: self-signed certificate for %s: %s", hostname, cert)

    def remove() -> None:
        shutil.rmtree(directory, ignore_errors=True)

    return context, cert, remove if temporary else None


async def serve(config: ServerConfig, *, ready: asyncio.Event | None = None) -> None:
    """Run the server until SIGINT or SIGTERM (or until the task is cancelled)."""
    server = build_server(config)
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
        log.info("signal received, stopping")
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await server.stop()
