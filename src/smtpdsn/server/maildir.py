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
from pathlib import Path
from typing import Final

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
        name = self.unique_name()
        tmp = self.path / "tmp" / name
        new = self.path / "new" / name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            try:
                self._write(fd, content)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, new)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        try:
            dir_fd = os.open(self.path / "new", os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            new.unlink(missing_ok=True)
            raise
        return name

    async def deliver_async(self, content: bytes) -> str:
        """:meth:`deliver` in a worker thread, so the event loop keeps serving."""
        return await asyncio.to_thread(self.deliver, content)
