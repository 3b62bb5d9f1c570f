"""Plugins: order, verdicts, replies that agree with the state, closing, failures, stages."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import pytest

import smtpdsn
from smtpdsn import CONT, DENY, DENYDISCONNECT, DENYSOFT, DENYSOFTDISCONNECT, DISCONNECT, OK
from smtpdsn.server.handler import PluginHandler
from smtpdsn.server.plugins import PluginError, PluginRunner, to_resolution
from tests.server_support import RawClient, ServerThread


class ByLocalPart:
    """Answers RCPT with ``answers[local part]``; records what DATA saw."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.seen: list[list[str]] = []

    async def hook_rcpt(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        answer = self.answers.get(address.split("@")[0])
        if isinstance(answer, Exception):
            raise answer
        if answer == "sleep":
            await asyncio.sleep(5)
        return answer

    def hook_data(self, session: Any, envelope: Any) -> object:
        self.seen.append(list(envelope.rcpt_tos))
        return None


def session(port: int, recipients: list[str]) -> tuple[list[str], str]:
    """EHLO, MAIL, each RCPT, then DATA if any was accepted; the RCPT replies and the
    final reply."""
    with RawClient(port) as c:
        c.reply()
        c.cmd("EHLO client.test")
        assert c.cmd("MAIL FROM:<s@x>") == "250 2.1.0 Sender OK"
        replies = [c.cmd(f"RCPT TO:<{r}@x>") for r in recipients]
        final = c.cmd("DATA")
        if final.startswith("354"):
            final = c.cmd("Subject: t\r\n\r\nhi\r\n.")
        c.cmd("QUIT")
    return replies, final


CASES: list[tuple[str, object, str, bool]] = [
    ("deny_dsn", (DENY, smtpdsn.no_such_user()), "550 5.1.1 No such user", False),
    ("soft_dsn", (DENYSOFT, smtpdsn.no_such_user()), "450 4.1.1 No such user", False),
    ("ok_dsn", (OK, smtpdsn.no_such_user()), "250 2.0.0 OK", True),
    ("deny", DENY, "550 5.0.0 Rejected", False),
    ("deny_text", (DENY, "Go away"), "550 5.0.0 Go away", False),
    ("deny_lines", (DENY, ["one", "two"]), "550-5.0.0 one\r\n550 5.0.0 two", False),
    ("soft", (DENYSOFT,), "450 4.0.0 Temporarily rejected, try again later", False),
    ("reply", smtpdsn.mbox_full(), "450 4.2.2 Mailbox full", False),
    ("reply552", smtpdsn.mbox_full("Over quota", 552), "552 5.2.2 Over quota", False),
    ("ok_reply", smtpdsn.addr_rcpt_ok(), "250 2.1.5 Destination address valid", True),
    ("plain", "550 Plain text", "550 5.0.0 Plain text", False),
    ("cont", CONT, "250 2.1.5 Recipient OK", True),
    ("none", None, "250 2.1.5 Recipient OK", True),
    ("ok", OK, "250 2.0.0 OK", True),
    ("junk", 42, "451 4.3.0 Temporary local problem, try again later", False),
    ("badtext", (DENY, b"bytes"), "451 4.3.0 Temporary local problem, try again later", False),
    ("raises", RuntimeError("boom"), "451 4.3.0 Temporary local problem, try again later", False),
    ("sleep", "sleep", "451 4.3.0 Temporary local problem, try again later", False),
]


def test_every_answer_form_and_the_state_agrees(caplog: pytest.LogCaptureFixture) -> None:
    plugin = ByLocalPart({name: answer for name, answer, _, _ in CASES})
    with ServerThread(plugins=[plugin], plugin_timeout=0.5) as st:
        with caplog.at_level(logging.INFO, logger="smtpdsn.server"):
            replies, final = session(st.port, [name for name, _, _, _ in CASES])
        assert final == "250 2.0.0 Message accepted for delivery"
        # Another client is served normally after the failures.
        assert session(st.port, ["none"])[0] == ["250 2.1.5 Recipient OK"]
    for (name, _, expected, _), reply in zip(CASES, replies, strict=True):
        assert reply == expected, name
    accepted = [f"{name}@x" for name, _, _, kept in CASES if kept]
    assert plugin.seen[0] == accepted
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in errors)
    timed_out = [r.getMessage() for r in errors if "timed out after 0.5 s" in r.getMessage()]
    assert len(timed_out) == 1 and "await asyncio.sleep(5)" in timed_out[0]
    assert any("hook must return None" in str(r.exc_info and r.exc_info[1]) for r in errors)
    # One log line per reply: peer, command, reply.
    lines = [r.getMessage() for r in caplog.records]
    assert any(re.fullmatch(r"127\.0\.0\.1:\d+ RCPT 550 5\.1\.1 No such user", x) for x in lines)
    assert any("RCPT 250 2.0.0 OK" in line for line in lines)
    # A contradiction is logged as adjusted.
    assert any("contradicts the verdict" in line for line in lines)


