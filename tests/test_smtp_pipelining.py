"""Command pipelining: RFC 2920.

Section 3.1: the client may send a group of commands without waiting for the replies;
section 3.2 (server support): the server answers every command, in the order received, and
should send the replies of a group together, buffered and written as a unit; section 3.1
also leaves the stream's framing to the client: a command may arrive in any number of
reads.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdsn import Reply
from smtpdsn.smtp import (
    DataCommand,
    MailFrom,
    MessageReceived,
    Quit,
    RcptTo,
    Request,
    ServerConnection,
)

from .smtp_support import Session, reply_codes, split_replies

# One session's worth of client bytes: a pipelined envelope (one recipient refused),
# DATA and its body, a second transaction by BDAT, errors along the way, and QUIT.
STREAM = (
    b"EHLO client.example.test\r\n"
    b"MAIL FROM:<a@example.test> SIZE=300 BODY=8BITMIME\r\n"
    b"RCPT TO:<b@example.test> NOTIFY=FAILURE\r\n"
    b"RCPT TO:<unknown@example.test>\r\n"
    b"RCPT TO:<c@example.test>\r\n"
    b"DATA\r\n"
    b"Subject: pipelined\r\n\r\n..dot\r\nline\r\n.\r\n"
    b"NOOP\r\n"
    b"BOGUS\r\n"
    b"MAIL FROM:<>\r\n"
    b"RCPT TO:<d@example.test>\r\n"
    b"BDAT 13\r\n\r\n.\r\nQUIT\r\n\r\n"
    b"BDAT 0 LAST\r\n"
    b"RSET\r\n"
    b"QUIT\r\n"
)
STREAM_CODES = [250, 250, 250, 550, 250, 354, 250, 250, 500, 250, 250, 250, 250, 250, 221]


def refuse_unknown(event: Request) -> Reply | None:
    if isinstance(event, RcptTo) and event.address.startswith("unknown@"):
        return Reply(550, "5.1.1", "No such user")
    return None


def run(chunks: list[bytes]) -> Session:
    session = Session(refuse_unknown)
    session.feed(*chunks)
    return session


def test_every_pipelined_command_is_answered_in_order() -> None:
    session = run([STREAM])
    assert reply_codes(session.out) == STREAM_CODES
    messages = session.of_type(MessageReceived)
    assert [(m.content, m.chunked) for m in messages] == [  # type: ignore[attr-defined]
        (b"Subject: pipelined\r\n\r\n.dot\r\nline\r\n", False),
        (b"\r\n.\r\nQUIT\r\n\r\n", True),
    ]
    assert session.conn.closed


def test_the_replies_to_one_read_come_out_as_one_write() -> None:
    """Section 3.2: the replies to a group are buffered and sent together."""
    conn = ServerConnection("mx.example.test")
    conn.next_event()
    conn.send_reply()
    assert conn.data_to_send().startswith(b"220 ")
    conn.receive_data(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nNOOP\r\n")
    while (event := conn.next_event()) is not None:
        if isinstance(event, Request):
            conn.send_reply()
    out = conn.data_to_send()
    assert reply_codes(out) == [250, 250, 250, 250]
    assert conn.data_to_send() == b""  # handed out once


def test_nothing_more_is_read_while_a_request_waits() -> None:
    """One command at a time: the order of replies is the order of commands even when the
    application answers later (section 3.1)."""
    conn = ServerConnection("mx.example.test")
    conn.next_event()
    conn.send_reply()
    conn.receive_data(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nNOOP\r\nRCPT TO:<b@x.test>\r\n")
    conn.next_event()
    conn.send_reply()
    mail = conn.next_event()
    assert isinstance(mail, MailFrom)
    assert conn.pending is mail
    assert conn.next_event() is None  # NOOP is not read yet, though it is here
    assert conn.next_event() is None
    conn.send_reply()
    noop = conn.next_event()
    assert noop is not None and not isinstance(noop, Request)
    assert isinstance(conn.next_event(), RcptTo)
    conn.send_reply()
    assert reply_codes(conn.data_to_send()) == [220, 250, 250, 250, 250]


def test_data_ends_a_group_and_the_body_may_follow_at_once() -> None:
    """Section 3.1: DATA is the last command of a group; a client that sends the body
    without waiting for the 354 still has it read as the message (not as commands)."""
    session = run(
        [b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\nQUIT\r\n.\r\n"]
    )
    assert reply_codes(session.out) == [250, 250, 250, 354, 250]
    assert [m.content for m in session.of_type(MessageReceived)] == [b"QUIT\r\n"]  # type: ignore[attr-defined]
    assert session.of_type(Quit) == []


def test_a_refused_data_turns_the_pipelined_body_into_commands() -> None:
    """What RFC 2920 section 3.1 warns of: after a refused DATA the client's body lines are
    read as commands, and each gets its reply (nothing is silently dropped)."""
    session = Session(
        lambda e: Reply(554, "5.5.1", "no valid recipients") if isinstance(e, DataCommand) else None
    )
    session.feed(b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\nhello\r\n.\r\n")
    assert reply_codes(session.out) == [250, 250, 250, 554, 500, 500]


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_input_split_anywhere_gives_the_same_replies_and_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    whole = run([STREAM])
    split = run([c for c in chunks if c])
    assert split.out == whole.out
    assert split.events == whole.events
    messages = [m.content for m in split.of_type(MessageReceived)]  # type: ignore[attr-defined]
    assert messages == [m.content for m in whole.of_type(MessageReceived)]  # type: ignore[attr-defined]


def test_byte_by_byte_gives_the_same_replies() -> None:
    session = run([STREAM[i : i + 1] for i in range(len(STREAM))])
    assert reply_codes(session.out) == STREAM_CODES
    assert len(split_replies(session.out)) == len(STREAM_CODES)
