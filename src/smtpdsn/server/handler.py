"""The application side of the server: plugins decide, the envelope follows the decision.

:class:`PluginHandler` answers the protocol core's requests (:mod:`smtpdsn.smtp.events`)
by asking the plugins (:class:`~smtpdsn.server.plugins.PluginRunner`). The resolution
decides both the reply and the state: a sender or recipient is added to the envelope only
when the verdict accepts it, and a message is delivered only when the DATA verdict accepts
it, with the ``250`` sent after delivery. A closing verdict closes the connection after
its reply.

When every plugin answers CONT the command is accepted: ``250 2.1.0 Sender OK``,
``250 2.1.5 Recipient OK``, and for DATA ``250 2.0.0 Message accepted for delivery``.

Each method returns a :data:`Decision` at once when the plugins of that stage run inline
(the rules), or an awaitable of one (async plugins, plain plugins in worker threads,
delivery).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from ..reply import Reply
from ..smtp.events import Ehlo, Helo, MailFrom, MessageReceived, RcptTo
from ..verdict import DENYSOFT, OK, Resolution, resolve
from .plugins import PluginRunner, format_peer
from .session import Envelope, Session

__all__ = ["DELIVERY_FAILED_REPLY", "Decision", "Deliver", "PluginHandler"]

log = logging.getLogger("smtpdsn.server")

#: Stores an accepted message (the envelope, content in ``content``) and returns an
#: identifier for the log and the reply, or raises to refuse it (``451 4.3.0``, or
#: ``452 4.3.1`` for a full disk).
Deliver = Callable[[Envelope], Awaitable[str | None]]

#: What the protocol is told: the reply (None: the core's default, i.e. accepted) and
#: whether to close the connection after it.
Decision = tuple[Reply | None, bool]

#: What the client is told when the message could not be stored.
DELIVERY_FAILED_REPLY: Final = Reply(451, "4.3.0", "Could not store the message, try again later")
_SENDER_OK: Final = Reply(250, "2.1.0", "Sender OK")
_RECIPIENT_OK: Final = Reply(250, "2.1.5", "Recipient OK")
_ACCEPT: Final[Decision] = (None, False)
_SENDER_ACCEPTED: Final = resolve(OK, _SENDER_OK)
_RECIPIENT_ACCEPTED: Final = resolve(OK, _RECIPIENT_OK)


def _options(params: dict[str, str | None]) -> list[str]:
    return [k if v is None else f"{k}={v}" for k, v in params.items()]


def _decision(resolution: Resolution) -> Decision:
    reply = resolution.reply
    assert reply is not None
    return reply, resolution.disconnect


class PluginHandler:
    """Answers the server's requests from plugins.

    Args:
        plugins: plugin objects (see :mod:`smtpdsn.server.plugins`), asked in order.
        timeout: seconds a plugin hook may take before it is answered ``451 4.3.0``.
        deliver: an async function that stores an accepted message (e.g. a
            :class:`~smtpdsn.server.maildir.Maildir`'s); None accepts messages without
            storing them.
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
        #: Turns a delivery error into the reply (``smtpdsn serve`` sets the Maildir's:
        #: ``452 4.3.1`` for a full disk).
        self.failure_reply: Callable[[BaseException], Reply] = lambda exc: DELIVERY_FAILED_REPLY

    def close(self) -> None:
        """Let the plugin runner's idle threads end (called by ``SMTPServer.stop``)."""
        self.runner.close()

    # -- one method per request -------------------------------------------------------------

    def _ask(
        self,
        stage: str,
        then: Callable[[Resolution | None], Decision],
        session: Session,
        *args: object,
    ) -> Decision | Awaitable[Decision]:
        runner = self.runner
        if runner.is_inline(stage):
            return then(runner.run_inline(stage, session, *args, peer=session.peer))

        async def later() -> Decision:
            return then(await runner.run(stage, session, *args, peer=session.peer))

        return later()

    def connect(self, session: Session, envelope: Envelope) -> Decision | Awaitable[Decision]:
        """Connect stage: accepted keeps the greeting; a refusal replaces it.

        A greeting may only be 220, 554 or 421 (RFC 5321 sections 3.1 and 4.2), so a
        permanent refusal is sent as ``554`` and a transient one as ``421`` (enhanced status
        and text kept). After a 554 without a closing verdict the session only accepts
        QUIT, NOOP and RSET; a 421 and the closing verdicts close the connection.
        """

        def then(resolution: Resolution | None) -> Decision:
            if resolution is None or resolution.accepted:
                return _ACCEPT
            reply = resolution.reply
            assert reply is not None
            if not reply.is_permanent:  # 4xx, or DISCONNECT's 221
                return reply.with_code(421), True
            return reply.with_code(554), resolution.disconnect

        return self._ask("connect", then, session, envelope)

    def greeting(
        self, session: Session, envelope: Envelope, event: Helo | Ehlo
    ) -> Decision | Awaitable[Decision]:
        """HELO/EHLO: the plugins' ``hook_helo``/``hook_ehlo``. A refusal also drops the
        name an earlier greeting gave, so MAIL then gets ``503 5.5.1``."""
        is_ehlo = isinstance(event, Ehlo)
        hostname = event.hostname

        def then(resolution: Resolution | None) -> Decision:
            if resolution is None or resolution.accepted:
                session.host_name = hostname
                session.extended_smtp = is_ehlo
                return _ACCEPT
            session.host_name = None
            return _decision(resolution)

        return self._ask("ehlo" if is_ehlo else "helo", then, session, envelope, hostname)

    def mail(
        self, session: Session, envelope: Envelope, event: MailFrom
    ) -> Decision | Awaitable[Decision]:
        """MAIL: the plugins' ``hook_mail(session, envelope, address, MailParams)``."""

        def then(resolution: Resolution | None) -> Decision:
            if resolution is None:
                resolution = _SENDER_ACCEPTED
            if resolution.accepted:
                envelope.mail_from = event.address
                envelope.mail_options = _options(event.params)
                envelope.smtp_utf8 = event.smtputf8
                envelope.dsn_mail = event.dsn
            return _decision(resolution)

        return self._ask("mail", then, session, envelope, event.address, event.dsn)

    def rcpt(
        self, session: Session, envelope: Envelope, event: RcptTo
    ) -> Decision | Awaitable[Decision]:
        """RCPT: the plugins' ``hook_rcpt(session, envelope, address, RcptParams)``.

        A plugin may mark the recipient in ``envelope.dsn_then`` (accept, then bounce or
        delay). The mark is kept only when the recipient is accepted; a recipient given
        again is marked (or not) by its last acceptance, as its DSN parameters are.
        """
        address = event.address
        marks = envelope.dsn_then
        earlier = marks.pop(address, None)

        def then(resolution: Resolution | None) -> Decision:
            if resolution is None:
                resolution = _RECIPIENT_ACCEPTED
            if resolution.accepted:
                envelope.rcpt_tos.append(address)
                envelope.rcpt_options.extend(_options(event.params))
                envelope.dsn_rcpt[address] = event.dsn
            else:
                marks.pop(address, None)
                if earlier is not None:
                    marks[address] = earlier
            return _decision(resolution)

        return self._ask("rcpt", then, session, envelope, address, event.dsn)

    def message(
        self, session: Session, envelope: Envelope, event: MessageReceived
    ) -> Decision | Awaitable[Decision]:
        """The message is here: the plugins' ``hook_data``, then delivery.

        The ``250`` is given only after ``deliver`` has stored the message; when it
        raises, the answer is :attr:`failure_reply` of the error (``451 4.3.0``).
        """
        envelope.content = envelope.original_content = event.content

        def then(resolution: Resolution | None) -> Decision | Awaitable[Decision]:
            if resolution is not None and not resolution.accepted:
                return _decision(resolution)
            if self.deliver is None:
                return _decision(resolution) if resolution is not None else _ACCEPT
            return self._store(session, envelope, resolution)

        runner = self.runner
        if runner.is_inline("data"):
            return then(runner.run_inline("data", session, envelope, peer=session.peer))

        async def later() -> Decision:
            decided = then(await runner.run("data", session, envelope, peer=session.peer))
            if isinstance(decided, tuple):
                return decided
            return await decided

        return later()

    def _store(
        self, session: Session, envelope: Envelope, resolution: Resolution | None
    ) -> Decision | Awaitable[Decision]:
        assert self.deliver is not None
        try:
            pending = self.deliver(envelope)
        except Exception as exc:
            return self._failed(session, exc)
        if isinstance(pending, asyncio.Future):
            # A future (the Maildir's): chain the reply on it, without a task.
            decided: asyncio.Future[Decision] = pending.get_loop().create_future()

            def done(stored: asyncio.Future[str | None]) -> None:
                if decided.cancelled():
                    return
                if stored.cancelled():
                    decided.cancel()
                    return
                exc = stored.exception()
                if isinstance(exc, Exception):
                    decided.set_result(self._failed(session, exc))
                elif exc is not None:
                    decided.set_exception(exc)
                else:
                    decided.set_result(self._stored(stored.result(), resolution))

            pending.add_done_callback(done)
            return decided

        async def later() -> Decision:
            try:
                queued = await pending
            except Exception as exc:
                return self._failed(session, exc)
            return self._stored(queued, resolution)

        return later()

    def _failed(self, session: Session, exc: Exception) -> Decision:
        reply = self.failure_reply(exc)
        log.error(
            "%s could not store the message: %s; answering %s",
            format_peer(session.peer),
            exc,
            reply,
            exc_info=not isinstance(exc, OSError),
        )
        return _decision(resolve(DENYSOFT, reply))

    @staticmethod
    def _stored(queued: str | None, resolution: Resolution | None) -> Decision:
        if resolution is None:
            text = "Message accepted for delivery"
            if queued:
                text += f" as {queued}"
            return Reply(250, "2.0.0", text), False
        return _decision(resolution)

    def quit(self, session: Session, envelope: Envelope) -> Decision | Awaitable[Decision]:
        """QUIT: the plugins' ``hook_quit`` run (for their own cleanup); the answer is
        always ``221 2.0.0 Bye``."""
        return self._ask("quit", lambda resolution: _ACCEPT, session, envelope)
