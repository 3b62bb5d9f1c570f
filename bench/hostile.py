"""Time against size for hostile inputs: every reader must grow linearly.

    python3 bench/hostile.py [--sizes 250000,500000,1000000,2000000] [--repeat 3]

For each kind of hostile message (deep nesting, a Content-Type with a huge number of
parameters, a huge header, many parts, long lines, many addresses, encoded words ...)
builds inputs of each size and times :func:`smtpdsn.classify.classify`,
:func:`smtpdsn.report.parse_reports` and :func:`smtpdsn.mime.parse` on them (best of
``--repeat``). Prints the time per megabyte at each size and the ratio between the
largest and the smallest size's time per megabyte: about 1 for linear growth, about the
size ratio (8 for the default sizes) for quadratic growth. Exits 1 when a ratio exceeds 3.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from smtpdsn.classify import classify  # noqa: E402
from smtpdsn.mime import parse  # noqa: E402
from smtpdsn.report import ReportSyntaxError, parse_reports  # noqa: E402

HEAD = b"From: MAILER-DAEMON@mx.example.net\nTo: a@example.org\nSubject: failure notice\n"


def _fill(unit: bytes, size: int) -> bytes:
    return unit * max(1, size // len(unit))


def nested_multipart(size: int) -> bytes:
    unit = b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n"
    depth = max(1, size // 60)
    head = b"".join(unit % (i, i) for i in range(depth))
    return HEAD + head + b"\n<x@example.net>: 550 5.1.1 no\n"


def nested_rfc822(size: int) -> bytes:
    return HEAD + _fill(b"Content-Type: message/rfc822\n\n", size) + b"Subject: x\n\nhi\n"


def many_parameters(size: int) -> bytes:
    return (HEAD + b"Content-Type: multipart/mixed" + _fill(b"; a=b", size)
            + b"; boundary=x\n\n--x\n\n<x@example.net>: 550 5.1.1 no\n--x--\n")


def huge_header(size: int) -> bytes:
    return (b"From: MAILER-DAEMON@mx.example.net\nSubject: " + _fill(b"=?utf-8?q?a?= ", size)
            + b"\n\n<x@example.net>: 550 5.1.1 no\n")


def many_header_lines(size: int) -> bytes:
    return HEAD + _fill(b"X-A: b\n", size) + b"\n<x@example.net>: 550 5.1.1 no\n"


def many_parts(size: int) -> bytes:
    return (HEAD + b"Content-Type: multipart/report; boundary=x\n\n"
            + _fill(b"--x\nContent-Type: message/delivery-status\n\nFinal-Recipient: rfc822; "
                    b"x@example.net\nAction: failed\nStatus: 5.1.1\n", size) + b"--x--\n")


def long_line(size: int) -> bytes:
    return HEAD + b"\n<x@example.net>: " + _fill(b"550 5.1.1 ", size) + b"\n"


def many_addresses(size: int) -> bytes:
    return HEAD + b"\n" + _fill(b"<x@example.net>: a@b.c d@e.f <g@h.i>: 550\n", size)


def cr_line_ends(size: int) -> bytes:
    return (HEAD + b"\r\n" + _fill(b"<x@example.net>:\r550 5.1.1 no\r\r\n", size)).replace(
        b"\n", b"\r")


def dsn_fields(size: int) -> bytes:
    return (HEAD + b"Content-Type: multipart/report; boundary=x\n\n--x\n"
            b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
            + _fill(b"Final-Recipient: rfc822; x@example.net\nStatus: 5.1.1\n\n", size)
            + b"--x--\n")


KINDS: dict[str, Callable[[int], bytes]] = {
    "nested multipart": nested_multipart,
    "nested message/rfc822": nested_rfc822,
    "Content-Type parameters": many_parameters,
    "one huge header": huge_header,
    "many header lines": many_header_lines,
    "many parts": many_parts,
    "one long line": long_line,
    "many addresses": many_addresses,
    "CR line ends": cr_line_ends,
    "delivery-status fields": dsn_fields,
}


def _reports(data: bytes) -> None:
    with contextlib.suppress(ReportSyntaxError):
        parse_reports(data)


READERS: dict[str, Callable[[bytes], object]] = {
    "classify": classify, "parse_reports": _reports, "mime.parse": parse,
}


def best(fn: Callable[[bytes], object], data: bytes, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250000,500000,1000000,2000000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    worst = 0.0
    print(f"{'input':26} {'reader':14} " + " ".join(f"{s / 1e6:>7.2f}MB" for s in sizes)
          + "   ratio  (seconds per MB)")
    for kind, build in KINDS.items():
        inputs = [build(size) for size in sizes]
        for name, fn in READERS.items():
            per_mb = [best(fn, data, args.repeat) / (len(data) / 1e6) for data in inputs]
            ratio = per_mb[-1] / per_mb[0] if per_mb[0] > 0 else 1.0
            worst = max(worst, ratio)
            print(f"{kind:26} {name:14} " + " ".join(f"{t:9.3f}" for t in per_mb)
                  + f"   {ratio:5.2f}")
    print(f"worst ratio: {worst:.2f} (linear ~1, quadratic ~{sizes[-1] / sizes[0]:.0f})")
    return 0 if worst <= 3 else 1


if __name__ == "__main__":
    sys.exit(main())
