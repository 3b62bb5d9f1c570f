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
import signal
import socket
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from ..report import InvalidReportError
from ..report.checks import host_name
from .bounce import build_bounce
from .handler import PluginHandler
from .maildir import Maildir
from .rules import DEFAULT_RULES, Rule, RulesPlugin, parse_rules
from .smtp import DEFAULT_MAX_RECIPIENTS, DSNSMTP

__all__ = ["DEFAULT_MAX_SIZE", "SMTPServer", "ServerConfig", "build_server", "serve"]

log = logging.getLogger("smtpdsn.server")

#: The default message size limit (advertised with SIZE), 10 MiB.
DEFAULT_MAX_SIZE = 10 * 1024 * 1024


class SMTPServer:
    """An SMTP server (:class:`~smtpdsn.server.smtp.DSNSMTP`) on one address.

    Args:
        handler: the aiosmtpd handler, usually a
            :class:`~smtpdsn.server.handler.PluginHandler`.
        host, port: where to listen; port 0 picks a free port (see :attr:`port`).
        hostname: the name in the greeting and the EHLO reply.
        data_size_limit: the largest message accepted, advertised with SIZE (None: no
            limit).
        timeout: seconds a client may stay silent before it is told 421 4.4.2 and dropped.
        enable_smtputf8: advertise and accept SMTPUTF8 (RFC 6531).
        max_recipients: the most recipients per transaction; more get ``452 4.5.3``.
        smtp_kwargs: further arguments for :class:`~smtpdsn.server.smtp.DSNSMTP` (aiosmtpd's
            ``tls_context``, ``authenticator``, ``auth_require_tls``, ``command_call_limit``
            ...).
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
        **smtp_kwargs: Any,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.hostname = hostname or socket.gethostname() or "localhost"
        self.data_size_limit = data_size_limit
        self.timeout = timeout
        self.enable_smtputf8 = enable_smtputf8
        self.max_recipients = max_recipients
        self.smtp_kwargs = smtp_kwargs
        self._server: asyncio.Server | None = None
        #: Called by :meth:`stop` once every connection is closed, to release resources
        #: such as the threads of a Maildir (``Maildir.close``). The handler's ``close()``
        #: (``PluginHandler.close``) is called as well.
        self.on_stop: list[Callable[[], None]] = []
        self._connections: weakref.WeakSet[DSNSMTP] = weakref.WeakSet()

    def _protocol(self) -> DSNSMTP:
        proto = DSNSMTP(
            self.handler,
            hostname=self.hostname,
            data_size_limit=self.data_size_limit,
            timeout=self.timeout,
            enable_SMTPUTF8=self.enable_smtputf8,
            max_recipients=self.max_recipients,
            loop=asyncio.get_running_loop(),
            **self.smtp_kwargs,
        )
        self._connections.add(proto)
        return proto

    async def start(self) -> None:
        """Listen. Afterwards :attr:`port` is the port actually bound.

        Raises:
            OSError: the address cannot be bound (in use, not permitted ...).
        """
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("listening on %s:%d", self.host, self.port)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening and close every connection.

        An idle client is told ``421 4.3.2`` at once. A client in the middle of a command
        (a plugin call, a message being received or stored) gets that command's reply
        first, so a message being stored is acknowledged, and then the connection closes.
        After ``grace`` seconds the remaining connections are closed with ``421 4.3.2``.
        """
        if self._server is None:
            return
        self._server.close()
        tasks = []
        for proto in list(self._connections):
            transport = proto.transport
            if transport is None or transport.is_closing():
                continue
            if proto.busy:
                proto.close_after_reply()
            else:
                self._goodbye(proto)
            task = proto._handler_coroutine
            if task is not None and not task.done():
                tasks.append(task)
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for proto in list(self._connections):
            self._goodbye(proto)
        await self._server.wait_closed()
        self._server = None
        # Without waiting: a hung plain hook's daemon thread must not keep us from stopping.
        close = getattr(self.handler, "close", None)
        if callable(close):
            close()
        for callback in self.on_stop:
            callback()
        log.info("stopped")

    def _goodbye(self, proto: DSNSMTP) -> None:
        transport = proto.transport
        if transport is not None and not transport.is_closing():
            bye = f"421 4.3.2 {self.hostname} Service shutting down, closing connection"
            log.info("%s - %s", proto.peer_name, bye)
            cast(asyncio.WriteTransport, transport).write(bye.encode("ascii") + b"\r\n")
            transport.close()


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
    """The server for ``config``: its plugins, then the rules, delivering to the Maildir.

    A recipient that a rule (``then = "bounce"`` / ``"delay"``) or a plugin marked in
    ``envelope.dsn_then`` gets a DSN (:func:`~smtpdsn.server.bounce.build_bounce`), stored
    in the Maildir after the original message in the same delivery step, before the
    ``250``. If the DSN cannot be built or stored, neither file is kept and the client
    gets ``451 4.3.0``.

    Raises:
        OSError: the Maildir cannot be created.
    """
    rules = config.rules if config.rules is not None else parse_rules(DEFAULT_RULES, "<default>")
    plugins = [*config.plugins, RulesPlugin(rules)]
    hostname = config.hostname or socket.gethostname() or "localhost"
    reporting_mta = _reporting_mta(hostname, any(rule.then for rule in rules))
    deliver = None
    if config.maildir is not None:
        maildir = Maildir(config.maildir)

        def store(envelope: Any) -> str:
            original = envelope.original_content or b""
            dsn = build_bounce(envelope, reporting_mta=reporting_mta, arrival=datetime.now(UTC))
            if dsn is None:
                return maildir.deliver(original)
            name, dsn_name = maildir.deliver_all([original, bytes(dsn)])
            log.info("DSN to <%s> stored as %s", envelope.mail_from, dsn_name)
            return name

        async def deliver_to_maildir(envelope: Any) -> str | None:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(maildir.pool, store, envelope)

        deliver = deliver_to_maildir
    handler = PluginHandler(plugins, timeout=config.plugin_timeout, deliver=deliver)
    server = SMTPServer(
        handler,
        host=config.host,
        port=config.port,
        hostname=hostname,
        data_size_limit=config.max_size,
        timeout=config.timeout,
        max_recipients=config.max_recipients,
    )
    if config.maildir is not None:
        server.on_stop.append(maildir.close)
    return server


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
