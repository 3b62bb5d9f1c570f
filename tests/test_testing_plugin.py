"""The pytest plugin and :mod:`smtpdsn.testing`, used the way a user would.

The first tests run small user test files with pytester: the fixture comes from the
package's ``pytest11`` entry point, the client is smtplib. The others use
:class:`SMTPTestServer` directly with smtplib and aiosmtplib: the transcript, ``reset()``,
the bounded memory, the Maildir, and the assert helpers on every kind of refusal.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import smtplib
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from importlib.metadata import entry_points
from pathlib import Path

import aiosmtplib
import pytest

import smtpdsn.testing.plugin
from smtpdsn import Reply
from smtpdsn.report import Action
from smtpdsn.server.rules import RulesError
from smtpdsn.testing import (
    ReceivedReply,
    SMTPTestServer,
    assert_accepted,
    assert_refused,
    enhanced_status_of,
    replies_of,
)
from tests.support import ROOT

pytest_plugins = ["pytester"]

SENDER = "app@example.test"
MESSAGE = b"From: app@example.test\r\nTo: bob@example.test\r\nSubject: Hello\r\n\r\nHi Bob.\r\n"

USER_TESTS = '''
import smtplib
from email.message import EmailMessage

import pytest

from smtpdsn.testing import assert_refused


def send_welcome(host, port, to):
    """The code under test: a function that sends mail."""
    message = EmailMessage()
    message["From"] = "shop@example.test"
    message["To"] = to
    message["Subject"] = "Welcome"
    message.set_content("Thanks for signing up.")
    with smtplib.SMTP(host, port) as client:
        client.send_message(message)


def test_welcome_is_sent(smtpdsn_server):
    send_welcome(smtpdsn_server.host, smtpdsn_server.port, "new@example.test")
    [message] = smtpdsn_server.messages
    assert message["Subject"] == "Welcome"
    assert message.envelope.sender == "shop@example.test"
    assert message.envelope.recipients == ["new@example.test"]
    assert "Thanks for signing up." in message.get_content()


def test_unknown_recipient_is_refused(smtpdsn_server):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
        send_welcome(smtpdsn_server.host, smtpdsn_server.port, "unknown@example.test")
    assert_refused(caught.value, "5.1.1", recipient="unknown@example.test")
    assert smtpdsn_server.messages == []


def test_rule_added_in_the_test(smtpdsn_server):
    smtpdsn_server.add_rule(recipient="*@closed.test", verdict="DENYSOFT", factory="mbox_full")
    with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
        send_welcome(smtpdsn_server.host, smtpdsn_server.port, "someone@closed.test")
    assert_refused(caught.value, "4.2.2", code=450)


def test_bounce_rule(smtpdsn_server):
    smtpdsn_server.rules(
        '[[rule]]\\nrecipient = "gone@*"\\nthen = "bounce"\\nfactory = "mbox_disabled"\\n'
    )
    send_welcome(smtpdsn_server.host, smtpdsn_server.port, "gone@example.test")
    [bounce] = smtpdsn_server.bounces
    assert bounce.to == "shop@example.test"
    status = bounce.report.recipients[0].status
    assert str(status) == "5.2.1"
    assert len(smtpdsn_server.messages) == 1


def test_refusal_expected_but_accepted(smtpdsn_server):
    send_welcome(smtpdsn_server.host, smtpdsn_server.port, "fine@example.test")
'''


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    [entry] = [e for e in entry_points(group="pytest11") if e.name == "smtpdsn"]
    assert entry.value == "smtpdsn.testing.plugin"
    assert entry.load() is smtpdsn.testing.plugin


def test_a_user_test_file_with_the_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=5)


def test_a_wrong_expectation_fails_with_what_was_received(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_user="""
import smtplib
import pytest
from smtpdsn.testing import assert_refused

def test_wrong(smtpdsn_server):
    with smtplib.SMTP(smtpdsn_server.host, smtpdsn_server.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
            client.sendmail("a@example.test", ["full@example.test"], b"Subject: x\\r\\n\\r\\nx")
    assert_refused(caught.value, "5.1.1")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*expected <full@example.test> refused with 5.1.1, but its enhanced status is 4.2.2*"]
    )


