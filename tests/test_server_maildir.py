"""Maildir delivery: fsynced, atomic, nothing partial; 250 only after the write; 451 on failure."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, strategies

from smtpdsn.server.handler import PluginHandler
from smtpdsn.server.maildir import (
    DISK_FULL_REPLY,
    STORE_FAILED_REPLY,
    Maildir,
    delivery_failure_reply,
)
from tests.server_support import RawClient, ServerThread, maildir_files


def test_deliver_writes_and_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    md = Maildir(tmp_path / "md")
    assert sorted(p.name for p in md.path.iterdir()) == ["cur", "new", "tmp"]
    name = md.deliver(b"Subject: x\r\n\r\nbody\r\n")
    assert (md.path / "new" / name).read_bytes() == b"Subject: x\r\n\r\nbody\r\n"
    assert len(synced) == 2  # the file, then the new/ directory
    names = {md.unique_name() for _ in range(1000)}
    assert len(names) == 1000
    assert all("/" not in n and ":" not in n for n in names)


class FailingMaildir(Maildir):
    """Writes half of the message, then fails as a full disk would."""

    def _write(self, fd: int, content: bytes) -> None:
        os.write(fd, content[: len(content) // 2])
        raise OSError(28, "No space left on device")


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    md = FailingMaildir(tmp_path / "md")
    with pytest.raises(OSError, match="No space"):
        md.deliver(b"x" * 1000)
    assert maildir_files(md.path) == []


def test_server_answers_451_and_keeps_nothing_when_the_write_fails(tmp_path: Path) -> None:
    md = FailingMaildir(tmp_path / "md")

    async def deliver(envelope: Any) -> str | None:
        return await md.deliver_async(envelope.original_content)

    handler = PluginHandler([], deliver=deliver)
    with ServerThread(handler) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@b>")
        c.cmd("RCPT TO:<c@d>")
        assert c.cmd("DATA").startswith("354")
        assert c.cmd("Subject: x\r\n\r\nbody\r\n.") == (
            "451 4.3.0 Could not store the message, try again later"
        )
        # The session goes on.
        assert c.cmd("NOOP") == "250 2.0.0 OK"
    assert maildir_files(md.path) == []


def test_250_is_sent_after_the_message_is_in_new(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "md")
    seen_at_reply: list[list[bytes]] = []

    async def deliver(envelope: Any) -> str | None:
        name = await md.deliver_async(envelope.original_content)
        seen_at_reply.append(maildir_files(md.path))
        return name

    handler = PluginHandler([], deliver=deliver)
    with ServerThread(handler) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@b>")
        c.cmd("RCPT TO:<c@d>")
        c.cmd("DATA")
        reply = c.cmd("Subject: x\r\n\r\n..leading dot\r\nbody\r\n.")
        assert reply.startswith("250 2.0.0 Message accepted for delivery as ")
        name = reply.rsplit(" ", 1)[1]
    assert seen_at_reply == [[b"Subject: x\r\n\r\n.leading dot\r\nbody\r\n"]]
    assert (md.path / "new" / name).exists()


def test_stop_lets_a_message_being_stored_be_acknowledged(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "md")

    async def slow_deliver(envelope: Any) -> str | None:
        await asyncio.sleep(0.5)
        return await md.deliver_async(envelope.original_content)

    handler = PluginHandler([], deliver=slow_deliver)
    with ServerThread(handler) as st:
        idle = RawClient(st.port)
        idle.reply()
        with RawClient(st.port) as c:
            c.reply()
            c.cmd("EHLO x")
            c.cmd("MAIL FROM:<a@b>")
            c.cmd("RCPT TO:<c@d>")
            c.cmd("DATA")
            c.send("Subject: x\r\n\r\nbody\r\n.\r\n")
            time.sleep(0.2)  # the message is being stored
            stopping = threading.Thread(target=st.call, args=(st.server.stop(),))
            stopping.start()
            assert c.reply().startswith("250 2.0.0 Message accepted for delivery as ")
            assert c.closed()
            stopping.join(10)
        assert idle.reply() == "421 4.3.2 smtpdsn.test Service shutting down, closing connection"
        assert idle.closed()
        idle.close()
    assert maildir_files(md.path) == [b"Subject: x\r\n\r\nbody\r\n"]


# -- the writer threads: group commit -------------------------------------------------------


class GatedMaildir(Maildir):
    """Holds the writer inside the write of a message starting with ``b"gate"`` until
    ``release`` is set, so that the deliveries asked for meanwhile queue up."""

    def __init__(self, path: Path, **kwargs: Any) -> None:
        super().__init__(path, **kwargs)
        self.entered = threading.Event()
        self.release = threading.Event()

    def _write(self, fd: int, content: bytes) -> None:
        if content.startswith(b"gate"):
            self.entered.set()
            assert self.release.wait(10)
        super()._write(fd, content)


async def wait_for(event: threading.Event) -> None:
    """Wait (a generous bound) for a threading.Event without a thread of the loop's own."""
    for _ in range(1000):
        if event.is_set():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the writer never got there")


