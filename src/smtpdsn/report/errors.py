"""The errors of the report package (RFC 3464 delivery status notifications).

Both are :class:`smtpdsn.errors.DSNError` subclasses, so both are :class:`ValueError`:

* :class:`ReportSyntaxError`: data given to :func:`~smtpdsn.report.parse_reports` is not a
  delivery status notification, or is too malformed to use (or, in strict mode, deviates
  from RFC 3464 at all).
* :class:`InvalidReportError`: :func:`~smtpdsn.report.build_report` was given values it
  cannot put in a valid report (a reporting MTA name that is not a host name, an address
  too long for a header line, a naive datetime ...).
"""

from __future__ import annotations

from ..errors import DSNError

__all__ = ["InvalidReportError", "ReportSyntaxError"]


class ReportSyntaxError(DSNError):
    """Data read as a delivery status notification is not one, or is unusable.

    ``line`` is the 1-based line number inside the delivery-status part when one line is
    at fault, else None.
    """

    line: int | None

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


class InvalidReportError(DSNError):
    """A delivery status notification cannot be built from the values given."""
