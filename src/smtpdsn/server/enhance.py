"""Enhanced status codes for replies that lack one (RFC 2034 section 4).

"These codes must appear in all 2xx, 4xx, and 5xx response lines other than initial
greeting and any response to HELO or EHLO." aiosmtpd's own replies (``250 OK``,
``503 Error: need MAIL command`` ...) and those of plain aiosmtpd handlers carry none;
:func:`add_enhanced_status` gives each line the code that fits it, chosen by the reply
code, the command being answered and, for a few texts, the text. Replies that already
carry a code (every :class:`~smtpdsn.reply.Reply` built with a status) are left as they are.

This module is pure (no aiosmtpd import) so it can be tested on its own.
"""

from __future__ import annotations

import re
from typing import Final

from ..status import STATUS_PATTERN

__all__ = ["add_enhanced_status", "has_enhanced_status", "status_for"]

_LINE: Final = re.compile(r"([0-9]{3})([ -]?)(.*)", re.DOTALL)
_HAS_STATUS: Final = re.compile(rf"{STATUS_PATTERN}(?: |$)")

# 2xx replies by the command they answer (RFC 3463 section 3, and Postfix's choices).
_SUCCESS_BY_COMMAND: Final = {
    "MAIL": "2.1.0",  # X.1.0 Other address status: the sender is fine
    "RCPT": "2.1.5",  # X.1.5 Destination address valid
    "AUTH": "2.7.0",
}
# Texts that say more than their code, checked in order: (code, text prefix, status).
_BY_TEXT: Final = (
    (500, "Error: command", "5.5.1"),  # '500 Error: command "X" not recognized'
    (454, "TLS not available", "4.7.0"),
    (554, "Command refused due to lack of security", "5.7.0"),
    (530, "Must issue a STARTTLS command first", "5.7.0"),
)
# Everything else, by reply code.
_BY_CODE: Final = {
    421: "4.0.0",  # service closing channel (a timeout gets 4.4.2, sent by the server)
    450: "4.0.0",
    451: "4.3.0",  # local error in processing
    452: "4.3.1",  # insufficient system storage
    454: "4.7.0",
    455: "4.5.4",
    500: "5.5.2",  # syntax error (line too long, bad syntax, 8-bit command)
    501: "5.5.4",  # syntax error in parameters or arguments
    502: "5.5.1",  # command not implemented
    503: "5.5.1",  # bad sequence of commands
    504: "5.5.4",  # command parameter not implemented
    530: "5.7.0",
    550: "5.0.0",
    551: "5.1.6",
    552: "5.3.4",  # message size exceeds fixed limit / too much mail data
    553: "5.1.3",  # mailbox name not allowed
    554: "5.0.0",
    555: "5.5.4",  # MAIL/RCPT parameters not recognized
}


def has_enhanced_status(line_text: str) -> bool:
    """True when reply text (after the code and separator) starts with an enhanced code."""
    return _HAS_STATUS.match(line_text) is not None


def status_for(code: int, text: str, command: str | None) -> str | None:
    """The enhanced status (``"5.5.1"``) for a reply without one, or None for 1xx/3xx.

    Args:
        code: the reply code.
        text: the first line's text, after the code and separator.
        command: the SMTP command being answered, upper case (``"RCPT"``), or None.
    """
    class_ = code // 100
    if class_ not in (2, 4, 5):
        return None
    if class_ == 2:
        return _SUCCESS_BY_COMMAND.get(command or "", "2.0.0")
    for want_code, prefix, status in _BY_TEXT:
        if code == want_code and text.startswith(prefix):
            return status
    return _BY_CODE.get(code, f"{class_}.0.0")


def add_enhanced_status(reply: str, command: str | None) -> str:
    """Give every line of a 2xx/4xx/5xx reply an enhanced status code, if it has none.

    ``reply`` is one reply, its lines joined by CRLF (or LF), without the final CRLF.
    A reply whose first line already carries a code is returned unchanged; 1xx and 3xx
    replies and text that is not a reply are returned unchanged too.

    >>> add_enhanced_status("503 Error: need MAIL command", "RCPT")
    '503 5.5.1 Error: need MAIL command'
    >>> add_enhanced_status("250 OK", "RCPT")
    '250 2.1.5 OK'
    """
    lines = reply.replace("\r\n", "\n").split("\n")
    first = _LINE.fullmatch(lines[0])
    if first is None:
        return reply
    code = int(first[1])
    if has_enhanced_status(first[3]):
        return reply
    status = status_for(code, first[3], command)
    if status is None:
        return reply
    out: list[str] = []
    for line in lines:
        m = _LINE.fullmatch(line)
        if m is None or int(m[1]) != code:
            return reply  # not a well-formed reply: leave it as the handler wrote it
        sep = m[2] or " "
        text = m[3]
        if has_enhanced_status(text):
            out.append(line)
        elif text:
            out.append(f"{m[1]}{sep}{status} {text}")
        else:
            out.append(f"{m[1]}{sep}{status}")
    return "\r\n".join(out)