def test_plugins_run_in_order_first_non_cont_wins() -> None:
    calls: list[str] = []

    class P:
        def __init__(self, name: str, answer: object) -> None:
            self.name, self.answer = name, answer

        async def hook_rcpt(self, *args: Any) -> object:
            calls.append(self.name)
            return self.answer

    plugins = [P("a", CONT), P("b", None), P("c", (DENY, "from c")), P("d", OK)]
    with ServerThread(plugins=plugins) as st:
        replies, _ = session(st.port, ["x"])
    assert replies == ["550 5.0.0 from c"]
    assert calls == ["a", "b", "c"]


def test_sync_hooks_run_in_a_thread_with_a_timeout(caplog: pytest.LogCaptureFixture) -> None:
    class Slow:
        def hook_rcpt(self, session: Any, envelope: Any, address: str, params: Any) -> object:
            if address.startswith("slow"):
                time.sleep(1.5)
            return DENY, smtpdsn.no_such_user()

    with ServerThread(plugins=[Slow()], plugin_timeout=0.5) as st:
        replies, _ = session(st.port, ["slow", "fast"])
    assert replies == [
        "451 4.3.0 Temporary local problem, try again later",
        "550 5.1.1 No such user",
    ]
    # The log shows where the hook was stuck.
    (record,) = [r for r in caplog.records if "timed out" in r.getMessage()]
    assert "worker thread" in record.getMessage()
    assert "time.sleep(1.5)" in record.getMessage()
    assert "in hook_rcpt" in record.getMessage()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            (DENYDISCONNECT, smtpdsn.sec_unauthorized()),
            "550 5.7.1 Delivery not authorized, message refused",
        ),
        (DENYDISCONNECT, "550 5.0.0 Rejected, closing connection"),
        ((DENYSOFTDISCONNECT, smtpdsn.net_system_congested()), "421 4.4.5 Mail system congestion"),
        (DENYSOFTDISCONNECT, "421 4.0.0 Try again later, closing connection"),
        (DISCONNECT, "421 4.0.0 Closing connection"),
        ((DISCONNECT, smtpdsn.Reply(221, "2.0.0", "Bye now")), "221 2.0.0 Bye now"),
        ((DISCONNECT, smtpdsn.addr_rcpt_ok()), "421 4.0.0 Closing connection"),
        (smtpdsn.Reply(421, "4.3.2", "Shutting down"), "421 4.3.2 Shutting down"),
    ],
)
def test_closing_verdicts_close_the_connection(answer: object, expected: str) -> None:
    class P:
        async def hook_rcpt(self, *args: Any) -> object:
            return answer

    with ServerThread(plugins=[P()]) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<a@b>")
        # Pipelined: the commands after the closing reply are never answered.
        c.send("RCPT TO:<a@b>\r\nNOOP\r\nNOOP\r\n")
        assert c.reply() == expected
        assert c.closed()
        assert c.buffer == b""


def test_plugin_421_closes_the_connection() -> None:
    """A 421 always closes (RFC 5321 section 3.8); stock aiosmtpd kept it open."""

    class Busy:
        async def hook_mail(self, *args: Any) -> str:
            return "421 Service not available"

    with ServerThread(plugins=[Busy()]) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        assert c.cmd("MAIL FROM:<a@b>") == "421 4.0.0 Service not available"
        assert c.closed()


