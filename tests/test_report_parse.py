"""parse_reports: field grammar, deviations and their warnings, strict mode, inputs,
errors, and hostile input (10 MB header, 10,000 recipients, 1,000-deep nesting)."""

from __future__ import annotations

import email
import email.message
import io
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from smtpdsn.errors import DSNError
from smtpdsn.reply import Reply
from smtpdsn.report import (
    Action,
    DeliveryReport,
    ReportSyntaxError,
    TypedValue,
    parse_reports,
)
from smtpdsn.report.fields import parse_date, parse_iso_date, parse_status, parse_typed
from smtpdsn.report.mime import MAX_DEPTH
from smtpdsn.status import EnhancedStatus


def wrap(body: str, *, ctype: str = "message/delivery-status", nl: str = "\r\n") -> bytes:
    """A minimal multipart/report around a delivery-status body."""
    text = (
        "From: MAILER-DAEMON@mx.example.net\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n"
        "--B\nContent-Type: text/plain\n\nYour mail failed.\n"
        f"--B\nContent-Type: {ctype}\n\n{body}\n--B--\n"
    )
    return text.replace("\n", nl).encode("utf-8")


SIMPLE = (
    "Reporting-MTA: dns; mx.example.net\n"
    "Arrival-Date: Thu, 29 Apr 2021 23:45:00 +0900\n"
    "\n"
    "Original-Recipient: rfc822;Bob@Example.org\n"
    "Final-Recipient: rfc822; bob@example.org\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Remote-MTA: dns; mail.example.org\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected\n"
    "Last-Attempt-Date: Thu, 29 Apr 2021 23:46:00 +0900\n"
    "X-Custom: yes\n"
)


def one(data: bytes | str | email.message.Message, **kwargs: bool) -> DeliveryReport:
    reports = parse_reports(data, **kwargs)
    assert len(reports) == 1
    return reports[0]


class TestFieldValues:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("rfc822; bob@example.org", TypedValue("rfc822", "bob@example.org")),
            ("RFC822;bob@example.org", TypedValue("rfc822", "bob@example.org")),
            ("dns ;  mx.example.net  ", TypedValue("dns", "mx.example.net")),
            ("utf-8; j\\x{F6}ran@example.com", TypedValue("utf-8", "j\\x{F6}ran@example.com")),
            ("x-unix; 77", TypedValue("x-unix", "77")),
            ("smtp;", TypedValue("smtp", "")),
            ("bob@example.org", None),
            ("<a;b>@example.org", None),
        ],
    )
    def test_typed_values(self, text: str, expected: TypedValue | None) -> None:
        assert parse_typed(text) == expected

    @pytest.mark.parametrize(
        ("text", "status", "comment", "problem"),
        [
            ("5.1.1", "5.1.1", None, None),
            ("4.7.650", "4.7.650", None, None),
            ("5.1.1 (user unknown)", "5.1.1", "user unknown", None),
            ("5.0.0 (permanent failure)", "5.0.0", "permanent failure", None),
            (
                "5.1.1 user unknown",
                "5.1.1",
                "user unknown",
                "Status '5.1.1 user unknown' has text after the code that is not a (comment)",
            ),
            (
                "5.01.1",
                "5.1.1",
                None,
                "Status '5.01.1' has sub-codes with leading zeros; read as 5.1.1",
            ),
            ("9.1.1", None, None, "Status '9.1.1' has class 9; expected 2, 4 or 5"),
            ("550", None, None, "Status '550' is not an enhanced status code"),
            ("5.1.1.1", None, None, "Status '5.1.1.1' is not an enhanced status code"),
            ("", None, None, "Status '' is not an enhanced status code"),
        ],
    )
    def test_status(
        self, text: str, status: str | None, comment: str | None, problem: str | None
    ) -> None:
        got = parse_status(text)
        assert (None if got[0] is None else str(got[0]), got[1], got[2]) == (
            status,
            comment,
            problem,
        )

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Thu, 29 Apr 2021 23:45:00 +0900", datetime(2021, 4, 29, 14, 45, tzinfo=UTC)),
            ("Thu, 29 Apr 2021 23:45:00 +0900 (JST)", datetime(2021, 4, 29, 14, 45, tzinfo=UTC)),
            ("29 Apr 2021 23:45 -0000", datetime(2021, 4, 29, 23, 45, tzinfo=UTC)),
            ("Thu, 29 Apr 2021 23:45:00", datetime(2021, 4, 29, 23, 45, tzinfo=UTC)),
            ("yesterday", None),
            ("", None),
            ("Thu, 99 Apr 2021 23:45:00 +0000", None),
        ],
    )
    def test_dates_are_timezone_aware(self, text: str, expected: datetime | None) -> None:
        got = parse_date(text)
        assert got == expected
        if got is not None:
            assert got.tzinfo is not None

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2012-10-31 04-46-42", datetime(2012, 10, 31, 4, 46, 42, tzinfo=UTC)),
            ("2012-10-31T04:46:42Z", datetime(2012, 10, 31, 4, 46, 42, tzinfo=UTC)),
            ("2012-10-31T04:46:42.5+09:00", datetime(2012, 10, 30, 19, 46, 42, tzinfo=UTC)),
            ("2012-10-31 04:46:42 -0130", datetime(2012, 10, 31, 6, 16, 42, tzinfo=UTC)),
            ("2012-13-31 04:46:42", None),
            ("31/10/2012", None),
        ],
    )
    def test_iso_like_dates(self, text: str, expected: datetime | None) -> None:
        assert parse_iso_date(text) == expected

    def test_typed_value_address(self) -> None:
        assert TypedValue("utf-8", "j\\x{F6}ran@example.com").address == "jöran@example.com"
        assert TypedValue("rfc822", "<bob@example.org>").address == "bob@example.org"
        assert str(TypedValue("dns", "mx")) == "dns; mx"
        assert str(TypedValue("", "bob@example.org")) == "bob@example.org"


