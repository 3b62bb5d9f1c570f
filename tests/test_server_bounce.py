"""Accept, then bounce or delay: rules with ``then``, and the DSN stored in the Maildir.

A real server on 127.0.0.1, smtplib sending with DSN parameters, the Maildir read back and
the DSN parsed with :func:`smtpdsn.report.parse_reports`.
"""

from __future__ import annotations

import email
import email.policy
import os
import smtplib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

import smtpdsn
from smtpdsn import OK, Reply
from smtpdsn.report import Action, DeliveryReport, TypedValue, parse_reports
from smtpdsn.server import app as app_module
from smtpdsn.server.app import ServerConfig
from smtpdsn.server.bounce import DEFAULT_RETRY_FOR, Then
from smtpdsn.server.maildir import Maildir
from smtpdsn.server.rules import DEFAULT_RULES, RulesError, RulesPlugin, parse_rules
from tests.server_support import HOSTNAME, ServerThread, maildir_files

SENDER = "alice@example.com"
MESSAGE = (
    b"From: alice@example.com\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: Hi\r\n"
    b"Message-ID: <m1@example.com>\r\n"
    b"\r\n"
    b"The body, returned only with RET=FULL.\r\n"
)
MAIL_OPTIONS = ["RET=HDRS", "ENVID=QQ314159"]
RCPT_OPTIONS = ["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;Bob@Example.org"]


def send(
    port: int,
    recipients: Sequence[str],
    *,
    sender: str = SENDER,
    mail_options: Sequence[str] = MAIL_OPTIONS,
    rcpt_options: Sequence[str] = RCPT_OPTIONS,
    message: bytes = MESSAGE,
) -> list[tuple[int, bytes]]:
    """One transaction with smtplib; returns the replies to MAIL, each RCPT and DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("client.test")
        assert client.has_extn("dsn")
        replies = [client.mail(sender, list(mail_options))]
        replies += [client.rcpt(rcpt, list(rcpt_options)) for rcpt in recipients]
        replies.append(client.data(message))
    return replies


def split(path: Path) -> tuple[list[bytes], list[bytes]]:
    """The Maildir's messages: (originals, DSNs)."""
    files = maildir_files(path)
    dsns = [f for f in files if b'report-type="delivery-status"' in f]
    return [f for f in files if f not in dsns], dsns


def part(msg: EmailMessage, index: int) -> EmailMessage:
    """The message's MIME part ``index``."""
    found = list(msg.iter_parts())[index]
    assert isinstance(found, EmailMessage)
    return found


