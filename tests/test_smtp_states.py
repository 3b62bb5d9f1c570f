"""The order of commands: RFC 5321 section 4.1.4 (and 3.1 for the greeting, 3.3 for the
mail transaction, 3.8 for 421).

Section 4.1.4: a session starts with EHLO or HELO; MAIL starts a transaction, RCPT follows
MAIL, DATA follows a successful RCPT; RSET, and a new EHLO/HELO, end any open transaction;
a command out of this order is answered ``503`` (with the enhanced status 5.5.1, "invalid
command", RFC 3463 section 3.6). Section 3.1: after a ``554`` greeting the client may only
QUIT (the core also allows NOOP and RSET), and a ``421`` closes the connection.
"""

from __future__ import annotations

import pytest

from smtpdsn import Reply
from smtpdsn.smtp import (
    Connect,
    ConnectionClosed,
    DataCommand,
    Ehlo,
    Helo,
    MailFrom,
    MessageReceived,
    RcptTo,
    Request,
    State,
)

from .smtp_support import Session, transaction

BAD_SEQUENCE = (503, "5.5.1")
OK = (250, "2.0.0")
SENDER_OK = (250, "2.1.0")
RECIPIENT_OK = (250, "2.1.5")


def test_the_greeting_is_the_first_event_and_defaults_to_220() -> None:
    session = Session(greet=False)
    assert isinstance(session.conn.next_event(), Connect)
    assert session.conn.next_event() is None  # nothing else until it is answered
    session.conn.send_reply()
    assert session.conn.data_to_send() == b"220 mx.example.test smtpdsn\r\n"
    assert session.conn.state is State.COMMAND


class TestOrder:
    """Section 4.1.4: EHLO/HELO, then MAIL, RCPT, DATA, each refused with 503 5.5.1 out of
    order."""

    @pytest.mark.parametrize(
        "command", ["MAIL FROM:<a@example.test>", "RCPT TO:<b@example.test>", "DATA", "BDAT 0"]
    )
    def test_before_ehlo(self, command: str) -> None:
        session = Session()
        reply = session.say(command)[0]
        assert (reply.code, str(reply.status)) == BAD_SEQUENCE
        assert "HELO" in reply.text

    def test_rcpt_before_mail(self) -> None:
        session = Session()
        assert session.codes("EHLO c.test", "RCPT TO:<b@example.test>") == [
            (250, None),
            BAD_SEQUENCE,
        ]

    def test_data_before_rcpt(self) -> None:
        session = Session()
        codes = session.codes("EHLO c.test", "DATA", "MAIL FROM:<a@example.test>", "DATA")
        assert codes == [(250, None), BAD_SEQUENCE, SENDER_OK, BAD_SEQUENCE]
        assert session.of_type(DataCommand) == []

    def test_nested_mail(self) -> None:
        session = Session()
        codes = session.codes("HELO c.test", "MAIL FROM:<a@x.test>", "MAIL FROM:<b@x.test>")
        assert codes == [(250, None), SENDER_OK, BAD_SEQUENCE]
        assert [e.address for e in session.of_type(MailFrom)] == ["a@x.test"]  # type: ignore[attr-defined]

    def test_a_whole_transaction_in_order(self) -> None:
        session = Session()
        codes = session.codes(*transaction(), "DATA", "Subject: x", "", "body", ".", "QUIT")
        assert codes == [(250, None), SENDER_OK, RECIPIENT_OK, (354, None), OK, (221, "2.0.0")]
        message = session.of_type(MessageReceived)
        assert [m.content for m in message] == [b"Subject: x\r\n\r\nbody\r\n"]  # type: ignore[attr-defined]
        assert session.conn.closed

    def test_the_transaction_ends_with_the_message(self) -> None:
        """Section 3.3: after the reply to the end of data, a new MAIL is needed."""
        session = Session()
        session.say(*transaction(), "DATA", "x", ".")
        assert session.codes("RCPT TO:<c@example.test>", "DATA") == [BAD_SEQUENCE, BAD_SEQUENCE]
        assert session.codes("MAIL FROM:<a@example.test>") == [SENDER_OK]

    def test_a_refused_message_also_ends_the_transaction(self) -> None:
        session = Session(
            lambda e: Reply(554, "5.7.1", "no") if isinstance(e, MessageReceived) else None
        )
        assert session.codes(*transaction(), "DATA", "x", ".")[-1] == (554, "5.7.1")
        assert session.codes("DATA") == [BAD_SEQUENCE]


