"""The aiosmtpd SMTP protocol, made RFC 2034 and RFC 3461 compliant.

:class:`DSNSMTP` is :class:`aiosmtpd.smtp.SMTP` with these changes:

* EHLO advertises ``PIPELINING``, ``ENHANCEDSTATUSCODES`` and ``DSN`` (besides SIZE,
  8BITMIME, SMTPUTF8 as aiosmtpd does), and sends its reply as one write.
* Every 2xx/4xx/5xx reply gets an enhanced status code when it has none, aiosmtpd's own
  replies included (``250 OK`` -> ``250 2.1.5 OK`` for RCPT), except the greeting and the
  replies to HELO and EHLO (RFC 2034 section 4). See :mod:`smtpdsn.server.enhance`.
* MAIL accepts ``RET`` and ``ENVID``, RCPT accepts ``NOTIFY`` and ``ORCPT``, with their
  values' case preserved (aiosmtpd upper-cases parameters and refuses these with 555).
  Invalid values, and any parameter given twice, are answered ``501 5.5.4`` naming the
  parameter. The envelope (:class:`DSNEnvelope`) keeps them for plugins and bounces.
* A ``421`` reply, or a reply after which the handler called :meth:`DSNSMTP.close_after_reply`
  (DENYDISCONNECT ...), closes the connection once sent.
* A handler's ``handle_CONNECT(server, session, envelope)`` hook may replace the greeting.
* An idle client is told ``421 4.4.2`` before the connection is closed. The timer restarts
  whenever data arrives (a long DATA sent steadily is not cut off) and is stopped while the
  server itself works on a command (a handler hook: plugins, delivery).
* At most ``max_recipients`` recipients per transaction; further RCPTs get ``452 4.5.3``.
* One log line (logger ``smtpdsn.server``) per reply sent: peer, command, reply.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiosmtpd.smtp import MISSING, SMTP, Envelope, syntax

from .._version import __version__
from ..dsnparams import (
    DSNParameterError,
    MailParams,
    RcptParams,
    mail_params,
    parse_esmtp_params,
    rcpt_params,
)
from .bounce import Then
from .enhance import add_enhanced_status
from .plugins import format_peer

__all__ = ["DEFAULT_MAX_RECIPIENTS", "DSNSMTP", "DSNEnvelope"]

log = logging.getLogger("smtpdsn.server")

# RFC 3461 section 4 (and 5321 4.5.3.1.4): how much longer MAIL and RCPT may grow.
_MAIL_EXTRA = 26 + 10 + 120  # SIZE=, SMTPUTF8, " RET=HDRS ENVID=" + 100
_RCPT_EXTRA = 540  # " NOTIFY=SUCCESS,DELAY,FAILURE ORCPT=" + 500


class DSNEnvelope(Envelope):
    """aiosmtpd's envelope, with the transaction's DSN parameters.

    Attributes:
        dsn_mail: the MAIL FROM's RET and ENVID (:class:`~smtpdsn.dsnparams.MailParams`);
            all None when the client sent neither.
        dsn_rcpt: for each accepted recipient (the address as in ``rcpt_tos``), its
            NOTIFY and ORCPT (:class:`~smtpdsn.dsnparams.RcptParams`). A recipient given
            twice keeps the parameters of its last acceptance.
        dsn_then: the accepted recipients that are to be bounced or delayed once the
            message is received (a rule's ``then``, or a plugin's
            :class:`~smtpdsn.server.bounce.Then`), keyed like ``dsn_rcpt``. An entry for
            a recipient that ends up refused is dropped.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dsn_mail: MailParams = MailParams()
        self.dsn_rcpt: dict[str, RcptParams] = {}
        self.dsn_then: dict[str, Then] = {}


def _options(params: dict[str, str | None]) -> list[str]:
    return [k if v is None else f"{k}={v}" for k, v in params.items()]


#: The default limit of recipients per transaction (RFC 5321 4.5.3.1.8 asks for >= 100).
DEFAULT_MAX_RECIPIENTS = 1000


