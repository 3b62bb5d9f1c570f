"""Rules files: address patterns mapped to a verdict and a reply (TOML).

A rules file is a list of ``[[rule]]`` tables, tried in order; the first rule whose
pattern matches decides, and an address no rule matches is accepted::

    [[rule]]
    recipient = "unknown@*"      # or sender = "...", or address = "..." (either)
    verdict = "DENY"             # OK, DENY, DENYSOFT, DENYDISCONNECT, DENYSOFTDISCONNECT,
                                 # DISCONNECT (CONT skips the rule)
    factory = "no_such_user"     # a smtpdsn factory name; optional
    text = "No mailbox here"     # optional: the reply text (one string or a list of lines)
    code = 550                   # optional: the reply code (its first digit sets the class)
    status = "5.1.1"             # optional, without a factory: the enhanced status

    [[rule]]
    recipient = "bounce@*"       # accept (250), then store a DSN in the Maildir
    then = "bounce"              # or "delay"; verdict may be left out (it can only be OK)
    factory = "no_such_user"     # the reply the DSN reports: 550 5.1.1 No such user
    retry_for = "5d"             # "delay" only: Will-Retry-Until = arrival + 5 days

Patterns are shell-style (``*``, ``?``, ``[abc]``) and match the whole address, ignoring
case. ``recipient`` rules are checked at RCPT, ``sender`` rules at MAIL, ``address``
rules at both. A ``then`` rule is a recipient rule: the recipient is accepted and marked
in ``envelope.dsn_then`` (:class:`~smtpdsn.server.bounce.Then`). :data:`DEFAULT_RULES`
is used when no file is given.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, Literal

from ..errors import DSNError
from ..factories import FACTORIES
from ..reply import Reply
from ..verdict import CONT, DENY, DENYSOFT, DISCONNECT, OK, Resolution, Verdict, resolve
from .bounce import DEFAULT_RETRY_FOR, Then

__all__ = ["DEFAULT_RULES", "Rule", "RulesError", "RulesPlugin", "load_rules", "parse_rules"]

#: The rules used when no rules file is given.
DEFAULT_RULES: Final = """\
# smtpdsn serve's default rules. Addresses no rule matches are accepted.
[[rule]]
recipient = "unknown@*"
verdict = "DENY"
factory = "no_such_user"

[[rule]]
recipient = "full@*"
verdict = "DENYSOFT"
factory = "mbox_full"

[[rule]]
recipient = "disabled@*"
verdict = "DENY"
factory = "mbox_disabled"

[[rule]]
address = "*@blocked.test"
verdict = "DENYDISCONNECT"
factory = "sec_unauthorized"

# Accepted (250), then a DSN to the sender is stored in the Maildir next to the message.
[[rule]]
recipient = "bounce@*"
then = "bounce"
factory = "no_such_user"

[[rule]]
recipient = "delay@*"
then = "delay"
factory = "mbox_full"
retry_for = "5d"
"""

_FIELDS: Final = ("recipient", "sender", "address")
_KEYS: Final = frozenset(
    {*_FIELDS, "verdict", "factory", "text", "code", "status", "then", "retry_for"}
)
_THEN: Final = ("bounce", "delay")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: What the client is told at RCPT for a ``then`` rule: the recipient is accepted.
_RECIPIENT_OK: Final = Reply(250, "2.1.5", "Recipient OK")


class RulesError(DSNError):
    """A rules file is not valid; the message names the file, the line and the problem."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: which addresses it matches and what it answers."""

    #: "recipient" (RCPT), "sender" (MAIL) or "address" (both).
    field: Literal["recipient", "sender", "address"]
    #: The shell-style pattern, in lower case.
    pattern: str
    verdict: Verdict
    #: The reply given with the verdict; None for the verdict's default reply.
    reply: Reply | None
    #: Where the rule is written, for messages.
    line: int
    #: "bounce" or "delay": accept the recipient, then report ``reply`` in a DSN.
    then: Literal["bounce", "delay"] | None = None
    #: For "delay": Will-Retry-Until is the arrival time plus this.
    retry_for: timedelta | None = None

    def matches(self, stage: str, address: str) -> bool:
        """True when this rule applies to ``address`` at ``stage`` ("mail" or "rcpt")."""
        if self.field == "recipient" and stage != "rcpt":
            return False
        if self.field == "sender" and stage != "mail":
            return False
        return fnmatch.fnmatchcase(address.lower(), self.pattern)

    def resolution(self) -> Resolution:
        """The rule's answer, through :func:`smtpdsn.resolve` (a ``then`` rule accepts)."""
        if self.then is not None:
            return resolve(OK, _RECIPIENT_OK)
        return resolve(self.verdict, self.reply)

    def after_accept(self) -> Then | None:
        """What a ``then`` rule does once the message is received (None for other rules)."""
        if self.then is None:
            return None
        assert self.reply is not None
        return Then(self.then, self.reply, self.retry_for)


