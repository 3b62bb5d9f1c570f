"""The message after DATA: RFC 5321 sections 4.1.1.4, 4.5.2 and 4.5.3.1.6; RFC 1870.

Section 4.1.1.4: the mail data ends with a line holding a single period, that is the
sequence CRLF.CRLF, whose first CRLF ends the last line of the message;
section 4.5.2: a line starting with a period has that period removed ("transparency");
section 4.5.3.1.6: a text line is at most 1,000 octets with its CRLF; RFC 1870:
a message over the size limit is answered 552 (5.3.4, RFC 3463 section 3.4). RFC 5321
section 2.3.8 and 4.1.1.4: only CRLF is a line end, so a bare LF.LF never ends the data.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdsn.smtp import Answered, MessageReceived, State
from smtpdsn.smtp.connection import TEXT_LINE

from .smtp_support import Session, held, reply_codes, transaction


def in_data(**options: Any) -> Session:
    """A session that has just had its 354."""
    session = Session(**options)
    assert session.codes(*transaction(), "DATA")[-1] == (354, None)
    assert session.conn.state is State.DATA
    return session


def messages(session: Session) -> list[bytes]:
    return [e.content for e in session.events if isinstance(e, MessageReceived)]


def test_an_empty_message() -> None:
    session = in_data()
    assert session.codes(".") == [(250, "2.0.0")]
    assert messages(session) == [b""]


def test_the_content_keeps_its_crlfs_and_ends_with_the_last_lines_crlf() -> None:
    session = in_data()
    session.feed(b"Subject: hi\r\n\r\nline 1\r\nline 2\r\n.\r\n")
    assert messages(session) == [b"Subject: hi\r\n\r\nline 1\r\nline 2\r\n"]
    assert session.conn.state is State.COMMAND


@pytest.mark.parametrize(
    ("sent", "received"),
    [
        (b"..\r\n", b".\r\n"),  # a line of one period, as the client must send it
        (b"...\r\n", b"..\r\n"),
        (b"..x\r\n", b".x\r\n"),
        (b"a\r\n..b\r\n..\r\nc.\r\n", b"a\r\n.b\r\n.\r\nc.\r\n"),
        (b"x.\r\n.y\r\n", b"x.\r\ny\r\n"),  # a period not at a line start stays
        (b". \r\n", b" \r\n"),
    ],
)
def test_dot_unstuffing(sent: bytes, received: bytes) -> None:
    """Section 4.5.2: a period that starts a line is deleted."""
    session = in_data()
    session.feed(sent + b".\r\n")
    assert messages(session) == [received]


@pytest.mark.parametrize(
    ("body", "content"),
    [
        (b"a\n.\nb\r\n", b"a\n.\nb\r\n"),  # LF.LF
        (b"a\n.\r\nb\r\n", b"a\n.\r\nb\r\n"),  # LF.CRLF
        (b"a\r.\rb\r\n", b"a\r.\rb\r\n"),  # CR.CR
        (b"a\r.\r\nb\r\n", b"a\r.\r\nb\r\n"),  # CR.CRLF
        # CRLF.LF: the period starts a line, so it is unstuffed, but the line goes on.
        (b"a\r\n.\nb\r\n", b"a\r\n\nb\r\n"),
        (b"a\r\n.\r\rb\r\n", b"a\r\n\r\rb\r\n"),
    ],
)
def test_only_crlf_dot_crlf_ends_the_message(body: bytes, content: bytes) -> None:
    """Section 4.1.1.4 (and the "SMTP smuggling" attacks of 2023): a period between bare
    line feeds or carriage returns is message text, never the end of the data."""
    session = in_data()
    session.feed(body + b"MAIL FROM:<smuggled@x.test>\r\n")
    assert session.take() == []
    assert session.conn.state is State.DATA
    session.feed(b".\r\n")
    assert messages(session) == [content + b"MAIL FROM:<smuggled@x.test>\r\n"]
    assert [r.code for r in session.take()] == [250]


def test_commands_after_the_final_dot_are_commands_again() -> None:
    session = in_data()
    assert session.codes("x", ".", "RSET", "NOOP") == [(250, "2.0.0")] * 3


MESSAGE = b"Subject: s\r\n\r\n..a\r\nb\r\n"
STREAM = MESSAGE + b".\r\nNOOP\r\n"


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_the_end_split_across_two_reads_at_every_position(cut: int) -> None:
    session = in_data()
    session.feed(STREAM[:cut], STREAM[cut:])
    assert messages(session) == [b"Subject: s\r\n\r\n.a\r\nb\r\n"]
    assert reply_codes(session.out) == [250, 250]


@pytest.mark.parametrize("cut", range(1, 3))
def test_the_end_of_an_empty_message_split(cut: int) -> None:
    session = in_data()
    session.feed(b".\r\n"[:cut])
    assert session.conn.state is State.DATA and messages(session) == []
    session.feed(b".\r\n"[cut:])
    assert messages(session) == [b""]


@settings(max_examples=200)
@given(
    st.lists(
        st.sampled_from([b"a", b".", b"..", b"\r", b"\n", b"\r\n", b"\r\n.", b"x.y", b" "]),
        max_size=30,
    ),
    st.lists(st.integers(min_value=0, max_value=200), max_size=8),
)
def test_any_body_split_anywhere_reads_the_same(parts: list[bytes], cuts: list[int]) -> None:
    """Stuffed as a client must (section 4.5.2), any body arrives exactly, however it is
    split into reads."""
    text = b"".join(parts)
    if text and not text.endswith(b"\r\n"):
        text += b"\r\n"
    lines = text.split(b"\r\n")
    stuffed = b"\r\n".join(b"." + ln if ln.startswith(b".") else ln for ln in lines)
    stream = stuffed + b".\r\n"
    points = sorted({c for c in cuts if c < len(stream)})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    session = in_data()
    session.feed(*[c for c in chunks if c])
    assert messages(session) == [text]


class TestLineLength:
    """Section 4.5.3.1.6: 1,000 octets per text line, CRLF included; a longer line
    makes the message refused with 500 5.5.2 once its end is read (not before: the client
    is still sending)."""

    def test_998_octets_and_crlf_is_allowed(self) -> None:
        session = in_data()
        line = b"x" * (TEXT_LINE - 2)
        session.feed(line + b"\r\n.\r\n")
        assert messages(session) == [line + b"\r\n"]

    @pytest.mark.parametrize("length", [TEXT_LINE - 1, TEXT_LINE + 5, 50_000])
    def test_a_longer_line_refuses_the_message(self, length: int) -> None:
        session = in_data()
        session.feed(b"ok\r\n" + b"y" * length + b"\r\nmore\r\n")
        assert session.take() == []  # no reply in the middle of the data
        assert session.codes(".", "RCPT TO:<c@x.test>") == [(500, "5.5.2"), (503, "5.5.1")]
        assert messages(session) == []  # the transaction is over, nothing delivered

    def test_a_stuffed_period_does_not_count_against_the_limit_twice(self) -> None:
        session = in_data()
        line = b"." + b"z" * (TEXT_LINE - 3)  # 999 octets + CRLF as sent: too long
        session.feed(b"." + line + b"\r\n.\r\n")
        assert reply_codes(session.out) == [500]
        session = in_data()
        session.feed(line + b"\r\n.\r\n")  # 998 octets sent: fine
        assert messages(session) == [line[1:] + b"\r\n"]

    def test_a_huge_line_is_never_held_whole(self) -> None:
        session = in_data()
        peak = 0
        for _ in range(160):  # 10 MB without a line end, in 64 KB reads
            session.feed(b"w" * 65536)
            peak = max(peak, held(session.conn))
        assert peak <= 2 * TEXT_LINE
        session.feed(b"\r\n.\r\n")
        assert session.codes("NOOP") == [(500, "5.5.2"), (250, "2.0.0")]

    def test_the_tail_after_the_last_line_end_is_bounded_too(self) -> None:
        """A read with a line end followed by a long partial line: the partial line is
        not kept whole while waiting for the next read."""
        session = in_data()
        session.feed(b"a\r\n" + b"v" * 200_000)
        assert held(session.conn) <= 2 * TEXT_LINE
        session.feed(b"\r\n.\r\n")
        assert reply_codes(session.out) == [500]


class TestSize:
    """RFC 1870: a message over the limit is refused with 552 (5.3.4) and
    not kept; memory stays bounded by the limit."""

    def test_exactly_the_limit_is_accepted(self) -> None:
        session = in_data(max_message_size=100)
        body = b"x" * 98 + b"\r\n"
        session.feed(body + b".\r\n")
        assert messages(session) == [body]

    def test_over_the_limit_is_refused_after_the_final_dot(self) -> None:
        session = in_data(max_message_size=100)
        for _ in range(50):
            session.feed(b"x" * 98 + b"\r\n")
            assert held(session.conn) <= 100 + TEXT_LINE
        assert session.take() == []
        assert session.codes(".") == [(552, "5.3.4")]
        assert messages(session) == []
        answered = session.events[-1]
        assert isinstance(answered, Answered) and answered.error  # a refusal, for the log
        assert session.conn.mail is None  # the transaction is over

    def test_mail_size_over_the_limit_is_refused_at_once(self) -> None:
        session = Session(max_message_size=100)
        assert session.codes("EHLO c", "MAIL FROM:<a@x.test> SIZE=101") == [
            (250, None),
            (552, "5.3.4"),
        ]

    def test_without_a_limit_size_is_not_advertised(self) -> None:
        session = Session(max_message_size=None)
        ehlo = session.say("EHLO c")[0]
        assert not any(line.startswith("SIZE") for line in ehlo.lines)
        session.say("MAIL FROM:<a@x.test> SIZE=99999999999", "RCPT TO:<b@x.test>", "DATA")
        session.feed(b"z" * 900 + b"\r\n" + b".\r\n")
        assert len(messages(session)[0]) == 902


def test_a_message_refused_by_the_application_is_not_redelivered() -> None:
    from smtpdsn import Reply

    session = Session(
        lambda e: Reply(452, "4.3.1", "full") if isinstance(e, MessageReceived) else None
    )
    session.say(*transaction(), "DATA")
    assert session.codes("x", ".", "DATA") == [(452, "4.3.1"), (503, "5.5.1")]
