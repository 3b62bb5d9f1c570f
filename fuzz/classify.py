"""Atheris (libFuzzer) target: :func:`smtpdsn.classify.classify` never raises.

    python3 fuzz/classify.py -runs=20000          # a CI-sized run
    python3 fuzz/classify.py -max_total_time=600  # longer, by hand

The seeds are the hand-written bounces of tests/data/bounces (passed as
``-seed_inputs`` unless other inputs are given). Any exception, or a result that is not a
:class:`ClassifyResult`, is a crash that libFuzzer reports with the input that caused it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from smtpdsn.classify import ClassifyResult, classify

__all__ = ["main", "test_one_input"]

SEEDS = Path(__file__).resolve().parents[1] / "tests" / "data" / "bounces"


def test_one_input(data: bytes) -> None:
    """The invariant: a ClassifyResult for any bytes and for their Latin-1 text."""
    if not isinstance(classify(data), ClassifyResult):
        raise AssertionError("classify returned something else than a ClassifyResult")
    if not isinstance(classify(data.decode("latin-1")), ClassifyResult):
        raise AssertionError("classify(str) returned something else than a ClassifyResult")


def seeded(argv: list[str]) -> list[str]:
    """``argv`` with the seed files added when the caller named no inputs."""
    if any(not arg.startswith("-") for arg in argv[1:]) or any(
        arg.startswith("-seed_inputs=") for arg in argv
    ):
        return argv
    seeds = sorted(str(p) for p in SEEDS.glob("*.eml"))
    return [*argv, f"-seed_inputs={','.join(seeds)}"] if seeds else argv


def main() -> None:
    atheris.Setup(seeded(sys.argv), test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
