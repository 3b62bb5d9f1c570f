"""The golden SMTP sessions as scripts: what a client sends, step by step.

``scripts/record_golden.py`` plays them against ``smtpdsn serve`` and records the replies.
Each group mirrors what a server test exercises (``tests/test_server_*.py``). A session
that probes one behaviour the new engine is expected to change (an unquoted space in a
path, a 1,036-octet RCPT, half-close ...) is kept on its own or at the end of a session, so
that a documented change touches one step.
"""

from __future__ import annotations

from tests.golden_support import Session, Step

__all__ = ["RULES", "SESSIONS", "pipe", "raw", "session"]

Item = str | bytes | Step

#: Send nothing, read one reply (an idle timeout).
WAIT = Step(b"")


def session(
    name: str, *items: Item, rules: str | None = None, options: tuple[str, ...] = ()
) -> Session:
    """A session: the greeting is read first; a ``str`` is one command line (CRLF added),
    ``bytes`` are sent exactly and answered by one reply, a :class:`Step` as it is."""
    steps = [Step(b"")]
    for item in items:
        if isinstance(item, str):
            steps.append(Step(item.encode("utf-8") + b"\r\n"))
        elif isinstance(item, bytes):
            steps.append(Step(item))
        else:
            steps.append(item)
    return Session(name, tuple(steps), rules, options)


def pipe(*lines: str | bytes, replies: int | None = None, shutdown: bool = False) -> Step:
    """Several command lines in one write (RFC 2920); one reply each unless ``replies``
    says otherwise (a message body is one "line" here: pass it as bytes ending in .CRLF)."""
    data = b"".join(
        line.encode("utf-8") + b"\r\n" if isinstance(line, str) else line for line in lines
    )
    return Step(data, replies=len(lines) if replies is None else replies, shutdown=shutdown)


def raw(data: bytes, *, replies: int = 1, shutdown: bool = False) -> Step:
    return Step(data, replies=replies, shutdown=shutdown)


EHLO = "EHLO client.test"
HELO = "HELO client.test"
MAIL = "MAIL FROM:<alice@example.com>"
RCPT = "RCPT TO:<bob@example.org>"
QUIT = "QUIT"
BODY = b"Subject: golden\r\n\r\nHello.\r\n.\r\n"

# --- rules files --------------------------------------------------------------------------

#: A rules file with a rule for each verdict, sender rules, multi-line text and then rules.
RULES = """\
# The golden sessions' rules file: one rule per verdict and reply form.
[[rule]]
sender = "*@spam.test"
verdict = "DENY"
code = 554
status = "5.7.1"
text = "Spam is not welcome here"

[[rule]]
sender = "soft@*"
verdict = "DENYSOFT"
factory = "sys_not_accepting_mail"

[[rule]]
sender = "bye@*"
verdict = "DISCONNECT"

[[rule]]
sender = "okay@*"
verdict = "OK"

[[rule]]
address = "*@both.test"
verdict = "DENY"
factory = "sec_unauthorized"
text = "Not from or to here"

[[rule]]
recipient = "later@*"
verdict = "DENYSOFT"

[[rule]]
recipient = "quota@*"
verdict = "DENY"
factory = "mbox_full"
text = "Over quota"
code = 552

[[rule]]
recipient = "multi@*"
verdict = "DENY"
text = ["line one", "line two"]

[[rule]]
recipient = "soft-deny@*"
verdict = "DENYSOFT"
factory = "no_such_user"

[[rule]]
recipient = "goodbye@*"
verdict = "DISCONNECT"
code = 221
text = "Bye now"

[[rule]]
recipient = "slam@*"
verdict = "DISCONNECT"
code = 554
status = "5.7.1"
text = "Go away"

[[rule]]
recipient = "hangup@*"
verdict = "DISCONNECT"

[[rule]]
recipient = "softbye@*"
verdict = "DENYSOFTDISCONNECT"
factory = "mbox_full"

[[rule]]
recipient = "hard@*"
verdict = "DENYDISCONNECT"

[[rule]]
recipient = "valid@*"
verdict = "OK"
factory = "addr_rcpt_ok"

[[rule]]
recipient = "skip@*"
verdict = "CONT"
factory = "no_such_user"

[[rule]]
recipient = "skip@*"
verdict = "DENY"
factory = "mbox_disabled"

[[rule]]
recipient = "grey@*"
then = "delay"
code = 451
status = "4.7.1"
text = "Greylisted, try again later"
retry_for = "1d12h"

[[rule]]
recipient = "gone@*"
then = "bounce"
factory = "mbox_disabled"
"""