class TestParse:
    def test_every_field_is_typed(self) -> None:
        report = one(wrap(SIMPLE))
        assert report.reporting_mta == TypedValue("dns", "mx.example.net")
        jst = timezone(timedelta(hours=9))
        assert report.arrival_date == datetime(2021, 4, 29, 23, 45, tzinfo=jst)
        assert report.warnings == []
        assert not report.is_global
        [rcpt] = report.recipients
        assert rcpt.original_recipient == TypedValue("rfc822", "Bob@Example.org")
        assert rcpt.final_recipient == TypedValue("rfc822", "bob@example.org")
        assert rcpt.action is Action.FAILED and rcpt.action_text == "failed"
        assert rcpt.status == EnhancedStatus.parse("5.1.1")
        assert rcpt.status_comment is None
        assert rcpt.remote_mta == TypedValue("dns", "mail.example.org")
        assert rcpt.diagnostic_code == TypedValue(
            "smtp", "550 5.1.1 <bob@example.org>: Recipient address rejected"
        )
        assert rcpt.diagnostic_reply == Reply(
            550, "5.1.1", "<bob@example.org>: Recipient address rejected"
        )
        assert rcpt.last_attempt_date is not None and rcpt.last_attempt_date.tzinfo is not None
        assert rcpt.extensions == [("X-Custom", "yes")]
        assert rcpt.extension("x-custom") == "yes"

    @pytest.mark.parametrize("nl", ["\r\n", "\n", "\r"])
    def test_line_endings(self, nl: str) -> None:
        report = one(wrap(SIMPLE, nl=nl))
        assert report.warnings == []
        assert str(report.recipients[0].status) == "5.1.1"

    def test_input_kinds_give_the_same_result(self) -> None:
        data = wrap(SIMPLE)
        expected = parse_reports(data)
        assert parse_reports(bytearray(data)) == expected
        assert parse_reports(memoryview(data)) == expected
        assert parse_reports(data.decode()) == expected
        assert parse_reports(io.BytesIO(data)) == expected
        assert parse_reports(email.message_from_bytes(data)) == expected

    def test_folded_fields_and_any_name_case(self) -> None:
        body = (
            "REPORTING-mta: dns;\n mx.example.net\n\n"
            "final-recipient: rfc822;\n\tbob@example.org\nACTION: Failed\nstatus: 5.1.1\n"
            "diagnostic-code: smtp; 550-5.1.1 first line\n 550 5.1.1 second line\n"
        )
        rcpt = one(wrap(body)).recipients[0]
        assert rcpt.final_recipient == TypedValue("rfc822", "bob@example.org")
        assert rcpt.action is Action.FAILED and rcpt.action_text == "Failed"
        assert rcpt.diagnostic_reply == Reply(550, "5.1.1", ["first line", "second line"])

    def test_diagnostic_code_without_a_type_still_gives_a_reply(self) -> None:
        body = SIMPLE.replace("Diagnostic-Code: smtp; ", "Diagnostic-Code: ")
        report = one(wrap(body))
        rcpt = report.recipients[0]
        assert rcpt.diagnostic_code is not None and rcpt.diagnostic_code.type == ""
        assert rcpt.diagnostic_reply == Reply(
            550, "5.1.1", "<bob@example.org>: Recipient address rejected"
        )

    def test_diagnostic_reply_is_none_when_not_smtp(self) -> None:
        body = "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@b\nAction: failed\n" \
            "Status: 5.0.0\nDiagnostic-Code: X-Unix; 77\n"
        rcpt = one(wrap(body)).recipients[0]
        assert rcpt.diagnostic_code == TypedValue("x-unix", "77")
        assert rcpt.diagnostic_reply is None

    def test_8bit_and_global_delivery_status(self) -> None:
        body = (
            "Reporting-MTA: dns; mx.example.net\n\n"
            "Final-Recipient: utf-8; jöran@exämple.com\nAction: failed\nStatus: 5.1.1\n"
        )
        report = one(wrap(body, ctype="message/global-delivery-status"))
        assert report.is_global and report.warnings == []
        assert report.recipients[0].final_recipient == TypedValue("utf-8", "jöran@exämple.com")
        plain = one(wrap(body))
        assert plain.warnings == [
            "message/delivery-status holds non-ASCII text (RFC 3464 allows US-ASCII)"
        ]

    def test_latin1_8bit_content(self) -> None:
        data = wrap(SIMPLE.replace("X-Custom: yes", "X-Custom: caf\u00e9")).replace(
            "café".encode(), "café".encode("latin-1")
        )
        report = one(data)
        assert report.recipients[0].extension("X-Custom") == "café"
        assert report.warnings == [
            "the delivery-status part is not UTF-8 text; it is read as Latin-1",
            "message/delivery-status holds non-ASCII text (RFC 3464 allows US-ASCII)",
        ]

    def test_unknown_and_damaged_transfer_encodings(self) -> None:
        header = b"Content-Type: message/delivery-status"
        commented = wrap(SIMPLE).replace(
            header, header + b"\r\nContent-Transfer-Encoding: 7BIT (plain text)"
        )
        assert one(commented).warnings == []
        odd = wrap(SIMPLE).replace(header, header + b"\r\nContent-Transfer-Encoding: x-uue")
        assert one(odd).warnings == [
            "unknown Content-Transfer-Encoding 'x-uue'; the body is read as is"
        ]
        damaged = wrap("Q").replace(header, header + b"\r\nContent-Transfer-Encoding: base64")
        with pytest.raises(ReportSyntaxError) as info:
            parse_reports(damaged)
        assert str(info.value) == "the delivery-status part holds no fields"

    def test_nested_in_multipart_mixed(self) -> None:
        inner = wrap(SIMPLE).decode().split("\r\n\r\n", 1)[1]
        data = (
            "Content-Type: multipart/mixed; boundary=OUT\r\n\r\n--OUT\r\n"
            "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n" + inner + "\r\n--OUT--\r\n"
        ).encode()
        report = one(data)
        assert str(report.recipients[0].status) == "5.1.1"
        assert report.warnings == [
            "the message/delivery-status part is inside multipart/mixed, not multipart/report"
        ]

    def test_report_in_returned_message_is_used_only_as_a_last_resort(self) -> None:
        returned = wrap(SIMPLE.replace("5.1.1", "5.2.2")).decode()
        data = (
            "Content-Type: multipart/report; report-type=delivery-status; boundary=O\r\n\r\n"
            "--O\r\nContent-Type: message/delivery-status\r\n\r\n"
            + SIMPLE.replace("\n", "\r\n")
            + "\r\n--O\r\nContent-Type: message/rfc822\r\n\r\n"
            + returned
            + "\r\n--O--\r\n"
        ).encode()
        assert [str(r.recipients[0].status) for r in parse_reports(data)] == ["5.1.1"]
        forwarded = (
            "Content-Type: message/rfc822\r\n\r\n" + returned
        ).encode()
        assert [str(r.recipients[0].status) for r in parse_reports(forwarded)] == ["5.2.2"]

    def test_base64_and_quoted_printable_parts(self) -> None:
        import base64

        encoded = base64.encodebytes(SIMPLE.encode()).decode()
        data = wrap(encoded).replace(
            b"message/delivery-status",
            b"message/delivery-status\r\nContent-Transfer-Encoding: base64",
        )
        report = one(data)
        assert str(report.recipients[0].status) == "5.1.1"
        assert report.warnings == [
            "Content-Transfer-Encoding base64 on message/delivery-status (RFC 3464 requires 7bit)"
        ]


