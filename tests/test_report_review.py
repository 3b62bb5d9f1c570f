"""Regression tests for faults a review found in report building."""

from __future__ import annotations

import pytest

from smtpdsn import no_such_user
from smtpdsn.dsnparams import parse_rcpt_params
from smtpdsn.report import InvalidReportError, RecipientOutcome, build_report, parse_reports

ORIGINAL = b"From: a@b.test\r\nSubject: x\r\n\r\nbody\r\n"


def test_control_characters_in_a_recipient_are_refused() -> None:
    with pytest.raises(InvalidReportError, match="contains a line break or a control character"):
        build_report(
            ORIGINAL,
            [RecipientOutcome("bob\x1b[2J\x00\x7f@example.org", no_such_user())],
            sender="a@b.test",
            reporting_mta="mx.test",
        )


@pytest.mark.parametrize(
    "sender", ["a@b.test>, <victim@evil.test", "a@b.test, victim@evil.test", "a b@c.test"]
)
def test_a_sender_that_reads_as_several_addresses_is_refused(sender: str) -> None:
    with pytest.raises(InvalidReportError, match="is not a single address"):
        build_report(
            ORIGINAL, [RecipientOutcome("bob@x.test", no_such_user())],
            sender=sender, reporting_mta="mx.test",
        )


def test_a_quoted_local_part_may_hold_specials() -> None:
    dsn = build_report(
        ORIGINAL, [RecipientOutcome("bob@x.test", no_such_user())],
        sender='"a,b"@b.test', reporting_mta="mx.test",
    )
    assert dsn is not None and b'\r\nTo: <"a,b"@b.test>\r\n' in bytes(dsn)


def test_a_long_orcpt_address_type_still_builds() -> None:
    params = parse_rcpt_params("ORCPT=" + "x" * 41 + ";bob@x.test")
    dsn = build_report(
        ORIGINAL, [RecipientOutcome("bob@x.test", no_such_user(), params=params)],
        sender="a@b.test", reporting_mta="mx.test",
    )
    assert dsn is not None
    rcpt = parse_reports(bytes(dsn))[0].recipients[0]
    assert rcpt.original_recipient is not None
    assert rcpt.original_recipient.type == "x" * 41
