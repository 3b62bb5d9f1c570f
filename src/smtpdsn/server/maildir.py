"""Maildir delivery that never loses an acknowledged message.

A message is written to ``tmp/`` under a unique name, flushed to disk with ``fsync``,
renamed into ``new/``, and the ``new/`` directory is fsynced so the rename itself is on
disk. Only then is the delivery reported done, and only then does the server send its
``250``. When anything fails the files of that delivery are removed, so a reader of
``new/`` never sees a partial message (the Maildir convention, https://cr.yp.to/proto/maildir.html).

Two ways in:

* :meth:`Maildir.deliver` / :meth:`Maildir.deliver_all` store in the calling thread.
* :meth:`Maildir.deliver_async` / :meth:`Maildir.deliver_all_async` hand the delivery to
  a few writer threads (:data:`WRITERS`) with *group commit*: a writer takes the
  deliveries waiting for it (its share, when other writers are idle) as one batch. Each
  file is written to ``tmp/`` and fsynced, all of them are renamed into ``new/``,
  ``new/`` is fsynced once for the batch, and the waiting coroutines are woken with one
  ``call_soon_threadsafe`` per event loop, not one per message. Each delivery of a batch
  still stands or falls alone. Several writers let one batch's fsyncs wait on the disk
  while the next batch is written (see bench/maildir.py for the figures).

:func:`delivery_failure_reply` turns a failed delivery into the reply for the client
(``452 4.3.1`` for a full disk, RFC 3463 section 3.4; ``451 4.3.0`` otherwise), and
:meth:`Maildir.clean_tmp` removes what killed deliverers left in ``tmp/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import os
import queue
import re
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from ..factories import sys_disk_full, sys_unspecified
from ..reply import Reply
from .threads import DaemonThreadPool

__all__ = [
    "DISK_FULL_REPLY",
    "STORE_FAILED_REPLY",
    "TMP_MAX_AGE",
    "WRITERS",
    "Maildir",
    "delivery_failure_reply",
]

log = logging.getLogger(__name__)

_COUNTER: Final = itertools.count(1)

#: Files in ``tmp/`` untouched for this long (seconds) are removed: no delivery takes
#: 36 hours (the Maildir convention).
TMP_MAX_AGE: Final = 36 * 3600.0
#: How often (seconds) the writer thread cleans ``tmp/`` while it runs.
CLEAN_INTERVAL: Final = 6 * 3600.0
#: Writer threads by default: enough that one's fsyncs wait on the disk while the others
#: write (bench/maildir.py: one writer alone stores fewer messages per second than the
#: old thread pool when fsync is slow).
WRITERS: Final = 4
#: The most deliveries a writer takes as one batch.
MAX_BATCH: Final = 256

#: RFC 5321 section 4.2.3 (452: insufficient system storage) with RFC 3463 X.3.1
#: (mail system full).
DISK_FULL_REPLY: Final = sys_disk_full("Insufficient system storage, try again later", 452)
#: Any other failure to store: RFC 3463 X.3.0 (other or undefined mail system status).
STORE_FAILED_REPLY: Final = sys_unspecified("Could not store the message, try again later", 451)

_DISK_FULL_ERRNOS: Final = frozenset(
    code for code in (errno.ENOSPC, getattr(errno, "EDQUOT", None)) if code is not None
)
_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
# Our names, <time>.M<usec>P<pid>Q<n>.<host>, Dovecot's <time>.M<usec>P<pid>V...I....<host>
# and the classic <time>.<pid>.<host>: the pid and the host, when the name has them.
_NAME: Final = re.compile(r"\d+\.(?:[0-9A-Za-z_]*?P(\d+)[0-9A-Za-z_]*|(\d+))\.(.+)")

_Outcome = list[str] | BaseException
_Request = tuple[Sequence[bytes], asyncio.AbstractEventLoop, "asyncio.Future[list[str]]"]


def delivery_failure_reply(exc: BaseException) -> Reply:
    """The reply for a delivery that raised ``exc``.

    A full disk or an exceeded quota (``ENOSPC``, ``EDQUOT``, found in ``exc`` or in what
    it was raised from) gives :data:`DISK_FULL_REPLY`, ``452 4.3.1`` (RFC 5321 section
    4.2.3, RFC 3463 section 3.4); anything else :data:`STORE_FAILED_REPLY`, ``451 4.3.0``.
    Both are transient: the client keeps the message and tries again.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.errno in _DISK_FULL_ERRNOS:
            return DISK_FULL_REPLY
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return STORE_FAILED_REPLY


