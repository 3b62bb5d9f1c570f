"""MAIL FROM / RCPT TO addresses: RFC 5321 section 4.1.2 paths, section 4.1.3 address
literals, section 4.5.3.1 limits, and RFC 6531 section 3.3 under SMTPUTF8."""

from __future__ import annotations

import doctest
import ipaddress

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from smtpdsn.errors import DSNError
from smtpdsn.smtp import address
from smtpdsn.smtp.address import (
    DOMAIN_MAX_OCTETS,
    LOCAL_PART_MAX_OCTETS,
    PATH_MAX_OCTETS,
    AddressError,
    Path,
    parse_forward_path,
    parse_mailbox,
    parse_path,
    split_path,
)


def test_doctests() -> None:
    result = doctest.testmod(address)
    assert result.attempted > 0 and result.failed == 0


def reason_of(path: str, *, smtputf8: bool = False, allow_null: bool = False) -> str:
    with pytest.raises(AddressError) as info:
        parse_path(path, smtputf8=smtputf8, allow_null=allow_null)
    return info.value.reason


class TestSplitPath:
    """RFC 5321 sections 4.1.1.2 and 4.1.1.3: ``MAIL FROM:`` Reverse-path [SP Mail-parameters],
    ``RCPT TO:`` Forward-path [SP Rcpt-parameters]."""

    @pytest.mark.parametrize(
        ("argument", "path", "rest"),
        [
            ("<a@example.com>", "<a@example.com>", ""),
            ("<a@example.com> SIZE=100 BODY=8BITMIME", "<a@example.com>", "SIZE=100 BODY=8BITMIME"),
            ("<a@example.com>   SIZE=100", "<a@example.com>", "SIZE=100"),
            ("<a@example.com> ", "<a@example.com>", ""),
            ("<>", "<>", ""),
            ("<> RET=HDRS", "<>", "RET=HDRS"),
            # A ">" inside a quoted local part does not end the path.
            ('<"a>b"@example.com> NOTIFY=NEVER', '<"a>b"@example.com>', "NOTIFY=NEVER"),
            ('<"a\\">b"@example.com> X', '<"a\\">b"@example.com>', "X"),
            ('<@relay.example:"a>b"@example.com> X', '<@relay.example:"a>b"@example.com>', "X"),
            # Nor does one inside a General-address-literal (dcontent includes ">").
            ("<a@[x-tag:>]> SIZE=1", "<a@[x-tag:>]>", "SIZE=1"),
            # The path is not checked here: parse_path does that.
            ("<x y@example.com> X", "<x y@example.com>", "X"),
        ],
    )
    def test_split(self, argument: str, path: str, rest: str) -> None:
        assert split_path(argument) == (path, rest)

    def test_spaces_before_the_path_are_skipped(self) -> None:
        # Not in the grammar ("MAIL FROM:" is followed by the path), but clients send it.
        assert split_path("  <a@example.com> SIZE=1") == ("<a@example.com>", "SIZE=1")

    @pytest.mark.parametrize(
        ("argument", "path", "rest"),
        [
            ("a@example.com", "<a@example.com>", ""),
            ("a@example.com SIZE=100", "<a@example.com>", "SIZE=100"),
            (' "x y"@example.com SIZE=1', '<"x y"@example.com>', "SIZE=1"),
        ],
    )
    def test_a_path_without_brackets_is_taken_and_bracketed(
        self, argument: str, path: str, rest: str
    ) -> None:
        # Postfix (strict_rfc821_envelopes = no) and aiosmtpd accept it too.
        assert split_path(argument) == (path, rest)
        assert parse_path(path).mailbox == path[1:-1]

    @pytest.mark.parametrize(
        ("argument", "reason"),
        [
            ("", "no path was given (expected <mailbox>, or <> in MAIL FROM)"),
            ("   ", "no path was given (expected <mailbox>, or <> in MAIL FROM)"),
            ("<a@example.com", "the path '<a@example.com' has no closing '>'"),
            ('<"a>b@example.com> X', "the path '<\"a>b@example.com> X' has no closing '>'"),
            (
                "<a@example.com>SIZE=1",
                "the path '<a@example.com>' is followed by 'SIZE=1' without a space between",
            ),
        ],
    )
    def test_refused(self, argument: str, reason: str) -> None:
        with pytest.raises(AddressError) as info:
            split_path(argument)
        assert info.value.reason == reason
        assert str(info.value) == reason


