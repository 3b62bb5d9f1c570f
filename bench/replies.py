"""Replies per second: smtpdsn factories and parser, and haraka-dsn 1.2.1 under node.

Run from the repository root (smtpdsn installed, e.g. ``pip install -e .``)::

    python3 bench/replies.py            # about 15-30 s, npm install included
    python3 bench/replies.py --no-node  # smtpdsn only

Cases (smtpdsn side; every factory result is rendered with ``str()``, the wire text without
the final CRLF, which is what an aiosmtpd handler hook returns):

    a  str(no_such_user())
    b  str(mbox_full("Quota exceeded", 452))
    c  str(no_such_user(["line 1", "line 2"]))
    d  parse_reply("550 5.1.1 No such user\\r\\n")
    d.bytes  parse_reply(b"550 5.1.1 No such user\r\n"), bytes as a socket or smtplib gives
    e  parse_reply(a three-line reply)

When ``node`` and ``npm`` are on PATH, haraka-dsn 1.2.1 is installed from the npm registry
into a temporary folder and cases a-c are measured there too: the DSN object is built by the
same factory call and rendered the way Haraka's ``Connection#respond`` renders a DSN (take
``code`` and ``reply``, split a string reply on LF, drop blank lines, prefix each line with
the code and ``-`` or a space), lines joined by CRLF. Both sides must produce the same
string; the script checks that and prints the result.

Method, the same in both languages: one loop per case with the call written inline
(no per-iteration closure call), the loop count calibrated so one run takes about
``--min-time`` seconds, the calibration runs plus one full run as warm-up, then the best
(shortest) of ``--repeat`` runs. The node loop stores each result in a 1024-slot ring so
that V8 cannot drop the work as dead code; CPython drops nothing, so the Python loop only
binds the result to a local.

Exits 0 when node or npm is missing or the install fails; haraka-dsn is then reported as
not measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat

import smtpdsn
from smtpdsn import mbox_full, no_such_user, parse_reply

HARAKA_DSN_VERSION = "1.2.1"

ONE_LINE = "550 5.1.1 No such user\r\n"
ONE_LINE_BYTES = ONE_LINE.encode()
THREE_LINES = "550-5.1.1 line 1\r\n550-5.1.1 line 2\r\n550 5.1.1 line 3\r\n"
CACHED = "550 5.1.1 No such user"


# -- Python loops: one per case, the measured call written inline ------------------------


def _loop_default(n: int) -> float:
    f, to_str = no_such_user, str
    t0 = time.perf_counter()
    for _ in repeat(None, n):
        s = to_str(f())
    t1 = time.perf_counter()
    del s
    return t1 - t0


def _loop_default_wire(n: int) -> float:
    f = no_such_user
    t0 = time.perf_counter()
    for _ in repeat(None, n):
        s = f().wire
    t1 = time.perf_counter()
    del s
    return t1 - t0


def _loop_custom(n: int) -> float:
    f, to_str = mbox_full, str
    t0 = time.perf_counter()
    for _ in repeat(None, n):
        s = to_str(f("Quota exceeded", 452))
    t1 = time.perf_counter()
    del s
    return t1 - t0


def _loop_multiline(n: int) -> float:
    f, to_str = no_such_user, str
    t0 = time.perf_counter()
    for _ in repeat(None, n):
        s = to_str(f(["line 1", "line 2"]))
    t1 = time.perf_counter()
    del s
    return t1 - t0


def _loop_parse_one(n: int) -> float:
    f, data = parse_reply, ONE_LINE
    t0 = time.perf_counter()
    for _ in repeat(None, n):
        r = f(data)
    t1 = time.perf_counter()
    del r
    return t1 - t0


def _loop_parse_one_bytes(n: int) -> float:
    f, data = parse_reply, ONE_LINE_BYTES
    t0 = time.perf_counter()
    for _ in repeat(None, n):
        r = f(data)
    t1 = time.perf_counter()
    del r
    return t1 - t0


def _loop_parse_three(n: int) -> float:
    f, data = parse_reply, THREE_LINES
    t0 = time.perf_counter()
    for _ in repeat(None, n):
        r = f(data)
    t1 = time.perf_counter()
    del r
    return t1 - t0


def _cached() -> str:
    return CACHED


def _loop_floor(n: int) -> float:
    f, to_str = _cached, str
    t0 = time.perf_counter()
    for _ in repeat(None, n):
        s = to_str(f())
    t1 = time.perf_counter()
    del s
    return t1 - t0


def best_rate(loop: Callable[[int], float], min_time: float, repeats: int) -> float:
    """Operations per second: calibrate, warm up, best of ``repeats`` timed runs."""
    n = 1000
    while True:  # calibration (doubles as warm-up)
        elapsed = loop(n)
        if elapsed >= min_time / 8:
            break
        n *= 2
    n = max(1000, int(n * min_time / elapsed))
    loop(n)  # one full warm-up run
    best = min(loop(n) for _ in range(repeats))
    return n / best


# -- node / haraka-dsn ----------------------------------------------------------------------

JS_BENCH = r"""'use strict'
const { performance } = require('node:perf_hooks')
const DSN = require('haraka-dsn')
const minTime = Number(process.argv[2])
const repeats = Number(process.argv[3])