def _period(value: object) -> timedelta | None:
    """``retry_for``: whole seconds, or a string such as ``"5d"``, ``"12h"``, ``"1d12h"``."""
    if type(value) is int:
        seconds = value
    elif isinstance(value, str) and re.fullmatch(r"(?:\s*\d+\s*[smhdSMHD])+\s*", value):
        seconds = sum(
            int(number) * _UNITS[unit.lower()]
            for number, unit in re.findall(r"(\d+)\s*([smhdSMHD])", value)
        )
    else:
        return None
    if not 0 < seconds <= 10 * 365 * 86400:
        return None
    return timedelta(seconds=seconds)


def _rule_lines(text: str) -> list[int]:
    """The line number of each ``[[rule]]`` header, in order."""
    return [
        number
        for number, line in enumerate(text.splitlines(), 1)
        if re.fullmatch(r"\s*\[\[\s*rule\s*\]\]\s*(#.*)?", line)
    ]


def _key_line(text: str, start: int, end: int | None, key: str) -> int:
    lines = text.splitlines()
    stop = len(lines) if end is None else end - 1
    for number in range(start + 1, stop + 1):
        if re.match(rf"\s*{re.escape(key)}\s*=", lines[number - 1]):
            return number
    return start


#: Makes the error for a rule: (the key at fault or None, the problem) -> RulesError.
_Where = Callable[[str | None, str], RulesError]


