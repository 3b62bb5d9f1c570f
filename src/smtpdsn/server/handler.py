"""The aiosmtpd handler that runs the plugins and keeps the server's state with the reply.

:class:`PluginHandler` implements aiosmtpd's ``handle_*`` hooks. Each asks the plugins
(:class:`~smtpdsn.server.plugins.PluginRunner`), and the resolution decides both the reply
and the state: a sender or recipient is added to the envelope only when the verdict
accepts it, and a message is delivered only when the DATA verdict accepts it, with the
``250`` sent after delivery. A closing verdict makes the server close the connection after
its reply (with :class:`~smtpdsn.server.smtp.DSNSMTP`).

When every plugin answers CONT the command is accepted: ``250 2.1.0 Sender OK``,
``250 2.1.5 Recipient OK``, and for DATA ``250 2.0.0 Message accepted for delivery``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

from ..dsnparams import parse_mail_params, parse_rcpt_params
from ..reply import Reply
from ..verdict import DENYSOFT, OK, Resolution, resolve
from .plugins import PluginRunner, format_peer

__all__ = ["DELIVERY_FAILED_REPLY", "Deliver", "PluginHandler"]

log = logging.getLogger("smtpdsn.server")

#: Stores an accepted message (the envelope, content in ``original_content``) and returns an
#: identifier for the log and the reply, or raises to refuse it with ``451 4.3.0``.
Deliver = Callable[[Any], Awaitable[str | None]]

#: What the client is told when the message could not be stored.
DELIVERY_FAILED_REPLY: Final = Reply(451, "4.3.0", "Could not store the message, try again later")
_SENDER_OK: Final = Reply(250, "2.1.0", "Sender OK")
_RECIPIENT_OK: Final = Reply(250, "2.1.5", "Recipient OK")
_BYE: Final = Reply(221, "2.0.0", "Bye")


class PluginHandler:
    """An aiosmtpd handler whose decisions come from plugins.

    Args:
        plugins: plugin objects (see :mod:`smtpdsn.server.plugins`), asked in order.
        timeout: seconds a plugin hook may take before it is answered ``451 4.3.0``.
        deliver: an async function that stores an accepted message (e.g.
            :meth:`~smtpdsn.server.maildir.Maildir.deliver_async` of its content); None
            accepts messages without storing them.
    """

    def __init__(
        self,
        plugins: Sequence[object] = (),
        *,
        timeout: float = 30.0,
        deliver: Deliver | None = None,
    ) -> None:
        self.runner = PluginRunner(plugins, timeout=timeout)
        self.deliver = deliver

    @staticmethod
    def _apply(server: Any, resolution: Resolution) -> str:
        """The reply to send; asks the server to close after it when the verdict says so."""
        if resolution.disconnect:
            close = getattr(server, "close_after_reply", None)
            if close is not None:
                close()
            else:
                log.warning("this server cannot close after a reply; use DSNSMTP")
        assert resolution.reply is not None
        return str(resolution.reply)

    def close(self) -> None:
        """Let the plugin runner's idle threads end (called by ``SMTPServer.stop``)."""
        self.runner.close()

    async def handle_CONNECT(self, server: Any, session: Any, envelope: Any) -> str | None:
        """Connect stage: None keeps the greeting; a refusal replaces it.

        A greeting may only be 220, 554 or 421 (RFC 5321 sections 3.1 and 4.2), so a
        permanent refusal is sent as ``554`` and a transient one as ``421`` (enhanced status
        and text kept). After a 554 without a closing verdict the session only accepts
        QUIT (RFC 5321 section 3.1); a 421 and the closing verdicts close the connection.
        """
        resolution = await self.runner.run("connect", session, envelope, peer=session.peer)
        if resolution is None or resolution.accepted:
            return None
        reply = resolution.reply
        assert reply is not None
        if not reply.is_permanent:  # 4xx, or DISCONNECT's 221
            server.close_after_reply()
            return str(reply.with_code(421))
        if resolution.disconnect:
            server.close_after_reply()
        else:
            server.refuse_session()
        return str(reply.with_code(554))

    async def _greet(self, stage: str, server: Any, session: Any, envelope: Any, host: str) -> str:
        resolution = await self.runner.run(stage, session, envelope, host, peer=session.peer)
        if resolution is None or resolution.accepted:
            session.host_name = host
            return ""
        session.host_name = None  # a refusal also drops the name an earlier greeting gave
        return self._apply(server, resolution)

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        """HELO: the plugins' ``hook_helo``; accepted, it answers ``250 <server name>``."""
        refused = await self._greet("helo", server, session, envelope, hostname)
        return refused or f"250 {server.hostname}"

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        """EHLO: the plugins' ``hook_ehlo``; accepted, it answers with the extensions."""
        refused = await self._greet("ehlo", server, session, envelope, hostname)
        return [refused] if refused else responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        """MAIL: the plugins' ``hook_mail(session, envelope, address, MailParams)``."""
        params = parse_mail_params(mail_options)
        resolution = await self.runner.run(
            "mail", session, envelope, address, params, peer=session.peer
        )
        if resolution is None:
            resolution = resolve(OK, _SENDER_OK)
        if resolution.accepted:
            envelope.mail_from = address
            envelope.mail_options.extend(mail_options)
        return self._apply(server, resolution)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        """RCPT: the plugins' ``hook_rcpt(session, envelope, address, RcptParams)``.

        A plugin may mark the recipient in ``envelope.dsn_then`` (accept, then bounce or
        delay). The mark is kept only when the recipient is accepted; a recipient given
        again is marked (or not) by its last acceptance, as its DSN parameters are.
        """
        params = parse_rcpt_params(rcpt_options)
        marks = getattr(envelope, "dsn_then", None)
        earlier = marks.pop(address, None) if isinstance(marks, dict) else None
        resolution = await self.runner.run(
            "rcpt", session, envelope, address, params, peer=session.peer
        )
        if resolution is None:
            resolution = resolve(OK, _RECIPIENT_OK)
        if resolution.accepted:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
        elif isinstance(marks, dict):
            marks.pop(address, None)
            if earlier is not None:
                marks[address] = earlier
        return self._apply(server, resolution)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """DATA (the message is received): the plugins' ``hook_data``, then delivery.

        The ``250`` is returned only after ``deliver`` has stored the message; when it
        raises, the answer is ``451 4.3.0`` and the message counts as not accepted.
        """
        resolution = await self.runner.run("data", session, envelope, peer=session.peer)
        if resolution is not None and not resolution.accepted:
            return self._apply(server, resolution)
        queued: str | None = None
        if self.deliver is not None:
            try:
                queued = await self.deliver(envelope)
            except Exception:
                log.exception("%s could not store the message", format_peer(session.peer))
                return self._apply(server, resolve(DENYSOFT, DELIVERY_FAILED_REPLY))
        if resolution is None:
            text = "Message accepted for delivery"
            if queued:
                text += f" as {queued}"
            resolution = resolve(OK, Reply(250, "2.0.0", text))
        return self._apply(server, resolution)

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        """QUIT: the plugins' ``hook_quit`` run (for their own cleanup); the answer is
        always ``221 2.0.0 Bye``."""
        await self.runner.run("quit", session, envelope, peer=session.peer)
        return str(_BYE)

    async def handle_exception(self, error: Exception) -> str:
        """An error outside the plugins: logged with its traceback, answered 451 4.3.0."""
        log.error("error in SMTP session", exc_info=error)
        return str(resolve(DENYSOFT, Reply(451, "4.3.0", "Internal server error")).reply)