DEVIATIONS = [
    (
        "status comment is not a deviation",
        SIMPLE.replace("Status: 5.1.1", "Status: 5.1.1 (user unknown)"),
        [],
    ),
    (
        "comment after the action is not a deviation",
        SIMPLE.replace("Action: failed", "Action: FAILED (mailbox unknown)"),
        [],
    ),
    (
        "trailing text in Status",
        SIMPLE.replace("Status: 5.1.1", "Status: 5.1.1 user unknown"),
        ["line 7: Status '5.1.1 user unknown' has text after the code that is not a (comment)"],
    ),
    (
        "Action: expired",
        SIMPLE.replace("Action: failed", "Action: expired"),
        ["line 6: Action 'expired' is not an RFC 3464 value; read as failed"],
    ),
    (
        "Action: deliverable",
        SIMPLE.replace("Action: failed", "Action: deliverable"),
        ["line 6: Action 'deliverable' is not an RFC 3464 value"],
    ),
    (
        "missing blank line after the per-message fields",
        SIMPLE.replace("+0900\n\n", "+0900\n"),
        ["line 3: no blank line between the per-message fields and a recipient"],
    ),
    (
        "missing blank line between recipients",
        SIMPLE + "Final-Recipient: rfc822; eve@example.org\nAction: failed\nStatus: 5.1.1\n",
        ["line 12: no blank line before Final-Recipient: a new recipient starts here"],
    ),
    (
        "no type on Final-Recipient",
        SIMPLE.replace("Final-Recipient: rfc822; ", "Final-Recipient: "),
        ["line 5: Final-Recipient 'bob@example.org' has no type; expected type;value"],
    ),
    (
        "misspelt Action",
        SIMPLE.replace("Action:", "ction:"),
        ["line 4: a recipient group has no Action"],
    ),
    (
        "no Reporting-MTA",
        SIMPLE.replace("Reporting-MTA: dns; mx.example.net\n", "X-Queue: 1\n"),
        ["line 1: the per-message fields have no Reporting-MTA"],
    ),
    (
        "junk line",
        SIMPLE.replace("Original-Recipient", "this is not a field\nOriginal-Recipient"),
        ["line 4: 'this is not a field' is not a field"],
    ),
    (
        "continuation without white space",
        SIMPLE.replace("Recipient address rejected\n", "Recipient\naddress rejected\n"),
        ["line 10: 'address rejected' is not a field; read as a continuation of "
         "Diagnostic-Code"],
    ),
    (
        "duplicate field",
        SIMPLE + "Status: 5.2.2\n",
        ["line 12: no blank line before Status: a new recipient starts here",
         "line 12: a recipient group has no Final-Recipient",
         "line 12: a recipient group has no Action"],
    ),
    (
        "per-message fields split by a blank line",
        SIMPLE.replace("Arrival-Date", "\nArrival-Date"),
        ["line 3: a blank line splits the per-message fields"],
    ),
    (
        "per-message field in a recipient group",
        SIMPLE + "Arrival-Date: Thu, 29 Apr 2021 23:45:00 +0900\n",
        ["line 12: per-message field Arrival-Date in a recipient group"],
    ),
    (
        "ISO-like date",
        SIMPLE.replace("Thu, 29 Apr 2021 23:46:00 +0900", "2021-04-29 23-46-00"),
        ["line 10: Last-Attempt-Date '2021-04-29 23-46-00' is not an RFC 5322 date-time; "
         "read as 2021-04-29T23:46:00+00:00"],
    ),
    (
        "bad date",
        SIMPLE.replace("Thu, 29 Apr 2021 23:46:00 +0900", "soon"),
        ["line 10: Last-Attempt-Date 'soon' is not a date-time"],
    ),
]


