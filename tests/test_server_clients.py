"""Real clients against the server with its default rules: smtplib, aiosmtplib and swaks."""

from __future__ import annotations

import asyncio
import shutil
import smtplib
import subprocess
from pathlib import Path

import aiosmtplib
import pytest

import smtpdsn
from smtpdsn.server.app import ServerConfig
from tests.server_support import ServerThread, maildir_files

EHLO_LINES = [
    "250-smtpdsn.test",
    "250-SIZE 10485760",
    "250-8BITMIME",
    "250-SMTPUTF8",
    "250-PIPELINING",
    "250-CHUNKING",
    "250-ENHANCEDSTATUSCODES",
    "250-DSN",
    "250 HELP",
]
GREETING = f"220 smtpdsn.test smtpdsn {smtpdsn.__version__}"
MESSAGE = b"From: s@x.test\r\nSubject: test\r\n\r\nHello.\r\n.leading dot\r\n"


def server(tmp_path: Path) -> ServerThread:
    return ServerThread(config=ServerConfig(maildir=tmp_path / "md"))


def test_smtplib(tmp_path: Path) -> None:
    with server(tmp_path) as st, smtplib.SMTP("127.0.0.1", st.port, timeout=10) as c:
        assert c.ehlo("client.test") == (250, "\n".join(x[4:] for x in EHLO_LINES).encode())
        assert c.noop() == (250, b"2.0.0 OK")
        assert c.mail("s@x.test") == (250, b"2.1.0 Sender OK")
        assert c.rcpt("ok@x.test") == (250, b"2.1.5 Recipient OK")
        assert c.rcpt("unknown@x.test") == (550, b"5.1.1 No such user")
        assert c.rcpt("full@x.test") == (450, b"4.2.2 Mailbox full")
        assert c.rcpt("disabled@x.test") == (550, b"5.2.1 Mailbox disabled, not accepting messages")
        code, msg = c.data(MESSAGE)
        assert code == 250 and msg.startswith(b"2.0.0 Message accepted for delivery as ")
        assert c.rset() == (250, b"2.0.0 OK")
        assert c.rcpt("a@b") == (503, b"5.5.1 Error: need MAIL command")
        assert c.docmd("DATA") == (503, b"5.5.1 Error: need RCPT command")
        # RFC 3030: a BDAT out of order still has its chunk read before the 503.
        c.send(b"BDAT 5\r\nabcde")
        assert c.getreply() == (503, b"5.5.1 Error: need MAIL command")
        assert c.mail("s@x.test") == (250, b"2.1.0 Sender OK")
        assert c.rcpt("x@blocked.test") == (550, b"5.7.1 Delivery not authorized, message refused")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            c.noop()
    with server(tmp_path) as st, smtplib.SMTP("127.0.0.1", st.port, timeout=10) as c:
        c.ehlo("client.test")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            c.sendmail("s@x.test", ["unknown@x.test", "full@x.test"], MESSAGE)
        assert info.value.recipients == {
            "unknown@x.test": (550, b"5.1.1 No such user"),
            "full@x.test": (450, b"4.2.2 Mailbox full"),
        }
        replies = smtpdsn.replies_from_refused(info.value.recipients)
        assert str(replies["unknown@x.test"]) == "550 5.1.1 No such user"
        assert c.quit() == (221, b"2.0.0 Bye")
    assert maildir_files(tmp_path / "md") == [MESSAGE]


def test_aiosmtplib(tmp_path: Path) -> None:
    async def talk(port: int) -> list[tuple[int, str]]:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10)
        try:
            return await steps(client)
        finally:
            client.close()

    async def steps(client: aiosmtplib.SMTP) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        greeting = await client.connect()
        out.append((greeting.code, greeting.message))
        r = await client.ehlo(hostname="client.test")
        out.append((r.code, r.message))
        for coro in (
            client.mail("s@x.test"),
            client.rcpt("ok@x.test"),
            client.rcpt("unknown@x.test"),
            client.rcpt("full@x.test"),
        ):
            try:
                r = await coro
            except aiosmtplib.SMTPResponseException as exc:
                r = aiosmtplib.SMTPResponse(exc.code, exc.message)
            out.append((r.code, r.message))
        r = await client.data(MESSAGE)
        out.append((r.code, r.message.split(" as ")[0]))
        try:
            await client.mail("s@blocked.test")
        except aiosmtplib.SMTPSenderRefused as exc:
            out.append((exc.code, exc.message))
        try:
            await client.noop()
        except aiosmtplib.SMTPServerDisconnected:
            out.append((0, "disconnected"))
        return out

    with server(tmp_path) as st:
        out = asyncio.run(talk(st.port))
    assert out == [
        (220, GREETING[4:]),
        (250, "\n".join(x[4:] for x in EHLO_LINES)),
        (250, "2.1.0 Sender OK"),
        (250, "2.1.5 Recipient OK"),
        (550, "5.1.1 No such user"),
        (450, "4.2.2 Mailbox full"),
        (250, "2.0.0 Message accepted for delivery"),
        (550, "5.7.1 Delivery not authorized, message refused"),
        (0, "disconnected"),
    ]
    assert maildir_files(tmp_path / "md") == [MESSAGE]


SWAKS = shutil.which("swaks")
needs_swaks = pytest.mark.skipif(
    SWAKS is None, reason="swaks is not installed (apt-get install swaks; .ci/run installs it)"
)


def swaks(port: int, *args: str) -> tuple[int, list[str]]:
    assert SWAKS is not None
    proc = subprocess.run(
        [SWAKS, "--server", "127.0.0.1", "--port", str(port), "--helo", "client.test",
         "--from", "s@x.test", "--hide-informational", "--body", "hello", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    received = [line[4:] for line in proc.stdout.splitlines() if line[:3] in ("<- ", "<**")]
    return proc.returncode, received


@needs_swaks
@pytest.mark.parametrize("pipeline", [False, True])
def test_swaks(tmp_path: Path, pipeline: bool) -> None:
    extra = ["--pipeline"] if pipeline else []
    with server(tmp_path) as st:
        code, lines = swaks(st.port, "--to", "ok@x.test,unknown@x.test,full@x.test", *extra)
    assert code == 0
    assert lines[:10] == [GREETING, *EHLO_LINES]
    assert lines[10:14] == [
        "250 2.1.0 Sender OK",
        "250 2.1.5 Recipient OK",
        "550 5.1.1 No such user",
        "450 4.2.2 Mailbox full",
    ]
    assert lines[14] == "354 End data with <CR><LF>.<CR><LF>"
    assert lines[15].startswith("250 2.0.0 Message accepted for delivery as ")
    assert lines[16:] == ["221 2.0.0 Bye"]
    assert len(maildir_files(tmp_path / "md")) == 1


@needs_swaks
def test_swaks_rejections(tmp_path: Path) -> None:
    with server(tmp_path) as st:
        code, lines = swaks(st.port, "--to", "unknown@x.test")
        assert code == 24  # swaks: every recipient was refused
        assert lines[-2:] == ["550 5.1.1 No such user", "221 2.0.0 Bye"]
        code, lines = swaks(st.port, "--to", "x@blocked.test")
        assert lines[-1] == "550 5.7.1 Delivery not authorized, message refused"
        code, lines = swaks(st.port, "--to", "ok@x.test", "--quit-after", "RCPT")
        assert code == 0 and lines[-2:] == ["250 2.1.5 Recipient OK", "221 2.0.0 Bye"]
    assert maildir_files(tmp_path / "md") == []
