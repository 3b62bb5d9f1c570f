"""The public API of smtpdsn.classify: inputs, results, reasons, hard or soft."""

from __future__ import annotations

import io
from email.message import Message

import pytest

from smtpdsn import EnhancedStatus
from smtpdsn.classify import Action, Bounce, ClassifyResult, Reason, classify
from smtpdsn.classify.hardsoft import is_hard_bounce
from smtpdsn.classify.reasons import PHRASES, STATUS_REASONS, reason_from_status, reason_from_text

QMAIL = (
    b"From: MAILER-DAEMON@mx.example.net\n"
    b"To: sender@example.org\n"
    b"Subject: failure notice\n\n"
    b"Hi. This is the qmail-send program at mx.example.net.\n"
    b"I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
    b"<kijitora@example.jp>:\n"
    b"192.0.2.1 does not like recipient.\n"
    b"Remote host said: 550 5.1.1 <kijitora@example.jp>... User Unknown\n\n"
    b"--- Below this line is a copy of the message.\n\n"
    b"From: sender@example.org\nTo: kijitora@example.jp\n\nhello\n"
)

DSN = (
    b"From: MAILER-DAEMON@mx.example.net\n"
    b"To: sender@example.org\n"
    b"Subject: Undelivered Mail Returned to Sender\n"
    b"MIME-Version: 1.0\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
    b"--B\nContent-Type: text/plain\n\nThe mail system\n\n"
    b"--B\nContent-Type: message/delivery-status\n\n"
    b"Reporting-MTA: dns; mx.example.net\n\n"
    b"Final-Recipient: rfc822; full@example.com\n"
    b"Action: failed\n"
    b"Status: 5.0.0\n"
    b"Diagnostic-Code: smtp; 552 5.2.2 Mailbox full\n\n"
    b"Final-Recipient: rfc822; later@example.com\n"
    b"Action: delayed\n"
    b"Status: 4.4.1\n\n"
    b"--B--\n"
)


class TestInputs:
    def test_bytes(self) -> None:
        result = classify(QMAIL)
        assert isinstance(result, ClassifyResult)
        assert [b.recipient for b in result.recipients] == ["kijitora@example.jp"]

    def test_str_file_and_message(self) -> None:
        import email

        expected = classify(QMAIL).recipients
        assert classify(QMAIL.decode()).recipients == expected
        assert classify(io.BytesIO(QMAIL)).recipients == expected
        assert classify(io.StringIO(QMAIL.decode())).recipients == expected
        msg = email.message_from_bytes(QMAIL)
        assert isinstance(msg, Message)
        assert classify(msg).recipients == expected

    def test_wrong_type_is_a_type_error(self) -> None:
        with pytest.raises(TypeError, match="classify\\(\\) takes bytes"):
            classify(42)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "raw",
        [
            b"",
            b"hello",
            b"From: alice@example.com\nTo: bob@example.com\nSubject: lunch?\n\nnoon?\n",
            b"\x00\xff\xfe garbage \r\n\r\n",
        ],
    )
    def test_not_a_bounce_is_empty(self, raw: bytes) -> None:
        result = classify(raw)
        assert result.recipients == []
        assert not result


class TestResult:
    def test_qmail_fields(self) -> None:
        (bounce,) = classify(QMAIL).recipients
        assert isinstance(bounce, Bounce)
        assert bounce.status == EnhancedStatus.parse("5.1.1")
        assert bounce.reply_code == 550
        assert bounce.reason is Reason.USERUNKNOWN
        assert bounce.hard_bounce is True
        assert bounce.action is Action.FAILED
        assert bounce.mta == "qmail"
        assert bounce.detector == "text"
        assert "User Unknown" in bounce.diagnostic

    def test_dsn_vague_status_refined_by_diagnostic(self) -> None:
        full, later = classify(DSN).recipients
        assert (full.recipient, str(full.status), full.reason) == (
            "full@example.com", "5.2.2", Reason.MAILBOXFULL,
        )
        assert full.status_source == "diagnostic"
        assert full.hard_bounce is False
        assert later.action is Action.DELAYED
        assert str(later.status) == "4.4.1"
        assert later.detector == "rfc3464"

    def test_as_dict_is_json_ready(self) -> None:
        import json

        data = classify(QMAIL).recipients[0].as_dict()
        assert json.loads(json.dumps(data))["reason"] == "userunknown"

    def test_auto_reply(self) -> None:
        raw = (
            b"From: Kijitora <kijitora@example.org>\nTo: neko@example.com\n"
            b"Auto-Submitted: auto-replied\nSubject: Out of office\n\nI am away until May.\n"
        )
        (bounce,) = classify(raw).recipients
        assert (bounce.recipient, bounce.reason, bounce.hard_bounce) == (
            "kijitora@example.org", Reason.VACATION, None,
        )


