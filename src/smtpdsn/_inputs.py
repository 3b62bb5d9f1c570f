"""What the message-reading commands share (``smtpdsn classify``, ``smtpdsn report``):
the messages named on the command line, and the progress bar on stderr.

A name is a message file, ``-`` (stdin, one message or an mbox), an mbox file (each
message labelled ``NAME#n``, 1-based, when it holds more than one) or a folder (a Maildir,
labelled ``NAME/KEY``, or any folder, each file read in name order).
"""

from __future__ import annotations

import mailbox
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final, TextIO

__all__ = ["PROGRESS_OVER", "Progress", "iter_messages", "read_all"]

#: More messages than this get a progress bar.
PROGRESS_OVER: Final = 100
# mbox: each message starts with a "From " line after an empty line.
_MBOX_SPLIT: Final = re.compile(rb"(?<=\n\n)(?=From )")


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


def read_all(
    names: Iterable[str], command: str, err: TextIO, stdin: bytes | None = None
) -> tuple[list[tuple[str, bytes]], bool]:
    """Every message of every name, and whether all names could be read.

    A name that cannot be read is reported on ``err`` as ``smtpdsn COMMAND: cannot read
    NAME: reason``; the others are still read.
    """
    messages: list[tuple[str, bytes]] = []
    ok = True
    for name in names:
        try:
            messages.extend(iter_messages(name, stdin))
        except OSError as exc:
            err.write(f"smtpdsn {command}: cannot read {name}: {exc.strerror or exc}\n")
            ok = False
    return messages, ok


class Progress:
    """A progress bar on stderr for more than :data:`PROGRESS_OVER` messages.

    On a terminal (or with ``SMTPDSN_PROGRESS=1``) the bar is redrawn in place every 50
    messages; elsewhere (a log file) it is one line per tenth of the run.
    """

    def __init__(self, total: int, err: TextIO, *, enabled: bool = True) -> None:
        self.total = total
        self.err = err
        self.shown = enabled and total > PROGRESS_OVER
        self.terminal = err.isatty() or os.environ.get("SMTPDSN_PROGRESS") == "1"
        self.step = 50 if self.terminal else max(total // 10, 1)

    def update(self, done: int) -> None:
        """Say that ``done`` messages of the total are done."""
        if not self.shown or (done % self.step and done != self.total):
            return
        width = 30
        filled = width * done // max(self.total, 1)
        bar = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total}"
        self.err.write(f"\r{bar}" if self.terminal else f"{bar}\n")
        self.err.flush()

    def close(self) -> None:
        """End the bar's line on a terminal."""
        if self.shown and self.terminal:
            self.err.write("\n")
