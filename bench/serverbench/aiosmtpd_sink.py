"""Plain aiosmtpd with a minimal handler: the baseline ``smtpdsn serve`` is compared with.

Run as a subprocess by ``bench/server.py``::

    python bench/serverbench/aiosmtpd_sink.py PORT MAILDIR

The handler refuses ``unknown@...`` with ``550 5.1.1 No such user``, accepts every other
recipient with ``250 OK``, and stores each message the way ``smtpdsn serve`` does before its
``250``: written to ``tmp/``, fsynced, renamed into ``new/``, and ``new/`` fsynced. The write
happens in the handler itself, on the event loop (no thread hop): the cheapest way to do it
in CPU per message, which makes this the strictest baseline. Logging is at WARNING, as for
every server in the benchmark.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

__all__ = ["MaildirHandler", "main"]


class MaildirHandler:
    """aiosmtpd handler hooks: refuse unknown@, store accepted messages in a Maildir."""

    def __init__(self, maildir: Path) -> None:
        self.tmp = maildir / "tmp"
        self.new = maildir / "new"
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        self.host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
        self.counter = itertools.count(1)
        self.pid = os.getpid()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower().startswith("unknown@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.time()
        name = f"{int(now)}.M{int(now % 1 * 1_000_000)}P{self.pid}Q{next(self.counter)}.{self.host}"
        tmp = self.tmp / name
        content: bytes = envelope.original_content
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, self.new / name)
        dir_fd = os.open(self.new, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return "250 OK"


async def _serve(port: int, maildir: Path) -> None:
    loop = asyncio.get_running_loop()
    handler = MaildirHandler(maildir)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="aiosmtpd.bench.test"), "127.0.0.1", port
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    asyncio.run(_serve(int(argv[0]), Path(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