class TestValidPaths:
    """RFC 5321 section 4.1.2: Path = "<" [ A-d-l ":" ] Mailbox ">"."""

    @pytest.mark.parametrize(
        ("path", "local", "domain"),
        [
            ("<user@example.com>", "user", "example.com"),
            ("<User.Name+tag@Mail.Example.COM>", "User.Name+tag", "Mail.Example.COM"),
            ("<!#$%&'*+-/=?^_`{|}~@example.com>", "!#$%&'*+-/=?^_`{|}~", "example.com"),
            ("<a@localhost>", "a", "localhost"),
            ("<a@x-1.example>", "a", "x-1.example"),
            ("<a@1.2.3.4>", "a", "1.2.3.4"),  # all-digit labels are Let-dig too
            ("<0@0>", "0", "0"),
            ('<"x y"@example.com>', '"x y"', "example.com"),
            ("<a@[192.0.2.1]>", "a", "[192.0.2.1]"),
        ],
    )
    def test_valid(self, path: str, local: str, domain: str) -> None:
        parsed = parse_path(path)
        assert parsed == Path(f"{local}@{domain}", local, domain)
        assert not parsed.is_null
        assert parse_mailbox(parsed.mailbox) == parsed

    def test_path_is_frozen(self) -> None:
        parsed = parse_path("<a@example.com>")
        with pytest.raises(AttributeError):
            parsed.mailbox = "b@example.com"  # type: ignore[misc]

    def test_error_is_a_value_error(self) -> None:
        assert issubclass(AddressError, ValueError)
        assert issubclass(AddressError, DSNError)


class TestInvalidPaths:
    """RFC 5321 section 4.1.2: what the grammar refuses, with the reason given."""

    @pytest.mark.parametrize(
        ("path", "reason"),
        [
            ("a@example.com", "the path 'a@example.com' is not enclosed in '<' and '>'"),
            ("<a@example.com", "the path '<a@example.com' is not enclosed in '<' and '>'"),
            ("", "the path '' is not enclosed in '<' and '>'"),
            ("<", "the path '<' is not enclosed in '<' and '>'"),
            # Unquoted space (issue 8: accepted by the aiosmtpd-based server).
            (
                "<x y@example.com>",
                "the local part 'x y' contains a space, which is allowed only in a quoted "
                "local part",
            ),
            (
                "<a(b)@example.com>",
                "the local part 'a(b)' contains '(', which is allowed only in a quoted local part",
            ),
            (
                '<a"b"@example.com>',
                "the local part 'a\"b\"' contains '\"', which is allowed only in a quoted "
                "local part",
            ),
            ("<.a@example.com>", "the local part '.a' begins or ends with '.' or has '..'"),
            ("<a.@example.com>", "the local part 'a.' begins or ends with '.' or has '..'"),
            ("<a..b@example.com>", "the local part 'a..b' begins or ends with '.' or has '..'"),
            ("<@example.com>", "the mailbox '@example.com' has an empty local part"),
            ("<user>", "the mailbox 'user' has no '@' and domain"),
            ("<user@>", "the mailbox 'user@' has no domain after the '@'"),
            (
                "< a@example.com>",
                "the local part ' a' contains a space, which is allowed only "
                "in a quoted local part",
            ),
            (
                "<a@example.com >",
                "the domain 'example.com ' contains a space, which is not allowed in a domain",
            ),
            (
                "<a@b@example.com>",
                "the domain 'b@example.com' contains '@', which is not allowed in a domain",
            ),
            (
                "<a@exa_mple.com>",
                "the domain 'exa_mple.com' contains '_', which is not allowed in a domain",
            ),
            (
                "<a@example.com.>",
                "the domain 'example.com.' has an empty label (a leading, trailing or doubled '.')",
            ),
            (
                "<a@.example.com>",
                "the domain '.example.com' has an empty label (a leading, trailing or doubled '.')",
            ),
            ("<a@-example.com>", "the domain label '-example' begins or ends with '-'"),
            ("<a@example-.com>", "the domain label 'example-' begins or ends with '-'"),
            (
                "<<a@example.com>>",
                "the local part '<a' contains '<', which is allowed only in a quoted local part",
            ),
        ],
    )
    def test_refused(self, path: str, reason: str) -> None:
        assert reason_of(path) == reason

    def test_every_refusal_is_syntax_kind(self) -> None:
        with pytest.raises(AddressError) as info:
            parse_path("<x y@example.com>")
        assert info.value.kind == "syntax"