@pytest.mark.parametrize(("case", "body", "warnings"), DEVIATIONS, ids=[d[0] for d in DEVIATIONS])
def test_deviations_become_warnings(case: str, body: str, warnings: list[str]) -> None:
    report = parse_reports(wrap(body))[0]
    assert report.warnings == warnings
    assert report.recipients[0].final_recipient is not None
    if warnings:
        with pytest.raises(ReportSyntaxError) as info:
            parse_reports(wrap(body), strict=True)
        assert str(info.value) == warnings[0]
        assert info.value.line == int(warnings[0].split(":")[0].split()[1])
    else:
        assert parse_reports(wrap(body), strict=True) == [report]


def test_unindented_continuation_of_a_multiline_reply() -> None:
    body = SIMPLE.replace(
        "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected\n",
        "Diagnostic-Code: smtp; 550-5.7.1 first line\n550-5.7.1 second line\n"
        "550 5.7.1 last line\n",
    )
    rcpt = parse_reports(wrap(body))[0].recipients[0]
    assert rcpt.diagnostic_reply == Reply(550, "5.7.1", ["first line", "second line", "last line"])
    assert rcpt.last_attempt_date is not None


def test_split_per_message_fields_are_kept() -> None:
    report = parse_reports(wrap(SIMPLE.replace("Arrival-Date", "\nArrival-Date")))[0]
    assert report.reporting_mta == TypedValue("dns", "mx.example.net")
    assert report.arrival_date is not None
    assert len(report.recipients) == 1


