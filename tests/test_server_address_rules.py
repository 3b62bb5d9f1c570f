"""Failures named in the address: the tag parser, and the forms end to end on a real server
(smtplib and a raw socket), with the DSNs of ``+bounce-`` and ``+delay-`` read back from the
Maildir."""

from __future__ import annotations

import argparse
import signal
import smtplib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpdsn import Reply
from smtpdsn.report import Action
from smtpdsn.server.address_rules import (
    AddressRulesPlugin,
    FailureTag,
    FailureTagError,
    parse_failure_tag,
)
from smtpdsn.server.app import ServerConfig
from smtpdsn.server.bounce import Then
from smtpdsn.server.cli import add_arguments
from smtpdsn.server.rules import parse_rules
from smtpdsn.verdict import DENY, DENYSOFT, DENYSOFTDISCONNECT, OK
from tests.server_support import RawClient, ServerThread, maildir_files
from tests.test_server_bounce import MESSAGE, only_dsn, send, split
from tests.test_server_cli import serve as serve_process
from tests.test_server_cli import stop

# --- the parser ---------------------------------------------------------------------------

PARSED = [
    ("anything+550-5.1.1", "refuse", Reply(550, "5.1.1", "Bad destination mailbox address")),
    ("a+b+550-5.1.1", "refuse", Reply(550, "5.1.1", "Bad destination mailbox address")),
    ("x+451-4.7.1", "refuse", Reply(451, "4.7.1", "Delivery not authorized, message refused")),
    ("x+421-4.7.0", "refuse", Reply(421, "4.7.0", "Other or undefined security status")),
    ("x+554-5.7.1", "refuse", Reply(554, "5.7.1", "Delivery not authorized, message refused")),
    # Unregistered but well-formed statuses are allowed (RFC 3463 leaves room for them).
    ("x+550-5.1.99", "refuse", Reply(550, "5.1.99", "Failure")),
    ("x+bounce-5.2.2", "bounce", Reply(550, "5.2.2", "Mailbox full")),
    ("x+BOUNCE-5.2.2", "bounce", Reply(550, "5.2.2", "Mailbox full")),
    ("x+bounce-4.4.7", "bounce", Reply(450, "4.4.7", "Delivery time expired")),
    ("x+delay-4.4.7", "delay", Reply(450, "4.4.7", "Delivery time expired")),
    ("x+Delay-4.2.2", "delay", Reply(450, "4.2.2", "Mailbox full")),
    (
        "x+disconnect",
        "disconnect",
        Reply(421, "4.7.0", "Service not available, closing connection"),
    ),
    (
        "x+DISCONNECT",
        "disconnect",
        Reply(421, "4.7.0", "Service not available, closing connection"),
    ),
    ('"x+550-5.1.1"', "refuse", Reply(550, "5.1.1", "Bad destination mailbox address")),
]


@pytest.mark.parametrize(("local", "action", "reply"), PARSED)
def test_parse_forms(local: str, action: str, reply: Reply) -> None:
    assert parse_failure_tag(local) == FailureTag(action, reply)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "local",
    [
        "alice",
        "alice+newsletter",
        "bob+2024-01",  # a date, not a status: no dot
        "bob+550",
        "bob+550-",
        "bob+550-abc",
        "bob+bounce",
        "bob+bounce-notices",
        "bob+delay-",
        "bob+disconnected",
        "bob+550-5.1.1+newsletter",  # only the last tag counts
        "",
        "+",
    ],
)
def test_other_tags_are_ignored(local: str) -> None:
    assert parse_failure_tag(local) is None


BAD_CODE = "is not valid (a 4xx or 5xx code whose second digit is 0-5, RFC 5321 section 4.2)"
BAD_STATUS = "is not an enhanced status code such as 5.1.1 (RFC 3463 section 2)"


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ("550-4.1.1", "reply code 550 and status 4.1.1 disagree in class"),
        ("451-5.7.1", "reply code 451 and status 5.7.1 disagree in class"),
        ("999-5.1.1", f"reply code 999 {BAD_CODE}"),
        ("560-5.1.1", f"reply code 560 {BAD_CODE}"),
        ("55-5.1.1", f"reply code 55 {BAD_CODE}"),
        ("550-5.1", f"'5.1' {BAD_STATUS}"),
        ("550-05.1.1", f"'05.1.1' {BAD_STATUS}"),
        ("550-5.1.1.", f"'5.1.1.' {BAD_STATUS}"),
        ("250-2.1.5", "reply code 250 is not a failure (use 4xx or 5xx)"),
        ("bounce-5.1", f"'5.1' {BAD_STATUS}"),
        ("bounce-2.0.0", "a bounce reports a failure status (5.x.x or 4.x.x); got 2.0.0"),
        ("delay-5.2.2", "a delay reports a transient status (4.x.x); got 5.2.2"),
    ],
)
def test_malformed_tags_raise(tag: str, problem: str) -> None:
    with pytest.raises(FailureTagError) as info:
        parse_failure_tag(f"x+{tag}")
    message = f"Address failure tag {tag!r}: {problem}"
    assert str(info.value) == message
    assert (info.value.tag, info.value.problem) == (tag, problem)
    assert info.value.reply == Reply(501, "5.5.4", message)


