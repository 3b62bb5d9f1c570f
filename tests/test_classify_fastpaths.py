"""The classifier's faster equivalents give exactly the answers of the plain forms.

Each speed-up replaced a regular expression or a scan with a cheaper one; each test here
compares the two on generated text: a pattern searched by its top-level alternatives
(:class:`AnyOf`, :meth:`Prechecked.found`) against ``re.search``; :func:`one_line`
against ``\\s+`` replaced and stripped; the notice cut at the original-message marker
found from each line break against the ``^``-anchored search; the reply code read from
the shared pairs against the direct scan; the complaint signs searched in the lowered body
against the IGNORECASE search; the message Date in the common form read directly against
the standard library.
"""

from __future__ import annotations

import email.utils
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdsn.classify.detectors.arf import _SCAN, _TEXT_SIGNS, _text_signs
from smtpdsn.classify.families import FAMILIES
from smtpdsn.classify.message import _NOT_A_MARKER, _ORIGINAL_MARKER, MailView, load
from smtpdsn.classify.pipeline import _message_date
from smtpdsn.classify.prefilter import AnyOf, KeywordScanner, Prechecked, split_alternatives
from smtpdsn.classify.providers import PROVIDER_RULES
from smtpdsn.classify.reasons import PHRASES
from smtpdsn.classify.text import (
    _LOOSE_REPLY_RE,
    _PAIR_RE,
    _REPLY_RE,
    find_reply_code,
    one_line,
)

ALL_PATTERNS = (
    [p for _, p in PHRASES]
    + [p for _, p in FAMILIES]
    + [r.text for r in PROVIDER_RULES]
    + [r.hosts for r in PROVIDER_RULES]
)
ROWS = [(p, re.compile(p), AnyOf(p)) for p in ALL_PATTERNS]
CHECKED = [Prechecked(p) for p in ALL_PATTERNS]
KEYS = sorted({k for _, _, row in ROWS for keys, _, _ in row.alternatives if keys for k in keys})
SCANNER = KeywordScanner(KEYS)


def test_split_alternatives_cuts_only_at_the_top_level() -> None:
    assert split_alternatives(r"a|b(c|d)|[|)]x|\|y|[]|]z|[^]|]w") == [
        "a", "b(c|d)", "[|)]x", r"\|y", "[]|]z", "[^]|]w"]
    assert split_alternatives(r"(?:x|y)z") == [r"(?:x|y)z"]
    # cuts that could change the meaning are not made
    assert split_alternatives(r"(a)|\1") == [r"(a)|\1"]
    assert split_alternatives(r"(?i)a|b") == [r"(?i)a|b"]
    assert split_alternatives(r"(?P<n>a)|(?P=n)") == [r"(?P<n>a)|(?P=n)"]


def test_every_table_pattern_splits_back_into_itself() -> None:
    for pattern in ALL_PATTERNS:
        pieces = split_alternatives(pattern)
        assert "|".join(pieces) == pattern
        for piece in pieces:
            re.compile(piece)


def test_plain_literal_alternatives_are_recognised() -> None:
    row = AnyOf(r"amazonses\.com|x-ses-outgoing|dma\b")
    assert [plain for _, plain, _ in row.alternatives] == [True, True, False]
    scanner = KeywordScanner(["amazonses.com", "x-ses-outgoing", "dma"])
    for text, expected in [("via amazonses.com", True), ("dmarc", False), ("dma here", True),
                           ("amazonses-com", False)]:
        assert row.matches(text, scanner.present(text)) is expected, text


WORDS = st.sampled_from(
    ["user", "unknown", "mailbox", "full", "spam", "blocked", "relay", "denied", "quota",
     "550", "5.1.1", "dmarc", "spf", "ptr", "tls", "rate", "limit", "too", "many", "host",
     "not", "found", "exist", "header", "error", " ", "<", ">", "@", ".", "-", "\n"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(WORDS | st.sampled_from(KEYS) | st.text(max_size=5), max_size=30)
       .map("".join))
def test_any_of_matches_exactly_when_the_whole_pattern_does(text: str) -> None:
    present = SCANNER.present(text)
    for (pattern, plain, row), checked in zip(ROWS, CHECKED, strict=True):
        expected = plain.search(text) is not None
        assert row.matches(text, present) is expected, pattern
        assert checked.found(text) is expected, pattern


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab \t\n\r\x0b\x0c\x1c\x85\xa0\u2003\u3000"),
               max_size=40) | st.text(max_size=40))
