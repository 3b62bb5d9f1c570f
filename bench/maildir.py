"""Maildir delivery from asyncio: a thread-pool hop per message vs one group-commit writer.

    python3 bench/maildir.py                      # 5 alternating rounds of 2,000 messages
    python3 bench/maildir.py --dir /var/tmp       # on another filesystem

N coroutines (``--concurrency``) deliver ``--messages`` messages of ``--size`` bytes into a
fresh Maildir, each waiting for its delivery before the next, as SMTP sessions do before
their ``250``:

* ``pool``: ``await loop.run_in_executor(maildir.pool, maildir.deliver, content)``, the
  server's way before the writer thread (32 daemon threads, one hop per message);
* ``writer``: ``await maildir.deliver_async(content)``, the group-commit writer.

Both write, fsync, rename and fsync ``new/`` for every message they acknowledge (the
writer fsyncs ``new/`` once per batch). Per mode: messages per second (wall clock) and
process CPU per message (``time.process_time``: user + system time of every thread of the
process, so the fsyncs' kernel time counts), the median of the rounds; then writer/pool.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

from smtpdsn.server.maildir import Maildir

__all__ = ["main"]

_Deliver = Callable[[Maildir, bytes], Awaitable[str]]
# msg/s, CPU µs/msg, deliveries per batch, user µs/msg, system µs/msg
_Row = tuple[float, float, float, float, float]


async def _pool(maildir: Maildir, content: bytes) -> str:
    return await asyncio.get_running_loop().run_in_executor(maildir.pool, maildir.deliver, content)


async def _writer(maildir: Maildir, content: bytes) -> str:
    return await maildir.deliver_async(content)


MODES: dict[str, _Deliver] = {"pool": _pool, "writer": _writer}


def _message(size: int) -> bytes:
    head = b"From: a@example.com\r\nTo: b@example.com\r\nSubject: bench\r\n\r\n"
    line = b"x" * 76 + b"\r\n"
    body = line * ((size - len(head)) // len(line) + 1)
    return (head + body)[:size]


def _busy(seconds: float) -> None:
    """Keep the event loop's thread busy, as a server parsing the message would be."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def _run(
    deliver: _Deliver, maildir: Maildir, content: bytes, n: int, c: int, work: float
) -> None:
    left = iter(range(n))

    async def worker() -> None:
        for _ in left:
            if work:
                _busy(work)
            await deliver(maildir, content)

    await asyncio.gather(*(worker() for _ in range(c)))


def _round(mode: str, root: str, args: argparse.Namespace) -> _Row:
    path = tempfile.mkdtemp(prefix=f"md-{mode}-", dir=root)
    writers = int(mode[6:]) if mode.startswith("writer") else 1
    maildir = Maildir(path, writers=writers)
    content = _message(args.size)
    try:
        wall, cpu, t0 = time.perf_counter(), time.process_time(), os.times()
        deliver = MODES[mode.rstrip("0123456789")]
        work = args.work / 1e6
        asyncio.run(_run(deliver, maildir, content, args.messages, args.concurrency, work))
        wall, cpu, t1 = time.perf_counter() - wall, time.process_time() - cpu, os.times()
        user = (t1.user - t0.user) / args.messages * 1e6
        system = (t1.system - t0.system) / args.messages * 1e6
        stored = len(os.listdir(os.path.join(path, "new")))
        if stored != args.messages:
            raise SystemExit(f"{mode}: {stored} messages stored, expected {args.messages}")
        per_batch = maildir.batched / maildir.batches if maildir.batches else 1.0
    finally:
        maildir.close(wait=True)
    return args.messages / wall, cpu / args.messages * 1e6, per_batch, user, system


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per round")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent deliverers")
    parser.add_argument("--size", type=int, default=2500, help="message size in bytes")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per mode (alternating)")
    parser.add_argument(
        "--writers", default="1", help="writer threads to try, comma-separated (default: 1)"
    )
    parser.add_argument(
        "--work", type=float, default=0, help="µs of CPU the loop spends per message before it"
    )
    parser.add_argument("--dir", default=None, help="where to make the Maildirs (default: TMPDIR)")
    args = parser.parse_args(argv)
    root = tempfile.mkdtemp(prefix="smtpdsn-bench-", dir=args.dir)
    modes = ["pool", *(f"writer{int(n)}" for n in args.writers.split(","))]
    results: dict[str, list[_Row]] = {mode: [] for mode in modes}
    try:
        _round("writer1", root, argparse.Namespace(**{**vars(args), "messages": 100}))  # warm-up
        for r in range(args.rounds):
            for mode in modes if r % 2 == 0 else reversed(modes):
                row = _round(mode, root, args)
                results[mode].append(row)
                rate, cpu, _, user, system = row
                print(
                    f"round {r + 1} {mode:>8}: {rate:8,.0f} msg/s {cpu:8,.0f} µs CPU/msg"
                    f" (user {user:,.0f}, system {system:,.0f})",
                    flush=True,
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(
        f"\n{args.messages} messages of {args.size} B, {args.concurrency} concurrent deliverers, "
        f"median of {args.rounds} rounds ({os.path.realpath(args.dir or tempfile.gettempdir())})"
    )
    medians = {}
    for mode, rows in results.items():
        rate = statistics.median(row[0] for row in rows)
        cpu = statistics.median(row[1] for row in rows)
        batch = statistics.median(row[2] for row in rows)
        user = statistics.median(row[3] for row in rows)
        system = statistics.median(row[4] for row in rows)
        medians[mode] = (rate, cpu)
        extra = f", {batch:.1f} deliveries per batch" if mode != "pool" else ""
        print(
            f"{mode:>8}: {rate:8,.0f} msg/s {cpu:8,.0f} µs CPU/msg"
            f" (user {user:,.0f}, system {system:,.0f}{extra})"
        )
    pool_rate, pool_cpu = medians["pool"]
    for mode in modes[1:]:
        rate, cpu = medians[mode]
        print(f"{mode}/pool: {rate / pool_rate:.2f}x msg/s, {cpu / pool_cpu:.2f}x CPU per message")


if __name__ == "__main__":
    main()
