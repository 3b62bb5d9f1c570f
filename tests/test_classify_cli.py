"""The ``classify`` command: files, stdin, mbox, Maildir, JSON lines and the table."""

from __future__ import annotations

import argparse
import io
import json
import mailbox
from pathlib import Path

from smtpdsn.classify.cli import add_arguments, iter_messages, run

BOUNCE = (
    b"From: MAILER-DAEMON@mx.example.net\n"
    b"To: sender@example.org\n"
    b"Subject: failure notice\n\n"
    b"<kijitora@example.jp>:\n"
    b"Remote host said: 550 5.1.1 <kijitora@example.jp>... User Unknown\n"
)
KEYS = {"file", "recipient", "original_recipient", "status", "reply_code", "reason",
        "hard_bounce", "action", "diagnostic", "mta"}


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(_args(*argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_json_lines_for_a_file(tmp_path: Path) -> None:
    path = tmp_path / "b.eml"
    path.write_bytes(BOUNCE)
    code, out, err = _run(str(path))
    assert code == 0
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert set(row) == KEYS
    assert (row["recipient"], row["status"], row["reason"], row["hard_bounce"]) == (
        "kijitora@example.jp", "5.1.1", "userunknown", True,
    )
    assert row["original_recipient"] is None  # the notice gives none
    assert "by reason: userunknown 1" in err


def test_json_gives_the_original_recipient(tmp_path: Path) -> None:
    path = tmp_path / "b.eml"
    path.write_bytes(
        b"From: MAILER-DAEMON@mx.example.net\nTo: sender@example.org\n"
        b"Subject: Undelivered Mail Returned to Sender\n\n"
        b"<bob@example.net> (expanded from <info@example.org>): host mx.example.net said:"
        b" 550 5.1.1 User unknown (in reply to RCPT TO command)\n"
    )
    code, out, _ = _run(str(path))
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert (code, row["recipient"], row["original_recipient"]) == (
        0, "bob@example.net", "info@example.org")


def test_table(tmp_path: Path) -> None:
    path = tmp_path / "b.eml"
    path.write_bytes(BOUNCE)
    code, out, _ = _run("--table", str(path))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("file")
    assert "kijitora@example.jp" in lines[1] and "hard" in lines[1]
    assert lines[-1].startswith("1 messages; by reason: userunknown 1")


def test_mbox_and_maildir(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "box")
    box.add(BOUNCE)
    box.add(b"From: a@example.com\nTo: b@example.com\nSubject: hi\n\nhello\n")
    box.close()
    labels = [label for label, _ in iter_messages(str(tmp_path / "box"))]
    assert labels == [f"{tmp_path / 'box'}#1", f"{tmp_path / 'box'}#2"]
    md = mailbox.Maildir(tmp_path / "md")
    md.add(BOUNCE)
    md.flush()
    code, out, _ = _run(str(tmp_path / "md"))
    assert code == 0 and len(out.splitlines()) == 1


def test_stdin() -> None:
    assert list(iter_messages("-", stdin=BOUNCE)) == [("-", BOUNCE)]
    mbox = b"From a@b Thu Jan  1 2026\n" + BOUNCE + b"\nFrom c@d Thu Jan  1 2026\n" + BOUNCE
    labels = [label for label, _ in iter_messages("-", stdin=mbox)]
    assert labels == ["-#1", "-#2"]


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    code, _, err = _run(str(tmp_path / "missing.eml"))
    assert code == 1
    assert "cannot read" in err


def test_progress_on_stderr_over_a_hundred_messages(tmp_path: Path) -> None:
    for i in range(120):
        (tmp_path / f"m{i:03}.eml").write_bytes(BOUNCE)
    code, out, err = _run(str(tmp_path))
    assert code == 0 and len(out.splitlines()) == 120
    bars = [line for line in err.splitlines() if line.startswith("[")]
    assert bars[-1].endswith("] 120/120") and len(bars) == 10  # a line every tenth
    assert "120 messages; by reason: userunknown 120" in err
    _, _, quiet = _run("--no-progress", str(tmp_path))
    assert not any(line.startswith("[") for line in quiet.splitlines())