R = {"rules": RULES}

# --- address forms ------------------------------------------------------------------------

#: (slug, the text after "FROM:" / "TO:"), each tried at MAIL and at RCPT in one session.
ADDRESSES: list[tuple[str, str]] = [
    ("plain", "<a@x.test>"),
    ("no_brackets", "a@x.test"),
    ("space_after_colon", " <a@x.test>"),
    ("trailing_space", "<a@x.test> "),
    ("postmaster", "<Postmaster>"),
    ("domain_only", "<x.test>"),
    ("quoted_local_part", '<"a b"@x.test>'),
    ("quoted_pair", '<"a\\"b"@x.test>'),
    ("address_literal", "<a@[127.0.0.1]>"),
    ("ipv6_literal", "<a@[IPv6:::1]>"),
    ("source_route", "<@r1.test,@r2.test:a@x.test>"),
    ("unquoted_space", "<x y@example.com>"),
    ("unclosed", "<a@x.test"),
    ("double_brackets", "<<a@x.test>>"),
    ("trailing_junk", "<a@x.test>junk"),
    ("comment", "<a@x.test> (comment)"),
    ("at_at", "<@@>"),
    ("no_domain", "a@"),
    ("plus_at", "+@"),
    ("no_local_part", "<@x.test>"),
    ("leading_dot", "<.a@x.test>"),
    ("double_dot", "<a..b@x.test>"),
    ("local_part_65", "<" + "l" * 65 + "@x.test>"),
    ("domain_256", "<a@" + ".".join(["d" * 63] * 4) + "d.test>"),
    ("non_ascii", "<café@x.test>"),
    ("null_path", "<>"),
]

#: Characters that are not printable, in the middle of an address.
NON_PRINTABLE = ["\x01", "\x7f", "\x85", "\u2028", "\u200b", "\xa0"]


def address_sessions() -> list[Session]:
    """Each form at MAIL, then (after RSET) at RCPT, so each reply stands on its own."""
    out = [
        session(f"address.{slug}", EHLO, f"MAIL FROM:{text}", "RSET", MAIL, f"RCPT TO:{text}",
                QUIT)
        for slug, text in ADDRESSES
    ]
    bad = [f"<a{ch}b@x.test>" for ch in NON_PRINTABLE]
    out += [
        session("address.non_printable", EHLO, *[f"MAIL FROM:{a}" for a in bad], MAIL,
                *[f"RCPT TO:{a}" for a in bad], QUIT),
        session(
            "address.smtputf8",
            EHLO,
            "MAIL FROM:<jöran@exämple.test> SMTPUTF8",
            "RCPT TO:<ñandú@example.org>",
            "DATA",
            BODY,
            QUIT,
        ),
        session("address.keyword_forms", EHLO, "MAIL FROM :<a@x.test>", "MAIL  FROM:<a@x.test>",
                "RSET", "mail from:<a@x.test>", "RSET", "Mail From:<a@x.test>",
                "rcpt TO:<b@x.test>", QUIT),
        session("address.rcpt_null_with_params", EHLO, MAIL, "RCPT TO:<> NOTIFY=NEVER", QUIT),
        session("address.missing", EHLO, "MAIL", "MAIL TO:<a@x.test>", "MAIL FROM:", MAIL, "RCPT",
                "RCPT FROM:<a@x.test>", "RCPT TO:", QUIT),
    ]
    return out


# --- the sessions -----------------------------------------------------------------------------


