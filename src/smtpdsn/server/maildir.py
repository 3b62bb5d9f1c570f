"""Maildir delivery that never loses an acknowledged message.

A message is written to ``tmp/`` under a unique name, flushed to disk with ``fsync``,
renamed into ``new/``, and the ``new/`` directory is fsynced so the rename itself is on
disk. Only then does :meth:`Maildir.deliver` return, and only then does the server send
its ``250``. When anything fails the file in ``tmp/`` is removed, so a reader of ``new/``
never sees a partial message.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from .threads import DaemonThreadPool

__all__ = ["Maildir"]

_COUNTER: Final = itertools.count(1)


def _host() -> str:
    name = socket.gethostname() or "localhost"
    return name.replace("/", "\\057").replace(":", "\\072")


class Maildir:
    """A Maildir directory (``tmp/``, ``new/``, ``cur/``), created when missing.

    Args:
        path: the Maildir's directory.

    Raises:
        OSError: the directories cannot be created.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            for sub in ("tmp", "new", "cur"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot create the Maildir {self.path}: {exc.strerror or exc}"
            ) from exc
        self._host = _host()
        #: The daemon threads :meth:`deliver_async` stores messages in (not asyncio's
        #: default pool, which plain plugin hooks or other code could fill).
        self.pool = DaemonThreadPool(32, "smtpdsn-deliver")

    def unique_name(self) -> str:
        """A file name that no other delivery uses (time, microseconds, pid, counter, host)."""
        now = time.time()
        return f"{int(now)}.M{int(now % 1 * 1_000_000)}P{os.getpid()}Q{next(_COUNTER)}.{self._host}"

    def _write(self, fd: int, content: bytes) -> None:
        """Write all of ``content`` to ``fd`` (a separate method so tests can make it fail)."""
        view = memoryview(content)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def deliver(self, content: bytes) -> str:
        """Store one message; return its file name in ``new/`` once it is safely on disk.

        Raises:
            OSError: the message could not be stored; nothing is left in ``tmp/`` or ``new/``.
        """
        return self.deliver_all([content])[0]

    def deliver_all(self, contents: Sequence[bytes]) -> list[str]:
        """Store several messages as one step: all of them, or none.

        Each message is written to ``tmp/`` and fsynced; only when every one is on disk
        are they renamed into ``new/``, in order, and ``new/`` is fsynced once. So a
        reader sees the first (say, the original message) no later than the second (the
        bounce about it). Returns their file names in ``new/``.

        Raises:
            OSError: a message could not be stored; nothing of this call is left in
                ``tmp/`` or ``new/``.
        """
        names = [self.unique_name() for _ in contents]
        tmps = [self.path / "tmp" / name for name in names]
        news = [self.path / "new" / name for name in names]
        renamed = 0
        try:
            for tmp, content in zip(tmps, contents, strict=True):
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    self._write(fd, content)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            for tmp, new in zip(tmps, news, strict=True):
                os.rename(tmp, new)
                renamed += 1
            dir_fd = os.open(self.path / "new", os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            for new in news[:renamed]:
                new.unlink(missing_ok=True)
            for tmp in tmps[renamed:]:
                tmp.unlink(missing_ok=True)
            raise
        return names

    async def deliver_async(self, content: bytes) -> str:
        """:meth:`deliver` in a worker thread of :attr:`pool`, so the event loop keeps
        serving."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, self.deliver, content)

    def close(self) -> None:
        """Let the delivery threads end once idle (a busy one ends after its delivery).
        The Maildir can be used again afterwards."""
        self.pool.shutdown(wait=False)
