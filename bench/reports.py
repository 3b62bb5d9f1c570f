"""Benchmark: read the whole corpus's delivery reports with smtpdsn and with flufl.bounce.

    python3 bench/reports.py [--rounds N] [--no-flufl] [--flufl-version V]

smtpdsn: ``parse_reports(raw)`` on every message of the corpus (629 real bounces; a
message without a delivery-status part raises ``ReportSyntaxError``, which is caught and
counted), returning full typed records (addresses, actions, statuses, dates, warnings).

flufl.bounce (GNU Mailman's bounce detector) is installed from PyPI with pip into a
temporary virtual environment and run there, in a worker subprocess: per message
``email.message_from_bytes(raw)`` (the parse it needs; its time is included) and
``all_failures(msg)``, which returns the sets of temporarily and permanently failed
addresses.

Method: the messages are read from disk once, before timing, by both sides. Then rounds
alternate (smtpdsn pass, flufl.bounce pass, ...) so a change of load on a shared machine
hits both alike; each side's figure is the median of its rounds, in messages per second,
and the ratio is the median of the per-round ratios (each from two passes run back to
back).
Also measured: DSNs built per second (``build_report`` of a one-recipient failure with
the headers returned, serialised with ``bytes()``), and a check of interoperability: the
recipients flufl.bounce finds in DSNs smtpdsn built (a plain address and a quoted local
part, which RFC 3461 section 6.3 keeps as an rfc822 Final-Recipient).

Without network access to PyPI (or with ``--no-flufl``) the script measures smtpdsn
only and says why flufl.bounce was not measured; it exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from smtpdsn import no_such_user  # noqa: E402
from smtpdsn.report import (  # noqa: E402
    RecipientOutcome,
    ReportSyntaxError,
    build_report,
    parse_reports,
)

CORPUS = ROOT / ".." / "shared" / "corpus" / "set-of-emails" / "maildir" / "bsd"
FLUFL_VERSION = "6.0.0"
TARGET = 5.0
ORIGINAL = (
    b"Return-Path: <alice@example.com>\r\nFrom: Alice <alice@example.com>\r\n"
    b"To: bob@example.org\r\nSubject: Quarterly report\r\n"
    b"Date: Thu, 01 Jan 2026 10:00:00 +0000\r\nMessage-ID: <q1@example.com>\r\n\r\n"
    b"Hello Bob,\r\n\r\nthe figures are attached.\r\n"
)

# The worker: reads the corpus paths from argv, then one command per stdin line: "round"
# (one timed pass, prints the seconds and the count of messages with a failure) or
# "check PATH" (prints the addresses found in one message), "quit".
_WORKER = r"""
import email, json, sys, time
import flufl.bounce
from flufl.bounce import all_failures

