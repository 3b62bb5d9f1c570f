"""Regression tests: hung plain hooks, odd addresses, timers, limits, contradictory rules."""

from __future__ import annotations

import asyncio
import signal
import smtplib
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import smtpdsn
from smtpdsn.server.app import ServerConfig
from smtpdsn.server.rules import RulesError, parse_rules
from tests.server_support import RawClient, ServerThread, maildir_files
from tests.test_server_cli import serve, stop


class Hang:
    """Plain hooks: EHLO ``hang`` blocks until ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def hook_ehlo(self, session: Any, envelope: Any, hostname: str) -> object:
        if hostname.startswith("hang"):
            self.release.wait(30)
        return None


def test_hung_plain_hooks_do_not_starve_hooks_or_delivery(tmp_path: Path) -> None:
    # More hung hooks than asyncio's default pool has threads (min(32, cpus + 4)).
    hang = Hang()
    config = ServerConfig(maildir=tmp_path / "md", plugins=[hang], plugin_timeout=0.3)
    try:
        with ServerThread(config=config) as st:
            clients = [RawClient(st.port) for _ in range(40)]
            try:
                for c in clients:
                    c.reply()
                    c.send("EHLO hang\r\n")
                for c in clients:
                    assert c.reply().startswith("451 4.3.0")
            finally:
                for c in clients:
                    c.close()
            started = time.monotonic()
            with smtplib.SMTP("127.0.0.1", st.port, timeout=10) as client:
                assert client.ehlo("fine.test")[0] == 250  # a plain hook still runs
                assert client.sendmail("a@x.test", ["b@x.test"], b"Subject: x\r\n\r\nhi\r\n") == {}
            assert time.monotonic() - started < 5
            assert maildir_files(tmp_path / "md") == [b"Subject: x\r\n\r\nhi\r\n"]
            started = time.monotonic()
            st.call(st.server.stop())
            assert time.monotonic() - started < 3
    finally:
        hang.release.set()


def test_sigterm_stops_serve_despite_a_hung_plain_hook(tmp_path: Path) -> None:
    plugin = "tests.server_support:HangingPlugin"
    with serve(tmp_path, "--plugin", plugin, "--plugin-timeout", "0.3") as (port, proc):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("x")
            client.mail("a@x.test")
            assert client.rcpt("hang@x.test")[0] == 451
        started = time.monotonic()
        code, _ = stop(proc, signal.SIGTERM)
        assert code == 0
        assert time.monotonic() - started < 10


def session(st: ServerThread) -> RawClient:
    client = RawClient(st.port)
    assert client.reply().startswith("220")
    assert client.cmd("EHLO client.test").startswith("250")
    return client


# A bad path: 501 5.1.7 for the sender, 553 5.1.3 for a recipient (RFC 3463 X.1.7 / X.1.3),
# with the reason after the colon.
BAD_SENDER = "501 5.1.7 Bad sender address syntax: "
BAD_RECIPIENT = "553 5.1.3 Bad recipient address syntax: "


def test_addresses_that_break_the_parser_are_malformed(caplog: Any) -> None:
    with ServerThread() as st, session(st) as c:
        assert c.cmd("MAIL FROM:a@").startswith(BAD_SENDER)
        assert c.cmd("MAIL FROM:+@").startswith(BAD_SENDER)
        assert c.cmd("MAIL FROM:<a@x.test>") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:b@").startswith(BAD_RECIPIENT)
        assert c.cmd("VRFY +@") == "502 5.5.1 Could not VRFY +@"
        assert c.cmd("RCPT TO:<b@x.test>") == "250 2.1.5 Recipient OK"
    assert not [r for r in caplog.records if r.exc_info]


def test_size_with_non_ascii_digits() -> None:
    with ServerThread() as st, session(st) as c:
        for size in ("\u00b2", "\u0661\u0662", "\uff11"):
            assert c.cmd(f"MAIL FROM:<a@x.test> SIZE={size}") == (
                "501 5.5.4 Invalid parameter SIZE: a number of octets is needed"
            )
        assert c.cmd("MAIL FROM:<a@x.test> SIZE=12") == "250 2.1.0 Sender OK"


def test_null_forward_path_is_refused() -> None:
    with ServerThread() as st, session(st) as c:
        assert c.cmd("MAIL FROM:<>") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<>") == "501 5.1.3 Bad recipient address syntax"
        assert c.cmd("RCPT TO:<> NOTIFY=NEVER") == "501 5.1.3 Bad recipient address syntax"
        assert c.cmd("RCPT TO:<postmaster>") == "250 2.1.5 Recipient OK"


def test_addresses_with_non_printable_characters_are_refused(tmp_path: Path) -> None:
    bad = ["\x01", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u200b", "\u202e", "\u2066",
           "\ufeff", "\xa0"]
    config = ServerConfig(maildir=tmp_path / "md")
    with ServerThread(config=config) as st, session(st) as c:
        for ch in bad:
            assert c.cmd(f"MAIL FROM:<a{ch}b@x.test>").startswith(BAD_SENDER), repr(ch)
        # RFC 6531: a UTF-8 address only with the SMTPUTF8 parameter.
        assert c.cmd("MAIL FROM:<caf\u00e9@x.test>").startswith("553 5.6.7 Address needs SMTPUTF8")
        assert c.cmd("MAIL FROM:<caf\u00e9@x.test> SMTPUTF8") == "250 2.1.0 Sender OK"
        for ch in bad:
            assert c.cmd(f"RCPT TO:<bounce{ch}@x.test>").startswith(BAD_RECIPIENT), repr(ch)
        assert c.cmd("RCPT TO:<bounce@x.test>") == "250 2.1.5 Recipient OK"
        assert c.cmd("DATA").startswith("354")
        assert c.cmd("Subject: x\r\n\r\nhi\r\n.").startswith("250 2.0.0")
        # The reply text that echoes client input is cleaned of them as well.
        assert c.cmd("VRFY <<a\x85\u2028b") == "502 5.5.1 Could not VRFY <<a??b"
    assert len(maildir_files(tmp_path / "md")) == 2  # the message and its bounce


class RefuseBadGreeting:
    def hook_ehlo(self, session: Any, envelope: Any, hostname: str) -> object:
        if hostname.startswith("bad"):
            return smtpdsn.DENY, smtpdsn.sec_unauthorized("Bad HELO name")
        return None

    hook_helo = hook_ehlo


def test_refused_greeting_after_an_accepted_one_leaves_no_host_name() -> None:
    need_helo = "503 5.5.1 Error: send HELO first"
    with ServerThread(plugins=[RefuseBadGreeting()]) as st, RawClient(st.port) as c:
        c.reply()
        for refused in ("EHLO bad.test", "HELO bad.test"):
            assert c.cmd("EHLO good.test").startswith("250-")
            assert c.cmd(refused) == "550 5.7.1 Bad HELO name"
            assert c.cmd("MAIL FROM:<a@x.test>") == need_helo
        assert c.cmd("HELO good.test") == "250 smtpdsn.test"
        assert c.cmd("MAIL FROM:<a@x.test>") == "250 2.1.0 Sender OK"


def test_recipients_per_transaction_are_limited() -> None:
    with ServerThread() as st, session(st) as c:  # the default: 1000
        assert c.cmd("MAIL FROM:<a@x.test>") == "250 2.1.0 Sender OK"
        c.send("".join(f"RCPT TO:<r{i}@x.test>\r\n" for i in range(1000)))
        assert all(c.reply() == "250 2.1.5 Recipient OK" for _ in range(1000))
        assert c.cmd("RCPT TO:<more@x.test>") == "452 4.5.3 Too many recipients"
        assert c.cmd("RSET") == "250 2.0.0 OK"
        assert c.cmd("MAIL FROM:<a@x.test>") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<more@x.test>") == "250 2.1.5 Recipient OK"
    with ServerThread(config=ServerConfig(maildir=None, max_recipients=2)) as st, session(st) as c:
        assert c.cmd("MAIL FROM:<a@x.test>") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<unknown@x.test>").startswith("550")  # refused: not counted
        assert c.cmd("RCPT TO:<b@x.test>") == "250 2.1.5 Recipient OK"
        assert c.cmd("RCPT TO:<c@x.test>") == "250 2.1.5 Recipient OK"
        assert c.cmd("RCPT TO:<d@x.test>") == "452 4.5.3 Too many recipients"
        assert c.cmd("DATA").startswith("354")
        assert c.cmd("Subject: x\r\n\r\nhi\r\n.").startswith("250 2.0.0")


def test_serve_max_recipients_option(tmp_path: Path) -> None:
    with serve(tmp_path, "--max-recipients", "2") as (port, proc):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("x")
            client.mail("a@x.test")
            assert client.rcpt("b@x.test")[0] == 250
            assert client.rcpt("c@x.test")[0] == 250
            assert client.rcpt("d@x.test") == (452, b"4.5.3 Too many recipients")
        assert stop(proc, signal.SIGTERM)[0] == 0


class SlowData:
    """hook_data takes longer than the server's idle timeout (async, then plain)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def hook_mail(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        if address.startswith("slow"):
            await asyncio.sleep(self.seconds)
        return None

    def hook_data(self, session: Any, envelope: Any) -> object:
        time.sleep(self.seconds)
        return None


