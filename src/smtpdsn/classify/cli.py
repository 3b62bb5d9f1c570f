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
import mailbox
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from . import classify
from .model import Bounce

__all__ = ["add_arguments", "iter_messages", "run"]

_PROGRESS_OVER = 100
# mbox: each message starts with a "From " line after an empty line.
_MBOX_SPLIT = re.compile(rb"(?<=\n\n)(?=From )")
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


def _is_mbox(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(5)
    except OSError:
        return False
    return head == b"From "


def iter_messages(name: str, stdin: bytes | None = None) -> Iterator[tuple[str, bytes]]:
    """(label, raw message) for every message ``name`` holds.

    Raises:
        OSError: the file or folder cannot be read.
    """
    if name == "-":
        data = stdin if stdin is not None else sys.stdin.buffer.read()
        if data.startswith(b"From ") and b"\n\nFrom " in data:  # an mbox on stdin
            for index, chunk in enumerate(_MBOX_SPLIT.split(data), 1):
                yield f"-#{index}", chunk
        else:
            yield "-", data
        return
    path = Path(name)
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new")):
            box = mailbox.Maildir(path, factory=None, create=False)
            for key in sorted(box.iterkeys()):
                yield f"{name}/{key}", box.get_bytes(key)
            return
        for child in sorted(path.iterdir()):
            if child.is_file():
                yield from iter_messages(str(child))
        return
    if _is_mbox(path):
        mbox = mailbox.mbox(path, factory=None, create=False)
        try:
            keys = list(mbox.iterkeys())
            found = [mbox.get_bytes(key) for key in keys]
        finally:
            mbox.close()
        if len(found) == 1:
            yield name, found[0]
        else:
            for index, raw in enumerate(found, 1):
                yield f"{name}#{index}", raw
        return
    yield name, path.read_bytes()


def _row(label: str, bounce: Bounce) -> dict[str, object]:
    data = bounce.as_dict()
    row: dict[str, object] = {"file": label}
    row.update((key, data[key]) for key in _KEYS)
    return row


def _progress(done: int, total: int, err: TextIO, terminal: bool) -> None:
    """A bar redrawn in place on a terminal; elsewhere (a log file) one line per step."""
    width = 30
    filled = width * done // max(total, 1)
    bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
    err.write(f"\r{bar}" if terminal else f"{bar}\n")
    err.flush()


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
    messages: list[tuple[str, bytes]] = []
    status = 0
    for name in args.files:
        try:
            messages.extend(iter_messages(name))
        except OSError as exc:
            err.write(f"smtpdsn classify: cannot read {name}: {exc.strerror or exc}\n")
            status = 1
    show_progress = len(messages) > _PROGRESS_OVER and not getattr(args, "no_progress", False)
    terminal = err.isatty() or os.environ.get("SMTPDSN_PROGRESS") == "1"
    # On a terminal the bar is redrawn every 50 messages; in a log, a line every tenth.
    step = 50 if terminal else max(len(messages) // 10, 1)
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
        if show_progress and (done % step == 0 or done == len(messages)):
            _progress(done, len(messages), err, terminal)
    if show_progress and terminal:
        err.write("\n")
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
