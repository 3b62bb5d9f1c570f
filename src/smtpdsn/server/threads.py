"""A small thread pool of daemon threads, for plain plugin hooks and for delivery.

asyncio's default executor (used by :func:`asyncio.to_thread`) is shared by everything on
the loop, and :func:`asyncio.run` waits for its threads when it ends. A plain hook that
hangs would keep one of its few threads for good: enough of them and every other user of
the pool waits forever, and the process no longer stops on SIGTERM. The server therefore
runs plain hooks and deliveries in pools of their own, made of daemon threads that neither
``asyncio.run`` nor the interpreter's exit waits for.
"""

from __future__ import annotations

import contextvars
import itertools
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

__all__ = ["DaemonThreadPool"]

_P = ParamSpec("_P")
_T = TypeVar("_T")
_Job = tuple[Future[Any], Callable[[], Any]]
_IDS = itertools.count(1)


class DaemonThreadPool(Executor):
    """Runs functions in at most ``max_workers`` daemon threads, started as needed.

    Unlike :class:`concurrent.futures.ThreadPoolExecutor`, nothing ever waits for its
    threads unless asked (``shutdown(wait=True)``), so a function that never returns cannot
    keep the process alive. Jobs run with the submitter's context variables. After
    :meth:`shutdown` the pool may be used again: a later :meth:`submit` starts new threads.

    A thread whose job is given up on (a hook that timed out) can be :meth:`abandon`-ed: it
    no longer counts against ``max_workers`` and ends when its job returns. At most
    ``max_abandoned`` threads are set aside this way; past that a hung job keeps its place.

    Args:
        max_workers: the most threads at once; a job submitted while all of them are busy
            waits for one to become free.
        name: the threads' name prefix.
        max_abandoned: the most abandoned threads at once.
    """

    def __init__(self, max_workers: int, name: str = "smtpdsn", *, max_abandoned: int = 0) -> None:
        if max_workers <= 0:
            raise ValueError(f"max_workers must be positive, got {max_workers!r}")
        self.max_workers = max_workers
        self.max_abandoned = max_abandoned
        self.name = name
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: dict[int, threading.Thread] = {}
        self._idle = 0
        self._abandoned: set[int] = set()

    @property
    def busy(self) -> int:
        """How many of the pool's threads are running a job (abandoned ones not counted)."""
        with self._lock:
            return len(self._threads) - self._idle

    @property
    def abandoned(self) -> int:
        """How many abandoned threads are still running their job."""
        with self._lock:
            return len(self._abandoned)

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        context = contextvars.copy_context()
        with self._lock:
            jobs = self._queue
            jobs.put((future, lambda: context.run(fn, *args, **kwargs)))
            if self._idle > 0:
                self._idle -= 1  # an idle thread takes the job
            elif len(self._threads) < self.max_workers:
                self._start(jobs)
        return future

    def abandon(self, ident: int) -> bool:
        """Stop counting the thread ``ident`` (busy with a job given up on) as one of the
        pool's; it ends once its job returns. False when it is not a busy thread of the pool
        or ``max_abandoned`` threads are already set aside."""
        with self._lock:
            if ident not in self._threads or len(self._abandoned) >= self.max_abandoned:
                return False
            del self._threads[ident]
            self._abandoned.add(ident)
            if self._idle == 0 and not self._queue.empty():
                self._start(self._queue)  # a job waits for the thread set aside: replace it
            return True

    def _start(self, jobs: queue.SimpleQueue[_Job | None]) -> None:
        """Start one more worker on ``jobs`` (with the lock held)."""
        thread = threading.Thread(
            target=self._work, args=(jobs,), name=f"{self.name}-{next(_IDS)}", daemon=True
        )
        thread.start()
        assert thread.ident is not None
        self._threads[thread.ident] = thread

    def _work(self, jobs: queue.SimpleQueue[_Job | None]) -> None:
        me = threading.get_ident()
        try:
            while True:
                job = jobs.get()
                if job is None:
                    return
                future, call = job
                del job
                if future.set_running_or_notify_cancel():
                    try:
                        result = call()
                    except BaseException as exc:  # handed to the waiting coroutine
                        future.set_exception(exc)
                    else:
                        future.set_result(result)
                        del result
                del future, call
                with self._lock:
                    if me in self._abandoned:
                        return
                    if jobs is self._queue:
                        self._idle += 1
        finally:
            with self._lock:
                self._abandoned.discard(me)
                if jobs is self._queue:
                    self._threads.pop(me, None)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Let the idle threads end; a busy one ends after its job. With ``wait``, wait for
        every thread (which may be forever for a job that hangs)."""
        with self._lock:
            jobs, self._queue = self._queue, queue.SimpleQueue()
            threads = list(self._threads.values())
            self._threads = {}
            self._idle = 0
            if cancel_futures:
                while True:
                    try:
                        job = jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is not None:
                        job[0].cancel()
            for _ in threads:
                jobs.put(None)
        if wait:
            for thread in threads:
                thread.join()