def test_a_steadily_sent_long_message_is_not_cut_off(tmp_path: Path) -> None:
    config = ServerConfig(maildir=tmp_path / "md", timeout=0.6)
    with ServerThread(config=config) as st, session(st) as c:
        assert c.cmd("MAIL FROM:<a@x.test>") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<b@x.test>") == "250 2.1.5 Recipient OK"
        assert c.cmd("DATA").startswith("354")
        c.send("Subject: slow\r\n\r\n")
        for i in range(8):  # 2 s in all, a line every 0.25 s
            time.sleep(0.25)
            c.send(f"line {i}\r\n")
        assert c.cmd(".").startswith("250 2.0.0 Message accepted")
        assert c.closed(3)  # idle afterwards: the timer still works
        assert "421 4.4.2" in c.buffer.decode()
    assert len(maildir_files(tmp_path / "md")) == 1


def test_the_idle_timer_stops_while_the_server_works(tmp_path: Path) -> None:
    config = ServerConfig(maildir=tmp_path / "md", timeout=0.5, plugins=[SlowData(1.2)])
    with ServerThread(config=config) as st, session(st) as c:
        assert c.cmd("MAIL FROM:<slow@x.test>") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<b@x.test>") == "250 2.1.5 Recipient OK"
        assert c.cmd("DATA").startswith("354")
        assert c.cmd("Subject: x\r\n\r\nhi\r\n.").startswith("250 2.0.0 Message accepted")
        assert c.cmd("NOOP") == "250 2.0.0 OK"
    assert len(maildir_files(tmp_path / "md")) == 1


