"""Maildir delivery: fsynced, atomic, nothing partial; 250 only after the write; 451 on failure."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from smtpdsn.server.handler import PluginHandler
from smtpdsn.server.maildir import Maildir
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
