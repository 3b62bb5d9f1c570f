"""RFC 2034: every 2xx/4xx/5xx reply carries a fitting enhanced code, the core's own included.

A handler without plugins leaves every reply to the protocol core; a raw socket client drives
each command and error path and checks each reply line exactly.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import smtpdsn
from smtpdsn import DENY
from smtpdsn.server.enhance import add_enhanced_status, has_enhanced_status, status_for
from smtpdsn.server.handler import PluginHandler
from smtpdsn.server.session import Session
from tests.server_support import RawClient, ServerThread

GREETING = f"220 smtpdsn.test smtpdsn {smtpdsn.__version__}"
EHLO = (
    "250-smtpdsn.test\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-PIPELINING\r\n"
    "250-CHUNKING\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250 HELP"
)
MAIL_SYNTAX = "501 5.5.4 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"
RCPT_SYNTAX = "501 5.5.4 Syntax: RCPT TO: <address> [SP <mail-parameters>]"
HELP = (
    "214 2.0.0 Supported commands: AUTH BDAT DATA EHLO EXPN HELO HELP MAIL NOOP QUIT RCPT "
    "RSET STARTTLS VRFY"
)
BAD_SENDER = "501 5.1.7 Bad sender address syntax: "
BAD_RECIPIENT = "553 5.1.3 Bad recipient address syntax: "

# Two sessions, each under the limit of 20 protocol errors per connection.
SESSION_1: list[tuple[str, str]] = [
    ("MAIL FROM:<a@b>", "503 5.5.1 Error: send HELO first"),
    ("RCPT TO:<a@b>", "503 5.5.1 Error: send HELO first"),
    ("DATA", "503 5.5.1 Error: send HELO first"),
    ("HELO", "501 5.5.4 Syntax: HELO hostname"),
    ("EHLO", "501 5.5.4 Syntax: EHLO hostname"),
    ("HELO client.test", "250 smtpdsn.test"),
    ("MAIL FROM:<a@b> SIZE=10", "501 5.5.4 Syntax: MAIL FROM: <address>"),
    ("RSET", "250 2.0.0 OK"),
    ("EHLO client.test", EHLO),
    ("NOOP", "250 2.0.0 OK"),
    ("NOOP anything", "250 2.0.0 OK"),
    ("HELP", HELP),
    ("HELP MAIL", "214 2.0.0 Syntax: MAIL FROM: <address> [SP <mail-parameters>]"),
    ("VRFY", "501 5.5.4 Syntax: VRFY <address>"),
    ("VRFY <a@b>", "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery"),
    ("VRFY <@>", "502 5.5.1 Could not VRFY <@>"),
    ("EXPN list", "502 5.5.1 EXPN not implemented"),
    ("RCPT TO:<a@b>", "503 5.5.1 Error: need MAIL command"),
    ("DATA", "503 5.5.1 Error: need RCPT command"),
    ("MAIL", MAIL_SYNTAX),
    ("MAIL TO:<a@b>", MAIL_SYNTAX),
]
SESSION_2: list[tuple[str, str]] = [
    ("EHLO client.test", EHLO),
    ("MAIL FROM:", MAIL_SYNTAX),
    ("MAIL FROM:<@@>", BAD_SENDER + "the mailbox '@@' has an empty local part"),
    ("MAIL FROM:<a@b> BODY=9BIT", "501 5.5.4 Error: BODY can only be one of 7BIT, 8BITMIME"),
    ("MAIL FROM:<a@b> SMTPUTF8=x", "501 5.5.4 Error: SMTPUTF8 takes no arguments"),
    ("MAIL FROM:<a@b> SIZE=abc", "501 5.5.4 Invalid parameter SIZE: a number of octets is needed"),
    (
        "MAIL FROM:<a@b> SIZE=999999999",
        "552 5.3.4 Error: message size exceeds fixed maximum message size",
    ),
    (
        "MAIL FROM:<a@b> FOO=1",
        "555 5.5.4 MAIL FROM parameter FOO not recognized or not implemented",
    ),
    (
        "MAIL FROM:<a@b> RET=FULL RET=FULL",
        "501 5.5.4 Invalid parameter RET: the parameter is given more than once",
    ),
    ("MAIL FROM:<a@b> =x", "501 5.5.4 Invalid parameters: '=x' is not a valid ESMTP parameter"),
    ("MAIL FROM:<a@b> BODY=8bitmime", "250 2.1.0 Sender OK"),
    ("MAIL FROM:<c@d>", "503 5.5.1 Error: nested MAIL command"),
    ("RCPT", RCPT_SYNTAX),
    ("RCPT FROM:<a@b>", RCPT_SYNTAX),
    ("RCPT TO:<@@>", BAD_RECIPIENT + "the mailbox '@@' has an empty local part"),
    ("RCPT TO:<a@b> SIZE=1", "555 5.5.4 RCPT TO parameter SIZE not recognized or not implemented"),
    ("RCPT TO:<a@b>", "250 2.1.5 Recipient OK"),
    ("DATA x", "501 5.5.4 Syntax: DATA"),
    ("RSET x", "501 5.5.4 Syntax: RSET"),
    ("QUIT x", "501 5.5.4 Syntax: QUIT"),
    ("STARTTLS", "454 4.7.0 TLS not available"),
    ("STARTTLS x", "501 5.5.4 Syntax: STARTTLS"),
    ("AUTH PLAIN", "502 5.5.1 Error: authentication not enabled"),
    ("", "500 5.5.2 Error: bad syntax"),
    ("NOOP " + "x" * 600, "500 5.5.2 Command line too long"),
]


def test_every_builtin_reply_carries_a_fitting_code() -> None:
    with ServerThread(PluginHandler(), data_size_limit=1000) as st:
        with RawClient(st.port) as c:
            assert c.reply() == GREETING
            for command, expected in SESSION_1:
                assert c.cmd(command) == expected, command
        with RawClient(st.port) as c:
            assert c.reply() == GREETING
            for command, expected in SESSION_2:
                assert c.cmd(command) == expected, command
            # DATA: 354 has no code; the end-of-data replies do.
            assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
            assert c.cmd("x" * 2000 + "\r\n.") == "500 5.5.2 Line too long (see RFC5321 4.5.3.1.6)"
            assert c.cmd("MAIL FROM:<a@b>") == "250 2.1.0 Sender OK"
            assert c.cmd("RCPT TO:<a@b>") == "250 2.1.5 Recipient OK"
            assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
            assert c.cmd(("y" * 500 + "\r\n") * 3 + ".") == "552 5.3.4 Error: Too much mail data"
            assert c.cmd("MAIL FROM:<a@b>") == "250 2.1.0 Sender OK"
            assert c.cmd("RCPT TO:<a@b>") == "250 2.1.5 Recipient OK"
            assert c.cmd("DATA") == "354 End data with <CR><LF>.<CR><LF>"
            assert c.cmd("hello\r\n.") == "250 2.0.0 Message accepted for delivery"
        with RawClient(st.port) as c:
            assert c.reply() == GREETING
            assert c.cmd("X" * 1200) == "500 5.5.2 Command line too long"
            assert c.cmd("BOGUS") == '500 5.5.1 Error: command "BOGUS" not recognized'
            assert c.cmd("NO\x00OP") == '500 5.5.1 Error: command "NO?OP" not recognized'
            assert c.cmd("QUIT") == "221 2.0.0 Bye"
            assert c.closed()


def test_too_many_errors_end_with_421() -> None:
    """After 19 protocol errors the 20th gets 421 4.7.0 and the connection closes (the
    command is answered: one reply per command, RFC 5321 section 3.8)."""
    with ServerThread(PluginHandler()) as st, RawClient(st.port) as c:
        c.reply()
        for i in range(19):
            assert c.cmd(f"BOGUS{i}") == f'500 5.5.1 Error: command "BOGUS{i}" not recognized'
        assert c.cmd("NOOP") == "250 2.0.0 OK"  # a good command in between is answered
        assert c.cmd("BOGUS") == "421 4.7.0 smtpdsn.test Error: too many errors"
        assert c.closed()


def test_strict_ascii_mode_and_8bit_garbage() -> None:
    with ServerThread(PluginHandler(), enable_smtputf8=False) as st, RawClient(st.port) as c:
        c.reply()
        assert "SMTPUTF8" not in c.cmd("EHLO x")
        assert c.cmd("MAIL FROM:<jö@b>".encode()) == "500 5.5.2 Error: strict ASCII mode"
        assert c.cmd("NOOP") == "250 2.0.0 OK"
    with ServerThread(PluginHandler()) as st, RawClient(st.port) as c:
        c.reply()
        assert c.cmd(b"\xff\xfe") == "500 5.5.2 Error: bad syntax"
        assert c.cmd("NOOP") == "250 2.0.0 OK"


def test_plugin_replies_without_code_get_one() -> None:
    class Strings:
        def hook_rcpt(self, session: object, envelope: object, address: str, params: object) -> str:
            if address.startswith("multi"):
                return "550-first line\r\n550 second line"
            if address.startswith("coded"):
                return str(smtpdsn.no_such_user())
            return "450 Try later"

    with ServerThread(plugins=[Strings()]) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        assert c.cmd("MAIL FROM:<a@b>") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<multi@x>") == "550-5.0.0 first line\r\n550 5.0.0 second line"
        assert c.cmd("RCPT TO:<coded@x>") == "550 5.1.1 No such user"
        assert c.cmd("RCPT TO:<other@x>") == "450 4.0.0 Try later"


@pytest.mark.parametrize(
    ("reply", "command", "expected"),
    [
        ("250 OK", "MAIL", "250 2.1.0 OK"),
        ("250 OK", "RCPT", "250 2.1.5 OK"),
        ("250 OK", "DATA", "250 2.0.0 OK"),
        ("250 OK", None, "250 2.0.0 OK"),
        ("221 Bye", "QUIT", "221 2.0.0 Bye"),
        ("503 Error: need MAIL command", "RCPT", "503 5.5.1 Error: need MAIL command"),
        ("501 Syntax: RSET", "RSET", "501 5.5.4 Syntax: RSET"),
        ("552 Error: Too much mail data", "DATA", "552 5.3.4 Error: Too much mail data"),
        ("421 closing", None, "421 4.0.0 closing"),
        ("599 odd", None, "599 5.0.0 odd"),
        ("250", None, "250 2.0.0"),
        ("250-a\r\n250-\r\n250 b", None, "250-2.0.0 a\r\n250-2.0.0\r\n250 2.0.0 b"),
        ("550-5.1.1 a\r\n550 5.1.1 b", None, "550-5.1.1 a\r\n550 5.1.1 b"),
        ("354 Go ahead", "DATA", "354 Go ahead"),
        ("334 VXNlcm5hbWU6", "AUTH", "334 VXNlcm5hbWU6"),
        ("not a reply", None, "not a reply"),
        ("550-a\r\n451 b", None, "550-a\r\n451 b"),
        ("550 5.1.10 null MX", None, "550 5.1.10 null MX"),
    ],
)
def test_add_enhanced_status(reply: str, command: str | None, expected: str) -> None:
    assert add_enhanced_status(reply, command) == expected


def test_helpers() -> None:
    assert has_enhanced_status("5.1.1 x")
    assert has_enhanced_status("2.0.0")
    assert not has_enhanced_status("5.1.1x")
    assert not has_enhanced_status("OK")
    assert status_for(354, "x", "DATA") is None
    assert status_for(250, "x", "AUTH") == "2.7.0"


def _auth_ok(session: Session, mechanism: str, user: str, password: str) -> bool:
    return user == "user" and password == "pass"


AUTH_SESSION: list[tuple[str, str]] = [
    ("AUTH PLAIN", "503 5.5.1 Error: send EHLO first"),
    ("HELO x", "250 smtpdsn.test"),
    ("AUTH PLAIN", "503 5.5.1 Error: send EHLO first"),
    ("EHLO x", EHLO.replace("250-DSN", "250-DSN\r\n250-AUTH PLAIN LOGIN")),
    ("AUTH", "501 5.5.4 Syntax: AUTH mechanism [initial-response]"),
    ("AUTH PLAIN a b", "501 5.5.4 Syntax: AUTH mechanism [initial-response]"),
    ("AUTH FOO", "504 5.5.4 Unrecognized authentication type"),
    ("AUTH PLAIN !!!", "501 5.5.2 Cannot decode the response (invalid base64)"),
    (
        "AUTH PLAIN " + base64.b64encode(b"\0user\0bad").decode(),
        "535 5.7.8 Authentication credentials invalid",
    ),
    ("AUTH PLAIN", "334 "),
    ("*", "501 5.7.0 Authentication cancelled"),
    ("AUTH LOGIN", "334 VXNlcm5hbWU6"),
    (base64.b64encode(b"user").decode(), "334 UGFzc3dvcmQ6"),
    (base64.b64encode(b"pass").decode(), "235 2.7.0 Authentication successful"),
    ("AUTH PLAIN x", "503 5.5.1 Already authenticated"),
    ("NOOP", "250 2.0.0 OK"),
]


def test_auth_replies() -> None:
    with (
        ServerThread(
            PluginHandler(), data_size_limit=1000, auth_require_tls=False, authenticator=_auth_ok
        ) as st,
        RawClient(st.port) as c,
    ):
        c.reply()
        for command, expected in AUTH_SESSION:
            assert c.cmd(command) == expected, command


def test_auth_needs_tls_unless_told_otherwise() -> None:
    with ServerThread(PluginHandler(), authenticator=_auth_ok) as st, RawClient(st.port) as c:
        c.reply()
        assert "AUTH" not in c.cmd("EHLO x")  # RFC 4954 section 4: not offered in plain text
        assert c.cmd("AUTH PLAIN") == (
            "538 5.7.11 Encryption required for requested authentication mechanism"
        )


def test_auth_required_replies() -> None:
    with (
        ServerThread(
            PluginHandler(), auth_require_tls=False, auth_required=True, authenticator=_auth_ok
        ) as st,
        RawClient(st.port) as c,
    ):
        c.reply()
        c.cmd("EHLO x")
        assert c.cmd("MAIL FROM:<a@b>") == "530 5.7.0 Authentication required"
        assert c.cmd("AUTH PLAIN " + base64.b64encode(b"\0user\0pass").decode()) == (
            "235 2.7.0 Authentication successful"
        )
        assert c.cmd("MAIL FROM:<a@b>") == "250 2.1.0 Sender OK"


def test_plugin_exceptions_answer_451() -> None:
    class Broken:
        async def hook_rcpt(self, *args: object) -> object:
            raise RuntimeError("plugin bug")

    with ServerThread(plugins=[Broken()]) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@b>")
        assert c.cmd("RCPT TO:<c@d>") == "451 4.3.0 Temporary local problem, try again later"
        assert c.cmd("NOOP") == "250 2.0.0 OK"


def test_deny_from_a_plugin_keeps_its_code() -> None:
    class Deny:
        def hook_rcpt(self, *args: object) -> object:
            return DENY, smtpdsn.no_such_user()

    with ServerThread(plugins=[Deny()]) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@b>")
        assert c.cmd("RCPT TO:<c@d>") == "550 5.1.1 No such user"


_TEXT_LINES = st.lists(
    # Text that starts with a digit could itself read as an enhanced code ("2.0.0"), which
    # would make the "plain" reply not plain; such replies are left alone by design.
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).filter(
        lambda t: not t[:1].isdigit()
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([211, 214, 220, 221, 250, 251, 252, 421, 450, 451, 452, 500, 501, 502, 503,
                     504, 530, 550, 551, 552, 553, 554, 555]),
    _TEXT_LINES,
    st.sampled_from([None, "MAIL", "RCPT", "DATA", "NOOP", "QUIT"]),
)  # fmt: skip
def test_add_enhanced_status_properties(code: int, lines: list[str], command: str | None) -> None:
    plain = smtpdsn.Reply(code, None, lines)  # a well-formed reply without enhanced codes
    coded = add_enhanced_status(str(plain), command)
    parsed = smtpdsn.parse_reply(coded)
    assert parsed.code == code
    assert parsed.status is not None and parsed.status.class_ == code // 100
    assert all(has_enhanced_status(line[4:]) for line in coded.split("\r\n"))
    assert add_enhanced_status(coded, command) == coded  # idempotent
    assert [line.removeprefix(f"{parsed.status} ") for line in parsed.lines] == list(plain.lines)