def test_disconnect_rule_with_a_2xx_reply_other_than_221_is_refused() -> None:
    text = '[[rule]]\nrecipient = "a"\nverdict = "DISCONNECT"\ncode = 250\ntext = "fine"\n'
    with pytest.raises(RulesError) as info:
        parse_rules(text, "r.toml")
    assert str(info.value) == (
        "r.toml:4: rule 1: verdict DISCONNECT contradicts the 250 reply (it closes the "
        "connection: 221, 4xx or 5xx); the reply would be replaced by 421"
    )
    with pytest.raises(RulesError, match=r"r.toml:4: rule 1: verdict DISCONNECT contradicts"):
        parse_rules(
            '[[rule]]\nrecipient = "a"\nverdict = "disconnect"\nfactory = "addr_rcpt_ok"\n',
            "r.toml",
        )
    for code in (221, 421, 450, 550):
        (rule,) = parse_rules(
            f'[[rule]]\nrecipient = "a"\nverdict = "DISCONNECT"\ncode = {code}\n', "r.toml"
        )
        assert rule.reply is not None and rule.reply.code == code


def test_daemon_thread_pool() -> None:
    from smtpdsn.server.threads import DaemonThreadPool

    pool = DaemonThreadPool(2, "test", max_abandoned=1)
    release = threading.Event()
    idents: list[int] = []

    def hang() -> int:
        idents.append(threading.get_ident())
        release.wait(10)
        return 1

    try:
        assert pool.submit(lambda x: x * 2, 21).result(5) == 42
        hung = [pool.submit(hang), pool.submit(hang)]
        deadline = time.monotonic() + 5
        while len(idents) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert all(t.daemon for t in threading.enumerate() if t.name.startswith("test-"))
        waiting = pool.submit(lambda: 3)  # both threads are busy: it waits
        assert not waiting.done()
        assert pool.abandon(idents[0]) is True  # set aside: a new thread takes the job
        assert waiting.result(5) == 3
        assert pool.abandon(idents[1]) is False  # max_abandoned reached
        assert pool.abandoned == 1
        release.set()
        assert [f.result(5) for f in hung] == [1, 1]
        pool.shutdown(wait=True)
        assert pool.submit(lambda: 4).result(5) == 4  # usable again after shutdown
        with pytest.raises(ZeroDivisionError):
            pool.submit(lambda: 1 // 0).result(5)
    finally:
        release.set()
        pool.shutdown(wait=True)
    assert not [t for t in threading.enumerate() if t.name.startswith("test-")]