def new_contents(md: Maildir) -> dict[str, bytes]:
    assert list((md.path / "tmp").iterdir()) == []
    return {p.name: p.read_bytes() for p in (md.path / "new").iterdir()}


def test_deliver_async_stores_before_it_returns(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "md")

    async def main() -> tuple[str, list[str]]:
        one = await md.deliver_async(b"one")
        assert new_contents(md) == {one: b"one"}
        return one, await md.deliver_all_async([b"original", b"dsn"])

    one, (original, dsn) = asyncio.run(main())
    assert new_contents(md) == {one: b"one", original: b"original", dsn: b"dsn"}
    md.close(wait=True)


def test_a_batch_shares_one_fsync_of_new_and_one_wakeup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    md = GatedMaildir(tmp_path / "md", writers=1)
    fsyncs = {"file": 0, "dir": 0}
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        fsyncs["dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file"] += 1
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    wakeups: list[str] = []

    async def main() -> list[list[str]]:
        loop = asyncio.get_running_loop()
        real = loop.call_soon_threadsafe

        def counting(callback: Any, *args: Any, **kwargs: Any) -> asyncio.Handle:
            wakeups.append(getattr(callback, "__name__", ""))
            return real(callback, *args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign,assignment]
        first = asyncio.create_task(md.deliver_all_async([b"gate"]))
        await wait_for(md.entered)
        # Twenty deliveries (one of two messages) while the writer is busy: one batch.
        rest = [
            asyncio.create_task(md.deliver_all_async([b"a%d" % i] * (1 + (i == 7))))
            for i in range(20)
        ]
        await asyncio.sleep(0.05)
        md.release.set()
        return await asyncio.gather(first, *rest)

    results = asyncio.run(main())
    md.close(wait=True)
    assert [len(names) for names in results] == [1] + [1] * 7 + [2] + [1] * 12
    assert wakeups.count("_settle") == 2  # one per batch, not one per delivery
    assert fsyncs == {"file": 22, "dir": 2}
    assert (md.batches, md.batched) == (2, 21)
    stored = new_contents(md)
    assert len(stored) == 22
    assert stored[results[8][0]] == stored[results[8][1]] == b"a7"