// What Haraka's Connection#respond does with a DSN (connection.js): use dsn.code and
// dsn.reply, split a string reply on LF (an array is copied), drop lines without a
// non-space, then `${code}${more lines follow ? '-' : ' '}${line}` per line. Lines are
// joined by CRLF here without the final CRLF, as smtpdsn's str(reply) is.
function render (dsn) {
  const code = dsn.code
  const msg = dsn.reply
  const messages = (Array.isArray(msg) ? msg.slice() : msg.toString().split(/\n/))
    .filter((m) => /\S/.test(m))
  const out = []
  let mess
  while ((mess = messages.shift())) {
    out.push(`${code}${messages.length ? '-' : ' '}${mess}`)
  }
  return out.join('\r\n')
}

const sink = new Array(1024)

// One loop per case, the call inline, so no call site is shared between cases.
function loopDefault (n) {
  const t0 = performance.now()
  for (let i = 0; i < n; i++) sink[i & 1023] = render(DSN.no_such_user())
  return (performance.now() - t0) / 1000
}
function loopDefaultWire (n) {
  const t0 = performance.now()
  for (let i = 0; i < n; i++) sink[i & 1023] = Buffer.from(render(DSN.no_such_user()) + '\r\n')
  return (performance.now() - t0) / 1000
}
function loopCustom (n) {
  const t0 = performance.now()
  for (let i = 0; i < n; i++) sink[i & 1023] = render(DSN.mbox_full('Quota exceeded', 452))
  return (performance.now() - t0) / 1000
}
function loopMultiline (n) {
  const t0 = performance.now()
  for (let i = 0; i < n; i++) sink[i & 1023] = render(DSN.no_such_user(['line 1', 'line 2']))
  return (performance.now() - t0) / 1000
}

function bestRate (loop) {
  let n = 1000
  let elapsed
  for (;;) {
    elapsed = loop(n)
    if (elapsed >= minTime / 8) break
    n *= 2
  }
  n = Math.max(1000, Math.floor(n * minTime / elapsed))
  loop(n)
  let best = Infinity
  for (let r = 0; r < repeats; r++) best = Math.min(best, loop(n))
  return n / best
}