def test_the_session_fixture_is_shared_and_reset_is_the_users(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_user="""
import smtplib

PORTS = []

def send(server):
    with smtplib.SMTP(server.host, server.port) as client:
        client.sendmail("a@example.test", ["b@example.test"], b"Subject: x\\r\\n\\r\\nx")

def test_one(smtpdsn_server_session):
    PORTS.append(smtpdsn_server_session.port)
    smtpdsn_server_session.add_rule(recipient="c@*", verdict="DENY")
    send(smtpdsn_server_session)
    assert len(smtpdsn_server_session.messages) == 1

def test_two(smtpdsn_server_session):
    assert PORTS == [smtpdsn_server_session.port]
    assert len(smtpdsn_server_session.messages) == 1  # kept from test_one
    smtpdsn_server_session.reset()
    assert smtpdsn_server_session.messages == []
    assert all(rule.pattern != "c@*" for rule in smtpdsn_server_session.current_rules)
    send(smtpdsn_server_session)
    assert len(smtpdsn_server_session.messages) == 1
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=2)


def test_the_fixture_takes_arguments_by_indirect_parametrization(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_user="""
import smtplib
import pytest
from smtpdsn.testing import assert_refused

RULES = '''
[[rule]]
recipient = "*@blocked.example"
verdict = "DENY"
code = 550
status = "5.7.1"
'''

@pytest.mark.parametrize("smtpdsn_server", [{"rules": RULES, "max_messages": 2}], indirect=True)
def test_custom(smtpdsn_server, tmp_path):
    with smtplib.SMTP(smtpdsn_server.host, smtpdsn_server.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
            client.sendmail("a@example.test", ["x@blocked.example"], b"x")
        client.sendmail("a@example.test", ["unknown@example.test"], b"x")  # not a rule here
    assert_refused(caught.value, "5.7.1")
    assert len(smtpdsn_server.messages) == 1

@pytest.mark.parametrize("smtpdsn_server", ["not a dict"], indirect=True)
def test_bad(smtpdsn_server):
    pass
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*parametrize smtpdsn_server with a dict*"])


def test_the_server_class_is_not_collected_as_a_test() -> None:
    assert SMTPTestServer.__test__ is False


# -- the server object, directly ----------------------------------------------------------


@pytest.fixture
def server() -> Iterator[SMTPTestServer]:
    with SMTPTestServer() as running:
        yield running


def test_envelope_has_dsn_parameters_and_the_reply_of_each_recipient(
    server: SMTPTestServer,
) -> None:
    with smtplib.SMTP(server.host, server.port) as client:
        refused = client.sendmail(
            SENDER,
            ["bob@example.test", "unknown@example.test"],
            MESSAGE,
            mail_options=["RET=HDRS", "ENVID=env-1"],
            rcpt_options=["NOTIFY=FAILURE,DELAY"],
        )
    assert_refused(refused, "5.1.1", "unknown@example.test", code=550)
    assert_accepted(refused, "bob@example.test")
    [message] = server.messages
    assert message["Subject"] == "Hello"
    envelope = message.envelope
    assert envelope.sender == SENDER
    assert envelope.recipients == ["bob@example.test"]
    assert envelope.dsn_mail.envid == "env-1"
    assert envelope.dsn_mail.ret == "HDRS"
    assert envelope.dsn_rcpt["bob@example.test"].notify == frozenset({"FAILURE", "DELAY"})
    assert envelope.rcpt_replies["bob@example.test"] == Reply(250, "2.1.5", "Recipient OK")
    assert envelope.rcpt_replies["unknown@example.test"].code == 550
    assert envelope.reply is not None and envelope.reply.code == 250
    assert envelope.peer.startswith("127.0.0.1:")


def test_aiosmtplib_partial_and_total_refusals(server: SMTPTestServer) -> None:
    message = EmailMessage()
    message["From"] = SENDER
    message["Subject"] = "Async"
    message.set_content("from an async client")

    async def send() -> None:
        errors, _ = await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            recipients=["bob@example.test", "full@example.test"],
            start_tls=False,
        )
        assert_refused(errors, "4.2.2", recipient="full@example.test", code=450)
        assert_accepted(errors, "bob@example.test")
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as caught:
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                recipients=["unknown@example.test", "disabled@example.test"],
                start_tls=False,
            )
        assert_refused(caught.value, "5.1.1", recipient="unknown@example.test")
        assert_refused(caught.value, "5.2.1", recipient="disabled@example.test")
        assert_refused(caught.value, "5")  # every recipient: permanent
        with pytest.raises(AssertionError, match="2 replies"):
            enhanced_status_of(caught.value)

    asyncio.run(send())
    [received] = server.messages
    assert received["Subject"] == "Async"
    assert received.envelope.recipients == ["bob@example.test"]


def test_transcript_names_each_command_peer_and_reply(server: SMTPTestServer) -> None:
    with smtplib.SMTP(server.host, server.port) as client:
        client.ehlo("client.test")
        client.mail(SENDER)
        client.rcpt("unknown@example.test")
        client.rset()
    entries = server.transcript
    verbs = [e.verb for e in entries]
    assert verbs == ["CONNECT", "EHLO", "MAIL", "RCPT", "RSET", "QUIT"]
    rcpt = entries[3]
    assert rcpt.address == "unknown@example.test"
    assert (rcpt.reply.code, str(rcpt.reply.status)) == (550, "5.1.1")
    assert entries[2].address == SENDER
    assert {e.peer for e in entries} == {entries[0].peer}
    assert all(a.time <= b.time for a, b in itertools.pairwise(entries))
    assert str(rcpt).endswith("RCPT <unknown@example.test> -> 550 5.1.1 No such user")