def only_dsn(path: Path, original: bytes = MESSAGE) -> tuple[EmailMessage, DeliveryReport]:
    """Asserts the Maildir holds the original and one DSN; returns the DSN, parsed."""
    originals, dsns = split(path)
    assert originals == [original]
    assert len(dsns) == 1
    msg = email.message_from_bytes(dsns[0], policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    [report] = parse_reports(dsns[0])
    assert report.warnings == []
    return msg, report


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    return tmp_path / "md"


def serve(maildir: Path, rules: str | None = None) -> ServerThread:
    return ServerThread(
        config=ServerConfig(maildir=maildir, rules=None if rules is None else parse_rules(rules))
    )


# --- end to end with the default rules ------------------------------------------------


def test_bounce_with_dsn_parameters(maildir: Path) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    with serve(maildir) as st:
        replies = send(st.port, ["bounce@example.org"])
        # The 250 to DATA means both files are already in new/.
        originals, dsns = split(maildir)
        assert (len(originals), len(dsns)) == (1, 1)
    assert replies[0] == (250, b"2.1.0 Sender OK")
    assert replies[1] == (250, b"2.1.5 Recipient OK")
    assert replies[2][0] == 250 and replies[2][1].startswith(b"2.0.0 Message accepted")
    msg, report = only_dsn(maildir)
    # From MAILER-DAEMON at the server's name, to the envelope sender.
    assert msg["From"].addresses[0].addr_spec == f"MAILER-DAEMON@{HOSTNAME}"
    assert [a.addr_spec for a in msg["To"].addresses] == [SENDER]
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg.get_content_type() == "multipart/report"
    assert report.original_envelope_id == "QQ314159"
    assert report.reporting_mta == TypedValue("dns", HOSTNAME)
    assert report.arrival_date is not None
    assert before <= report.arrival_date <= datetime.now(UTC)
    [rcpt] = report.recipients
    assert rcpt.original_recipient == TypedValue("rfc822", "Bob@Example.org")
    assert rcpt.final_recipient == TypedValue("rfc822", "bounce@example.org")
    assert rcpt.action is Action.FAILED
    assert str(rcpt.status) == "5.1.1"
    assert rcpt.diagnostic_code == TypedValue("smtp", "550 5.1.1 No such user")
    assert rcpt.diagnostic_reply == Reply(550, "5.1.1", "No such user")
    assert rcpt.will_retry_until is None
    # RET=HDRS: the header section only, not the body.
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    returned = part(msg, 2).get_payload(decode=True)
    assert isinstance(returned, bytes)
    assert b"Subject: Hi" in returned and b"Message-ID: <m1@example.com>" in returned
    assert b"The body" not in returned


def test_delay_has_will_retry_until(maildir: Path) -> None:
    with serve(maildir) as st:
        replies = send(st.port, ["Delay@Example.org"])
    assert [code for code, _ in replies] == [250, 250, 250]
    msg, report = only_dsn(maildir)
    assert [a.addr_spec for a in msg["To"].addresses] == [SENDER]
    assert report.original_envelope_id == "QQ314159"
    [rcpt] = report.recipients
    assert rcpt.original_recipient == TypedValue("rfc822", "Bob@Example.org")
    assert rcpt.final_recipient == TypedValue("rfc822", "Delay@Example.org")
    assert rcpt.action is Action.DELAYED
    assert str(rcpt.status) == "4.2.2"
    assert rcpt.diagnostic_reply == Reply(450, "4.2.2", "Mailbox full")
    assert report.arrival_date is not None
    # The default rule says retry_for = "5d": arrival + 5 days.
    assert rcpt.will_retry_until == report.arrival_date + timedelta(days=5)
    # A delay report returns the headers only.
    assert part(msg, 2).get_content_type() == "text/rfc822-headers"


def test_one_dsn_for_the_marked_recipients_of_a_message(maildir: Path) -> None:
    with serve(maildir) as st:
        replies = send(
            st.port,
            ["bounce@a.test", "anyone@a.test", "unknown@a.test", "delay@a.test"],
            rcpt_options=[],
            mail_options=[],
        )
    assert [code for code, _ in replies] == [250, 250, 250, 550, 250, 250]
    _, report = only_dsn(maildir)
    assert report.original_envelope_id is None
    # Accepted and delivered recipients, and refused ones, are not in it; without
    # NOTIFY a failure and a delay are both reported (RFC 3461 lets the MTA choose).
    assert [(r.final_recipient, r.action, r.original_recipient) for r in report.recipients] == [
        (TypedValue("rfc822", "bounce@a.test"), Action.FAILED, None),
        (TypedValue("rfc822", "delay@a.test"), Action.DELAYED, None),
    ]


def test_ret_full_returns_the_whole_message(maildir: Path) -> None:
    with serve(maildir) as st:
        send(st.port, ["bounce@example.org"], mail_options=["RET=FULL", "ENVID=QQ314159"])
    msg, report = only_dsn(maildir)
    assert report.original_envelope_id == "QQ314159"
    returned = part(msg, 2)
    assert returned.get_content_type() == "message/rfc822"
    assert returned.as_bytes().replace(b"\r\n", b"\n").endswith(MESSAGE.replace(b"\r\n", b"\n"))
    [inner] = returned.iter_parts()
    assert isinstance(inner, EmailMessage)
    assert inner["Subject"] == "Hi"
    assert inner.get_content().strip() == "The body, returned only with RET=FULL."


@pytest.mark.parametrize(
    ("sender", "recipient", "rcpt_options"),
    [
        ("", "bounce@example.org", RCPT_OPTIONS),  # MAIL FROM:<>: a bounce is never bounced
        ("", "delay@example.org", []),
        (SENDER, "bounce@example.org", ["NOTIFY=NEVER"]),
        (SENDER, "delay@example.org", ["NOTIFY=NEVER", "ORCPT=rfc822;x@y"]),
        (SENDER, "bounce@example.org", ["NOTIFY=SUCCESS"]),  # no failure DSN
        (SENDER, "delay@example.org", ["NOTIFY=SUCCESS"]),
        (SENDER, "bounce@example.org", ["NOTIFY=DELAY"]),  # a failure is not a delay
        (SENDER, "delay@example.org", ["NOTIFY=FAILURE"]),  # a delay is not a failure
    ],
)
def test_no_dsn_when_none_is_due(
    maildir: Path, sender: str, recipient: str, rcpt_options: list[str]
) -> None:
    with serve(maildir) as st:
        replies = send(st.port, [recipient], sender=sender, rcpt_options=rcpt_options)
    assert [code for code, _ in replies] == [250, 250, 250]
    assert split(maildir) == ([MESSAGE], [])


def test_notify_per_recipient(maildir: Path) -> None:
    """NOTIFY is honoured per recipient: only the one that asked is reported."""
    with serve(maildir) as st, smtplib.SMTP("127.0.0.1", st.port, timeout=10) as c:
        c.ehlo("x")
        assert c.mail(SENDER, ["ENVID=e1"])[0] == 250
        assert c.rcpt("bounce@a.test", ["NOTIFY=NEVER"])[0] == 250
        assert c.rcpt("bounce@b.test", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;B@B.test"])[0] == (
            250
        )
        assert c.data(MESSAGE)[0] == 250
    _, report = only_dsn(maildir)
    assert report.original_envelope_id == "e1"
    assert [(r.final_recipient, r.original_recipient) for r in report.recipients] == [
        (TypedValue("rfc822", "bounce@b.test"), TypedValue("rfc822", "B@B.test"))
    ]


def test_each_transaction_gets_its_own_dsn(maildir: Path) -> None:
    with serve(maildir) as st, smtplib.SMTP("127.0.0.1", st.port, timeout=10) as c:
        c.ehlo("x")
        c.sendmail("a@x.test", ["bounce@y.test"], MESSAGE)
        c.sendmail("b@x.test", ["other@y.test"], MESSAGE)  # not marked: no DSN
        c.sendmail("c@x.test", ["delay@y.test"], MESSAGE)
    originals, dsns = split(maildir)
    assert originals == [MESSAGE] * 3
    to = sorted(
        email.message_from_bytes(d, policy=email.policy.default)["To"].addresses[0].addr_spec
        for d in dsns
    )
    assert to == ["a@x.test", "c@x.test"]


# --- rules files --------------------------------------------------------------------------


def test_then_rules_and_retry_for(maildir: Path) -> None:
    rules = """
[[rule]]
recipient = "gone@*"
then = "bounce"
code = 551
status = "5.1.6"
text = ["User has moved", "try elsewhere"]

[[rule]]
recipient = "slow@*"
verdict = "ok"
then = "Delay"
text = "Greylisted"
retry_for = "1d12h"

[[rule]]
recipient = "later@*"
then = "delay"
retry_for = 90

[[rule]]
recipient = "given-up@*"
then = "bounce"
factory = "mbox_full"
"""
    parsed = parse_rules(rules, "r.toml")
    assert [(r.then, str(r.reply), r.retry_for, r.verdict, r.line) for r in parsed] == [
        ("bounce", "551-5.1.6 User has moved\r\n551 5.1.6 try elsewhere", None, OK, 2),
        ("delay", "450 4.0.0 Greylisted", timedelta(days=1, hours=12), OK, 9),
        (
            "delay",
            "450 4.0.0 Temporarily rejected, try again later",
            timedelta(seconds=90),
            OK,
            16,
        ),
        ("bounce", "450 4.2.2 Mailbox full", None, OK, 21),
    ]
    # A then rule accepts; its reply is for the DSN only.
    res = RulesPlugin(parsed)._decide("rcpt", "gone@x")
    assert res is not None and str(res.reply) == "250 2.1.5 Recipient OK"
    assert parsed[0].after_accept() == Then("bounce", parsed[0].reply)  # type: ignore[arg-type]
    with serve(maildir, rules) as st:
        before = datetime.now(UTC).replace(microsecond=0)
        replies = send(st.port, ["gone@a", "slow@a", "later@a", "given-up@a", "x@a"])
    assert [code for code, _ in replies] == [250] * 7
    _, report = only_dsn(maildir)
    gone, slow, later, given_up = report.recipients
    assert gone.action is Action.FAILED and str(gone.status) == "5.1.6"
    assert gone.diagnostic_reply == Reply(551, "5.1.6", ["User has moved", "try elsewhere"])
    assert slow.action is Action.DELAYED and str(slow.status) == "4.0.0"
    assert report.arrival_date is not None and report.arrival_date >= before
    assert slow.will_retry_until == report.arrival_date + timedelta(days=1, hours=12)
    assert later.will_retry_until == report.arrival_date + timedelta(seconds=90)
    # A bounce with a 4xx reply: the MTA gave up after transient failures.
    assert given_up.action is Action.FAILED and str(given_up.status) == "4.2.2"
    assert given_up.diagnostic_reply == Reply(450, "4.2.2", "Mailbox full")


def test_default_rules_include_bounce_and_delay() -> None:
    rules = {r.pattern: r for r in parse_rules(DEFAULT_RULES)}
    assert rules["bounce@*"].then == "bounce"
    assert str(rules["bounce@*"].reply) == "550 5.1.1 No such user"
    assert rules["delay@*"].then == "delay"
    assert str(rules["delay@*"].reply) == "450 4.2.2 Mailbox full"
    assert rules["delay@*"].retry_for == DEFAULT_RETRY_FOR == timedelta(days=5)
    # A delay rule without retry_for gets the default too.
    [rule] = parse_rules('[[rule]]\nrecipient = "d@*"\nthen = "delay"\n')
    assert rule.retry_for == DEFAULT_RETRY_FOR
    # *@blocked.test comes first: bounce@blocked.test is refused and disconnected.
    plugin = RulesPlugin(list(rules.values()))
    res = plugin._decide("rcpt", "bounce@blocked.test")
    assert res is not None and res.disconnect


ERRORS = [
    (
        '[[rule]]\nrecipient = "a@*"\nthen = "bounced"\n',
        "r.toml:3: rule 1: then must be 'bounce' or 'delay'; got 'bounced'",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nthen = true\n',
        "r.toml:3: rule 1: then must be 'bounce' or 'delay'; got True",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nverdict = "DENY"\nthen = "bounce"\n',
        "r.toml:3: rule 1: then = 'bounce' accepts the recipient first, so its verdict can only "
        "be OK (or left out); got DENY",
    ),
    (
        '[[rule]]\nsender = "a@*"\nthen = "bounce"\n',
        "r.toml:3: rule 1: then = 'bounce' is for recipient rules (the DSN is about a "
        "recipient); this rule has sender",
    ),
    (
        '[[rule]]\naddress = "a@*"\nthen = "delay"\n',
        "r.toml:3: rule 1: then = 'delay' is for recipient rules (the DSN is about a "
        "recipient); this rule has address",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nthen = "bounce"\nfactory = "addr_rcpt_ok"\n',
        "r.toml:4: rule 1: then = 'bounce' needs a 5xx (or 4xx) reply for the DSN to report; "
        "got 250",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\n\nthen = "delay"\ncode = 550\n',
        "r.toml:5: rule 1: then = 'delay' needs a 4xx reply for the DSN to report; got 550",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nthen = "delay"\nfactory = "no_such_user"\n',
        "r.toml:4: rule 1: then = 'delay' needs a 4xx reply for the DSN to report; got 550",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nthen = "bounce"\nretry_for = "5d"\n',
        "r.toml:4: rule 1: retry_for is only for then = 'delay'",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nverdict = "DENYSOFT"\nretry_for = 60\n',
        "r.toml:4: rule 1: retry_for is only for then = 'delay'",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nthen = "delay"\nretry_for = "5 days"\n',
        "r.toml:4: rule 1: retry_for must be a number of seconds or a string such as '5d', "
        "'12h', '30m' or '1d12h', at most 10 years; got '5 days'",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nthen = "delay"\nretry_for = 0\n',
        "r.toml:4: rule 1: retry_for must be a number of seconds or a string such as '5d', "
        "'12h', '30m' or '1d12h', at most 10 years; got 0",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nthen = "delay"\nretry_for = 1.5\n',
        "r.toml:4: rule 1: retry_for must be a number of seconds or a string such as '5d', "
        "'12h', '30m' or '1d12h', at most 10 years; got 1.5",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nthen = "bounce"\nfactory = "no_such_usr"\n',
        "r.toml:4: rule 1: unknown factory 'no_such_usr' (did you mean 'no_such_user'?)",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nthen = "bounce"\nthen_ = 1\n',
        "r.toml:4: rule 1: unknown key 'then_'; expected address, code, factory, recipient, "
        "retry_for, sender, status, text, then, verdict",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\n',
        "r.toml:1: rule 1: verdict must be one of OK, CONT, DENY, DENYSOFT, DENYDISCONNECT, "
        "DENYSOFTDISCONNECT, DISCONNECT; got None",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_then_errors_name_file_line_and_problem(text: str, message: str) -> None:
    with pytest.raises(RulesError) as info:
        parse_rules(text, "r.toml")
    assert str(info.value) == message


# --- plugins, atomic delivery, host name ----------------------------------------------------


class MarkingPlugin:
    """Marks every recipient for a bounce; refuses those starting with "no"."""

    async def hook_rcpt(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        envelope.dsn_then[address] = Then("bounce", smtpdsn.mbox_disabled())
        if address.startswith("no"):
            return smtpdsn.DENY, smtpdsn.no_such_user()
        return OK


def test_a_plugin_can_mark_a_recipient_and_a_refused_one_is_dropped(maildir: Path) -> None:
    config = ServerConfig(maildir=maildir, plugins=[MarkingPlugin()])
    with ServerThread(config=config) as st:
        replies = send(st.port, ["yes@a.test", "no@a.test"], rcpt_options=[])
    assert [code for code, _ in replies] == [250, 250, 550, 250]
    _, report = only_dsn(maildir)
    assert [(r.final_recipient, str(r.status)) for r in report.recipients] == [
        (TypedValue("rfc822", "yes@a.test"), "5.2.1")
    ]


class DSNWriteFails(Maildir):
    """Fails half-way through writing a DSN, as a full disk would."""

    def _write(self, fd: int, content: bytes) -> None:
        if b"MAILER-DAEMON" in content:
            os.write(fd, content[: len(content) // 2])
            raise OSError(28, "No space left on device")
        super()._write(fd, content)


def test_dsn_write_failure_keeps_nothing_and_answers_452(
    maildir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "Maildir", DSNWriteFails)
    with serve(maildir) as st:
        replies = send(st.port, ["bounce@example.org"])
        # A full disk is 452 4.3.1 (RFC 3463: mail system full), not 451.
        assert replies[-1] == (452, b"4.3.1 Insufficient system storage, try again later")
        # Another message still goes through.
        assert send(st.port, ["someone@example.org"])[-1][0] == 250
    assert split(maildir) == ([MESSAGE], [])


def test_deliver_all_renames_in_order_and_is_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    md = Maildir(tmp_path / "md")
    renamed: list[bytes] = []
    real_rename = os.rename

    def rename(src: Any, dst: Any) -> None:
        renamed.append(Path(src).read_bytes())
        if len(renamed) == 2 and Path(src).read_bytes() == b"fail":
            raise OSError(5, "I/O error")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    names = md.deliver_all([b"original", b"dsn"])
    assert renamed == [b"original", b"dsn"]  # every file is written before any rename
    assert [(md.path / "new" / n).read_bytes() for n in names] == [b"original", b"dsn"]
    renamed.clear()
    with pytest.raises(OSError, match="I/O error"):
        md.deliver_all([b"first", b"fail"])
    assert renamed == [b"first", b"fail"]
    assert maildir_files(md.path) == [b"dsn", b"original"]


def test_a_server_name_that_is_not_a_host_name(maildir: Path) -> None:
    config = ServerConfig(maildir=maildir, hostname="my_laptop")
    with ServerThread(config=config) as st:
        assert send(st.port, ["bounce@example.org"])[-1][0] == 250
    msg, report = only_dsn(maildir)
    # RFC 3461 section 6.3(b): "dns" only for a fully qualified name.
    assert report.reporting_mta == TypedValue("x-local-hostname", "localhost")
    assert msg["From"].addresses[0].addr_spec == "MAILER-DAEMON@localhost"
