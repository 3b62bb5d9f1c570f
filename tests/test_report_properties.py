"""Hypothesis properties of the report package.

* build -> bytes -> parse gives back exactly the records compose_report made, for
  generated outcomes whose text includes non-ASCII and runs of white space; every line
  of the message stays within 998 octets. Outcomes with CR/LF or control characters are
  refused by compose_report and build_report alike, with the same message.
* parse_reports on arbitrary bytes (and on damaged real reports) returns reports or raises
  ReportSyntaxError, never anything else, in lenient and strict mode.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpdsn.dsnparams import MailParams, RcptParams
from smtpdsn.reply import Reply
from smtpdsn.report import (
    Action,
    InvalidReportError,
    RecipientOutcome,
    ReportSyntaxError,
    TypedValue,
    build_report,
    compose_report,
    parse_reports,
)
from smtpdsn.report.checks import check_sender
from smtpdsn.report.fields import RawField, clean_text, fold_field, is_clean, split_groups

ORIGINAL = b"From: a@example.com\r\nSubject: test\r\n\r\nbody\r\n"

HOSTILE = st.sampled_from(
    [
        "\r\nBcc: victim@example.com",
        "\n\nFinal-Recipient: rfc822; x@y\nAction: delivered\n",
        "\r",
        "\x00\x1b[31m\x7f",
        "\u2028\u2029\x85",
        "é ü 日本語 🙂",
        "--=_smtpdsn_",
        "\ud800",
        " " * 10,
        "x" * 1200,
    ]
)
TEXT = st.one_of(st.text(max_size=80), HOSTILE, st.lists(HOSTILE | st.text(max_size=10),
                                                          max_size=5).map("".join))
ADDRESS = st.one_of(
    st.from_regex(r"[a-z0-9.+=_-]{1,20}@[a-z0-9.-]{1,20}", fullmatch=True),
    st.text(min_size=1, max_size=40),
    st.tuples(HOSTILE, st.text(max_size=5)).map(lambda t: "a" + t[0] + t[1]),
).filter(lambda a: len(a) <= 60)
ZONES = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
DATES = st.datetimes(
    min_value=datetime(1901, 1, 1), max_value=datetime(9998, 12, 31), timezones=ZONES
)
NOTIFY = st.one_of(
    st.none(),
    st.just(frozenset({"NEVER"})),
    st.sets(st.sampled_from(["SUCCESS", "DELAY", "FAILURE"]), min_size=1).map(frozenset),
)
def _valid_orcpt(orcpt: tuple[str, str]) -> bool:
    try:
        RcptParams(orcpt=orcpt)
    except ValueError:
        return False
    return True


# RcptParams refuses control characters in ORCPT, so only printable ones get this far.
ORCPT = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["rfc822", "utf-8", "RFC822", "x400", "unknown"]), ADDRESS).filter(
        _valid_orcpt
    ),
)


@st.composite
def replies(draw: st.DrawFn) -> Reply:
    code = draw(st.sampled_from([250, 251, 421, 450, 451, 452, 550, 551, 552, 553, 554]))
    status = draw(st.sampled_from([None, f"{code // 100}.1.1", f"{code // 100}.7.26",
                                   f"{code // 100}.0.0", f"{code // 100}.4.650"]))
    lines = draw(st.lists(TEXT, min_size=1, max_size=3))
    return Reply(code, status, lines, utf8=draw(st.booleans()))


@st.composite
def outcomes(draw: st.DrawFn) -> RecipientOutcome:
    reply = draw(st.none() | replies())
    action = draw(st.none() | st.sampled_from(list(Action)))
    status = draw(st.none() | st.sampled_from(["5.1.1", "4.4.1", "2.0.0", "5.7.606"]))
    if reply is None and action is None and status is None:
        action = Action.FAILED
    diagnostic = draw(st.one_of(
        st.none(), TEXT, st.builds(TypedValue, st.sampled_from(["smtp", "X-Unix"]), TEXT)
    ))
    outcome = RecipientOutcome(
        draw(ADDRESS),
        reply,
        action=action,
        status=status,
        diagnostic=diagnostic,
        params=RcptParams(notify=draw(NOTIFY), orcpt=draw(ORCPT)),
        remote_mta=draw(st.none() | TEXT),
        last_attempt_date=draw(st.none() | DATES),
        final_log_id=draw(st.none() | TEXT),
        extensions=draw(st.lists(st.tuples(
            st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True), TEXT), max_size=2)),
    )
    return outcome


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(outcomes(), min_size=1, max_size=4),
    sender=ADDRESS.filter(lambda a: a.isprintable() and " " not in a and "\t" not in a),
    # Inner runs of spaces are kept exactly (RFC 3461 section 6.3); readers trim the ends.
    envid=st.none() | st.from_regex(r"[!-~](?:[ -~]{0,28}[!-~])?", fullmatch=True),
    ret=st.sampled_from([None, "FULL", "HDRS"]),
    arrival=st.none() | DATES,
    received=st.none() | TEXT,
    smtputf8=st.booleans(),
)
def test_build_then_parse_gives_equal_records(
    items: list[RecipientOutcome],
    sender: str,
    envid: str | None,
    ret: str | None,
    arrival: datetime | None,
    received: str | None,
    smtputf8: bool,
) -> None:
    if not smtputf8 and not sender.isascii():
        sender = "a@example.com"
    try:
        check_sender(sender)
    except InvalidReportError:  # e.g. "a,b@c" would read as two addresses in To
        sender = "a@example.com"
    kwargs: dict[str, object] = {
        "smtputf8": smtputf8,
        "sender": sender,
        "reporting_mta": "mx.example.net",
        "mail_params": MailParams(ret=ret, envid=envid),  # type: ignore[arg-type]
        "arrival_date": arrival,
        "received_from_mta": received,
    }
    try:
        expected = compose_report(items, **kwargs)  # type: ignore[arg-type]
    except InvalidReportError as exc:
        # A value with a line break or control character (or an unusable address) is
        # refused, by build_report too, with the same message.
        with pytest.raises(InvalidReportError) as info:
            build_report(ORIGINAL, items, **kwargs)  # type: ignore[arg-type]
        assert str(info.value) == str(exc)
        return
    msg = build_report(ORIGINAL, items, date=datetime(2026, 1, 1, tzinfo=UTC),
                       **kwargs)  # type: ignore[arg-type]
    if expected is None:
        assert msg is None
        return
    assert msg is not None
    data = bytes(msg)
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    if not smtputf8:
        assert data.isascii() and not expected.is_global
    for rcpt in expected.recipients:
        orcpt = rcpt.original_recipient
        if orcpt is not None:
            # Written with the ORCPT's own type ("RFC822"); a reader lower-cases types.
            assert f"Original-Recipient: {orcpt}".encode() in data.replace(b"\r\n ", b" ")
            rcpt.original_recipient = TypedValue(orcpt.type.lower(), orcpt.value)
    assert parse_reports(data, strict=True) == [expected]
    assert parse_reports(data.replace(b"\r\n", b"\n"), strict=True) == [expected]


@settings(max_examples=1000, deadline=None)
@given(TEXT | st.text(max_size=3000))
def test_clean_text_is_idempotent_and_foldable(text: str) -> None:
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned and is_clean(cleaned)
    assert is_clean(text) == (cleaned == text)
    assert all(len(word.encode("utf-8")) <= 900 for word in cleaned.split(" "))
    lines = fold_field("X-Field", cleaned)
    assert all(len(line.encode("utf-8")) <= 998 for line in lines)
    assert "".join(lines)[len("X-Field: "):] == cleaned or cleaned == ""


SAMPLE = build_report(
    ORIGINAL,
    [RecipientOutcome("b@example.org", Reply(550, "5.1.1", "No such user"),
                      remote_mta="mx.example.org"),
     RecipientOutcome("c@example.org", status="4.4.1", action=Action.DELAYED)],
    sender="a@example.com",
    reporting_mta="mx.example.net",
    mail_params=MailParams(envid="E1"),
)
assert SAMPLE is not None
SAMPLE_BYTES = bytes(SAMPLE)


def _parse_or_refuse(data: bytes) -> None:
    for strict in (False, True):
        try:
            reports = parse_reports(data, strict=strict)
        except ReportSyntaxError as exc:
            assert str(exc)
        else:
            assert reports and all(r.recipients for r in reports)
            for report in reports:
                for rcpt in report.recipients:
                    _ = rcpt.diagnostic_reply  # never raises either
                    if rcpt.final_recipient is not None:
                        _ = rcpt.final_recipient.address


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_parse_or_raise_the_documented_error(data: bytes) -> None:
    _parse_or_refuse(data)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=500))
def test_arbitrary_text_parse_or_raise_the_documented_error(text: str) -> None:
    for strict in (False, True):
        with contextlib.suppress(ReportSyntaxError):
            parse_reports(text, strict=strict)
    payload = (
        "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        "Final-Recipient: rfc822; " + text + "\nAction: failed\nStatus: 5.1.1\n"
    )
    with contextlib.suppress(ReportSyntaxError):
        parse_reports(payload)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(SAMPLE_BYTES)),
                  st.integers(min_value=0, max_value=40), st.binary(max_size=20)),
        min_size=1, max_size=8,
    )
)
def test_damaged_reports_parse_or_raise_the_documented_error(
    edits: list[tuple[int, int, bytes]],
) -> None:
    data = bytearray(SAMPLE_BYTES)
    for at, cut, insert in edits:
        data[at : at + cut] = insert
    _parse_or_refuse(bytes(data))


FIELD_LINES = st.sampled_from(
    [
        "Reporting-MTA: dns; mx", "Final-Recipient: rfc822; a@b", "Action: failed",
        "Action: expired", "Status: 5.1.1 (x)", "Status: 9.9", "Diagnostic-Code: smtp; 550 x",
        "Diagnostic-Code: smtp; 550-5.1.1 a 550 5.1.1 b", "Arrival-Date: x",
        "Last-Attempt-Date: Thu, 1 Jan 2026 00:00:00 +0000", " folded", "", "junk",
        "Original-Recipient: utf-8; a\\x{", "Final-Recipient: utf-8; \\x{D800}@x",
        "Will-Retry-Until: Thu, 99 Jan 2026 00:00:00 +0000", "ction: failed",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(FIELD_LINES | st.text(max_size=30), max_size=30))
def test_arbitrary_delivery_status_bodies(lines: list[str]) -> None:
    body = "\r\n".join(lines)
    data = (
        "Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n" + body + "\r\n--B--\r\n"
    ).encode("utf-8", "surrogatepass")
    _parse_or_refuse(data)


JUNK = st.one_of(
    st.none(), st.integers(), st.binary(max_size=5), st.text(max_size=5), st.just(object()),
    st.just(("a", "b")), st.just([("X-A", 1)]), st.just(TypedValue(1, 2)),  # type: ignore[arg-type]
    st.just(datetime(2026, 1, 1)), st.just(Action.FAILED), st.just("failed"),
    st.just(Reply(550, "5.1.1", "x")), st.just(RcptParams()), st.just(MailParams()),
)


@settings(max_examples=500, deadline=None)
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            name: JUNK
            for name in ("reply", "action", "status", "diagnostic", "params", "remote_mta",
                         "last_attempt_date", "will_retry_until", "final_log_id", "extensions")
        },
    ),
    recipient=JUNK,
    kwargs=st.fixed_dictionaries(
        {},
        optional={
            name: JUNK
            for name in ("mail_params", "arrival_date", "received_from_mta", "dsn_gateway",
                         "default_notify", "date", "message_id", "extensions")
        },
    ),
    sender=JUNK,
    reporting_mta=st.one_of(JUNK, st.just("mx.example.net")),
)
def test_any_input_builds_or_raises_the_documented_error(
    fields: dict[str, object],
    recipient: object,
    kwargs: dict[str, object],
    sender: object,
    reporting_mta: object,
) -> None:
    outcome = RecipientOutcome(recipient, **fields)  # type: ignore[arg-type]
    try:
        msg = build_report(ORIGINAL, [outcome], sender=sender,  # type: ignore[arg-type]
                           reporting_mta=reporting_mta, **kwargs)  # type: ignore[arg-type]
    except InvalidReportError as exc:
        assert str(exc)
    else:
        if msg is not None:
            parse_reports(bytes(msg))


def _reference_split_groups(
    text: str,
) -> tuple[list[list[RawField]], list[tuple[int, str, str | None]]]:
    """split_groups written plainly, one physical line at a time (no fast path)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    groups: list[list[RawField]] = []
    junk: list[tuple[int, str, str | None]] = []
    fields: list[RawField] = []
    lines = text.split("\n")
    start = 0
    parts: list[str] = []

    def flush() -> None:
        unfolded = "".join(parts)
        m = re.fullmatch(r"([!-9;-~]+)[ \t]*:(.*)", unfolded, re.DOTALL)
        if m is not None:
            fields.append(RawField(start, m[1], m[2].strip(" \t"), m[1].lower()))
        elif unfolded.strip(" \t"):
            if fields and not unfolded.startswith("--"):
                last = fields[-1]
                fields[-1] = last._replace(
                    value=(last.value + " " + unfolded.strip(" \t")).strip(" \t"))
                junk.append((start, unfolded, last.name))
            else:
                junk.append((start, unfolded, None))

    for index, physical in enumerate(lines):
        if 0 < index < len(lines) - 1 and not physical.strip(" \t"):  # a blank line
            if parts:
                flush()
                parts = []
            if fields:
                groups.append(fields)
                fields = []
            continue
        if parts and physical[:1] in (" ", "\t"):
            parts.append(physical)  # folded
            continue
        if parts:
            flush()
        start, parts = index + 1, [physical]
    if parts:
        flush()
    if fields:
        groups.append(fields)
    return groups, junk


PIECES = st.sampled_from(["\n", "\r\n", "\r", " ", "\t", "A", "a-b", ":", ";", "--", "x",
                          "Status: 5.1.1", "é", "\n \n", "\n\t", " \n", "\nB: c", "\n\n"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(PIECES, max_size=20).map("".join))
def test_split_groups_agrees_with_a_plain_line_by_line_reader(text: str) -> None:
    assert split_groups(text) == _reference_split_groups(text)
