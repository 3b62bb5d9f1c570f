"""Every factory of the seed README and of haraka-dsn 1.2.1, exactly, plus the registry's."""

from __future__ import annotations

import re

import pytest

import smtpdsn
from smtpdsn import FACTORIES, InvalidReplyError, Reply, create
from smtpdsn.factories import factory_table_markdown
from smtpdsn.registry import ENTRIES
from tests.support import ROOT, SPEC


def _seed_rows() -> list[tuple[str, int, str, str]]:
    """The 54 rows of the seed README's table, with its two errata fixed."""
    rows = []
    text = (SPEC / "haraka-dsn-README.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        m = re.fullmatch(r"(\w+) (\d{3}) (X\.\d+\.\d+) (.+)", line.strip())
        if m:
            name, code, status, message = m[1], int(m[2]), m[3], m[4]
            if name == "addr_rcpt_ok":
                code = 250  # erratum: X.1.5 is a success code, 220 is a typo
            message = message.replace('sender"s', "sender's")  # erratum
            rows.append((name, code, status, message))
    return rows


def _haraka_rows() -> list[tuple[str, int, str, str]]:
    rows = []
    text = (SPEC / "haraka-dsn-1.2.1-functions.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        m = re.fullmatch(r"\| `(\w+)` \| (\d{3}) \| (X\.\d+\.\d+) \| (.+) \|", line.strip())
        if m:
            rows.append((m[1], int(m[2]), m[3], m[4]))
    return rows


SEED = _seed_rows()
HARAKA = _haraka_rows()


def test_the_tables_were_read_whole() -> None:
    assert len(SEED) == 54
    assert len(HARAKA) == 71


def _check(name: str, code: int, status: str, message: str) -> None:
    factory = FACTORIES[name]
    assert getattr(smtpdsn, name) is factory
    reply = factory()
    expected = f"{code} {status.replace('X', str(code // 100), 1)} {message}"
    assert reply == expected
    assert reply.wire == expected.encode() + b"\r\n"
    assert reply.code == code
    assert str(reply.status) == status.replace("X", str(code // 100), 1)
    assert reply.lines == (message,)


@pytest.mark.parametrize("row", SEED, ids=[r[0] for r in SEED])
def test_seed_row(row: tuple[str, int, str, str]) -> None:
    _check(*row)


@pytest.mark.parametrize("row", HARAKA, ids=[r[0] for r in HARAKA])
def test_haraka_dsn_121_row(row: tuple[str, int, str, str]) -> None:
    _check(*row)


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("addr_dest_ambiguous", "addr_dest_ambigous"),
        ("addr_mbox_moved", "addr_mbox_mobed"),
        ("addr_bad_dest_mbox", "addr_bad_dest_mailbox"),
        ("proto_too_many_rcpts", "proto_too_many_recipients"),
    ],
)
def test_aliases_are_the_same_factory(alias: str, name: str) -> None:
    assert FACTORIES[alias] is FACTORIES[name]
    assert alias in FACTORIES[name].info.aliases


REGISTRY_KEYS = sorted(k for k in ENTRIES if k != (6, 10))


@pytest.mark.parametrize("key", REGISTRY_KEYS, ids=[f"X.{s}.{d}" for s, d in REGISTRY_KEYS])
def test_every_registry_code_has_a_factory_whose_default_text_is_the_registry_text(
    key: tuple[int, int],
) -> None:
    found = [f for f in FACTORIES.values() if (f.info.subject, f.info.detail) == key]
    assert found, f"no factory for X.{key[0]}.{key[1]}"
    entry = ENTRIES[key]
    texts = {f.info.default_message.lower() for f in found}
    assert entry.sample_text.lower() in texts
    for f in found:
        reply = f()
        assert reply.status is not None
        assert (reply.status.subject, reply.status.detail) == key
        assert reply.status.class_ == reply.code // 100


def test_no_factory_produces_the_deprecated_x610() -> None:
    for f in FACTORIES.values():
        for code in (250, 450, 550):
            status = f(None, code).status
            assert status is not None and (status.subject, status.detail) != (6, 10)


def test_call_shapes_of_the_seed() -> None:
    assert smtpdsn.no_such_user() == "550 5.1.1 No such user"
    assert smtpdsn.no_such_user("msg") == "550 5.1.1 msg"
    assert smtpdsn.no_such_user(["line 1", "line 2"]) == (
        "550-5.1.1 line 1\r\n550 5.1.1 line 2"
    )
    assert smtpdsn.no_such_user("msg", 450) == "450 4.1.1 msg"
    assert smtpdsn.no_such_user(None, 450) == "450 4.1.1 No such user"
    assert smtpdsn.mbox_full("x", 552) == "552 5.2.2 x"
    assert smtpdsn.addr_rcpt_ok("x", 550) == "550 5.1.5 x"


@pytest.mark.parametrize("empty", ["", "   ", [], [""], ["", "  "], "\r\n", "\x00\x01"])
def test_empty_message_gives_the_default_message(empty: str | list[str]) -> None:
    assert smtpdsn.no_such_user(empty) == "550 5.1.1 No such user"
    assert smtpdsn.no_such_user(empty, 450) == "450 4.1.1 No such user"


@pytest.mark.parametrize(
    "code", [600, 199, 300, 354, 5501, 55, 0, -550, 560, "550", "5xx", 550.0, True, None]
)
def test_bad_code_raises_value_error_naming_it(code: object) -> None:
    if code is None:
        return  # None means "the default code"
    with pytest.raises(InvalidReplyError, match=re.escape(f"invalid SMTP reply code {code!r}")):
        smtpdsn.no_such_user("x", code)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        smtpdsn.no_such_user(None, code)  # type: ignore[arg-type]


def test_message_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(InvalidReplyError, match="must be a string or a list of strings"):
        smtpdsn.no_such_user(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidReplyError, match="lines must be strings, got 3"):
        smtpdsn.no_such_user(["a", 3])  # type: ignore[list-item]


def test_factory_results_are_cached_and_immutable() -> None:
    assert smtpdsn.no_such_user() is smtpdsn.no_such_user()
    with pytest.raises(AttributeError, match="immutable"):
        smtpdsn.no_such_user().code = 250


def test_create_like_haraka() -> None:
    assert create(550, "Blocked", 7, 1) == "550 5.7.1 Blocked"
    assert create() == "450 4.0.0 Other undefined Status"
    assert create(550, None, 7, 606) == "550 5.7.606 Failure"
    assert create(550, None, 6, 10) == "550 5.6.8 " + ENTRIES[(6, 8)].sample_text
    with pytest.raises(InvalidReplyError, match="sub-codes must be 0 to 999"):
        create(550, "x", 1000, 1)
    with pytest.raises(InvalidReplyError, match="invalid SMTP reply code 650"):
        create(650, "x", 1, 1)


def test_factory_docstrings_name_their_default() -> None:
    doc = smtpdsn.no_such_user.__doc__ or ""
    assert doc.startswith("``550 5.1.1 No such user``")
    assert smtpdsn.no_such_user.__name__ == "no_such_user"


def test_readme_factory_table_is_generated_from_the_code() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- factory-table:start -->\n") + len("<!-- factory-table:start -->\n")
    end = readme.index("<!-- factory-table:end -->")
    assert readme[start:end] == factory_table_markdown(), (
        "README factory table is stale: run python scripts/update_readme.py"
    )


def test_factory_reply_is_a_str_for_aiosmtpd() -> None:
    reply = smtpdsn.no_such_user()
    assert isinstance(reply, str) and isinstance(reply, Reply)
    assert bytes(reply, "ascii") + b"\r\n" == reply.wire
