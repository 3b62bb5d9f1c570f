"""``smtpdsn classify FILE...``: classify bounces from files, mboxes, Maildirs or stdin.

Prints one JSON object per recipient per line (keys ``file``, ``recipient``, ``status``,
``reply_code``, ``reason``, ``hard_bounce``, ``action``, ``diagnostic``, ``mta``), or a
table with ``--table``. With more than a hundred messages a progress bar runs on stderr;
a count per reason closes the run (on stderr for JSON, so stdout stays JSON lines).

The main CLI wires it in with :func:`add_arguments` and :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import TextIO

from .._inputs import Progress, iter_messages, read_all
from . import classify
from .model import Bounce

__all__ = ["add_arguments", "iter_messages", "run"]

_KEYS = ("recipient", "original_recipient", "status", "reply_code", "reason", "hard_bounce",
         "action", "diagnostic", "mta")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``classify`` arguments to ``parser``."""
    parser.add_argument(
        "files", nargs="+", metavar="FILE",
        help="message files, '-' for stdin, mbox files or Maildir folders",
    )
    parser.add_argument("--table", action="store_true", help="print a table for people")
    parser.add_argument(
        "--no-progress", action="store_true", help="never show the progress bar"
    )


def _row(label: str, bounce: Bounce) -> dict[str, object]:
    data = bounce.as_dict()
    row: dict[str, object] = {"file": label}
    row.update((key, data[key]) for key in _KEYS)
    return row


def _table_line(row: dict[str, object]) -> str:
    hard = {True: "hard", False: "soft", None: "-"}[row["hard_bounce"]]  # type: ignore[index]
    diag = str(row["diagnostic"] or "")[:60]
    return (
        f"{str(row['file'])[-28:]:28} {str(row['recipient'])[:32]:32} "
        f"{row['status'] or '-'!s:9} {row['reason']!s:15} {hard:4} "
        f"{row['mta'] or '-'!s:12} {diag}"
    )


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Classify every message named by ``args.files``; 0 on success, 1 if a file failed."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    messages, ok = read_all(args.files, "classify", err)
    status = 0 if ok else 1
    progress = Progress(len(messages), err, enabled=not getattr(args, "no_progress", False))
    counts: Counter[str] = Counter()
    if args.table:
        out.write(f"{'file':28} {'recipient':32} {'status':9} {'reason':15} {'hard':4} "
                  f"{'mta':12} diagnostic\n")
    for done, (label, raw) in enumerate(messages, 1):
        result = classify(raw)
        for bounce in result.recipients:
            counts[bounce.reason.value] += 1
            row = _row(label, bounce)
            if args.table:
                out.write(_table_line(row) + "\n")
            else:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        if not result.recipients:
            counts["(not a bounce)"] += 1
        progress.update(done)
    progress.close()
    summary = out if args.table else err
    summary.write(f"{len(messages)} messages; by reason: ")
    summary.write(", ".join(f"{name} {n}" for name, n in counts.most_common()) or "none")
    summary.write("\n")
    return status


def main(argv: list[str] | None = None) -> int:
    """Run ``classify`` on its own (``python -m smtpdsn.classify.cli FILE...``)."""
    parser = argparse.ArgumentParser(prog="smtpdsn classify", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