def test_plugin_returning_smtpdsn_replies() -> None:
    class Directory:
        async def hook_rcpt(
            self, session: Any, envelope: Any, address: str, params: Any
        ) -> smtpdsn.Reply:
            if address.startswith("unknown"):
                return smtpdsn.no_such_user()
            return smtpdsn.addr_rcpt_ok()

        def hook_data(self, session: Any, envelope: Any) -> smtpdsn.Reply:
            return smtpdsn.Reply(250, "2.6.0", f"Got {len(envelope.rcpt_tos)} recipient(s)")

    with ServerThread(plugins=[Directory()]) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        assert c.cmd("MAIL FROM:<a@b>") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<unknown@b>") == "550 5.1.1 No such user"
        assert c.cmd("RCPT TO:<k@b> NOTIFY=NEVER") == "250 2.1.5 Destination address valid"
        assert c.cmd("DATA").startswith("354 ")
        assert c.cmd("x\r\n.") == "250 2.6.0 Got 1 recipient(s)"


class Stages:
    """A plugin that answers every stage from a dict."""

    def __init__(self, answers: dict[str, object]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _answer(self, stage: str, *args: Any) -> object:
        self.calls.append((stage, args))
        answer = self.answers.get(stage)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def hook_connect(self, session: Any, envelope: Any) -> object:
        return self._answer("connect")

    async def hook_helo(self, session: Any, envelope: Any, hostname: str) -> object:
        return self._answer("helo", hostname)

    async def hook_ehlo(self, session: Any, envelope: Any, hostname: str) -> object:
        return self._answer("ehlo", hostname)

    async def hook_mail(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        return self._answer("mail", address, params)

    async def hook_data(self, session: Any, envelope: Any) -> object:
        return self._answer("data", envelope.content)

    async def hook_quit(self, session: Any, envelope: Any) -> object:
        return self._answer("quit")


def test_connect_deny_sends_554_and_then_only_quit() -> None:
    plugin = Stages({"connect": (DENY, smtpdsn.bad_sender_ip())})
    with ServerThread(plugins=[plugin]) as st, RawClient(st.port) as c:
        assert c.reply() == "554 5.7.1 Bad sender IP"
        assert c.cmd("EHLO x") == "503 5.5.1 Connection refused; only QUIT is allowed"
        assert c.cmd("MAIL FROM:<a@b>") == "503 5.5.1 Connection refused; only QUIT is allowed"
        assert c.cmd("NOOP") == "250 2.0.0 OK"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
        assert c.closed()


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (DENYSOFT, "421 4.0.0 Temporarily rejected, try again later"),
        (DENYDISCONNECT, "554 5.0.0 Rejected, closing connection"),
        (DISCONNECT, "421 4.0.0 Closing connection"),
        (RuntimeError("connect failed"), "421 4.3.0 Temporary local problem, try again later"),
    ],
)
def test_connect_refusals_that_close(answer: object, expected: str) -> None:
    with ServerThread(plugins=[Stages({"connect": answer})]) as st, RawClient(st.port) as c:
        assert c.reply() == expected
        assert c.closed()


def test_connect_ok_keeps_the_greeting() -> None:
    with ServerThread(plugins=[Stages({"connect": OK})]) as st, RawClient(st.port) as c:
        assert c.reply().startswith("220 smtpdsn.test ")


def test_helo_and_ehlo_refused_leave_no_hostname() -> None:
    plugin = Stages({"helo": (DENY, "No HELO"), "ehlo": (DENYSOFT, smtpdsn.sec_rdns_fail())})
    with ServerThread(plugins=[plugin]) as st, RawClient(st.port) as c:
        c.reply()
        assert c.cmd("HELO a.test") == "550 5.0.0 No HELO"
        assert c.cmd("EHLO b.test") == "450 4.7.25 Reverse DNS validation failed"
        assert c.cmd("MAIL FROM:<a@b>") == "503 5.5.1 Error: send HELO first"
    assert [c[0] for c in plugin.calls] == ["connect", "helo", "ehlo"]


