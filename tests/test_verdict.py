"""Verdicts: every verdict with every kind of answer, and the contradiction rules."""

from __future__ import annotations

import pytest

import smtpdsn
from smtpdsn import (
    CONT,
    DENY,
    DENYDISCONNECT,
    DENYSOFT,
    DENYSOFTDISCONNECT,
    DISCONNECT,
    OK,
    InvalidReplyError,
    Reply,
    Verdict,
    resolve,
)

ANSWERS: dict[str, Reply | str | list[str] | None] = {
    "none": None,
    "text": "plugin text",
    "lines": ["one", "two"],
    "2xx": Reply(250, "2.1.5", "Recipient ok"),
    "221": Reply(221, "2.0.0", "Bye"),
    "4xx": smtpdsn.mbox_full(),
    "5xx": smtpdsn.no_such_user(),
    "554": smtpdsn.sec_unauthorized(None, 554),
    "421": Reply(421, "4.3.2", "Shutting down"),
    "no-status-5xx": Reply(550, None, "plain"),
}

# (verdict, answer) -> expected wire text; disconnect follows from the verdict.
EXPECTED: dict[tuple[Verdict, str], str] = {
    (OK, "none"): "250 2.0.0 OK",
    (OK, "text"): "250 2.0.0 plugin text",
    (OK, "lines"): "250-2.0.0 one\r\n250 2.0.0 two",
    (OK, "2xx"): "250 2.1.5 Recipient ok",
    (OK, "221"): "250 2.0.0 OK",
    (OK, "4xx"): "250 2.0.0 OK",
    (OK, "5xx"): "250 2.0.0 OK",
    (OK, "554"): "250 2.0.0 OK",
    (OK, "421"): "250 2.0.0 OK",
    (OK, "no-status-5xx"): "250 2.0.0 OK",
    (DENY, "none"): "550 5.0.0 Rejected",
    (DENY, "text"): "550 5.0.0 plugin text",
    (DENY, "lines"): "550-5.0.0 one\r\n550 5.0.0 two",
    (DENY, "2xx"): "550 5.0.0 Rejected",
    (DENY, "221"): "550 5.0.0 Rejected",
    (DENY, "4xx"): "550 5.2.2 Mailbox full",
    (DENY, "5xx"): "550 5.1.1 No such user",
    (DENY, "554"): "554 5.7.1 Delivery not authorized, message refused",
    (DENY, "421"): "550 5.3.2 Shutting down",
    (DENY, "no-status-5xx"): "550 plain",
    (DENYSOFT, "none"): "450 4.0.0 Temporarily rejected, try again later",
    (DENYSOFT, "text"): "450 4.0.0 plugin text",
    (DENYSOFT, "lines"): "450-4.0.0 one\r\n450 4.0.0 two",
    (DENYSOFT, "2xx"): "450 4.0.0 Temporarily rejected, try again later",
    (DENYSOFT, "221"): "450 4.0.0 Temporarily rejected, try again later",
    (DENYSOFT, "4xx"): "450 4.2.2 Mailbox full",
    (DENYSOFT, "5xx"): "450 4.1.1 No such user",
    (DENYSOFT, "554"): "450 4.7.1 Delivery not authorized, message refused",
    (DENYSOFT, "421"): "421 4.3.2 Shutting down",
    (DENYSOFT, "no-status-5xx"): "450 plain",
    (DENYDISCONNECT, "none"): "550 5.0.0 Rejected, closing connection",
    (DENYDISCONNECT, "text"): "550 5.0.0 plugin text",
    (DENYDISCONNECT, "lines"): "550-5.0.0 one\r\n550 5.0.0 two",
    (DENYDISCONNECT, "2xx"): "550 5.0.0 Rejected, closing connection",
    (DENYDISCONNECT, "221"): "550 5.0.0 Rejected, closing connection",
    (DENYDISCONNECT, "4xx"): "550 5.2.2 Mailbox full",
    (DENYDISCONNECT, "5xx"): "550 5.1.1 No such user",
    (DENYDISCONNECT, "554"): "554 5.7.1 Delivery not authorized, message refused",
    (DENYDISCONNECT, "421"): "550 5.3.2 Shutting down",
    (DENYDISCONNECT, "no-status-5xx"): "550 plain",
    (DENYSOFTDISCONNECT, "none"): "421 4.0.0 Try again later, closing connection",
    (DENYSOFTDISCONNECT, "text"): "421 4.0.0 plugin text",
    (DENYSOFTDISCONNECT, "lines"): "421-4.0.0 one\r\n421 4.0.0 two",
    (DENYSOFTDISCONNECT, "2xx"): "421 4.0.0 Try again later, closing connection",
    (DENYSOFTDISCONNECT, "221"): "421 4.0.0 Try again later, closing connection",
    (DENYSOFTDISCONNECT, "4xx"): "421 4.2.2 Mailbox full",
    (DENYSOFTDISCONNECT, "5xx"): "421 4.1.1 No such user",
    (DENYSOFTDISCONNECT, "554"): "421 4.7.1 Delivery not authorized, message refused",
    (DENYSOFTDISCONNECT, "421"): "421 4.3.2 Shutting down",
    (DENYSOFTDISCONNECT, "no-status-5xx"): "421 plain",
    (DISCONNECT, "none"): "421 4.0.0 Closing connection",
    (DISCONNECT, "text"): "421 4.0.0 plugin text",
    (DISCONNECT, "lines"): "421-4.0.0 one\r\n421 4.0.0 two",
    (DISCONNECT, "2xx"): "421 4.0.0 Closing connection",
    (DISCONNECT, "221"): "221 2.0.0 Bye",
    (DISCONNECT, "4xx"): "421 4.2.2 Mailbox full",
    (DISCONNECT, "5xx"): "550 5.1.1 No such user",
    (DISCONNECT, "554"): "554 5.7.1 Delivery not authorized, message refused",
    (DISCONNECT, "421"): "421 4.3.2 Shutting down",
    (DISCONNECT, "no-status-5xx"): "550 plain",
}

