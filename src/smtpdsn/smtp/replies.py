"""The replies the protocol core sends on its own, each with its enhanced status
(RFC 2034: every 2xx, 4xx and 5xx reply but the greeting and the replies to HELO/EHLO).

Texts follow the wording of common servers (Postfix, aiosmtpd) so that clients and people
reading logs recognise them. Codes follow RFC 5321 section 4.2 and RFC 3463 section 3.
"""

from __future__ import annotations

from typing import Final

from ..reply import Reply

__all__ = [
    "AUTH_ALREADY",
    "AUTH_CANCELLED",
    "AUTH_ENCRYPTION_REQUIRED",
    "AUTH_OK",
    "AUTH_REQUIRED",
    "BAD_BASE64",
    "BAD_SYNTAX",
    "BYE",
    "COMMAND_TOO_LONG",
    "DATA_GO_AHEAD",
    "EXPN_NOT_IMPLEMENTED",
    "HELO_FIRST",
    "LINE_TOO_LONG",
    "MESSAGE_ACCEPTED",
    "MESSAGE_TOO_BIG",
    "NEED_MAIL",
    "NEED_RCPT",
    "NESTED_MAIL",
    "OK",
    "RECIPIENT_OK",
    "REFUSED_SESSION",
    "SENDER_OK",
    "STARTTLS_FIRST",
    "STRICT_ASCII",
    "TLS_READY",
    "TOO_MANY_RECIPIENTS",
    "TOO_MUCH_DATA",
    "VRFY_CANNOT",
    "syntax",
]

OK: Final = Reply(250, "2.0.0", "OK")
SENDER_OK: Final = Reply(250, "2.1.0", "Sender OK")
RECIPIENT_OK: Final = Reply(250, "2.1.5", "Recipient OK")
MESSAGE_ACCEPTED: Final = Reply(250, "2.0.0", "Message accepted for delivery")
DATA_GO_AHEAD: Final = Reply(354, None, "End data with <CR><LF>.<CR><LF>")
BYE: Final = Reply(221, "2.0.0", "Bye")
TLS_READY: Final = Reply(220, "2.0.0", "Ready to start TLS")
AUTH_OK: Final = Reply(235, "2.7.0", "Authentication successful")
VRFY_CANNOT: Final = Reply(
    252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery"
)

# RFC 5321 section 4.1.4 and 3.3: commands out of order.
HELO_FIRST: Final = Reply(503, "5.5.1", "Error: send HELO first")
NEED_MAIL: Final = Reply(503, "5.5.1", "Error: need MAIL command")
NEED_RCPT: Final = Reply(503, "5.5.1", "Error: need RCPT command")
NESTED_MAIL: Final = Reply(503, "5.5.1", "Error: nested MAIL command")
REFUSED_SESSION: Final = Reply(503, "5.5.1", "Connection refused; only QUIT is allowed")
EXPN_NOT_IMPLEMENTED: Final = Reply(502, "5.5.1", "EXPN not implemented")

# Limits (RFC 5321 section 4.5.3.1; RFC 1870 for SIZE).
COMMAND_TOO_LONG: Final = Reply(500, "5.5.2", "Command line too long")
LINE_TOO_LONG: Final = Reply(500, "5.5.2", "Line too long (see RFC5321 4.5.3.1.6)")
MESSAGE_TOO_BIG: Final = Reply(
    552, "5.3.4", "Error: message size exceeds fixed maximum message size"
)
TOO_MUCH_DATA: Final = Reply(552, "5.3.4", "Error: Too much mail data")
BAD_SYNTAX: Final = Reply(500, "5.5.2", "Error: bad syntax")
STRICT_ASCII: Final = Reply(500, "5.5.2", "Error: strict ASCII mode")
TOO_MANY_RECIPIENTS: Final = Reply(452, "4.5.3", "Too many recipients")

# AUTH (RFC 4954 sections 4 and 6).
AUTH_ALREADY: Final = Reply(503, "5.5.1", "Already authenticated")
AUTH_CANCELLED: Final = Reply(501, "5.7.0", "Authentication cancelled")
AUTH_REQUIRED: Final = Reply(530, "5.7.0", "Authentication required")
STARTTLS_FIRST: Final = Reply(530, "5.7.0", "Must issue a STARTTLS command first")
AUTH_ENCRYPTION_REQUIRED: Final = Reply(
    538, "5.7.11", "Encryption required for requested authentication mechanism"
)
BAD_BASE64: Final = Reply(501, "5.5.2", "Cannot decode the response (invalid base64)")


def syntax(text: str, code: int = 501, status: str = "5.5.4") -> Reply:
    """A syntax error reply (``501 5.5.4 <text>`` by default)."""
    return Reply(code, status, text)