def _build(table: dict[str, Any], where: _Where, line: int) -> Rule:
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise where(unknown[0], f"unknown key {unknown[0]!r}; expected {', '.join(sorted(_KEYS))}")
    fields = [f for f in _FIELDS if f in table]
    if len(fields) != 1:
        raise where(None, "a rule needs exactly one of recipient, sender or address")
    field = fields[0]
    pattern = table[field]
    if not isinstance(pattern, str) or not pattern:
        raise where(field, f"{field} must be a non-empty string pattern")
    then = table.get("then")
    if then is not None:
        if not isinstance(then, str) or then.lower() not in _THEN:
            raise where("then", f"then must be 'bounce' or 'delay'; got {then!r}")
        then = then.lower()
        if field != "recipient":
            raise where(
                "then",
                f"then = {then!r} is for recipient rules (the DSN is about a recipient); "
                f"this rule has {field}",
            )
    verdict_name = table.get("verdict", "OK" if then is not None else None)
    if not isinstance(verdict_name, str) or verdict_name.upper() not in Verdict.__members__:
        names = ", ".join(Verdict.__members__)
        raise where("verdict", f"verdict must be one of {names}; got {verdict_name!r}")
    verdict = Verdict[verdict_name.upper()]
    if then is not None and verdict is not OK:
        raise where(
            "verdict",
            f"then = {then!r} accepts the recipient first, so its verdict can only be OK "
            f"(or left out); got {verdict.value}",
        )
    retry_for: timedelta | None = None
    if "retry_for" in table:
        if then != "delay":
            raise where("retry_for", "retry_for is only for then = 'delay'")
        retry_for = _period(table["retry_for"])
        if retry_for is None:
            raise where(
                "retry_for",
                "retry_for must be a number of seconds or a string such as '5d', '12h', "
                f"'30m' or '1d12h', at most 10 years; got {table['retry_for']!r}",
            )
    elif then == "delay":
        retry_for = DEFAULT_RETRY_FOR
    text = table.get("text")
    if text is not None and not (
        isinstance(text, str) or (isinstance(text, list) and all(isinstance(t, str) for t in text))
    ):
        raise where("text", "text must be a string or a list of strings")
    code = table.get("code")
    if code is not None and type(code) is not int:
        raise where("code", f"code must be an integer such as 550; got {code!r}")
    status = table.get("status")
    if status is not None and not isinstance(status, str):
        raise where("status", f"status must be a string such as '5.1.1'; got {status!r}")
    reply: Reply | None = None
    factory_name = table.get("factory")
    try:
        if factory_name is not None:
            if status is not None:
                raise where("status", "give either a factory or a status, not both")
            if not isinstance(factory_name, str) or factory_name not in FACTORIES:
                close = difflib.get_close_matches(str(factory_name), list(FACTORIES), 1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise where("factory", f"unknown factory {factory_name!r}{hint}")
            reply = FACTORIES[factory_name](text, code)
        elif code is not None:
            reply = Reply(code, status, text if text is not None else "")
        elif status is not None:
            raise where("status", "a status needs a code")
    except DSNError as exc:
        if isinstance(exc, RulesError):
            raise
        key = "status" if status is not None and "status" in str(exc) else "code"
        raise where(key, str(exc)) from None
    if then is not None:
        kind: Literal["bounce", "delay"] = "bounce" if then == "bounce" else "delay"
        return _then_rule(field, pattern, kind, reply, text, factory_name, where, line, retry_for)
    if reply is None and text is not None:
        # Text alone: the verdict's default code and status with this text.
        default = resolve(verdict).reply
        if default is not None:
            reply = Reply(default.code, default.status, text)
    want = verdict.reply_class
    if reply is not None and want is not None and (reply.code < 300) != (want == 2):
        raise where(
            "factory" if factory_name is not None else "code",
            f"verdict {verdict.value} contradicts the {reply.code} reply; the reply would be "
            "replaced by the verdict's default",
        )
    if verdict is DISCONNECT and reply is not None and reply.code < 300 and reply.code != 221:
        raise where(
            "factory" if factory_name is not None else "code",
            f"verdict DISCONNECT contradicts the {reply.code} reply (it closes the connection: "
            "221, 4xx or 5xx); the reply would be replaced by 421",
        )
    return Rule(field, pattern.lower(), verdict, reply, line)


def _then_rule(
    field: Literal["recipient", "sender", "address"],
    pattern: str,
    then: Literal["bounce", "delay"],
    reply: Reply | None,
    text: str | list[str] | None,
    factory_name: object,
    where: _Where,
    line: int,
    retry_for: timedelta | None,
) -> Rule:
    """A ``then`` rule: the reply is what the DSN reports, not what the client gets."""
    if reply is None:
        # Nothing, or text alone: DENY's (bounce) or DENYSOFT's (delay) default reply.
        default = resolve(DENY if then == "bounce" else DENYSOFT).reply
        assert default is not None
        reply = default if text is None else Reply(default.code, default.status, text)
    key = "factory" if factory_name is not None else "code"
    if then == "bounce" and reply.code < 400:
        raise where(
            key,
            f"then = 'bounce' needs a 5xx (or 4xx) reply for the DSN to report; got {reply.code}",
        )
    if then == "delay" and not 400 <= reply.code < 500:
        raise where(
            key, f"then = 'delay' needs a 4xx reply for the DSN to report; got {reply.code}"
        )
    return Rule(field, pattern.lower(), OK, reply, line, then, retry_for)


def parse_rules(text: str, filename: str = "<rules>") -> list[Rule]:
    """Read rules from TOML text.

    Raises:
        RulesError: the text is not TOML or a rule is not valid; the message reads
            ``FILE:LINE: problem``.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        line = m[1] if m else "1"
        problem = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise RulesError(f"{filename}:{line}: not valid TOML: {problem}") from None
    unknown = sorted(set(data) - {"rule"})
    if unknown:
        raise RulesError(
            f"{filename}:{_key_line(text, 0, None, unknown[0])}: unknown top-level key "
            f"{unknown[0]!r}; rules are written as [[rule]] tables"
        )
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise RulesError(
            f"{filename}:{_key_line(text, 0, None, 'rule')}: 'rule' must be a "
            "list of [[rule]] tables"
        )
    headers = _rule_lines(text)
    rules: list[Rule] = []
    for index, table in enumerate(tables):
        start = headers[index] if index < len(headers) else 1
        end = headers[index + 1] if index + 1 < len(headers) else None

        def where(
            key: str | None,
            problem: str,
            start: int = start,
            end: int | None = end,
            number: int = index + 1,
        ) -> RulesError:
            line = start if key is None else _key_line(text, start, end, key)
            return RulesError(f"{filename}:{line}: rule {number}: {problem}")

        rules.append(_build(table, where, start))
    return rules


def load_rules(path: str | Path) -> list[Rule]:
    """Read a rules file.

    Raises:
        RulesError: the file cannot be read or is not valid (``FILE:LINE: problem``).
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read the rules file: {exc}") from None
    return parse_rules(text, str(path))


#: The rule fields that apply at each stage.
_STAGE_FIELDS: Final = {"mail": ("sender", "address"), "rcpt": ("recipient", "address")}


class RulesPlugin:
    """A plugin that answers MAIL and RCPT from rules (first match wins, else CONT)."""

    name = "rules"
    #: The rules are quick and never block: the runner calls them on the event loop.
    inline = True

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        # Per stage, the rules that can apply there, in order, each with its pattern
        # compiled once and its answer resolved once (rules are immutable).
        self._by_stage: dict[str, list[tuple[Callable[[str], object], Rule, Resolution]]] = {
            stage: [
                (re.compile(fnmatch.translate(rule.pattern)).match, rule, rule.resolution())
                for rule in self.rules
                if rule.verdict is not CONT and rule.field in _STAGE_FIELDS[stage]
            ]
            for stage in ("mail", "rcpt")
        }

    def _find(self, stage: str, address: str) -> tuple[Rule, Resolution] | None:
        lowered = address.lower()
        for match, rule, resolution in self._by_stage[stage]:
            if match(lowered) is not None:
                return rule, resolution
        return None

    def _match(self, stage: str, address: str) -> Rule | None:
        found = self._find(stage, address)
        return None if found is None else found[0]

    def _decide(self, stage: str, address: str) -> Resolution | None:
        found = self._find(stage, address)
        return None if found is None else found[1]

    def hook_mail(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        """Sender rules (and address rules) at MAIL."""
        return self._decide("mail", address)

    def hook_rcpt(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        """Recipient rules (and address rules) at RCPT. A ``then`` rule accepts the
        recipient and marks it in ``envelope.dsn_then`` for the DSN."""
        found = self._find("rcpt", address)
        if found is None:
            return None
        rule, resolution = found
        if rule.then is not None:
            marks = getattr(envelope, "dsn_then", None)
            then = rule.after_accept()
            if then is not None and isinstance(marks, dict):
                marks[address] = then
        return resolution