def basics() -> list[Session]:
    return [
        session("basics.quit", QUIT),
        session("basics.quit_with_argument", "QUIT now", QUIT),
        session("basics.ehlo", EHLO, QUIT),
        session("basics.helo", HELO, QUIT),
        session("basics.greeting_without_name", "HELO", "EHLO", "EHLO  ", QUIT),
        session("basics.ehlo_address_literal", "EHLO [127.0.0.1]", QUIT),
        session("basics.ehlo_odd_names", "EHLO bäd.test", "EHLO a\x01b", "EHLO two words",
                "HELO a_b", QUIT),
        session("basics.quit_then_more", pipe(QUIT, "NOOP", replies=2)),
        session("basics.lowercase_commands", "ehlo client.test", "mail from:<a@x.test>",
                "rcpt to:<b@x.test>", "data", BODY, "quit"),
        session("basics.transaction", EHLO, MAIL, RCPT, "DATA", BODY, QUIT),
        session("basics.two_transactions", EHLO, MAIL, RCPT, "DATA", BODY,
                "MAIL FROM:<carol@example.com>", "RCPT TO:<dave@example.org>", "DATA", BODY,
                QUIT),
        session("basics.helo_transaction", HELO, MAIL, RCPT, "DATA", BODY, QUIT),
        session("basics.helo_then_params", HELO, "MAIL FROM:<a@x.test> SIZE=10",
                "MAIL FROM:<a@x.test> RET=FULL", MAIL, "RCPT TO:<b@x.test> NOTIFY=NEVER",
                QUIT),
        session("basics.ehlo_resets_transaction", EHLO, MAIL, RCPT, "EHLO again.test",
                "DATA", RCPT, MAIL, RCPT, QUIT),
        session("basics.helo_after_ehlo", EHLO, HELO, "MAIL FROM:<a@x.test> BODY=8BITMIME",
                MAIL, QUIT),
        session("basics.noop_rset", "NOOP", "NOOP anything at all", "RSET", "RSET now", EHLO,
                "NOOP", "RSET", QUIT),
        session("basics.rset_clears_transaction", EHLO, MAIL, RCPT, "RSET", RCPT, "DATA", MAIL,
                RCPT, QUIT),
        session("basics.vrfy_expn", "VRFY <a@x.test>", EHLO, "VRFY", "VRFY <a@x.test>",
                "VRFY postmaster", "VRFY <@>", "VRFY +@", "VRFY <<a\x85\u2028b", "EXPN",
                "EXPN list", QUIT),
        session("basics.help", "HELP", EHLO, "HELP", "HELP MAIL", "HELP rcpt", "HELP DATA",
                "HELP FOO", "HELP MAIL RCPT", QUIT),
        session("basics.starttls_and_auth", EHLO, "STARTTLS", "STARTTLS now", "AUTH PLAIN",
                "AUTH", "AUTH LOGIN", "AUTH PLAIN AHVzZXIAcGFzcw==", MAIL, QUIT),
        session("basics.auth_before_ehlo", "AUTH PLAIN", HELO, "AUTH PLAIN", QUIT),
        session("basics.turn_and_other_verbs", EHLO, "TURN", "ETRN x.test", "BDAT 10 LAST",
                "SEND FROM:<a@x.test>", QUIT),
    ]


def order() -> list[Session]:
    return [
        session("order.before_helo", MAIL, RCPT, "DATA", "NOOP", "RSET", QUIT),
        session("order.rcpt_before_mail", EHLO, RCPT, "DATA", QUIT),
        session("order.data_before_rcpt", EHLO, MAIL, "DATA", QUIT),
        session("order.nested_mail", EHLO, MAIL, "MAIL FROM:<carol@example.com>", RCPT, QUIT),
        session("order.data_after_refused_rcpt", EHLO, MAIL, "RCPT TO:<unknown@x.test>",
                "DATA", QUIT),
        session("order.data_with_argument", EHLO, MAIL, RCPT, "DATA now", "DATA", BODY, QUIT),
        session("order.mail_after_data", EHLO, MAIL, RCPT, "DATA", BODY, RCPT, "DATA", QUIT),
    ]


