"""AUTH: RFC 4954 (with the PLAIN mechanism of RFC 4616 and LOGIN).

Section 4: ``AUTH mechanism [initial-response]``; the server's challenges are ``334``
lines, the client's responses base64 lines (``*`` cancels: 501); after success (``235
2.7.0``) AUTH is refused (503), and it is not allowed during a transaction; section 6: the
status codes, among them 538 5.7.11 when the mechanism needs encryption and 535 5.7.8 for
bad credentials.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from smtpdsn import Reply
from smtpdsn.smtp import (
    AuthRequest,
)

from .smtp_support import Session


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def auth_session(**options: Any) -> Session:
    session = Session(auth_mechanisms=("PLAIN", "LOGIN"), auth_require_tls=False, **options)
    session.say("EHLO c")
    return session


def auth_events(session: Session) -> list[tuple[str, str, str, str]]:
    return [
        (e.mechanism, e.username, e.password, e.authzid)
        for e in session.events
        if isinstance(e, AuthRequest)
    ]


class TestAuth:
    """RFC 4954: AUTH PLAIN (RFC 4616) and LOGIN, with an initial response or after a
    ``334`` challenge; ``*`` cancels (501); 235 2.7.0 on success."""

    def test_plain_with_an_initial_response(self) -> None:
        session = auth_session()
        assert session.codes("AUTH PLAIN " + b64("admin\0user\0secret")) == [(235, "2.7.0")]
        assert auth_events(session) == [("PLAIN", "user", "secret", "admin")]
        assert session.conn.authenticated == "user"

    def test_plain_after_an_empty_challenge(self) -> None:
        """RFC 4954 section 4: an empty challenge is ``334`` and a space."""
        session = auth_session()
        session.feed(b"AUTH PLAIN\r\n")
        assert session.out == b"334 \r\n"
        session.take()
        assert session.codes(b64("\0user\0pw")) == [(235, "2.7.0")]

    def test_login(self) -> None:
        session = auth_session()
        replies = session.say("AUTH LOGIN")
        assert [(r.code, r.text) for r in replies] == [(334, "VXNlcm5hbWU6")]
        replies = session.say(b64("user"))
        assert [(r.code, r.text) for r in replies] == [(334, "UGFzc3dvcmQ6")]
        assert session.codes(b64("pw")) == [(235, "2.7.0")]
        assert auth_events(session) == [("LOGIN", "user", "pw", "")]

    def test_login_with_the_user_name_as_initial_response(self) -> None:
        session = auth_session()
        assert session.codes("AUTH LOGIN " + b64("user"), b64("pw")) == [
            (334, None),
            (235, "2.7.0"),
        ]

    def test_cancel(self) -> None:
        session = auth_session()
        assert session.codes("AUTH LOGIN", "*", "NOOP") == [
            (334, None),
            (501, "5.7.0"),
            (250, "2.0.0"),
        ]
        assert auth_events(session) == []

    @pytest.mark.parametrize("response", ["not base64!", b64("no nul")])
    def test_bad_responses(self, response: str) -> None:
        session = auth_session()
        codes = session.codes("AUTH PLAIN", response)
        assert codes[0] == (334, None) and codes[1][0] == 501

    def test_refused_credentials(self) -> None:
        session = Session(
            lambda e: (
                Reply(535, "5.7.8", "Authentication credentials invalid")
                if isinstance(e, AuthRequest)
                else None
            ),
            auth_mechanisms=("PLAIN",),
            auth_require_tls=False,
        )
        session.say("EHLO c")
        assert session.codes("AUTH PLAIN " + b64("\0u\0p")) == [(535, "5.7.8")]
        assert session.conn.authenticated is None
        assert session.codes("AUTH PLAIN " + b64("\0u\0p")) == [(535, "5.7.8")]

    def test_sequence(self) -> None:
        """Section 4: AUTH needs EHLO, once per session, and not inside a transaction."""
        session = Session(auth_mechanisms=("PLAIN",), auth_require_tls=False)
        assert session.codes("AUTH PLAIN") == [(503, "5.5.1")]
        session.say("EHLO c")
        assert session.codes("AUTH PLAIN " + b64("\0u\0p")) == [(235, "2.7.0")]
        assert session.codes("AUTH PLAIN " + b64("\0u\0p")) == [(503, "5.5.1")]
        session = auth_session()
        session.say("MAIL FROM:<a@x.test>")
        assert session.codes("AUTH PLAIN " + b64("\0u\0p")) == [(503, "5.5.1")]

    def test_unknown_mechanism(self) -> None:
        assert auth_session().codes("AUTH CRAM-MD5") == [(504, "5.5.4")]

    def test_over_plain_text_when_tls_is_required(self) -> None:
        """Section 4 and RFC 4954 section 6: 538 5.7.11 (encryption required); the
        mechanisms are not even offered."""
        session = Session(auth_mechanisms=("PLAIN",))
        assert not any(line.startswith("AUTH") for line in session.say("EHLO c")[0].lines)
        assert session.codes("AUTH PLAIN " + b64("\0u\0p")) == [(538, "5.7.11")]
        session = Session(auth_mechanisms=("PLAIN",), tls=True)
        assert "AUTH PLAIN" in session.say("EHLO c")[0].lines

    def test_auth_required_before_mail(self) -> None:
        session = auth_session(auth_required=True)
        assert session.codes("MAIL FROM:<a@x.test>") == [(530, "5.7.0")]
        session.say("AUTH PLAIN " + b64("\0u\0p"))
        assert session.codes("MAIL FROM:<a@x.test>") == [(250, "2.1.0")]

    def test_not_offered(self) -> None:
        assert Session().codes("EHLO c", "AUTH PLAIN") == [(250, None), (502, "5.5.1")]

    def test_starttls_forgets_the_authentication(self) -> None:
        session = auth_session(starttls=True)
        session.say("AUTH PLAIN " + b64("\0u\0p"), "STARTTLS")
        session.conn.tls_started()
        assert session.conn.authenticated is None
