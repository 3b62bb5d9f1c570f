"""Shared helpers for the server tests: a real server in a thread, a raw line client."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import Any

import smtpdsn
from smtpdsn.server.app import ServerConfig, SMTPServer, build_server
from smtpdsn.server.handler import PluginHandler

HOSTNAME = "smtpdsn.test"


class ServerThread:
    """Run an :class:`SMTPServer` on 127.0.0.1 (a free port) in its own thread and loop.

    Use as a context manager; ``port`` is known inside it.
    """

    def __init__(
        self,
        handler: Any = None,
        *,
        config: ServerConfig | None = None,
        plugins: Sequence[object] = (),
        **server_kwargs: Any,
    ) -> None:
        if config is not None:
            config.host, config.port = "127.0.0.1", 0
            config.hostname = config.hostname or HOSTNAME
            self.server = build_server(config)
        else:
            if handler is None:
                handler = PluginHandler(plugins, timeout=server_kwargs.pop("plugin_timeout", 5))
            server_kwargs.setdefault("hostname", HOSTNAME)
            self.server = SMTPServer(handler, host="127.0.0.1", port=0, **server_kwargs)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started: Future[None] = Future()

    @property
    def port(self) -> int:
        return self.server.port

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start())
        except BaseException as exc:
            self._started.set_exception(exc)
            return
        self._started.set_result(None)
        self.loop.run_forever()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self._started.result(timeout=10)
        return self

    def call(self, coro: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._started.exception() is None:
            self.call(self.server.stop())
            self.call(_cancel_all())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()


async def _cancel_all() -> None:
    me = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not me]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


_LAST = re.compile(rb"[0-9]{3}(?: .*)?\r\n", re.DOTALL)


class RawClient:
    """A line-level SMTP client on a plain socket, to see the exact reply bytes."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes | str) -> None:
        self.sock.sendall(data.encode() if isinstance(data, str) else data)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed; unread: {self.buffer!r}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line + b"\r\n"

    def reply(self) -> str:
        """Read one reply (all its lines); return it as text, lines joined by CRLF."""
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            if _LAST.fullmatch(line):
                break
        return b"".join(lines).decode("utf-8").removesuffix("\r\n")

    def cmd(self, line: str | bytes) -> str:
        """Send one command line (CRLF added) and return the reply."""
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")
        return self.reply()

    def closed(self, timeout: float = 5.0) -> bool:
        """True when the server closes the connection (EOF) within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True


def maildir_files(path: Path) -> list[bytes]:
    """The contents of every message in ``path/new``, sorted; asserts ``tmp`` is empty."""
    assert list((path / "tmp").iterdir()) == []
    return sorted(p.read_bytes() for p in (path / "new").iterdir())


class ExamplePlugin:
    """A plugin loaded by ``smtpdsn serve --plugin tests.server_support:ExamplePlugin``."""

    async def hook_rcpt(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        if address.startswith("plugin-says-no@"):
            return smtpdsn.DENY, smtpdsn.mbox_disabled("Closed by a plugin")
        return None


ROOT_DIR = Path(__file__).resolve().parents[1]


class HangingPlugin:
    """A plain hook that hangs (for ``smtpdsn serve --plugin``): RCPT ``hang@...`` sleeps a
    minute."""

    def hook_rcpt(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        if address.startswith("hang@"):
            time.sleep(60)
        return None
