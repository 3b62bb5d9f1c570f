"""Bad input: each bad client gets a correct enhanced code or loses only its own connection;
the server keeps serving others and leaves nothing partial in the Maildir."""

from __future__ import annotations

import random
import re
import socket
import time
from pathlib import Path

import smtpdsn
from smtpdsn.server.app import ServerConfig
from tests.server_support import RawClient, ServerThread, maildir_files

CODED = re.compile(r"[245][0-9]{2}[ -][245]\.[0-9]{1,3}\.[0-9]{1,3}( .*)?")


def server(tmp_path: Path, **kwargs: float) -> ServerThread:
    return ServerThread(config=ServerConfig(maildir=tmp_path / "md", **kwargs))  # type: ignore[arg-type]


def works(port: int) -> None:
    """A normal client is served normally."""
    with RawClient(port) as c:
        assert c.reply().startswith("220 ")
        assert c.cmd("EHLO ok.test").endswith("250 HELP")
        assert c.cmd("MAIL FROM:<a@b>") == "250 2.1.0 Sender OK"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"


def test_overlong_command_lines(tmp_path: Path) -> None:
    with server(tmp_path) as st, RawClient(st.port) as c:
        c.reply()
        assert c.cmd("EHLO x").endswith("250 HELP")
        assert c.cmd("NOOP " + "a" * 100_000) == "500 5.5.2 Command line too long"
        assert c.cmd("MAIL FROM:<" + "a" * 2000 + "@b>") == "500 5.5.2 Command line too long"
        assert c.cmd("RCPT TO:<a@b> ORCPT=rfc822;" + "x" * 1100) == (
            "500 5.5.2 Command line too long"
        )
        assert c.cmd("MAIL FROM:<a@b>") == "250 2.1.0 Sender OK"
        works(st.port)


def test_invalid_dsn_parameters_do_not_disturb_the_session(tmp_path: Path) -> None:
    with server(tmp_path) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        assert c.cmd("MAIL FROM:<a@b> ENVID=\x01") == (
            "501 5.5.4 Invalid parameter ENVID: the value is empty or contains invalid characters"
        )
        assert c.cmd("MAIL FROM:<a@b> RET=HDRS") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<c@d> NOTIFY=") == (
            "501 5.5.4 Invalid parameter NOTIFY: the value is empty or contains invalid characters"
        )
        assert c.cmd("RCPT TO:<c@d> NOTIFY=FAILURE") == "250 2.1.5 Recipient OK"


def test_garbage_and_nul_bytes(tmp_path: Path) -> None:
    rng = random.Random(3461)
    with server(tmp_path) as st:
        for _ in range(20):
            with RawClient(st.port) as c:
                c.reply()
                for _ in range(8):
                    junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
                    junk = junk.replace(b"\n", b"\x00")
                    try:
                        reply = c.cmd(junk)
                    except (ConnectionError, OSError):
                        break  # the server may drop a client that sends only junk
                    for line in reply.split("\r\n"):
                        assert CODED.fullmatch(line), (junk, reply)
                        assert "\x00" not in line
            works(st.port)
    assert maildir_files(tmp_path / "md") == []


def test_pipelined_transaction(tmp_path: Path) -> None:
    with server(tmp_path) as st, RawClient(st.port) as c:
        c.reply()
        c.send(
            "EHLO x\r\nMAIL FROM:<a@b> RET=HDRS\r\nRCPT TO:<ok@x>\r\nRCPT TO:<unknown@x>\r\n"
            "RCPT TO:<full@x>\r\nRCPT TO:<bad@x> NOTIFY=NEVER,DELAY\r\nDATA\r\n"
        )
        assert c.reply().endswith("250 HELP")
        assert [c.reply() for _ in range(6)] == [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "550 5.1.1 No such user",
            "450 4.2.2 Mailbox full",
            "501 5.5.4 Invalid parameter NOTIFY: NEVER cannot be combined with other values",
            "354 End data with <CR><LF>.<CR><LF>",
        ]
        c.send("Subject: p\r\n\r\nx\r\n.\r\nMAIL FROM:<c@d>\r\nRCPT TO:<e@f>\r\nQUIT\r\n")
        assert c.reply().startswith("250 2.0.0 Message accepted for delivery as ")
        assert [c.reply() for _ in range(3)] == [
            "250 2.1.0 Sender OK",
            "250 2.1.5 Recipient OK",
            "221 2.0.0 Bye",
        ]
        assert c.closed()
    assert maildir_files(tmp_path / "md") == [b"Subject: p\r\n\r\nx\r\n"]


