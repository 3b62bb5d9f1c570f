"""``smtpdsn report FILE...``: read the delivery status reports (RFC 3464) of messages.

Prints one JSON object per report per line. The keys are the RFC 3464 field names in
snake_case; typed fields (``address-type;address``, ``mta-name-type;mta-name``,
``diagnostic-type;text``) are ``{"type": ..., "value": ...}``; dates are ISO 8601::

    {"file": "bounce.eml", "original_envelope_id": null,
     "reporting_mta": {"type": "dns", "value": "mx.example.net"}, "dsn_gateway": null,
     "received_from_mta": null, "arrival_date": "2026-01-01T10:00:00+00:00",
     "extensions": [{"name": "X-Postfix-Queue-ID", "value": "4F0A1"}], "is_global": false,
     "recipients": [{"original_recipient": null,
                     "final_recipient": {"type": "rfc822", "value": "bob@example.org"},
                     "action": "failed", "status": "5.1.1", "status_comment": null,
                     "remote_mta": {"type": "dns", "value": "mx.example.org"},
                     "diagnostic_code": {"type": "smtp", "value": "550 5.1.1 No such user"},
                     "last_attempt_date": null, "final_log_id": null,
                     "will_retry_until": null, "extensions": []}],
     "warnings": []}

``file`` names the source as ``smtpdsn classify`` does (``NAME#n`` for the n-th message
of an mbox). A message without a report is one line ``{"file": ..., "error": ...}``.
``--table`` prints a row per recipient for people. Over a hundred messages a progress bar
runs on stderr. Exit status 0 when every file was read (with or without reports), 1 when
one could not be read, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TextIO

from .._inputs import Progress, read_all
from .errors import ReportSyntaxError
from .model import DeliveryReport, RecipientStatus, TypedValue
from .read import parse_reports

__all__ = ["add_arguments", "report_json", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``report`` arguments to ``parser``."""
    parser.add_argument(
        "files", nargs="+", metavar="FILE",
        help="message files, '-' for stdin, mbox files or Maildir folders",
    )
    parser.add_argument("--table", action="store_true", help="print a table for people")
    parser.add_argument("--strict", action="store_true",
                        help="refuse any deviation from RFC 3464 (an error line instead)")
    parser.add_argument(
        "--no-progress", action="store_true", help="never show the progress bar"
    )


def _typed(value: TypedValue | None) -> dict[str, str] | None:
    return None if value is None else {"type": value.type, "value": value.value}


def _date(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _extensions(fields: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in fields]


def _recipient_json(rcpt: RecipientStatus) -> dict[str, object]:
    return {
        "original_recipient": _typed(rcpt.original_recipient),
        "final_recipient": _typed(rcpt.final_recipient),
        "action": rcpt.action.value if rcpt.action is not None else None,
        "status": str(rcpt.status) if rcpt.status is not None else None,
        "status_comment": rcpt.status_comment,
        "remote_mta": _typed(rcpt.remote_mta),
        "diagnostic_code": _typed(rcpt.diagnostic_code),
        "last_attempt_date": _date(rcpt.last_attempt_date),
        "final_log_id": rcpt.final_log_id,
        "will_retry_until": _date(rcpt.will_retry_until),
        "extensions": _extensions(rcpt.extensions),
    }


def report_json(report: DeliveryReport) -> dict[str, object]:
    """A report as the JSON object ``smtpdsn report`` prints (without ``file``).

    ``action`` is the RFC 3464 value (``expired`` reads as ``failed``; the warning says
    so) or None when the field is missing or unknown; ``status`` is the enhanced code
    (``status_comment`` the text after it) or None when missing or invalid.
    """
    return {
        "original_envelope_id": report.original_envelope_id,
        "reporting_mta": _typed(report.reporting_mta),
        "dsn_gateway": _typed(report.dsn_gateway),
        "received_from_mta": _typed(report.received_from_mta),
        "arrival_date": _date(report.arrival_date),
        "extensions": _extensions(report.extensions),
        "is_global": report.is_global,
        "recipients": [_recipient_json(rcpt) for rcpt in report.recipients],
        "warnings": list(report.warnings),
    }


def _cut(text: object, width: int) -> str:
    value = "-" if text is None else str(text)
    return value if len(value) <= width else value[: width - 1] + "~"


def _label(label: str) -> str:
    """The end of a file label, which tells files apart."""
    return label if len(label) <= 28 else "~" + label[-27:]


def _table_rows(label: str, report: DeliveryReport) -> list[str]:
    rows = []
    for rcpt in report.recipients:
        who = rcpt.final_recipient.value if rcpt.final_recipient else None
        diag = rcpt.diagnostic_code.value if rcpt.diagnostic_code else None
        rows.append(
            f"{_label(label):28} {_cut(who, 32):32} "
            f"{_cut(rcpt.action.value if rcpt.action else rcpt.action_text, 9):9} "
            f"{_cut(rcpt.status, 9):9} "
            f"{_cut(rcpt.remote_mta.value if rcpt.remote_mta else None, 24):24} "
            f"{_cut(diag, 60)}"
        )
    return rows


def run(
    args: argparse.Namespace,
    out: TextIO | None = None,
    err: TextIO | None = None,
    stdin: bytes | None = None,
) -> int:
    """Read every message named by ``args.files``; 0 when all were read, 1 if one failed."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    messages, ok = read_all(args.files, "report", err, stdin)
    progress = Progress(len(messages), err, enabled=not getattr(args, "no_progress", False))
    table = bool(getattr(args, "table", False))
    strict = bool(getattr(args, "strict", False))
    reports = missing = 0
    if table:
        out.write(f"{'file':28} {'final recipient':32} {'action':9} {'status':9} "
                  f"{'remote mta':24} diagnostic\n")
    for done, (label, raw) in enumerate(messages, 1):
        try:
            found = parse_reports(raw, strict=strict)
        except ReportSyntaxError as exc:
            missing += 1
            if table:
                out.write(f"{_label(label):28} (no report: {_cut(str(exc), 80)})\n")
            else:
                out.write(json.dumps({"file": label, "error": str(exc)}, ensure_ascii=False)
                          + "\n")
        else:
            reports += len(found)
            for report in found:
                if table:
                    out.writelines(row + "\n" for row in _table_rows(label, report))
                else:
                    row: dict[str, object] = {"file": label}
                    row.update(report_json(report))
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
        progress.update(done)
    progress.close()
    summary = out if table else err
    summary.write(f"{len(messages)} messages; {reports} reports; "
                  f"{missing} messages without a report\n")
    return 0 if ok else 1
