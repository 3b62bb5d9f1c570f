"""Provider rules, Gmail's "(state N)" stages and the keyword pre-checks.

The notices below are written for these tests (not corpus samples): each provider rule is
exercised with the provider recognised, and again with the same words from an unknown
host, where the generic rules must decide.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdsn.classify import Reason, classify
from smtpdsn.classify.families import FAMILIES
from smtpdsn.classify.prefilter import KeywordScanner, Prechecked, literal_factors
from smtpdsn.classify.providers import PROVIDER_RULES, gmail_state
from smtpdsn.classify.reasons import PHRASES


def _dsn(recipient: str, remote: str, diagnostic: str, status: str = "5.0.0") -> bytes:
    return (
        "From: MAILER-DAEMON@relay.example.net\n"
        "To: sender@example.org\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nThe mail system\n\n"
        "--B\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; relay.example.net\n\n"
        f"Final-Recipient: rfc822; {recipient}\n"
        "Action: failed\n"
        f"Status: {status}\n"
        f"Remote-MTA: dns; {remote}\n"
        f"Diagnostic-Code: smtp; {diagnostic}\n\n"
        "--B--\n"
    ).encode()


def _reason(raw: bytes) -> Reason:
    [bounce] = classify(raw).recipients
    return bounce.reason


@pytest.mark.parametrize(
    ("recipient", "remote", "diagnostic", "status", "expected"),
    [
        # KDDI: an empty address is the domain filter, an address an unknown user.
        ("neko@ezweb.ne.jp", "lsean.ezweb.ne.jp", "550 : User unknown", "5.0.0",
         Reason.FILTERED),
        ("neko@au.com", "msmx.au.com", "550 <neko@au.com>: User unknown", "5.0.0",
         Reason.USERUNKNOWN),
        # NTT docomo: "Unknown user" after DATA with 5.0.0 refuses the sender.
        ("neko@docomo.ne.jp", "mfsmax.docomo.ne.jp",
         "550 Unknown user neko@docomo.ne.jp (in reply to end of DATA command)", "5.0.0",
         Reason.REJECTED),
        ("neko@docomo.ne.jp", "mfsmax.docomo.ne.jp", "550 Unknown user neko@docomo.ne.jp",
         "5.2.0", Reason.FILTERED),
        # Yahoo's documented "dd This user doesn't have a yahoo.com account".
        ("nobody@yahoo.com", "mta7.am0.yahoodns.net",
         "554 delivery error: dd This user doesn't have a yahoo.com account "
         "(nobody@yahoo.com) [0] - mta1001.mail.gq1.yahoo.com", "5.0.0", Reason.USERUNKNOWN),
        # Orange's error codes.
        ("neko@orange.fr", "smtp-in.orange.fr",
         "550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]", "5.2.0", Reason.SPAMDETECTED),
        ("neko@wanadoo.fr", "smtp.wanadoo.fr",
         "550 5.5.0 Adresse destinataire invalide. Invalid recipient. LPN007_416", "5.5.0",
         Reason.USERUNKNOWN),
        # Cox's own block list.
        ("neko@cox.net", "cxr.mx.a.cloudfilter.net",
         "550 5.1.0 <b@example.org> sender rejected. AUP#CDRBL", "5.1.0", Reason.BLOCKED),
        # Outlook.com's reply for an address that does not exist.
        ("neko@hotmail.com", "mx1.hotmail.com",
         "550 Requested action not taken: mailbox unavailable", "5.5.0", Reason.USERUNKNOWN),
    ],
)
def test_provider_rules(
    recipient: str, remote: str, diagnostic: str, status: str, expected: Reason
) -> None:
    assert _reason(_dsn(recipient, remote, diagnostic, status)) is expected


def test_provider_words_elsewhere_follow_the_generic_rules() -> None:
    # The same replies from a host of no listed provider: the generic rules decide (a
    # "no such user" with no sign of RCPT and no 5.1.x status is the recipient's filter).
    assert _reason(_dsn("a@example.jp", "mx.example.jp", "550 <a@example.jp>: User unknown")) \
        is Reason.FILTERED
    assert _reason(_dsn("a@example.jp", "mx.example.jp",
                        "550 Unknown user a@example.jp (in reply to end of DATA command)")) \
        is Reason.FILTERED
    assert _reason(_dsn("a@example.jp", "mx.example.jp",
                        "550 5.1.1 <a@example.jp>: User unknown", "5.1.1")) is (
        Reason.USERUNKNOWN
    )
    assert _reason(_dsn("a@example.jp", "mx.example.jp",
                        "550 Requested action not taken: mailbox unavailable",
                        "5.5.0")) is not Reason.USERUNKNOWN


def test_status_comment_decides_an_ambiguous_no_such_user() -> None:
    raw = _dsn("a@example.jp", "mx.example.jp", "550 5.2.1 <a@example.jp>... User Unknown",
               "5.2.1 (mailbox disabled, not accepting messages)")
    assert _reason(raw) is Reason.SUSPEND


GMAIL = (
    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
    "To: sender@gmail.com\n"
    "Subject: Delivery Status Notification (Failure)\n\n"
    "Delivery to the following recipient failed permanently:\n\n"
    "     neko@example.jp\n\n"
    "Technical details of permanent failure:\n"
    "Google tried to deliver your message, but it was rejected by the recipient domain. "
    "The error that the other server returned was: {reply}\n"
)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("500 Remote server does not support TLS (state 6).", Reason.FAILEDSTARTTLS),
        ("554 554 5.7.0 Header error (state 18).", Reason.FILTERED),
        ("550 550 5.1.1 <neko@example.jp>... User unknown (state 14).", Reason.USERUNKNOWN),
        ("450 450 4.2.2 <neko@example.jp>... Mailbox Full (state 14).", Reason.MAILBOXFULL),
        ("550 550 5.7.1 <neko@example.jp>... Access denied (state 13).",
         Reason.SECURITYERROR),
        ("550 550 5.7.1 Client host blocked using cbl.abuseat.org (state 13).",
         Reason.BLOCKED),
    ],
)
def test_gmail_states(reply: str, expected: Reason) -> None:
    [bounce] = classify(GMAIL.format(reply=reply).encode()).recipients
    assert bounce.mta == "gmail"
    assert bounce.reason is expected


def test_gmail_doubled_reply_code_keeps_its_status() -> None:
    reply = "550 550 5.7.1 <neko@example.jp>... Access denied (state 13)."
    [bounce] = classify(GMAIL.format(reply=reply).encode()).recipients
    assert str(bounce.status) == "5.7.1"
    assert bounce.reply_code == 550


def test_gmail_state_table() -> None:
    assert gmail_state("no state here") is None
    assert gmail_state("... (state 99).") is None
    assert gmail_state("500 x (state 6).") is not None


# -- keyword pre-checks ----------------------------------------------------------------------

ALL_PATTERNS = (
    [p for _, p in PHRASES]
    + [p for _, p in FAMILIES]
    + [r.text for r in PROVIDER_RULES]
    + [r.hosts for r in PROVIDER_RULES]
)


def test_factors_of_simple_patterns() -> None:
    assert literal_factors(r"user unknown|no such user") == ("no such user", "user unknown")
    assert literal_factors(r"(?:abc|de)x") is None  # "de" and "x" are too short
    assert literal_factors(r"\bspam") == ("spam",)
    assert literal_factors(r"(?:optional)?") is None
    assert literal_factors(r"(?i)spam") is None  # flags are not followed


CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "set-of-emails"


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not present")
def test_prechecked_search_on_corpus_texts() -> None:
    texts: list[str] = []
    for path in sorted((CORPUS / "maildir" / "bsd").glob("*.eml"))[::3]:
        texts.extend(b.diagnostic.lower() for b in classify(path.read_bytes()).recipients)
    checks = [(re.compile(p), Prechecked(p)) for p in ALL_PATTERNS]
    for text in texts:
        for plain, checked in checks:
            assert (plain.search(text) is None) == (checked.search(text) is None), plain


WORDS = st.sampled_from(
    ["user", "unknown", "mailbox", "full", "spam", "blocked", "relay", "denied", "quota",
     "550", "5.1.1", "dmarc", "spf", "ptr", "tls", "rate", "limit", "too", "many", "host",
     "not", "found", "exist", "header", "error", "ofr_506", "(state", "14)", ":", " ", "<",
     ">", "@", ".", "-", "exim", "postfix", "gmail.com", "au.com", "ezweb.ne.jp"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS, max_size=30).map(" ".join))
def test_prechecked_search_equals_plain_search(text: str) -> None:
    for pattern in ALL_PATTERNS:
        plain = re.search(pattern, text)
        checked = Prechecked(pattern).search(text)
        assert (plain is None) == (checked is None), pattern


_SCAN_KEYS = sorted({k for p in ALL_PATTERNS for k in (literal_factors(p) or ())})


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS | st.sampled_from(_SCAN_KEYS) | st.text(max_size=6), max_size=30)
       .map("".join))
def test_keyword_scanner_finds_exactly_the_keywords_present(text: str) -> None:
    scanner = KeywordScanner(_SCAN_KEYS)
    assert scanner.present(text) == {k for k in _SCAN_KEYS if k in text}
    # overlapping and nested keywords
    small = KeywordScanner(["user", "user unknown", "unknown", "nown user", "ab", "abc", "b"])
    assert small.present("the user unknown user abd") == {
        "user", "user unknown", "unknown", "nown user", "ab", "b"}


@pytest.mark.skipif(not CORPUS.exists(), reason="shared corpus not present")
def test_reason_table_with_the_scanner_equals_the_plain_table() -> None:
    from smtpdsn.classify.reasons import reason_from_text

    compiled = [(reason, re.compile(p)) for reason, p in PHRASES]
    for path in sorted((CORPUS / "maildir" / "bsd").glob("*.eml"))[::2]:
        for b in classify(path.read_bytes()).recipients:
            text = b.diagnostic.lower()
            plain = next((r for r, p in compiled if p.search(text)), None)
            assert reason_from_text(text) == plain, text