def unknown() -> list[Session]:
    return [
        session("unknown.bogus", "BOGUS", "bogus arg", EHLO, "NOOP", QUIT),
        session("unknown.empty_lines", "", "", "", "", "", "", "NOOP", QUIT),
        session("unknown.spaces_only", "   ", "NOOP", QUIT),
        session("unknown.leading_space", " NOOP", "NOOP ", QUIT),
        session("unknown.nul_in_verb", "NO\x00OP", "NOOP\x00x", "NOOP", QUIT),
        session("unknown.non_utf8", b"\xff\xfe\r\n", b"NOOP \xff\r\n", QUIT),
        session("unknown.five_bogus", "BOGUS0", "BOGUS1", "BOGUS2", "BOGUS3", "BOGUS4", "NOOP"),
        session("unknown.budget_not_reset", "BOGUS0", "BOGUS1", "NOOP", "BOGUS2", "BOGUS3",
                EHLO, "BOGUS4", "NOOP"),
        session("unknown.pipelined_noop_after_four_bad",
                pipe("BOGUS0", "BOGUS1", "BOGUS2", "BOGUS3", "NOOP\x00x", "NOOP")),
    ]


def _rcpt_line(total: int, *, domain: str = "x.test") -> str:
    """A RCPT with NOTIFY and an ORCPT padded so the line is ``total`` octets with CRLF."""
    head = f"RCPT TO:<{'r' * 64}@{domain}> NOTIFY=SUCCESS,DELAY,FAILURE ORCPT=rfc822;"
    pad = total - 2 - len(head) - len("@x.test")
    return head + "o" * pad + "@x.test"


def _long_domain(length: int) -> str:
    labels, left = [], length
    while left > 0:
        size = min(63, left)
        labels.append("d" * size)
        left -= size + 1
    return ".".join(labels)[:length].rstrip(".")


def lines() -> list[Session]:
    noop = "NOOP "
    longest_mail = f"MAIL FROM:<{'s' * 64}@{'d' * 180}.test> SIZE=100 RET=HDRS ENVID={'E' * 100}"
    longest_rcpt = _rcpt_line(802, domain=_long_domain(189))
    over_1036 = f"RCPT TO:<{'r' * 64}@{_long_domain(423)}> NOTIFY=SUCCESS,DELAY,FAILURE " \
        f"ORCPT=rfc822;{'o' * 486}@x.test"
    return [
        session("lines.command_512", EHLO, noop + "x" * 505, noop + "x" * 507, noop + "x" * 508,
                "NOOP", QUIT),
        session("lines.command_600_and_100000", EHLO, noop + "x" * 595, noop + "x" * 100_000,
                "X" * 1200, "NOOP", QUIT),
        session("lines.mail_2000", EHLO, "MAIL FROM:<" + "a" * 2000 + "@b.test>", MAIL, QUIT),
        session("lines.ehlo_5000", "EHLO " + "x" * 5000, EHLO, QUIT),
        session("lines.longest_mail", EHLO, longest_mail, QUIT),
        session("lines.longest_mail_after_helo", HELO, longest_mail.split(" SIZE")[0], QUIT),
        session("lines.longest_rcpt_802", EHLO, MAIL, longest_rcpt, QUIT),
        session("lines.rcpt_802_after_helo", HELO, MAIL, longest_rcpt, QUIT),
        session("lines.rcpt_1001_orcpt_too_long", EHLO, MAIL, _rcpt_line(1001), QUIT),
        session("lines.rcpt_1002_orcpt_too_long", EHLO, MAIL, _rcpt_line(1002), QUIT),
        session("lines.rcpt_1036_notify_orcpt", EHLO, MAIL, over_1036, QUIT),
        session("lines.rcpt_orcpt_1100", EHLO, MAIL, "RCPT TO:<a@b.test> ORCPT=rfc822;"
                + "x" * 1100, QUIT),
        session("lines.bare_lf", EHLO, b"NOOP\n", b"MAIL FROM:<a@x.test>\n", QUIT),
        session("lines.cr_inside", EHLO, b"NOOP\rx\r\n", b"NOOP x\ry\r\n", QUIT),
        session("lines.tab_separator", EHLO, "MAIL\tFROM:<a@x.test>", "NOOP\tx", QUIT),
    ]


