"""The ``report`` and ``bounce`` commands: JSON keys, ``#n`` labels, errors, exit codes,
the progress bar on a non-terminal, and a bounce read back by ``report``."""

from __future__ import annotations

import argparse
import io
import json
import mailbox
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from smtpdsn.cli import main
from smtpdsn.report import bouncecli
from smtpdsn.report import cli as report_cli

DSN = (
    b"From: MAILER-DAEMON@mx.example.net\n"
    b"To: alice@example.com\n"
    b"Subject: Undelivered Mail\n"
    b"MIME-Version: 1.0\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
    b"--b\nContent-Type: text/plain\n\nSorry.\n\n"
    b"--b\nContent-Type: message/delivery-status\n\n"
    b"Original-Envelope-Id: QQ314159\n"
    b"Reporting-MTA: dns; mx.example.net\n"
    b"X-Postfix-Queue-ID: 4F0A1\n"
    b"Arrival-Date: Thu, 29 Apr 2010 23:34:45 +0900\n\n"
    b"Original-Recipient: rfc822; Bob@Example.org\n"
    b"Final-Recipient: rfc822; bob@example.org\n"
    b"Action: expired\n"
    b"Status: 5.1.1 (user unknown)\n"
    b"Remote-MTA: dns; mx.example.org\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 No such user\n"
    b"Last-Attempt-Date: Thu, 29 Apr 2010 23:34:46 +0900\n"
    b"--b--\n"
)
NOT_A_DSN = b"From: a@example.com\nTo: b@example.com\nSubject: hi\n\nhello\n"
ORIGINAL = (
    b"Return-Path: <alice@example.com>\r\nFrom: alice@example.com\r\n"
    b"To: bob@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
)
REPORT_KEYS = {"file", "original_envelope_id", "reporting_mta", "dsn_gateway",
               "received_from_mta", "arrival_date", "extensions", "is_global", "recipients",
               "warnings"}
RECIPIENT_KEYS = {"original_recipient", "final_recipient", "action", "status",
                  "status_comment", "remote_mta", "diagnostic_code", "last_attempt_date",
                  "final_log_id", "will_retry_until", "extensions"}


def _report(*argv: str, stdin: bytes | None = None) -> tuple[int, list[str], str]:
    parser = argparse.ArgumentParser()
    report_cli.add_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    code = report_cli.run(parser.parse_args(list(argv)), out=out, err=err, stdin=stdin)
    return code, out.getvalue().splitlines(), err.getvalue()


def _bounce(*argv: str, original: bytes = ORIGINAL) -> tuple[int, bytes, str]:
    parser = argparse.ArgumentParser()
    bouncecli.add_arguments(parser)
    out, err = io.BytesIO(), io.StringIO()
    code = bouncecli.run(parser.parse_args(["--original", "-", *argv]), out=out, err=err,
                         stdin=original)
    return code, out.getvalue(), err.getvalue()


# -- report ------------------------------------------------------------------------------------


def test_json_keys_typed_values_and_iso_dates(tmp_path: Path) -> None:
    path = tmp_path / "dsn.eml"
    path.write_bytes(DSN)
    code, lines, err = _report(str(path))
    assert code == 0
    [row] = [json.loads(line) for line in lines]
    assert set(row) == REPORT_KEYS
    assert row["file"] == str(path)
    assert row["original_envelope_id"] == "QQ314159"
    assert row["reporting_mta"] == {"type": "dns", "value": "mx.example.net"}
    assert row["arrival_date"] == "2010-04-29T23:34:45+09:00"
    assert datetime.fromisoformat(row["arrival_date"]).utcoffset() is not None
    assert row["extensions"] == [{"name": "X-Postfix-Queue-ID", "value": "4F0A1"}]
    [rcpt] = row["recipients"]
    assert set(rcpt) == RECIPIENT_KEYS
    assert rcpt["original_recipient"] == {"type": "rfc822", "value": "Bob@Example.org"}
    assert rcpt["final_recipient"] == {"type": "rfc822", "value": "bob@example.org"}
    assert (rcpt["action"], rcpt["status"], rcpt["status_comment"]) == (
        "failed", "5.1.1", "user unknown")
    assert rcpt["diagnostic_code"] == {"type": "smtp", "value": "550 5.1.1 No such user"}
    assert rcpt["last_attempt_date"] == "2010-04-29T23:34:46+09:00"
    assert rcpt["will_retry_until"] is None
    assert any("expired" in warning for warning in row["warnings"])
    assert "1 messages; 1 reports; 0 messages without a report" in err


