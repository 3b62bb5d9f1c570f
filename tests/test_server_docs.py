"""docs/server.md: its example plugin works as documented, its tables match the code."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

from smtpdsn.server.rules import DEFAULT_RULES, parse_rules
from tests.server_support import ROOT_DIR, RawClient, ServerThread

DOC = (ROOT_DIR / "docs" / "server.md").read_text(encoding="utf-8")


def example_plugin() -> Any:
    block = re.search(r"```python\n# myplugins.py\n(.*?)```", DOC, re.DOTALL)
    assert block is not None
    module = ModuleType("myplugins")
    exec(compile(block[1], "docs/server.md", "exec"), module.__dict__)
    return module.Directory()


def test_example_plugin() -> None:
    with ServerThread(plugins=[example_plugin()]) as st:
        with RawClient(st.port) as c:
            c.reply()
            c.cmd("EHLO x")
            assert c.cmd("MAIL FROM:<s@x.test>") == "250 2.1.0 Sender OK"
            assert c.cmd("RCPT TO:<Alice@example.test>") == "250 2.0.0 OK"
            assert c.cmd("RCPT TO:<carol@example.test>") == "550 5.1.1 No such user"
            assert c.cmd("RCPT TO:<postmaster@example.test>") == (
                "450 4.0.0 Postmaster is busy, try later"
            )
            assert c.cmd("DATA").startswith("354")
            assert c.cmd("Subject: buy VIAGRA\r\n\r\nx\r\n.") == (
                "550 5.7.0 Message content rejected"
            )
        with RawClient(st.port) as c:
            c.reply()
            c.cmd("EHLO x")
            assert c.cmd("MAIL FROM:<x@spammer.test>") == "550 5.7.1 Go away"
            assert c.closed()


def test_default_rules_table() -> None:
    for rule in parse_rules(DEFAULT_RULES):
        assert f"| `{rule.pattern}`" in DOC
        assert f"`{rule.reply}`" in DOC