def _host() -> str:
    name = socket.gethostname() or "localhost"
    return name.replace("/", "\\057").replace(":", "\\072")


def _pid_running(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (True when it cannot be told)."""
    if pid == os.getpid():
        return True
    if pid <= 0 or os.name == "nt":  # os.kill(pid, 0) would end the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):
        return True  # PermissionError: it exists, owned by someone else
    return True


def _settle(items: list[tuple[asyncio.Future[list[str]], _Outcome]]) -> None:
    """Hand each delivery's outcome to its waiting coroutine (in that coroutine's loop)."""
    for future, outcome in items:
        if future.done():
            continue  # cancelled while it was being stored
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


class Maildir:
    """A Maildir directory (``tmp/``, ``new/``, ``cur/``), created when missing.

    Creating it cleans ``tmp/`` (:meth:`clean_tmp`). The writer threads behind
    :meth:`deliver_async` (daemon threads: they never hold up the interpreter's exit)
    start at the first asynchronous delivery; the first of them cleans ``tmp/`` every
    ``clean_interval`` seconds while they run; they end on :meth:`close`.

    Args:
        path: the Maildir's directory.
        clean_interval: seconds between two cleanings of ``tmp/`` by the writer thread;
            None for none.
        writers: how many writer threads (1 for the least CPU per message, more to keep
            several fsyncs in flight on a slow disk).

    Raises:
        OSError: the directories cannot be created.
        ValueError: ``writers`` is less than 1.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clean_interval: float | None = CLEAN_INTERVAL,
        writers: int = WRITERS,
    ) -> None:
        if writers < 1:
            raise ValueError(f"writers must be at least 1, got {writers!r}")
        self.path = Path(path)
        try:
            for sub in ("tmp", "new", "cur"):
                (self.path / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot create the Maildir {self.path}: {exc.strerror or exc}"
            ) from exc
        self.clean_interval = clean_interval
        self.writers = writers
        self._host = _host()
        self._tmp = os.path.join(self.path, "tmp", "")
        self._new = os.path.join(self.path, "new", "")
        # Names in tmp/ that this process is writing now: clean_tmp leaves them alone.
        self._writing: set[str] = set()
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_Request | None] | None = None
        self._threads: list[threading.Thread] = []
        self._idle = 0  # writer threads waiting for work
        self._pool: DaemonThreadPool | None = None
        #: Batches the writer threads committed, and deliveries in them (for the bench).
        self.batches = 0
        self.batched = 0
        self.clean_tmp()

    # -- names and files -----------------------------------------------------------------

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

    def _commit(self, batch: Sequence[Sequence[bytes]]) -> list[_Outcome]:
        """Store every delivery of ``batch``; return each one's names in ``new/``, or the
        exception that stopped it (nothing of that delivery is then left behind).

        Every file is written to ``tmp/`` and fsynced; then each delivery's files are
        renamed into ``new/`` in order; then ``new/`` is fsynced once. Should that last
        fsync fail, no delivery of the batch is known to be on disk: all of them fail.
        """
        tmp, new, writing = self._tmp, self._new, self._writing
        outcomes: list[_Outcome] = []
        started: list[list[str]] = []  # per delivery, its names in self._writing
        try:
            for contents in batch:
                names: list[str] = []
                started.append(names)
                created = 0  # names[:created] are files of ours in tmp/
                try:
                    for content in contents:
                        name = self.unique_name()
                        writing.add(name)
                        names.append(name)
                        fd = os.open(tmp + name, _FLAGS, 0o600)
                        created += 1
                        try:
                            self._write(fd, content)
                            os.fsync(fd)
                        finally:
                            os.close(fd)
                except BaseException as exc:
                    for name in names[:created]:
                        _unlink(tmp + name)
                    outcomes.append(exc)
                else:
                    outcomes.append(names)
            renamed: list[tuple[int, list[str]]] = []
            for index, outcome in enumerate(outcomes):
                if isinstance(outcome, BaseException):
                    continue
                done = 0
                try:
                    for name in outcome:
                        os.rename(tmp + name, new + name)
                        done += 1
                except BaseException as exc:
                    for name in outcome[:done]:
                        _unlink(new + name)
                    for name in outcome[done:]:
                        _unlink(tmp + name)
                    outcomes[index] = exc
                else:
                    renamed.append((index, outcome))
            if renamed:
                try:
                    dir_fd = os.open(new, os.O_RDONLY)
                    try:
                        os.fsync(dir_fd)
                    finally:
                        os.close(dir_fd)
                except BaseException as exc:
                    for index, stored in renamed:
                        for name in stored:
                            _unlink(new + name)
                        outcomes[index] = exc
            return outcomes
        finally:
            for names in started:
                writing.difference_update(names)

    # -- in the calling thread -----------------------------------------------------------

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
        outcome = self._commit([contents])[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    # -- through the writer threads ------------------------------------------------------

    async def deliver_async(self, content: bytes) -> str:
        """:meth:`deliver` by a writer thread, so the event loop keeps serving."""
        return (await self.deliver_all_async((content,)))[0]

    async def deliver_all_async(self, contents: Sequence[bytes]) -> list[str]:
        """:meth:`deliver_all` by a writer thread, together with the deliveries that
        arrive while it is busy (one fsync of ``new/`` and one wake-up of this loop for
        them all). All of ``contents`` or none is stored; the others of the batch do not
        depend on it.

        Cancelling the call before the writer takes it stores nothing; once taken, the
        messages are stored whether or not anyone still waits.

        Raises:
            OSError: a message could not be stored; nothing of this call is left in
                ``tmp/`` or ``new/``.
        """
        return await self.submit(contents)

    def submit(self, contents: Sequence[bytes]) -> asyncio.Future[list[str]]:
        """:meth:`deliver_all_async` as a future of the running loop, without a coroutine
        (the server's hot path chains callbacks on it instead of running a task)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[str]] = loop.create_future()
        request: _Request = (contents, loop, future)
        with self._lock:
            jobs = self._jobs
            if jobs is None:
                jobs = self._jobs = queue.SimpleQueue()
                self._threads = [
                    threading.Thread(
                        target=self._run, args=(jobs, i == 0), name="smtpdsn-maildir", daemon=True
                    )
                    for i in range(self.writers)
                ]
                for thread in self._threads:
                    thread.start()
            jobs.put(request)
        return future

    def _run(self, jobs: queue.SimpleQueue[_Request | None], cleaner: bool) -> None:
        """A writer thread: take what is queued as one batch, commit it, repeat (and the
        ``cleaner``, the first writer, cleans ``tmp/`` now and then)."""
        interval = self.clean_interval if cleaner else None
        next_clean = None if interval is None else time.monotonic() + interval
        while True:
            with self._lock:
                self._idle += 1
            try:
                if next_clean is None:
                    item = jobs.get()
                else:
                    item = jobs.get(timeout=max(0.0, next_clean - time.monotonic()))
            except queue.Empty:
                self.clean_tmp()
                assert interval is not None
                next_clean = time.monotonic() + interval
                continue
            finally:
                with self._lock:
                    self._idle -= 1
                    others = self._idle
            batch: list[_Request] = []
            stop = False
            # With several writers, each takes its share of what waits (shared with the
            # idle ones), so that their fsyncs run side by side.
            limit = min(MAX_BATCH, -(-(jobs.qsize() + 1) // (others + 1))) if others else MAX_BATCH
            while item is not None:
                if not item[2].cancelled():
                    batch.append(item)
                if len(batch) >= limit:
                    break
                try:
                    item = jobs.get_nowait()
                except queue.Empty:
                    break
            else:
                stop = True
            if batch:
                self._commit_and_settle(batch)
            del batch, item
            if stop:
                return

    def _commit_and_settle(self, batch: list[_Request]) -> None:
        try:
            outcomes = self._commit([request[0] for request in batch])
        except BaseException as exc:  # a bug: fail the batch rather than leave it hanging
            log.exception("the Maildir writer failed")
            outcomes = [exc] * len(batch)
        self.batches += 1
        self.batched += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[list[str]], _Outcome]]]
        by_loop = {}
        for (_, loop, future), outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, outcome))
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, items)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                log.warning("%d Maildir deliveries finished after their loop closed", len(items))

    def close(self, wait: bool = False) -> None:
        """Let the writer threads end once they have stored what was asked of them (and the
        threads of :attr:`pool` once idle). With ``wait``, wait for that.

        The Maildir can be used again afterwards: a later delivery starts new writers.
        """
        with self._lock:
            jobs, self._jobs = self._jobs, None
            threads, self._threads = self._threads, []
            pool, self._pool = self._pool, None
        if jobs is not None:
            for _ in threads:
                jobs.put(None)
        if pool is not None:
            pool.shutdown(wait=wait)
        if wait:
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

    @property
    def pool(self) -> DaemonThreadPool:
        """Daemon threads for callers that store with :meth:`deliver` in a thread of
        their own (the server before the writer threads did). Prefer :meth:`deliver_async`."""
        with self._lock:
            if self._pool is None:
                self._pool = DaemonThreadPool(32, "smtpdsn-deliver")
            return self._pool

    # -- cleaning tmp/ -------------------------------------------------------------------

    def clean_tmp(self, now: float | None = None) -> list[str]:
        """Remove what interrupted deliveries left in ``tmp/``; return the names removed.

        As the Maildir convention says: a file not accessed, modified or changed for
        :data:`TMP_MAX_AGE` (36 hours) before ``now`` (default: the current time) goes,
        and so does a file named with this host and the PID of a process that no longer
        runs. A file this process is writing is never removed, nor a young file of a
        running process or of another host. Errors are logged, not raised.
        """
        if now is None:
            now = time.time()
        removed: list[str] = []
        try:
            with os.scandir(self._tmp) as entries:
                for entry in entries:
                    try:
                        if self._stale(entry, now):
                            os.unlink(entry.path)
                            removed.append(entry.name)
                    except FileNotFoundError:
                        pass  # renamed into new/ or removed meanwhile
                    except OSError as exc:
                        log.warning("cannot remove %s: %s", entry.path, exc)
        except OSError as exc:
            log.warning("cannot clean %s: %s", self._tmp, exc)
        if removed:
            log.info("removed %d stale file(s) from %s", len(removed), self._tmp)
        return removed

    def _stale(self, entry: os.DirEntry[str], now: float) -> bool:
        name = entry.name
        if name in self._writing or not entry.is_file(follow_symlinks=False):
            return False
        st = entry.stat(follow_symlinks=False)
        if now - max(st.st_atime, st.st_mtime, st.st_ctime) > TMP_MAX_AGE:
            return True
        match = _NAME.fullmatch(name)
        if match is None or match[3] != self._host:
            return False
        return not _pid_running(int(match[1] or match[2]))


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
