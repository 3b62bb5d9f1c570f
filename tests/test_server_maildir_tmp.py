"""Maildir tmp/: what killed deliverers leave is cleaned as the Maildir convention says,
nothing a live delivery writes is touched, and SIGKILL never leaves a partial file in new/.

The convention (https://cr.yp.to/proto/maildir.html): a file in tmp/ not accessed for 36
hours is removed; a name carries the host and the deliverer's PID, so files of this host
whose PID no longer runs are leftovers too.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smtpdsn.server.maildir import TMP_MAX_AGE, Maildir

HOUR = 3600.0


def dead_pid() -> int:
    """The PID of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def plant(md: Maildir, name: str) -> str:
    (md.path / "tmp" / name).write_bytes(b"partial")
    return name


def tmp_names(md: Maildir) -> set[str]:
    return {p.name for p in (md.path / "tmp").iterdir()}


def test_our_names_carry_the_host_and_pid(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "md")
    name = md.unique_name()
    stamp, unique, host = name.split(".", 2)
    assert int(stamp) == pytest.approx(time.time(), abs=5)
    assert unique.startswith("M") and f"P{os.getpid()}Q" in unique
    assert host == md._host


def test_clean_tmp_removes_leftovers_and_keeps_live_files(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "md")
    host, me, dead = md._host, os.getpid(), dead_pid()
    live = os.getppid()  # the process that runs the tests' runner: alive
    gone = {
        plant(md, f"1700000000.M1P{dead}Q1.{host}"),  # this host, a PID that ended
        plant(md, f"1700000000.{dead}.{host}"),  # the classic name form
        plant(md, f"1700000000.M2P{dead}V0000000000000801I0000AB12.{host}"),  # Dovecot's form
    }
    kept = {
        plant(md, f"1700000000.M3P{me}Q9.{host}"),  # this process
        plant(md, f"1700000000.M4P{live}Q1.{host}"),  # a running process
        plant(md, f"1700000000.M5P{dead}Q1.other.example"),  # another host: its PIDs are not ours
        plant(md, "not a maildir name"),
        plant(md, f"1700000000.M6P0Q1.{host}"),  # PID 0 is no process to ask about
    }
    (md.path / "tmp" / "a-directory").mkdir()
    assert set(md.clean_tmp()) == gone
    assert tmp_names(md) == kept | {"a-directory"}
    # 36 hours on, nobody is still writing any of them (directories stay).
    assert md.clean_tmp(time.time() + TMP_MAX_AGE - HOUR) == []
    assert set(md.clean_tmp(time.time() + TMP_MAX_AGE + HOUR)) == kept
    assert tmp_names(md) == {"a-directory"}


def test_age_counts_from_the_last_access_modification_or_change(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "md")
    name = plant(md, "1700000000.M1P1Q1.other.example")
    old = time.time() - 40 * HOUR
    os.utime(md.path / "tmp" / name, (old, old))  # its inode change time is still now
    assert md.clean_tmp() == []
    assert md.clean_tmp(time.time() + TMP_MAX_AGE + 1) == [name]


def test_creating_the_maildir_cleans_what_a_killed_server_left(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "md")
    left = plant(md, f"{int(time.time())}.M1P{dead_pid()}Q7.{md._host}")
    mine = plant(md, md.unique_name())
    Maildir(tmp_path / "md")
    assert tmp_names(md) == {mine}
    assert left not in tmp_names(md)


def test_a_file_being_written_is_never_removed(tmp_path: Path) -> None:
    seen: list[tuple[list[str], set[str]]] = []

    class Cleaning(Maildir):
        def _write(self, fd: int, content: bytes) -> None:
            super()._write(fd, content)
            # Mid-delivery, a cleaning that thinks every file is days old.
            removed = self.clean_tmp(time.time() + 10 * TMP_MAX_AGE)
            seen.append((removed, tmp_names(self)))

    md = Cleaning(tmp_path / "md")
    names = md.deliver_all([b"one", b"two"])
    assert seen[0] == ([], {names[0]})
    assert seen[1] == ([], {names[0], names[1]})
    assert sorted(p.read_bytes() for p in (md.path / "new").iterdir()) == [b"one", b"two"]


def test_the_writer_cleans_tmp_now_and_then(tmp_path: Path) -> None:
    md = Maildir(tmp_path / "md", clean_interval=0.05)
    asyncio.run(md.deliver_async(b"starts the writers"))
    left = plant(md, f"1700000000.M1P{dead_pid()}Q1.{md._host}")
    for _ in range(500):  # a generous bound, not a timing assertion
        if left not in tmp_names(md):
            break
        time.sleep(0.01)
    md.close(wait=True)
    assert tmp_names(md) == set()


# -- SIGKILL ---------------------------------------------------------------------------------

DELIVERER = r"""
import asyncio, hashlib, random, sys, threading
from smtpdsn.server.maildir import Maildir

md = Maildir(sys.argv[1], writers=2)
rng = random.Random(int(sys.argv[2]))

def message():
    body = rng.randbytes(rng.randint(0, 300_000))
    digest = hashlib.sha256(body).hexdigest().encode()
    head = b"X-Length: %d\r\nX-SHA256: %s\r\n\r\n" % (len(body), digest)
    return head + body

def sync_deliveries():
    while True:
        md.deliver(message())

async def main():
    async def one():
        while True:
            await md.deliver_all_async([message(), message()])
    await asyncio.gather(*(one() for _ in range(8)))

threading.Thread(target=sync_deliveries, daemon=True).start()
print("ready", flush=True)
asyncio.run(main())
"""


def check_complete(path: Path) -> None:
    head, sep, body = path.read_bytes().partition(b"\r\n\r\n")
    assert sep, f"{path.name} has no header"
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
    assert int(fields[b"X-Length"]) == len(body), f"{path.name} is cut short"
    assert fields[b"X-SHA256"].decode() == hashlib.sha256(body).hexdigest(), path.name


def test_sigkill_at_any_point_leaves_no_partial_file_in_new(tmp_path: Path) -> None:
    path = tmp_path / "md"
    rng = random.Random(8)
    counts: list[int] = []
    leftovers: list[int] = []
    for round_ in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", DELIVERER, str(path), str(round_)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n"
            time.sleep(rng.uniform(0.05, 0.6))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(30)
            if child.stdout is not None:
                child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        files = list((path / "new").iterdir())
        for file in files:
            check_complete(file)
        counts.append(len(files))
        # Killed mid-delivery: files were left in tmp/ (the next child's start cleans them).
        leftovers.append(len(list((path / "tmp").iterdir())))
    assert counts[-1] > 0, "the deliverers stored nothing"
    assert any(leftovers), "no kill hit a delivery in progress"
    # What the killed deliverers left in tmp/ (their PIDs are gone) goes at the next start.
    Maildir(path)
    assert tmp_names(Maildir(path)) == set()
