"""build_report: message structure, NOTIFY / RET / null-sender rules, ENVID and ORCPT,
RFC 6533 global types, injection safety, line lengths, exact errors, and round trips
through bytes and the standard library parser."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage, Message

import pytest

from smtpdsn.dsnparams import MailParams, RcptParams
from smtpdsn.reply import Reply
from smtpdsn.report import (
    Action,
    InvalidReportError,
    RecipientOutcome,
    TypedValue,
    build_report,
    compose_report,
    parse_reports,
)
from smtpdsn.status import EnhancedStatus

ORIGINAL = (
    b"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hello\r\n"
    b"Message-ID: <m1@example.com>\r\n\r\nHi Bob,\r\nsee you.\r\n"
)
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NO_SUCH_USER = Reply(550, "5.1.1", "No such user")


def build(
    outcomes: list[RecipientOutcome], **kwargs: object
) -> EmailMessage:
    args: dict[str, object] = {
        "sender": "alice@example.com",
        "reporting_mta": "mx.example.net",
        "date": WHEN,
    }
    args.update(kwargs)
    msg = build_report(ORIGINAL, outcomes, **args)  # type: ignore[arg-type]
    assert msg is not None
    return msg


def parts(msg: Message) -> list[str]:
    payload = msg.get_payload()
    assert isinstance(payload, list)
    return [part.get_content_type() for part in payload if isinstance(part, Message)]


def reparse(msg: EmailMessage) -> Message:
    return email.message_from_bytes(bytes(msg))


class TestStructure:
    def test_headers_and_parts(self) -> None:
        msg = build([RecipientOutcome("bob@example.org", NO_SUCH_USER)])
        assert msg["From"] == "Mail Delivery System <MAILER-DAEMON@mx.example.net>"
        assert msg["To"] == "alice@example.com"
        assert msg["Subject"] == "Undelivered Mail Returned to Sender"
        assert msg["Date"] == "Fri, 02 Jan 2026 03:04:05 +0000"
        assert msg["Auto-Submitted"] == "auto-replied"
        assert msg["Message-ID"].endswith("@mx.example.net>")
        assert msg.get_content_type() == "multipart/report"
        assert msg.get_param("report-type") == "delivery-status"
        assert parts(msg) == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
        data = bytes(msg)
        assert data == msg.as_bytes()
        assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")

    def test_human_readable_part_explains_from_the_registry(self) -> None:
        msg = build([RecipientOutcome("bob@example.org", NO_SUCH_USER)])
        text = reparse(msg).get_payload(0)
        assert isinstance(text, Message)
        body = text.get_payload(decode=True)
        assert isinstance(body, bytes)
        words = body.decode()
        assert "<bob@example.org>: your message could not be delivered." in words
        assert "Bad destination" in words and "mailbox address" in words
        assert "The mailbox specified in the address does not exist." in words
        assert "550 5.1.1 No such user" in words

    def test_headers_only_by_default_and_full_message_for_ret_full(self) -> None:
        outcome = RecipientOutcome("bob@example.org", NO_SUCH_USER)
        headers = reparse(build([outcome])).get_payload(2)
        assert isinstance(headers, Message)
        assert headers.get_payload() == (
            "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hello\r\n"
            "Message-ID: <m1@example.com>\r\n"
        )
        full = build([outcome], mail_params=MailParams(ret="FULL"))
        assert parts(full)[2] == "message/rfc822"
        assert ORIGINAL in bytes(full)
        hdrs = build([outcome], mail_params=MailParams(ret="HDRS"))
        assert parts(hdrs)[2] == "text/rfc822-headers"
        assert b"Hi Bob" not in bytes(hdrs)

    def test_ret_full_returns_only_headers_in_a_report_without_failures(self) -> None:
        delayed = RecipientOutcome("bob@example.org", Reply(451, "4.4.1", "try later"))
        msg = build([delayed], mail_params=MailParams(ret="FULL"))
        assert parts(msg)[2] == "text/rfc822-headers"
        assert msg["Subject"] == "Delayed Mail (still being retried)"

    def test_original_given_as_a_message_and_with_lf_endings(self) -> None:
        outcome = RecipientOutcome("bob@example.org", NO_SUCH_USER)
        lf = ORIGINAL.replace(b"\r\n", b"\n")
        for original in (lf, email.message_from_bytes(lf)):
            msg = build_report(
                original, [outcome], sender="a@example.com", reporting_mta="mx.example.net",
                mail_params=MailParams(ret="FULL"),
            )
            assert msg is not None and ORIGINAL in bytes(msg)

    def test_the_stdlib_parser_reads_the_delivery_status_blocks(self) -> None:
        msg = build([RecipientOutcome("bob@example.org", NO_SUCH_USER)])
        status = reparse(msg).get_payload(1)
        assert isinstance(status, Message)
        blocks = status.get_payload()
        assert isinstance(blocks, list)
        assert [dict(b.items()) for b in blocks if isinstance(b, Message)] == [
            {"Reporting-MTA": "dns; mx.example.net"},
            {
                "Final-Recipient": "rfc822; bob@example.org",
                "Action": "failed",
                "Status": "5.1.1",
                "Diagnostic-Code": "smtp; 550 5.1.1 No such user",
            },
        ]

    def test_records_come_back_equal(self) -> None:
        outcomes = [
            RecipientOutcome(
                "bob@example.org",
                Reply(550, "5.1.1", ["No such user", "here"]),
                params=RcptParams(orcpt=("rfc822", "Bob@Example.org")),
                remote_mta="mail.example.org",
                last_attempt_date=datetime(2026, 1, 2, 3, 0, 59, 999, tzinfo=UTC),
                final_log_id="queue 1234",
                extensions=[("X-Attempts", "3")],
            ),
            RecipientOutcome(
                "carol@example.org",
                action=Action.DELAYED,
                status="4.4.1",
                will_retry_until=datetime(2026, 1, 5, tzinfo=timezone(timedelta(hours=-5))),
            ),
        ]
        kwargs: dict[str, object] = {
            "sender": "alice@example.com",
            "reporting_mta": "mx.example.net",
            "mail_params": MailParams(envid="ENV-42"),
            "arrival_date": WHEN,
            "received_from_mta": "client.example.com",
            "dsn_gateway": TypedValue("x-gateway", "gw.example.net"),
            "extensions": [("X-Queue-ID", "ABC")],
        }
        expected = compose_report(outcomes, **kwargs)  # type: ignore[arg-type]
        msg = build_report(ORIGINAL, outcomes, **kwargs)  # type: ignore[arg-type]
        assert msg is not None and expected is not None
        [got] = parse_reports(bytes(msg), strict=True)
        assert got == expected
        assert got.original_envelope_id == "ENV-42"
        assert got.dsn_gateway == TypedValue("x-gateway", "gw.example.net")
        assert got.received_from_mta == TypedValue("dns", "client.example.com")
        assert got.arrival_date == WHEN
        assert got.extensions == [("X-Queue-ID", "ABC")]
        assert got.recipients[0].original_recipient == TypedValue("rfc822", "Bob@Example.org")
        assert got.recipients[0].diagnostic_reply == Reply(550, "5.1.1", ["No such user", "here"])
        assert got.recipients[1].action is Action.DELAYED
        assert parse_reports(msg) == [expected]


class TestOutcomes:
    @pytest.mark.parametrize(
        ("reply", "action", "status"),
        [
            (Reply(550, "5.1.1", "x"), Action.FAILED, "5.1.1"),
            (Reply(550, None, "x"), Action.FAILED, "5.0.0"),
            (Reply(452, "4.2.2", "x"), Action.DELAYED, "4.2.2"),
            (Reply(250, "2.1.5", "x"), Action.DELIVERED, "2.1.5"),
        ],
    )
    def test_action_and_status_from_a_reply(
        self, reply: Reply, action: Action, status: str
    ) -> None:
        report = compose_report(
            [RecipientOutcome("b@example.org", reply, params=RcptParams(notify=frozenset(
                {"SUCCESS", "DELAY", "FAILURE"})))],
            sender="a@example.com", reporting_mta="mx.example.net",
        )
        assert report is not None
        rcpt = report.recipients[0]
        assert (rcpt.action, str(rcpt.status)) == (action, status)
        assert rcpt.diagnostic_code == TypedValue("smtp", str(reply))

    def test_explicit_values_win_and_a_4xx_can_fail(self) -> None:
        report = compose_report(
            [RecipientOutcome("b@example.org", Reply(451, "4.4.1", "x"), action=Action.FAILED,
                              diagnostic=TypedValue("X-Local", "gave up after 5 days"))],
            sender="a@example.com", reporting_mta="mx.example.net",
        )
        assert report is not None
        rcpt = report.recipients[0]
        assert (rcpt.action, str(rcpt.status)) == (Action.FAILED, "4.4.1")
        assert rcpt.diagnostic_code == TypedValue("x-local", "gave up after 5 days")

    def test_status_only_and_action_only(self) -> None:
        report = compose_report(
            [RecipientOutcome("b@example.org", status=EnhancedStatus.parse("5.7.1")),
             RecipientOutcome("c@example.org", action=Action.FAILED),
             RecipientOutcome("d@example.org", status="5.6.10")],
            sender="a@example.com", reporting_mta="mx.example.net",
        )
        assert report is not None
        assert [(r.action, str(r.status)) for r in report.recipients] == [
            (Action.FAILED, "5.7.1"), (Action.FAILED, "5.0.0"), (Action.FAILED, "5.6.8")
        ]


NOTIFY_CASES = [
    # (NOTIFY, action, reported?)
    (None, Action.FAILED, True),
    (None, Action.DELAYED, True),
    (None, Action.DELIVERED, False),
    (frozenset({"NEVER"}), Action.FAILED, False),
    (frozenset({"NEVER"}), Action.DELAYED, False),
    (frozenset({"FAILURE"}), Action.FAILED, True),
    (frozenset({"FAILURE"}), Action.DELAYED, False),
    (frozenset({"DELAY"}), Action.FAILED, False),
    (frozenset({"DELAY"}), Action.DELAYED, True),
    (frozenset({"SUCCESS"}), Action.DELIVERED, True),
    (frozenset({"SUCCESS"}), Action.RELAYED, True),
    (frozenset({"SUCCESS"}), Action.EXPANDED, True),
    (frozenset({"SUCCESS"}), Action.FAILED, False),
    (frozenset({"FAILURE", "DELAY"}), Action.DELIVERED, False),
]


class TestRules:
    @pytest.mark.parametrize(("notify", "action", "reported"), NOTIFY_CASES)
    def test_notify(self, notify: frozenset[str] | None, action: Action, reported: bool) -> None:
        outcome = RecipientOutcome("b@example.org", action=action, params=RcptParams(notify=notify))
        msg = build_report(ORIGINAL, [outcome], sender="a@example.com",
                           reporting_mta="mx.example.net")
        assert (msg is not None) == reported

    def test_only_the_recipients_that_asked_are_reported(self) -> None:
        never = RcptParams(notify=frozenset({"NEVER"}))
        msg = build([RecipientOutcome("b@example.org", NO_SUCH_USER, params=never),
                     RecipientOutcome("c@example.org", NO_SUCH_USER)])
        [report] = parse_reports(bytes(msg))
        assert [str(r.final_recipient) for r in report.recipients] == ["rfc822; c@example.org"]

    def test_default_notify_can_be_changed(self) -> None:
        delayed = RecipientOutcome("b@example.org", action=Action.DELAYED)
        assert build_report(ORIGINAL, [delayed], sender="a@example.com",
                            reporting_mta="mx.example.net",
                            default_notify=frozenset({"FAILURE"})) is None

    @pytest.mark.parametrize("sender", ["", "<>"])
    def test_no_dsn_for_a_null_sender(self, sender: str) -> None:
        outcome = RecipientOutcome("b@example.org", NO_SUCH_USER)
        assert build_report(ORIGINAL, [outcome], sender=sender,
                            reporting_mta="mx.example.net") is None

    def test_no_outcomes_no_dsn(self) -> None:
        assert build_report(ORIGINAL, [], sender="a@example.com",
                            reporting_mta="mx.example.net") is None


class TestGlobal:
    def test_non_ascii_recipient_makes_a_global_report(self) -> None:
        msg = build([RecipientOutcome("jöran@exämple.com", NO_SUCH_USER,
                                      params=RcptParams(orcpt=("utf-8", "Jöran@exämple.com")))],
                    mail_params=MailParams(ret="FULL"))
        assert parts(msg) == ["text/plain", "message/global-delivery-status", "message/global"]
        assert msg.policy == email.policy.SMTPUTF8
        [report] = parse_reports(bytes(msg), strict=True)
        assert report.is_global
        rcpt = report.recipients[0]
        assert rcpt.final_recipient == TypedValue("utf-8", "jöran@exämple.com")
        assert rcpt.original_recipient == TypedValue("utf-8", "Jöran@exämple.com")
        assert rcpt.final_recipient.address == "jöran@exämple.com"

    def test_headers_only_global(self) -> None:
        msg = build([RecipientOutcome("b@example.org", NO_SUCH_USER)], sender="jöran@exämple.com")
        assert parts(msg) == ["text/plain", "message/global-delivery-status",
                              "message/global-headers"]
        assert "jöran@exämple.com".encode() in bytes(msg)

    def test_non_ascii_headers_in_the_original(self) -> None:
        original = "Subject: grüße\r\n\r\nbody\r\n".encode()
        msg = build_report(original, [RecipientOutcome("b@example.org", NO_SUCH_USER)],
                           sender="a@example.com", reporting_mta="mx.example.net")
        assert msg is not None
        assert parts(msg)[1:] == ["message/global-delivery-status", "message/global-headers"]
        assert parse_reports(bytes(msg))[0].is_global

    def test_ascii_report_stays_plain(self) -> None:
        msg = build([RecipientOutcome("b@example.org", NO_SUCH_USER)])
        assert msg.policy == email.policy.SMTP
        assert bytes(msg).isascii()


class TestWithoutSmtputf8:
    """smtputf8=False: the RFC 6533 downgrade, a report that needs no SMTPUTF8."""

    def test_addresses_become_utf8_addr_xtext(self) -> None:
        outcome = RecipientOutcome(
            "jöran@exämple.com", Reply(550, "5.1.1", "Kein Empfänger", utf8=True),
            params=RcptParams(orcpt=("utf-8", "Jöran@exämple.com")),
        )
        msg = build([outcome], smtputf8=False)
        data = bytes(msg)
        assert data.isascii()
        assert parts(msg) == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
        [report] = parse_reports(data, strict=True)
        assert not report.is_global
        rcpt = report.recipients[0]
        assert rcpt.final_recipient == TypedValue("utf-8", "j\\x{F6}ran@ex\\x{E4}mple.com")
        assert rcpt.final_recipient.address == "jöran@exämple.com"
        assert rcpt.original_recipient == TypedValue("utf-8", "J\\x{F6}ran@ex\\x{E4}mple.com")
        assert rcpt.diagnostic_code == TypedValue("smtp", "550 5.1.1 Kein Empfanger")

    def test_utf8_headers_are_returned_quoted_printable_and_never_in_full(self) -> None:
        original = "From: Jöran <j@example.com>\r\nSubject: grüße\r\n\r\nbody é\r\n".encode()
        msg = build_report(original, [RecipientOutcome("b@example.org", NO_SUCH_USER)],
                           sender="a@example.com", reporting_mta="mx.example.net",
                           mail_params=MailParams(ret="FULL"), smtputf8=False)
        assert msg is not None
        data = bytes(msg)
        assert data.isascii()
        returned = reparse(msg).get_payload(2)
        assert isinstance(returned, Message)
        assert returned.get_content_type() == "text/rfc822-headers"
        assert returned["Content-Transfer-Encoding"] == "quoted-printable"
        assert returned.get_payload(decode=True) == original.split(b"\r\n\r\n")[0] + b"\r\n"

    def test_a_non_ascii_sender_needs_smtputf8(self) -> None:
        with pytest.raises(InvalidReportError) as info:
            build([RecipientOutcome("b@example.org", NO_SUCH_USER)], sender="jö@example.com",
                  smtputf8=False)
        assert str(info.value) == (
            "the envelope sender 'jö@example.com' is not ASCII: a report to it needs SMTPUTF8"
        )

    def test_ascii_reports_are_the_same_either_way(self) -> None:
        outcome = RecipientOutcome("b@example.org", NO_SUCH_USER)
        kwargs: dict[str, object] = {"sender": "a@example.com", "reporting_mta": "mx.example.net"}
        assert compose_report([outcome], **kwargs) == compose_report(  # type: ignore[arg-type]
            [outcome], smtputf8=False, **kwargs  # type: ignore[arg-type]
        )


class TestHarakaFaultsAvoided:
    """The outbound-bounce faults of Haraka (../shared/reference/haraka-behaviour.md)."""

    @pytest.mark.parametrize("status", ["5.7.26", "4.7.650", "5.1.10"])
    def test_multi_digit_enhanced_codes_give_a_status_field(self, status: str) -> None:
        code = 550 if status[0] == "5" else 450
        msg = build([RecipientOutcome("b@example.org", Reply(code, status, "refused"))])
        assert f"\r\nStatus: {status}\r\n".encode() in bytes(msg)
        assert str(parse_reports(bytes(msg))[0].recipients[0].status) == status

    def test_remote_mta_has_its_type(self) -> None:
        msg = build([RecipientOutcome("b@example.org", NO_SUCH_USER, remote_mta="mx.example.org")])
        assert b"\r\nRemote-MTA: dns; mx.example.org\r\n" in bytes(msg)

    def test_original_envelope_id_comes_only_from_envid(self) -> None:
        msg = build([RecipientOutcome("b@example.org", NO_SUCH_USER)])
        assert b"Original-Envelope-Id" not in bytes(msg)
        assert parse_reports(bytes(msg))[0].original_envelope_id is None
        with_envid = build([RecipientOutcome("b@example.org", NO_SUCH_USER)],
                           mail_params=MailParams(envid="E-1"))
        assert parse_reports(bytes(with_envid))[0].original_envelope_id == "E-1"

    def test_the_original_message_is_not_copied_into_the_status_part(self) -> None:
        original = b"Subject: x\r\nFinal-Recipient: rfc822; evil@example.com\r\n\r\nbody\r\n"
        msg = build_report(original, [RecipientOutcome("b@example.org", NO_SUCH_USER)],
                           sender="a@example.com", reporting_mta="mx.example.net")
        assert msg is not None
        [report] = parse_reports(bytes(msg), strict=True)
        assert [str(r.final_recipient) for r in report.recipients] == ["rfc822; b@example.org"]


class TestSafety:
    @pytest.mark.parametrize(
        ("field", "outcome", "kwargs"),
        [
            ("remote MTA", {"remote_mta": "mx\r\nBcc: x@y"}, {}),
            ("remote MTA", {"remote_mta": TypedValue("dns", "mx\nBcc: x@y")}, {}),
            ("diagnostic", {"diagnostic": "timed out\r\nBcc: victim@example.com"}, {}),
            ("diagnostic", {"diagnostic": TypedValue("x-unix", "a\rb")}, {}),
            ("final log ID", {"final_log_id": "id\nX-Evil: 1"}, {}),
            ("extension field X-A", {"extensions": [("X-A", "v\u2028X-Evil: 1")]}, {}),
            ("recipient", {"recipient": "b@example.org\r\nBcc: x@y"}, {}),
            ("recipient", {"recipient": "b\x00@example.org"}, {}),
            ("received-from MTA", {}, {"received_from_mta": "mx\x85Bcc: x"}),
            ("DSN gateway", {}, {"dsn_gateway": "gw\x0bBcc: x"}),
            ("extension field X-B", {}, {"extensions": [("X-B", "v\r\n")]}),
            ("reporting MTA name", {}, {"reporting_mta": "mx\r\nBcc: x@y"}),
            ("envelope sender", {}, {"sender": "a@example.com\r\nBcc: x@y"}),
            ("Message-ID", {}, {"message_id": "<a@b>\r\nBcc: x@y"}),
            ("status", {"status": "5.1.1\r\nBcc: x@y"}, {}),
            ("action", {"action": "failed\nBcc: x@y"}, {}),
            ("remote MTA type", {"remote_mta": TypedValue("dns\r\nBcc: x@y", "mx")}, {}),
            ("extension field name", {}, {"extensions": [("X-A\r\nBcc", "v")]}),
        ],
    )
    def test_every_field_refuses_line_breaks_the_same_way(
        self, field: str, outcome: dict[str, object], kwargs: dict[str, object]
    ) -> None:
        args: dict[str, object] = {"recipient": "b@example.org", "action": Action.FAILED}
        args.update(outcome)
        with pytest.raises(InvalidReportError) as info:
            build([RecipientOutcome(**args)], **kwargs)  # type: ignore[arg-type]
        assert str(info.value).startswith(f"the {field} ")
        assert "contains a line break or a control character" in str(info.value)

    def test_tabs_and_space_runs_in_free_text_become_single_spaces(self) -> None:
        msg = build([RecipientOutcome("b@example.org", action=Action.FAILED,
                                      diagnostic="timed\tout   here", final_log_id=" id  7 ")])
        [report] = parse_reports(bytes(msg), strict=True)
        assert report.recipients[0].diagnostic_code == TypedValue("smtp", "timed out here")
        assert report.recipients[0].final_log_id == "id 7"

    def test_orcpt_keeps_its_type_and_its_address_exactly(self) -> None:
        outcome = RecipientOutcome("b@example.org", NO_SUCH_USER,
                                   params=RcptParams(orcpt=("RFC822", "o r+c=p\\t@X.example")))
        data = bytes(build([outcome]))
        assert b"\r\nOriginal-Recipient: RFC822; o r+c=p\\t@X.example\r\n" in data
        [report] = parse_reports(data, strict=True)
        assert report.recipients[0].original_recipient == TypedValue("rfc822",
                                                                     "o r+c=p\\t@X.example")

    def test_long_values_fold_within_998_octets(self) -> None:
        long_text = " ".join(["word"] * 5000) + " " + "x" * 5000 + " " + "é" * 3000
        outcome = RecipientOutcome("b@example.org", action=Action.FAILED, diagnostic=long_text,
                                   extensions=[("X-Long", long_text)])
        msg = build([outcome])
        data = bytes(msg)
        assert max(len(line) for line in data.split(b"\r\n")) <= 998
        expected = compose_report([outcome], sender="a@example.com",
                                  reporting_mta="mx.example.net")
        assert expected is not None
        assert parse_reports(data, strict=True)[0].recipients == expected.recipients

    @pytest.mark.parametrize(
        "diagnostic",
        ["é" * (5 * 1024 * 1024), "word " * (2 * 1024 * 1024), "\t".join(["x y"] * 1_000_000)],
        ids=["10 MB word", "2 million words", "1 million tabs"],
    )
    def test_hostile_diagnostic_sizes(self, diagnostic: str) -> None:
        import time

        outcome = RecipientOutcome("b@example.org", action=Action.FAILED, diagnostic=diagnostic)
        start = time.perf_counter()
        msg = build([outcome])
        data = bytes(msg)
        [report] = parse_reports(data, strict=True)
        print(f"\nbuild and parse, {len(data) // 1024} KB: {time.perf_counter() - start:.2f}s")
        assert max(len(line) for line in data.split(b"\r\n")) <= 998
        expected = compose_report([outcome], sender="a@example.com",
                                  reporting_mta="mx.example.net")
        assert expected is not None and report.recipients == expected.recipients

    def test_long_multiline_reply_folds(self) -> None:
        reply = Reply(550, "5.7.1", [" ".join(["blocked"] * 60)] * 20)
        msg = build([RecipientOutcome("b@example.org", reply)])
        data = bytes(msg)
        assert max(len(line) for line in data.split(b"\r\n")) <= 998
        [report] = parse_reports(data, strict=True)
        assert report.recipients[0].diagnostic_reply == reply


ERRORS = [
    ({"reporting_mta": "mx.example.net\r\nBcc: x"},
     "the reporting MTA name 'mx.example.net\\r\\nBcc: x' contains a line break or a control "
     "character ('\\r'); a report field must stay on one line"),
    ({"reporting_mta": ""}, "the reporting MTA name '' is not a host name such as mx.example.com"),
    ({"sender": "a@example.com\r\nBcc: x"},
     "the envelope sender 'a@example.com\\r\\nBcc: x' contains a line break or a control "
     "character ('\\r'); a report field must stay on one line"),
    ({"sender": "  "}, "the envelope sender '  ' is empty or has white space at its ends"),
    ({"sender": 42}, "the envelope sender must be a string, got 42"),
    ({"message_id": "<a@b>\r\nBcc: x"},
     "the Message-ID '<a@b>\\r\\nBcc: x' contains a line break or a control character "
     "('\\r'); a report field must stay on one line"),
    ({"date": datetime(2026, 1, 1)},
     "the report date must be a timezone-aware datetime, got datetime.datetime(2026, 1, 1, 0, 0)"),
    ({"original": "not bytes"},
     "the original message must be bytes or an email.message.Message, got str"),
    ({"outcomes": [RecipientOutcome("b@example.org")]},
     "the outcome for 'b@example.org' needs a reply, an action or a status"),
    ({"outcomes": [RecipientOutcome("b@example.org", status="5.01.1")]},
     "'5.01.1' is not an enhanced status code; expected class.subject.detail such as 5.1.1 "
     "(class 2, 4 or 5; sub-codes 0-999 without leading zeros)"),
    ({"outcomes": [RecipientOutcome("", action=Action.FAILED)]},
     "the recipient '' is empty or has white space at its ends"),
    ({"outcomes": [RecipientOutcome(" b@x", action=Action.FAILED)]},
     "the recipient ' b@x' is empty or has white space at its ends"),
    ({"outcomes": [RecipientOutcome("b" * 1000, action=Action.FAILED)]},
     f"the recipient {'b' * 60!r} is longer than 900 octets"),
    ({"outcomes": [RecipientOutcome("b@x", action=Action.FAILED,
                                    last_attempt_date=datetime(2026, 1, 1))]},
     "the last attempt date must be a timezone-aware datetime, got "
     "datetime.datetime(2026, 1, 1, 0, 0)"),
    ({"outcomes": [RecipientOutcome("b@x", action=Action.FAILED, will_retry_until=WHEN)]},
     "Will-Retry-Until is only for a delayed recipient (RFC 3464 section 2.3.9)"),
    ({"extensions": [("Bad Name", "x")]},
     "extension field name 'Bad Name' is not a field name (1 to 76 printable ASCII "
     "characters, no space or colon)"),
    ({"extensions": [("Status", "x")]}, "'Status' is an RFC 3464 field, not an extension"),
    ({"arrival_date": datetime(1850, 1, 1, tzinfo=UTC)},
     "the arrival date year 1850 is outside 1900-9999"),
]


@pytest.mark.parametrize(("kwargs", "message"), ERRORS)
def test_invalid_input_raises_the_documented_error(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "outcomes": [RecipientOutcome("b@example.org", NO_SUCH_USER)],
        "sender": "a@example.com",
        "reporting_mta": "mx.example.net",
    }
    args.update(kwargs)
    original = args.pop("original", ORIGINAL)
    with pytest.raises(InvalidReportError) as info:
        build_report(original, **args)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


def test_sender_with_a_quoted_space_and_given_message_id() -> None:
    msg = build([RecipientOutcome("b@example.org", NO_SUCH_USER)], sender='<"a b"@example.com>',
                message_id="<dsn-1@mx.example.net>")
    assert msg["To"] == '"a b"@example.com'
    assert msg["Message-ID"] == "<dsn-1@mx.example.net>"


def test_render_report_refuses_unsafe_records() -> None:
    from smtpdsn.report import DeliveryReport, RecipientStatus, render_report

    def report(**fields: object) -> DeliveryReport:
        rcpt = RecipientStatus(final_recipient=TypedValue("rfc822", "b@example.org"),
                               action=Action.FAILED, status=EnhancedStatus.parse("5.1.1"))
        for name, value in fields.items():
            setattr(rcpt, name, value)
        return DeliveryReport(reporting_mta=TypedValue("dns", "mx.example.net"),
                              recipients=[rcpt])

    msg = render_report(report(), ORIGINAL, sender="a@example.com")
    assert b"\r\nStatus: 5.1.1\r\n" in bytes(msg)
    cases: list[tuple[dict[str, object], str]] = [
        ({"final_recipient": TypedValue("rfc822", "b@x\r\nBcc: y")},
         "the Final-Recipient value 'b@x\\r\\nBcc: y' contains a line break or a control "
         "character ('\\r'); a report field must stay on one line"),
        ({"remote_mta": TypedValue("dns", "mx  two")},
         "the Remote-MTA value 'mx  two' is not safe for a field; make the report with "
         "compose_report"),
        ({"diagnostic_code": TypedValue("smtp;x", "y")},
         "the Diagnostic-Code type 'smtp;x' is not an atom"),
        ({"extensions": [("Bad Name", "x")]},
         "extension field name 'Bad Name' is not a field name"),
    ]
    for fields, message in cases:
        with pytest.raises(InvalidReportError) as info:
            render_report(report(**fields), ORIGINAL, sender="a@example.com")
        assert str(info.value) == message


def test_idna_reporting_mta() -> None:
    msg = build([RecipientOutcome("b@example.org", NO_SUCH_USER)], reporting_mta="mx.bücher.de")
    assert msg["From"] == "Mail Delivery System <MAILER-DAEMON@mx.xn--bcher-kva.de>"
    assert parse_reports(bytes(msg))[0].reporting_mta == TypedValue("dns", "mx.xn--bcher-kva.de")


def test_serialises_under_the_smtp_policies() -> None:
    msg = build([RecipientOutcome("b@example.org", NO_SUCH_USER)])
    assert msg.as_bytes(policy=email.policy.SMTP) == bytes(msg)
    assert msg.as_string().encode() == bytes(msg)
    assert msg.as_bytes(policy=email.policy.default) == bytes(msg).replace(b"\r\n", b"\n")