def test_reset_forgets_records_and_restores_the_initial_rules(server: SMTPTestServer) -> None:
    initial = server.current_rules
    server.rules('[[rule]]\nrecipient = "bob@*"\nverdict = "DENY"\n')
    with smtplib.SMTP(server.host, server.port) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail(SENDER, ["bob@example.test"], MESSAGE)
        client.sendmail(SENDER, ["unknown@example.test"], MESSAGE)  # no longer refused
    assert len(server.messages) == 1
    server.reset()
    assert (server.messages, server.bounces, server.transcript) == ([], [], [])
    assert server.current_rules == initial
    with smtplib.SMTP(server.host, server.port) as client:
        assert_accepted(client.sendmail(SENDER, ["bob@example.test"], MESSAGE))
        with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
            client.sendmail(SENDER, ["unknown@example.test"], MESSAGE)
    assert_refused(caught.value, "5.1.1")


def test_invalid_rules_raise_and_keep_the_rules_in_force(server: SMTPTestServer) -> None:
    before = server.current_rules
    with pytest.raises(RulesError, match="unknown factory 'no_such_usr'"):
        server.rules('[[rule]]\nrecipient = "x@*"\nverdict = "DENY"\nfactory = "no_such_usr"\n')
    with pytest.raises(RulesError, match="exactly one of recipient, sender or address"):
        server.add_rule(verdict="DENY")
    with pytest.raises(TypeError, match="add_rule"):
        server.add_rule(recipient=object(), verdict="DENY")
    assert server.current_rules == before


def test_add_rule_keywords_reach_the_rules_parser(server: SMTPTestServer) -> None:
    rule = server.add_rule(
        sender="*@spam.test", verdict="DENY", code=550, status="5.7.1", text=['Go "away"', "now"]
    )
    assert rule.reply == Reply(550, "5.7.1", ['Go "away"', "now"])
    with (
        smtplib.SMTP(server.host, server.port) as client,
        pytest.raises(smtplib.SMTPSenderRefused) as caught,
    ):
        client.sendmail("x@spam.test", ["bob@example.test"], MESSAGE)
    assert_refused(caught.value, "5.7.1", code=550)


def test_memory_keeps_the_last_messages_and_replies() -> None:
    with SMTPTestServer(max_messages=3, max_transcript=4) as server:
        with smtplib.SMTP(server.host, server.port) as client:
            for n in range(5):
                client.sendmail(SENDER, ["bounce@example.test"], b"Subject: %d\r\n\r\nx\r\n" % n)
        assert [m["Subject"] for m in server.messages] == ["2", "3", "4"]
        assert len(server.bounces) == 3
        assert [b.original.received for b in server.bounces] == [
            m.envelope.received for m in server.messages
        ]
        assert [e.verb for e in server.transcript] == ["RCPT", "DATA", "DATA", "QUIT"]
    with pytest.raises(ValueError, match="max_messages must be a positive integer, got 0"):
        SMTPTestServer(max_messages=0)


def test_a_maildir_gets_the_messages_and_dsns_too(tmp_path: Path) -> None:
    maildir = tmp_path / "mail"
    with SMTPTestServer(maildir=maildir) as server:
        with smtplib.SMTP(server.host, server.port) as client:
            client.sendmail(SENDER, ["bob@example.test", "bounce@example.test"], MESSAGE)
        [bounce] = server.bounces
    stored = sorted(p.read_bytes() for p in (maildir / "new").iterdir())
    assert len(stored) == 2
    assert MESSAGE in stored
    assert bounce.report.recipients[0].action is Action.FAILED
    assert any(b"multipart/report" in data for data in stored)


def test_clients_on_many_threads_are_all_recorded(server: SMTPTestServer) -> None:
    def send(n: int) -> None:
        with smtplib.SMTP(server.host, server.port) as client:
            for i in range(10):
                client.sendmail(SENDER, [f"u{n}@example.test"], b"Subject: %d\r\n\r\nx\r\n" % i)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    messages = server.messages
    assert len(messages) == 40
    for n in range(4):
        mine = [m for m in messages if m.envelope.recipients == [f"u{n}@example.test"]]
        assert [m["Subject"] for m in mine] == [str(i) for i in range(10)]