def test_a_message_without_a_report_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "plain.eml"
    path.write_bytes(NOT_A_DSN)
    code, lines, _ = _report(str(path))
    assert code == 0
    [row] = [json.loads(line) for line in lines]
    assert set(row) == {"file", "error"}
    assert row["error"].startswith("not a delivery status notification")


def test_mbox_messages_are_numbered_from_one(tmp_path: Path) -> None:
    box = mailbox.mbox(tmp_path / "box")
    box.add(DSN)
    box.add(NOT_A_DSN)
    box.add(DSN)
    box.close()
    code, lines, _ = _report(str(tmp_path / "box"))
    rows = [json.loads(line) for line in lines]
    assert code == 0
    assert [row["file"] for row in rows] == [f"{tmp_path / 'box'}#{n}" for n in (1, 2, 3)]
    assert ["error" in row for row in rows] == [False, True, False]


def test_maildir_stdin_and_stdin_mbox(tmp_path: Path) -> None:
    md = mailbox.Maildir(tmp_path / "md")
    key = md.add(DSN)
    md.flush()
    _, lines, _ = _report(str(tmp_path / "md"))
    assert [json.loads(line)["file"] for line in lines] == [f"{tmp_path / 'md'}/{key}"]
    _, lines, _ = _report("-", stdin=DSN)
    assert json.loads(lines[0])["file"] == "-"
    mbox = b"From a@b Thu Jan  1 2026\n" + DSN + b"\nFrom c@d Thu Jan  1 2026\n" + DSN
    _, lines, _ = _report("-", stdin=mbox)
    assert [json.loads(line)["file"] for line in lines] == ["-#1", "-#2"]


