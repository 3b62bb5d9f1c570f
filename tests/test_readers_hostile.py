"""Hostile input for every message reader: classify never raises, the report readers
return or raise ReportSyntaxError, the MIME reader returns; each finishes well under a
generous hang bound (these are hang detectors, not speed tests)."""

from __future__ import annotations

import contextlib
import email
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpdsn import mime
from smtpdsn.classify import ClassifyResult, classify
from smtpdsn.report import DeliveryReport, ReportSyntaxError, parse_delivery_status, parse_reports

#: Seconds: far above what any of these takes (well under a second each on a loaded
#: two-core machine), far below "hangs".
HANG_BOUND = 20.0
HEAD = b"From: MAILER-DAEMON@mx.example.net\nTo: a@example.org\nSubject: failure notice\n"
FAILED = b"<x@example.net>: 550 5.1.1 no such user\n"


def nested_multipart(depth: int) -> bytes:
    head = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i)
                    for i in range(depth))
    tail = b"".join(b"\n--b%d--\n" % i for i in reversed(range(depth)))
    return HEAD + head + b"Content-Type: text/plain\n\n" + FAILED + tail


HOSTILE: dict[str, bytes] = {
    "1,000-deep multipart": nested_multipart(1000),
    "1,000-deep message/rfc822": HEAD + b"Content-Type: message/rfc822\n\n" * 1000 + FAILED,
    "1,000-deep DSN in returned messages": HEAD + (
        b"Content-Type: message/rfc822\n\n" * 1000
        + b"Content-Type: message/delivery-status\n\nFinal-Recipient: rfc822; x@y.z\n"
        b"Action: failed\nStatus: 5.1.1\n"),
    "bad charset in encoded words": (
        b"From: =?x-no-such-charset?q?a?= <MAILER-DAEMON@mx.example.net>\n"
        b"To: =?\xff\xfe?B?YWJj?= a@example.org\n"
        b"Subject: =?utf-8?q?failure=?= =?unknown-8bit?q?=E9?= =?bad charset?Q?x?=\n\n"
        + FAILED),
    "1 MB Content-Type, 200,000 parameters": (
        HEAD + b"Content-Type: multipart/report" + b"; a=b" * 200_000
        + b"; boundary=x\n\n--x\n\n" + FAILED + b"--x--\n"),
    "200,000 RFC 2231 sections": (
        HEAD + b"Content-Type: text/plain" + b"; n*1*=x" * 200_000 + b"\n\n" + FAILED),
    "CR line ends only": (HEAD + b"\n" + FAILED).replace(b"\n", b"\r"),
    "a megabyte of boundaries": (
        HEAD + b"Content-Type: multipart/mixed; boundary=x\n\n" + b"--x\n" * 250_000),
}


def _timed(fn: Callable[[], object]) -> object:
    start = time.perf_counter()
    result = fn()
    assert time.perf_counter() - start < HANG_BOUND
    return result


def _reports(data: bytes | str) -> list[DeliveryReport]:
    try:
        return parse_reports(data)
    except ReportSyntaxError:
        return []


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_messages(name: str) -> None:
    data = HOSTILE[name]
    result = _timed(lambda: classify(data))
    assert isinstance(result, ClassifyResult)
    assert isinstance(_timed(lambda: _reports(data)), list)
    assert isinstance(_timed(lambda: mime.parse(data)), mime.Entity)


def test_deep_nesting_still_finds_the_recipient_and_says_what_was_cut() -> None:
    result = classify(HOSTILE["1,000-deep multipart"])
    assert [b.recipient for b in result.recipients] == ["x@example.net"]
    assert any("nested deeper than" in w for w in result.warnings)


def test_bad_charsets_keep_the_header_text() -> None:
    result = classify(HOSTILE["bad charset in encoded words"])
    assert [b.recipient for b in result.recipients] == ["x@example.net"]


@pytest.mark.parametrize("text", ["550 5.1.1 \udcff", "\ud800", "Subject: \udcfe\n\n\x00"])
def test_str_with_lone_surrogates(text: str) -> None:
    assert isinstance(classify(text), ClassifyResult)
    assert isinstance(_reports(text), list)


_PIECES = st.sampled_from([
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\n",
    b"Content-Type: multipart/mixed; boundary=\"b\"\n", b"Content-Type: message/rfc822\n",
    b"Content-Type: message/delivery-status\n", b"Content-Type: message/global\n",
    b"Content-Type: message/global-delivery-status\n", b"Content-Type: text/rfc822-headers\n",
    b"Content-Type: message/feedback-report\n", b"Content-Type: text/html; charset=bogus\n",
    b"Content-Transfer-Encoding: base64\n", b"Content-Transfer-Encoding: quoted-printable\n",
    b"--b\n", b"--b--\n", b"\n", b"\r\n", b"\r", b"From: MAILER-DAEMON@x.example\n",
    b"Subject: =?utf-8?q?Undelivered=20Mail?=\n", b"Subject: =?bogus?q?x?=\n",
    b"To: list-bounces+a=example.org@lists.example.net\n", b"X-Failed-Recipients: f@x.y\n",
    b"Final-Recipient: rfc822; a@example.com\n", b"Final-Recipient: system;<>\n",
    b"Original-Recipient: rfc822;b@example.com\n", b"Action: delayed\n", b"Action: failed\n",
    b"Status: 5.1.10\n", b"Status: 4.4.7\n", b"Status: 9.9\n", b"Reporting-MTA: dns; mx\n",
    b"Diagnostic-Code: smtp; 550 5.7.606 Access denied\n", b"<a@example.com>:\n",
    b"550 5.1.1 User unknown\n", b"Feedback-Type: abuse\n", b"QUJD=\n", b" folded\n",
    b"----- The following addresses had permanent fatal errors -----\n", b"\xff\xfe\x00\n",
])
MESSAGES = st.lists(_PIECES | st.binary(max_size=40), max_size=50).map(b"".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_every_reader_returns_or_raises_the_documented_error(data: bytes) -> None:
    result = classify(data)
    assert isinstance(result, ClassifyResult)
    for bounce in result.recipients:
        assert "\n" not in bounce.diagnostic and "\r" not in bounce.diagnostic
    assert isinstance(classify(data.decode("latin-1")), ClassifyResult)
    assert isinstance(_reports(data), list)
    for body in (data, data.decode("utf-8", "surrogateescape")):
        with contextlib.suppress(ReportSyntaxError):
            assert isinstance(parse_delivery_status(body), DeliveryReport)
    root = mime.parse(data)
    for entity in root.walk():
        entity.text()
        _ = entity.filename


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_classify_of_a_parsed_message_object(data: bytes) -> None:
    assert isinstance(classify(email.message_from_bytes(data)), ClassifyResult)
