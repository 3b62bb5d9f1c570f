"""Robustness: every corpus file classifies, and arbitrary input never raises."""

from __future__ import annotations

from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtpdsn.classify import ClassifyResult, classify

MAILDIR = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "set-of-emails"
    / "maildir" / "bsd"
)
SAMPLES = sorted(MAILDIR.glob("*.eml")) if MAILDIR.exists() else []


def _check(result: ClassifyResult) -> None:
    assert isinstance(result, ClassifyResult)
    assert not [w for w in result.warnings if w.startswith("internal error")], result.warnings


@pytest.mark.skipif(not SAMPLES, reason="shared corpus not present")
def test_every_corpus_file_classifies() -> None:
    empty = []
    for path in SAMPLES:
        result = classify(path.read_bytes())
        _check(result)
        for bounce in result.recipients:
            assert bounce.reason.value
            assert bounce.hard_bounce in (True, False, None)
        if not result.recipients:
            empty.append(path.name)
    # Only a handful of samples defeat the detectors; keep it that way.
    assert len(empty) <= 15, empty


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(raw: bytes) -> None:
    _check(classify(raw))


_HEADER_VALUES = st.sampled_from(
    [
        "MAILER-DAEMON@example.net",
        "Mail Delivery Subsystem <mailer-daemon@example.org>",
        "Undelivered Mail Returned to Sender",
        "failure notice",
        "auto-replied",
        "",
        "=?utf-8?b?broken",
        "x" * 300,
    ]
)
_LINES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "<kijitora@example.jp>:",
                "550 5.1.1 User unknown",
                "Final-Recipient: rfc822; a@example.com",
                "Action: failed",
                "Status: 5.0.0",
                "Status: 9.9",
                "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full",
                "Original-Rcpt-To: x@example.com",
                "Feedback-Type: abuse",
                "--- Below this line is a copy of the message.",
                "",
            ]
        ),
        st.text(max_size=80),
    ),
    max_size=15,
)
_CTYPES = st.sampled_from(
    [
        ("text", "plain"),
        ("message", "delivery-status"),
        ("message", "feedback-report"),
        ("text", "rfc822-headers"),
        ("text", "html"),
    ]
)


@st.composite
def mime_trees(draw: st.DrawFn) -> Message:
    outer = MIMEMultipart(draw(st.sampled_from(["report", "mixed", "alternative"])))
    outer["From"] = draw(_HEADER_VALUES)
    outer["Subject"] = draw(_HEADER_VALUES)
    outer["Auto-Submitted"] = draw(_HEADER_VALUES)
    for _ in range(draw(st.integers(0, 4))):
        maintype, subtype = draw(_CTYPES)
        body = "\n".join(draw(_LINES))
        part = MIMEText(body, subtype)
        if maintype != "text":
            del part["Content-Type"]
            part["Content-Type"] = f"{maintype}/{subtype}"
        outer.attach(part)
    return outer


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mime_trees())
def test_arbitrary_mime_trees(msg: Message) -> None:
    _check(classify(msg))
    try:
        raw = msg.as_bytes()
    except (AttributeError, TypeError):  # the stdlib cannot flatten every tree it builds
        return
    _check(classify(raw))


@settings(max_examples=150, deadline=None)
@given(_HEADER_VALUES, _LINES)
def test_arbitrary_plain_text_bounces(sender: str, lines: list[str]) -> None:
    raw = f"From: {sender}\nSubject: failure notice\n\n" + "\n".join(lines)
    _check(classify(raw))