data = [open(p, "rb").read() for p in sys.argv[1:]]
print(json.dumps({"version": flufl.bounce.__version__, "python": sys.version.split()[0]}),
      flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "round":
        found = 0
        t0 = time.perf_counter()
        for raw in data:
            temporary, permanent = all_failures(email.message_from_bytes(raw))
            if temporary or permanent:
                found += 1
        seconds = time.perf_counter() - t0
        print(json.dumps({"seconds": seconds, "found": found}), flush=True)
    elif cmd.startswith("check "):
        with open(cmd[6:], "rb") as fh:
            temporary, permanent = all_failures(email.message_from_bytes(fh.read()))
        found = sorted(a.decode("utf-8", "replace") for a in temporary | permanent)
        print(json.dumps({"found": found}), flush=True)
    else:
        break
"""


class FluflWorker:
    """flufl.bounce in its own virtual environment, driven line by line."""

    def __init__(self, tmp: Path, files: list[Path], version: str) -> None:
        env_dir = tmp / "venv"
        venv.create(env_dir, with_pip=True)
        python = env_dir / "bin" / "python"
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             f"flufl.bounce=={version}"],
            check=True, capture_output=True, timeout=300,
        )
        script = tmp / "worker.py"
        script.write_text(_WORKER, encoding="utf-8")
        self.proc = subprocess.Popen(
            [str(python), str(script), *map(str, files)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.info = self._read()

    def _read(self) -> dict[str, object]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the flufl.bounce worker stopped")
        result = json.loads(line)
        assert isinstance(result, dict)
        return result

    def ask(self, command: str) -> dict[str, object]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def smtpdsn_round(data: list[bytes]) -> tuple[float, int, int]:
    """One pass: seconds, messages with a report, recipients read."""
    reports = recipients = 0
    t0 = time.perf_counter()
    for raw in data:
        try:
            found = parse_reports(raw)
        except ReportSyntaxError:
            continue
        reports += 1
        for report in found:
            recipients += len(report.recipients)
    return time.perf_counter() - t0, reports, recipients


def builds_per_second(min_time: float = 1.0) -> float:
    outcome = [RecipientOutcome("bob@example.org", no_such_user(), remote_mta="mx.example.org")]
    n, elapsed = 0, 0.0
    t0 = time.perf_counter()
    while elapsed < min_time:
        for _ in range(100):
            dsn = build_report(ORIGINAL, outcome, sender="alice@example.com",
                               reporting_mta="mx.example.net")
            assert dsn is not None
            bytes(dsn)
        n += 100
        elapsed = time.perf_counter() - t0
    return n / elapsed


def _dsn_for(recipient: str) -> bytes:
    dsn = build_report(ORIGINAL, [RecipientOutcome(recipient, no_such_user())],
                       sender="alice@example.com", reporting_mta="mx.example.net")
    assert dsn is not None
    return bytes(dsn)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds (default 9)")
    parser.add_argument("--no-flufl", action="store_true", help="measure smtpdsn only")
    parser.add_argument("--flufl-version", default=FLUFL_VERSION,
                        help=f"flufl.bounce version from PyPI (default {FLUFL_VERSION})")
    args = parser.parse_args()
    files = sorted(CORPUS.glob("*.eml"))
    if not files:
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 1
    data = [path.read_bytes() for path in files]
    print(f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs; corpus: {len(data)} messages, "
          f"{sum(map(len, data)) // 1024} KB")
    with tempfile.TemporaryDirectory(prefix="smtpdsn-bench-") as tmp_name:
        tmp = Path(tmp_name)
        worker: FluflWorker | None = None
        if args.no_flufl:
            print("flufl.bounce: NOT MEASURED (--no-flufl)")
        else:
            try:
                worker = FluflWorker(tmp, files, args.flufl_version)
            except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
                detail = getattr(exc, "stderr", b"") or b""
                print(f"flufl.bounce: NOT MEASURED ({exc} "
                      f"{detail.decode(errors='replace')[-300:]})")
        smtpdsn_round(data)  # warm-up
        if worker is not None:
            worker.ask("round")
        ours: list[float] = []
        theirs: list[float] = []
        reports = recipients = flufl_found = 0
        for _ in range(args.rounds):
            seconds, reports, recipients = smtpdsn_round(data)
            ours.append(len(data) / seconds)
            if worker is not None:
                result = worker.ask("round")
                theirs.append(len(data) / float(result["seconds"]))  # type: ignore[arg-type]
                flufl_found = int(result["found"])  # type: ignore[call-overload]
        ours_rate = statistics.median(ours)
        print(f"smtpdsn: {ours_rate:,.0f} msg/s (median of {args.rounds} "
              f"rounds: {', '.join(f'{r:,.0f}' for r in ours)}); {reports} messages with "
              f"a report, {recipients} recipient records")
        if worker is not None:
            their_rate = statistics.median(theirs)
            print(f"flufl.bounce {worker.info['version']} (Python {worker.info['python']}, "
                  f"email parse included): {their_rate:,.0f} msg/s (median of "
                  f"{args.rounds}: {', '.join(f'{r:,.0f}' for r in theirs)}); "
                  f"{flufl_found} messages with a failed address")
            ratio = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
            verdict = "met" if ratio >= TARGET else "NOT met"
            print(f"ratio smtpdsn/flufl.bounce: {ratio:.2f}x, median of the per-round ratios "
                  f"(target >= {TARGET:g}x: {verdict})")
            for recipient in ("bob@example.org", '"x-bounce John"@example.com'):
                path = tmp / "dsn.eml"
                path.write_bytes(_dsn_for(recipient))
                found = worker.ask(f"check {path}")["found"]
                print(f"flufl.bounce reads a DSN smtpdsn built for {recipient}: {found}")
            worker.close()
    print(f"DSNs built per second (build_report + bytes(), one recipient, headers "
          f"returned): {builds_per_second():,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
