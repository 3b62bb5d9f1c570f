"""CHUNKING and BDAT: RFC 3030.

Section 2: ``bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CR LF``; the chunk is exactly
``chunk-size`` octets read by count, whatever they contain (no dot-stuffing, no end
sequence); ``BDAT 0 LAST`` ends a message; each chunk gets one reply. Section 2 also: the
server reads and discards the whole chunk of a BDAT it refuses (its octets are never
commands), DATA and BDAT cannot be mixed in one transaction (503), and a
message over the size limit is refused (552 5.3.4, RFC 1870).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdsn import Reply
from smtpdsn.smtp import DataCommand, MessageReceived, State

from .smtp_support import Session, held, reply_codes, transaction


def ready(**options: Any) -> Session:
    session = Session(**options)
    session.say(*transaction())
    return session


def chunked(session: Session) -> list[bytes]:
    return [e.content for e in session.events if isinstance(e, MessageReceived) and e.chunked]


def test_chunking_is_advertised() -> None:
    assert "CHUNKING" in Session().say("EHLO c")[0].lines
    assert "CHUNKING" not in Session(chunking=False).say("EHLO c")[0].lines


def test_chunks_are_read_by_count_and_joined() -> None:
    session = ready()
    session.feed(b"BDAT 8\r\nHello \r\nBDAT 7 LAST\r\nworld\r\n")
    replies = session.take()
    assert [(r.code, str(r.status)) for r in replies] == [(250, "2.0.0"), (250, "2.0.0")]
    assert replies[0].text == "8 octets received"
    assert chunked(session) == [b"Hello \r\nworld\r\n"]
    assert session.conn.mail is None  # the transaction is over


@pytest.mark.parametrize(
    "payload",
    [b"a\r\n.\r\nQUIT\r\n", b".\r\n", b"..x\r\n", b"\r\n.\r\n", b"RSET\r\n", b"no line end"],
)
def test_a_chunk_is_data_whatever_it_contains(payload: bytes) -> None:
    """No dot-stuffing, no CRLF.CRLF end, no commands inside a chunk (section 2)."""
    session = ready()
    session.feed(b"BDAT %d LAST\r\n" % len(payload) + payload)
    assert chunked(session) == [payload]
    assert reply_codes(session.out) == [250]
    assert not session.conn.closed


def test_bdat_0_last_ends_the_message() -> None:
    session = ready()
    assert session.codes("BDAT 3", "abcBDAT 0 LAST") == [(250, "2.0.0"), (250, "2.0.0")]
    assert chunked(session) == [b"abc"]


def test_an_empty_message_by_bdat() -> None:
    session = ready()
    assert session.codes("BDAT 0 LAST") == [(250, "2.0.0")]
    assert chunked(session) == [b""]


def test_last_is_case_insensitive() -> None:
    session = ready()
    session.feed(b"bdat 2 last\r\nhi")
    assert chunked(session) == [b"hi"]


@pytest.mark.parametrize("cut", range(1, len(b"BDAT 5 LAST\r\n12345NOOP\r\n")))
def test_a_chunk_split_across_reads(cut: int) -> None:
    stream = b"BDAT 5 LAST\r\n12345NOOP\r\n"
    session = ready()
    session.feed(stream[:cut], stream[cut:])
    assert chunked(session) == [b"12345"]
    assert reply_codes(session.out) == [250, 250]


class TestOutOfOrder:
    """Section 2: a refused BDAT still has its chunk read (else it would be taken for
    commands); the reply comes after the chunk."""

    @pytest.mark.parametrize(
        ("setup", "status_text"),
        [((), "HELO"), (("EHLO c",), "MAIL"), (("EHLO c", "MAIL FROM:<a@x.test>"), "RCPT")],
    )
    def test_the_chunk_is_consumed_then_503(self, setup: tuple[str, ...], status_text: str) -> None:
        session = Session()
        session.say(*setup)
        session.feed(b"BDAT 12 LAST\r\nQUIT\r\nQUIT\r\n")
        assert session.conn.state is State.COMMAND
        replies = session.take()
        assert [(r.code, str(r.status)) for r in replies] == [(503, "5.5.1")]
        assert status_text in replies[0].text
        assert not session.conn.closed  # the QUITs in the chunk were data
        assert chunked(session) == []

    def test_no_reply_before_the_chunk_is_complete(self) -> None:
        session = Session()
        session.feed(b"BDAT 10\r\nQUIT")
        assert session.take() == []
        session.feed(b"\r\nQUIT")
        assert reply_codes(session.out) == [503]

    def test_data_after_bdat_in_one_transaction_is_refused(self) -> None:
        session = ready()
        session.feed(b"BDAT 1\r\nxDATA\r\n")
        assert reply_codes(session.out) == [250, 503]
        assert session.of_type(DataCommand) == []
        session.feed(b"BDAT 1 LAST\r\ny")
        assert chunked(session) == [b"xy"]

    def test_bdat_after_data_is_a_new_transaction_only_after_the_message(self) -> None:
        session = ready()
        session.say("DATA", "body", ".")
        session.feed(b"BDAT 1 LAST\r\nz")
        assert [(r.code, str(r.status)) for r in session.take()] == [(503, "5.5.1")]

    @pytest.mark.parametrize(
        "line", ["BDAT", "BDAT x", "BDAT -1", "BDAT 1 FIRST", "BDAT 1 LAST x", "BDAT  1"]
    )
    def test_bad_syntax_reads_no_chunk(self, line: str) -> None:
        session = ready()
        assert session.codes(line, "NOOP") == [(501, "5.5.4"), (250, "2.0.0")]

    def test_without_chunking_bdat_is_unknown_and_reads_no_chunk(self) -> None:
        session = ready(chunking=False)
        assert session.codes("BDAT 4 LAST", "NOOP") == [(500, "5.5.1"), (250, "2.0.0")]


class TestSize:
    """RFC 3030 section 2 with RFC 1870: chunks together over the limit get 552 5.3.4,
    their octets are read and thrown away, and the transaction is refused to the end."""

    def test_a_chunk_over_the_limit(self) -> None:
        session = ready(max_message_size=10)
        session.feed(b"BDAT 11\r\n" + b"z" * 11, b"BDAT 1 LAST\r\ny")
        assert [(r.code, str(r.status)) for r in session.take()] == [(552, "5.3.4")] * 2
        assert chunked(session) == []
        assert session.conn.mail is None

    def test_chunks_adding_up_over_the_limit(self) -> None:
        session = ready(max_message_size=10)
        session.feed(b"BDAT 6\r\n123456BDAT 5 LAST\r\n12345")
        assert reply_codes(session.out) == [250, 552]
        assert chunked(session) == []
        session.take()
        assert session.codes("MAIL FROM:<a@x.test>") == [(250, "2.1.0")]

    def test_exactly_the_limit(self) -> None:
        session = ready(max_message_size=10)
        session.feed(b"BDAT 6\r\n123456BDAT 4 LAST\r\n1234")
        assert chunked(session) == [b"1234561234"]

    def test_a_huge_refused_chunk_is_not_held(self) -> None:
        session = ready(max_message_size=1000)
        session.feed(b"BDAT 10000000 LAST\r\n")
        for _ in range(150):
            session.feed(b"q" * 65536)
            assert held(session.conn) <= 65536
        session.feed(b"q" * (10_000_000 - 150 * 65536))
        assert reply_codes(session.out) == [552]


def test_the_application_may_refuse_the_chunked_message() -> None:
    session = Session(
        lambda e: Reply(554, "5.7.1", "spam") if isinstance(e, MessageReceived) else None
    )
    session.say(*transaction())
    session.feed(b"BDAT 2 LAST\r\nhi")
    assert session.codes("RCPT TO:<x@y.test>") == [(554, "5.7.1"), (503, "5.5.1")]


@settings(max_examples=200)
@given(
    st.lists(st.binary(max_size=40), min_size=1, max_size=5),
    st.lists(st.integers(min_value=0, max_value=300), max_size=8),
)
def test_any_chunks_split_anywhere(chunks: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(
        b"BDAT %d%s\r\n" % (len(c), b" LAST" if i == len(chunks) - 1 else b"") + c
        for i, c in enumerate(chunks)
    )
    stream += b"NOOP\r\n"
    points = sorted({c for c in cuts if c < len(stream)})
    reads = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    session = ready()
    session.feed(*[r for r in reads if r])
    assert chunked(session) == [b"".join(chunks)]
    assert reply_codes(session.out) == [250] * (len(chunks) + 1)