def dsn() -> list[Session]:
    return [
        session(
            "dsn.parameters_accepted",
            EHLO,
            "MAIL FROM:<s@x.test> RET=full ENVID=AbC+2Bx",
            "RCPT TO:<r1@x.test> NOTIFY=success,Delay ORCPT=rfc822;R1+2B@X",
            "RCPT TO:<r2@x.test> orcpt=UTF-8;j\\x{F6}ran@X",
            "RCPT TO:<r3@x.test> NOTIFY=NEVER",
            "RCPT TO:<r4@x.test> notify=FAILURE ORCPT=rfc822;r4@x.test",
            "DATA",
            BODY,
            QUIT,
        ),
        session(
            "dsn.mail_parameters_refused",
            EHLO,
            "MAIL FROM:<a@x.test> RET=ALL",
            "MAIL FROM:<a@x.test> RET",
            "MAIL FROM:<a@x.test> RET=FULL ret=HDRS",
            "MAIL FROM:<a@x.test> ENVID=" + "x" * 101,
            "MAIL FROM:<a@x.test> ENVID=a+0Db",
            "MAIL FROM:<a@x.test> ENVID=a+zz",
            "MAIL FROM:<a@x.test> ENVID=\x01",
            "MAIL FROM:<a@x.test> ENVID=",
            "MAIL FROM:<a@x.test> ENVID=a ENVID=b",
            "MAIL FROM:<a@x.test> RET=HDRS",
            QUIT,
        ),
        session(
            "dsn.rcpt_parameters_refused",
            EHLO,
            MAIL,
            "RCPT TO:<r@x.test> NOTIFY=NEVER,SUCCESS",
            "RCPT TO:<r@x.test> NOTIFY=SOMETIMES",
            "RCPT TO:<r@x.test> NOTIFY=SUCCESS NOTIFY=FAILURE",
            "RCPT TO:<r@x.test> NOTIFY=",
            "RCPT TO:<r@x.test> ORCPT=a@b",
            "RCPT TO:<r@x.test> ORCPT=utf-8;a\\b",
            "RCPT TO:<r@x.test> ORCPT=rfc822;" + "a" * 495,
            "RCPT TO:<r@x.test> ORCPT=rfc822;a+zz",
            "RCPT TO:<r@x.test> ORCPT=;a@b",
            "RCPT TO:<r@x.test> ORCPT=rfc822;a@b ORCPT=rfc822;c@d",
            "DATA",
            "RCPT TO:<r@x.test> NOTIFY=FAILURE",
            QUIT,
        ),
        session(
            "dsn.unknown_parameters",
            EHLO,
            "MAIL FROM:<a@x.test> FOO=1",
            "MAIL FROM:<a@x.test> NOTIFY=NEVER",
            "MAIL FROM:<a@x.test> =x",
            "MAIL FROM:<a@x.test> SIZE=10 SIZE=20",
            "MAIL FROM:<a@x.test> AUTH=<>",
            MAIL,
            "RCPT TO:<r@x.test> SIZE=1",
            "RCPT TO:<r@x.test> RET=FULL",
            "RCPT TO:<r@x.test> FOO",
            QUIT,
        ),
        session("dsn.notify_empty_element", EHLO, MAIL,
                "RCPT TO:<r@x.test> NOTIFY=SUCCESS,,FAILURE", QUIT),
        session("dsn.orcpt_rfc822_decodes_to_non_ascii", EHLO, MAIL,
                "RCPT TO:<r@x.test> ORCPT=rfc822;j+C3+B6ran@x.test", QUIT),
        session("dsn.orcpt_raw_utf8", EHLO, "MAIL FROM:<s@x.test> SMTPUTF8",
                "RCPT TO:<jöran@x.test> ORCPT=utf-8;Jöran@X.test",
                "RCPT TO:<b@x.test> ORCPT=rfc822;jöran@x.test",
                b"RCPT TO:<c@x.test> ORCPT=utf-8;a\xffb\r\n", QUIT),
        session("dsn.orcpt_unknown_type", EHLO, MAIL, "RCPT TO:<r@x.test> ORCPT=x-foo;bar",
                QUIT),
        session("dsn.envid_100", EHLO, "MAIL FROM:<a@x.test> ENVID=" + "x" * 100, QUIT),
    ]