def test_a_failing_recorder_is_logged_and_the_client_still_served(
    server: SMTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("recorder broke")

    server.server.on_reply = broken
    with (
        caplog.at_level(logging.ERROR, "smtpdsn.server"),
        smtplib.SMTP(server.host, server.port) as client,
    ):
        assert_accepted(client.sendmail(SENDER, ["bob@example.test"], MESSAGE))
    assert "the on_reply recorder failed" in caplog.text
    assert len(server.messages) == 1


def test_stop_is_idempotent_and_start_only_once() -> None:
    server = SMTPTestServer()
    server.stop()  # not started: nothing to do
    server.start()
    with pytest.raises(RuntimeError, match="already started"):
        server.start()
    server.stop()
    server.stop()


# -- the assert helpers, on what smtplib and aiosmtplib raise -------------------------------


def test_helpers_read_smtplib_exceptions() -> None:
    sender = smtplib.SMTPSenderRefused(553, b"5.1.8 Bad sender domain", "a@x.test")
    assert enhanced_status_of(sender) == "5.1.8"
    assert_refused(sender, "5.1.8", code=553)
    data = smtplib.SMTPDataError(554, b"5.6.0 Message content rejected")
    assert_refused(data, "5.6")
    many = smtplib.SMTPRecipientsRefused(
        {"a@x.test": (550, b"5.1.1 No such user"), "b@x.test": (452, b"4.2.2 Mailbox full")}
    )
    assert replies_of(many) == [
        ReceivedReply(550, "5.1.1", "No such user", "a@x.test"),
        ReceivedReply(452, "4.2.2", "Mailbox full", "b@x.test"),
    ]
    assert enhanced_status_of(many, "B@X.test") == "4.2.2"
    with pytest.raises(
        AssertionError,
        match=r"<b@x.test> refused with 5.1.1, but its "
        r"enhanced status is 4.2.2: received 452 4.2.2 Mailbox full",
    ):
        assert_refused(many, "5.1.1")
    with pytest.raises(AssertionError, match=r"no reply for <c@x\.test>"):
        enhanced_status_of(many, "c@x.test")
    with pytest.raises(AssertionError, match=r"expected acceptance, but received 550 5.1.1"):
        assert_accepted(many)


def test_helpers_read_aiosmtplib_exceptions_and_replies() -> None:
    refused = aiosmtplib.SMTPRecipientRefused(550, "5.1.1 No such user", "a@x.test")
    assert enhanced_status_of(refused) == "5.1.1"
    assert_refused(aiosmtplib.SMTPRecipientsRefused([refused]), "5.1.1", "a@x.test")
    assert_refused(aiosmtplib.SMTPDataError(554, "5.7.1 Spam"), "5.7.1")
    assert_refused(Reply(421, "4.7.0", "Try later"), "4.7.0", code=421)
    assert_refused("550 5.1.1 No such user", "5.1.1")
    assert_refused((451, "4.3.0 Try again"), "4.3.0")
    assert enhanced_status_of("550 No such user") is None
    with pytest.raises(AssertionError, match="it has no enhanced status"):
        assert_refused("550 No such user", "5.1.1")
    with pytest.raises(AssertionError, match="it was not refused"):
        assert_refused(Reply(250, "2.1.5", "OK"), "5")
    with pytest.raises(AssertionError, match="its code is 550, not 551"):
        assert_refused(refused, "5.1.1", code=551)
    with pytest.raises(AssertionError, match="the client raised"):
        assert_accepted(aiosmtplib.SMTPServerDisconnected("gone"))
    with pytest.raises(ValueError, match=r"'2\.0\.0'"):
        assert_refused(refused, "2.0.0")
    with pytest.raises(TypeError, match="cannot read an SMTP reply from int 42"):
        replies_of(42)


def test_the_docs_example_runs_as_written(pytester: pytest.Pytester) -> None:
    doc = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    [example] = re.findall(r"```python\n(.*?)```", doc, re.DOTALL)
    pytester.makepyfile(test_docs_example=example)
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "error")
    result.assert_outcomes(passed=example.count("\ndef test_"))
    assert example.count("\ndef test_") == 5


def test_rules_changed_mid_connection_apply_to_the_next_command(server: SMTPTestServer) -> None:
    with smtplib.SMTP(server.host, server.port) as client:
        client.ehlo()
        assert client.mail(SENDER)[0] == 250
        assert client.rcpt("unknown@example.test")[0] == 550
        server.rules("")  # no rules: every address accepted
        assert client.rcpt("unknown@example.test")[0] == 250
        server.add_rule(recipient="bob@*", verdict="DENYSOFT", code=451, status="4.7.1")
        code, text = client.rcpt("bob@example.test")
    assert_refused((code, text), "4.7.1", code=451)
    assert server.current_rules[0].pattern == "bob@*"