const version = (name) => require(`${name}/package.json`).version
const result = {
  node: process.version,
  haraka_dsn: version('haraka-dsn'),
  haraka_utils: version('haraka-utils'),
  cases: {
    a: { wire: render(DSN.no_such_user()), ops: bestRate(loopDefault) },
    b: { wire: render(DSN.mbox_full('Quota exceeded', 452)), ops: bestRate(loopCustom) },
    c: { wire: render(DSN.no_such_user(['line 1', 'line 2'])), ops: bestRate(loopMultiline) },
    'a.wire': {
      wire: Buffer.from(render(DSN.no_such_user()) + '\r\n').toString('latin1'),
      ops: bestRate(loopDefaultWire),
    },
  },
}
process.stdout.write(JSON.stringify(result))
"""


@dataclass
class NodeResult:
    """haraka-dsn figures, or why there are none."""

    rates: dict[str, float]
    wires: dict[str, str]
    versions: str
    skipped: str = ""


def run_haraka(min_time: float, repeats: int) -> NodeResult:
    """Install haraka-dsn into a temporary folder and run the JS loops under node."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        return NodeResult({}, {}, "", f"{missing} not found on PATH")
    with tempfile.TemporaryDirectory(prefix="smtpdsn-bench-") as tmp:
        # A package.json here keeps npm from installing into a parent folder's project.
        with open(os.path.join(tmp, "package.json"), "w", encoding="utf-8") as fh:
            fh.write('{"name": "smtpdsn-bench", "private": true}\n')
        try:
            subprocess.run(
                [
                    npm,
                    "install",
                    "--silent",
                    "--no-audit",
                    "--no-fund",
                    f"haraka-dsn@{HARAKA_DSN_VERSION}",
                ],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=120,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            return NodeResult(
                {}, {}, "", f"npm install failed: {exc} {detail.decode(errors='replace')[:300]}"
            )
        script = os.path.join(tmp, "bench.js")
        with open(script, "w", encoding="utf-8") as fh:
            fh.write(JS_BENCH)
        try:
            proc = subprocess.run(
                [node, script, str(min_time), str(repeats)],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=300,
            )
            data = json.loads(proc.stdout)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            return NodeResult(
                {}, {}, "", f"node run failed: {exc} {detail.decode(errors='replace')[:300]}"
            )
    cases = data["cases"]
    return NodeResult(
        {k: float(v["ops"]) for k, v in cases.items()},
        {k: str(v["wire"]) for k, v in cases.items()},
        f"node {data['node']}, haraka-dsn {data['haraka_dsn']}, "
        f"haraka-utils {data['haraka_utils']}",
    )


# -- report -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    key: str
    label: str
    loop: Callable[[int], float]
    output: Callable[[], str]
    #: ("ratio", x): smtpdsn/haraka-dsn >= x; ("rate", r): smtpdsn >= r ops/s; None: no target.
    target: tuple[str, float] | None


CASES: tuple[Case, ...] = (
    Case(
        "a",
        "default: str(no_such_user())",
        _loop_default,
        lambda: str(no_such_user()),
        ("ratio", 0.8),
    ),
    Case(
        "b",
        'custom: str(mbox_full("Quota exceeded", 452))',
        _loop_custom,
        lambda: str(mbox_full("Quota exceeded", 452)),
        ("ratio", 0.4),
    ),
    Case(
        "c",
        'two lines: str(no_such_user(["line 1", "line 2"]))',
        _loop_multiline,
        lambda: str(no_such_user(["line 1", "line 2"])),
        ("ratio", 0.4),
    ),
    Case(
        "d",
        "parse one line",
        _loop_parse_one,
        lambda: str(parse_reply(ONE_LINE)),
        ("rate", 1_000_000.0),
    ),
    Case(
        "d.bytes",
        "parse one line given as bytes",
        _loop_parse_one_bytes,
        lambda: str(parse_reply(ONE_LINE_BYTES)),
        ("rate", 1_000_000.0),
    ),
    Case("e", "parse three lines", _loop_parse_three, lambda: str(parse_reply(THREE_LINES)), None),
    # Information only: bytes with the final CRLF instead of str, and CPython's floor.
    Case(
        "a.wire",
        "info: no_such_user().wire (bytes)",
        _loop_default_wire,
        lambda: no_such_user().wire.decode("latin-1"),
        None,
    ),
    Case("floor", "info: str() of a function returning a cached str", _loop_floor, _cached, None),
)


def _fmt_rate(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:,.0f}"


def _verdict(case: Case, ours: float, theirs: float | None) -> tuple[str, str]:
    if case.target is None:
        return "-", ""
    kind, value = case.target
    if kind == "ratio":
        text = f">= {value:g}x"
        if theirs is None:
            return text, "n/a"
        return text, "met" if ours / theirs >= value else "NOT met"
    return f">= {value:,.0f}/s", "met" if ours >= value else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--min-time", type=float, default=0.2, help="seconds per timed run (default 0.2)"
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed runs per case; the best is kept (default 5)"
    )
    parser.add_argument("--no-node", action="store_true", help="skip haraka-dsn")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}) "
        f"on {platform.system()} {platform.machine()}"
    )
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(f"CPUs: os.cpu_count()={os.cpu_count()}, usable by this process={affinity}")
    print(f"smtpdsn {smtpdsn.__version__} from {os.path.dirname(smtpdsn.__file__)}")
    print(
        f"method: best of {args.repeat} runs of ~{args.min_time:g} s each, after warm-up; "
        "single thread"
    )

    ours = {case.key: best_rate(case.loop, args.min_time, args.repeat) for case in CASES}

    if args.no_node:
        node = NodeResult({}, {}, "", "--no-node given")
    else:
        node = run_haraka(args.min_time, args.repeat)
    if node.skipped:
        print(f"haraka-dsn NOT measured: {node.skipped}")
    else:
        print(f"haraka-dsn measured with {node.versions}")

    print()
    header = ("case", "what", "smtpdsn ops/s", "haraka-dsn ops/s", "ratio", "target", "")
    rows: list[tuple[str, ...]] = [header]
    for case in CASES:
        theirs = node.rates.get(case.key)
        ratio = "-" if theirs is None else f"{ours[case.key] / theirs:.2f}x"
        target, verdict = _verdict(case, ours[case.key], theirs)
        rows.append(
            (
                case.key,
                case.label,
                _fmt_rate(ours[case.key]),
                _fmt_rate(theirs),
                ratio,
                target,
                verdict,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        cells = [
            row[j].ljust(widths[j]) if j < 2 else row[j].rjust(widths[j]) for j in range(len(row))
        ]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))

    if node.wires:
        print()
        print("same output on both sides:")
        for case in CASES:
            if case.key not in node.wires:
                continue
            mine, theirs_wire = case.output(), node.wires[case.key]
            same = "yes" if mine == theirs_wire else "NO"
            print(f"  {case.key}: {same}  smtpdsn {mine!r}")
            if mine != theirs_wire:
                print(f"  {'':{len(case.key)}}       haraka  {theirs_wire!r}")
    print(f"\ntotal run time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