class TestReasonTable:
    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("550 5.1.1 <a@b.example>: Recipient address rejected: User unknown", "userunknown"),
            ("552 5.2.2 Mailbox full", "mailboxfull"),
            ("Host or domain name not found", "hostunknown"),
            ("554 5.7.1 Service unavailable; client host blocked using zen.spamhaus.org",
             "blocked"),
            ("550 5.7.26 Unauthenticated email is not accepted: DMARC policy", "authfailure"),
            ("554 5.7.1 Relay access denied", "norelaying"),
            ("Message rejected as spam", "spamdetected"),
            ("connect to mx.example.org[192.0.2.1]:25: Connection timed out", "expired"),
        ],
    )
    def test_phrases(self, text: str, reason: str) -> None:
        assert reason_from_text(text) == Reason(reason)

    def test_every_row_names_a_reason_and_compiles(self) -> None:
        import re

        for reason, pattern in PHRASES:
            assert isinstance(reason, Reason)
            re.compile(pattern)
        assert all(isinstance(r, Reason) for r in STATUS_REASONS.values())

    def test_status_rules(self) -> None:
        assert reason_from_status(EnhancedStatus.parse("5.1.1")) is Reason.USERUNKNOWN
        assert reason_from_status(EnhancedStatus.parse("4.2.2")) is Reason.MAILBOXFULL
        assert reason_from_status(EnhancedStatus.parse("2.0.0")) is Reason.DELIVERED
        assert reason_from_status(EnhancedStatus.parse("5.0.0")) is None
        assert reason_from_status(None) is None

    def test_vocabulary_matches_the_reference(self) -> None:
        from pathlib import Path

        path = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference"
        tsv = path / "bounce-reasons.tsv"
        if not tsv.exists():
            pytest.skip("shared reference not present")
        rows = [line.split("\t") for line in tsv.read_text().splitlines()[1:]]
        names_2025 = {r[0] for r in rows if len(r) > 3 and r[3] == "yes"}
        assert {r.value for r in Reason} == names_2025


class TestHardSoft:
    def test_rules(self) -> None:
        s5 = EnhancedStatus.parse("5.1.10")
        s4 = EnhancedStatus.parse("4.0.0")
        assert is_hard_bounce(Reason.USERUNKNOWN, None, None) is True
        assert is_hard_bounce(Reason.MAILBOXFULL, None, 552) is False
        assert is_hard_bounce(Reason.NOTACCEPT, s5, None) is True
        assert is_hard_bounce(Reason.NOTACCEPT, s4, None) is False
        assert is_hard_bounce(Reason.FEEDBACK, None, None) is None


# Realistic notices written for these tests (not from the corpus): the rules must
# generalise beyond the samples they were tuned on.
REALISTIC = [
    (
        b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
        b"To: sender@gmail.com\nSubject: Delivery Status Notification (Failure)\n"
        b"X-Failed-Recipients: full@example.com\n\n"
        b"** Address not found **\n\nYour message wasn't delivered to full@example.com.\n\n"
        b"The response was:\n\n552 5.2.2 The email account that you tried to reach is over"
        b" quota.\n",
        ("full@example.com", "5.2.2", 552, "mailboxfull", False),
    ),
    (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: s@example.org\n"
        b"Subject: Mail delivery failed: returning message to sender\n\n"
        b"The following address(es) failed:\n\n  bob@example.com\n"
        b"    SMTP error from remote mail server after RCPT TO:<bob@example.com>:\n"
        b"    554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using"
        b" zen.spamhaus.org\n",
        ("bob@example.com", "5.7.1", 554, "blocked", False),
    ),
    (
        b"From: MAILER-DAEMON@yahoo.com\nTo: s@example.org\nSubject: Failure Notice\n\n"
        b"Sorry, we were unable to deliver your message to the following address.\n\n"
        b"<alice@yahoo.com>:\n554: 5.7.9 Message not accepted for policy reasons.\n",
        ("alice@yahoo.com", "5.7.9", 554, "policyviolation", False),
    ),
    (
        b"From: postmaster@outlook.com\nTo: s@example.org\nSubject: Undeliverable: test\n\n"
        b"Delivery has failed to these recipients or groups:\n\ncarol@outlook.com\n"
        b"550 5.7.509 Access denied, sending domain example.org does not pass DMARC"
        b" verification and has a DMARC policy of reject.\n",
        ("carol@outlook.com", "5.7.509", 550, "authfailure", False),
    ),
    (
        b"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\nTo: s@example.org\n"
        b"Subject: Undelivered Mail Returned to Sender\n\n"
        b"This is the mail system at host mx.example.org.\n\n"
        b"<gone@example.net>: host mx.example.net[192.0.2.1] said: 550 5.1.1"
        b" <gone@example.net>: Recipient address rejected: User unknown in virtual mailbox"
        b" table (in reply to RCPT TO command)\n",
        ("gone@example.net", "5.1.1", 550, "userunknown", True),
    ),
]


@pytest.mark.parametrize(("raw", "expected"), REALISTIC)
def test_realistic_notices(raw: bytes, expected: tuple[str, str, int, str, bool]) -> None:
    (bounce,) = classify(raw).recipients
    got = (bounce.recipient, str(bounce.status), bounce.reply_code, bounce.reason.value,
           bounce.hard_bounce)
    assert got == expected
