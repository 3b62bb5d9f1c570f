"""Service extensions: EHLO (RFC 5321 section 4.1.1.1), ENHANCEDSTATUSCODES (RFC 2034),
SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461), and the
commands HELP, VRFY and EXPN (RFC 5321 sections 4.1.1.6 to 4.1.1.8). STARTTLS and AUTH
have their own modules (test_smtp_starttls.py, test_smtp_auth.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from smtpdsn import Reply
from smtpdsn.dsnparams import DSNParameterError, parse_rcpt_params
from smtpdsn.smtp import (
    Ehlo,
    MailFrom,
    RcptTo,
    Request,
)

from .smtp_support import Session, transaction


class TestEhlo:
    """RFC 5321 section 4.1.1.1: ``250-domain`` then one keyword per line; RFC 2034
    section 4: the EHLO reply carries no enhanced status."""

    def test_the_keywords_offered_by_default(self) -> None:
        reply = Session().say("EHLO client.test")[0]
        assert reply.code == 250 and reply.status is None
        assert reply.lines == (
            "mx.example.test",
            "SIZE 10485760",
            "8BITMIME",
            "SMTPUTF8",
            "PIPELINING",
            "CHUNKING",
            "ENHANCEDSTATUSCODES",
            "DSN",
            "HELP",
        )

    def test_the_keywords_follow_the_options(self) -> None:
        session = Session(
            max_message_size=1000,
            smtputf8=False,
            chunking=False,
            starttls=True,
            auth_mechanisms=("plain", "LOGIN"),
            auth_require_tls=False,
        )
        lines = session.say("EHLO c")[0].lines[1:]
        assert lines == (
            "SIZE 1000",
            "8BITMIME",
            "PIPELINING",
            "ENHANCEDSTATUSCODES",
            "DSN",
            "STARTTLS",
            "AUTH PLAIN LOGIN",
            "HELP",
        )

    def test_helo_answers_with_the_name_only(self) -> None:
        reply = Session().say("HELO c")[0]
        assert (reply.code, reply.status, reply.lines) == (250, None, ("mx.example.test",))

    @pytest.mark.parametrize("line", ["EHLO", "EHLO ", "HELO", "EHLO a\x01b"])
    def test_a_name_is_required(self, line: str) -> None:
        assert Session().codes(line) == [(501, "5.5.4")]

    def test_the_name_is_handed_over(self) -> None:
        session = Session()
        session.say("ehlo  Client.Example ")
        assert session.of_type(Ehlo) == [Ehlo("Client.Example")]
        assert session.conn.client_name == "Client.Example" and session.conn.esmtp

    def test_control_characters_in_the_server_name_never_reach_the_wire(self) -> None:
        from smtpdsn.smtp import ServerConnection

        conn = ServerConnection("mx\r\n250 evil")
        conn.next_event()
        conn.send_reply()
        assert conn.data_to_send().count(b"\r\n") == 1


def mail(line: str, **options: Any) -> tuple[list[tuple[int, str | None]], Session]:
    session = Session(**options)
    session.say("EHLO c")
    return session.codes(line), session


def mail_event(session: Session) -> MailFrom:
    event = session.of_type(MailFrom)[-1]
    assert isinstance(event, MailFrom)
    return event


class TestMailParameters:
    """RFC 5321 section 4.1.1.11 and 4.2.4: unknown parameters get 555; the extensions'
    parameters are checked and handed over."""

    def test_size(self) -> None:
        """RFC 1870: ``SIZE=`` the message size in octets."""
        codes, session = mail("MAIL FROM:<a@x.test> SIZE=1234")
        assert codes == [(250, "2.1.0")] and mail_event(session).size == 1234

    @pytest.mark.parametrize("value", ["SIZE", "SIZE=", "SIZE=12a", "SIZE=-1", "SIZE=\u00b2"])
    def test_bad_size(self, value: str) -> None:
        codes, _ = mail(f"MAIL FROM:<a@x.test> {value}")
        assert codes == [(501, "5.5.4")]

    def test_size_over_the_limit(self) -> None:
        """RFC 1870: 552 for a declared size over the limit, however many digits."""
        codes, _ = mail("MAIL FROM:<a@x.test> SIZE=1001", max_message_size=1000)
        assert codes == [(552, "5.3.4")]
        assert mail("MAIL FROM:<a@x.test> SIZE=" + "9" * 30)[0] == [(552, "5.3.4")]

    @pytest.mark.parametrize(("value", "body"), [("8bitmime", "8BITMIME"), ("7BIT", "7BIT")])
    def test_body(self, value: str, body: str) -> None:
        """RFC 6152: ``BODY=7BIT`` or ``BODY=8BITMIME``."""
        codes, session = mail(f"MAIL FROM:<a@x.test> BODY={value}")
        assert codes == [(250, "2.1.0")] and mail_event(session).body == body

    @pytest.mark.parametrize("value", ["BODY=BINARYMIME", "BODY"])
    def test_bad_body(self, value: str) -> None:
        assert mail(f"MAIL FROM:<a@x.test> {value}")[0] == [(501, "5.5.4")]

    def test_unknown_parameters_get_555(self) -> None:
        codes, _ = mail("MAIL FROM:<a@x.test> XFOO=1")
        assert codes == [(555, "5.5.4")]
        assert mail("MAIL FROM:<a@x.test> SIZE=1 SIZE=2")[0] == [(501, "5.5.4")]

    def test_parameters_need_ehlo(self) -> None:
        session = Session()
        session.say("HELO c")
        assert session.codes("MAIL FROM:<a@x.test> SIZE=10") == [(501, "5.5.4")]
        assert session.codes("MAIL FROM:<a@x.test>") == [(250, "2.1.0")]

    def test_keywords_are_upper_cased_and_values_kept(self) -> None:
        codes, session = mail(
            "MAIL FROM:<a@x.test> ret=hdrs envid=AbC+2Bd auth=<>",
            auth_mechanisms=("PLAIN",),
            auth_require_tls=False,
        )
        assert codes == [(250, "2.1.0")]
        event = mail_event(session)
        assert event.params == {"RET": "hdrs", "ENVID": "AbC+2Bd", "AUTH": "<>"}
        assert (event.dsn.ret, event.dsn.envid) == ("HDRS", "AbC+d")


class TestSmtpUtf8:
    """RFC 6531 section 3.4: UTF-8 addresses only after ``MAIL ... SMTPUTF8``; without it
    553 5.6.7 (RFC 6531 section 3.7.4.1)."""

    def test_utf8_sender_needs_the_parameter(self) -> None:
        assert mail("MAIL FROM:<jöran@x.test>")[0] == [(553, "5.6.7")]
        codes, session = mail("MAIL FROM:<jöran@x.test> SMTPUTF8")
        assert codes == [(250, "2.1.0")]
        assert mail_event(session).smtputf8 and mail_event(session).address == "jöran@x.test"

    def test_utf8_recipient_needs_the_mail_parameter(self) -> None:
        session = Session()
        session.say("EHLO c", "MAIL FROM:<a@x.test>")
        assert session.codes("RCPT TO:<bjørn@x.test>") == [(553, "5.6.7")]
        session.say("RSET", "MAIL FROM:<a@x.test> SMTPUTF8")
        assert session.codes("RCPT TO:<bjørn@x.test>") == [(250, "2.1.5")]

    def test_smtputf8_takes_no_value(self) -> None:
        assert mail("MAIL FROM:<a@x.test> SMTPUTF8=yes")[0] == [(501, "5.5.4")]

    def test_when_not_offered(self) -> None:
        codes, session = mail("MAIL FROM:<a@x.test> SMTPUTF8", smtputf8=False)
        assert codes == [(555, "5.5.4")]
        assert session.codes("MAIL FROM:<jöran@x.test>") == [(500, "5.5.2")]  # 8-bit line


class TestDsnParameters:
    """RFC 3461 section 4: RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT; bad values
    501 5.5.4 naming the parameter."""

    @pytest.mark.parametrize(
        "params",
        ["RET=ALL", "RET", "ENVID=" + "e" * 101, "ENVID=a+zz", "RET=FULL RET=HDRS"],
    )
    def test_bad_mail_parameters(self, params: str) -> None:
        codes, _ = mail(f"MAIL FROM:<a@x.test> {params}")
        assert codes == [(501, "5.5.4")]

    def rcpt(self, params: str) -> tuple[list[tuple[int, str | None]], Session]:
        session = Session()
        session.say("EHLO c", "MAIL FROM:<a@x.test>")
        return session.codes(f"RCPT TO:<b@x.test> {params}"), session

    def test_notify_and_orcpt(self) -> None:
        codes, session = self.rcpt("notify=success,Delay ORCPT=rfc822;Bob+2BX@Example.TEST")
        assert codes == [(250, "2.1.5")]
        event = session.of_type(RcptTo)[-1]
        assert isinstance(event, RcptTo)
        assert event.dsn.notify == frozenset({"SUCCESS", "DELAY"})
        assert event.dsn.orcpt == ("rfc822", "Bob+X@Example.TEST")
        assert event.params["ORCPT"] == "rfc822;Bob+2BX@Example.TEST"

    def test_utf8_orcpt(self) -> None:
        """RFC 6533 section 3: the utf-8 address type carries non-ASCII addresses."""
        codes, session = self.rcpt("ORCPT=utf-8;j\\x{F6}ran@x.test")
        assert codes == [(250, "2.1.5")]
        event = session.of_type(RcptTo)[-1]
        assert isinstance(event, RcptTo) and event.dsn.orcpt == ("utf-8", "jöran@x.test")

    @pytest.mark.parametrize(
        "params",
        [
            "NOTIFY=NEVER,SUCCESS",
            "NOTIFY=SOMETIMES",
            "NOTIFY",
            "ORCPT=b@x.test",  # no address type
            "ORCPT=rfc822;" + "o" * 494,  # 501 characters
            "ORCPT=rfc822;a+0D+0Ab@x.test",  # a CRLF once decoded
            "ORCPT=rfc822;j+C3+B6ran@x.test",  # non-ASCII under rfc822 (RFC 3461 4.2)
            "ORCPT=RFC822;j+C3+B6ran@x.test",
        ],
    )
    def test_bad_rcpt_parameters(self, params: str) -> None:
        assert self.rcpt(params)[0] == [(501, "5.5.4")]

    def test_an_rfc822_orcpt_decoding_to_non_ascii_is_refused_by_dsnparams(self) -> None:
        """RFC 3461 section 4.2: an rfc822 original recipient is US-ASCII once decoded
        (non-ASCII ones use the utf-8 type of RFC 6533)."""
        with pytest.raises(DSNParameterError) as info:
            parse_rcpt_params("ORCPT=rfc822;caf+C3+A9@x.test")
        assert info.value.parameter == "ORCPT"
        assert info.value.reply.code == 501 and "US-ASCII" in info.value.reply.text
        assert parse_rcpt_params("ORCPT=x-local;caf+C3+A9@x.test").orcpt == (
            "x-local",
            "café@x.test",
        )

    def test_unknown_rcpt_parameter(self) -> None:
        assert self.rcpt("XFOO")[0] == [(555, "5.5.4")]


class TestAddresses:
    """RFC 5321 section 4.1.2 paths (the grammar is tested in test_smtp_address.py): the
    replies the core gives for bad ones."""

    def test_bad_sender_501_5_1_7(self) -> None:
        assert mail("MAIL FROM:<a b@x.test>")[0] == [(501, "5.1.7")]
        assert mail("MAIL TO:<a@x.test>")[0] == [(501, "5.5.4")]

    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            ("RCPT TO:<x y@example.com>", (553, "5.1.3")),  # an unquoted space
            ("RCPT TO:<@example.com>", (553, "5.1.3")),
            ("RCPT TO:<>", (501, "5.1.3")),  # no null forward-path
            ("RCPT FROM:<a@x.test>", (501, "5.5.4")),
            ("RCPT TO:<Postmaster>", (250, "2.1.5")),  # section 4.1.1.3
            ('RCPT TO:<"x y"@example.com>', (250, "2.1.5")),
        ],
    )
    def test_recipients(self, line: str, expected: tuple[int, str]) -> None:
        session = Session()
        session.say("EHLO c", "MAIL FROM:<a@x.test>")
        assert session.codes(line) == [expected]

    def test_null_sender(self) -> None:
        codes, session = mail("MAIL FROM:<>")
        assert codes == [(250, "2.1.0")] and mail_event(session).address == ""


class TestOtherCommands:
    """RFC 5321 section 4.1.1.8 (HELP: 211 or 214), 4.1.1.6 (VRFY: 252 "cannot verify"
    is allowed, section 3.5.3), 4.1.1.7 (EXPN: 502 when not implemented)."""

    def test_help(self) -> None:
        reply = Session().say("HELP")[0]
        assert (reply.code, str(reply.status)) == (214, "2.0.0")
        assert "MAIL" in reply.text
        assert Session().codes("HELP MAIL") == [(214, "2.0.0")]

    def test_vrfy(self) -> None:
        assert Session().codes("VRFY <a@x.test>", "VRFY postmaster@x.test") == [
            (252, "2.0.0"),
            (252, "2.0.0"),
        ]
        # RFC 5321 section 3.5.1: the argument may be a user name (any printable string).
        assert Session().codes("VRFY", "VRFY a b c") == [(501, "5.5.4"), (252, "2.0.0")]
        assert Session().codes("VRFY <@>") == [(502, "5.5.1")]

    def test_auth_parameter_only_when_auth_is_offered(self) -> None:
        """RFC 4954 section 5: MAIL's AUTH= belongs to the AUTH extension."""
        assert mail("MAIL FROM:<a@x.test> AUTH=<>")[0] == [(555, "5.5.4")]

    def test_expn(self) -> None:
        assert Session().codes("EXPN staff") == [(502, "5.5.1")]


class TestEnhancedStatusCodes:
    """RFC 2034 section 4: every 2xx, 4xx and 5xx reply carries an enhanced status, but
    the greeting and the replies to EHLO/HELO; RFC 3463: its class matches the code's."""

    def test_every_reply_of_a_session(self) -> None:
        def answer(event: Request) -> Reply | None:
            if isinstance(event, RcptTo) and event.address.startswith("no"):
                return Reply(550, "5.1.1", "unknown")
            return None

        session = Session(answer, max_message_size=50)
        replies = session.say(
            "NOOP",
            "FOO",
            "MAIL FROM:<a@x.test>",
            *transaction("a@x.test", "ok@x.test", "no@x.test", "a b@x.test"),
            "RCPT TO:<c@x.test> XFOO",
            "VRFY x",
            "HELP",
            "RSET",
            "MAIL FROM:<a@x.test>",
            "RCPT TO:<b@x.test>",
            "BDAT 60 LAST",
            "x" * 58,
            "QUIT",
        )
        for reply in replies:
            if reply.code == 250 and reply.lines[0] == "mx.example.test":
                assert reply.status is None
            else:
                assert reply.status is not None, reply
                assert reply.status.class_ == reply.code // 100, reply