class TestQuotedLocalPart:
    """RFC 5321 section 4.1.2: Quoted-string = DQUOTE *QcontentSMTP DQUOTE, with
    quoted-pairSMTP = "\\" %d32-126."""

    @pytest.mark.parametrize(
        "local",
        [
            '""',  # *QcontentSMTP: may be empty
            '"x y"',
            '"a@b"',
            '"a>b"',
            '"<>"',
            '"a,b:c;d"',
            '"\\""',
            '"\\\\"',
            '"\\a\\ \\~"',
            '"a\\"b@c"',
            # every qtextSMTP character, in two halves (64 octets at most each)
            '"' + "".join(chr(c) for c in range(32, 80) if chr(c) != '"') + '"',
            '"' + "".join(chr(c) for c in range(80, 127) if chr(c) != "\\") + '"',
        ],
    )
    def test_valid(self, local: str) -> None:
        parsed = parse_path(f"<{local}@example.com>")
        assert parsed.local_part == local
        assert parsed.mailbox == f"{local}@example.com"

    def test_greater_than_inside_quotes_goes_through_split_and_parse(self) -> None:
        path, rest = split_path('<"x>y \\"z\\""@example.com> SIZE=10')
        assert rest == "SIZE=10"
        assert parse_path(path).local_part == '"x>y \\"z\\""'

    @pytest.mark.parametrize(
        ("path", "reason"),
        [
            (
                '<"abc@example.com>',
                "the quoted local part in '\"abc@example.com' has no closing '\"'",
            ),
            (
                '<"a\\"@example.com>',
                "the quoted local part in '\"a\\\\\"@example.com' has no closing '\"'",
            ),
            (
                '<"a"b@example.com>',
                "the mailbox '\"a\"b@example.com' has text between its quoted "
                "local part and the '@'",
            ),
            ('<"a">', "the mailbox '\"a\"' has no '@' and domain"),
            (
                '<"a".b@example.com>',
                "the mailbox '\"a\".b@example.com' has text between its "
                "quoted local part and the '@'",
            ),
        ],
    )
    def test_refused(self, path: str, reason: str) -> None:
        assert reason_of(path) == reason

    def test_backslash_before_non_ascii_is_refused_under_smtputf8(self) -> None:
        # RFC 6531 extends qtextSMTP, not quoted-pairSMTP.
        assert parse_path('<"é"@example.com>', smtputf8=True).local_part == '"é"'
        assert reason_of('<"\\é"@example.com>', smtputf8=True) == (
            "the quoted local part '\"\\\\\\xe9\"' escapes a character that quoted-pairSMTP "
            "does not allow (only ASCII may follow '\\')"
        )


class TestAddressLiterals:
    """RFC 5321 section 4.1.3: IPv4, IPv6 (all four forms) and General-address-literal."""

    @pytest.mark.parametrize(
        "literal",
        [
            "[192.0.2.1]",
            "[0.0.0.0]",
            "[255.255.255.255]",
            # IPv6-full
            "[IPv6:2001:db8:0:0:0:0:0:1]",
            "[IPv6:2001:0db8:0000:0000:0000:ff00:0042:8329]",
            # IPv6-comp: "::" for at least two groups, at most six others
            "[IPv6:2001:db8::1]",
            "[IPv6:::1]",
            "[IPv6:::]",
            "[IPv6:1::]",
            "[IPv6:1:2:3::4:5:6]",
            "[IPv6:1:2:3:4:5:6::]",
            "[IPv6:FE80::ABCD]",
            # IPv6v4-full
            "[IPv6:1:2:3:4:5:6:192.0.2.1]",
            # IPv6v4-comp, IPv4-mapped and -compatible
            "[IPv6:::ffff:192.0.2.1]",
            "[IPv6:::192.0.2.1]",
            "[IPv6:1:2:3:4::192.0.2.1]",
            # the "IPv6:" tag is case-insensitive (an ABNF quoted string)
            "[ipv6:::1]",
            "[IPV6:::1]",
            # General-address-literal: Standardized-tag ":" 1*dcontent
            "[x-tag:anything!goes~here]",
            "[tag:a@b]",
            "[tag:a:b:c]",
            "[-tag:x]",  # Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig: a leading "-" is allowed
        ],
    )
    def test_valid(self, literal: str) -> None:
        parsed = parse_path(f"<postmaster@{literal}>")
        assert parsed.domain == literal
        assert parsed.mailbox == f"postmaster@{literal}"

    def test_ipv6_forms_agree_with_ipaddress(self) -> None:
        for text in ("::ffff:192.0.2.1", "2001:db8::1", "1:2:3:4:5:6:7:8"):
            parsed = parse_path(f"<a@[IPv6:{text}]>")
            assert ipaddress.IPv6Address(parsed.domain[6:-1]) == ipaddress.IPv6Address(text)

    @pytest.mark.parametrize(
        ("literal", "reason"),
        [
            ("[256.0.0.1]", "the address literal '[256.0.0.1]' is not a valid IPv4 address"),
            ("[010.0.0.1]", "the address literal '[010.0.0.1]' is not a valid IPv4 address"),
            (
                "[1.2.3]",
                "the address literal '[1.2.3]' is neither an IPv4 address nor a tag:value literal",
            ),
            (
                "[example.com]",
                "the address literal '[example.com]' is neither an IPv4 address nor a tag:value "
                "literal",
            ),
            ("[IPv6:1:2:3]", "the address literal '[IPv6:1:2:3]' is not a valid IPv6 address"),
            ("[IPv6:12345::]", "the address literal '[IPv6:12345::]' is not a valid IPv6 address"),
            ("[IPv6:1::2::3]", "the address literal '[IPv6:1::2::3]' is not a valid IPv6 address"),
            (
                "[IPv6:fe80::1%eth0]",
                "the address literal '[IPv6:fe80::1%eth0]' is not a valid IPv6 address",
            ),
            (
                "[IPv6:192.0.2.1]",
                "the address literal '[IPv6:192.0.2.1]' is not a valid IPv6 address",
            ),
            ("[IPv6:]", "the address literal '[IPv6:]' is not a valid IPv6 address"),
            (
                "[IPv6:::ffff:256.0.0.1]",
                "the address literal '[IPv6:::ffff:256.0.0.1]' is not a valid IPv6 address",
            ),
            # "::" must stand for at least two groups (RFC 5321, stricter than RFC 4291)
            (
                "[IPv6:1:2:3:4:5:6:7::]",
                "the address literal '[IPv6:1:2:3:4:5:6:7::]' is not a valid IPv6 address "
                "('::' must stand for at least two zero groups)",
            ),
            (
                "[IPv6:1:2:3:4:5::192.0.2.1]",
                "the address literal '[IPv6:1:2:3:4:5::192.0.2.1]' is not a valid IPv6 address "
                "('::' must stand for at least two zero groups)",
            ),
            ("[tag-:x]", "the address literal '[tag-:x]' has an invalid tag 'tag-'"),
            ("[:x]", "the address literal '[:x]' has an invalid tag ''"),
            ("[tag:]", "the address literal '[tag:]' has nothing after its tag"),
            ("[]", "the address literal '[]' is empty"),
            ("[192.0.2.1", "the address literal '[192.0.2.1' does not end with ']'"),
            (
                "[tag:a b]",
                "the address literal '[tag:a b]' contains a space, which is not allowed in an "
                "address literal",
            ),
            (
                "[tag:a[b]",
                "the address literal '[tag:a[b]' contains '[', which is not allowed in an "
                "address literal",
            ),
        ],
    )
    def test_refused(self, literal: str, reason: str) -> None:
        assert reason_of(f"<a@{literal}>") == reason

    def test_literal_stays_ascii_under_smtputf8(self) -> None:
        assert reason_of("<a@[tag:é]>", smtputf8=True) == (
            "the address literal '[tag:\\xe9]' contains '\\xe9', which is not allowed in an "
            "address literal"
        )


