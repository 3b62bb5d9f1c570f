"""EnhancedStatus: the RFC 3463 grammar, ordering, and descriptions."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpdsn import EnhancedStatus, StatusSyntaxError
from smtpdsn.registry import ENTRIES


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("5.1.1", (5, 1, 1)),
        ("2.0.0", (2, 0, 0)),
        ("4.7.650", (4, 7, 650)),
        ("5.7.606", (5, 7, 606)),
        ("5.999.999", (5, 999, 999)),
        ("4.6.10", (4, 6, 10)),
    ],
)
def test_valid_codes_parse(text: str, parts: tuple[int, int, int]) -> None:
    s = EnhancedStatus.parse(text)
    assert (s.class_, s.subject, s.detail) == parts
    assert str(s) == text


@pytest.mark.parametrize(
    "text",
    ["5.01.1", "5.1.01", "3.1.1", "6.0.0", "5.1", "5.1.1.1", " 5.1.1", "5.1.1 ", "5.1000.1",
     "5.1.1000", "5..1", "", "x.1.1", "5.1.1(comment)", "05.1.1", "\uff15.1.1"],
)
def test_invalid_codes_are_refused_with_a_clear_message(text: str) -> None:
    with pytest.raises(StatusSyntaxError, match=re.escape(repr(text))):
        EnhancedStatus.parse(text)


def test_parse_refuses_non_strings() -> None:
    with pytest.raises(StatusSyntaxError, match="must be a string, got 511"):
        EnhancedStatus.parse(511)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((3, 1, 1), "class must be 2, 4 or 5, got 3"),
        ((5, 1000, 1), "sub-codes must be 0 to 999, got 5.1000.1"),
        ((5, -1, 1), "sub-codes must be 0 to 999, got 5.-1.1"),
        ((5, True, 1), "subject must be an integer, got True"),
    ],
)
def test_constructor_checks_values(args: tuple[int, int, int], message: str) -> None:
    with pytest.raises(StatusSyntaxError, match=re.escape(message)):
        EnhancedStatus(*args)


def test_kinds() -> None:
    assert EnhancedStatus.parse("2.1.5").is_success
    assert EnhancedStatus.parse("4.2.2").is_transient
    assert EnhancedStatus.parse("5.1.1").is_permanent
    assert not EnhancedStatus.parse("5.1.1").is_transient


def test_hashable_comparable_and_ordered() -> None:
    a, b, c = (EnhancedStatus.parse(t) for t in ("4.1.1", "5.1.1", "5.1.10"))
    assert a < b < c
    assert sorted([c, a, b]) == [a, b, c]
    assert {EnhancedStatus(5, 1, 1), b} == {b}
    assert EnhancedStatus(5, 1, 1) == b


def test_registered_description() -> None:
    s = EnhancedStatus.parse("5.1.1")
    assert s.registered
    assert s.describe() == (
        "5.1.1: permanent failure; Addressing Status: Bad destination mailbox address"
    )


def test_unregistered_code_is_described_by_class_and_subject() -> None:
    s = EnhancedStatus.parse("5.7.606")
    assert not s.registered and s.entry is None
    assert s.describe() == (
        "5.7.606: permanent failure; Security or Policy Status (detail 606 is not registered)"
    )


def test_undefined_subject_is_described_by_class() -> None:
    assert EnhancedStatus.parse("4.9.210").describe() == (
        "4.9.210: transient failure; subject 9 is not defined"
    )


def test_deprecated_x610_parses_but_canonical_form_is_x68() -> None:
    s = EnhancedStatus.parse("5.6.10")
    assert s.deprecated
    assert s.canonical() == EnhancedStatus(5, 6, 8)
    assert "deprecated, a duplicate of 5.6.8" in s.describe()


@pytest.mark.parametrize("key", sorted(ENTRIES))
def test_every_registry_code_parses_in_every_class(key: tuple[int, int]) -> None:
    for class_ in (2, 4, 5):
        s = EnhancedStatus.parse(f"{class_}.{key[0]}.{key[1]}")
        assert s.entry is ENTRIES[key]


@given(st.integers(2, 5).filter(lambda c: c != 3), st.integers(0, 999), st.integers(0, 999))
def test_render_parse_round_trip(c: int, s: int, d: int) -> None:
    value = EnhancedStatus(c, s, d)
    assert EnhancedStatus.parse(str(value)) == value


@given(st.text(max_size=20))
def test_any_text_parses_or_raises_the_documented_error(text: str) -> None:
    try:
        value = EnhancedStatus.parse(text)
    except StatusSyntaxError:
        return
    assert str(value) == text
