"""Benchmark: classify the whole sisimai corpus with smtpdsn and with sisimai (Perl).

    python3 bench/classify.py [--rounds N] [--no-sisimai]

Runs N rounds (default 15); each round is one pass over the corpus by smtpdsn then one by
sisimai, so both see the same machine load. Prints each round and the median messages per
second of each, and the ratio of the medians. sisimai comes from the Debian package
libsisimai-perl, installed with apt-get when missing (this needs root); when it cannot be
installed the script says so and still measures smtpdsn. Both are measured in-process
(sisimai's time excludes perl's start-up, module loading and a first untimed warm-up pass
over the corpus: it times its own loop; smtpdsn also gets one untimed pass first).

It also checks that smtpdsn reads each message once: it counts the calls of the shared
MIME reader (:func:`smtpdsn.mime.parse`) and of the standard library's feed parser during
a pass, and prints them per message (1 and 0).
"""

from __future__ import annotations

import argparse
import email.feedparser
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from smtpdsn import mime  # noqa: E402
from smtpdsn.classify import classify  # noqa: E402

CORPUS = ROOT / ".." / "shared" / "corpus" / "set-of-emails" / "maildir" / "bsd"

_PERL = r"""
use strict; use warnings; use Sisimai; use Time::HiRes qw(time);
my ($dir, $rounds, $warm) = @ARGV;
opendir(my $dh, $dir) or die "cannot open $dir";
my @files = map { "$dir/$_" } sort grep { /\.eml$/ } readdir($dh);
# warm up: load the modules and compile what a pass compiles: one whole untimed pass (as
# smtpdsn gets one before its rounds), or one message ("one", the earlier method)
my @warm = $warm eq "one" ? ($files[0]) : @files;
for my $f (@warm) { Sisimai->make($f, delivered => 1, vacation => 1) }
my $t0 = time; my $n = 0;
for (1 .. $rounds) { for my $f (@files) { Sisimai->make($f, delivered => 1, vacation => 1); $n++ } }
printf "%d %.6f\n", $n, time - $t0;
"""


def have_sisimai() -> bool:
    if shutil.which("perl") is None:
        return False
    probe = subprocess.run(["perl", "-MSisimai", "-e", "1"], capture_output=True, check=False)
    return probe.returncode == 0


def install_sisimai() -> bool:
    """apt-get install libsisimai-perl; True when sisimai is usable afterwards."""
    if have_sisimai():
        return True
    apt = shutil.which("apt-get")
    if apt is None:
        print("sisimai: not installed and apt-get is not available", file=sys.stderr)
        return False
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    for cmd in ([*prefix, apt, "update"], [*prefix, apt, "install", "-y", "libsisimai-perl"]):
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"sisimai: {' '.join(cmd)} failed:\n{done.stderr.strip()[-500:]}",
                  file=sys.stderr)
            return False
    return have_sisimai()


def bench_smtpdsn(data: list[bytes]) -> tuple[int, float]:
    """One pass over the corpus: (messages, seconds)."""
    t0 = time.perf_counter()
    for raw in data:
        classify(raw)
    return len(data), time.perf_counter() - t0


def parses_per_message(data: list[bytes]) -> tuple[float, float]:
    """(calls of smtpdsn.mime.parse, calls of the feed parser) per message, one pass."""
    counts = [0, 0]
    parse, feed = mime.parse, email.feedparser.FeedParser.feed

    def counted_parse(raw: bytes | bytearray | memoryview) -> mime.Entity:
        counts[0] += 1
        return parse(raw)

    def counted_feed(self: email.feedparser.FeedParser, text: str) -> None:
        counts[1] += 1
        feed(self, text)

    mime.parse = counted_parse  # type: ignore[assignment]
    email.feedparser.FeedParser.feed = counted_feed  # type: ignore[method-assign]
    try:
        for raw in data:
            classify(raw)
    finally:
        mime.parse = parse  # type: ignore[assignment]
        email.feedparser.FeedParser.feed = feed  # type: ignore[method-assign]
    return counts[0] / len(data), counts[1] / len(data)


def bench_sisimai(rounds: int = 1, warm: str = "corpus") -> tuple[int, float]:
    done = subprocess.run(["perl", "-e", _PERL, str(CORPUS), str(rounds), warm],
                          capture_output=True, text=True, check=True)
    count, seconds = done.stdout.split()
    return int(count), float(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="alternating rounds")
    parser.add_argument("--no-sisimai", action="store_true", help="measure smtpdsn only")
    parser.add_argument("--sisimai-warmup", choices=("corpus", "one"), default="corpus",
                        help="sisimai's untimed warm-up in each round: a whole pass (the "
                        "default, as smtpdsn's) or one message (the earlier benchmark's)")
    args = parser.parse_args()
    files = sorted(CORPUS.glob("*.eml"))
    if not files:
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 1
    data = [f.read_bytes() for f in files]
    ours_parse, feed = parses_per_message(data)  # also the warm-up
    print(f"smtpdsn reads per message: {ours_parse:.2f} by smtpdsn.mime.parse, "
          f"{feed:.2f} by the feed parser")
    sisimai = not args.no_sisimai and install_sisimai()
    if not args.no_sisimai and not sisimai:
        print("sisimai: NOT MEASURED (libsisimai-perl could not be installed)")
    ours: list[float] = []
    theirs: list[float] = []
    for round_ in range(1, args.rounds + 1):
        n, secs = bench_smtpdsn(data)
        ours.append(n / secs)
        line = f"round {round_}: smtpdsn {n / secs:,.0f} msg/s"
        if sisimai:
            n2, secs2 = bench_sisimai(1, args.sisimai_warmup)
            theirs.append(n2 / secs2)
            line += f", sisimai {n2 / secs2:,.0f} msg/s, ratio {ours[-1] / theirs[-1]:.2f}x"
        print(line)
    print(f"smtpdsn: median {statistics.median(ours):,.0f} msg/s over {args.rounds} rounds "
          f"of {len(data)} messages")
    if theirs:
        print(f"sisimai: median {statistics.median(theirs):,.0f} msg/s")
        ratio = statistics.median(ours) / statistics.median(theirs)
        per_round = statistics.median(a / b for a, b in zip(ours, theirs, strict=True))
        print(f"ratio smtpdsn/sisimai (medians): {ratio:.2f}x (target >= 2.5x); median of the "
              f"rounds' ratios {per_round:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
