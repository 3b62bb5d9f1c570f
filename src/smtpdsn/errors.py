"""The errors smtpdsn raises.

Every error is a :class:`ValueError`, so code that already catches ``ValueError`` around
its input handling keeps working. They are split by whose value was wrong:

* :class:`InvalidReplyError`: the program built something invalid (a reply code of ``600``,
  an enhanced status whose class disagrees with its reply code).
* :class:`StatusSyntaxError`: a string is not an RFC 3463 enhanced status code.
* :class:`ReplySyntaxError`: text read from an SMTP peer is not a well-formed reply.
"""

from __future__ import annotations

__all__ = [
    "DSNError",
    "InvalidReplyError",
    "ReplySyntaxError",
    "StatusSyntaxError",
    "XtextError",
]


class DSNError(ValueError):
    """Base class of every smtpdsn error. It is never raised itself."""

    def __init__(self, message: str) -> None:
        if type(self) is DSNError:
            raise TypeError("DSNError is a base class; raise one of its subclasses")
        super().__init__(message)


class StatusSyntaxError(DSNError):
    """A string is not an enhanced status code in the RFC 3463 grammar."""


class InvalidReplyError(DSNError):
    """A reply cannot be built from the values given (bad code, status, or verdict)."""


class ReplySyntaxError(DSNError):
    """Text received as an SMTP reply does not follow RFC 5321 / RFC 2034.

    ``line`` is the 1-based number of the offending line, when one line is at fault.
    """

    line: int | None

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class XtextError(DSNError):
    """A value is not valid xtext (RFC 3461 section 4) or utf-8-addr-xtext (RFC 6533)."""
