"""Size limits and the error limit: RFC 5321 sections 4.5.3.1.4, 4.5.3.1.8 and 3.8; RFC
3461 section 5.4; RFC 4954 section 4.

Section 4.5.3.1.4: a command line is at most 512 octets with its CRLF, and "the
maximum line length ... may be increased by ... SMTP service extensions"; RFC 3461 section
5.4 raises RCPT to at least 1,036 octets for NOTIFY and a 500-character ORCPT; RFC 4954
section 4 allows AUTH lines of 12,288 octets. A longer line is answered 500 (5.5.2,
RFC 3463 section 3.6) and never kept whole. Section 4.5.3.1.8: at least 100 recipients;
more than the server takes get 452 (4.5.3). Section 3.8: a server closing on its own
says 421 first; after too many protocol errors the core does that with 421 4.7.0.
"""

from __future__ import annotations

from typing import Any

import pytest

from smtpdsn import Reply
from smtpdsn.smtp import Answered, ConnectionClosed, RcptTo
from smtpdsn.smtp.connection import AUTH_LINE, BASE_COMMAND_LINE

from .smtp_support import Session, held, reply_codes, transaction

TOO_LONG = (500, "5.5.2")


def line_of(octets: int, start: str = "NOOP ") -> str:
    """A command line of exactly ``octets`` octets, CRLF included."""
    return start + "x" * (octets - 2 - len(start))


class TestCommandLine:
    def test_512_octets_is_allowed_513_is_not(self) -> None:
        session = Session()
        assert session.codes(line_of(512), line_of(513)) == [(250, "2.0.0"), TOO_LONG]

    def test_the_limit_counts_the_crlf_and_a_bare_lf_line(self) -> None:
        session = Session()
        session.feed(line_of(513).encode()[:-1] + b"\n")  # 511 octets + LF
        assert reply_codes(session.out) == [250]

    def test_ehlo_does_not_raise_the_limit_of_other_commands(self) -> None:
        session = Session()
        session.say("EHLO c")
        assert session.codes(line_of(513), line_of(513, "VRFY ")) == [TOO_LONG, TOO_LONG]

    def test_a_too_long_line_still_counts_as_one_command(self) -> None:
        session = Session()
        assert session.codes(line_of(5000), "NOOP") == [TOO_LONG, (250, "2.0.0")]


def longest_mailbox() -> str:
    """A mailbox of 254 octets: the 256-octet path limit less the brackets (RFC 5321
    section 4.5.3.1.3), with a 64-octet local part (section 4.5.3.1.1)."""
    domain = "d" * 63 + "." + "e" * 63 + "." + "f" * 56 + ".test"
    mailbox = "r" * 64 + "@" + domain
    assert len(mailbox) == 254
    return mailbox


def rcpt_1036() -> str:
    """RCPT TO with the longest mailbox, NOTIFY with every keyword and a 500-character
    ORCPT (RFC 3461 section 4.2's maximum), padded with spaces to 1,036 octets."""
    orcpt = "rfc822;" + "o+2B" * 20 + "o" * (500 - 7 - 80 - 7) + "@x.test"
    assert len(orcpt) == 500
    line = f"RCPT TO:<{longest_mailbox()}>"
    params = f" NOTIFY=SUCCESS,DELAY,FAILURE ORCPT={orcpt}"
    padding = 1036 - 2 - len(line) - len(params)
    return line + " " * padding + params


class TestExtendedLines:
    """RFC 3461 section 5.4 and RFC 5321 section 4.5.3.1.4: extensions lengthen MAIL and
    RCPT once they are announced by EHLO."""

    def test_rcpt_of_1036_octets_after_ehlo(self) -> None:
        session = Session()
        session.say(*transaction())
        line = rcpt_1036()
        assert len(line) + 2 == 1036
        assert session.codes(line) == [(250, "2.1.5")]
        rcpt = session.of_type(RcptTo)[-1]
        assert isinstance(rcpt, RcptTo)
        assert rcpt.dsn.notify == frozenset({"SUCCESS", "DELAY", "FAILURE"})
        assert rcpt.dsn.orcpt is not None and rcpt.dsn.orcpt[1].startswith("o+" * 20)

    def test_rcpt_limit_is_bounded(self) -> None:
        session = Session()
        session.say(*transaction())
        assert session.codes(line_of(1101, "RCPT TO:<a@x.test> ")) == [TOO_LONG]

    def test_after_helo_rcpt_keeps_512(self) -> None:
        session = Session()
        session.say("HELO c", "MAIL FROM:<a@x.test>")
        assert session.codes(line_of(513, "RCPT TO:<a@x.test> ")) == [TOO_LONG]

    def test_mail_with_every_parameter_at_its_longest(self) -> None:
        session = Session(auth_mechanisms=("PLAIN",), auth_require_tls=False)
        session.say("EHLO c")
        envid = "e" * 100
        line = (
            f"MAIL FROM:<{longest_mailbox()}> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS "
            f"ENVID={envid} AUTH={longest_mailbox()}"
        )
        assert len(line) + 2 > 600
        assert session.codes(line) == [(250, "2.1.0")]

    def test_auth_lines_up_to_12288_octets(self) -> None:
        """RFC 4954 section 4: the AUTH command and each response line may be 12,288
        octets; the reply to a response too long is 500 5.5.2, not a SASL reply."""
        session = Session(auth_mechanisms=("PLAIN",), auth_require_tls=False)
        session.say("EHLO c")
        assert session.codes(line_of(AUTH_LINE, "AUTH PLAIN ")) == [(501, "5.5.2")]  # not base64
        assert session.codes(line_of(AUTH_LINE + 1, "AUTH PLAIN ")) == [TOO_LONG]
        assert session.codes("AUTH PLAIN", "x" * (AUTH_LINE - 1)) == [(334, None), TOO_LONG]