class TestSourceRoute:
    """RFC 5321 section 4.1.2 (A-d-l) and appendix C: a source route MUST be accepted and
    SHOULD be ignored."""

    @pytest.mark.parametrize(
        "path",
        [
            "<@relay.example:user@example.com>",
            "<@a.example,@b.example:user@example.com>",
            "<@a,@b,@c:user@example.com>",
        ],
    )
    def test_accepted_and_dropped(self, path: str) -> None:
        assert parse_path(path) == Path("user@example.com", "user", "example.com")

    def test_dropped_before_a_quoted_local_part_and_literal(self) -> None:
        parsed = parse_path('<@relay.example:"a:b"@[192.0.2.1]>')
        assert parsed.mailbox == '"a:b"@[192.0.2.1]'

    @pytest.mark.parametrize(
        ("path", "reason"),
        [
            (
                "<@relay..example:user@example.com>",
                "the source route '@relay..example:' is not a list of @domain separated by ','",
            ),
            (
                "<@a,b:user@example.com>",
                "the source route '@a,b:' is not a list of @domain separated by ','",
            ),
            (
                "<@a,@:user@example.com>",
                "the source route '@a,@:' is not a list of @domain separated by ','",
            ),
            (
                "<@[192.0.2.1]:user@example.com>",
                "the source route '@[192.0.2.1]:' is not a list of @domain separated by ','",
            ),
            ("<@a.example:>", "the path '<@a.example:>' has no mailbox"),
        ],
    )
    def test_refused(self, path: str, reason: str) -> None:
        assert reason_of(path) == reason