class DSNSMTP(SMTP):
    """aiosmtpd's SMTP protocol with enhanced status codes and the DSN extension.

    Takes the same arguments as :class:`aiosmtpd.smtp.SMTP`, and ``max_recipients``: the
    most recipients one transaction may have; an RCPT beyond it gets ``452 4.5.3 Too many
    recipients`` (RFC 5321 section 4.5.3.1.10).
    """

    def __init__(
        self, handler: Any, *args: Any, max_recipients: int = DEFAULT_MAX_RECIPIENTS, **kwargs: Any
    ) -> None:
        if max_recipients <= 0:
            raise ValueError(f"max_recipients must be positive, got {max_recipients!r}")
        self.max_recipients = max_recipients
        self._timer_paused = 0
        kwargs.setdefault("ident", f"smtpdsn {__version__}")
        super().__init__(handler, *args, **kwargs)
        # aiosmtpd keeps these limits in a class attribute shared by every connection and
        # adds to it on each EHLO; keep our own, set (not added to) on EHLO.
        base = self.command_size_limit
        self.command_size_limits: collections.defaultdict[str, int] = collections.defaultdict(
            lambda: base
        )
        self._command: str | None = None
        self._greeting_sent = False
        self._greeting: str | None = None
        self._close_requested = False
        self._refused = False
        for name, method in list(self._smtp_methods.items()):
            self._smtp_methods[name] = self._tracked(name, method)

    # -- state ------------------------------------------------------------------------------

    @property
    def peer_name(self) -> str:
        """The client's address for log lines: ``127.0.0.1:51234`` or ``[::1]:51234``."""
        return format_peer(self.session.peer if self.session is not None else None)

    def _create_envelope(self) -> DSNEnvelope:
        return DSNEnvelope()

    @property
    def busy(self) -> bool:
        """True while a command is being handled (a plugin call, a DATA transfer ...)."""
        return self._command is not None

    def close_after_reply(self) -> None:
        """Close the connection after the next reply is sent (DENYDISCONNECT ...)."""
        self._close_requested = True

    def refuse_session(self) -> None:
        """Answer every later command but QUIT, NOOP and RSET with ``503 5.5.1`` (a 554
        greeting, RFC 5321 section 3.1)."""
        self._refused = True

    def _tracked(
        self, name: str, method: Callable[[str | None], Awaitable[None]]
    ) -> Callable[[str | None], Awaitable[None]]:
        @functools.wraps(method)
        async def run(arg: str | None) -> None:
            self._command = name
            try:
                if self._refused and name not in ("QUIT", "NOOP", "RSET"):
                    await self.push("503 5.5.1 Connection refused; only QUIT is allowed")
                    return
                await method(arg)
            finally:
                self._command = None

        return run

    # -- output -----------------------------------------------------------------------------

    async def _handle_client(self) -> None:
        hook = self._handle_hooks.get("CONNECT")
        if hook is not None:
            try:
                status = await self._call_handler_hook("CONNECT")
            except Exception:
                log.exception("%s error in handle_CONNECT", self.peer_name)
                status = "421 4.3.0 Temporary local problem, try again later"
            if status is not None and status is not MISSING:
                self._greeting = str(status)
                if self._greeting.startswith("421"):
                    self._close_requested = True
        if self._close_requested and self._greeting is not None:
            # A refusal that closes: send it instead of the greeting and stop.
            self._greeting_sent = True
            await self.push(self._greeting)
            return
        await super()._handle_client()

    async def push(self, status: str | bytes) -> None:
        """Send one reply (lines joined by CRLF, no final CRLF), with enhanced codes."""
        text = status if isinstance(status, str) else status.decode("utf-8", "surrogateescape")
        command = self._command
        if not self._greeting_sent:
            self._greeting_sent = True
            command = "CONNECT"
            if self._greeting is not None:
                text = self._greeting
        elif command not in ("HELO", "EHLO"):
            text = add_enhanced_status(text, command)
        text = _clean(text)
        transport = self.transport
        peer = self.peer_name
        if transport is None or transport.is_closing():
            log.info("%s %s (connection closed, not sent) %s", peer, command or "-", _one(text))
            return
        log.info("%s %s %s", peer, command or "-", _one(text))
        encoding = "utf-8" if self.enable_SMTPUTF8 else "ascii"
        self._writer.write(text.encode(encoding, "replace") + b"\r\n")
        closing = (self._close_requested and not text.startswith("3")) or text.startswith("421")
        try:
            await self._writer.drain()
        finally:
            if closing:
                self._close_requested = False
                log.info("%s closing the connection after %s", peer, text[:3])
                transport.close()
                if self._handler_coroutine is not None:
                    self._handler_coroutine.cancel()

    # -- the idle timer ---------------------------------------------------------------------

    def _reset_timeout(self, duration: float | None = None) -> None:
        """Restart the idle timer; while a handler hook runs, only stop it."""
        if self._timer_paused:
            if self._timeout_handle is not None:
                self._timeout_handle.cancel()
            return
        super()._reset_timeout(duration)

    def data_received(self, data: bytes) -> None:
        """Any data from the client shows it is not idle (not only a complete command)."""
        if self.transport is not None and not self.transport.is_closing():
            self._reset_timeout()
        super().data_received(data)

    async def _call_handler_hook(self, command: str, *args: Any) -> Any:
        """A handler hook, with the idle timer stopped while it runs: the client is waiting
        for us, not idle."""
        self._timer_paused += 1
        self._reset_timeout()
        try:
            return await super()._call_handler_hook(command, *args)
        finally:
            self._timer_paused -= 1
            transport = self.transport
            if not self._timer_paused and transport is not None and not transport.is_closing():
                self._reset_timeout()

    def _timeout_cb(self) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            peer = self.peer_name
            text = f"421 4.4.2 {self.hostname} Timeout, closing connection"
            log.info("%s %s %s", peer, self._command or "-", text)
            cast(asyncio.WriteTransport, transport).write(text.encode("ascii") + b"\r\n")
        super()._timeout_cb()  # type: ignore[no-untyped-call]

    async def handle_exception(self, error: Exception) -> str:
        """A server error: logged with its traceback, answered ``451 4.3.0``."""
        if hasattr(self.event_handler, "handle_exception"):
            return str(await self.event_handler.handle_exception(error))
        log.error("%s error in SMTP session", self.peer_name, exc_info=error)
        return "451 4.3.0 Internal server error, try again later"

    # -- commands ---------------------------------------------------------------------------

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str | None) -> None:
        """EHLO, advertising PIPELINING, ENHANCEDSTATUSCODES and DSN; one write."""
        if not hostname:
            await self.push("501 Syntax: EHLO hostname")
            return
        self._set_rset_state()  # type: ignore[no-untyped-call]
        assert self.session is not None
        self.session.extended_smtp = True
        base = self.command_size_limit
        self.command_size_limits["MAIL"] = base + _MAIL_EXTRA
        self.command_size_limits["RCPT"] = base + _RCPT_EXTRA
        response = [f"250-{self.hostname}"]
        if self.data_size_limit:
            response.append(f"250-SIZE {self.data_size_limit}")
        if not self._decode_data:
            response.append("250-8BITMIME")
        if self.enable_SMTPUTF8:
            response.append("250-SMTPUTF8")
        response += ["250-PIPELINING", "250-ENHANCEDSTATUSCODES", "250-DSN"]
        if self.tls_context and not self._tls_protocol:
            response.append("250-STARTTLS")
        if not self._auth_require_tls or self._tls_protocol:
            response.append("250-AUTH " + " ".join(sorted(self._auth_methods.keys())))
        response.append("250 HELP")
        if self._ehlo_hook_ver == "new":
            response = await self._call_handler_hook("EHLO", hostname, response)
        else:
            self.session.host_name = hostname
        await self.push("\r\n".join(response))

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's address parsing, with the addresses that make the standard library's
        parser fail (``a@``, ``+@``: IndexError) read as malformed (None) like others."""
        try:
            return super()._getaddr(arg)
        except (IndexError, ValueError):
            return None, None

    async def _address_and_params(
        self, arg: str | None, keyword: str, syntaxerr: str
    ) -> tuple[str, dict[str, str | None]] | None:
        """Parse ``FROM:<addr> params`` / ``TO:<addr> params``; push the error and return
        None when it is not valid."""
        assert self.session is not None
        if arg is None:
            await self.push(syntaxerr)
            return None
        rest = self._strip_command_keyword(keyword, arg)
        if rest is None:
            await self.push(syntaxerr)
            return None
        address, addrparams = self._getaddr(rest)
        if address is None or not address.isprintable():
            await self.push("553 5.1.3 Error: malformed address")
            return None
        if not address:
            await self.push(syntaxerr)
            return None
        if not self.session.extended_smtp and addrparams:
            await self.push(syntaxerr)
            return None
        try:
            params = parse_esmtp_params(addrparams or "")
        except DSNParameterError as exc:
            await self.push(str(exc.reply))
            return None
        return address, params

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        """MAIL FROM, with BODY, SMTPUTF8, SIZE, RET and ENVID."""
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("MAIL"):
            return
        assert self.session is not None and self.envelope is not None
        syntaxerr = "501 Syntax: MAIL FROM: <address>"
        if self.session.extended_smtp:
            syntaxerr += " [SP <mail-parameters>]"
        parsed = await self._address_and_params(arg, "FROM:", syntaxerr)
        if parsed is None:
            return
        address, params = parsed
        if self.envelope.mail_from:
            await self.push("503 Error: nested MAIL command")
            return
        rest = dict(params)
        if not self._decode_data:
            body = rest.pop("BODY", "7BIT")
            if body is None or body.upper() not in ("7BIT", "8BITMIME"):
                await self.push("501 Error: BODY can only be one of 7BIT, 8BITMIME")
                return
        if "SMTPUTF8" in rest:
            if rest.pop("SMTPUTF8") is not None:
                await self.push("501 Error: SMTPUTF8 takes no arguments")
                return
            if not self.enable_SMTPUTF8:
                await self.push("501 Error: SMTPUTF8 disabled")
                return
            self.envelope.smtp_utf8 = True
        if "SIZE" in rest:
            size = rest.pop("SIZE")
            if size is None or not (size.isascii() and size.isdigit()):
                await self.push(syntaxerr)
                return
            if self.data_size_limit and int(size) > self.data_size_limit:
                await self.push("552 Error: message size exceeds fixed maximum message size")
                return
        try:
            dsn = mail_params(rest)
        except DSNParameterError as exc:
            await self.push(str(exc.reply))
            return
        rest.pop("RET", None)
        rest.pop("ENVID", None)
        if rest:
            await self.push(
                f"555 MAIL FROM parameter {next(iter(rest))} not recognized or not implemented"
            )
            return
        mail_options = _options(params)
        status = await self._call_handler_hook("MAIL", address, mail_options)
        if status is MISSING:
            self.envelope.mail_from = address
            self.envelope.mail_options.extend(mail_options)
            status = "250 OK"
        if self.envelope.mail_from:
            cast(DSNEnvelope, self.envelope).dsn_mail = dsn
        await self.push(status)

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        """RCPT TO, with NOTIFY and ORCPT."""
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("RCPT"):
            return
        assert self.session is not None and self.envelope is not None
        if not self.envelope.mail_from:
            await self.push("503 Error: need MAIL command")
            return
        syntaxerr = "501 Syntax: RCPT TO: <address>"
        if self.session.extended_smtp:
            syntaxerr += " [SP <mail-parameters>]"
        parsed = await self._address_and_params(arg, "TO:", syntaxerr)
        if parsed is None:
            return
        address, params = parsed
        if address == "<>":  # the null reverse-path; RFC 5321 has no null forward-path
            await self.push("501 5.1.3 Bad recipient address syntax")
            return
        if len(self.envelope.rcpt_tos) >= self.max_recipients:
            await self.push("452 4.5.3 Too many recipients")
            return
        try:
            dsn = rcpt_params(params)
        except DSNParameterError as exc:
            await self.push(str(exc.reply))
            return
        unknown = [k for k in params if k not in ("NOTIFY", "ORCPT")]
        if unknown:
            await self.push(f"555 RCPT TO parameter {unknown[0]} not recognized or not implemented")
            return
        rcpt_options = _options(params)
        before = len(self.envelope.rcpt_tos)
        status = await self._call_handler_hook("RCPT", address, rcpt_options)
        if status is MISSING:
            self.envelope.rcpt_tos.append(address)
            self.envelope.rcpt_options.extend(rcpt_options)
            status = "250 OK"
        if len(self.envelope.rcpt_tos) > before:
            cast(DSNEnvelope, self.envelope).dsn_rcpt[address] = dsn
        await self.push(status)


def _clean(text: str) -> str:
    """Reply text safe on the wire: CRLF line ends, no control characters, no surrogates
    (aiosmtpd echoes some client input, such as a VRFY argument, in its replies)."""
    lines = text.replace("\r\n", "\n").split("\n")
    return "\r\n".join(line if line.isprintable() else _printable(line) for line in lines)


def _printable(line: str) -> str:
    """``line`` with every character that is not printable (controls, U+0085, U+2028,
    format characters, surrogates ...) replaced by ``?``."""
    return "".join(ch if ch.isprintable() else "?" for ch in line)


def _one(text: str) -> str:
    """A reply on one log line."""
    return text.replace("\r\n", " | ")
