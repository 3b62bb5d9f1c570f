"""The load client: SMTP sessions over raw asyncio sockets, every reply checked.

One connection sends EHLO, then per message MAIL FROM, five RCPT TO (the third is
``unknown@bench.test``, which every server refuses with ``550 5.1.1``), DATA and a body of
about 2.5 KB with a unique ``X-Bench-Id`` header, then QUIT. There is no pipelining: each
command is written only when the reply to the previous one has arrived (RFC 5321 §4.3),
so every server sees the same conversation. Each protocol is a plain
:class:`asyncio.Protocol` walking a prepared list of (bytes to send, expected reply
prefix) steps, so the client costs a few tens of microseconds per command.

A reply is complete when its last line ends in CRLF and has a space after the code
(RFC 5321 §4.2.1); every line before it must carry the same code and a hyphen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

_T = TypeVar("_T")

__all__ = [
    "RECIPIENTS",
    "LoadOutcome",
    "client_loop",
    "idle_connections",
    "message_body",
    "run_load",
]

DOMAIN = "bench.test"
#: The local parts of each message's recipients; ``unknown`` must be refused.
RECIPIENTS = ("alice", "bob", "unknown", "carol", "dave")
BODY_SIZE = 2500
_FILLER_LINE = b"The quick brown fox jumps over the lazy dog, 0123456789 times over.\r\n"

#: A step: bytes to send (empty for the greeting), the prefix the reply's last line must
#: start with, and the message id when this step is the end of a message's data.
Step = tuple[bytes, bytes, str | None]


def client_loop(name: str) -> str:
    """The client's event loop for ``name`` (auto, asyncio or uvloop): asyncio or uvloop.

    ``auto`` is uvloop when it can be imported: a cheaper client, the same for every server.

    Raises:
        ValueError: ``uvloop`` was asked for and cannot be imported.
    """
    if name == "asyncio":
        return name
    try:
        import uvloop  # noqa: F401
    except ImportError:
        if name == "uvloop":
            raise ValueError("the client's loop: uvloop is not installed") from None
        return "asyncio"
    return "uvloop"


def _run(coro: Coroutine[Any, Any, _T], loop: str) -> _T:
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    return asyncio.run(coro)


def message_body(msg_id: str, size: int = BODY_SIZE) -> bytes:
    """A message of about ``size`` octets with ``X-Bench-Id: msg_id``, ending in CRLF.CRLF.

    No line starts with a dot, so no dot-stuffing is needed (RFC 5321 §4.5.2).
    """
    head = (
        f"From: <sender@{DOMAIN}>\r\n"
        f"To: <alice@{DOMAIN}>, <bob@{DOMAIN}>, <unknown@{DOMAIN}>\r\n"
        f"Subject: benchmark message {msg_id}\r\n"
        f"Message-ID: <{msg_id}@{DOMAIN}>\r\n"
        f"X-Bench-Id: {msg_id}\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
    ).encode("ascii")
    lines = max(1, -(-(size - len(head) - 3) // len(_FILLER_LINE)))
    return head + _FILLER_LINE * lines + b".\r\n"


def _session_steps(tag: str, conn: int, messages: int) -> list[Step]:
    steps: list[Step] = [(b"", b"220 ", None), (b"EHLO client.bench.test\r\n", b"250 ", None)]
    mail = f"MAIL FROM:<sender@{DOMAIN}>\r\n".encode()
    rcpts = [
        (
            f"RCPT TO:<{local}@{DOMAIN}>\r\n".encode(),
            b"550 5.1.1 " if local == "unknown" else b"250 ",
        )
        for local in RECIPIENTS
    ]
    for n in range(messages):
        msg_id = f"{tag}.c{conn}.m{n}"
        steps.append((mail, b"250 ", None))
        steps.extend((line, expect, None) for line, expect in rcpts)
        steps.append((b"DATA\r\n", b"354 ", None))
        steps.append((message_body(msg_id), b"250 ", msg_id))
    steps.append((b"QUIT\r\n", b"221 ", None))
    return steps


@dataclass
class LoadOutcome:
    """What one load run saw."""

    accepted: list[str] = field(default_factory=list)
    replies: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    wall: float = 0.0
    client_cpu: float = 0.0

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(text)

    def merge(self, other: LoadOutcome) -> None:
        self.accepted += other.accepted
        self.replies += other.replies
        self.errors += other.errors
        self.error_samples += other.error_samples[: 10 - len(self.error_samples)]
        self.wall = max(self.wall, other.wall)
        self.client_cpu += other.client_cpu


class _Session(asyncio.Protocol):
    """One SMTP session walking its steps; marks ``done`` when it has ended."""

    def __init__(self, steps: list[Step], outcome: LoadOutcome, done: asyncio.Future[None]):
        self.steps = steps
        self.outcome = outcome
        self.done = done
        self.index = 0
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.finished = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio.Transport; both have write/close.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._received(data)
        except Exception as exc:  # a bug here must end the session, not hang the load
            self.outcome.error(f"client error: {exc!r}")
            self._finish()

    def _received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if not buf.endswith(b"\r\n"):
            self.buf = buf
            return
        start = buf.rfind(b"\n", 0, len(buf) - 1) + 1
        last = buf[start:]
        if last[3:4] != b" ":
            self.buf = buf
            return
        self.buf = b""
        out, expect, msg_id = self.steps[self.index]
        outcome = self.outcome
        outcome.replies += 1
        ok = last.startswith(expect)
        if ok and start:
            code = last[:3] + b"-"
            ok = all(line.startswith(code) for line in buf[: start - 2].split(b"\r\n"))
        if not ok:
            sent = out[:40] if len(out) < 200 else b"<message data>"
            outcome.error(f"after {sent!r} expected {expect!r}..., got {buf[:120]!r}")
            self._finish()
            return
        if msg_id is not None:
            outcome.accepted.append(msg_id)
        self.index += 1
        if self.index == len(self.steps):
            self._finish()
            return
        assert self.transport is not None
        self.transport.write(self.steps[self.index][0])

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished:
            out = self.steps[self.index][0]
            self.outcome.error(
                f"connection closed by the server, waiting for the reply to {out[:40]!r}"
            )
        self._finish()

    def _finish(self) -> None:
        self.finished = True
        if self.transport is not None:
            self.transport.close()
        if not self.done.done():
            self.done.set_result(None)


async def _load(port: int, tag: str, conns: range, messages: int, timeout: float) -> LoadOutcome:
    loop = asyncio.get_running_loop()
    outcome = LoadOutcome()
    plans = [_session_steps(tag, conn, messages) for conn in conns]
    cpu0, t0 = time.process_time(), time.perf_counter()

    async def one(steps: list[Step]) -> None:
        done: asyncio.Future[None] = loop.create_future()
        try:
            await loop.create_connection(lambda: _Session(steps, outcome, done), "127.0.0.1", port)
        except OSError as exc:
            outcome.error(f"cannot connect: {exc}")
            return
        await done

    try:
        await asyncio.wait_for(asyncio.gather(*(one(steps) for steps in plans)), timeout)
    except TimeoutError:
        outcome.error(f"the load did not finish within {timeout:.0f} s")
    outcome.wall = time.perf_counter() - t0
    outcome.client_cpu = time.process_time() - cpu0
    return outcome


def run_load(
    port: int, tag: str, conns: range, messages: int, loop: str = "asyncio", timeout: float = 900.0
) -> LoadOutcome:
    """Run the sessions ``conns`` (their numbers) at once against 127.0.0.1:``port``.

    ``tag`` starts every message id, so ids are unique across runs; ``loop`` is what
    :func:`client_loop` chose.
    """
    return _run(_load(port, tag, conns, messages, timeout), loop)


class _Greeted(asyncio.Protocol):
    def __init__(self, greeted: asyncio.Future[bool]) -> None:
        self.greeted = greeted
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.greeted.done() and self.buf.endswith(b"\r\n"):
            self.greeted.set_result(self.buf.startswith(b"220"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.greeted.done():
            self.greeted.set_result(False)


async def _idle(
    port: int, count: int, measure: Callable[[], int], settle: float, batch: int
) -> tuple[int, int]:
    loop = asyncio.get_running_loop()
    transports: list[asyncio.BaseTransport] = []

    async def one() -> bool:
        greeted: asyncio.Future[bool] = loop.create_future()
        try:
            transport, _ = await loop.create_connection(
                lambda: _Greeted(greeted), "127.0.0.1", port
            )
        except OSError:
            return False
        transports.append(transport)
        return await asyncio.wait_for(greeted, 30)

    greeted = 0
    try:
        # In batches: the servers' listen backlog may be as small as 100.
        for first in range(0, count, batch):
            results = await asyncio.gather(
                *(one() for _ in range(min(batch, count - first))), return_exceptions=True
            )
            greeted += sum(1 for r in results if r is True)
        await asyncio.sleep(settle)
        rss = measure()
    finally:
        for transport in transports:
            transport.close()
        await asyncio.sleep(0.2)
    return greeted, rss


def idle_connections(
    port: int,
    count: int,
    measure: Callable[[], int],
    loop: str = "asyncio",
    settle: float = 1.0,
    batch: int = 100,
) -> tuple[int, int]:
    """Open ``count`` connections, read their greetings, wait ``settle`` seconds, call
    ``measure`` while they are all open, and close them.

    Returns:
        (connections greeted with 220, what ``measure`` returned).
    """
    return _run(_idle(port, count, measure, settle, batch), loop)