class TestNullAndPostmaster:
    """RFC 5321 section 4.5.5 (the null reverse-path ``<>``, MAIL FROM only) and section
    4.1.1.3 (``RCPT TO:<Postmaster>`` without a domain)."""

    def test_null_path_when_allowed(self) -> None:
        parsed = parse_path("<>", allow_null=True)
        assert parsed.is_null
        assert parsed == Path("", "", "")

    def test_null_path_refused_otherwise(self) -> None:
        assert reason_of("<>") == "the null path <> is allowed only as the reverse-path of MAIL"

    def test_null_path_with_source_route_is_not_null(self) -> None:
        assert reason_of("<@a.example:>", allow_null=True) == (
            "the path '<@a.example:>' has no mailbox"
        )

    @pytest.mark.parametrize("path", ["<Postmaster>", "<postmaster>", "<POSTMASTER>"])
    def test_bare_postmaster_is_a_forward_path(self, path: str) -> None:
        parsed = parse_forward_path(path)
        assert parsed == Path(path[1:-1], path[1:-1], "")
        assert not parsed.is_null

    def test_bare_postmaster_is_not_a_reverse_path(self) -> None:
        assert reason_of("<Postmaster>", allow_null=True) == (
            "the mailbox 'Postmaster' has no '@' and domain"
        )

    def test_forward_path_is_otherwise_parse_path(self) -> None:
        assert parse_forward_path("<Postmaster@example.com>").domain == "example.com"
        assert parse_forward_path("<é@example.com>", smtputf8=True).local_part == "é"
        with pytest.raises(AddressError, match="reverse-path of MAIL"):
            parse_forward_path("<>")
        with pytest.raises(AddressError, match="has no '@'"):
            parse_forward_path("<Postmistress>")


class TestLengthLimits:
    """RFC 5321 section 4.5.3.1: local part 64, domain 255, path 256 octets (UTF-8)."""

    def test_constants(self) -> None:
        assert (LOCAL_PART_MAX_OCTETS, DOMAIN_MAX_OCTETS, PATH_MAX_OCTETS) == (64, 255, 256)

    def test_local_part_at_the_limit(self) -> None:
        assert parse_path(f"<{'a' * 64}@example.com>").local_part == "a" * 64

    def test_local_part_over_the_limit(self) -> None:
        with pytest.raises(AddressError) as info:
            parse_path(f"<{'a' * 65}@example.com>")
        assert info.value.reason == (
            f"the local part '{'a' * 65}' is 65 octets long; the limit is 64 "
            "(RFC 5321 section 4.5.3.1.1)"
        )
        assert info.value.kind == "too-long"

    def test_quoted_local_part_counts_its_quotes(self) -> None:
        assert parse_path(f'<"{"a" * 62}"@example.com>').local_part == f'"{"a" * 62}"'
        assert "is 65 octets long" in reason_of(f'<"{"a" * 63}"@example.com>')

    def test_local_part_octets_are_utf8(self) -> None:
        # 32 two-octet characters are 64 octets; 33 are 66.
        assert parse_path(f"<{'é' * 32}@example.com>", smtputf8=True).local_part == "é" * 32
        assert "is 66 octets long; the limit is 64" in reason_of(
            f"<{'é' * 33}@example.com>", smtputf8=True
        )

    @staticmethod
    def domain_of(octets: int) -> str:
        """A domain of exactly ``octets`` characters: 63-letter labels, then the rest."""
        labels = []
        while octets > 64:
            labels.append("a" * 63)
            octets -= 64
        return ".".join([*labels, "b" * octets])

    def test_domain_at_the_limit_as_a_mailbox(self) -> None:
        # Within a path, 255 octets of domain cannot fit (1 + 1 + 255 + 2 > 256), so the
        # domain limit is seen through parse_mailbox (VRFY).
        domain = self.domain_of(255)
        assert len(domain) == 255
        assert parse_mailbox(f"a@{domain}").domain == domain

    def test_domain_over_the_limit(self) -> None:
        domain = self.domain_of(256)
        assert len(domain) == 256
        with pytest.raises(AddressError) as info:
            parse_mailbox(f"a@{domain}")
        assert info.value.reason == (
            f"the domain '{domain[:75]}...' is 256 octets long; the limit is 255 "
            "(RFC 5321 section 4.5.3.1.2)"
        )
        assert info.value.kind == "too-long"

    def test_domain_octets_are_utf8(self) -> None:
        label = "é" * 30  # 60 octets
        domain = ".".join([label] * 4) + ".abcdefghijklmn"  # 4 * 61 + 14 = 258 octets
        assert len(domain) < 255
        with pytest.raises(AddressError, match="is 258 octets long; the limit is 255"):
            parse_mailbox(f"a@{domain}", smtputf8=True)

    def test_path_at_the_limit(self) -> None:
        domain = self.domain_of(256 - len("<a@>"))
        path = f"<a@{domain}>"
        assert len(path) == 256
        assert parse_path(path).domain == domain

    def test_path_over_the_limit(self) -> None:
        domain = self.domain_of(257 - len("<a@>"))
        path = f"<a@{domain}>"
        with pytest.raises(AddressError) as info:
            parse_path(path)
        assert info.value.reason.endswith(
            "is 257 octets long; the limit is 256 (RFC 5321 section 4.5.3.1.3)"
        )
        assert info.value.reason.startswith("the path '<a@aaaa")
        assert info.value.kind == "too-long"

    def test_path_limit_includes_the_source_route(self) -> None:
        route = "@" + self.domain_of(200) + ":"
        mailbox = "a@" + self.domain_of(51)
        assert len(f"<{route}{mailbox}>") == 257
        assert "is 257 octets long" in reason_of(f"<{route}{mailbox}>")
        shorter = "@" + self.domain_of(199) + ":"
        assert parse_path(f"<{shorter}{mailbox}>").mailbox == mailbox

    def test_path_octets_are_utf8(self) -> None:
        path = f"<{'é' * 30}@{'ü' * 60}.{'b' * 60}.{'c' * 14}>"
        assert len(path) < 256 < len(path.encode())
        assert "octets long; the limit is 256" in reason_of(path, smtputf8=True)

    def test_a_very_long_value_is_shown_cut(self) -> None:
        reason = reason_of("<" + "a" * 100_000 + "@example.com>")
        assert reason.startswith("the path '<aaaa") and len(reason) < 200