CLASS_OF = {OK: 2, DENY: 5, DENYDISCONNECT: 5, DENYSOFT: 4, DENYSOFTDISCONNECT: 4}


def test_the_table_covers_every_verdict_and_answer() -> None:
    deciding = [v for v in Verdict if v is not CONT]
    assert set(EXPECTED) == {(v, a) for v in deciding for a in ANSWERS}


@pytest.mark.parametrize(("key", "wire"), list(EXPECTED.items()), ids=str)
def test_verdict_and_answer(key: tuple[Verdict, str], wire: str) -> None:
    verdict, name = key
    answer = ANSWERS[name]
    res = resolve(verdict, answer)
    assert res.reply == wire
    assert res.verdict is verdict
    assert res.disconnect is (verdict in (DENYDISCONNECT, DENYSOFTDISCONNECT, DISCONNECT))
    assert res.accepted is (verdict is OK)
    assert res.reply is not None
    if verdict in CLASS_OF:
        # The reply always agrees with the verdict.
        assert res.reply.code // 100 == CLASS_OF[verdict]
        if res.reply.status is not None:
            assert res.reply.status.class_ == CLASS_OF[verdict]
    given_reply = isinstance(answer, Reply)
    changed = given_reply and res.reply is not answer
    assert (res.adjusted is not None) is changed


@pytest.mark.parametrize("answer", list(ANSWERS.values()), ids=list(ANSWERS))
def test_cont_sends_nothing(answer: Reply | str | list[str] | None) -> None:
    res = resolve(CONT, answer)
    assert res.reply is None and not res.disconnect and not res.accepted


def test_haraka_fault_denysoft_with_a_5xx_factory_sends_450_keeping_subject_and_detail() -> None:
    res = resolve(DENYSOFT, smtpdsn.no_such_user())
    assert res.reply == "450 4.1.1 No such user"
    assert res.adjusted == "DENYSOFT with a 550 reply: sent 450 to agree with the verdict"


def test_a_transient_reply_that_closes_is_sent_as_421() -> None:
    res = resolve(DENYSOFTDISCONNECT, smtpdsn.net_system_congested())
    assert res.reply == "421 4.4.5 Mail system congestion" and res.disconnect
    assert res.adjusted == (
        "DENYSOFTDISCONNECT with a 450 reply: sent 421, the code for closing the connection"
    )


def test_adjusted_message_for_accept_contradiction() -> None:
    res = resolve(OK, smtpdsn.no_such_user())
    assert res.adjusted == (
        "OK with a 550 reply contradicts the verdict; sent the default 250 reply instead"
    )


def test_bad_verdict_or_answer() -> None:
    with pytest.raises(InvalidReplyError, match="not a verdict: 'DENY'"):
        resolve("DENY", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidReplyError, match="must be a string or a list of strings"):
        resolve(DENY, 550)  # type: ignore[arg-type]


def test_verdict_properties() -> None:
    assert DENYDISCONNECT.disconnects and not DENY.disconnects
    assert DENY.reply_class == 5 and DENYSOFT.reply_class == 4 and OK.reply_class == 2
    assert CONT.reply_class is None and DISCONNECT.reply_class is None
    assert repr(DENY) == "DENY"
