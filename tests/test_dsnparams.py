"""RFC 3461 MAIL/RCPT parameters: parsing, validation, the 501 5.5.4 reply, round trips."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import smtpdsn
from smtpdsn import dsnparams
from smtpdsn.dsnparams import (
    DSNParameterError,
    MailParams,
    RcptParams,
    parse_esmtp_params,
    parse_mail_params,
    parse_rcpt_params,
)


def test_doctests() -> None:
    result = doctest.testmod(dsnparams)
    assert result.failed == 0


def test_error_is_an_invalid_reply_error_with_a_501_reply() -> None:
    with pytest.raises(DSNParameterError) as info:
        parse_rcpt_params("NOTIFY=NEVER,SUCCESS")
    err = info.value
    assert isinstance(err, smtpdsn.InvalidReplyError)
    assert isinstance(err, ValueError)
    assert err.parameter == "NOTIFY"
    assert (
        err.reply
        == "501 5.5.4 Invalid parameter NOTIFY: NEVER cannot be combined with other values"
    )
    assert str(err) == "NOTIFY: NEVER cannot be combined with other values"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", MailParams()),
        ("RET=FULL", MailParams("FULL", None)),
        ("ret=hdrs", MailParams("HDRS", None)),
        ("ENVID=QQ314159", MailParams(None, "QQ314159")),
        ("ENVID=aBc+2Bd+3De", MailParams(None, "aBc+d=e")),
        ("ENVID=a+2bb", MailParams(None, "a+b")),  # lenient lower-case hex
        ("RET=HDRS ENVID=x SIZE=100 BODY=8BITMIME", MailParams("HDRS", "x")),
        ("ENVID=" + "x" * 100, MailParams(None, "x" * 100)),
    ],
)
def test_mail_params_valid(text: str, expected: MailParams) -> None:
    assert parse_mail_params(text) == expected


@pytest.mark.parametrize(
    ("text", "parameter", "problem"),
    [
        ("RET=ALL", "RET", "'ALL' is not FULL or HDRS"),
        ("RET", "RET", "a value is required"),
        ("RET=", "RET", "the value is empty or contains invalid characters"),
        ("RET=FULL RET=HDRS", "RET", "the parameter is given more than once"),
        ("ret=FULL RET=FULL", "RET", "the parameter is given more than once"),
        ("ENVID=" + "x" * 101, "ENVID", "longer than 100 characters (RFC 3461 section 4.4)"),
        ("ENVID=a+2", "ENVID", "the value is not valid xtext"),
        ("ENVID=a+0D+0Ab", "ENVID", "the envelope identifier must be printable US-ASCII text"),
        ("ENVID=+C3+A9", "ENVID", "the envelope identifier must be printable US-ASCII text"),
        ("ENVID=+FF", "ENVID", "the value is not valid xtext"),
        ("ENVID=a=b", "ENVID", "the value is empty or contains invalid characters"),
        ("-BAD=1", "", "'-BAD=1' is not a valid ESMTP parameter"),
        ("ENVID=a\udcffb", "ENVID", "the value is empty or contains invalid characters"),
        ("ENVID=a\x85b", "ENVID", "the value is empty or contains invalid characters"),
        ("=x", "", "'=x' is not a valid ESMTP parameter"),
    ],
)
def test_mail_params_invalid(text: str, parameter: str, problem: str) -> None:
    with pytest.raises(DSNParameterError) as info:
        parse_mail_params(text)
    assert info.value.parameter == parameter
    assert str(info.value) == (f"{parameter}: {problem}" if parameter else problem)
    assert info.value.reply.code == 501
    assert str(info.value.reply.status) == "5.5.4"
    assert parameter in info.value.reply.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", RcptParams()),
        ("NOTIFY=NEVER", RcptParams(frozenset({"NEVER"}))),
        ("notify=never", RcptParams(frozenset({"NEVER"}))),
        ("NOTIFY=SUCCESS,DELAY,FAILURE", RcptParams(frozenset({"SUCCESS", "DELAY", "FAILURE"}))),
        ("NOTIFY=failure", RcptParams(frozenset({"FAILURE"}))),
        ("ORCPT=rfc822;Bob@Example.COM", RcptParams(None, ("rfc822", "Bob@Example.COM"))),
        ("ORCPT=RFC822;a+2Bb@x", RcptParams(None, ("RFC822", "a+b@x"))),
        ("ORCPT=utf-8;j\\x{F6}ran@x.org", RcptParams(None, ("utf-8", "jöran@x.org"))),
        ("ORCPT=UTF-8;a\\x{2B}b@x", RcptParams(None, ("UTF-8", "a+b@x"))),
        ("ORCPT=x-custom;abc", RcptParams(None, ("x-custom", "abc"))),
        (
            "NOTIFY=DELAY ORCPT=rfc822;z@y SIZE=5",
            RcptParams(frozenset({"DELAY"}), ("rfc822", "z@y")),
        ),
    ],
)
def test_rcpt_params_valid(text: str, expected: RcptParams) -> None:
    assert parse_rcpt_params(text) == expected


@pytest.mark.parametrize(
    ("text", "parameter", "problem"),
    [
        ("NOTIFY=NEVER,SUCCESS", "NOTIFY", "NEVER cannot be combined with other values"),
        ("NOTIFY=NEVER,NEVER", "NOTIFY", "NEVER cannot be combined with other values"),
        ("NOTIFY=ALWAYS", "NOTIFY", "'ALWAYS' is not NEVER, SUCCESS, DELAY or FAILURE"),
        ("NOTIFY=SUCCESS,,FAILURE", "NOTIFY", "empty element in the list"),
        ("NOTIFY=SUCCESS,", "NOTIFY", "empty element in the list"),
        ("NOTIFY", "NOTIFY", "a value is required"),
        ("NOTIFY=NEVER NOTIFY=NEVER", "NOTIFY", "the parameter is given more than once"),
        ("ORCPT=rfc822", "ORCPT", "expected an address type, ';' and an address"),
        ("ORCPT=;a@b", "ORCPT", "expected an address type, ';' and an address"),
        ("ORCPT=rfc(822);a@b", "ORCPT", "expected an address type, ';' and an address"),
        ("ORCPT=rfc822;", "ORCPT", "the original recipient is empty"),
        ("ORCPT=rfc822;a+2", "ORCPT", "the address is not valid xtext"),
        ("ORCPT=utf-8;a\\b", "ORCPT", "the address is not valid utf-8-addr-xtext"),
        ("ORCPT=rfc822;a+0D+0Ab", "ORCPT", "the original recipient contains control characters"),
        # RFC 3461 section 4.2: an rfc822 address is US-ASCII once decoded.
        (
            "ORCPT=rfc822;caf+C3+A9@x.test",
            "ORCPT",
            "an rfc822 address must be US-ASCII once decoded (use utf-8)",
        ),
        ("ORCPT=utf-8;a\\x{A}b", "ORCPT", "the original recipient contains control characters"),
        (
            "ORCPT=utf-8;jöran@x\u2028",
            "ORCPT",
            "the original recipient contains control characters",
        ),
        (
            "ORCPT=rfc822;" + "a" * 494,
            "ORCPT",
            "longer than 500 characters (RFC 3461 section 4.2)",
        ),
        ("ORCPT=a;b ORCPT=a;b", "ORCPT", "the parameter is given more than once"),
    ],
)
def test_rcpt_params_invalid(text: str, parameter: str, problem: str) -> None:
    with pytest.raises(DSNParameterError) as info:
        parse_rcpt_params(text)
    assert info.value.parameter == parameter
    assert str(info.value) == f"{parameter}: {problem}"
    assert info.value.reply == f"501 5.5.4 Invalid parameter {parameter}: {problem}"


def test_esmtp_split_keeps_value_case_and_upper_cases_keywords() -> None:
    assert parse_esmtp_params("ret=Full envid=AbC Smtputf8") == {
        "RET": "Full",
        "ENVID": "AbC",
        "SMTPUTF8": None,
    }
    assert parse_esmtp_params(["A=1", "b-2=x"]) == {"A": "1", "B-2": "x"}


def test_constructor_validation() -> None:
    with pytest.raises(DSNParameterError, match="NEVER cannot be combined"):
        RcptParams(frozenset({"NEVER", "DELAY"}))
    with pytest.raises(DSNParameterError, match="unknown keyword"):
        RcptParams(frozenset({"SOMETIMES"}))
    with pytest.raises(DSNParameterError, match="non-empty"):
        RcptParams(frozenset())
    with pytest.raises(DSNParameterError, match="not FULL or HDRS"):
        MailParams("ALL")  # type: ignore[arg-type]
    with pytest.raises(DSNParameterError, match="longer than 100"):
        MailParams(None, "+" * 40)
    with pytest.raises(DSNParameterError, match="control characters"):
        RcptParams(None, ("rfc822", "a\r\nb"))
    with pytest.raises(DSNParameterError, match="address type"):
        RcptParams(None, ("rfc 822", "a@b"))


def test_wants() -> None:
    default = RcptParams()
    assert default.wants("FAILURE") and default.wants("DELAY") and not default.wants("SUCCESS")
    never = RcptParams(frozenset({"NEVER"}))
    assert not any(never.wants(e) for e in ("SUCCESS", "DELAY", "FAILURE"))
    success = RcptParams(frozenset({"SUCCESS"}))
    assert success.wants("SUCCESS") and not success.wants("FAILURE")


def test_esmtp_rendering() -> None:
    assert MailParams("HDRS", "a b+c").esmtp() == ("RET=HDRS", "ENVID=a+20b+2Bc")
    assert RcptParams(frozenset({"FAILURE", "SUCCESS"}), ("rfc822", "x=y@z")).esmtp() == (
        "NOTIFY=SUCCESS,FAILURE",
        "ORCPT=rfc822;x+3Dy@z",
    )
    assert RcptParams(None, ("utf-8", "jöran@x")).esmtp() == ("ORCPT=utf-8;j\\x{F6}ran@x",)
    assert RcptParams(frozenset({"NEVER"})).esmtp() == ("NOTIFY=NEVER",)


# -- properties ----------------------------------------------------------------------------

_WORD = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), min_size=0, max_size=30
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORD, max_size=4))
def test_any_input_parses_or_raises_the_documented_error(words: list[str]) -> None:
    text = " ".join(words)
    for parse in (parse_mail_params, parse_rcpt_params):
        try:
            parse(text)
        except DSNParameterError as err:
            assert err.reply.code == 501
            assert str(err.reply.status) == "5.5.4"


_KEYS = st.sampled_from(["RET", "ENVID", "NOTIFY", "ORCPT", "ret", "Notify", "orcpt"])
_VALUES = st.one_of(
    st.sampled_from(["FULL", "hdrs", "NEVER", "SUCCESS,DELAY", "rfc822;a@b", "utf-8;x", ""]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_KEYS, _VALUES), max_size=4))
def test_dsn_shaped_input_parses_or_raises(pairs: list[tuple[str, str]]) -> None:
    text = " ".join(f"{k}={v}" for k, v in pairs)
    for parse in (parse_mail_params, parse_rcpt_params):
        try:
            parse(text)
        except DSNParameterError as err:
            assert err.reply.startswith("501 5.5.4 Invalid parameter")


_ASCII_PRINTABLE = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=40
)
_ADDRESS = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Cf", "Co", "Cn")),
    min_size=1,
    max_size=60,
).filter(lambda s: s.isprintable())


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([None, "FULL", "HDRS"]), st.one_of(st.none(), _ASCII_PRINTABLE))
def test_mail_params_round_trip(ret: str | None, envid: str | None) -> None:
    try:
        params = MailParams(ret, envid)  # type: ignore[arg-type]
    except DSNParameterError:
        return  # an ENVID whose xtext form is too long
    assert parse_mail_params(" ".join(params.esmtp())) == params


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.just(frozenset({"NEVER"})),
        st.sets(st.sampled_from(["SUCCESS", "DELAY", "FAILURE"]), min_size=1).map(frozenset),
    ),
    st.one_of(st.none(), st.tuples(st.sampled_from(["rfc822", "utf-8", "UTF-8", "x"]), _ADDRESS)),
)
def test_rcpt_params_round_trip(
    notify: frozenset[str] | None, orcpt: tuple[str, str] | None
) -> None:
    params = RcptParams(notify, orcpt)
    text = " ".join(params.esmtp())
    too_long = orcpt is not None and len(text.split("ORCPT=", 1)[1]) > 500
    # RFC 3461 section 4.2: an rfc822 ORCPT must decode to US-ASCII.
    non_ascii_rfc822 = orcpt is not None and orcpt[0] == "rfc822" and not orcpt[1].isascii()
    if too_long or non_ascii_rfc822:
        with pytest.raises(DSNParameterError):
            parse_rcpt_params(text)
        return
    assert parse_rcpt_params(text) == params


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=50))
def test_xtext_round_trip(value: str) -> None:
    encoded = smtpdsn.encode_xtext(value)
    assert all(33 <= ord(c) <= 126 for c in encoded)
    assert smtpdsn.decode_xtext(encoded) == value
    utf8 = smtpdsn.encode_utf8_addr_xtext(value)
    assert utf8.isascii()
    assert smtpdsn.decode_utf8_addr(utf8) == value