class TestOverlongLinesAreNotHeld:
    """Section 4.5.3.1.4 with bounded memory: a line without an end is dropped as it
    grows, and answered once when its end comes."""

    @pytest.mark.parametrize("read", [1, 100, 4096, 65536])
    def test_a_megabyte_without_a_line_end(self, read: int) -> None:
        session = Session()
        session.say("EHLO c")
        limit = session.conn._max_line
        total = 1_000_000 if read >= 100 else 20_000
        for _ in range(total // read):
            session.feed(b"A" * read)
            assert held(session.conn) <= limit + read
        assert session.take() == []
        assert session.codes("", "NOOP") == [TOO_LONG, (250, "2.0.0")]

    def test_the_base_limit_without_auth(self) -> None:
        assert Session().conn._max_line < 2 * BASE_COMMAND_LINE + 512


class TestRecipients:
    """Section 4.5.3.1.8: at least 100 recipients; beyond the limit 452 4.5.3 (and the
    client sends the rest in another transaction, section 4.5.3.1.10)."""

    def test_the_default_takes_at_least_100(self) -> None:
        session = Session()
        session.say("EHLO c", "MAIL FROM:<a@x.test>")
        codes = session.codes(*(f"RCPT TO:<r{i}@x.test>" for i in range(100)))
        assert codes == [(250, "2.1.5")] * 100

    def test_beyond_the_limit(self) -> None:
        session = Session(max_recipients=2, max_errors=2)
        session.say("EHLO c", "MAIL FROM:<a@x.test>")
        codes = session.codes(*(f"RCPT TO:<r{i}@x.test>" for i in range(4)), "DATA")
        assert codes == [(250, "2.1.5")] * 2 + [(452, "4.5.3")] * 2 + [(354, None)]
        assert not session.conn.closed  # a 452 is no protocol error
        refused = [e for e in session.events if isinstance(e, Answered) and e.verb == "RCPT"]
        assert len(refused) == 2 and all(e.error for e in refused)


class TestErrorLimit:
    """After ``max_errors`` protocol errors (5.5.x: unknown commands, bad syntax, bad
    sequence) the last one is answered 421 4.7.0 and the connection closes (section 3.8);
    every command before it is answered."""

    def test_a_noop_after_four_bad_lines_is_answered(self) -> None:
        session = Session()
        codes = session.codes(*["NOOP\x00x"] * 4, "NOOP")
        assert codes == [(500, "5.5.1")] * 4 + [(250, "2.0.0")]
        assert not session.conn.closed

    def test_the_default_limit_ends_with_421(self) -> None:
        session = Session()
        codes = session.codes(*["BOGUS"] * 25, "NOOP")
        assert codes == [(500, "5.5.1")] * 19 + [(421, "4.7.0")]
        assert session.conn.closed
        assert isinstance(session.events[-1], ConnectionClosed)

    @pytest.mark.parametrize(
        "bad",
        [
            "BOGUS",  # unknown command
            "MAIL FROM:<a@x.test>",  # out of order before EHLO
            "HELO",  # syntax
            "",  # empty line
            "DATA",  # out of order
            line_of(600),  # too long
        ],
    )
    def test_each_kind_of_protocol_error_counts(self, bad: str) -> None:
        session = Session(max_errors=3)
        codes = session.codes(bad, bad, bad, "NOOP")
        assert codes[2] == (421, "4.7.0")
        assert len(codes) == 3 and session.conn.closed

    def test_refusals_of_addresses_and_by_the_application_do_not_count(self) -> None:
        session = Session(
            lambda e: Reply(550, "5.1.1", "unknown") if isinstance(e, RcptTo) else None,
            max_errors=2,
        )
        session.say("EHLO c", "MAIL FROM:<a@x.test>")
        codes = session.codes(*["RCPT TO:<a b@x.test>", "RCPT TO:<u@x.test>"] * 3, "NOOP")
        assert codes == [(553, "5.1.3"), (550, "5.1.1")] * 3 + [(250, "2.0.0")]
        assert not session.conn.closed

    def test_one_error_closes_with_max_errors_1(self) -> None:
        session = Session(max_errors=1)
        assert session.codes("BOGUS", "NOOP") == [(421, "4.7.0")]

    @pytest.mark.parametrize("value", [0, -1])
    def test_limits_must_be_positive(self, value: int) -> None:
        for option in ("max_errors", "max_recipients", "max_message_size"):
            with pytest.raises(ValueError, match=option):
                options: dict[str, Any] = {option: value}
                Session(**options)