class TestSmtputf8:
    """RFC 6531 section 3.3: UTF8-non-ascii in atext, qtextSMTP and (as U-labels) in
    sub-domain, only when the transaction's MAIL FROM carried SMTPUTF8."""

    @pytest.mark.parametrize(
        ("path", "local", "domain"),
        [
            ("<jörg@example.com>", "jörg", "example.com"),
            ("<用户@例子.广告>", "用户", "例子.广告"),
            ("<δοκιμή@παράδειγμα.δοκιμή>", "δοκιμή", "παράδειγμα.δοκιμή"),
            ('<"ü ü"@example.com>', '"ü ü"', "example.com"),
            ("<a@xn--bcher-kva.example>", "a", "xn--bcher-kva.example"),
            ("<😀@bücher-ü.example>", "😀", "bücher-ü.example"),
        ],
    )
    def test_accepted_with_smtputf8(self, path: str, local: str, domain: str) -> None:
        assert parse_path(path, smtputf8=True) == Path(f"{local}@{domain}", local, domain)

    @pytest.mark.parametrize(
        ("path", "reason"),
        [
            (
                "<jörg@example.com>",
                "the path '<j\\xf6rg@example.com>' contains the non-ASCII character U+00F6, "
                "which needs SMTPUTF8 (RFC 6531)",
            ),
            (
                "<a@例子.广告>",
                "the path '<a@\\u4f8b\\u5b50.\\u5e7f\\u544a>' contains the non-ASCII character "
                "U+4F8B, which needs SMTPUTF8 (RFC 6531)",
            ),
            (
                '<"ü"@example.com>',
                "the path '<\"\\xfc\"@example.com>' contains the non-ASCII character U+00FC, "
                "which needs SMTPUTF8 (RFC 6531)",
            ),
        ],
    )
    def test_refused_without_smtputf8(self, path: str, reason: str) -> None:
        with pytest.raises(AddressError) as info:
            parse_path(path)
        assert info.value.reason == reason
        assert info.value.kind == "non-ascii"

    def test_mailbox_without_smtputf8(self) -> None:
        with pytest.raises(AddressError) as info:
            parse_mailbox("jörg@example.com")
        assert info.value.reason == (
            "the mailbox 'j\\xf6rg@example.com' contains the non-ASCII character U+00F6, "
            "which needs SMTPUTF8 (RFC 6531)"
        )

    def test_u_label_keeps_the_hyphen_rule(self) -> None:
        assert reason_of("<a@bücher-.example>", smtputf8=True) == (
            "the domain label 'b\\xfccher-' begins or ends with '-'"
        )

    def test_non_ascii_still_needs_quotes_for_specials(self) -> None:
        assert reason_of("<ü ü@example.com>", smtputf8=True) == (
            "the local part '\\xfc \\xfc' contains a space, which is allowed only in a quoted "
            "local part"
        )


NON_PRINTABLE = (
    "\x00\t\n\r\x1b\x7f"  # C0 and DEL
    "\x80\x85\x9f"  # C1
    "\u00a0\u3000"  # non-ASCII spaces
    "\u2028\u2029"  # line and paragraph separators
    "\u200b\u200e\ufeff\U000e0001"  # format characters
    "\ud800\udfff\udcc3"  # lone surrogates (undecodable bytes)
    "\ue000\U000f0000"  # private use
)