def test_warnings_are_capped() -> None:
    body = SIMPLE + "".join(f"junk line {i}\n" for i in range(5000))
    report = parse_reports(wrap(body))[0]
    assert len(report.warnings) == 101
    assert report.warnings[0] == (
        "line 12: 'junk line 0' is not a field; read as a continuation of X-Custom"
    )
    assert report.warnings[-1] == "4900 more deviations are not listed"


def test_action_expired_is_read_as_failed_and_the_text_kept() -> None:
    rcpt = parse_reports(wrap(SIMPLE.replace("Action: failed", "Action: expired")))[0].recipients[0]
    assert rcpt.action is Action.FAILED and rcpt.action_text == "expired"


ERRORS = [
    (b"", "not a delivery status notification: the message has no message/delivery-status "
     "or message/global-delivery-status part"),
    (b"From: a@b\r\nSubject: hi\r\n\r\nhello\r\n", "not a delivery status notification: the "
     "message has no message/delivery-status or message/global-delivery-status part"),
    (wrap(""), "the delivery-status part holds no fields"),
    (wrap("Reporting-MTA: dns; mx\n"), "the delivery-status part has no per-recipient fields"),
    (wrap("Reporting-MTA: dns; mx\n\nX-Only: 1\n"),
     "the delivery-status part has no per-recipient fields"),
]


