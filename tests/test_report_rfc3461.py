"""The DSN fields RFC 3461 section 6.3 prescribes, as build_report and the server's
build_bounce write them: Reporting-MTA type, Final-Recipient type, Original-Recipient's
type and case, Original-Envelope-Id exactly."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from smtpdsn import no_such_user
from smtpdsn.dsnparams import MailParams, RcptParams, parse_mail_params, parse_rcpt_params
from smtpdsn.reply import Reply
from smtpdsn.report import RecipientOutcome, TypedValue, build_report, parse_reports
from smtpdsn.report.checks import is_fqdn
from smtpdsn.server.bounce import Then, build_bounce

ORIGINAL = b"From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"


def dsn_bytes(outcome: RecipientOutcome, **kwargs: object) -> bytes:
    args: dict[str, object] = {"sender": "a@example.com", "reporting_mta": "mx.example.net"}
    args.update(kwargs)
    msg = build_report(ORIGINAL, [outcome], **args)  # type: ignore[arg-type]
    assert msg is not None
    return bytes(msg)


def status_part(data: bytes) -> bytes:
    """The delivery-status part's body, folded lines joined."""
    start = data.index(b"Content-Type: message/")
    start = data.index(b"\r\n\r\n", data.index(b"delivery-status", start)) + 4
    return data[start : data.index(b"\r\n--", start)].replace(b"\r\n ", b" ")


# -- 6.3(b): Reporting-MTA ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("mx.example.net", "dns"),
        ("mx.example.net.", "dns"),
        ("a.b", "dns"),
        ("vm", "x-local-hostname"),
        ("localhost", "x-local-hostname"),
        ("192.0.2.1", "x-local-hostname"),
        ("[192.0.2.1]", "x-local-hostname"),
        ("[IPv6:::1]", "x-local-hostname"),
    ],
)
def test_reporting_mta_is_dns_only_for_a_fully_qualified_name(name: str, kind: str) -> None:
    data = dsn_bytes(RecipientOutcome("b@example.org", no_such_user()), reporting_mta=name)
    assert f"\r\nReporting-MTA: {kind}; {name}\r\n".encode() in b"\r\n" + status_part(data)
    [report] = parse_reports(data, strict=True)
    assert report.reporting_mta == TypedValue(kind, name)
    assert is_fqdn(name) == (kind == "dns")


# -- 6.3(d): Final-Recipient -------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        '"x-bounce John"@example.com',
        '"two  spaces"@example.com',
        '"a\\"b"@example.com',
        "a+b=c@example.com",
        "back\\slash@example.com",
    ],
)
@pytest.mark.parametrize("smtputf8", [True, False])
def test_final_recipient_is_rfc822_and_exact_whatever_the_local_part(
    address: str, smtputf8: bool
) -> None:
    data = dsn_bytes(RecipientOutcome(address, no_such_user()), smtputf8=smtputf8)
    assert f"Final-Recipient: rfc822; {address}\r\n".encode() in status_part(data)
    [report] = parse_reports(data, strict=True)
    assert report.recipients[0].final_recipient == TypedValue("rfc822", address)


def test_a_non_ascii_final_recipient_is_an_rfc6533_utf8_address() -> None:
    data = dsn_bytes(RecipientOutcome("jörg@example.org", no_such_user()))
    [report] = parse_reports(data, strict=True)
    assert report.recipients[0].final_recipient == TypedValue("utf-8", "jörg@example.org")
    ascii_data = dsn_bytes(RecipientOutcome("jörg@example.org", no_such_user()), smtputf8=False)
    [report] = parse_reports(ascii_data, strict=True)
    assert report.recipients[0].final_recipient == TypedValue("utf-8", "j\\x{F6}rg@example.org")
    assert report.recipients[0].final_recipient.address == "jörg@example.org"


