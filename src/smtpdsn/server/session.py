"""What plugins see of a connection (:class:`Session`) and of a mail transaction
(:class:`Envelope`).

The attribute names are those aiosmtpd gave these objects, so plugins written for
smtpdsn 0.1 (on aiosmtpd) keep working: ``session.peer``, ``session.host_name``,
``envelope.mail_from``, ``envelope.rcpt_tos``, ``envelope.content`` ... plus the DSN
parameters (``dsn_mail``, ``dsn_rcpt``, ``dsn_then``).
"""

from __future__ import annotations

from typing import Any

from ..dsnparams import MailParams, RcptParams
from .bounce import Then

__all__ = ["DSNEnvelope", "Envelope", "Session"]


class Session:
    """One client connection.

    Attributes:
        peer: the client's address, as the socket gives it (``("127.0.0.1", 51234)``).
        host_name: the name from an accepted HELO/EHLO, or None.
        extended_smtp: the client greeted with EHLO.
        ssl: the TLS object (``ssl.SSLObject``) once TLS is up, else None.
        authenticated: True after a successful AUTH.
        login_data: the user name of that AUTH, or None.
    """

    __slots__ = ("authenticated", "extended_smtp", "host_name", "login_data", "peer", "ssl")

    def __init__(self, peer: Any) -> None:
        self.peer = peer
        self.host_name: str | None = None
        self.extended_smtp = False
        self.ssl: Any = None
        self.authenticated = False
        self.login_data: str | None = None


class Envelope:
    """One mail transaction: the sender, the accepted recipients, the message.

    Attributes:
        mail_from: the sender (``""`` for the null sender ``<>``), or None before MAIL.
        mail_options: MAIL's parameters as sent (``["SIZE=100", "RET=HDRS"]``).
        rcpt_tos: the accepted recipients, in order.
        rcpt_options: the accepted RCPTs' parameters as sent, in order.
        smtp_utf8: MAIL carried SMTPUTF8.
        content: the message as received (dot-unstuffed), once it is here.
        original_content: the same bytes (aiosmtpd's name, kept).
        dsn_mail: MAIL's RET and ENVID (:class:`~smtpdsn.dsnparams.MailParams`).
        dsn_rcpt: each accepted recipient's NOTIFY and ORCPT, keyed like ``rcpt_tos``.
        dsn_then: the accepted recipients to bounce or delay once the message is here
            (:class:`~smtpdsn.server.bounce.Then`), keyed like ``rcpt_tos``.
    """

    def __init__(self) -> None:
        self.mail_from: str | None = None
        self.mail_options: list[str] = []
        self.rcpt_tos: list[str] = []
        self.rcpt_options: list[str] = []
        self.smtp_utf8 = False
        self.content: bytes | None = None
        self.original_content: bytes | None = None
        self.dsn_mail = MailParams()
        self.dsn_rcpt: dict[str, RcptParams] = {}
        self.dsn_then: dict[str, Then] = {}


#: The name this class had on aiosmtpd (smtpdsn 0.1), kept as an alias.
DSNEnvelope = Envelope
