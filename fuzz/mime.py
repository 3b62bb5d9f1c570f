"""Atheris (libFuzzer) target: the shared MIME reader and the report readers.

    python3 fuzz/mime.py -runs=20000          # a CI-sized run
    python3 fuzz/mime.py -max_total_time=600  # longer, by hand

Invariants: :func:`smtpdsn.mime.parse` returns an entity tree for any bytes (and every
entity's text can be read); :func:`smtpdsn.report.parse_reports` and
:func:`smtpdsn.report.parse_delivery_status` return or raise ``ReportSyntaxError``, never
anything else. Seeds: tests/data/bounces (see fuzz/classify.py).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from smtpdsn import mime
    from smtpdsn.report import ReportSyntaxError, parse_delivery_status, parse_reports

__all__ = ["main", "test_one_input"]

SEEDS = Path(__file__).resolve().parents[1] / "tests" / "data" / "bounces"


def test_one_input(data: bytes) -> None:
    """The invariants above, on one input."""
    root = mime.parse(data)
    for entity in root.walk():
        if "/" not in entity.content_type:
            raise AssertionError(f"content type {entity.content_type!r} has no '/'")
        entity.text()
    for reader in (parse_reports, parse_delivery_status):
        with contextlib.suppress(ReportSyntaxError):
            reader(data)


def main() -> None:
    argv = sys.argv
    if not any(not arg.startswith("-") for arg in argv[1:]) and not any(
        arg.startswith("-seed_inputs=") for arg in argv
    ):
        seeds = sorted(str(p) for p in SEEDS.glob("*.eml"))
        argv = [*argv, f"-seed_inputs={','.join(seeds)}"]
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
