"""The README's Python examples run, and what their comments promise is what they give."""

from __future__ import annotations

import re

import smtpdsn
from tests.support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.DOTALL)


def test_quickstart_runs_and_its_comments_are_true() -> None:
    quickstart = BLOCKS[0]
    namespace: dict[str, object] = {}
    exec(quickstart, namespace)
    checked = 0
    for line in quickstart.splitlines():
        m = re.fullmatch(r"(smtpdsn\.\w+\(.*\))\s+# (\d{3}[ -]\d\.\d+\.\d+ [^(/]*?)(?: \(.*| /.*)?",
                         line)
        if m is None:
            continue
        value = eval(m[1], namespace)
        assert str(value).split("\r\n")[0] == m[2].strip(), line
        checked += 1
    assert checked >= 4


def test_status_example_runs() -> None:
    exec(BLOCKS[2], {"smtpdsn": smtpdsn})
