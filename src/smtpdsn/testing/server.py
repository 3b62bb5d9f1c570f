"""A failing-on-purpose SMTP server for tests: :class:`SMTPTestServer`.

It runs the server of ``smtpdsn serve`` (:func:`smtpdsn.server.app.build_server`) on its
own thread and event loop, on a free loopback port, so a test (plain or ``async``) talks
to it with any SMTP client: smtplib, aiosmtplib, a framework's mail backend.

>>> with SMTPTestServer() as server:                                  # doctest: +SKIP
...     with smtplib.SMTP(server.host, server.port) as client:
...         client.sendmail("a@example.test", ["b@example.test"], b"Subject: hi\\r\\n\\r\\nhi")
...     [message] = server.messages
...     message["Subject"], message.envelope.recipients
('hi', ['b@example.test'])

What it keeps, in memory and bounded (the oldest entries are dropped first):

* :attr:`~SMTPTestServer.messages`: the last ``max_messages`` (default 1000) accepted
  messages, each an :class:`email.message.EmailMessage` with an ``envelope``
  (:class:`ReceivedEnvelope`);
* :attr:`~SMTPTestServer.bounces`: the last ``max_messages`` DSNs the rules produced
  (``then = "bounce"`` / ``"delay"``, RFC 3464), read with
  :func:`smtpdsn.report.parse_reports`;
* :attr:`~SMTPTestServer.transcript`: the last ``max_transcript`` (default 10000) replies
  sent, with the command, the peer and the time.

With ``maildir=PATH`` every message (and DSN) is also stored in that Maildir, as
``smtpdsn serve --maildir`` does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.policy
import json
import threading
import weakref
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Final, TypeVar

from ..dsnparams import MailParams, RcptParams
from ..reply import Reply
from ..report import DeliveryReport, parse_reports
from ..server.app import ServerConfig, SMTPServer, build_server
from ..server.bounce import build_bounce
from ..server.maildir import Maildir
from ..server.plugins import PluginRunner
from ..server.protocol import SMTPProtocol
from ..server.rules import DEFAULT_RULES, Rule, RulesPlugin, parse_rules
from ..server.session import Envelope
from ..smtp import MailFrom, MessageReceived, RcptTo, Request

__all__ = [
    "DEFAULT_MAX_MESSAGES",
    "DEFAULT_MAX_TRANSCRIPT",
    "Bounce",
    "ReceivedEnvelope",
    "ReceivedMessage",
    "SMTPTestServer",
    "TranscriptEntry",
]

#: How many messages (and, separately, DSNs) a test server keeps in memory by default.
DEFAULT_MAX_MESSAGES: Final = 1000
#: How many transcript entries (replies) a test server keeps by default.
DEFAULT_MAX_TRANSCRIPT: Final = 10000
#: The test server's name in its greeting and in the DSNs it writes (Reporting-MTA).
_HOSTNAME: Final = "localhost"

_T = TypeVar("_T")


@dataclass
class ReceivedEnvelope:
    """The SMTP envelope of a received message (RFC 5321 section 3.3).

    Attributes:
        sender: MAIL FROM's address (``""`` for the null sender ``<>``).
        recipients: the accepted recipients, in order.
        dsn_mail: MAIL's DSN parameters, RET and ENVID (RFC 3461 section 4).
        dsn_rcpt: each accepted recipient's NOTIFY and ORCPT (RFC 3461 section 4).
        rcpt_replies: the reply to each RCPT of the transaction, accepted or refused,
            keyed by address (the last one for an address given twice).
        reply: the reply to the message (after the final dot); None until it is sent.
        peer: the client's address, ``host:port``.
        received: when the message was received (UTC).
        mail_options: MAIL's parameters as sent (``["SIZE=100", "RET=HDRS"]``).
    """

    sender: str
    recipients: list[str]
    dsn_mail: MailParams
    dsn_rcpt: dict[str, RcptParams]
    rcpt_replies: dict[str, Reply]
    peer: str
    received: datetime
    mail_options: list[str] = field(default_factory=list)
    reply: Reply | None = None


class ReceivedMessage(EmailMessage):
    """An accepted message (:class:`email.message.EmailMessage`, read with
    :data:`email.policy.default`) with its :attr:`envelope`."""

    envelope: ReceivedEnvelope


@dataclass(frozen=True)
class Bounce:
    """A DSN the server produced (a ``then = "bounce"`` or ``"delay"`` rule).

    Attributes:
        message: the DSN as a message (``multipart/report``, RFC 3462).
        reports: its delivery status reports, read by :func:`smtpdsn.report.parse_reports`
            (one for a DSN the server wrote): ``bounce.report.recipients[0].status``.
        to: the address the DSN goes to (the original sender).
        original: the envelope of the message the DSN is about.
    """

    message: EmailMessage
    reports: list[DeliveryReport]
    to: str
    original: ReceivedEnvelope

    @property
    def report(self) -> DeliveryReport:
        """The (first) delivery status report."""
        return self.reports[0]


@dataclass(frozen=True)
class TranscriptEntry:
    """One reply the server sent.

    Attributes:
        time: when it was sent (UTC).
        peer: the client, ``host:port``.
        verb: the command answered (``"CONNECT"`` for the greeting, ``"EHLO"``,
            ``"MAIL"``, ``"RCPT"``, ``"DATA"`` for both the DATA command and the message,
            ``"RSET"`` ...).
        reply: the reply.
        address: MAIL's or RCPT's address, else None.
    """

    time: datetime
    peer: str
    verb: str
    reply: Reply
    address: str | None = None

    def __str__(self) -> str:
        what = self.verb if self.address is None else f"{self.verb} <{self.address}>"
        return f"{self.peer} {what} -> {str(self.reply).splitlines()[0]}"


def _toml_value(value: object, key: str) -> str:
    """``value`` as TOML (strings, integers, floats, booleans, lists, tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v, key) for v in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(k))} = {_toml_value(v, key)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    raise TypeError(
        f"add_rule({key}=...): expected a string, number, boolean, list or dict; "
        f"got {type(value).__name__}"
    )


def rule_toml(**keywords: object) -> str:
    """One ``[[rule]]`` table written from keywords (``recipient="x@*", verdict="DENY"``)."""
    lines = ["[[rule]]"]
    for key, value in keywords.items():
        lines.append(f"{json.dumps(key)} = {_toml_value(value, key)}")
    return "\n".join(lines) + "\n"


class SMTPTestServer:
    """smtpdsn's SMTP server on its own thread, for tests (see the module docstring).

    Args:
        rules: the rules to start with, as TOML text (a rules file's content) or parsed
            rules; None for ``smtpdsn serve``'s default rules
            (:data:`~smtpdsn.server.rules.DEFAULT_RULES`: ``unknown@*`` is refused with
            ``550 5.1.1``, ``bounce@*`` is accepted and bounced ...). :meth:`reset`
            restores them.
        host: the loopback address to listen on (``"127.0.0.1"`` or ``"::1"``).
        port: 0 (the default) picks a free port, which is safe when tests run in
            parallel (pytest-xdist); read it from :attr:`port` after :meth:`start`.
        maildir: also store every message and DSN in this Maildir.
        max_messages: how many messages, and how many DSNs, are kept in memory.
        max_transcript: how many replies the transcript keeps.
        config: further settings of the server (size limit, timeouts ...); its host,
            port, rules and maildir are those given here.

    Raises:
        smtpdsn.server.rules.RulesError: ``rules`` is not valid.
        ValueError: ``max_messages`` or ``max_transcript`` is not positive.

    Safe to use from any thread: the server's thread and the test's share the records
    under a lock, and the properties return copies.
    """

    __test__ = False  # not a test class, whatever pytest's python_classes say

    def __init__(
        self,
        rules: str | Sequence[Rule] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        maildir: str | Path | None = None,
        max_messages: int = DEFAULT_MAX_MESSAGES,
        max_transcript: int = DEFAULT_MAX_TRANSCRIPT,
        config: ServerConfig | None = None,
    ) -> None:
        for name, value in (("max_messages", max_messages), ("max_transcript", max_transcript)):
            if type(value) is not int or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if rules is None:
            rules = DEFAULT_RULES
        self._initial_rules = (
            parse_rules(rules, "<rules>") if isinstance(rules, str) else list(rules)
        )
        self._rules = list(self._initial_rules)
        self._lock = threading.Lock()
        self._messages: deque[ReceivedMessage] = deque(maxlen=max_messages)
        self._bounces: deque[Bounce] = deque(maxlen=max_messages)
        self._transcript: deque[TranscriptEntry] = deque(maxlen=max_transcript)
        # The RCPT replies of each transaction still open, keyed by the server's envelope.
        self._rcpt_replies: weakref.WeakKeyDictionary[Envelope, dict[str, Reply]] = (
            weakref.WeakKeyDictionary()
        )
        self._received: weakref.WeakKeyDictionary[Envelope, ReceivedEnvelope] = (
            weakref.WeakKeyDictionary()
        )
        cfg = dataclasses.replace(
            config if config is not None else ServerConfig(),
            host=host,
            port=port,
            maildir=None,  # stored by _deliver, in memory and in its own Maildir
            rules=self._initial_rules,
        )
        cfg.hostname = cfg.hostname or _HOSTNAME
        self.server: SMTPServer = build_server(cfg)
        self._maildir = Maildir(Path(maildir)) if maildir is not None else None
        if self._maildir is not None:
            self.server.on_stop.append(self._maildir.close)
        self.server.handler.deliver = self._deliver
        found = [p for p in self.server.handler.runner.plugins if isinstance(p, RulesPlugin)]
        if not found:  # pragma: no cover - build_server always adds one
            raise RuntimeError("build_server made a server without a RulesPlugin")
        self._rules_plugin: RulesPlugin = found[-1]
        self.server.on_reply = self._on_reply
        self._reporting_mta = self.server.hostname
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- where it listens --------------------------------------------------------------

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return self.server.host

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        return self.server.port

    # -- starting and stopping ---------------------------------------------------------

    def start(self) -> None:
        """Start the server's thread and listen; returns once the port is bound.

        Raises:
            OSError: the address cannot be bound.
            RuntimeError: the server was already started.
        """
        if self._thread is not None:
            raise RuntimeError("this SMTPTestServer was already started")
        loop = asyncio.new_event_loop()
        started: Future[None] = Future()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as exc:
                started.set_exception(exc)
                return
            started.set_result(None)
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="smtpdsn-test-server", daemon=True)
        self._thread.start()
        try:
            started.result(timeout=30)
        except BaseException:
            self._thread.join(10)
            loop.close()
            self._loop = None
            raise

    def stop(self) -> None:
        """Close every connection, stop the server and its thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or loop.is_closed():
            return
        asyncio.run_coroutine_threadsafe(self.server.stop(grace=5.0), loop).result(30)
        asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    def __enter__(self) -> SMTPTestServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _on_loop(self, call: Callable[[], _T]) -> _T:
        """Run ``call`` on the server's loop (at once when not started) and return its
        result."""
        loop, thread = self._loop, self._thread
        if (
            loop is None
            or loop.is_closed()
            or not loop.is_running()
            or threading.current_thread() is thread  # called from a plugin, on the loop
        ):
            return call()
        done: Future[_T] = Future()

        def run() -> None:
            try:
                done.set_result(call())
            except BaseException as exc:
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result(30)

    # -- rules -------------------------------------------------------------------------

    @property
    def current_rules(self) -> list[Rule]:
        """The rules in force, in order."""
        with self._lock:
            return list(self._rules)

    def rules(self, toml_text: str) -> None:
        """Replace the rules with those of ``toml_text`` (a rules file's content; ``""``
        for no rules: every address accepted). Counters of the old rules are dropped.

        Raises:
            smtpdsn.server.rules.RulesError: the text is not a valid rules file; the rules
                in force are kept.
        """
        self._set_rules(parse_rules(toml_text, "<rules>"))

    def add_rule(self, **keywords: object) -> Rule:
        """Add one rule after the others, written as keywords of a ``[[rule]]`` table::

            server.add_rule(recipient="x@*", verdict="DENY", factory="no_such_user")

        Returns the rule. Since the first matching rule decides, a rule that must win over
        the default rules is better set with :meth:`rules`.

        Raises:
            smtpdsn.server.rules.RulesError: the keywords do not make a valid rule.
            TypeError: a value TOML cannot hold.
        """
        [rule] = parse_rules(rule_toml(**keywords), "<add_rule>")
        self._set_rules([*self.current_rules, rule])
        return rule

    def _set_rules(self, rules: list[Rule]) -> None:
        def swap() -> None:
            # A new runner with a new rules plugin in place of the old one (fresh counters);
            # the other plugins build_server added are kept as they are.
            handler = self.server.handler
            old: PluginRunner = handler.runner
            new_plugin = type(self._rules_plugin)(rules)
            plugins = [new_plugin if p is self._rules_plugin else p for p in old.plugins]
            handler.runner = PluginRunner(plugins, timeout=old.timeout)
            self._rules_plugin = new_plugin
            old.close()

        with self._lock:
            self._rules = list(rules)
        self._on_loop(swap)

    # -- what it received ----------------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMessage]:
        """The accepted messages, oldest first (at most ``max_messages``)."""
        with self._lock:
            return list(self._messages)

    @property
    def bounces(self) -> list[Bounce]:
        """The DSNs produced, oldest first (at most ``max_messages``)."""
        with self._lock:
            return list(self._bounces)

    @property
    def transcript(self) -> list[TranscriptEntry]:
        """The replies sent, oldest first (at most ``max_transcript``)."""
        with self._lock:
            return list(self._transcript)

    def reset(self) -> None:
        """Forget the messages, DSNs and transcript, and restore the initial rules (with
        fresh counters). Connections stay open."""
        with self._lock:
            self._messages.clear()
            self._bounces.clear()
            self._transcript.clear()
        self._set_rules(list(self._initial_rules))

    # -- the server's side (on its loop) ------------------------------------------------------

    def _on_reply(
        self, proto: SMTPProtocol, verb: str, reply: Reply, event: Request | None
    ) -> None:
        address = event.address if isinstance(event, MailFrom | RcptTo) else None
        entry = TranscriptEntry(datetime.now(UTC), proto.peer_name, verb, reply, address)
        with self._lock:
            self._transcript.append(entry)
            if isinstance(event, MailFrom):
                self._rcpt_replies[proto.envelope] = {}
            elif isinstance(event, RcptTo):
                self._rcpt_replies.setdefault(proto.envelope, {})[event.address] = reply
            elif isinstance(event, MessageReceived):
                received = self._received.pop(proto.envelope, None)
                if received is not None:
                    received.reply = reply

    async def _deliver(self, envelope: Envelope) -> str | None:
        content = envelope.original_content or b""
        now = datetime.now(UTC)
        with self._lock:
            replies = dict(self._rcpt_replies.get(envelope, {}))
        peer = "-"
        for proto in self.server.connections:
            if proto.envelope is envelope:
                peer = proto.peer_name
        received = ReceivedEnvelope(
            sender=envelope.mail_from or "",
            recipients=list(envelope.rcpt_tos),
            dsn_mail=envelope.dsn_mail,
            dsn_rcpt=dict(envelope.dsn_rcpt),
            rcpt_replies=replies,
            peer=peer,
            received=now,
            mail_options=list(envelope.mail_options),
        )
        message = _parse(content)
        message.envelope = received
        dsn = build_bounce(envelope, reporting_mta=self._reporting_mta, arrival=now)
        name: str | None = None
        if self._maildir is not None:
            names = await self._maildir.submit([content] if dsn is None else [content, bytes(dsn)])
            name = names[0]
        bounce = None
        if dsn is not None:
            bounce = Bounce(dsn, parse_reports(bytes(dsn)), received.sender, received)
        with self._lock:
            self._messages.append(message)
            if bounce is not None:
                self._bounces.append(bounce)
            self._received[envelope] = received
        return name


def _parse(content: bytes) -> ReceivedMessage:
    message = BytesParser(ReceivedMessage, policy=email.policy.default).parsebytes(content)
    assert isinstance(message, ReceivedMessage)
    return message


async def _cancel_all() -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