@pytest.mark.parametrize(("data", "message"), ERRORS)
def test_unusable_input_raises_the_documented_error(data: bytes, message: str) -> None:
    with pytest.raises(ReportSyntaxError) as info:
        parse_reports(data)
    assert str(info.value) == message
    assert isinstance(info.value, DSNError) and isinstance(info.value, ValueError)


def test_parse_delivery_status_reads_a_body_alone() -> None:
    from smtpdsn.report import parse_delivery_status

    from_text = parse_delivery_status(SIMPLE)
    assert from_text == one(wrap(SIMPLE))
    assert parse_delivery_status(SIMPLE.replace("\n", "\r\n").encode()) == from_text
    utf8 = "Reporting-MTA: dns; mx\n\nFinal-Recipient: utf-8; jö@x\nAction: failed\nStatus: 5.1.1\n"
    report = parse_delivery_status(utf8.encode(), is_global=True, strict=True)
    assert report.is_global and report.recipients[0].final_recipient == TypedValue("utf-8", "jö@x")
    with pytest.raises(ReportSyntaxError) as info:
        parse_delivery_status(42)  # type: ignore[arg-type]
    assert str(info.value) == "expected bytes or str, got int"
    with pytest.raises(ReportSyntaxError) as info:
        parse_delivery_status("")
    assert str(info.value) == "the delivery-status part holds no fields"


def test_wrong_source_types() -> None:
    with pytest.raises(ReportSyntaxError) as info:
        parse_reports(42)  # type: ignore[arg-type]
    assert str(info.value) == (
        "expected bytes, str, a binary file or an email.message.Message, got int"
    )
    with pytest.raises(ReportSyntaxError) as info:
        parse_reports(io.StringIO("x"))  # type: ignore[arg-type]
    assert str(info.value) == "not a delivery status notification: the message has no " \
        "message/delivery-status or message/global-delivery-status part"


def test_an_unusable_part_beside_a_good_one_is_a_warning() -> None:
    data = (
        "Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n"
        "--B\nContent-Type: message/delivery-status\n\n" + SIMPLE + "--B--\n"
    ).encode()
    [report] = parse_reports(data)
    assert report.warnings == [
        "another delivery-status part is unusable: the delivery-status part has no "
        "per-recipient fields"
    ]
    with pytest.raises(ReportSyntaxError):
        parse_reports(data, strict=True)


class TestBrokenStructure:
    def test_part_with_a_boundary_that_does_not_match_is_found_by_text(self) -> None:
        data = wrap(SIMPLE).replace(b'boundary="B"', b'boundary="OTHER"')
        report = one(data)
        assert str(report.recipients[0].status) == "5.1.1"
        assert report.warnings == [
            "the message/delivery-status part was found by a text search: the MIME structure "
            "around it is broken"
        ]
        with pytest.raises(ReportSyntaxError):
            parse_reports(data, strict=True)

    def test_report_pasted_into_a_text_message(self) -> None:
        data = (
            "Subject: fwd bounce\n\nSee below.\n\nContent-Type: message/delivery-status\n\n"
            + SIMPLE
        ).encode()
        assert str(one(data).recipients[0].final_recipient) == "rfc822; bob@example.org"

    def test_mention_of_the_type_without_a_report_is_refused(self) -> None:
        data = b"Subject: x\n\nContent-Type: message/delivery-status\n\nno fields here\n"
        with pytest.raises(ReportSyntaxError) as info:
            parse_reports(data)
        assert str(info.value) == "the delivery-status part holds no fields"


