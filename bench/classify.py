"""Benchmark: classify the whole sisimai corpus with smtpdsn and with sisimai (Perl).

    python3 bench/classify.py [--rounds N] [--no-sisimai]

Prints messages per second for both and the ratio. sisimai comes from the Debian package
libsisimai-perl, installed with apt-get when missing (this needs root); when it cannot be
installed the script says so and still measures smtpdsn. Both are measured in-process
(sisimai's time excludes perl's start-up: it times its own loop).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from smtpdsn.classify import classify  # noqa: E402

CORPUS = ROOT / ".." / "shared" / "corpus" / "set-of-emails" / "maildir" / "bsd"

_PERL = r"""
use strict; use warnings; use Sisimai; use Time::HiRes qw(time);
my ($dir, $rounds) = @ARGV;
opendir(my $dh, $dir) or die "cannot open $dir";
my @files = map { "$dir/$_" } sort grep { /\.eml$/ } readdir($dh);
Sisimai->make($files[0]);   # warm up: load the modules
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


def bench_smtpdsn(files: list[Path], rounds: int) -> tuple[int, float]:
    data = [f.read_bytes() for f in files]
    classify(data[0])  # warm up
    t0 = time.perf_counter()
    for _ in range(rounds):
        for raw in data:
            classify(raw)
    return len(data) * rounds, time.perf_counter() - t0


def bench_sisimai(rounds: int) -> tuple[int, float]:
    done = subprocess.run(["perl", "-e", _PERL, str(CORPUS), str(rounds)],
                          capture_output=True, text=True, check=True)
    count, seconds = done.stdout.split()
    return int(count), float(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="passes over the corpus")
    parser.add_argument("--no-sisimai", action="store_true", help="measure smtpdsn only")
    args = parser.parse_args()
    files = sorted(CORPUS.glob("*.eml"))
    if not files:
        print(f"no corpus at {CORPUS}", file=sys.stderr)
        return 1
    n, secs = bench_smtpdsn(files, args.rounds)
    ours = n / secs
    print(f"smtpdsn: {n} messages in {secs:.2f} s = {ours:,.0f} msg/s")
    if args.no_sisimai:
        return 0
    if not install_sisimai():
        print("sisimai: NOT MEASURED (libsisimai-perl could not be installed)")
        return 0
    n2, secs2 = bench_sisimai(args.rounds)
    theirs = n2 / secs2
    print(f"sisimai: {n2} messages in {secs2:.2f} s = {theirs:,.0f} msg/s")
    print(f"ratio smtpdsn/sisimai: {ours / theirs:.2f}x (target >= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