# -- 6.3(c): Original-Recipient ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("orcpt", "written"),
    [
        ("rfc822;Bob@Example.ORG", "rfc822; Bob@Example.ORG"),
        ("RFC822;Bob@Example.ORG", "RFC822; Bob@Example.ORG"),
        ("Rfc822;+22x-bounce+20John+22@example.com", 'Rfc822; "x-bounce John"@example.com'),
        ("x400;/G+3DJohn/S+3DSmith/O+3DExample+20Corp/", "x400; /G=John/S=Smith/O=Example Corp/"),
        ("unknown;some+20thing", "unknown; some thing"),
        ("UTF-8;j\\x{F6}rg@example.org", "UTF-8; jörg@example.org"),
    ],
)
def test_original_recipient_keeps_the_orcpt_type_its_case_and_the_address(
    orcpt: str, written: str
) -> None:
    params = parse_rcpt_params([f"ORCPT={orcpt}"])
    data = dsn_bytes(RecipientOutcome("final@example.net", no_such_user(), params=params))
    assert f"Original-Recipient: {written}\r\n".encode() in status_part(data)
    [report] = parse_reports(data, strict=True)
    kind, _, value = written.partition("; ")
    assert report.recipients[0].original_recipient == TypedValue(kind.lower(), value)


def test_a_utf8_orcpt_in_an_ascii_report_is_utf8_addr_xtext() -> None:
    params = RcptParams(orcpt=("utf-8", "jörg@example.org"))
    data = dsn_bytes(RecipientOutcome("j@example.org", no_such_user(), params=params),
                     smtputf8=False)
    assert b"Original-Recipient: utf-8; j\\x{F6}rg@example.org\r\n" in status_part(data)
    assert data.isascii()


# -- 6.3(a): Original-Envelope-Id --------------------------------------------------------------


@pytest.mark.parametrize("envid", ["a  b ", "QQ  314159", " x", "a+b=c (d)"])
def test_original_envelope_id_is_the_decoded_envid_exactly(envid: str) -> None:
    params = parse_mail_params([f"ENVID={MailParams(envid=envid).esmtp()[0][6:]}"])
    assert params.envid == envid
    data = dsn_bytes(RecipientOutcome("b@example.org", no_such_user()), mail_params=params)
    assert f"\r\nOriginal-Envelope-Id: {envid}\r\n".encode() in b"\r\n" + status_part(data)
    [report] = parse_reports(data, strict=True)
    # A reader trims white space at the ends of a field value; inner runs stay.
    assert report.original_envelope_id == envid.strip(" ")


# -- the same rules through the server's build_bounce ------------------------------------------


@dataclass
class Envelope:
    mail_from: str
    rcpt_tos: list[str]
    original_content: bytes = ORIGINAL
    dsn_mail: MailParams | None = None
    dsn_rcpt: dict[str, RcptParams] = field(default_factory=dict)
    dsn_then: dict[str, Then] = field(default_factory=dict)


def test_the_server_bounce_follows_section_6_3() -> None:
    rcpt = '"x-bounce John"@example.com'
    envelope = Envelope(
        "sender@example.org",
        [rcpt],
        dsn_mail=parse_mail_params(["ENVID=a+20+20b+20", "RET=HDRS"]),
        dsn_rcpt={rcpt: parse_rcpt_params(["NOTIFY=FAILURE", "ORCPT=RFC822;John@Example.COM"])},
        dsn_then={rcpt: Then("bounce", Reply(550, "5.1.1", "No such user"))},
    )
    msg = build_bounce(envelope, reporting_mta="vm", arrival=datetime(2026, 1, 1, tzinfo=UTC))
    assert msg is not None
    fields = status_part(bytes(msg))
    assert b"Original-Envelope-Id: a  b \r\n" in fields
    assert b"Reporting-MTA: x-local-hostname; vm\r\n" in fields
    assert b"Original-Recipient: RFC822; John@Example.COM\r\n" in fields
    assert f"Final-Recipient: rfc822; {rcpt}\r\n".encode() in fields
    [report] = parse_reports(bytes(msg), strict=True)
    assert report.recipients[0].final_recipient == TypedValue("rfc822", rcpt)
