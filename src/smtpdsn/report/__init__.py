"""Delivery status notifications as messages (RFC 3464, RFC 6522, RFC 6533).

Build a bounce with :func:`build_report`, read one with :func:`parse_reports`. Both use
only the standard library's :mod:`email` package and the core's registry and reply types.
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
