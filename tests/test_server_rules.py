"""Rules files: the default rules, the TOML format, and errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from smtpdsn import DENY, DENYDISCONNECT, DENYSOFT, OK, Reply
from smtpdsn.server.app import ServerConfig
from smtpdsn.server.rules import DEFAULT_RULES, RulesError, RulesPlugin, load_rules, parse_rules
from tests.server_support import RawClient, ServerThread


def test_default_rules() -> None:
    rules = parse_rules(DEFAULT_RULES, "<default>")
    assert [(r.field, r.pattern, r.verdict, str(r.reply), r.line) for r in rules] == [
        ("recipient", "unknown@*", DENY, "550 5.1.1 No such user", 2),
        ("recipient", "full@*", DENYSOFT, "450 4.2.2 Mailbox full", 7),
        ("recipient", "disabled@*", DENY, "550 5.2.1 Mailbox disabled, not accepting messages", 12),
        (
            "address",
            "*@blocked.test",
            DENYDISCONNECT,
            "550 5.7.1 Delivery not authorized, message refused",
            17,
        ),
        # Accepted, then bounced or delayed: the reply is the one the DSN reports.
        ("recipient", "bounce@*", OK, "550 5.1.1 No such user", 23),
        ("recipient", "delay@*", OK, "450 4.2.2 Mailbox full", 28),
    ]
    assert [r.then for r in rules] == [None, None, None, None, "bounce", "delay"]


def test_rule_forms() -> None:
    text = """
[[rule]]
sender = "*@Spam.TEST"
verdict = "deny"
code = 554
status = "5.7.1"
text = "Spam"

[[rule]]
recipient = "x?@*"
verdict = "DENYSOFT"
text = ["line one", "line two"]

[[rule]]
recipient = "big@*"
verdict = "DENY"
factory = "mbox_full"
text = "Over quota"
code = 552

[[rule]]
recipient = "ok@*"
verdict = "OK"
factory = "addr_rcpt_ok"

