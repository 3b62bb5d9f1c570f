"""The examples in docs/report.md and in the report modules' docstrings run as written."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "report.md"
MODULES = [
    "model", "read", "fields", "body", "compose", "checks", "build", "text", "mime", "errors",
    "cli", "bouncecli",
]


def test_docs_report_md_examples() -> None:
    result = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted >= 10


@pytest.mark.parametrize("name", ["", *MODULES])
def test_module_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"smtpdsn.report.{name}" if name else "smtpdsn.report")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_build_example_output_in_docs_is_what_build_report_gives() -> None:
    import re
    from datetime import UTC, datetime

    from smtpdsn import no_such_user
    from smtpdsn.dsnparams import parse_mail_params, parse_rcpt_params
    from smtpdsn.report import RecipientOutcome, build_report

    original = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: Hi\r\n\r\nHello\r\n"
    dsn = build_report(
        original,
        [
            RecipientOutcome(
                "bob@example.org",
                no_such_user(),
                params=parse_rcpt_params("NOTIFY=FAILURE ORCPT=rfc822;Bob@example.org"),
                remote_mta="mx.example.org",
            )
        ],
        sender="alice@example.com",
        reporting_mta="mx.example.net",
        mail_params=parse_mail_params("RET=HDRS ENVID=QQ314159"),
        date=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        message_id="<dsn-1@mx.example.net>",
    )
    assert dsn is not None
    got = bytes(dsn).decode().replace("\r\n", "\n")
    boundary = dsn.get_boundary()
    assert boundary is not None
    doc = DOC.read_text(encoding="utf-8")
    m = re.search(r"gives \(Date, Message-ID and the boundary vary\):\n\n```\n(.*?)```", doc, re.S)
    assert m is not None
    shown = re.search(r'boundary="(.*?)"', m[1])
    assert shown is not None
    assert got.replace(boundary, shown[1]).strip() == m[1].strip()