def test_long_malformed_tag_is_shortened() -> None:
    tag = "5" * 5000 + "-5.1.1"
    with pytest.raises(FailureTagError) as info:
        parse_failure_tag("x+" + tag)
    assert info.value.tag == tag
    assert str(info.value).startswith(
        "Address failure tag '" + "5" * 60 + "...': reply code " + "5" * 20 + "... is not valid"
    )
    assert len(info.value.reply.lines) == 1  # one reply line, however long the address


@given(st.text(max_size=40))
def test_parser_returns_or_raises_the_documented_error(local: str) -> None:
    try:
        tag = parse_failure_tag(local)
    except FailureTagError as exc:
        assert exc.reply.code == 501 and str(exc.reply.status) == "5.5.4"
        return
    if tag is not None:
        assert tag.action in ("refuse", "bounce", "delay", "disconnect")
        assert tag.reply.code >= 400


@given(
    st.sampled_from(["550-5.1.1", "451-4.7.1", "bounce-5.2.2", "delay-4.4.7", "disconnect"]),
    st.text(st.characters(exclude_characters="+"), max_size=10),
)
def test_anything_before_the_tag(tag: str, head: str) -> None:
    assert parse_failure_tag(f"{head}+{tag}") == parse_failure_tag(f"x+{tag}") is not None


# --- the plugin, without a server ----------------------------------------------------------


class Envelope:
    def __init__(self) -> None:
        self.dsn_then: dict[str, Then] = {}


def test_plugin_verdicts() -> None:
    plugin = AddressRulesPlugin()
    env = Envelope()

    def rcpt(address: str) -> object:
        return plugin.hook_rcpt(None, env, address, None)

    def verdict(answer: object) -> object:
        return getattr(answer, "verdict", None)

    assert verdict(rcpt("a+550-5.1.1@x.test")) is DENY
    assert verdict(rcpt("a+451-4.7.1@x.test")) is DENYSOFT
    assert verdict(rcpt("a+421-4.7.0@x.test")) is DENYSOFTDISCONNECT
    assert verdict(rcpt("a+disconnect@x.test")) is DENYSOFTDISCONNECT
    assert verdict(rcpt("a+550-4.1.1@x.test")) is DENY
    assert rcpt("a+newsletter@x.test") is None
    assert rcpt("postmaster") is None
    assert env.dsn_then == {}
    assert verdict(rcpt("a+bounce-5.2.2@x.test")) is OK
    assert verdict(rcpt("a+delay-4.4.7@x.test")) is OK
    assert env.dsn_then == {
        "a+bounce-5.2.2@x.test": Then("bounce", Reply(550, "5.2.2", "Mailbox full")),
        "a+delay-4.4.7@x.test": Then("delay", Reply(450, "4.4.7", "Delivery time expired")),
    }
    # A sender: the refusing forms apply, bounce and delay do not.
    sender = Envelope()
    assert verdict(plugin.hook_mail(None, sender, "s+553-5.1.8@x.test", None)) is DENY
    assert plugin.hook_mail(None, sender, "s+bounce-5.1.1@x.test", None) is None
    assert sender.dsn_then == {}


# --- end to end ------------------------------------------------------------------------------


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    return tmp_path / "md"


def test_refusals_on_the_wire(maildir: Path) -> None:
    with (
        ServerThread(config=ServerConfig(maildir=maildir)) as server,
        smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client,
    ):
        client.ehlo("client.test")
        assert client.mail("alice@example.com") == (250, b"2.1.0 Sender OK")
        assert client.rcpt("anything+550-5.1.1@example.test") == (
            550,
            b"5.1.1 Bad destination mailbox address",
        )
        assert client.rcpt("a+b+554-5.7.1@example.test") == (
            554,
            b"5.7.1 Delivery not authorized, message refused",
        )
        assert client.rcpt("x+451-4.7.1@example.test") == (
            451,
            b"4.7.1 Delivery not authorized, message refused",
        )
        assert client.rcpt("x+550-4.1.1@example.test") == (
            501,
            b"5.5.4 Address failure tag '550-4.1.1': reply code 550 and status 4.1.1 "
            b"disagree in class",
        )
        assert client.rcpt("x+999-5.1.1@example.test")[0] == 501
        assert client.rcpt("x+550-5.1@example.test") == (
            501,
            b"5.5.4 Address failure tag '550-5.1': '5.1' is not an enhanced status code "
            b"such as 5.1.1 (RFC 3463 section 2)",
        )
        assert client.rcpt("alice+newsletter@example.test") == (
            250,
            b"2.1.5 Recipient OK",
        )
        assert client.data(MESSAGE)[0] == 250
        # The sender's tag refuses MAIL.
        assert client.mail("app+553-5.1.8@example.com") == (
            553,
            b"5.1.8 Bad sender's system address",
        )
    assert maildir_files(maildir) == [MESSAGE]


