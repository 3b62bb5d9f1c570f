"""Server CPU, throughput and memory: ``smtpdsn serve`` against plain aiosmtpd and Haraka.

Run from the repository root with the project's Python (smtpdsn and aiosmtpd installed)::

    .venv/bin/python bench/server.py                 # 5 alternating rounds, ~2-3 min
    .venv/bin/python bench/server.py --quick         # a smoke run, ~1 min
    .venv/bin/python bench/server.py --only smtpdsn,aiosmtpd --rounds 7
    .venv/bin/python bench/server.py --loop uvloop   # passed to smtpdsn serve, if it has --loop

The load (issue 8): 50 connections at once, each sending 40 messages of about 2.5 KB
with five RCPT TO, the third of them ``unknown@bench.test``, which every server refuses with
``550 5.1.1``; no pipelining; every server stores each accepted message in a Maildir
(tmp/, fsync, rename into new/, fsync of new/) before its 250, and logs at WARNING.

Each round runs every server once, in an order that rotates from round to round: a fresh
server process, a warm-up load (not measured), then the load, measured:

* server CPU per accepted message: user + system time of the server process, its threads
  and children (``/proc/PID/stat``) over the load, divided by the messages answered 250;
* msg/s: accepted messages over the load's wall time;
* RSS at load: the largest ``VmRSS`` sampled every 50 ms during the load;
* and then, on another fresh server process, RSS per idle connection: 1,000 plaintext
  connections opened (in batches of 100), greetings read, ``VmRSS`` one second later minus
  ``VmRSS`` before, divided by 1,000.

Every reply is checked (220, 250 to EHLO, MAIL and the four known recipients,
``550 5.1.1`` to unknown@, 354, 250 after the data, 221), and every server's Maildir must
hold each accepted message exactly once (one file per ``X-Bench-Id``, nothing left in
tmp/). The figures are the medians over the rounds. The exit status is 1 when a reply or a
Maildir was wrong, else 0 (targets missed or not).

Haraka (npm ``Haraka``) is installed with npm into ``~/.cache/smtpdsn-bench`` the first
time; without node or npm it is skipped with a message.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import multiprocessing
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from serverbench.load import LoadOutcome, client_loop, idle_connections, run_load
from serverbench.procs import ServerProcess, cpu_seconds, free_port, process_tree, rss_bytes
from serverbench.servers import (
    HARAKA_VERSION,
    haraka_install,
    smtpdsn_loop_option,
    start_aiosmtpd,
    start_haraka,
    start_smtpdsn,
)
from serverbench.verify import check_maildir, empty_maildir

import smtpdsn

SERVERS = ("smtpdsn", "aiosmtpd", "haraka")
TARGET_CPU_RATIO = 0.4
TARGET_IDLE_BYTES = 8 * 1024


@dataclass
class Figures:
    """One server's measurements, one entry per round."""

    cpu_us: list[float] = field(default_factory=list)
    msg_s: list[float] = field(default_factory=list)
    rss_load: list[int] = field(default_factory=list)
    idle_bytes: list[float] = field(default_factory=list)
    client_us: list[float] = field(default_factory=list)
    cpu_by_round: dict[int, float] = field(default_factory=dict)
    replies: int = 0
    accepted: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Load:
    connections: int
    messages: int
    warmup_connections: int
    warmup_messages: int
    idle: int
    clients: int
    client_loop: str


