"""AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN mechanisms: the exchange of
``334`` challenges and base64 responses, ending in an
:class:`~smtpdsn.smtp.events.AuthRequest` with the decoded credentials (the transport's
authenticator decides). ``*`` cancels (``501 5.7.0``); a response line may be 12,288
octets (RFC 4954 section 4).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Final

from ..reply import Reply
from . import replies as R
from ._core import AUTH_LINE, ConnectionBase, State
from .events import Answered, AuthRequest, Event

__all__ = ["AuthSteps"]

_LOGIN_USER: Final = Reply(334, None, "VXNlcm5hbWU6")  # base64 "Username:"
_LOGIN_PASS: Final = Reply(334, None, "UGFzc3dvcmQ6")  # base64 "Password:"
_EMPTY_CHALLENGE: Final = b"334 \r\n"


class AuthSteps(ConnectionBase):
    """The AUTH command and its SASL exchange."""

    def _auth_cmd(self, arg: str) -> Event | None:
        if not self.auth_mechanisms:
            return self._error("AUTH", Reply(502, "5.5.1", "Error: authentication not enabled"))
        if not self.esmtp:
            return self._error("AUTH", Reply(503, "5.5.1", "Error: send EHLO first"))
        if self.authenticated is not None:
            return self._error("AUTH", R.AUTH_ALREADY)
        if self.mail is not None:
            return self._error(
                "AUTH", Reply(503, "5.5.1", "Error: AUTH not allowed during a mail transaction")
            )
        words = arg.split(" ")
        mechanism = words[0].upper()
        if not mechanism or len(words) > 2:
            return self._error("AUTH", R.syntax("Syntax: AUTH mechanism [initial-response]"))
        if mechanism not in self.auth_mechanisms:
            return self._error("AUTH", Reply(504, "5.5.4", "Unrecognized authentication type"))
        if self.auth_require_tls and not self.tls:
            return self._error("AUTH", R.AUTH_ENCRYPTION_REQUIRED)
        initial = words[1] if len(words) == 2 else None
        if mechanism == "PLAIN":
            if initial is None:
                return self._challenge(self._plain_response, None)
            return self._plain_response(initial)
        if initial is None:
            return self._challenge(self._login_user, _LOGIN_USER)
        return self._login_user(initial)

    def _challenge(self, step: Callable[[str], Event | None], reply: Reply | None) -> Answered:
        self._auth_step = step
        self.state = State.AUTH
        if reply is None:
            self._out.append(_EMPTY_CHALLENGE)
            return Answered("AUTH", Reply(334, None, "(empty challenge)"))
        self._out.append(reply.wire)
        return Answered("AUTH", reply)

    def _read_auth(self) -> Event | None:
        line = self._next_line()
        if line is None:
            return None
        self.state = State.COMMAND
        step, self._auth_step = self._auth_step, None
        if self._skipping_line or len(line) + 2 > AUTH_LINE:
            self._skipping_line = False
            return self._error("AUTH", R.COMMAND_TOO_LONG)
        text = line.decode("ascii", "replace").strip(" ")
        if text == "*":
            return self._error("AUTH", R.AUTH_CANCELLED)
        assert step is not None
        return step(text)

    def _decode(self, text: str) -> str | None:
        if text == "=":
            return ""
        try:
            return base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None

    def _plain_response(self, text: str) -> Event | None:
        decoded = self._decode(text)
        if decoded is None:
            return self._error("AUTH", R.BAD_BASE64)
        parts = decoded.split("\0")
        if len(parts) != 3 or not parts[1]:
            return self._error(
                "AUTH", R.syntax("Invalid PLAIN response: authzid NUL user NUL password needed")
            )
        return AuthRequest("PLAIN", parts[1], parts[2], parts[0])

    def _login_user(self, text: str) -> Event | None:
        decoded = self._decode(text)
        if decoded is None:
            return self._error("AUTH", R.BAD_BASE64)
        self._auth_user = decoded
        return self._challenge(self._login_password, _LOGIN_PASS)

    def _login_password(self, text: str) -> Event | None:
        decoded = self._decode(text)
        if decoded is None:
            return self._error("AUTH", R.BAD_BASE64)
        return AuthRequest("LOGIN", self._auth_user, decoded)