class TestRefusedSteps:
    """A step the application refuses does not advance the transaction (section 3.3)."""

    def test_refused_mail_leaves_no_transaction(self) -> None:
        session = Session(lambda e: Reply(550, "5.7.1", "no") if isinstance(e, MailFrom) else None)
        codes = session.codes("EHLO c.test", "MAIL FROM:<a@x.test>", "RCPT TO:<b@x.test>")
        assert codes == [(250, None), (550, "5.7.1"), BAD_SEQUENCE]
        assert session.conn.mail is None

    def test_data_needs_one_accepted_recipient(self) -> None:
        session = Session(
            lambda e: Reply(550, "5.1.1", "unknown") if isinstance(e, RcptTo) else None
        )
        codes = session.codes(*transaction(), "DATA")
        assert codes[-2:] == [(550, "5.1.1"), BAD_SEQUENCE]
        assert session.of_type(DataCommand) == []

    def test_one_accepted_recipient_among_refused_ones_is_enough(self) -> None:
        def answer(event: Request) -> Reply | None:
            if isinstance(event, RcptTo) and event.address.startswith("bad"):
                return Reply(550, "5.1.1", "unknown")
            return None

        session = Session(answer)
        codes = session.codes(*transaction("a@x.test", "bad1@x.test", "ok@x.test"), "DATA")
        assert codes[2:] == [(550, "5.1.1"), RECIPIENT_OK, (354, None)]

    def test_a_refused_data_keeps_the_transaction(self) -> None:
        session = Session(
            lambda e: Reply(451, "4.3.0", "later") if isinstance(e, DataCommand) else None
        )
        codes = session.codes(*transaction(), "DATA", "RCPT TO:<c@example.test>")
        assert codes[-2:] == [(451, "4.3.0"), RECIPIENT_OK]
        assert session.conn.state is State.COMMAND

    def test_a_refused_ehlo_leaves_the_client_unnamed(self) -> None:
        session = Session(lambda e: Reply(550, "5.7.1", "go away") if isinstance(e, Ehlo) else None)
        assert session.codes("EHLO c.test", "MAIL FROM:<a@x.test>") == [
            (550, "5.7.1"),
            BAD_SEQUENCE,
        ]


class TestResets:
    """Section 4.1.1.5 (RSET) and 4.1.4: RSET and EHLO/HELO abort the transaction; NOOP
    (4.1.1.9) changes nothing."""

    @pytest.mark.parametrize("reset", ["RSET", "EHLO again.test", "HELO again.test", "rset"])
    def test_reset_ends_the_transaction(self, reset: str) -> None:
        session = Session()
        session.say(*transaction())
        assert session.conn.recipients == 1
        replies = session.say(reset, "RCPT TO:<c@example.test>", "DATA")
        assert replies[0].code == 250
        assert [(r.code, str(r.status)) for r in replies[1:]] == [BAD_SEQUENCE, BAD_SEQUENCE]
        assert session.conn.mail is None and session.conn.recipients == 0

    def test_rset_keeps_the_client_name(self) -> None:
        session = Session()
        assert session.codes("HELO c.test", "RSET", "MAIL FROM:<a@x.test>") == [
            (250, None),
            OK,
            SENDER_OK,
        ]
        assert session.conn.client_name == "c.test"

    def test_a_second_ehlo_renames_the_client(self) -> None:
        session = Session()
        session.say("EHLO one.test", "HELO two.test")
        assert session.conn.client_name == "two.test"
        assert not session.conn.esmtp  # HELO: no ESMTP parameters any more
        assert [e.hostname for e in session.events if isinstance(e, Ehlo | Helo)] == [
            "one.test",
            "two.test",
        ]

    def test_noop_keeps_the_transaction(self) -> None:
        session = Session()
        session.say(*transaction())
        assert session.codes("NOOP", "noop anything", "DATA") == [OK, OK, (354, None)]

    def test_rset_with_an_argument_is_a_syntax_error(self) -> None:
        session = Session()
        session.say(*transaction())
        assert session.codes("RSET now") == [(501, "5.5.4")]
        assert session.conn.recipients == 1


