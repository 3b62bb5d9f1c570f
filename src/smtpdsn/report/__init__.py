"""Delivery status notifications as messages (RFC 3464, RFC 6522, RFC 6533).

Build a bounce with :func:`build_report`, read one with :func:`parse_reports`. Both use
only the standard library's :mod:`email` package and the core's registry and reply types.

>>> from smtpdsn.reply import Reply
>>> dsn = build_report(
...     b"Subject: hello\\r\\n\\r\\nHi\\r\\n",
...     [RecipientOutcome("bob@example.org", Reply(550, "5.1.1", "No such user"))],
...     sender="alice@example.com",
...     reporting_mta="mx.example.net",
... )
>>> [report] = parse_reports(bytes(dsn))
>>> rcpt = report.recipients[0]
>>> str(rcpt.final_recipient), rcpt.action, str(rcpt.status), rcpt.diagnostic_reply
('rfc822; bob@example.org', <Action.FAILED: 'failed'>, '5.1.1', Reply(550, '5.1.1', 'No such user'))
>>> build_report(b"", [], sender="", reporting_mta="mx.example.net") is None  # null sender
True
"""

from __future__ import annotations

from .build import build_report, render_report
from .compose import DEFAULT_NOTIFY, RecipientOutcome, compose_report
from .errors import InvalidReportError, ReportSyntaxError
from .model import Action, DeliveryReport, RecipientStatus, TypedValue
from .read import REPORT_TYPES, parse_delivery_status, parse_reports

__all__ = [
    "DEFAULT_NOTIFY",
    "REPORT_TYPES",
    "Action",
    "DeliveryReport",
    "InvalidReportError",
    "RecipientOutcome",
    "RecipientStatus",
    "ReportSyntaxError",
    "TypedValue",
    "build_report",
    "compose_report",
    "parse_delivery_status",
    "parse_reports",
    "render_report",
]
