"""General rules of the classifier, each on a message written for this test from the
MTA's documented format (tests/data/bounces/, none taken from the corpus)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smtpdsn.classify import Action, Bounce, Reason, classify
from smtpdsn.classify.envelope import verp_recipient

DATA = Path(__file__).resolve().parent / "data" / "bounces"


def one(name_or_bytes: str | bytes) -> Bounce:
    raw = (DATA / name_or_bytes).read_bytes() if isinstance(name_or_bytes, str) else name_or_bytes
    (bounce,) = classify(raw).recipients
    return bounce


def test_classic_postfix_name_service_error() -> None:
    # Postfix bounce(8) before DSN support: "<addr>: Name service error for domain ...:
    # Host not found, try again", no delivery-status part.
    b = one("postfix-classic-dns.eml")
    assert b.recipient == "bob@nosuch.example.net"
    assert (b.reason, b.action, b.hard_bounce) == (Reason.NETWORKERROR, Action.FAILED, False)
    assert "Host not found, try again" in b.diagnostic


def test_classic_sendmail_permanent_fatal_errors() -> None:
    b = one("sendmail-classic.eml")
    assert (b.recipient, str(b.status), b.reply_code) == ("carol@example.net", "5.1.1", 550)
    assert (b.reason, b.hard_bounce, b.command) == (Reason.USERUNKNOWN, True, "RCPT")


def test_exim_plain_text_keeps_a_two_digit_detail_whole() -> None:
    b = one("exim-plain.eml")
    assert (b.recipient, str(b.status), b.status_source) == (
        "dave@example.net", "5.1.10", "diagnostic")
    assert (b.reason, b.hard_bounce) == (Reason.USERUNKNOWN, True)


@pytest.mark.parametrize(("code", "reason"), [
    # 5.1.10 with no words: RFC 7505's null MX (Microsoft's RecipientNotFound says more).
    ("5.7.606", Reason.BLOCKED), ("5.1.10", Reason.NOTACCEPT), ("5.4.316", Reason.EXPIRED),
])
def test_multi_digit_codes_are_never_truncated(code: str, reason: Reason) -> None:
    b = one(b"From: MAILER-DAEMON@mx.example.net\nTo: a@example.org\nSubject: Undeliverable\n\n"
            b"<grace@example.net>: host mx.example.net said: 550 " + code.encode()
            + b" refused\n")
    assert (str(b.status), b.status_source, b.reason) == (code, "diagnostic", reason)


def test_the_bounce_own_to_is_not_a_failed_recipient() -> None:
    # A provider's notice quoting the failed address in a sentence, addressed to the
    # sender, whose address opens the text.
    b = one("provider-body-quoted.eml")
    assert b.recipient == "frank@example.net"
    assert b.reason is Reason.SUSPEND


def test_the_own_to_counts_where_the_mta_says_it_failed() -> None:
    # qmail's "<addr>:" layout names the failed recipient even when it is the To.
    b = one(b"From: MAILER-DAEMON@example.org\nTo: carl@example.org\n"
            b"Subject: failure notice\n\nHi. This is the qmail-send program at example.org.\n"
            b"I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
            b"<carl@example.org>:\nSorry, no mailbox here by that name. (#5.1.1)\n")
    assert (b.recipient, b.reason) == ("carl@example.org", Reason.USERUNKNOWN)


def test_no_recipient_at_all_rather_than_the_sender() -> None:
    result = classify(b"From: mailer-daemon@mail.example.net\nTo: alice@example.com\n"
                      b"Subject: Mail Delivery Problem\n\nalice@example.com, your mail to "
                      b"the user could not be delivered.\n")
    assert [b.recipient for b in result.recipients] == []


def test_the_status_on_the_wire_wins_over_a_derived_one() -> None:
    b = one("o365-access-denied.eml")
    assert (b.recipient, str(b.status)) == ("grace@example.net", "5.4.1")
    assert b.status_source in ("report", "diagnostic")
    # Exchange Online's directory-based edge blocking: the address does not exist.
    assert (b.reason, b.hard_bounce) == (Reason.USERUNKNOWN, True)
    # A report's Status with a diagnostic that names a reason with another code.
    b = one(b"Content-Type: multipart/report; boundary=x\n\n--x\n"
            b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
            b"Final-Recipient: rfc822; h@example.net\nAction: failed\nStatus: 5.2.2\n"
            b"Diagnostic-Code: smtp; mailbox full\n--x--\n")
    assert (str(b.status), b.status_source, b.reason) == ("5.2.2", "report", Reason.MAILBOXFULL)


def test_a_delay_warning_reports_its_cause() -> None:
    b = one("delay-warning.eml")
    assert (b.recipient, b.action, b.hard_bounce) == ("heidi@example.net", Action.DELAYED, False)
    assert (str(b.status), b.reason) == ("4.4.1", Reason.NETWORKERROR)


@pytest.mark.parametrize(("text", "status", "reason"), [
    (b"<g@example.net>: host mx[192.0.2.1] said: 452 4.2.2 Mailbox full", "4.2.2",
     Reason.MAILBOXFULL),
    (b"<g@example.net>: host mx[192.0.2.1] said: 450 4.7.1 Client host rejected: cannot "
     b"find your reverse hostname", "4.7.1", Reason.REQUIREPTR),
    (b"<g@example.net>", "4.0.0", Reason.ONHOLD),  # no cause: nothing to say
])
def test_a_delay_warning_never_expires_by_itself(text: bytes, status: str,
                                                 reason: Reason) -> None:
    b = one(b"From: MAILER-DAEMON@mail.example.com\nTo: alice@example.com\n"
            b"Subject: Delayed Mail (still being retried)\n\n"
            b"Your message has been delayed for 48 hours. We will keep trying.\n\n"
            + text + b"\n")
    assert (b.action, b.hard_bounce, str(b.status), b.reason) == (
        Action.DELAYED, False, status, reason)


def test_expired_only_when_the_mta_says_so() -> None:
    b = one(b"Content-Type: multipart/report; boundary=x\n\n--x\n"
            b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
            b"Final-Recipient: rfc822; h@example.net\nAction: delayed\nStatus: 4.4.7\n"
            b"Diagnostic-Code: smtp; delivery time expired\n--x--\n")
    assert (b.action, b.reason, b.hard_bounce) == (Action.DELAYED, Reason.EXPIRED, False)
    b = one(b"From: MAILER-DAEMON@example.org\nSubject: failure notice\n\n<k@example.net>:\n"
            b"Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\nI'm not going "
            b"to try again; this message has been in the queue too long.\n")
    assert (b.action, b.reason) == (Action.FAILED, Reason.EXPIRED)


def test_unusable_final_recipient_gives_the_original_recipient() -> None:
    b = one("dsn-unusable-final.eml")
    assert (b.recipient, b.original_recipient) == ("ivan@example.org", "ivan@example.org")
    assert b.as_dict()["original_recipient"] == "ivan@example.org"


def test_x400_final_recipient_with_an_rfc822_original() -> None:
    b = one(b"Content-Type: multipart/report; boundary=x\n\n--x\n"
            b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; gw.example.net\n\n"
            b"Original-Recipient: rfc822;Olga@Example.org\n"
            b"Final-Recipient: x400; /C=US/ADMD= /PRMD=EXAMPLE/O=GW/S=Olga/\n"
            b"Action: failed\nStatus: 5.1.1\n--x--\n")
    assert (b.recipient, b.original_recipient) == ("Olga@Example.org", "Olga@Example.org")


def test_original_recipient_next_to_the_final_one() -> None:
    b = one(b"Content-Type: multipart/report; boundary=x\n\n--x\n"
            b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n"
            b"Original-Recipient: rfc822;list-member@example.org\n"
            b"Final-Recipient: rfc822;member@mail.example.org\n"
            b"Action: failed\nStatus: 5.2.2\n--x--\n")
    assert (b.recipient, b.original_recipient) == (
        "member@mail.example.org", "list-member@example.org")


def test_verp_return_path_recovers_the_recipient() -> None:
    b = one("verp-no-recipient.eml")
    assert (b.recipient, b.original_recipient) == ("judy@example.org", "judy@example.org")
    assert verp_recipient("list-bounces+alice=example.org@lists.example.net") == (
        "alice@example.org")
    assert verp_recipient("list-bounces@lists.example.net") == ""


def test_verp_gives_the_original_recipient_of_an_aliased_address() -> None:
    result = classify(b"From: MAILER-DAEMON@mx.example.net\n"
                      b"To: news-bounces+kim=example.org@lists.example.com\n"
                      b"Subject: Undelivered Mail Returned to Sender\n\n"
                      b"<kim.lee@mail.example.org>: host mx said: 550 5.1.1 User unknown\n")
    (b,) = result.recipients
    assert (b.recipient, b.original_recipient) == ("kim.lee@mail.example.org", "kim@example.org")


def test_failed_recipients_header_and_returned_delivered_to() -> None:
    b = one(b"From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
            b"To: alice@example.com\nX-Failed-Recipients: lee@example.net\n"
            b"Subject: Mail delivery failed\n\nA message that you sent could not be "
            b"delivered.\n")
    assert b.recipient == "lee@example.net"
    result = classify(b"Content-Type: multipart/report; boundary=x\nTo: alice@example.com\n"
                      b"From: postmaster@gw.example.net\n\n--x\n"
                      b"Content-Type: message/delivery-status\n\nReporting-MTA: dns; gw\n\n"
                      b"Final-Recipient: system;<>\nAction: failed\nStatus: 5.1.1\n--x\n"
                      b"Content-Type: text/rfc822-headers\n\nFrom: alice@example.com\n"
                      b"To: Team <team@example.net>\nX-Original-To: mo@example.net\n--x--\n")
    assert [b.recipient for b in result.recipients] == ["mo@example.net"]


def test_postfix_expanded_from_is_the_original_recipient() -> None:
    b = one(b"From: MAILER-DAEMON@mx.example.net\nTo: a@example.com\n"
            b"Subject: Undelivered Mail Returned to Sender\n\n"
            b"<bob@example.net> (expanded from <info@example.org>): host mx.example.net said: "
            b"550 5.1.1 User unknown (in reply to RCPT TO command)\n")
    assert (b.recipient, b.original_recipient, b.command) == (
        "bob@example.net", "info@example.org", "RCPT")