def size_body() -> list[Session]:
    return [
        session(
            "size.values",
            EHLO,
            "MAIL FROM:<a@x.test> SIZE=abc",
            "MAIL FROM:<a@x.test> SIZE=",
            "MAIL FROM:<a@x.test> SIZE",
            "MAIL FROM:<a@x.test> SIZE=-1",
            "MAIL FROM:<a@x.test> SIZE=\u00b2",
            "MAIL FROM:<a@x.test> SIZE=\uff11",
            "MAIL FROM:<a@x.test> SIZE=10485761",
            "MAIL FROM:<a@x.test> SIZE=99999999999999999999999",
            "MAIL FROM:<a@x.test> SIZE=10485760",
            QUIT,
        ),
        session("size.zero_and_leading_zeros", EHLO, "MAIL FROM:<a@x.test> SIZE=000012", "RSET",
                "MAIL FROM:<a@x.test> SIZE=0", QUIT),
        session(
            "body.parameters",
            EHLO,
            "MAIL FROM:<a@x.test> BODY=9BIT",
            "MAIL FROM:<a@x.test> BODY",
            "MAIL FROM:<a@x.test> BODY=BINARYMIME",
            "MAIL FROM:<a@x.test> SMTPUTF8=yes",
            "MAIL FROM:<a@x.test> BODY=7bit",
            "RSET",
            "MAIL FROM:<a@x.test> BODY=8BITMIME SMTPUTF8",
            QUIT,
        ),
    ]


MAX_SIZE = ("--max-size", "1000")


def size_limit() -> list[Session]:
    big = b"Subject: big\r\n\r\n" + (b"y" * 500 + b"\r\n") * 3 + b".\r\n"
    return [
        session("maxsize.ehlo_and_size_param", EHLO, "MAIL FROM:<a@x.test> SIZE=1000", "RSET",
                "MAIL FROM:<a@x.test> SIZE=1001", QUIT, options=MAX_SIZE),
        session("maxsize.too_much_data", EHLO, MAIL, RCPT, "DATA", big, MAIL, RCPT, "DATA", BODY,
                QUIT, options=MAX_SIZE),
    ]


def data() -> list[Session]:
    def tx(name: str, *body: Item) -> Session:
        return session(f"data.{name}", EHLO, MAIL, RCPT, "DATA", *body, QUIT)

    return [
        tx("dot_stuffing", b"Subject: dots\r\n\r\n..one dot\r\n...two\r\n. \r\n.x\r\n.\r\n"),
        tx("empty_message", b".\r\n"),
        tx("headers_only", b"Subject: x\r\n.\r\n"),
        tx("line_998", b"Subject: x\r\n\r\n" + b"z" * 998 + b"\r\n.\r\n"),
        tx("line_999", b"Subject: x\r\n\r\n" + b"z" * 999 + b"\r\n.\r\n"),
        tx("line_1000", b"Subject: x\r\n\r\n" + b"z" * 1000 + b"\r\n.\r\n", MAIL),
        tx("line_1001", b"Subject: x\r\n\r\n" + b"z" * 1001 + b"\r\n.\r\n", MAIL),
        tx("line_5000", b"Subject: x\r\n\r\n" + b"z" * 5000 + b"\r\n.\r\n", MAIL, RCPT),
        tx("eight_bit_and_nul", b"Subject: bin\r\n\r\n\x00\x01\xff\xfe caf\xc3\xa9\r\n.\r\n"),
        tx("bare_lf_and_cr", b"Subject: x\r\n\r\na\nb\rc\r\n\n.\n\r.\r\r\n.\r\n"),
        tx("commands_inside", b"Subject: x\r\n\r\nMAIL FROM:<x@y>\r\nQUIT\r\n.\r\n", "NOOP"),
        session("data.eight_bit_with_body_param", EHLO, "MAIL FROM:<a@x.test> BODY=8BITMIME",
                RCPT, "DATA", "Subject: ü\r\n\r\nGrüße\r\n.\r\n".encode(), QUIT),
    ]