[[rule]]
recipient = "skip@*"
verdict = "CONT"
"""
    rules = parse_rules(text)
    assert rules[0].reply == Reply(554, "5.7.1", "Spam")
    assert rules[0].pattern == "*@spam.test"
    assert rules[1].reply == Reply(450, "4.0.0", ["line one", "line two"])
    assert str(rules[2].reply) == "552 5.2.2 Over quota"
    plugin = RulesPlugin(rules)
    assert plugin._decide("mail", "a@SPAM.test") is not None
    assert plugin._decide("rcpt", "a@spam.test") is None  # sender rules only at MAIL
    assert plugin._decide("rcpt", "x1@y") is not None
    assert plugin._decide("rcpt", "x12@y") is None
    assert plugin._decide("rcpt", "skip@y") is None
    res = plugin._decide("rcpt", "ok@y")
    assert res is not None and str(res.reply) == "250 2.1.5 Destination address valid"


ERRORS = [
    ('[[rule]]\nrecipient = "a@*"\nverdict = DENY\n', "r.toml:3: not valid TOML: Invalid value"),
    (
        '[[rule]]\nrecipient = "a@*"\nverdict = "DENY"\n\n[[rule]]\nrecipient = "b@*"\n'
        'verdict = "DENY"\nfactroy = "x"\n',
        "r.toml:8: rule 2: unknown key 'factroy'; expected address, code, factory, recipient, "
        "retry_for, sender, status, text, then, verdict",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nverdict = "REJECT"\n',
        "r.toml:3: rule 1: verdict must be one of OK, CONT, DENY, DENYSOFT, DENYDISCONNECT, "
        "DENYSOFTDISCONNECT, DISCONNECT; got 'REJECT'",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\n',
        "r.toml:1: rule 1: verdict must be one of OK, CONT, DENY, DENYSOFT, DENYDISCONNECT, "
        "DENYSOFTDISCONNECT, DISCONNECT; got None",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nverdict = "DENY"\nfactory = "no_such_usr"\n',
        "r.toml:4: rule 1: unknown factory 'no_such_usr' (did you mean 'no_such_user'?)",
    ),
    (
        '[[rule]]\nrecipient = "a@*"\nverdict = "DENY"\nfactory = "no_such_user"\ncode = 600\n',
        "r.toml:5: rule 1: invalid SMTP reply code 600: expected a three-digit integer 2xx, "
        "4xx or 5xx whose second digit is 0-5 (RFC 5321 section 4.2)",
    ),
    (
        '[[rule]]\nverdict = "DENY"\n',
        "r.toml:1: rule 1: a rule needs exactly one of recipient, sender or address",
    ),
    (
        '[[rule]]\nrecipient = "a"\nsender = "b"\nverdict = "DENY"\n',
        "r.toml:1: rule 1: a rule needs exactly one of recipient, sender or address",
    ),
    (
        '[[rule]]\nrecipient = "a"\nverdict = "DENY"\nfactory = "addr_rcpt_ok"\n',
        "r.toml:4: rule 1: verdict DENY contradicts the 250 reply; the reply would be replaced "
        "by the verdict's default",
    ),
    (
        "rules = 1\n",
        "r.toml:1: unknown top-level key 'rules'; rules are written as [[rule]] tables",
    ),
    (
        '[[rule]]\nrecipient = "a"\nverdict = "DENY"\ncode = 550\nstatus = "4.1.1"\n',
        "r.toml:5: rule 1: enhanced status 4.1.1 does not agree with reply code 550: its class "
        "must be 5 (RFC 3463 section 2)",
    ),
    (
        '[[rule]]\nrecipient = "a"\nverdict = "DENY"\nstatus = "5.1.1"\n',
        "r.toml:4: rule 1: a status needs a code",
    ),
    (
        '[[rule]]\nrecipient = "a"\nverdict = "DENY"\ncode = "550"\n',
        "r.toml:4: rule 1: code must be an integer such as 550; got '550'",
    ),
    (
        '[[rule]]\nrecipient = ""\nverdict = "DENY"\n',
        "r.toml:2: rule 1: recipient must be a non-empty string pattern",
    ),
    (
        '[[rule]]\nrecipient = "a"\nverdict = "DENY"\ntext = 5\n',
        "r.toml:4: rule 1: text must be a string or a list of strings",
    ),
    ("rule = 5\n", "r.toml:1: 'rule' must be a list of [[rule]] tables"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_errors_name_file_line_and_problem(text: str, message: str) -> None:
    with pytest.raises(RulesError) as info:
        parse_rules(text, "r.toml")
    assert str(info.value) == message


def test_load_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nrecipient = "*"\nverdict = "DENYSOFT"\n')
    assert load_rules(path)[0].verdict is DENYSOFT
    with pytest.raises(RulesError, match="cannot read the rules file"):
        load_rules(tmp_path / "missing.toml")


def test_default_rules_on_the_wire(tmp_path: Path) -> None:
    config = ServerConfig(maildir=tmp_path / "md")
    with ServerThread(config=config) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        assert c.cmd("MAIL FROM:<s@x>") == "250 2.1.0 Sender OK"
        assert c.cmd("RCPT TO:<unknown@x>") == "550 5.1.1 No such user"
        assert c.cmd("RCPT TO:<Full@X>") == "450 4.2.2 Mailbox full"
        assert c.cmd("RCPT TO:<disabled@x>") == (
            "550 5.2.1 Mailbox disabled, not accepting messages"
        )
        assert c.cmd("RCPT TO:<anyone@x>") == "250 2.1.5 Recipient OK"
        assert c.cmd("RCPT TO:<x@blocked.test>") == (
            "550 5.7.1 Delivery not authorized, message refused"
        )
        assert c.closed()
    with ServerThread(config=ServerConfig(maildir=tmp_path / "md")) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        assert c.cmd("MAIL FROM:<s@blocked.test>") == (
            "550 5.7.1 Delivery not authorized, message refused"
        )
        assert c.closed()


def test_custom_rules_replace_the_defaults(tmp_path: Path) -> None:
    rules = parse_rules('[[rule]]\nrecipient = "*@nowhere.test"\nverdict = "DENY"\n')
    config = ServerConfig(maildir=None, rules=rules)
    with ServerThread(config=config) as st, RawClient(st.port) as c:
        c.reply()
        c.cmd("EHLO x")
        c.cmd("MAIL FROM:<s@x>")
        assert c.cmd("RCPT TO:<unknown@x>") == "250 2.1.5 Recipient OK"
        assert c.cmd("RCPT TO:<a@nowhere.test>") == "550 5.0.0 Rejected"
