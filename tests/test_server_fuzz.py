"""Generated sessions: every reply is well formed, coded (RFC 2034) and agrees with the state."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import smtpdsn
from smtpdsn.dsnparams import DSNParameterError, parse_mail_params, parse_rcpt_params
from tests.server_support import RawClient, ServerThread


class Judge:
    """Refuses ``no*`` recipients and ``bad*`` senders; records accepted recipients."""

    def __init__(self) -> None:
        self.delivered: list[list[str]] = []

    async def hook_mail(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        return (smtpdsn.DENY, smtpdsn.addr_bad_from_system()) if address.startswith("bad") else None

    async def hook_rcpt(self, session: Any, envelope: Any, address: str, params: Any) -> object:
        return (smtpdsn.DENYSOFT, smtpdsn.mbox_full()) if address.startswith("no") else None

    async def hook_data(self, session: Any, envelope: Any) -> object:
        self.delivered.append(list(envelope.rcpt_tos))
        return None


@pytest.fixture(scope="module")
def judged() -> Iterator[tuple[ServerThread, Judge]]:
    judge = Judge()
    with ServerThread(plugins=[judge]) as st:
        yield st, judge


LOCAL = st.sampled_from(["ok", "no", "bad", "x.y", "Mixed"])
MAIL_PARAMS = st.lists(
    st.sampled_from(
        ["RET=FULL", "RET=hdrs", "RET=ALL", "ENVID=abc+2B", "ENVID=+zz", "SIZE=10", "BODY=7BIT",
         "BODY=9BIT", "FOO=1", "SMTPUTF8"]
    ),
    max_size=3,
)  # fmt: skip
RCPT_PARAMS = st.lists(
    st.sampled_from(
        ["NOTIFY=NEVER", "NOTIFY=SUCCESS,delay", "NOTIFY=NEVER,FAILURE", "NOTIFY=",
         "ORCPT=rfc822;a", "ORCPT=utf-8;j\\x{F6}", "ORCPT=x", "ORCPT=utf-8;a\\", "RET=FULL"]
    ),
    max_size=3,
)  # fmt: skip


STEP: st.SearchStrategy[tuple[str, str, list[str]]] = st.one_of(
    st.tuples(st.just("MAIL"), LOCAL, MAIL_PARAMS),
    st.tuples(st.just("RCPT"), LOCAL, RCPT_PARAMS),
    st.tuples(st.just("RCPT"), LOCAL, RCPT_PARAMS),
    st.tuples(st.sampled_from(["DATA", "RSET", "NOOP", "VRFY"]), LOCAL, st.just([])),
)
SESSIONS = st.lists(STEP, min_size=1, max_size=12)


def valid(kind: str, params: list[str]) -> bool:
    """Whether the server must accept these parameters (the model of the server)."""
    parse = parse_mail_params if kind == "MAIL" else parse_rcpt_params
    try:
        parse(params)
    except DSNParameterError:
        return False
    known = {"MAIL": {"RET", "ENVID", "SIZE", "BODY", "SMTPUTF8"}, "RCPT": {"NOTIFY", "ORCPT"}}
    keys = {p.partition("=")[0].upper() for p in params}
    return len(keys) == len(params) and keys <= known[kind] and "BODY=9BIT" not in params


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(SESSIONS)
def test_generated_sessions(
    judged: tuple[ServerThread, Judge], steps: list[tuple[str, str, list[str]]]
) -> None:
    server, judge = judged
    judge.delivered.clear()
    with RawClient(server.port) as c:
        c.reply()
        c.cmd("EHLO fuzz.test")
        have_mail = False
        accepted: list[str] = []
        expected_deliveries: list[list[str]] = []
        for kind, local, params in steps:
            address = f"{local}@x.test"
            tail = (" " + " ".join(params)) if params else ""
            if kind == "MAIL":
                reply = c.cmd(f"MAIL FROM:<{address}>{tail}")
            elif kind == "RCPT":
                reply = c.cmd(f"RCPT TO:<{address}>{tail}")
            elif kind == "DATA":
                reply = c.cmd("DATA")
                if reply.startswith("354"):
                    reply = c.cmd("Subject: fuzz\r\n\r\nx\r\n.")
            else:
                reply = c.cmd(f"{kind} <{address}>" if kind == "VRFY" else kind)
            parsed = smtpdsn.parse_reply(reply)  # strict: well formed
            assert parsed.status is not None, reply  # RFC 2034: coded
            assert parsed.status.class_ == parsed.code // 100
            # The reply agrees with the state the server keeps.
            if kind == "MAIL":
                ok = not have_mail and valid("MAIL", params) and not local.startswith("bad")
                assert parsed.is_success == ok, (steps, reply)
                have_mail = have_mail or ok
            elif kind == "RCPT":
                ok = have_mail and valid("RCPT", params) and not local.startswith("no")
                assert parsed.is_success == ok, (steps, reply)
                if ok:
                    accepted.append(address)
            elif kind == "DATA":
                assert parsed.is_success == bool(accepted), (steps, reply)
                if accepted:  # else 503, and the transaction goes on
                    expected_deliveries.append(accepted)
                    have_mail, accepted = False, []
            elif kind == "RSET":
                have_mail, accepted = False, []
        assert c.cmd("QUIT") == "221 2.0.0 Bye"
    assert judge.delivered == expected_deliveries