class TestGreetingRefused:
    """Section 3.1: a 554 greeting leaves only QUIT (and here NOOP and RSET); a 421 one
    closes (section 3.8)."""

    @staticmethod
    def refusing(code: int) -> Session:
        status = "5.7.1" if code == 554 else "4.3.2"
        return Session(lambda e: Reply(code, status, "not now") if isinstance(e, Connect) else None)

    def test_554_allows_only_quit_noop_and_rset(self) -> None:
        session = self.refusing(554)
        assert session.greeting[0].code == 554
        codes = session.codes(
            "EHLO c.test", "HELO c.test", "MAIL FROM:<a@x.test>", "VRFY a", "NOOP", "RSET"
        )
        assert codes == [BAD_SEQUENCE] * 4 + [OK, OK]
        assert session.of_type(Ehlo) == [] and session.of_type(Helo) == []
        assert session.codes("QUIT") == [(221, "2.0.0")]
        assert session.conn.closed
        assert isinstance(session.events[-1], ConnectionClosed)

    def test_421_greeting_closes_and_reads_nothing(self) -> None:
        session = self.refusing(421)
        assert [r.code for r in session.greeting] == [421]
        assert session.conn.closed
        assert isinstance(session.events[-1], ConnectionClosed)
        session.feed(b"EHLO c.test\r\nQUIT\r\n")
        assert session.take() == []
        assert session.conn.next_event() is None

    def test_a_421_reply_to_any_command_closes(self) -> None:
        session = Session(
            lambda e: Reply(421, "4.3.2", "shutting down") if isinstance(e, MailFrom) else None
        )
        codes = session.codes("EHLO c.test", "MAIL FROM:<a@x.test>", "NOOP")
        assert codes == [(250, None), (421, "4.3.2")]  # the pipelined NOOP is never read
        assert session.conn.closed

    def test_a_closing_verdict_sends_its_reply_then_closes(self) -> None:
        """``send_reply(..., close=True)``: DENYDISCONNECT's 5xx, DISCONNECT's 221."""
        conn = Session().conn
        conn.data_to_send()
        conn.receive_data(b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nNOOP\r\n")
        assert isinstance(conn.next_event(), Ehlo)
        conn.send_reply()
        assert isinstance(conn.next_event(), MailFrom)
        conn.send_reply(Reply(550, "5.7.1", "go away"), close=True)
        assert isinstance(conn.next_event(), ConnectionClosed)
        assert conn.next_event() is None  # the pipelined NOOP is never answered
        assert conn.data_to_send().endswith(b"250 HELP\r\n550 5.7.1 go away\r\n")


def test_quit_with_an_argument_is_a_syntax_error_and_keeps_the_session() -> None:
    session = Session()
    assert session.codes("QUIT now", "NOOP") == [(501, "5.5.4"), OK]
    assert not session.conn.closed


def test_unknown_commands_get_500_5_5_1() -> None:
    """Section 4.2.4: 500 for an unrecognised command."""
    session = Session()
    replies = session.say("FOO bar", "\x00NOOP")
    assert [(r.code, str(r.status)) for r in replies] == [(500, "5.5.1"), (500, "5.5.1")]
    assert '"FOO"' in replies[0].text
    assert "\x00" not in replies[1]  # control characters never echoed