class FaultyOS:
    """Makes the OS calls under one Maildir fail as a full, read-only or broken disk would.

    Other paths and file descriptors go through untouched (the patches are process-wide).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, md: Maildir) -> None:
        self.md = md
        self.open_errno: int | None = None  # files opened in tmp/
        self.write_errno: int | None = None  # after half the message is written
        self.write_marker = b""  # only messages containing this (all when empty)
        self.rename_marker: bytes | None = None  # EIO renaming a file with this content
        self.dir_fsync_errno: int | None = None
        self.fds: set[int] = set()
        names = ("open", "write", "fsync", "rename", "close")
        self.real = {name: getattr(os, name) for name in names}
        for name in self.real:
            monkeypatch.setattr(os, name, getattr(self, name))

    def _ours(self, path: Any) -> bool:
        return str(path).startswith(str(self.md.path))

    def open(self, path: Any, flags: int, mode: int = 0o777, **kw: Any) -> int:
        if self.open_errno is not None and self._ours(path) and "/tmp/" in str(path):
            raise OSError(self.open_errno, os.strerror(self.open_errno), str(path))
        fd: int = self.real["open"](path, flags, mode, **kw)
        if self._ours(path):
            self.fds.add(fd)
        return fd

    def write(self, fd: int, data: Any) -> int:
        if fd in self.fds and self.write_errno is not None and self.write_marker in bytes(data):
            self.real["write"](fd, bytes(data)[: len(data) // 2])
            raise OSError(self.write_errno, os.strerror(self.write_errno))
        written: int = self.real["write"](fd, data)
        return written

    def fsync(self, fd: int) -> None:
        if (
            fd in self.fds
            and self.dir_fsync_errno is not None
            and os.path.isdir(f"/proc/self/fd/{fd}")
        ):
            raise OSError(self.dir_fsync_errno, os.strerror(self.dir_fsync_errno))
        self.real["fsync"](fd)

    def close(self, fd: int) -> None:
        self.fds.discard(fd)
        self.real["close"](fd)

    def rename(self, src: Any, dst: Any, **kw: Any) -> None:
        if self.rename_marker is not None and self._ours(src):
            with open(src, "rb") as f:
                if self.rename_marker in f.read():
                    raise OSError(errno.EIO, os.strerror(errno.EIO), str(src))
        self.real["rename"](src, dst, **kw)


def test_a_failed_delivery_leaves_nothing_and_spares_the_rest_of_its_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    md = GatedMaildir(tmp_path / "md", writers=1)
    faults = FaultyOS(monkeypatch, md)
    faults.write_errno, faults.write_marker = errno.ENOSPC, b"too big"
    faults.rename_marker = b"bad rename"

    async def main() -> list[list[str] | BaseException]:
        first = asyncio.create_task(md.deliver_all_async([b"gate"]))
        await wait_for(md.entered)
        batch = [
            [b"kept 1"],
            [b"lost 1", b"too big"],  # the second file fails: the first goes too
            [b"kept 2", b"kept 3"],
            [b"lost 2", b"bad rename"],  # renamed first, then undone
            [b"kept 4"],
        ]
        tasks = [asyncio.create_task(md.deliver_all_async(c)) for c in batch]
        await asyncio.sleep(0.05)
        md.release.set()
        return await asyncio.gather(first, *tasks, return_exceptions=True)

    results = asyncio.run(main())
    md.close(wait=True)
    assert md.batches == 2
    assert isinstance(results[2], OSError) and results[2].errno == errno.ENOSPC
    assert isinstance(results[4], OSError) and results[4].errno == errno.EIO
    assert sorted(new_contents(md).values()) == [
        b"gate",
        b"kept 1",
        b"kept 2",
        b"kept 3",
        b"kept 4",
    ]


def test_a_failed_fsync_of_new_fails_the_whole_batch_and_keeps_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    md = Maildir(tmp_path / "md", writers=1)
    faults = FaultyOS(monkeypatch, md)
    faults.dir_fsync_errno = errno.EIO

    async def main() -> list[list[str] | BaseException]:
        return await asyncio.gather(
            *(md.deliver_all_async([b"m%d" % i, b"dsn"]) for i in range(5)),
            return_exceptions=True,
        )

    results = asyncio.run(main())
    assert all(isinstance(r, OSError) and r.errno == errno.EIO for r in results)
    assert new_contents(md) == {}
    faults.dir_fsync_errno = None  # the disk is back
    assert asyncio.run(md.deliver_all_async([b"again"])) != []
    assert list(new_contents(md).values()) == [b"again"]
    md.close(wait=True)


# -- failures as replies ---------------------------------------------------------------------


def test_the_replies_for_a_full_disk_and_for_other_failures() -> None:
    assert str(DISK_FULL_REPLY) == "452 4.3.1 Insufficient system storage, try again later"
    assert str(STORE_FAILED_REPLY) == "451 4.3.0 Could not store the message, try again later"
    assert delivery_failure_reply(OSError(errno.ENOSPC, "No space left")) is DISK_FULL_REPLY
    assert delivery_failure_reply(OSError(errno.EDQUOT, "Quota exceeded")) is DISK_FULL_REPLY
    for code in (errno.EROFS, errno.EIO, errno.EACCES, errno.ENOENT):
        assert delivery_failure_reply(OSError(code, os.strerror(code))) is STORE_FAILED_REPLY
    assert delivery_failure_reply(ValueError("a bug in a plugin")) is STORE_FAILED_REPLY
    # A full disk under another error (a DSN builder that re-raised) is still a full disk.
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left")
        except OSError as exc:
            raise RuntimeError("could not store the DSN") from exc
    except RuntimeError as wrapped:
        assert delivery_failure_reply(wrapped) is DISK_FULL_REPLY


@given(strategies.integers(min_value=0, max_value=200))
def test_every_oserror_gets_a_transient_reply(code: int) -> None:
    reply = delivery_failure_reply(OSError(code, "x"))
    assert reply.is_transient
    assert (reply.code, reply.status is not None and str(reply.status)) == (
        (452, "4.3.1") if code in (errno.ENOSPC, errno.EDQUOT) else (451, "4.3.0")
    )


@pytest.mark.parametrize(
    ("where", "code", "reply"),
    [
        ("write", errno.ENOSPC, "452 4.3.1 Insufficient system storage, try again later"),
        ("write", errno.EDQUOT, "452 4.3.1 Insufficient system storage, try again later"),
        ("open", errno.ENOSPC, "452 4.3.1 Insufficient system storage, try again later"),
        ("open", errno.EROFS, "451 4.3.0 Could not store the message, try again later"),
        ("write", errno.EIO, "451 4.3.0 Could not store the message, try again later"),
    ],
)
def test_a_full_or_broken_disk_gives_4xx_then_delivery_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, code: int, reply: str
) -> None:
    md = Maildir(tmp_path / "md")
    faults = FaultyOS(monkeypatch, md)
    setattr(faults, f"{where}_errno", code)

    async def attempt() -> str:
        try:
            await md.deliver_all_async([b"original", b"dsn"])
        except Exception as exc:
            return str(delivery_failure_reply(exc))
        return "stored"

    assert asyncio.run(attempt()) == reply
    with pytest.raises(OSError) as raised:
        md.deliver(b"sync")
    assert raised.value.errno == code
    assert new_contents(md) == {}
    setattr(faults, f"{where}_errno", None)  # space is back: the same writers store again
    assert asyncio.run(attempt()) == "stored"
    assert sorted(new_contents(md).values()) == [b"dsn", b"original"]
    md.close(wait=True)


# -- event loops, cancellation, close --------------------------------------------------------


def test_deliveries_from_several_event_loops_at_once(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "md", writers=2)
    results: dict[int, list[str]] = {}

    def run(n: int) -> None:
        async def main() -> list[str]:
            return list(
                await asyncio.gather(
                    *(md.deliver_async(b"loop %d msg %d" % (n, i)) for i in range(25))
                )
            )

        results[n] = asyncio.run(main())

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    stored = new_contents(md)
    assert len(stored) == 100
    for n, names in results.items():
        assert [stored[name] for name in names] == [b"loop %d msg %d" % (n, i) for i in range(25)]
    md.close(wait=True)


def test_a_delivery_cancelled_before_the_writer_takes_it_is_not_stored(tmp_path: Path) -> None:
    md = GatedMaildir(tmp_path / "md", writers=1)

    async def main() -> None:
        first = asyncio.create_task(md.deliver_async(b"gate"))
        await wait_for(md.entered)
        second = asyncio.create_task(md.deliver_async(b"given up"))
        await asyncio.sleep(0.01)
        second.cancel()
        md.release.set()
        await first
        with pytest.raises(asyncio.CancelledError):
            await second
        await md.deliver_async(b"after")

    asyncio.run(main())
    md.close(wait=True)
    assert sorted(new_contents(md).values()) == [b"after", b"gate"]


def test_close_lets_pending_deliveries_finish_and_the_writers_end(tmp_path: Path) -> None:
    md = GatedMaildir(tmp_path / "md", writers=2)

    async def main() -> list[str]:
        tasks = [asyncio.create_task(md.deliver_async(b"gate"))]
        await wait_for(md.entered)
        tasks += [asyncio.create_task(md.deliver_async(b"m%d" % i)) for i in range(5)]
        await asyncio.sleep(0.01)
        threads = list(md._threads)
        assert len(threads) == 2 and all(t.daemon for t in threads)
        md.close()  # returns at once; what was asked is still stored
        md.release.set()
        names = list(await asyncio.gather(*tasks))
        for t in threads:
            t.join(10)
            assert not t.is_alive()
        # The Maildir can be used again: new writers start.
        names.append(await md.deliver_async(b"after close"))
        return names

    names = asyncio.run(main())
    md.close(wait=True)
    assert md._threads == []
    stored = new_contents(md)
    assert [stored[n] for n in names] == [b"gate", *(b"m%d" % i for i in range(5)), b"after close"]


def test_the_writer_survives_an_event_loop_closed_while_it_writes(tmp_path: Path) -> None:
    md = GatedMaildir(tmp_path / "md", writers=1)
    loop = asyncio.new_event_loop()
    task = loop.create_task(md.deliver_async(b"gate"))
    loop.run_until_complete(wait_for(md.entered))
    task.cancel()  # as asyncio.run does with what is left
    with contextlib.suppress(asyncio.CancelledError):
        loop.run_until_complete(task)
    loop.close()
    md.release.set()
    # Stored (it was taken), nobody told; the writer goes on.
    assert asyncio.run(md.deliver_async(b"next")) in new_contents(md)
    md.close(wait=True)
    assert sorted(new_contents(md).values()) == [b"gate", b"next"]
