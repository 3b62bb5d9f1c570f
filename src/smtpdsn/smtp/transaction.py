"""MAIL and RCPT (RFC 5321 sections 4.1.1.2 and 4.1.1.3) with the parameters of the
extensions offered: SIZE (RFC 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), RET and ENVID,
NOTIFY and ORCPT (RFC 3461), AUTH= (RFC 4954 section 5).
"""

from __future__ import annotations

from ..dsnparams import DSNParameterError, mail_params, rcpt_params
from ..reply import Reply
from . import replies as R
from ._core import ConnectionBase, printable
from .commands import CommandError, parse_mail_argument, parse_rcpt_argument
from .events import Event, MailFrom, RcptTo

__all__ = ["TransactionSteps"]


class TransactionSteps(ConnectionBase):
    """The MAIL and RCPT commands."""

    def _mail_cmd(self, arg: str) -> Event | None:
        refused = self._need_helo("MAIL")
        if refused is not None:
            return refused
        if self.starttls_required and not self.tls:
            return self._error("MAIL", R.STARTTLS_FIRST)
        if self.auth_required and self.authenticated is None:
            return self._error("MAIL", R.AUTH_REQUIRED)
        try:
            path, params = parse_mail_argument(arg, esmtp=self.esmtp, smtputf8=self.smtputf8)
        except CommandError as exc:
            return self._error("MAIL", exc.reply)
        if self.mail is not None:
            return self._error("MAIL", R.NESTED_MAIL)
        rest = dict(params)
        body = rest.pop("BODY", None)
        if body is not None or "BODY" in params:
            if body is None or body.upper() not in ("7BIT", "8BITMIME"):
                return self._error(
                    "MAIL", R.syntax("Error: BODY can only be one of 7BIT, 8BITMIME")
                )
            body = body.upper()
        utf8 = False
        if "SMTPUTF8" in rest:
            if rest.pop("SMTPUTF8") is not None:
                return self._error("MAIL", R.syntax("Error: SMTPUTF8 takes no arguments"))
            if not self.smtputf8:
                return self._error(
                    "MAIL", Reply(555, "5.5.4", "MAIL FROM parameter SMTPUTF8 not available")
                )
            utf8 = True
        size: int | None = None
        if "SIZE" in rest:
            value = rest.pop("SIZE")
            if value is None or not (value.isascii() and value.isdigit()):
                return self._error(
                    "MAIL", R.syntax("Invalid parameter SIZE: a number of octets is needed")
                )
            size = int(value)
            if self.max_message_size is not None and size > self.max_message_size:
                return self._error("MAIL", R.MESSAGE_TOO_BIG)
        if self.auth_mechanisms:
            rest.pop("AUTH", None)  # RFC 4954 section 5: accepted and not used
        try:
            dsn = mail_params(rest)
        except DSNParameterError as exc:
            return self._error("MAIL", exc.reply)
        rest.pop("RET", None)
        rest.pop("ENVID", None)
        if rest:
            return self._error(
                "MAIL",
                Reply(
                    555,
                    "5.5.4",
                    f"MAIL FROM parameter {printable(next(iter(rest)))} not recognized "
                    "or not implemented",
                ),
            )
        return MailFrom(path.mailbox, path, params, dsn, size, body, utf8)

    def _rcpt_cmd(self, arg: str) -> Event | None:
        refused = self._need_helo("RCPT")
        if refused is not None:
            return refused
        if self.mail is None:
            return self._error("RCPT", R.NEED_MAIL)
        try:
            path, params = parse_rcpt_argument(
                arg, esmtp=self.esmtp, smtputf8=self.smtputf8 and self.mail.smtputf8
            )
        except CommandError as exc:
            return self._error("RCPT", exc.reply)
        if self.recipients >= self.max_recipients:
            return self._reply("RCPT", R.TOO_MANY_RECIPIENTS)
        try:
            dsn = rcpt_params(params)
        except DSNParameterError as exc:
            return self._error("RCPT", exc.reply)
        for keyword in params:
            if keyword not in ("NOTIFY", "ORCPT"):
                return self._error(
                    "RCPT",
                    Reply(
                        555,
                        "5.5.4",
                        f"RCPT TO parameter {printable(keyword)} not recognized or not implemented",
                    ),
                )
        return RcptTo(path.mailbox, path, params, dsn)