class TestControlCharacters:
    """RFC 5321 section 4.1.2 allows none (atext, qtextSMTP, quoted-pairSMTP and dcontent are
    printable), and RFC 6531 adds only UTF8-non-ascii: no C0, DEL, C1, line or paragraph
    separators, format characters or lone surrogates, even under SMTPUTF8."""

    @pytest.mark.parametrize("char", list(NON_PRINTABLE))
    @pytest.mark.parametrize("smtputf8", [False, True])
    @pytest.mark.parametrize(
        "template", ["<a{}b@example.com>", '<"a{}b"@example.com>', "<a@ex{}ample.com>"]
    )
    def test_refused_everywhere(self, char: str, smtputf8: bool, template: str) -> None:
        path = template.format(char)
        with pytest.raises(AddressError) as info:
            parse_path(path, smtputf8=smtputf8)
        assert info.value.reason == (
            f"the path {path!a} contains the non-printable character U+{ord(char):04X}"
        )
        with pytest.raises(AddressError, match="non-printable character"):
            parse_mailbox(path[1:-1], smtputf8=smtputf8)

    def test_reason_shows_the_control_escaped(self) -> None:
        reason = reason_of("<a\r\nRSET@example.com>")
        assert "\r" not in reason and "\n" not in reason
        assert reason == (
            "the path '<a\\r\\nRSET@example.com>' contains the non-printable character U+000D"
        )


# ---------------------------------------------------------------------------------------
# Properties. Strategies are built from the ABNF of RFC 5321 sections 4.1.2 and 4.1.3 and
# RFC 6531 section 3.3.
# ---------------------------------------------------------------------------------------

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~"
LET_DIG = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
QTEXT = "".join(chr(c) for c in range(32, 127) if chr(c) not in '"\\')
PRINTABLE_ASCII = "".join(chr(c) for c in range(32, 127))
DCONTENT = "".join(chr(c) for c in range(33, 127) if chr(c) not in "[\\]")

# UTF8-non-ascii that str.isprintable accepts.
non_ascii = st.characters(
    min_codepoint=0x80,
    exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"),
).filter(str.isprintable)


def atext(utf8: bool) -> st.SearchStrategy[str]:
    ascii_atext = st.sampled_from(ATEXT)
    return st.one_of(ascii_atext, non_ascii) if utf8 else ascii_atext


def dot_string(utf8: bool) -> st.SearchStrategy[str]:
    # Dot-string = Atom *("." Atom); Atom = 1*atext
    atom = st.text(atext(utf8), min_size=1, max_size=8)
    return st.lists(atom, min_size=1, max_size=4).map(".".join)


def quoted_string(utf8: bool) -> st.SearchStrategy[str]:
    # Quoted-string = DQUOTE *QcontentSMTP DQUOTE; QcontentSMTP = qtextSMTP / quoted-pairSMTP
    qtext = st.sampled_from(QTEXT)
    if utf8:
        qtext = st.one_of(qtext, non_ascii)
    pair = st.sampled_from(PRINTABLE_ASCII).map(lambda c: "\\" + c)
    return st.lists(st.one_of(qtext, pair), max_size=12).map(lambda q: '"' + "".join(q) + '"')


def sub_domain(utf8: bool) -> st.SearchStrategy[str]:
    # sub-domain = Let-dig [Ldh-str]; Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig
    let_dig: st.SearchStrategy[str] = st.sampled_from(LET_DIG)
    if utf8:
        let_dig = st.one_of(let_dig, non_ascii)
    ldh = st.one_of(let_dig, st.just("-"))
    return st.builds(
        lambda first, middle, last: first + middle + last,
        let_dig,
        st.text(ldh, max_size=10),
        st.one_of(st.just(""), let_dig),
    ).filter(lambda s: not s.endswith("-"))


def domain(utf8: bool) -> st.SearchStrategy[str]:
    return st.lists(sub_domain(utf8), min_size=1, max_size=4).map(".".join)


ipv4_literal = st.ip_addresses(v=4).map(lambda a: f"[{a}]")


def _ipv6_texts(address: ipaddress.IPv6Address) -> list[str]:
    texts = [str(address), address.exploded]
    v4 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    texts.append(":".join(address.exploded.split(":")[:6]) + f":{v4}")  # IPv6v4-full
    return texts


ipv6_literal = st.builds(
    lambda address, index, tag: f"[{tag}:{_ipv6_texts(address)[index]}]",
    st.ip_addresses(v=6).map(lambda a: ipaddress.IPv6Address(int(a))),
    st.integers(0, 2),
    st.sampled_from(["IPv6", "ipv6", "IPV6"]),
)
ipv4_mapped_literal = st.ip_addresses(v=4).map(lambda a: f"[IPv6:::ffff:{a}]")
general_literal = st.builds(
    lambda tag, content: f"[{tag}:{content}]",
    st.from_regex(r"[a-zA-Z0-9-]{0,8}[a-zA-Z0-9]", fullmatch=True).filter(
        lambda t: t.lower() != "ipv6"
    ),
    st.text(st.sampled_from(DCONTENT), min_size=1, max_size=12),
)
address_literal = st.one_of(ipv4_literal, ipv6_literal, ipv4_mapped_literal, general_literal)