class TestHostileInput:
    """Bounded work on hostile input. No timing assertions; the times are printed."""

    def test_ten_megabyte_header(self) -> None:
        big = "X-Big: " + "a" * (10 * 1024 * 1024)
        data = wrap(SIMPLE).replace(b"From:", big.encode() + b"\r\nFrom:", 1)
        start = time.perf_counter()
        report = one(data)
        print(f"\n10 MB header: {time.perf_counter() - start:.2f}s")
        assert str(report.recipients[0].status) == "5.1.1"

    def test_ten_megabyte_folded_header(self) -> None:
        big = "X-Big: " + "\r\n a" * (5 * 1024 * 1024)
        data = wrap(SIMPLE).replace(b"From:", big.encode() + b"\r\nFrom:", 1)
        start = time.perf_counter()
        report = one(data)
        print(f"\n10 MB folded header: {time.perf_counter() - start:.2f}s")
        assert str(report.recipients[0].status) == "5.1.1"

    def test_two_million_header_lines(self) -> None:
        data = wrap(SIMPLE).replace(b"From:", b"X: 1\r\n" * (2 * 1024 * 1024) + b"From:", 1)
        start = time.perf_counter()
        report = one(data)
        print(f"\n2 million header lines (12 MB): {time.perf_counter() - start:.2f}s")
        assert str(report.recipients[0].status) == "5.1.1"

    def test_ten_megabyte_folded_field_in_the_report(self) -> None:
        big = "X-Big: " + "\n a" * (5 * 1024 * 1024)
        start = time.perf_counter()
        report = one(wrap(SIMPLE.replace("X-Custom: yes", big)))
        print(f"\n10 MB folded field: {time.perf_counter() - start:.2f}s")
        assert len(report.recipients[0].extensions[0][1]) == 10 * 1024 * 1024 - 1

    def test_ten_megabyte_diagnostic_code(self) -> None:
        body = SIMPLE.replace("550 5.1.1 <bob", "550 5.1.1 " + "é" * (5 * 1024 * 1024) + " <bob")
        start = time.perf_counter()
        rcpt = one(wrap(body, ctype="message/global-delivery-status")).recipients[0]
        assert rcpt.diagnostic_code is not None
        assert len(rcpt.diagnostic_code.value) > 5 * 1024 * 1024
        assert rcpt.diagnostic_reply is None
        print(f"\n10 MB Diagnostic-Code: {time.perf_counter() - start:.2f}s")
        long_reply = "550 5.1.1 " + "é" * 60_000
        rcpt.diagnostic_code = TypedValue("smtp", long_reply)
        assert rcpt.diagnostic_reply is not None

    def test_ten_megabyte_header_without_a_report(self) -> None:
        data = b"Subject: " + b"\xff" * (10 * 1024 * 1024) + b"\r\n\r\nbody\r\n"
        with pytest.raises(ReportSyntaxError):
            parse_reports(data)

    def test_ten_thousand_recipient_groups(self) -> None:
        group = "Final-Recipient: rfc822; user{}@example.org\nAction: failed\nStatus: 5.1.1\n"
        body = "Reporting-MTA: dns; mx\n" + "".join(
            "\n" + group.format(i) for i in range(10_000)
        )
        start = time.perf_counter()
        report = one(wrap(body))
        print(f"\n10,000 recipients: {time.perf_counter() - start:.2f}s")
        assert len(report.recipients) == 10_000
        assert report.recipients[-1].final_recipient == TypedValue(
            "rfc822", "user9999@example.org"
        )

    @staticmethod
    def nested(depth: int) -> bytes:
        head = "".join(
            f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'
            for i in range(depth)
        )
        tail = "".join(f"\r\n--b{i}--\r\n" for i in reversed(range(depth)))
        inner = "Content-Type: message/delivery-status\r\n\r\n" + SIMPLE.replace("\n", "\r\n")
        return (head + inner + tail).encode()

    def test_thousand_deep_nesting(self) -> None:
        data = self.nested(1000)
        start = time.perf_counter()
        report = one(data)
        print(f"\n1,000-deep nesting: {time.perf_counter() - start:.2f}s")
        assert str(report.recipients[0].status) == "5.1.1"
        assert report.warnings == [
            f"MIME parts nested deeper than {MAX_DEPTH} levels were not examined",
            "the message/delivery-status part was found by a text search: the MIME "
            "structure around it is broken",
        ]
        with pytest.raises(ReportSyntaxError) as info:
            parse_reports(data, strict=True)
        assert str(info.value) == (
            f"MIME parts nested deeper than {MAX_DEPTH} levels were not examined"
        )

    def test_thousand_deep_nesting_without_a_report(self) -> None:
        data = self.nested(1000).replace(b"message/delivery-status", b"text/plain")
        with pytest.raises(ReportSyntaxError) as info:
            parse_reports(data)
        assert str(info.value) == (
            "not a delivery status notification: the message has no message/delivery-status "
            f"or message/global-delivery-status part; MIME parts nested deeper than {MAX_DEPTH} "
            "levels were not examined"
        )

    def test_ten_megabytes_at_the_deepest_level_examined(self) -> None:
        pad = b"X-Pad: " + b"a" * (10 * 1024 * 1024) + b"\r\n"
        data = self.nested(MAX_DEPTH).replace(
            b"Content-Type: message/delivery-status", pad + b"Content-Type: message/delivery-status"
        )
        start = time.perf_counter()
        report = one(data)
        print(f"\n10 MB at nesting depth {MAX_DEPTH}: {time.perf_counter() - start:.2f}s")
        assert str(report.recipients[0].status) == "5.1.1"
        assert report.warnings == [
            "the message/delivery-status part is inside multipart/mixed, not multipart/report"
        ]

    def test_nesting_within_the_limit_is_read(self) -> None:
        report = one(self.nested(MAX_DEPTH))
        assert str(report.recipients[0].status) == "5.1.1"

    def test_thousand_deep_message_rfc822_nesting(self) -> None:
        data = b"Content-Type: message/rfc822\r\n\r\n" * 1000 + wrap(SIMPLE)
        assert str(one(data).recipients[0].status) == "5.1.1"
        with pytest.raises(ReportSyntaxError):
            parse_reports(data, strict=True)

    def test_thousand_deep_stdlib_message(self) -> None:
        shallow = email.message_from_bytes(self.nested(50))
        assert str(one(shallow).recipients[0].status) == "5.1.1"
        deep = email.message.Message()
        deep.set_type("multipart/mixed")
        node = deep
        for _ in range(1000):
            child = email.message.Message()
            child.set_type("multipart/mixed")
            node.attach(child)
            node = child
        with pytest.raises(ReportSyntaxError):
            parse_reports(deep)

    def test_many_loose_report_types(self) -> None:
        chunk = (
            "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
            "Final-Recipient: rfc822; a@b\nAction: failed\nStatus: 5.1.1\n" + "x: y\n" * 5000
        )
        data = ("Subject: pasted\n\n" + chunk * 200).encode()
        start = time.perf_counter()
        reports = parse_reports(data)
        print(f"\n200 pasted reports, {len(data) // 1024} KB: {time.perf_counter() - start:.2f}s")
        assert len(reports) == 100
        assert all(len(report.recipients) == 1 for report in reports)
        assert reports[0].warnings[0] == "only the first 100 delivery-status parts were read"

    def test_three_million_empty_parts(self) -> None:
        data = b"Content-Type: multipart/mixed; boundary=B\n\n" + b"--B\n" * 3_000_000
        start = time.perf_counter()
        with pytest.raises(ReportSyntaxError) as info:
            parse_reports(data)
        print(f"\n3 million empty parts: {time.perf_counter() - start:.2f}s")
        assert str(info.value).endswith(
            "; the message has more than 10000 MIME parts; the rest were skipped"
        )

    def test_many_parts(self) -> None:
        parts = "".join("--B\nContent-Type: text/plain\n\nx\n" for _ in range(20_000))
        data = ("Content-Type: multipart/mixed; boundary=B\n\n" + parts + "--B--\n").encode()
        with pytest.raises(ReportSyntaxError) as info:
            parse_reports(data)
        assert str(info.value).endswith(
            "; the message has more than 10000 MIME parts; the rest were skipped"
        )