def test_disconnect_mid_data_leaves_nothing(tmp_path: Path) -> None:
    with server(tmp_path) as st:
        for cut in (b"Subject: x\r\n\r\npart", b"Subject: x\r\n\r\nline\r\n", b"\r\n.", b""):
            with RawClient(st.port) as c:
                c.reply()
                c.cmd("EHLO x")
                c.cmd("MAIL FROM:<a@b>")
                c.cmd("RCPT TO:<c@d>")
                assert c.cmd("DATA").startswith("354")
                c.send(cut)
                c.sock.shutdown(socket.SHUT_RDWR)
            works(st.port)
        # A data line that is too long: refused, nothing stored.
        with RawClient(st.port) as c:
            c.reply()
            c.cmd("EHLO x")
            c.cmd("MAIL FROM:<a@b>")
            c.cmd("RCPT TO:<c@d>")
            c.cmd("DATA")
            assert (
                c.cmd(b"x" * 5000 + b"\r\n.") == "500 5.5.2 Line too long (see RFC5321 4.5.3.1.6)"
            )
    assert maildir_files(tmp_path / "md") == []


def test_eight_bit_and_nul_content_is_stored_byte_for_byte(tmp_path: Path) -> None:
    content = b"Subject: bin\r\n\r\n\x00\x01\xff\xfe caf\xc3\xa9\r\n..dot\r\n"
    with server(tmp_path) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@b> BODY=8BITMIME")
        c.cmd("RCPT TO:<c@d>")
        c.cmd("DATA")
        assert c.cmd(content + b".").startswith("250 2.0.0 ")
    assert maildir_files(tmp_path / "md") == [content.replace(b"\n..dot", b"\n.dot")]


def test_slow_and_idle_clients(tmp_path: Path) -> None:
    with server(tmp_path, timeout=1.5) as st:
        idle = RawClient(st.port)
        idle.reply()
        # A slow but active client: each byte arrives well within the idle timeout ...
        with RawClient(st.port) as slow:
            slow.reply()
            for ch in "EHLO slow.test\r\n":
                slow.send(ch)
                time.sleep(0.01)
            assert slow.reply().endswith("250 HELP")
            works(st.port)  # ... and others are served meanwhile
        # The idle client is told why it is dropped.
        assert idle.reply() == "421 4.4.2 smtpdsn.test Timeout, closing connection"
        assert idle.closed()
        idle.close()
        works(st.port)


def test_half_a_command_then_close(tmp_path: Path) -> None:
    with server(tmp_path) as st:
        for data in (b"MAIL FROM:<a@", b"\x00\x00\x00", b"EHLO " + b"x" * 5000):
            with RawClient(st.port) as c:
                c.reply()
                c.send(data)
            works(st.port)


def test_reply_text_from_client_input_is_cleaned(tmp_path: Path) -> None:
    class Echo:
        async def hook_rcpt(
            self, session: object, envelope: object, address: str, p: object
        ) -> object:
            return smtpdsn.DENY, f"Unknown user {address}\x00\x07"

    with ServerThread(plugins=[Echo()], hostname="smtpdsn.test") as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@b>")
        bad = "553 5.1.3 Bad recipient address syntax: "
        assert c.cmd("RCPT TO:<a\x01b@c>").startswith(bad)
        assert c.cmd('RCPT TO:<"a\x00b"@c>').startswith(bad)
        assert c.cmd("RCPT TO:<ab@c>") == "550 5.0.0 Unknown user ab@c"