@st.composite
def mailboxes(draw: st.DrawFn, utf8: bool = False) -> tuple[str, str, str]:
    """(mailbox, local part, domain) from Mailbox = Local-part "@" ( Domain / address-literal )."""
    local = draw(st.one_of(dot_string(utf8), quoted_string(utf8)))
    dom = draw(st.one_of(domain(utf8), address_literal))
    assume(len(local.encode()) <= LOCAL_PART_MAX_OCTETS)
    assume(len(dom.encode()) <= DOMAIN_MAX_OCTETS)
    return f"{local}@{dom}", local, dom


# Pieces of the grammar and its usual faults, to reach the refusals more often than
# random text does.
GRAMMAR_PIECES = [
    *'<>@"\\[]:,.- ab1xéü😀',
    *("IPv6:", "::", "192.0.2.1", "ffff", "<>", "@a:"),
    *("\x00", "\r\n", "\u2028", "\udcc3"),
]
grammar_pieces = st.lists(
    st.one_of(
        st.sampled_from(GRAMMAR_PIECES),
        st.text(max_size=3),
    ),
    max_size=14,
).map("".join)
any_text = st.one_of(st.text(), grammar_pieces)


def assert_wire_safe(reason: str) -> None:
    assert reason.isascii() and reason.isprintable()
    assert len(reason) < 300


class TestProperties:
    """The parsers return or raise AddressError, never anything else; and the grammar's own
    mailboxes parse back to themselves."""

    @given(any_text, st.booleans(), st.booleans())
    def test_parse_path_returns_or_raises_address_error(
        self, text: str, smtputf8: bool, allow_null: bool
    ) -> None:
        for candidate in (text, f"<{text}>"):
            try:
                parsed = parse_path(candidate, smtputf8=smtputf8, allow_null=allow_null)
            except AddressError as exc:
                assert_wire_safe(exc.reason)
                continue
            if parsed.is_null:
                assert candidate == "<>" and allow_null
            else:
                # Whatever parses as a path parses as a mailbox too, to the same result.
                assert candidate.endswith(f"{parsed.mailbox}>")
                assert parse_mailbox(parsed.mailbox, smtputf8=smtputf8) == parsed

    @given(any_text, st.booleans())
    def test_parse_mailbox_and_forward_path_return_or_raise(
        self, text: str, smtputf8: bool
    ) -> None:
        for parse in (parse_mailbox, parse_forward_path):
            try:
                parse(text, smtputf8=smtputf8)
            except AddressError as exc:
                assert_wire_safe(exc.reason)

    @given(any_text)
    def test_split_path_returns_or_raises(self, text: str) -> None:
        try:
            path, rest = split_path(text)
        except AddressError as exc:
            assert_wire_safe(exc.reason)
            return
        assert path.startswith("<") and path.endswith(">")
        assert not rest.startswith(" ")

    @given(mailboxes(), st.booleans())
    def test_generated_mailbox_parses_back_to_itself(
        self, generated: tuple[str, str, str], smtputf8: bool
    ) -> None:
        mailbox, local, dom = generated
        assert parse_mailbox(mailbox, smtputf8=smtputf8) == Path(mailbox, local, dom)

    @given(mailboxes(utf8=True))
    def test_generated_utf8_mailbox_parses_back_under_smtputf8(
        self, generated: tuple[str, str, str]
    ) -> None:
        mailbox, local, dom = generated
        assert parse_mailbox(mailbox, smtputf8=True) == Path(mailbox, local, dom)
        if not mailbox.isascii():
            with pytest.raises(AddressError) as info:
                parse_mailbox(mailbox)
            assert info.value.kind == "non-ascii"

    @given(mailboxes(), st.booleans())
    def test_path_of_a_generated_mailbox_gives_it_back(
        self, generated: tuple[str, str, str], utf8: bool
    ) -> None:
        mailbox, _, _ = generated
        assume(len(mailbox) + 2 <= PATH_MAX_OCTETS)
        assert parse_path(f"<{mailbox}>", smtputf8=utf8).mailbox == mailbox

    @given(mailboxes(utf8=True), st.lists(domain(False), max_size=3))
    def test_split_then_parse_with_route_and_parameters(
        self, generated: tuple[str, str, str], route: list[str]
    ) -> None:
        mailbox, local, dom = generated
        prefix = ",".join(f"@{d}" for d in route) + ":" if route else ""
        path = f"<{prefix}{mailbox}>"
        assume(len(path.encode()) <= PATH_MAX_OCTETS)
        assert split_path(f"{path} SIZE=10 BODY=8BITMIME") == (path, "SIZE=10 BODY=8BITMIME")
        assert parse_path(path, smtputf8=True) == Path(mailbox, local, dom)
