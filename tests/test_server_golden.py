"""Golden sessions: ``smtpdsn serve`` answers the recorded sessions reply by reply.

``tests/data/golden_sessions.json`` holds what the aiosmtpd-based server answered to
scripted sessions (``scripts/record_golden.py``; the format is in ``tests/golden_support.py``).
Each session is played again over a raw socket against ``smtpdsn serve`` and every reply is
compared, lines and CRLFs included, after the placeholders for what varies between runs
(Maildir file name, version, port).

A server that deliberately answers differently lists the difference, with the reason (the
README section that documents the fix): in :data:`DOCUMENTED_CHANGES` for one step of one
session, or in :data:`DOCUMENTED_REPLACEMENTS` for a text that changes in every reply it
appears in (an extension added to the EHLO reply, a reworded built-in reply). Every other
difference fails with the session, step, command, expected and received reply.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from tests.golden_support import CLOSED, Session, load_sessions, play, server

__all__ = ["DOCUMENTED_CHANGES", "DOCUMENTED_REPLACEMENTS", "NOT_PLAYED", "Change", "Replacement"]


@dataclass(frozen=True)
class Change:
    """A documented difference from the recorded reply.

    ``reply`` is the reply now expected, written like the recorded ones (every line with its
    CRLF; ``<CLOSED>`` after what was read when the server closes the connection;
    :data:`NOT_PLAYED` for a step never reached because the connection closed earlier).
    For the key ``(session, "end")``, ``reply`` is what the server sends after the last
    step and ``closed`` whether it then closes the connection. ``reason`` names the README
    section (or CHANGELOG entry) that documents the fix.
    """

    reply: str
    reason: str
    closed: bool = True


#: Shown for a recorded step that was not played because the server had closed the
#: connection in an earlier step.
NOT_PLAYED = "<NOT PLAYED: the connection was closed earlier>"

#: ``(session name, step index)`` or ``(session name, "end")`` -> the reply now expected and
#: why. Step 0 is the greeting. Empty while the server is the one the sessions were
#: recorded from.
#: The differences of smtpdsn's own engine (which replaced the aiosmtpd-based server the
#: sessions were recorded from) are in ``tests/data/golden_changes.json``, one entry per step,
#: each with the CHANGELOG entry that documents it. They were produced by playing the
#: sessions against the new engine and read one by one.
DOCUMENTED_CHANGES: dict[tuple[str, int | Literal["end"]], Change] = {
    (item["session"], item["step"]): Change(item["reply"], item["reason"], item["closed"])
    for item in json.loads(
        (Path(__file__).parent / "data" / "golden_changes.json").read_text(encoding="utf-8")
    )
}


@dataclass(frozen=True)
class Replacement:
    """A documented change of a text wherever it appears in a recorded reply: ``old`` is
    replaced by ``new`` (``str.replace``, CRLFs included) in every expected reply and in
    what is expected after the last step, before :data:`DOCUMENTED_CHANGES` apply."""

    old: str
    new: str
    reason: str


#: Texts that change in every reply they appear in, applied in order. For example, with
#: CHUNKING advertised: ``Replacement("250-DSN\r\n250 HELP\r\n",
#: "250-DSN\r\n250-CHUNKING\r\n250 HELP\r\n", "README: CHUNKING")``.
DOCUMENTED_REPLACEMENTS: list[Replacement] = [
    Replacement(
        "250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n",
        "250-PIPELINING\r\n250-CHUNKING\r\n250-ENHANCEDSTATUSCODES\r\n",
        "CHANGELOG: EHLO advertises CHUNKING and BDAT works",
    ),
]

SESSIONS = load_sessions()


@dataclass(frozen=True)
class Expected:
    replies: list[str]
    after: str
    closed: bool


def expected(session: Session) -> Expected:
    """The recorded replies with the documented replacements and changes applied."""

    def replaced(text: str) -> str:
        for item in DOCUMENTED_REPLACEMENTS:
            text = text.replace(item.old, item.new)
        return text

    replies = [replaced(step.reply) for step in session.steps]
    for index in range(len(replies)):
        change = DOCUMENTED_CHANGES.get((session.name, index))
        if change is not None:
            replies[index] = change.reply
    end = DOCUMENTED_CHANGES.get((session.name, "end"))
    if end is not None:
        return Expected(replies, end.reply, end.closed)
    return Expected(replies, replaced(session.after), session.closed)


def _show(text: str, limit: int = 300) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[:limit]}... ({len(text)} characters)"


def _diff(want: str, got: str) -> str:
    if "\r\n" not in want.rstrip("\r\n") and "\r\n" not in got.rstrip("\r\n"):
        return ""
    lines = difflib.unified_diff(
        want.splitlines(keepends=True),
        got.splitlines(keepends=True),
        "expected",
        "received",
        lineterm="",
    )
    shown = [
        line.rstrip("\n") if line.startswith(("---", "+++", "@@")) else f"{line[0]} {line[1:]!r}"
        for line in lines
    ]
    return "\n    ".join(["  diff:", *shown])


def mismatches(
    session: Session, want: Expected, replies: list[str], after: str, closed: bool
) -> list[str]:
    """A readable report for every reply that differs; empty when all agree."""
    found = []
    for index, step in enumerate(session.steps):
        got = replies[index] if index < len(replies) else NOT_PLAYED
        if got == want.replies[index]:
            continue
        report = [
            f"session {session.name!r}, step {index} of {len(session.steps) - 1}",
            f"  sent:     {_show(step.send.decode('utf-8', 'backslashreplace'))}"
            + (" (then shutdown(SHUT_WR))" if step.shutdown else ""),
            f"  expected: {_show(want.replies[index])}",
            f"  received: {_show(got)}",
        ]
        diff = _diff(want.replies[index], got)
        if diff:
            report.append(diff)
        report.append(
            f"  documented? DOCUMENTED_CHANGES[({session.name!r}, {index})] = "
            f'Change({_show(got, 1000)}, "<README section>")'
        )
        found.append("\n".join(report))
    if (after, closed) != (want.after, want.closed):
        found.append(
            f"session {session.name!r}, after the last step\n"
            f"  expected: {_show(want.after)} and the connection "
            f"{'closed' if want.closed else 'left open'}\n"
            f"  received: {_show(after)} and the connection "
            f"{'closed' if closed else 'left open'}"
        )
    return found


ServerKey = tuple[str | None, tuple[str, ...]]


class Servers:
    """One ``smtpdsn serve`` per rules file and options, started when first needed."""

    def __init__(self, stack: ExitStack) -> None:
        self.stack = stack
        self.ports: dict[ServerKey, int] = {}

    def port(self, key: ServerKey) -> int:
        if key not in self.ports:
            self.ports[key] = self.stack.enter_context(server(*key))
        return self.ports[key]


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    with ExitStack() as stack:
        yield Servers(stack)


@pytest.mark.parametrize("session", SESSIONS, ids=[s.name for s in SESSIONS])
def test_golden_session(session: Session, servers: Servers) -> None:
    played = play(servers.port(session.server_key), session.steps)
    found = mismatches(session, expected(session), played.replies, played.after, played.closed)
    assert not found, "the server's replies differ from the golden session:\n\n" + "\n\n".join(
        found
    )


def test_the_golden_data_is_complete() -> None:
    names = [s.name for s in SESSIONS]
    assert len(names) == len(set(names)), "session names must be unique"
    assert len(SESSIONS) >= 60
    groups = {name.partition(".")[0] for name in names}
    assert {
        "basics",
        "order",
        "unknown",
        "lines",
        "address",
        "dsn",
        "data",
        "rules",
        "pipelining",
        "halfclose",
        "timeout",
    } <= groups
    for s in SESSIONS:
        # Every session starts with the greeting and was recorded to its end.
        assert s.steps[0].send == b"" and s.steps[0].reply.startswith("220 golden.test ")
        assert s.closed, s.name
        assert all(CLOSED not in step.reply for step in s.steps[:-1]), s.name


def test_documented_changes_name_recorded_steps() -> None:
    by_name = {s.name: s for s in SESSIONS}
    for (name, index), change in DOCUMENTED_CHANGES.items():
        assert name in by_name, f"DOCUMENTED_CHANGES names no recorded session {name!r}"
        assert index == "end" or 0 <= index < len(by_name[name].steps), (name, index)
        assert change.reason.strip(), f"DOCUMENTED_CHANGES[{(name, index)!r}] needs a reason"


def test_documented_replacements_match_recorded_replies() -> None:
    texts = [step.reply for s in SESSIONS for step in s.steps] + [s.after for s in SESSIONS]
    for item in DOCUMENTED_REPLACEMENTS:
        assert item.old and any(item.old in text for text in texts), (
            f"DOCUMENTED_REPLACEMENTS: {item.old!r} is in no recorded reply"
        )
        assert item.reason.strip(), f"DOCUMENTED_REPLACEMENTS: {item.old!r} needs a reason"


def test_replacements_and_changes_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    session = next(s for s in SESSIONS if s.name == "basics.ehlo")
    monkeypatch.setattr(
        "tests.test_server_golden.DOCUMENTED_REPLACEMENTS",
        [Replacement("250 HELP\r\n", "250-CHUNKING\r\n250 HELP\r\n", "README: CHUNKING")],
    )
    monkeypatch.setitem(DOCUMENTED_CHANGES, ("basics.ehlo", 2), Change("221 2.0.0 Bye!\r\n", "x"))
    want = expected(session)
    assert want.replies[1].endswith("250-DSN\r\n250-CHUNKING\r\n250 HELP\r\n")
    assert want.replies[2] == "221 2.0.0 Bye!\r\n"
    assert want.replies[0] == session.steps[0].reply


def test_mismatches_are_reported_readably() -> None:
    session = next(s for s in SESSIONS if s.name == "basics.ehlo")
    want = expected(session)
    got = list(want.replies)
    got[1] = got[1].replace("250-DSN\r\n", "")
    [report] = mismatches(session, want, got, want.after, want.closed)
    assert "session 'basics.ehlo', step 1 of 2" in report
    assert "sent:     'EHLO client.test\\r\\n'" in report
    assert "- '250-DSN\\r\\n'" in report
    assert "DOCUMENTED_CHANGES[('basics.ehlo', 1)]" in report
    [report] = mismatches(session, want, got[:1], want.after, want.closed)[:1]
    assert NOT_PLAYED in report
    assert mismatches(session, want, want.replies, "x", False)[-1].endswith("left open")
