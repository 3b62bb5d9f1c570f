"""RFC 3461 over the wire: DSN parameters accepted, validated, decoded, kept per recipient."""

from __future__ import annotations

import asyncio
import smtplib
from typing import Any

import aiosmtplib
import pytest

import smtpdsn
from smtpdsn import DENY
from smtpdsn.dsnparams import MailParams, RcptParams
from tests.server_support import RawClient, ServerThread


class Recorder:
    """Records what the plugins see: the params per hook, the envelope at DATA."""

    def __init__(self) -> None:
        self.mail: list[MailParams] = []
        self.rcpt: list[tuple[str, RcptParams]] = []
        self.data: list[dict[str, Any]] = []

    async def hook_mail(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        self.mail.append(params)
        return None

    async def hook_rcpt(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        self.rcpt.append((address, params))
        if address.startswith("unknown"):
            return DENY, smtpdsn.no_such_user()
        return None

    async def hook_data(self, session: Any, envelope: Any) -> object:
        self.data.append(
            {
                "mail": envelope.dsn_mail,
                "rcpt": dict(envelope.dsn_rcpt),
                "mail_options": list(envelope.mail_options),
                "rcpt_options": list(envelope.rcpt_options),
                "rcpt_tos": list(envelope.rcpt_tos),
            }
        )
        return None


def test_parameters_are_decoded_case_preserved_and_kept_per_recipient() -> None:
    rec = Recorder()
    with ServerThread(plugins=[rec]) as st, RawClient(st.port) as c:
        c.reply()
        assert "250-DSN" in c.cmd("EHLO client.test")
        assert c.cmd("MAIL FROM:<s@x> RET=full ENVID=AbC+2Bx") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<r1@x> NOTIFY=success,Delay ORCPT=rfc822;R1+2B@X") == (
            "250 2.1.5 Recipient OK"
        )
        assert c.cmd("RCPT TO:<r2@x> orcpt=UTF-8;j\\x{F6}ran@X") == "250 2.1.5 Recipient OK"
        assert c.cmd("RCPT TO:<r3@x>") == "250 2.1.5 Recipient OK"
        assert c.cmd("RCPT TO:<unknown@x> NOTIFY=NEVER") == "550 5.1.1 No such user"
        assert c.cmd("RCPT TO:<r4@x> NOTIFY=NEVER") == "250 2.1.5 Recipient OK"
        assert c.cmd("DATA").startswith("354 ")
        assert c.cmd("x\r\n.") == "250 2.0.0 Message accepted for delivery"
        # The next transaction starts with empty DSN parameters.
        assert c.cmd("MAIL FROM:<s@x>") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<r5@x>") == "250 2.1.5 Recipient OK"
        assert c.cmd("DATA").startswith("354 ")
        assert c.cmd("y\r\n.") == "250 2.0.0 Message accepted for delivery"
    first, second = rec.data
    assert first["mail"] == MailParams("FULL", "AbC+x")
    assert first["rcpt"] == {
        "r1@x": RcptParams(frozenset({"SUCCESS", "DELAY"}), ("rfc822", "R1+@X")),
        "r2@x": RcptParams(None, ("UTF-8", "jöran@X")),
        "r3@x": RcptParams(),
        "r4@x": RcptParams(frozenset({"NEVER"})),
    }
    assert first["rcpt_tos"] == ["r1@x", "r2@x", "r3@x", "r4@x"]
    assert first["mail_options"] == ["RET=full", "ENVID=AbC+2Bx"]
    assert "ORCPT=rfc822;R1+2B@X" in first["rcpt_options"]
    assert second["mail"] == MailParams()
    assert second["rcpt"] == {"r5@x": RcptParams()}
    assert rec.mail[0] == MailParams("FULL", "AbC+x")
    assert rec.rcpt[0] == ("r1@x", RcptParams(frozenset({"SUCCESS", "DELAY"}), ("rfc822", "R1+@X")))


BAD_MAIL = [
    ("RET=ALL", "501 5.5.4 Invalid parameter RET: 'ALL' is not FULL or HDRS"),
    ("RET", "501 5.5.4 Invalid parameter RET: a value is required"),
    ("RET=FULL ret=HDRS", "501 5.5.4 Invalid parameter RET: the parameter is given more than once"),
    (
        "ENVID=" + "x" * 101,
        "501 5.5.4 Invalid parameter ENVID: longer than 100 characters (RFC 3461 section 4.4)",
    ),
    (
        "ENVID=a+0Db",
        "501 5.5.4 Invalid parameter ENVID: the envelope identifier must be "
        "printable US-ASCII text",
    ),
    ("ENVID=a+zz", "501 5.5.4 Invalid parameter ENVID: the value is not valid xtext"),
]
BAD_RCPT = [
    (
        "NOTIFY=NEVER,SUCCESS",
        "501 5.5.4 Invalid parameter NOTIFY: NEVER cannot be combined with other values",
    ),
    (
        "NOTIFY=SOMETIMES",
        "501 5.5.4 Invalid parameter NOTIFY: 'SOMETIMES' is not NEVER, SUCCESS, DELAY or FAILURE",
    ),
    (
        "NOTIFY=SUCCESS NOTIFY=FAILURE",
        "501 5.5.4 Invalid parameter NOTIFY: the parameter is given more than once",
    ),
    (
        "ORCPT=a@b",
        "501 5.5.4 Invalid parameter ORCPT: expected an address type, ';' and an address",
    ),
    (
        "ORCPT=utf-8;a\\b",
        "501 5.5.4 Invalid parameter ORCPT: the address is not valid utf-8-addr-xtext",
    ),
    (
        "ORCPT=rfc822;" + "a" * 495,
        "501 5.5.4 Invalid parameter ORCPT: longer than 500 characters (RFC 3461 section 4.2)",
    ),
]


@pytest.mark.parametrize(("params", "expected"), BAD_MAIL)
def test_invalid_mail_parameters(params: str, expected: str) -> None:
    with ServerThread(plugins=[Recorder()]) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        assert c.cmd(f"MAIL FROM:<a@b> {params}") == expected
        assert c.cmd("MAIL FROM:<a@b>") == "250 2.1.0 Sender OK"  # nothing was kept


@pytest.mark.parametrize(("params", "expected"), BAD_RCPT)
def test_invalid_rcpt_parameters(params: str, expected: str) -> None:
    rec = Recorder()
    with ServerThread(plugins=[rec]) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@b>")
        assert c.cmd(f"RCPT TO:<r@b> {params}") == expected
        assert c.cmd("DATA") == "503 5.5.1 Error: need RCPT command"
    assert rec.rcpt == []  # the plugins never saw the invalid command


def test_longest_parameters_fit_the_raised_line_limits() -> None:
    envid = "E" * 100
    orcpt = "rfc822;" + "o" * 480 + "@x.test"
    with ServerThread(plugins=[Recorder()]) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        long_mail = f"MAIL FROM:<{'s' * 64}@{'d' * 180}.test> SIZE=100 RET=HDRS ENVID={envid}"
        assert c.cmd(long_mail) == "250 2.1.0 Sender OK"
        long_rcpt = f"RCPT TO:<{'r' * 64}@x.test> NOTIFY=SUCCESS,DELAY,FAILURE ORCPT={orcpt}"
        assert len(long_rcpt) > 512
        assert c.cmd(long_rcpt) == "250 2.1.5 Recipient OK"
        # After HELO (no extensions) the limit is RFC 5321's 512 octets.
        c.cmd("HELO x")
        c.cmd("MAIL FROM:<a@b>")
        assert c.cmd(long_rcpt) == "500 5.5.2 Command line too long"


def test_smtplib_sends_dsn_parameters() -> None:
    rec = Recorder()
    with (
        ServerThread(plugins=[rec]) as st,
        smtplib.SMTP("127.0.0.1", st.port, timeout=10) as client,
    ):
        client.ehlo("client.test")
        assert client.has_extn("dsn") and client.has_extn("enhancedstatuscodes")
        refused = client.sendmail(
            "s@x",
            ["ok@x", "unknown@x"],
            b"Subject: t\r\n\r\nbody\r\n",
            mail_options=["RET=HDRS", "ENVID=id+2B1"],
            rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Ok@X"],
        )
        assert refused == {"unknown@x": (550, b"5.1.1 No such user")}
    assert rec.data[0]["mail"] == MailParams("HDRS", "id+1")
    assert rec.data[0]["rcpt"] == {
        "ok@x": RcptParams(frozenset({"SUCCESS", "FAILURE"}), ("rfc822", "Ok@X"))
    }


def test_aiosmtplib_sends_dsn_parameters() -> None:
    rec = Recorder()

    async def send(port: int) -> tuple[dict[str, Any], str]:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10)
        await client.connect()
        try:
            errors, message = await client.sendmail(
                "s@x",
                ["ok@x", "unknown@x"],
                b"Subject: t\r\n\r\nbody\r\n",
                mail_options=["RET=FULL", "ENVID=xyz"],
                rcpt_options=["NOTIFY=NEVER"],
            )
        finally:
            await client.quit()
        return errors, message

    with ServerThread(plugins=[rec]) as st:
        errors, message = asyncio.run(send(st.port))
    assert message == "2.0.0 Message accepted for delivery"
    assert {k: (v.code, v.message) for k, v in errors.items()} == {
        "unknown@x": (550, "5.1.1 No such user")
    }
    assert rec.data[0]["mail"] == MailParams("FULL", "xyz")
    assert rec.data[0]["rcpt"] == {"ok@x": RcptParams(frozenset({"NEVER"}))}


def test_utf8_orcpt_unitext_and_smtputf8() -> None:
    rec = Recorder()
    with ServerThread(plugins=[rec]) as st, RawClient(st.port) as c:
        c.reply()
        assert "250-SMTPUTF8" in c.cmd("EHLO x")
        assert c.cmd(b"MAIL FROM:<s@x> SMTPUTF8") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<jöran@x.test> ORCPT=utf-8;Jöran@X.test".encode()) == (
            "250 2.1.5 Recipient OK"
        )
        assert c.cmd("RCPT TO:<b@x> ORCPT=rfc822;jöran@x".encode()) == (
            "501 5.5.4 Invalid parameter ORCPT: the address is not valid xtext"
        )
        assert c.cmd(b"RCPT TO:<c@x> ORCPT=utf-8;a\xffb") == (
            "501 5.5.4 Invalid parameter ORCPT: the value is empty or contains invalid characters"
        )
        c.cmd("DATA")
        assert c.cmd("x\r\n.") == "250 2.0.0 Message accepted for delivery"
    assert rec.data[0]["rcpt"] == {"jöran@x.test": RcptParams(None, ("utf-8", "Jöran@X.test"))}
