"""STARTTLS: RFC 3207.

Section 4: the server answers ``220`` and the TLS negotiation starts; ``454`` when TLS is
not available; section 4.2: the server discards what it knew of the client (its EHLO name,
any transaction, AUTH) and anything the client pipelined after STARTTLS, and STARTTLS is
not offered again; section 4 also lets a server require TLS before mail (``530 5.7.0``).
"""

from __future__ import annotations

import pytest

from smtpdsn import Reply
from smtpdsn.smtp import (
    ConnectionClosed,
    LocalProtocolError,
    MailFrom,
    StartTLSRequest,
    State,
)

from .smtp_support import Session


class TestStartTls:
    """RFC 3207 section 4: ``220`` then TLS; section 4.2: anything pipelined after
    STARTTLS is discarded, and the session starts over (no name, no transaction, no
    AUTH) once TLS is up; STARTTLS is not offered again."""

    def test_not_offered(self) -> None:
        assert Session().codes("EHLO c", "STARTTLS") == [(250, None), (454, "4.7.0")]

    def test_pipelined_commands_after_starttls_are_discarded(self) -> None:
        session = Session(starttls=True)
        session.feed(b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nSTARTTLS\r\nMAIL FROM:<evil@x.test>\r\n")
        assert [(r.code, str(r.status)) for r in session.take()][-1] == (220, "2.0.0")
        assert session.conn.state is State.TLS
        session.feed(b"RCPT TO:<evil@x.test>\r\n")  # still plain text: discarded too
        assert session.take() == []
        assert [e.address for e in session.of_type(MailFrom)] == ["a@x.test"]  # type: ignore[attr-defined]

    def test_the_session_starts_over_after_tls_started(self) -> None:
        session = Session(starttls=True)
        session.say("EHLO c", "MAIL FROM:<a@x.test>", "STARTTLS")
        session.conn.tls_started()
        assert session.conn.tls and session.conn.client_name is None
        assert session.conn.mail is None
        assert session.codes("MAIL FROM:<a@x.test>") == [(503, "5.5.1")]
        ehlo = session.say("EHLO c")[0]
        assert "STARTTLS" not in ehlo.lines
        assert session.codes("STARTTLS") == [(503, "5.5.1")]
        assert session.codes("MAIL FROM:<a@x.test>") == [(250, "2.1.0")]

    def test_a_refused_starttls_goes_on_in_plain_text(self) -> None:
        session = Session(
            lambda e: (
                Reply(454, "4.7.0", "TLS not available now")
                if isinstance(e, StartTLSRequest)
                else None
            ),
            starttls=True,
        )
        assert session.codes("EHLO c", "STARTTLS", "NOOP") == [
            (250, None),
            (454, "4.7.0"),
            (250, "2.0.0"),
        ]
        assert session.conn.state is State.COMMAND

    def test_starttls_takes_no_argument(self) -> None:
        assert Session(starttls=True).codes("STARTTLS now") == [(501, "5.5.4")]

    def test_tls_started_without_starttls_is_a_transport_error(self) -> None:
        session = Session(starttls=True)
        with pytest.raises(LocalProtocolError):
            session.conn.tls_started()
        assert session.conn.state is State.COMMAND

    def test_tls_failing_closes_without_a_reply(self) -> None:
        session = Session(starttls=True)
        session.say("STARTTLS")
        session.conn.close()
        assert session.pump() == [ConnectionClosed()]
        assert session.take() == []

    def test_starttls_required_before_mail(self) -> None:
        """RFC 3207 section 4: a server may require TLS; 530 5.7.0 until then."""
        session = Session(starttls=True, starttls_required=True)
        assert session.codes("EHLO c", "MAIL FROM:<a@x.test>") == [(250, None), (530, "5.7.0")]