def test_an_unreadable_file_exits_1_and_the_others_are_read(tmp_path: Path) -> None:
    path = tmp_path / "dsn.eml"
    path.write_bytes(DSN)
    code, lines, err = _report(str(tmp_path / "missing.eml"), str(path))
    assert code == 1
    assert f"smtpdsn report: cannot read {tmp_path / 'missing.eml'}" in err
    assert json.loads(lines[0])["file"] == str(path)


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["report"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["report", "--bogus", "x"])
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_table_for_people(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(DSN)
    (tmp_path / "b.eml").write_bytes(NOT_A_DSN)
    code, lines, _ = _report("--table", str(tmp_path))
    assert code == 0
    assert lines[0].split()[:4] == ["file", "final", "recipient", "action"]
    assert "bob@example.org" in lines[1] and "failed" in lines[1] and "5.1.1" in lines[1]
    assert "(no report: not a delivery status notification" in lines[2]
    assert lines[-1] == "2 messages; 1 reports; 1 messages without a report"


def test_progress_on_a_non_terminal_over_a_hundred_messages(tmp_path: Path) -> None:
    for i in range(120):
        (tmp_path / f"m{i:03}.eml").write_bytes(DSN)
    code, lines, err = _report(str(tmp_path))
    assert code == 0 and len(lines) == 120
    bars = [line for line in err.splitlines() if line.startswith("[")]
    assert len(bars) == 10 and bars[-1].endswith("] 120/120")  # a line every tenth
    _, _, quiet = _report("--no-progress", str(tmp_path))
    assert not any(line.startswith("[") for line in quiet.splitlines())
    _, _, few = _report(*[str(p) for p in sorted(tmp_path.iterdir())[:100]])
    assert not any(line.startswith("[") for line in few.splitlines())


def test_main_dispatches_report(tmp_path: Path) -> None:
    path = tmp_path / "dsn.eml"
    path.write_bytes(DSN)
    out = io.StringIO()
    assert main(["report", str(path)], stdout=out) == 0
    assert json.loads(out.getvalue())["reporting_mta"]["value"] == "mx.example.net"


# -- bounce ------------------------------------------------------------------------------------


def _read(data: bytes) -> dict[str, object]:
    _, lines, _ = _report("-", stdin=data)
    [row] = [json.loads(line) for line in lines]
    assert isinstance(row, dict)
    return row


def test_bounce_round_trips_through_report() -> None:
    code, data, err = _bounce(
        "--rcpt", "list+bob=example.org@lists.example.net=no_such_user",
        "--rcpt", "c@example.org=550:5.7.1:Rejected by policy",
        "--reporting-mta", "mx.example.net", "--envid", "QQ  31",
        "--orcpt", "RFC822;Bob@Example.org", "--notify", "failure,delay",
    )
    assert (code, err) == (0, "")
    row = _read(data)
    assert row["original_envelope_id"] == "QQ  31"
    assert row["reporting_mta"] == {"type": "dns", "value": "mx.example.net"}
    assert row["warnings"] == []
    rcpts = row["recipients"]
    assert isinstance(rcpts, list)
    assert [r["final_recipient"] for r in rcpts] == [
        {"type": "rfc822", "value": "list+bob=example.org@lists.example.net"},
        {"type": "rfc822", "value": "c@example.org"},
    ]
    assert [r["original_recipient"] for r in rcpts] == [
        {"type": "rfc822", "value": "Bob@Example.org"}] * 2
    assert [(r["action"], r["status"]) for r in rcpts] == [("failed", "5.1.1"),
                                                            ("failed", "5.7.1")]
    assert rcpts[1]["diagnostic_code"] == {"type": "smtp",
                                           "value": "550 5.7.1 Rejected by policy"}
    assert b"\r\nTo: <alice@example.com>\r\n" in data  # the Return-Path
    assert b"Content-Type: text/rfc822-headers" in data


def test_bounce_sender_from_a_return_path_with_a_comment() -> None:
    original = b"Return-Path: <list-bounces+x=y.example@lists.example.org> (via mx)\r\n\r\nhi\r\n"
    code, data, _ = _bounce("--rcpt", "x@y.example=no_such_user", original=original)
    assert code == 0
    assert b"\r\nTo: <list-bounces+x=y.example@lists.example.org>\r\n" in data


def test_bounce_ret_full_sender_and_a_short_host_name() -> None:
    code, data, _ = _bounce("--rcpt", "b@example.org=mbox_full", "--ret", "full",
                            "--sender", "other@example.com", "--reporting-mta", "vm")
    assert code == 0
    assert b"Content-Type: message/rfc822" in data
    assert b"\r\nTo: <other@example.com>\r\n" in data
    assert _read(data)["reporting_mta"] == {"type": "x-local-hostname", "value": "vm"}


def test_bounce_delay() -> None:
    code, data, _ = _bounce("--rcpt", "b@example.org=no_such_user", "--delay",
                            "--reporting-mta", "mx.example.net")
    assert code == 0
    rcpts = _read(data)["recipients"]
    assert isinstance(rcpts, list)
    [rcpt] = rcpts
    assert (rcpt["action"], rcpt["status"]) == ("delayed", "4.1.1")
    assert rcpt["diagnostic_code"]["value"] == "450 4.1.1 No such user"
    assert datetime.fromisoformat(rcpt["will_retry_until"]) > datetime.fromisoformat(
        "2026-01-01T00:00:00+00:00")


@pytest.mark.parametrize(
    ("argv", "original", "reason"),
    [
        (["--sender", "<>"], ORIGINAL, "the sender is null"),
        ([], b"Return-Path: <>\r\nSubject: x\r\n\r\nbody\r\n", "the sender is null"),
        ([], b"Return-Path: <> (bounce)\r\nSubject: x\r\n\r\nbody\r\n", "the sender is null"),
        (["--notify", "NEVER"], ORIGINAL, "NOTIFY=NEVER"),
        (["--notify", "SUCCESS"], ORIGINAL,
         "NOTIFY=SUCCESS does not ask for a report of failed recipients"),
    ],
)
def test_no_dsn_due_writes_nothing_says_why_and_exits_0(
    argv: list[str], original: bytes, reason: str
) -> None:
    code, data, err = _bounce("--rcpt", "b@example.org=no_such_user",
                              "--reporting-mta", "mx.example.net", *argv, original=original)
    assert (code, data) == (0, b"")
    assert err.startswith("smtpdsn bounce: no DSN is due: ") and reason in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rcpt", "b@example.org"], "expected ADDRESS=REPLY"),
        (["--rcpt", "b=c=no_such_user"], "expected ADDRESS=REPLY"),
        (["--rcpt", "b@example.org=no_such_usr"], "did you mean no_such_user"),
        (["--rcpt", "b@example.org=650:5.1.1:x"], "--rcpt reply '650:5.1.1:x'"),
        (["--rcpt", "b@example.org=550:5.1.1:x", "--delay"], "needs a 4xx reply"),
        (["--rcpt", "b@example.org=no_such_user", "--notify", "SOMETIMES"], "NOTIFY"),
        (["--rcpt", "b@example.org=no_such_user", "--envid", "a\tb"], "ENVID"),
        (["--rcpt", "b@example.org=no_such_user", "--reporting-mta", "mx\r\nBcc: x"],
         "contains a line break"),
        (["--rcpt", "b@example.org\r\nBcc: x@y=no_such_user"], "contains a line break"),
    ],
)
def test_bad_bounce_arguments_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "orig.eml"
    path.write_bytes(ORIGINAL)
    assert main(["bounce", "--original", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("smtpdsn bounce: error: ") and message in err
    assert err.count("\n") == 1


def test_bounce_without_sender_or_return_path_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "orig.eml"
    path.write_bytes(b"Subject: x\r\n\r\nbody\r\n")
    assert main(["bounce", "--original", str(path), "--rcpt", "b@example.org=no_such_user"]) == 2
    assert "give --sender" in capsys.readouterr().err


def test_bounce_unreadable_original_exits_1(tmp_path: Path) -> None:
    err = io.StringIO()
    parser = argparse.ArgumentParser()
    bouncecli.add_arguments(parser)
    args = parser.parse_args(["--original", str(tmp_path / "missing"), "--rcpt",
                              "b@example.org=no_such_user"])
    assert bouncecli.run(args, out=io.BytesIO(), err=err) == 1
    assert "cannot read" in err.getvalue()


def test_parse_rcpt_splits_after_the_last_at() -> None:
    address, reply = bouncecli.parse_rcpt("a=b@x=y@lists.example.net=550::Gone")
    assert address == "a=b@x=y@lists.example.net"
    assert (reply.code, reply.status, reply.text) == (550, None, "Gone")


def test_bounce_then_report_as_commands(tmp_path: Path) -> None:
    """The two commands in a pipe, as a user runs them."""
    path = tmp_path / "orig.eml"
    path.write_bytes(ORIGINAL)
    made = subprocess.run(
        [sys.executable, "-m", "smtpdsn", "bounce", "--original", str(path),
         "--rcpt", "bob@example.org=no_such_user", "--reporting-mta", "mx.example.net"],
        capture_output=True, check=True, timeout=60,
    )
    read = subprocess.run([sys.executable, "-m", "smtpdsn", "report", "-"], input=made.stdout,
                          capture_output=True, check=True, timeout=60)
    row = json.loads(read.stdout)
    assert row["recipients"][0]["final_recipient"]["value"] == "bob@example.org"
    assert row["recipients"][0]["status"] == "5.1.1"