def rules_default() -> list[Session]:
    return [
        session("rules_default.recipients", EHLO, MAIL, "RCPT TO:<unknown@x.test>",
                "RCPT TO:<Full@X.TEST>", "RCPT TO:<disabled@x.test>", "RCPT TO:<UNKNOWN@x.test>",
                "RCPT TO:<anyone@x.test>", "DATA", BODY, QUIT),
        session("rules_default.all_refused", EHLO, MAIL, "RCPT TO:<unknown@x.test>", "DATA",
                QUIT),
        session("rules_default.blocked_sender", EHLO, "MAIL FROM:<s@blocked.test>", "NOOP"),
        session("rules_default.blocked_recipient", EHLO, MAIL, RCPT, "RCPT TO:<r@Blocked.Test>",
                "NOOP"),
        session("rules_default.bounce_and_delay", EHLO,
                "MAIL FROM:<alice@example.com> RET=HDRS ENVID=QQ314159",
                "RCPT TO:<bounce@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;Bob@Example.org",
                "RCPT TO:<delay@example.org>", "RCPT TO:<other@example.org>", "DATA", BODY,
                QUIT),
        session("rules_default.null_sender_bounce", EHLO, "MAIL FROM:<>",
                "RCPT TO:<bounce@example.org>", "DATA", BODY, QUIT),
        session("rules_default.recipient_repeated", EHLO, MAIL, RCPT, RCPT,
                "RCPT TO:<unknown@x.test>", "RCPT TO:<unknown@x.test>", "DATA", BODY,
                QUIT),
    ]


def rules_custom() -> list[Session]:
    return [
        session("rules.sender_deny", EHLO, "MAIL FROM:<a@spam.test>", "MAIL FROM:<a@SPAM.test>",
                MAIL, RCPT, QUIT, **R),
        session("rules.sender_denysoft", EHLO, "MAIL FROM:<soft@x.test>", MAIL, QUIT, **R),
        session("rules.sender_disconnect", EHLO, "MAIL FROM:<bye@x.test>", "NOOP", **R),
        session("rules.sender_ok", EHLO, "MAIL FROM:<okay@x.test>", RCPT, QUIT, **R),
        session("rules.address_rule", EHLO, "MAIL FROM:<a@both.test>", MAIL,
                "RCPT TO:<b@both.test>", QUIT, **R),
        session("rules.recipient_replies", EHLO, MAIL, "RCPT TO:<later@x.test>",
                "RCPT TO:<quota@x.test>", "RCPT TO:<multi@x.test>", "RCPT TO:<soft-deny@x.test>",
                "RCPT TO:<valid@x.test>", "RCPT TO:<skip@x.test>", "RCPT TO:<unknown@x.test>",
                "RCPT TO:<x@spam.test>", "DATA", BODY, QUIT, **R),
        session("rules.disconnect_221", EHLO, MAIL, "RCPT TO:<goodbye@x.test>", "NOOP", **R),
        session("rules.disconnect_5xx", EHLO, MAIL, "RCPT TO:<slam@x.test>", "NOOP", **R),
        session("rules.disconnect_default", EHLO, MAIL, "RCPT TO:<hangup@x.test>", "NOOP", **R),
        session("rules.denysoftdisconnect", EHLO, MAIL, "RCPT TO:<softbye@x.test>", "NOOP", **R),
        session("rules.denydisconnect", EHLO, MAIL, "RCPT TO:<hard@x.test>", "NOOP", **R),
        session("rules.then_delay_and_bounce", EHLO, MAIL, "RCPT TO:<grey@x.test>",
                "RCPT TO:<gone@x.test> NOTIFY=NEVER", "RCPT TO:<gone@y.test>", "DATA", BODY,
                QUIT, **R),
        session("rules.pipelined_disconnect", EHLO,
                pipe(MAIL, "RCPT TO:<a@x.test>", "RCPT TO:<hard@x.test>", "RCPT TO:<b@x.test>",
                     "DATA"), **R),
    ]