class Sampler(threading.Thread):
    """Samples the summed VmRSS of some processes every ``interval`` seconds."""

    def __init__(self, pids: Sequence[int], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pids = list(pids)
        self.interval = interval
        self.peak = rss_bytes(self.pids)
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            self.peak = max(self.peak, rss_bytes(self.pids))

    def stop(self) -> int:
        self.halt.set()
        self.join()
        return max(self.peak, rss_bytes(self.pids))


def _load(
    pool: ProcessPoolExecutor | None,
    load: Load,
    port: int,
    tag: str,
    connections: int,
    messages: int,
) -> LoadOutcome:
    """Run the load with this process as the client, or split over the pool's processes."""
    if pool is None:
        return run_load(port, tag, range(connections), messages, load.client_loop)
    workers = load.clients
    bounds = [connections * i // workers for i in range(workers + 1)]
    t0 = time.perf_counter()
    futures = [
        pool.submit(run_load, port, tag, range(lo, hi), messages, load.client_loop)
        for lo, hi in itertools.pairwise(bounds)
        if hi > lo
    ]
    outcome = LoadOutcome()
    for future in futures:
        outcome.merge(future.result())
    outcome.wall = time.perf_counter() - t0
    return outcome


def _record_outcome(fig: Figures, name: str, what: str, outcome: LoadOutcome) -> None:
    fig.replies += outcome.replies
    fig.accepted += len(outcome.accepted)
    if outcome.errors:
        samples = "; ".join(outcome.error_samples[:3])
        fig.problems.append(f"{what}: {outcome.errors} wrong or missing replies ({samples})")


def load_round(
    name: str,
    start: Callable[[int, Path, Path], ServerProcess],
    load: Load,
    workdir: Path,
    round_no: int,
    fig: Figures,
    pool: ProcessPoolExecutor | None,
) -> str:
    """One measured load against a fresh server; returns the round's line for the log."""
    tag = f"{name}.r{round_no}"
    port = free_port()
    maildir = workdir / f"{tag}-maildir"
    server = start(port, maildir, workdir)
    try:
        server.wait_ready()
        warm = _load(pool, load, port, f"{tag}w", load.warmup_connections, load.warmup_messages)
        _record_outcome(fig, name, "warm-up", warm)
        # Nothing is deleted between the warm-up and the load, nor between rounds (each
        # has its own Maildir): on a file system mounted with online discard, deleting
        # thousands of files makes the next file creations cost several times more
        # system time, which would be charged to whichever server runs next.
        time.sleep(0.2)
        tree = process_tree(server.pid)
        sampler = Sampler(tree)
        sampler.start()
        cpu0 = cpu_seconds(tree)
        outcome = _load(pool, load, port, tag, load.connections, load.messages)
        cpu1 = cpu_seconds(sorted(set(tree) | set(process_tree(server.pid))))
        peak = sampler.stop()
    finally:
        server.stop()
    _record_outcome(fig, name, tag, outcome)
    fig.problems += [
        f"{tag}: {p}" for p in check_maildir(maildir, [*warm.accepted, *outcome.accepted])
    ]
    accepted = len(outcome.accepted)
    if not accepted:
        return f"{name:9} {tag}: no message accepted"
    cpu_us = (cpu1 - cpu0) / accepted * 1e6
    fig.cpu_us.append(cpu_us)
    fig.cpu_by_round[round_no] = cpu_us
    fig.msg_s.append(accepted / outcome.wall)
    fig.rss_load.append(peak)
    fig.client_us.append(outcome.client_cpu / accepted * 1e6)
    return (
        f"{name:9} {tag}: {accepted} msgs in {outcome.wall:5.2f} s = {accepted / outcome.wall:6.0f}"
        f" msg/s, server CPU {cpu1 - cpu0:5.2f} s = {cpu_us:6.0f} µs/msg, RSS peak"
        f" {peak / 2**20:5.1f} MiB, client CPU {fig.client_us[-1]:4.0f} µs/msg"
    )


def idle_round(
    name: str,
    start: Callable[[int, Path, Path], ServerProcess],
    load: Load,
    workdir: Path,
    tag: str,
    fig: Figures,
) -> str:
    """RSS per idle connection on a fresh server (after one small warm-up session)."""
    port = free_port()
    maildir = workdir / f"{tag}-idle-maildir"
    server = start(port, maildir, workdir)
    try:
        server.wait_ready()
        warm = run_load(port, f"{tag}i", range(2), 2, load.client_loop)
        _record_outcome(fig, name, "idle warm-up", warm)
        empty_maildir(maildir)
        time.sleep(0.5)
        tree = process_tree(server.pid)
        before = rss_bytes(tree)
        greeted, after = idle_connections(
            port, load.idle, lambda: rss_bytes(tree), load.client_loop
        )
    finally:
        server.stop()
    if greeted != load.idle:
        fig.problems.append(
            f"{tag}: {load.idle - greeted} of {load.idle} idle connections not greeted"
        )
    per_conn = (after - before) / load.idle
    fig.idle_bytes.append(per_conn)
    return (
        f"{name:9} {tag}: {greeted} idle connections: RSS {before / 2**20:5.1f} -> "
        f"{after / 2**20:5.1f} MiB = {per_conn / 1024:5.1f} KiB per connection"
    )


def _raise_nofile(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        sys.exit(
            f"bench/server.py: needs {needed} open files for the idle connections but the hard "
            f"limit is {hard}; use --idle {max(100, hard // 2 - 100)} or raise it (ulimit -Hn)"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _client_loop(parser: argparse.ArgumentParser, name: str) -> str:
    try:
        return client_loop(name)
    except ValueError as exc:
        parser.error(f"--client-loop: {exc}")


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _spread(values: Sequence[float], fmt: str) -> str:
    if not values:
        return "-"
    text = format(_median(values), fmt)
    if len(values) > 1:
        text += f" ({format(min(values), fmt)}-{format(max(values), fmt)})"
    return text


def report(figures: dict[str, Figures], runtimes: dict[str, str]) -> None:
    """Print the table of medians, the ratios and the issue's targets."""
    print()
    header = (
        f"{'server':9} {'runtime':30} {'CPU µs/msg (min-max)':24} {'msg/s':>7} "
        f"{'RSS at load':>11} {'RSS/idle conn':>13} {'client µs/msg':>13}"
    )
    print(header)
    print("-" * len(header))
    for name, fig in figures.items():
        rss = f"{_median(fig.rss_load) / 2**20:.1f} MiB" if fig.rss_load else "-"
        idle = f"{_median(fig.idle_bytes) / 1024:.1f} KiB" if fig.idle_bytes else "-"
        print(
            f"{name:9} {runtimes[name]:30} {_spread(fig.cpu_us, ',.0f'):24} "
            f"{_median(fig.msg_s):7,.0f} {rss:>11} {idle:>13} {_median(fig.client_us):13,.0f}"
        )
    print()
    ours = figures.get("smtpdsn")
    if ours is not None and ours.cpu_us:
        for other, label in (("aiosmtpd", "plain aiosmtpd"), ("haraka", "Haraka")):
            theirs = figures.get(other)
            if theirs is None or not theirs.cpu_us:
                continue
            ratio = _median(ours.cpu_us) / _median(theirs.cpu_us)
            met = "met" if ratio <= TARGET_CPU_RATIO else "NOT met"
            # The same ratio taken within each round (the two runs close in time), for the
            # spread: on a shared machine the load of other jobs drifts between rounds.
            paired = [
                ours.cpu_by_round[r] / theirs.cpu_by_round[r]
                for r in ours.cpu_by_round
                if r in theirs.cpu_by_round
            ]
            spread = f"per round {_spread(paired, '.2f')}" if len(paired) > 1 else ""
            print(
                f"CPU per message, smtpdsn / {label + ':':15} {ratio:5.2f}x   "
                f"target <= {TARGET_CPU_RATIO}x   {met:7}   {spread}".rstrip()
            )
    if ours is not None and ours.idle_bytes:
        per_conn = _median(ours.idle_bytes)
        met = "met" if per_conn <= TARGET_IDLE_BYTES else "NOT met"
        print(
            f"RSS per idle connection, smtpdsn:        {per_conn / 1024:5.1f} KiB  "
            f"target <= {TARGET_IDLE_BYTES // 1024} KB   {met}"
        )
    print()
    for name, fig in figures.items():
        if fig.problems:
            print(f"{name}: {len(fig.problems)} PROBLEMS")
            for problem in fig.problems[:10]:
                print(f"  {problem}")
        else:
            print(
                f"{name}: all {fig.replies:,} replies right; all {fig.accepted:,} accepted "
                "messages stored exactly once"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 5; --quick: 1)")
    parser.add_argument(
        "--only",
        default=",".join(SERVERS),
        help=f"comma-separated servers (default {','.join(SERVERS)})",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 10 connections x 10 messages, 200 idle"
    )
    parser.add_argument("--connections", type=int, help="connections at once (default 50)")
    parser.add_argument("--messages", type=int, help="messages per connection (default 40)")
    parser.add_argument("--idle", type=int, help="idle connections (default 1000)")
    parser.add_argument(
        "--clients",
        type=int,
        default=1,
        help="client processes sharing the connections (default 1)",
    )
    parser.add_argument(
        "--client-loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="the load client's event loop (default auto: uvloop when installed)",
    )
    parser.add_argument(
        "--loop", choices=("auto", "asyncio", "uvloop"), help="passed to smtpdsn serve --loop"
    )
    parser.add_argument("--haraka-version", default=HARAKA_VERSION)
    parser.add_argument(
        "--workdir", type=Path, help="where the Maildirs go (default: the temp dir)"
    )
    args = parser.parse_args(argv)
    # On SIGTERM, unwind so that the servers (in sessions of their own) are stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    names = [n.strip().lower() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in SERVERS]
    if unknown or not names:
        parser.error(
            f"--only: unknown server {', '.join(unknown) or '(none)'}; choose from {SERVERS}"
        )
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 5)
    load = Load(
        connections=args.connections or (10 if args.quick else 50),
        messages=args.messages or (10 if args.quick else 40),
        warmup_connections=2 if args.quick else 5,
        warmup_messages=5 if args.quick else 10,
        idle=args.idle or (200 if args.quick else 1000),
        clients=max(1, args.clients),
        client_loop=_client_loop(parser, args.client_loop),
    )
    _raise_nofile(2 * load.idle + 2 * load.connections + 200)

    starters: dict[str, Callable[[int, Path, Path], ServerProcess]] = {}
    runtimes: dict[str, str] = {}
    py = f"Python {platform.python_version()}"
    if "smtpdsn" in names:
        if args.loop is not None and not smtpdsn_loop_option():
            parser.error("--loop: this smtpdsn serve has no --loop option")
        loop: str | None = args.loop
        starters["smtpdsn"] = lambda p, m, w: start_smtpdsn(p, m, w, loop)
        shown = loop
        if loop in (None, "auto"):  # what serve's auto picks: uvloop when installed
            shown = "uvloop (auto)" if importlib.util.find_spec("uvloop") else "asyncio (auto)"
        runtimes["smtpdsn"] = f"{py}, {shown}"
    if "aiosmtpd" in names:
        import aiosmtpd

        starters["aiosmtpd"] = start_aiosmtpd
        runtimes["aiosmtpd"] = f"{py}, aiosmtpd {aiosmtpd.__version__}"
    if "haraka" in names:
        script, why = haraka_install(args.haraka_version)
        if script is None:
            print(f"Haraka skipped: {why}")
        else:
            starters["haraka"] = lambda p, m, w: start_haraka(script, p, m, w)
            runtimes["haraka"] = f"Haraka {args.haraka_version}"
            node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout
            runtimes["haraka"] += f", node {node.strip().lstrip('v')}"

    if not starters:
        print("no server left to measure")
        return 0
    print(
        f"smtpdsn {smtpdsn.__version__}, {platform.platform()}, "
        f"{multiprocessing.cpu_count()} CPUs; "
        f"{rounds} rounds of {load.connections} connections x {load.messages} messages x 5 RCPT "
        f"(1 refused), {load.idle} idle connections, {load.clients} client process(es) on "
        f"{load.client_loop}"
    )
    pool = None
    if load.clients > 1:
        pool = ProcessPoolExecutor(load.clients, mp_context=multiprocessing.get_context("spawn"))
        list(pool.map(abs, range(load.clients)))  # start the workers now
    figures = {name: Figures() for name in starters}
    order = list(starters)
    try:
        with tempfile.TemporaryDirectory(prefix="smtpdsn-bench-", dir=args.workdir) as tmp:
            workdir = Path(tmp)
            for r in range(rounds):
                turn = order[r % len(order) :] + order[: r % len(order)]
                for name in turn:
                    fig = figures[name]
                    print(load_round(name, starters[name], load, workdir, r + 1, fig, pool))
                for name in turn:
                    tag = f"{name}.r{r + 1}"
                    print(idle_round(name, starters[name], load, workdir, tag, figures[name]))
    except RuntimeError as exc:
        print(f"bench/server.py: {exc}", file=sys.stderr)
        return 1
    finally:
        if pool is not None:
            pool.shutdown()
    report(figures, runtimes)
    return 1 if any(fig.problems for fig in figures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
