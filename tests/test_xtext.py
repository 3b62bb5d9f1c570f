"""xtext (RFC 3461) and utf-8 address forms (RFC 6533)."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpdsn import (
    XtextError,
    decode_utf8_addr,
    decode_xtext,
    encode_utf8_addr_xtext,
    encode_xtext,
)

XTEXT = re.compile(r"(?:[!-*,-<>-~]|\+[0-9A-F]{2})*")


@pytest.mark.parametrize(
    ("plain", "encoded"),
    [
        ("", ""),
        ("abc", "abc"),
        ("a b", "a+20b"),
        ("a+b=c", "a+2Bb+3Dc"),
        ("user@example.com", "user@example.com"),
        ("<id@host>", "<id@host>"),
        ("é", "+C3+A9"),
        ("\r\n", "+0D+0A"),
    ],
)
def test_xtext_table(plain: str, encoded: str) -> None:
    assert encode_xtext(plain) == encoded
    assert decode_xtext(encoded) == plain


def test_decoder_accepts_lower_case_hex() -> None:
    assert decode_xtext("a+2bb") == "a+b"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("a b", "' ' at position 1 must be written as +XX"),
        ("a=b", "'=' at position 1 must be written as +XX"),
        ("a+2", "'+' at position 1 must be written as +XX"),
        ("a+GG", "'+' at position 1 must be written as +XX"),
        ("é", "'é' at position 0 must be written as +XX"),
        ("+FF", "does not decode to UTF-8 text"),
    ],
)
def test_invalid_xtext_is_refused(bad: str, message: str) -> None:
    with pytest.raises(XtextError, match=re.escape(message)):
        decode_xtext(bad)


def test_lenient_decode_keeps_what_it_can() -> None:
    assert decode_xtext("a b+2", strict=False) == "a b+2"
    assert decode_xtext("+FF", strict=False) == "\ufffd"


@given(st.text())
def test_xtext_round_trip_for_any_text(text: str) -> None:
    text = text.encode("utf-8", "replace").decode("utf-8") if text else text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    encoded = encode_xtext(text)
    assert XTEXT.fullmatch(encoded)
    assert decode_xtext(encoded) == text


@given(st.binary())
def test_xtext_encodes_any_bytes(data: bytes) -> None:
    encoded = encode_xtext(data)
    assert XTEXT.fullmatch(encoded)


@given(st.text(max_size=40))
def test_any_text_decodes_or_raises_the_documented_error(text: str) -> None:
    with contextlib.suppress(XtextError):
        decode_xtext(text)


@pytest.mark.parametrize(
    ("address", "encoded"),
    [
        ("user@example.com", "user@example.com"),
        ("jöran@example.com", "j\\x{F6}ran@example.com"),
        ("a+b=c\\d e@x", "a\\x{2B}b\\x{3D}c\\x{5C}d\\x{20}e@x"),
        ("用户@例子.广告", "\\x{7528}\\x{6237}@\\x{4F8B}\\x{5B50}.\\x{5E7F}\\x{544A}"),
    ],
)
def test_utf8_addr_xtext_table(address: str, encoded: str) -> None:
    assert encode_utf8_addr_xtext(address) == encoded
    assert decode_utf8_addr(encoded) == address


def test_utf8_addr_unitext_is_accepted_raw() -> None:
    assert decode_utf8_addr("jöran@example.com") == "jöran@example.com"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("a\\b", "'\\' at position 1 must start an escape"),
        ("a\\x{0F6}", "\\x{0F6} is not a valid escaped code point"),
        ("a\\x{D800}", "\\x{D800} is not a valid escaped code point"),
        ("a\\x{110000}", "\\x{110000} is not a valid escaped code point"),
        ("a+b", "'+' at position 1 must be escaped"),
        ("a b", "' ' at position 1 must be escaped"),
    ],
)
def test_invalid_utf8_addr(bad: str, message: str) -> None:
    with pytest.raises(XtextError, match=re.escape(message)):
        decode_utf8_addr(bad)


@given(st.text(st.characters(blacklist_categories=["Cs"]), min_size=1))
def test_utf8_addr_round_trip(address: str) -> None:
    encoded = encode_utf8_addr_xtext(address)
    assert encoded.isascii()
    assert decode_utf8_addr(encoded) == address