MAX_RCPT = ("--max-recipients", "2")
PLUGIN = ("--plugin", "tests.server_support:ExamplePlugin")


def options() -> list[Session]:
    return [
        session("maxrcpt.limit", EHLO, MAIL, "RCPT TO:<unknown@x.test>", "RCPT TO:<b@x.test>",
                "RCPT TO:<c@x.test>", "RCPT TO:<d@x.test>", "RCPT TO:<b@x.test>", "DATA", BODY,
                MAIL, "RCPT TO:<e@x.test>", QUIT, options=MAX_RCPT),
        session("plugin.rcpt_refused", EHLO, MAIL, "RCPT TO:<plugin-says-no@x.test>",
                "RCPT TO:<unknown@x.test>", RCPT, "DATA", BODY, QUIT,
                options=PLUGIN),
    ]


def pipelining() -> list[Session]:
    return [
        session(
            "pipelining.transaction",
            pipe(
                "EHLO x",
                "MAIL FROM:<a@b> RET=HDRS",
                "RCPT TO:<ok@x>",
                "RCPT TO:<unknown@x>",
                "RCPT TO:<full@x>",
                "RCPT TO:<bad@x> NOTIFY=NEVER,DELAY",
                "DATA",
            ),
            pipe(b"Subject: p\r\n\r\nx\r\n.\r\n", "MAIL FROM:<c@d>", "RCPT TO:<e@f>", QUIT),
        ),
        session(
            "pipelining.everything_at_once",
            pipe(EHLO, MAIL, RCPT, "DATA", BODY, "NOOP", QUIT),
        ),
        session(
            "pipelining.errors_in_between",
            pipe(EHLO, "BOGUS", MAIL, "MAIL FROM:<x@x.test>", "RCPT TO:<>", RCPT, "DATA x",
                 "RSET", "DATA", QUIT),
        ),
        session("pipelining.refused_data", pipe(EHLO, MAIL, "RCPT TO:<unknown@x.test>", "DATA"),
                b"Subject: not data\r\n", QUIT),
    ]


def half_close() -> list[Session]:
    tx = (EHLO, MAIL, RCPT, "DATA")
    return [
        session("halfclose.after_dot", *tx, raw(BODY, shutdown=True)),
        session("halfclose.after_dot_and_quit", *tx, raw(BODY + b"QUIT\r\n", replies=2,
                                                        shutdown=True)),
        session("halfclose.after_quit", EHLO, raw(b"QUIT\r\n", shutdown=True)),
        session("halfclose.after_noop", EHLO, raw(b"NOOP\r\n", shutdown=True)),
        session("halfclose.pipelined_commands",
                raw(b"EHLO client.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\n",
                    replies=3, shutdown=True)),
        session("halfclose.partial_command", EHLO, raw(b"NOOP", shutdown=True)),
    ]


TIMEOUT = ("--timeout", "1")


def timeout() -> list[Session]:
    return [
        session("timeout.idle_after_greeting", WAIT, options=TIMEOUT),
        session("timeout.idle_in_transaction", EHLO, MAIL, WAIT, options=TIMEOUT),
        session("timeout.idle_in_data", EHLO, MAIL, RCPT, "DATA", b"Subject: x\r\n",
                options=TIMEOUT),
    ]


SESSIONS: list[Session] = [
    *basics(),
    *order(),
    *unknown(),
    *lines(),
    *address_sessions(),
    *dsn(),
    *size_body(),
    *size_limit(),
    *data(),
    *rules_default(),
    *rules_custom(),
    *options(),
    *pipelining(),
    *half_close(),
    *timeout(),
]