@pytest.mark.parametrize("tag", ["disconnect", "421-4.7.0"])
def test_disconnect_closes(maildir: Path, tag: str) -> None:
    with (
        ServerThread(config=ServerConfig(maildir=maildir)) as server,
        RawClient(server.port) as client,
    ):
        client.reply()
        client.cmd("EHLO client.test")
        assert client.cmd("MAIL FROM:<a@example.com>") == "250 2.1.0 Sender OK"
        reply = client.cmd(f"RCPT TO:<x+{tag}@example.test>")
        assert reply.startswith("421 4.7.0 ")
        assert client.closed()


def test_bounce_stores_a_dsn(maildir: Path) -> None:
    with ServerThread(config=ServerConfig(maildir=maildir)) as server:
        replies = send(server.port, ["bob+bounce-5.2.2@example.org"])
    assert replies[1] == (250, b"2.1.5 Recipient OK")
    assert replies[2][0] == 250
    _, report = only_dsn(maildir)
    [rcpt] = report.recipients
    assert rcpt.action is Action.FAILED
    assert str(rcpt.status) == "5.2.2"
    assert rcpt.diagnostic_reply == Reply(550, "5.2.2", "Mailbox full")
    assert rcpt.will_retry_until is None


def test_delay_stores_a_delayed_dsn(maildir: Path) -> None:
    with ServerThread(config=ServerConfig(maildir=maildir)) as server:
        replies = send(server.port, ["bob+DELAY-4.4.7@example.org", "carol@example.org"])
    assert replies[1] == replies[2] == (250, b"2.1.5 Recipient OK")
    _, report = only_dsn(maildir)
    [rcpt] = report.recipients  # carol was delivered: no DSN for her
    assert rcpt.action is Action.DELAYED
    assert str(rcpt.status) == "4.4.7"
    assert rcpt.diagnostic_reply == Reply(450, "4.4.7", "Delivery time expired")
    assert report.arrival_date is not None
    assert rcpt.will_retry_until == report.arrival_date + timedelta(days=5)


def test_off_with_address_rules_false(maildir: Path) -> None:
    config = ServerConfig(maildir=maildir, address_rules=False)
    with ServerThread(config=config) as server:
        replies = send(
            server.port, ["x+550-5.1.1@example.org", "y+bounce-5.2.2@example.org", "z+disconnect@x"]
        )
    assert replies[1:4] == [(250, b"2.1.5 Recipient OK")] * 3
    originals, dsns = split(maildir)
    assert (originals, dsns) == ([MESSAGE], [])


def test_a_matching_rule_wins_over_the_tag(maildir: Path) -> None:
    rules = parse_rules(
        '[[rule]]\nrecipient = "vip+*@*"\nverdict = "OK"\n'
        '[[rule]]\nrecipient = "gone+*@*"\nverdict = "DENY"\nfactory = "mbox_disabled"\n'
    )
    with (
        ServerThread(config=ServerConfig(maildir=maildir, rules=rules)) as server,
        smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client,
    ):
        client.ehlo("client.test")
        client.mail("alice@example.com")
        assert client.rcpt("vip+550-5.1.1@example.test") == (250, b"2.0.0 OK")
        assert client.rcpt("gone+451-4.7.1@example.test") == (
            550,
            b"5.2.1 Mailbox disabled, not accepting messages",
        )
        # No rule matches: the tag decides.
        assert client.rcpt("other+451-4.7.1@example.test")[0] == 451


def test_cli_option() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([]).address_rules is True
    assert parser.parse_args(["--no-address-rules"]).address_rules is False


@pytest.mark.parametrize("off", [False, True])
def test_serve_command(tmp_path: Path, off: bool) -> None:
    args = ["--no-address-rules"] if off else []
    with serve_process(tmp_path, *args, "--log-level", "warning") as (port, proc):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("client.test")
            client.mail("alice@example.com")
            code, _ = client.rcpt("x+550-5.1.1@example.test")
        exit_code, err = stop(proc, signal.SIGTERM)
    assert exit_code == 0, err
    assert code == (250 if off else 550)
