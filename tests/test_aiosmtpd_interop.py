"""A factory's reply returned as is from a plain aiosmtpd handler reaches the client intact."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from typing import Any

import pytest

import smtpdsn
from smtpdsn import from_smtplib

controller_mod = pytest.importorskip("aiosmtpd.controller")


class Handler:
    """A plain aiosmtpd handler (no smtpdsn server code) returning smtpdsn replies."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("unknown@"):
            return smtpdsn.no_such_user()
        if address.startswith("multi@"):
            return smtpdsn.mbox_full(["Mailbox is full", "Try again tomorrow"], 452)
        if address.startswith("utf8@"):
            return smtpdsn.no_such_user("Utilisateur inconnu: é\r\nINJECTED 250 OK")
        envelope.rcpt_tos.append(address)
        return smtpdsn.addr_rcpt_ok()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    port = _free_port()
    ctl = controller_mod.Controller(Handler(), hostname="127.0.0.1", port=port)
    ctl.start()
    try:
        yield "127.0.0.1", port
    finally:
        ctl.stop()


@pytest.mark.parametrize(
    ("rcpt", "wire"),
    [
        ("unknown@example.test", "550 5.1.1 No such user"),
        ("multi@example.test", "452-4.2.2 Mailbox is full\r\n452 4.2.2 Try again tomorrow"),
        ("utf8@example.test",
         "550-5.1.1 Utilisateur inconnu: e\r\n550 5.1.1 INJECTED 250 OK"),
        ("someone@example.test", "250 2.1.5 Destination address valid"),
    ],
)
def test_reply_reaches_smtplib_intact(server: tuple[str, int], rcpt: str, wire: str) -> None:
    host, port = server
    with smtplib.SMTP(host, port, timeout=10) as client:
        client.ehlo("client.test")
        assert client.mail("sender@example.test")[0] == 250
        got = client.rcpt(rcpt)
        assert from_smtplib(got) == wire
        # The connection is still in step: the next command gets its own reply.
        assert client.noop()[0] == 250
