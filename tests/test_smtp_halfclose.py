"""The client closing its sending side (a TCP half-close): RFC 5321 sections 4.1.1.10 and
3.8, RFC 2920 section 3.

TCP lets a client shut down its sending side and still read. Exim does exactly that after
the final dot and a pipelined QUIT. Nothing in RFC 5321 lets a server drop commands it has
received: every complete command gets its reply, in order (RFC 2920 section 3), and only
then does the connection end. ``receive_data(b"")`` is that event for the core; an
incomplete command (no line end) is not a command and gets no reply.
"""

from __future__ import annotations

import pytest

from smtpdsn import Reply
from smtpdsn.smtp import (
    ConnectionClosed,
    LocalProtocolError,
    MailFrom,
    MessageReceived,
    Quit,
    Request,
    ServerConnection,
    State,
)

from .smtp_support import Session, reply_codes, transaction

ENVELOPE = b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\nbody\r\n"


@pytest.mark.parametrize("quit_", [b"", b"QUIT\r\n"])
def test_final_dot_then_eof_gets_the_message_and_its_250(quit_: bytes) -> None:
    """What Exim sends: ``.\\r\\nQUIT\\r\\n`` and then the half-close, in one go."""
    session = Session()
    session.feed(ENVELOPE)
    session.take()
    session.conn.receive_data(b".\r\n" + quit_)
    session.conn.receive_data(b"")
    session.pump()
    kinds = [type(e) for e in session.events[-3:]]
    if quit_:
        assert kinds == [MessageReceived, Quit, ConnectionClosed]
    else:
        assert kinds[1:] == [MessageReceived, ConnectionClosed]
    assert [m.content for m in session.of_type(MessageReceived)] == [b"body\r\n"]  # type: ignore[attr-defined]
    assert [(r.code, str(r.status)) for r in session.take()] == [(250, "2.0.0")] + (
        [(221, "2.0.0")] if quit_ else []
    )
    assert session.conn.closed


def test_eof_while_the_message_request_is_pending() -> None:
    """The EOF may come while the application is still storing the message: its reply
    is still sent, then the remaining commands, then the close."""
    conn = ServerConnection("mx.example.test")
    conn.next_event()
    conn.send_reply()
    conn.receive_data(ENVELOPE + b".\r\nNOOP\r\nQUIT\r\n")
    events = []
    while not isinstance(event := conn.next_event(), MessageReceived):
        assert event is not None
        if isinstance(event, Request):
            conn.send_reply()
    conn.receive_data(b"")  # the client half-closes while the message is pending
    assert conn.next_event() is None and conn.pending is event
    conn.send_reply()
    while (event := conn.next_event()) is not None:
        events.append(event)
        if isinstance(event, Request):
            conn.send_reply()
    assert isinstance(events[-1], ConnectionClosed)
    assert reply_codes(conn.data_to_send())[-3:] == [250, 250, 221]


def test_every_complete_command_is_answered_in_order_then_closed() -> None:
    session = Session()
    session.feed(b"EHLO c\r\nNOOP\r\nBOGUS\r\nMAIL FROM:<a@x.test>\r\nRSET\r\nNOO")
    session.eof()
    assert reply_codes(session.out) == [250, 250, 500, 250, 250]  # not the partial NOO
    assert isinstance(session.events[-1], ConnectionClosed)
    assert session.conn.closed
    assert session.conn.next_event() is None  # ConnectionClosed comes once


def test_eof_in_the_middle_of_a_message_delivers_nothing() -> None:
    session = Session()
    session.say(*transaction(), "DATA")
    session.feed(b"Subject: cut\r\n\r\nhalf a body\r\n")
    session.eof()
    assert session.of_type(MessageReceived) == []
    assert session.take() == []
    assert isinstance(session.events[-1], ConnectionClosed)
    assert session.conn.mail is None


def test_eof_in_the_middle_of_a_chunk_delivers_nothing() -> None:
    session = Session()
    session.say(*transaction())
    session.feed(b"BDAT 10 LAST\r\nshort")
    session.eof()
    assert session.of_type(MessageReceived) == [] and session.take() == []
    assert session.conn.closed


def test_eof_during_an_auth_exchange() -> None:
    session = Session(auth_mechanisms=("LOGIN",), auth_require_tls=False)
    session.say("EHLO c", "AUTH LOGIN")
    session.eof()
    assert session.conn.closed and isinstance(session.events[-1], ConnectionClosed)


def test_eof_right_after_connecting() -> None:
    session = Session(greet=False)
    session.conn.receive_data(b"")
    session.pump()
    assert reply_codes(session.out) == [220]  # the greeting is still answered
    assert isinstance(session.events[-1], ConnectionClosed)


def test_commands_after_a_pending_mail_are_answered_after_eof() -> None:
    """The application answers late; the EOF is already known."""
    replies: list[Reply | None] = [None, Reply(451, "4.3.0", "try later")]
    session = Session(lambda e: replies.pop() if isinstance(e, MailFrom) else None)
    session.feed(b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nMAIL FROM:<a@x.test>\r\nQUIT\r\n")
    session.eof()
    assert reply_codes(session.out) == [250, 451, 250, 221]


def test_data_after_eof_is_a_transport_error() -> None:
    conn = ServerConnection("mx.example.test")
    conn.receive_data(b"")
    with pytest.raises(LocalProtocolError, match="after the end"):
        conn.receive_data(b"NOOP\r\n")
    assert conn.state is State.GREETING  # left as it was


def test_a_bare_lf_ends_a_command_at_eof_too() -> None:
    session = Session()
    session.feed(b"NOOP\nQUIT\n")
    session.eof()
    assert reply_codes(session.out) == [250, 221]