def test_mail_and_data_stages_and_quit_always_221() -> None:
    plugin = Stages(
        {
            "mail": None,
            "data": (DENY, smtpdsn.sec_spf_fail("SPF says no")),
            "quit": RuntimeError("quit fails"),
        }
    )
    with ServerThread(plugins=[plugin]) as st, RawClient(st.port) as c:
        c.reply()
        assert c.cmd("HELO a.test") == "250 smtpdsn.test"
        assert c.cmd("MAIL FROM:<a@b> RET=HDRS") == "501 5.5.4 Syntax: MAIL FROM: <address>"
        c.cmd("EHLO a.test")
        assert c.cmd("MAIL FROM:<a@b> RET=HDRS ENVID=Q+2B1") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<r@b>") == "250 2.1.5 Recipient OK"
        assert c.cmd("DATA").startswith("354")
        assert c.cmd("Subject: x\r\n\r\nbody\r\n.") == "550 5.7.23 SPF says no"
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    stages = {stage: args for stage, args in plugin.calls}
    assert stages["mail"] == ("a@b", smtpdsn.dsnparams.MailParams("HDRS", "Q+1"))
    assert stages["data"] == (b"Subject: x\r\n\r\nbody\r\n",)


def test_to_resolution_and_runner_errors() -> None:
    assert to_resolution(None).verdict is CONT
    assert to_resolution(smtpdsn.Reply(221, "2.0.0", "x")).verdict is DISCONNECT
    with pytest.raises(PluginError):
        to_resolution(smtpdsn.Reply(354))
    with pytest.raises(PluginError):
        to_resolution((DENY, "a", "b"))
    with pytest.raises(ValueError, match="positive"):
        PluginRunner([], timeout=0)

    class Bad:
        hook_rcpt = "not callable"

    with pytest.raises(TypeError, match="not callable"):
        PluginRunner([Bad()])
    with pytest.raises(TypeError, match=r"is a class; pass an instance: Stages\(\)"):
        PluginRunner([Stages])
    resolved = smtpdsn.resolve(DENY, "x")
    assert to_resolution(resolved) is resolved
    runner = PluginRunner([Stages({})])
    assert runner.has_hooks("mail") and not runner.has_hooks("rcpt")
    assert asyncio.run(runner.run("mail", None, None, "a@b", None)) is None


def test_handler_answers_without_a_server() -> None:
    """The handler is plain Python: its decisions can be asked for without a socket."""
    from smtpdsn.dsnparams import MailParams
    from smtpdsn.server.session import Envelope, Session
    from smtpdsn.smtp import MailFrom, parse_path

    handler = PluginHandler([Stages({"mail": DENYDISCONNECT})])
    envelope = Envelope()
    event = MailFrom("a@b", parse_path("<a@b>"), {}, MailParams())
    decision = handler.mail(Session(None), envelope, event)
    if not isinstance(decision, tuple):
        decision = asyncio.run(_await(decision))
    assert decision == ("550 5.0.0 Rejected, closing connection", True)
    assert envelope.mail_from is None


async def _await(awaitable: Any) -> Any:
    return await awaitable


def test_a_broken_connect_hook_answers_421_and_closes() -> None:
    class Broken:
        async def hook_connect(self, *args: Any) -> str:
            raise RuntimeError("broken plugin")

    with ServerThread(plugins=[Broken()]) as st, RawClient(st.port) as c:
        assert c.reply() == "421 4.3.0 Temporary local problem, try again later"
        assert c.closed()


def test_plugin_base_class() -> None:
    from smtpdsn.dsnparams import RcptParams
    from smtpdsn.server import HookResult, Plugin

    class OnlyRcpt(Plugin):
        async def hook_rcpt(
            self, session: Any, envelope: Any, address: str, params: RcptParams
        ) -> HookResult:
            return DENY, smtpdsn.no_such_user()

    class SyncMail(Plugin):
        name = "sync-mail"

        def hook_mail(self, *args: Any) -> HookResult:  # type: ignore[override]
            return None

    runner = PluginRunner([OnlyRcpt(), SyncMail(), Plugin()])
    assert [s for s in ("connect", "helo", "ehlo", "mail", "rcpt", "data", "quit")
            if runner.has_hooks(s)] == ["mail", "rcpt"]  # fmt: skip
    with ServerThread(plugins=[OnlyRcpt(), SyncMail()]) as st:
        assert session(st.port, ["x"])[0] == ["550 5.1.1 No such user"]