def test_one_line_equals_collapsing_white_space(text: str) -> None:
    assert one_line(text) == re.sub(r"\s+", " ", text).strip()


def _notice_plain(text: str) -> str:
    """The notice as the ``^``-anchored, IGNORECASE search found it."""
    for m in _ORIGINAL_MARKER.finditer(text):
        line = m[0]
        if line.lstrip()[:1] in "-=_*#|" and _NOT_A_MARKER.search(line):
            continue
        if m.start() == 0:
            continue
        return text[: m.start()]
    return text


LINES = st.sampled_from(
    ["The mail system", "<user@example.org>: host said 550 unknown", "",
     "----- Original message -----", "--- Below this line is a copy of the message.",
     "   ----- Transcript of session follows -----", "Received: from x by y",
     "Original Message Follows:", "Content-Type: message/rfc822", "RETURN-PATH: <a@b>",
     "  ==== Returned mail ====", "x", "Ünïcode line", "The original message header follows",
     "received: x", "İ ---- original"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(LINES, max_size=12).map("\n".join))
def test_notice_cut_equals_the_anchored_search(body: str) -> None:
    view = MailView(*load(b"Subject: x\n\n" + body.encode("utf-8")))
    text = view.body_text
    assert view.notice == _notice_plain(text)


def _reply_plain(text: str) -> int | None:
    code: int | None = None
    for m in _PAIR_RE.finditer(text):
        if m[1][0] == m[2]:
            code = int(m[1])
    if code is not None:
        return code
    m2 = _REPLY_RE.search(text) or _LOOSE_REPLY_RE.search(text)
    return int(m2[1]) if m2 is not None else None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["550", "5.1.1", "421", "4.4.2", " ", "-", "said:", "(",
                                 "User", "<a@b>", "x", "554 5.7.1", "250 2.0.0"]),
                max_size=12).map("".join))
def test_reply_code_from_the_shared_pairs_equals_the_direct_scan(text: str) -> None:
    assert find_reply_code(text) == _reply_plain(text)


def _text_signs_plain(view: MailView) -> bool:
    """The complaint-report signs as the IGNORECASE search over the body's start found them."""
    text = view.body_text[:_SCAN]
    lowered = text.lower()
    if "feedback-type" not in lowered and " report" not in lowered:
        return False
    return _TEXT_SIGNS.search(text) is not None


SIGN_LINES = st.sampled_from(
    ["Feedback-Type: abuse", "feedback-type:\tfraud", "FEEDBACK-TYPE:", "This is an email "
     "abuse report", "this is a COMPLAINT report", "This is an opt-out report", "report",
     "x", "", "  Feedback-Type: abuse", "Ünïcode İ", "This is an E-mail abuse report",
     "this is a delivery status report", "Delivery Status Report", "feedback-type abuse",
     "This is an abuse", " report"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(SIGN_LINES, max_size=8).map("\n".join))
def test_complaint_signs_on_the_lowered_body_equal_the_ignorecase_search(body: str) -> None:
    view = MailView(*load(b"Subject: x\n\n" + body.encode("utf-8")))
    assert _text_signs(view) is _text_signs_plain(view)


DAYS = st.sampled_from(["", "Mon, ", "Thu, ", "Sun, "])
MONTHS = st.sampled_from(["Jan", "Feb", "Apr", "Dec"])


@settings(max_examples=400, deadline=None)
@given(DAYS, st.integers(0, 39), MONTHS, st.integers(900, 2100), st.integers(0, 25),
       st.integers(0, 61), st.integers(0, 61), st.sampled_from("+-"), st.integers(0, 15),
       st.sampled_from([0, 30, 45, 59]))
def test_common_date_form_reads_as_the_standard_library_reads_it(
    day_name: str, day: int, month: str, year: int, hour: int, minute: int, second: int,
    sign: str, zone_h: int, zone_m: int,
) -> None:
    text = (f"{day_name}{day:02d} {month} {year} {hour:02d}:{minute:02d}:{second:02d} "
            f"{sign}{zone_h:02d}{zone_m:02d}")
    try:
        expected = email.utils.parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        expected = None
    view = MailView(*load(f"Date: {text}\n\nx".encode()))
    got = _message_date(view)
    assert got == expected
    assert (got.isoformat() if got else None) == (expected.isoformat() if expected else None)
