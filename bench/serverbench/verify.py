"""Check a server's Maildir: every accepted message stored exactly once, nothing else."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

__all__ = ["check_maildir", "empty_maildir"]

_BENCH_ID = re.compile(rb"^X-Bench-Id: (\S+)\r?$", re.MULTILINE)


def check_maildir(maildir: Path, accepted: Iterable[str]) -> list[str]:
    """The problems found in ``maildir`` given the ids of the messages accepted with 250.

    Each file in ``new/`` or ``cur/`` must hold exactly one ``X-Bench-Id`` header in its
    header section; each accepted id must be in exactly one file; ``tmp/`` must be empty.
    Returns an empty list when all is well.
    """
    problems: list[str] = []
    found: Counter[str] = Counter()
    files = 0
    for sub in ("new", "cur"):
        for path in sorted((maildir / sub).iterdir()):
            files += 1
            data = path.read_bytes()
            end = data.find(b"\r\n\r\n")
            if end < 0:
                end = data.find(b"\n\n")
            ids = _BENCH_ID.findall(data[: end if end >= 0 else len(data)])
            if len(ids) != 1:
                problems.append(f"{sub}/{path.name} holds {len(ids)} X-Bench-Id headers")
            found.update(value.decode("ascii", "replace") for value in ids)
    expected = Counter(accepted)
    dupes = [key for key, count in expected.items() if count > 1]
    if dupes:
        problems.append(f"the client counted {len(dupes)} ids twice, e.g. {dupes[0]}")
    missing = [key for key in expected if key not in found]
    extra = [key for key in found if key not in expected]
    twice = [key for key, count in found.items() if count > 1]
    if missing:
        problems.append(f"{len(missing)} accepted messages not stored, e.g. {missing[0]}")
    if twice:
        problems.append(f"{len(twice)} messages stored more than once, e.g. {twice[0]}")
    if extra:
        problems.append(f"{len(extra)} stored messages were never accepted, e.g. {extra[0]}")
    if files != len(expected):
        problems.append(f"{files} files for {len(expected)} accepted messages")
    leftovers = list((maildir / "tmp").iterdir())
    if leftovers:
        problems.append(f"{len(leftovers)} files left in tmp/")
    return problems


def empty_maildir(maildir: Path) -> None:
    """Remove the messages in ``new/`` and ``cur/`` (between runs)."""
    for sub in ("new", "cur"):
        for path in (maildir / sub).iterdir():
            path.unlink()
