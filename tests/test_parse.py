"""parse_reply and the client-library adapters."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpdsn import (
    Reply,
    ReplySyntaxError,
    from_aiosmtplib,
    from_smtplib,
    parse_reply,
    replies_from_refused,
)
from smtpdsn.parse import _parse_lines

CASES = [
    ("550 5.1.1 No such user\r\n", 550, "5.1.1", ("No such user",)),
    ("550 5.1.1 No such user", 550, "5.1.1", ("No such user",)),
    ("550 5.1.1 No such user\n", 550, "5.1.1", ("No such user",)),
    ("550-5.1.1 a\r\n550 5.1.1 b\r\n", 550, "5.1.1", ("a", "b")),
    ("550-5.1.1 a\n550-5.1.1 b\n550 5.1.1 c", 550, "5.1.1", ("a", "b", "c")),
    ("250 OK\r\n", 250, None, ("OK",)),
    ("250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n", 250, None,
     ("mx.test", "PIPELINING", "8BITMIME")),
    ("354 End data with <CR><LF>.<CR><LF>\r\n", 354, None,
     ("End data with <CR><LF>.<CR><LF>",)),
    ("550 5.7.606 Access denied\r\n", 550, "5.7.606", ("Access denied",)),
    ("550 5.1.1\r\n", 550, "5.1.1", ("",)),
    ("550\r\n", 550, None, ("",)),
    ("221 2.0.0 Bye\r\n", 221, "2.0.0", ("Bye",)),
    ("550 5.1.1  two spaces\r\n", 550, "5.1.1", (" two spaces",)),
    ("550 5.6.10 old code\r\n", 550, "5.6.8", ("old code",)),
    ("550 1.2.3.4 is listed\r\n", 550, None, ("1.2.3.4 is listed",)),
    ("550 5.1.1 tab\there\r\n", 550, "5.1.1", ("tab\there",)),
    ("550 5.1.1 caf\u00e9\r\n", 550, "5.1.1", ("caf\u00e9",)),
    ("250-\r\n250 OK\r\n", 250, None, ("", "OK")),
]


@pytest.mark.parametrize(("data", "code", "status", "lines"), CASES)
def test_parses(data: str, code: int, status: str | None, lines: tuple[str, ...]) -> None:
    for variant in (data, data.encode("utf-8")):
        r = parse_reply(variant)
        assert r.code == code
        assert (None if r.status is None else str(r.status)) == status
        assert r.lines == lines
        assert parse_reply(r) == r
        assert parse_reply(r.wire) == r


def test_str_value_is_canonical_crlf() -> None:
    assert parse_reply("550-5.1.1 a\n550 5.1.1 b\n") == "550-5.1.1 a\r\n550 5.1.1 b"
    assert parse_reply("550 5.1.1 ") == "550 5.1.1"


def test_line_by_line_and_with_trailing_data() -> None:
    """Fed whole and as separate lines the result is the same; extra data is an error."""
    wire = "550-5.1.1 a\r\n550 5.1.1 b\r\n"
    whole = parse_reply(wire)
    joined = parse_reply("".join(line for line in wire.splitlines(keepends=True)))
    assert whole == joined
    with pytest.raises(ReplySyntaxError, match="line 3 follows the last line"):
        parse_reply(wire + "550 5.1.1 c\r\n")


ERRORS = [
    ("", "empty reply", None),
    ("\r\n", "empty reply", None),
    ("hello", "line 1 does not start with a reply code: 'hello'", 1),
    ("550-5.1.1 a\r\n", "the reply is truncated: line 1 continues ('550-')", 1),
    ("550-5.1.1 a\r\n551 5.1.1 b\r\n", "line 2 has reply code 551 but line 1 has 550", 2),
    ("550 5.01.1 x", "line 1: '5.01.1' is not a valid enhanced status code", 1),
    ("550 4.1.1 x", "line 1: enhanced status 4.1.1 does not agree with reply code 550", 1),
    ("550-5.1.1 a\r\n550 b\r\n", "line 2 has enhanced status none but line 1 has 5.1.1", 2),
    ("550-5.1.1 a\r\n550 5.1.2 b\r\n",
     "line 2 has enhanced status 5.1.2 but line 1 has 5.1.1", 2),
    ("550 a\x00b", "line 1 contains a control character", 1),
    ("550 a\rb", "line 1 contains a control character", 1),
    ("550x5.1.1", "line 1: expected '-' or a space after the reply code, got 'x'", 1),
    ("600 5.1.1 x", "line 1 does not start with a reply code", 1),
    ("560 5.1.1 x", "line 1 does not start with a reply code", 1),
    ("550 5.1.1 " + "x" * 600, "line 1 is 612 octets long; RFC 5321 allows 512", 1),
    # 511 octets of text and no line end: 513 with the CRLF it would be sent with.
    ("550 5.1.1 " + "x" * 501, "line 1 is 513 octets long", 1),
    ("550 5.1.1 " + "x" * 501 + "\n", "line 1 is 513 octets long", 1),
    ("550-5.1.1 a\r\n550 5.1.1 " + "x" * 501, "line 2 is 513 octets long", 2),
]


@pytest.mark.parametrize(("data", "message", "line"), ERRORS)
def test_malformed_replies_raise_a_clear_error(data: str, message: str, line: int | None) -> None:
    with pytest.raises(ReplySyntaxError, match=re.escape(message)) as info:
        parse_reply(data)
    assert info.value.line == line
    assert isinstance(info.value, ValueError)


def test_invalid_utf8_is_reported_with_its_position() -> None:
    with pytest.raises(ReplySyntaxError, match="reply is not valid UTF-8 at byte 10"):
        parse_reply(b"550 5.1.1 \xff")


def test_not_str_or_bytes() -> None:
    with pytest.raises(ReplySyntaxError, match="a reply must be str or bytes, got int"):
        parse_reply(550)  # type: ignore[arg-type]


LENIENT = [
    ("550-5.1.1 a\r\n", Reply(550, "5.1.1", "a")),
    ("550-5.1.1 a\r\n551 5.1.1 b\r\n", Reply(550, "5.1.1", ["a", "b"])),
    ("550 5.01.1 x", Reply(550, None, "5.01.1 x")),
    ("550 4.1.1 x", Reply(550, "5.1.1", "x")),
    ("550-5.1.1 a\r\n550 b", Reply(550, "5.1.1", ["a", "b"])),
    ("550 a\x00b", Reply(550, None, "ab")),
    ("garbage\r\n550 5.1.1 x", Reply(550, "5.1.1", "x")),
    (b"550 5.1.1 \xff", Reply(550, "5.1.1", "\ufffd", utf8=True)),
]


@pytest.mark.parametrize(("data", "expected"), LENIENT)
def test_lenient_mode_keeps_what_is_usable(data: str | bytes, expected: Reply) -> None:
    r = parse_reply(data, strict=False)
    assert r == expected
    assert (r.code, r.status, r.lines) == (expected.code, expected.status, expected.lines)


def test_lenient_wraps_over_long_lines() -> None:
    r = parse_reply("550 5.1.1 " + "x" * 600, strict=False)
    assert "".join(r.lines) == "x" * 600
    assert all(len(line) <= 512 for line in r.wire.split(b"\r\n"))


def test_lenient_still_refuses_input_with_no_reply_at_all() -> None:
    with pytest.raises(ReplySyntaxError, match="no line of the reply starts with a reply code"):
        parse_reply("hello\r\nworld", strict=False)


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_raise_the_documented_error(data: bytes) -> None:
    for strict in (True, False):
        try:
            r = parse_reply(data, strict=strict)
        except ReplySyntaxError:
            continue
        assert parse_reply(r.wire) == r


@pytest.mark.parametrize(
    "data", ["550 5.1.1 \udcff", "550-5.1.1 ok\r\n550 5.1.1 \ud800x", "\udcff550 5.1.1 x"]
)
def test_a_lone_surrogate_is_a_syntax_error_not_an_encode_error(data: str) -> None:
    with pytest.raises(ReplySyntaxError, match="lone surrogate"):
        parse_reply(data)


def test_a_lone_surrogate_becomes_a_question_mark_in_lenient_mode() -> None:
    r = parse_reply("550 5.1.1 caf\udce9 closed", strict=False)
    assert r == Reply(550, "5.1.1", "caf? closed")
    assert r.wire == b"550 5.1.1 caf? closed\r\n"


# Any code point, lone surrogates included, and the characters replies are made of.
any_text = st.text(
    st.one_of(
        st.characters(codec=None, exclude_categories=()),
        st.sampled_from(["5", "0", "-", " ", ".", "\r", "\n", "\udcff"]),
    ),
    max_size=200,
)


@settings(max_examples=1000)
@given(any_text, st.sampled_from(["", "550 5.1.1 ", "550-5.1.1 a\r\n550 5.1.1 ", "250-"]))
def test_any_str_parses_or_raises_only_reply_syntax_error(data: str, prefix: str) -> None:
    """The invariant of the fuzz target fuzz/parse_reply.py: a Reply or ReplySyntaxError."""
    for strict in (True, False):
        try:
            r = parse_reply(prefix + data, strict=strict)
        except ReplySyntaxError:
            continue
        assert isinstance(r, Reply)
        assert r.wire == str(r).encode() + b"\r\n"


@settings(max_examples=300)
@given(
    st.sampled_from(["250", "450", "550"]),
    st.sampled_from(["2.0.0 ", "4.2.2 ", "5.1.1 ", "5.6.10 ", "5.7.606 ", ""]),
    st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=520),
             min_size=1, max_size=3),
    st.sampled_from(["\r\n", "\n"]),
)
def test_fast_paths_agree_with_the_full_parser(
    code: str, status: str, texts: list[str], eol: str
) -> None:
    """str and bytes take the fast paths; both agree with the full parser."""
    data = eol.join(
        f"{code}{'-' if i < len(texts) - 1 else ' '}{status}{t}" for i, t in enumerate(texts)
    )
    results: list[tuple[object, ...]] = []
    calls: list[Callable[[], Reply]] = [
        lambda: parse_reply(data),
        lambda: parse_reply(data.encode()),
        lambda: parse_reply(bytearray(data.encode())),
        lambda: _parse_lines(data, True),
    ]
    for call in calls:
        try:
            r = call()
        except ReplySyntaxError as exc:
            results.append(("error", str(exc), exc.line))
        else:
            results.append(("ok", r, (r.code, r.status, r.lines)))
    assert results[0] == results[1] == results[2] == results[3]


line_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@settings(max_examples=300)
@given(
    st.sampled_from(["250", "421", "450", "550", "354"]),
    st.sampled_from(["", "2.0.0 ", "4.7.1 ", "5.1.1 "]),
    st.lists(line_text, min_size=1, max_size=4),
)
def test_reply_shaped_text_parses_or_raises(code: str, status: str, texts: list[str]) -> None:
    data = "\r\n".join(
        f"{code}{'-' if i < len(texts) - 1 else ' '}{status}{t}" for i, t in enumerate(texts)
    )
    try:
        r = parse_reply(data)
    except ReplySyntaxError:
        return
    assert r.code == int(code)
    assert parse_reply(r.wire) == r


def test_from_smtplib_tuple_and_exceptions() -> None:
    assert from_smtplib((550, b"5.1.1 a\n5.1.1 b")) == "550-5.1.1 a\r\n550 5.1.1 b"
    assert from_smtplib((250, "OK")) == "250 OK"
    exc = smtplib.SMTPSenderRefused(550, b"5.7.1 Denied", "a@b.test")
    assert from_smtplib(exc) == "550 5.7.1 Denied"
    data_exc = smtplib.SMTPDataError(554, b"5.6.0 Bad content")
    assert from_smtplib(data_exc).status is not None
    with pytest.raises(ReplySyntaxError, match="not an SMTP reply code: -1"):
        from_smtplib((-1, b""))
    with pytest.raises(ReplySyntaxError, match="SMTPServerDisconnected carries no SMTP reply"):
        from_smtplib(smtplib.SMTPServerDisconnected("gone"))
    with pytest.raises(ReplySyntaxError, match="expected a \\(code, message\\) tuple"):
        from_smtplib("550 x")  # type: ignore[arg-type]


def test_replies_from_refused() -> None:
    exc = smtplib.SMTPRecipientsRefused(
        {"a@x.test": (550, b"5.1.1 No such user"), "b@x.test": (450, b"4.2.2 Full")}
    )
    got = replies_from_refused(exc)
    assert got == {"a@x.test": "550 5.1.1 No such user", "b@x.test": "450 4.2.2 Full"}


@dataclass
class FakeAioResponse:
    """The shape of aiosmtplib.SMTPResponse (code, message)."""

    code: int
    message: str


def test_from_aiosmtplib_duck_typed() -> None:
    assert from_aiosmtplib(FakeAioResponse(550, "5.1.1 a\n5.1.1 b")) == (
        "550-5.1.1 a\r\n550 5.1.1 b"
    )


def test_from_aiosmtplib_real_objects() -> None:
    aiosmtplib = pytest.importorskip("aiosmtplib")
    resp = aiosmtplib.SMTPResponse(452, "4.2.2 Mailbox full")
    assert from_aiosmtplib(resp) == "452 4.2.2 Mailbox full"
    exc = aiosmtplib.SMTPResponseException(550, "5.1.1 No such user")
    assert from_aiosmtplib(exc).status is not None
