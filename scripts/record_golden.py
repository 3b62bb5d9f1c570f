"""Record the golden SMTP sessions: what ``smtpdsn serve`` answers today, reply by reply.

Plays every session of ``scripts/golden_sessions.py`` against ``smtpdsn serve`` (a
subprocess on 127.0.0.1, ``--hostname golden.test``, a temporary Maildir; the default rules,
or the session's rules file and options) over a raw socket, one command at a time, and
writes the sessions with the replies to ``tests/data/golden_sessions.json``.
``tests/test_server_golden.py`` replays them. The file format and the placeholders for what
varies between runs are described in ``tests/golden_support.py``.

The sessions cover what the server tests exercise: greeting, EHLO/HELO, MAIL and RCPT with
good and bad addresses, DSN and SIZE parameters, unknown commands, commands out of order,
RSET, NOOP, VRFY, EXPN, HELP, DATA with dot-stuffing, over-long lines, control characters,
the default rules and a rules file, pipelining, half-close, the idle timeout, QUIT.

Usage: ``python scripts/record_golden.py [--check] [--repeat N]``. ``--check`` records
into memory and compares with the file instead of writing it; ``--repeat N`` records N
times and refuses to write when the runs disagree (a reply that is not deterministic).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT_DIR), str(ROOT_DIR / "scripts")]

from golden_sessions import SESSIONS  # noqa: E402
from tests.golden_support import (  # noqa: E402
    CLOSED,
    GOLDEN_FILE,
    NO_REPLY,
    Session,
    Step,
    play,
    server,
    session_from_json,
    session_to_json,
)

__all__ = ["main", "record"]


def record(sessions: list[Session]) -> list[Session]:
    """Play ``sessions`` against ``smtpdsn serve`` (one server per rules and options) and
    return them with the replies."""
    groups: dict[tuple[str | None, tuple[str, ...]], list[int]] = defaultdict(list)
    for index, item in enumerate(sessions):
        groups[item.server_key].append(index)
    out: list[Session | None] = [None] * len(sessions)
    for (rules, opts), indexes in groups.items():
        with server(rules, opts) as port:
            for index in indexes:
                item = sessions[index]
                played = play(port, item.steps)
                steps = tuple(
                    Step(step.send, reply, step.replies, step.shutdown)
                    for step, reply in zip(item.steps, played.replies, strict=False)
                )
                out[index] = Session(
                    item.name, steps, item.rules, item.options, played.after, played.closed
                )
    return [s for s in out if s is not None]


def _problems(sessions: list[Session]) -> list[str]:
    found = []
    for item in sessions:
        if not item.closed:
            found.append(f"{item.name}: the server did not close the connection at the end")
        for index, step in enumerate(item.steps):
            if NO_REPLY in step.reply:
                found.append(f"{item.name} step {index}: no reply within the timeout")
    return found


def _dump(sessions: list[Session]) -> str:
    return json.dumps([session_to_json(s) for s in sessions], indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the file, write nothing")
    parser.add_argument("--repeat", type=int, default=1, help="record N times; must agree")
    parser.add_argument("--output", type=Path, default=GOLDEN_FILE)
    args = parser.parse_args(argv)
    names = [s.name for s in SESSIONS]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        print(f"duplicate session names: {sorted(duplicates)}", file=sys.stderr)
        return 1
    runs = [_dump(record(SESSIONS)) for _ in range(max(1, args.repeat))]
    if any(run != runs[0] for run in runs):
        print("the runs disagree; not written", file=sys.stderr)
        return 1
    text = runs[0]
    for problem in _problems(_loads(text)):
        print(f"warning: {problem}", file=sys.stderr)
    closed = sum(CLOSED in step["reply"] for item in json.loads(text) for step in item["steps"])
    print(f"{len(SESSIONS)} sessions, {closed} closed by the server mid-session")
    if args.check:
        same = args.output.exists() and args.output.read_text(encoding="utf-8") == text
        print("the file is up to date" if same else "the file differs")
        return 0 if same else 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"written: {args.output}")
    return 0


def _loads(text: str) -> list[Session]:
    return [session_from_json(item) for item in json.loads(text)]


if __name__ == "__main__":
    sys.exit(main())
