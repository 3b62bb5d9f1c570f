"""The report reader against the real bounces of ../shared/corpus (sisimai's samples).

Every row of expected.tsv with a ``dsn_status`` names a recipient of a message's own
message/delivery-status part; the reader must return that recipient's Status code,
Action and Final-Recipient. Every other sample must parse or raise ReportSyntaxError.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import pytest

from smtpdsn.report import DeliveryReport, ReportSyntaxError, parse_reports

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
SAMPLES = CORPUS / "set-of-emails" / "maildir" / "bsd"
EXPECTED_ROWS = 333

pytestmark = pytest.mark.skipif(
    not (CORPUS / "expected.tsv").is_file(), reason="../shared/corpus is not beside the repo"
)


def _rows() -> list[dict[str, str]]:
    with (CORPUS / "expected.tsv").open(newline="", encoding="utf-8") as fh:
        return [row for row in csv.DictReader(fh, dialect="excel-tab") if row["dsn_status"]]


def _split_typed(raw: str) -> tuple[str, str]:
    kind, _, value = raw.partition(";")
    return kind.strip().lower(), value.strip()


def test_every_dsn_row_of_the_corpus_is_read() -> None:
    rows = _rows()
    assert len(rows) == EXPECTED_ROWS
    cache: dict[str, list[DeliveryReport]] = {}
    failures: list[str] = []
    for row in rows:
        name = row["sample_file"]
        if name not in cache:
            cache[name] = parse_reports((SAMPLES / name).read_bytes())
        recipients = [r for report in cache[name] for r in report.recipients]
        index = int(row["recipient_index"]) - 1
        if index >= len(recipients):
            failures.append(f"{name}: no recipient {index + 1}")
            continue
        got = recipients[index]
        code, _, comment = row["dsn_status"].partition(" ")
        problems = []
        if str(got.status) != code:
            problems.append(f"status {got.status} != {code}")
        if comment and got.status_comment != comment.strip().strip("()"):
            problems.append(f"status comment {got.status_comment!r} != {comment!r}")
        if (got.action_text or "").lower() != row["dsn_action"].lower():
            problems.append(f"action {got.action_text!r} != {row['dsn_action']!r}")
        if row["dsn_action"].lower() in {"failed", "delayed"}:
            assert got.action is not None and got.action.value == row["dsn_action"].lower()
        final = got.final_recipient
        if final is None or (final.type, final.value) != _split_typed(
            row["dsn_final_recipient"]
        ):
            problems.append(f"final recipient {final} != {row['dsn_final_recipient']!r}")
        if problems:
            failures.append(f"{name}#{index + 1}: " + "; ".join(problems))
    matched = len(rows) - len(failures)
    print(f"\ncorpus: {matched}/{len(rows)} expected.tsv rows read correctly")
    assert failures == []
    assert matched == EXPECTED_ROWS


def test_every_corpus_file_parses_or_raises_the_documented_error() -> None:
    parsed = refused = 0
    for path in sorted(SAMPLES.glob("*.eml")):
        data = path.read_bytes()
        try:
            reports = parse_reports(data)
        except ReportSyntaxError as exc:
            assert str(exc)
            refused += 1
        else:
            assert reports and all(report.recipients for report in reports)
            parsed += 1
    print(f"\ncorpus: {parsed} files parsed, {refused} refused with ReportSyntaxError")
    assert parsed + refused == 629
    assert parsed >= 345


def test_corpus_in_strict_mode_parses_or_raises_the_documented_error() -> None:
    for path in sorted(SAMPLES.glob("*.eml")):
        with contextlib.suppress(ReportSyntaxError):
            parse_reports(path.read_bytes(), strict=True)


def test_corpus_reads_the_same_from_a_stdlib_message() -> None:
    import email

    for name in ("lhost-postfix-01.eml", "lhost-sendmail-13.eml", "rfc3464-28.eml"):
        data = (SAMPLES / name).read_bytes()
        from_bytes = parse_reports(data)
        from_message = parse_reports(email.message_from_bytes(data))
        assert [r.recipients for r in from_message] == [r.recipients for r in from_bytes]


def test_corpus_reads_the_same_with_any_line_ending() -> None:
    checked = 0
    for path in sorted(SAMPLES.glob("*.eml")):
        lf = path.read_bytes().replace(b"\r\n", b"\n")
        try:
            expected = parse_reports(lf)
        except ReportSyntaxError:
            continue
        for ending in (b"\r\n", b"\r"):
            got = parse_reports(lf.replace(b"\n", ending))
            assert [r.recipients for r in got] == [r.recipients for r in expected], path.name
        checked += 1
    assert checked >= 345
