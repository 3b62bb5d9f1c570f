"""Amazon SES notifications delivered by e-mail (SNS): a JSON document in the body.

``notificationType`` is ``Bounce`` (``bounce.bouncedRecipients`` with status and
diagnosticCode), ``Complaint`` (feedback) or ``Delivery`` (delivered). See the SES
developer guide, "Amazon SES notification contents".
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import StatusSyntaxError
from ...status import EnhancedStatus
from ..message import MailView
from ..model import Action, Reason
from ..text import clean_address, one_line
from .base import Candidate

__all__ = ["detect"]


def _document(view: MailView) -> dict[str, Any] | None:
    body = view.body_text.strip()
    start = body.find("{")
    if start < 0 or '"notificationType"' not in body[:2000]:
        return None
    # Sendmail splits lines over 990 octets with "!", a line break and a space.
    text = body[start:].replace("!\n ", "")
    try:
        doc, _ = json.JSONDecoder(strict=False).raw_decode(text)
    except ValueError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("Message"), str):
        try:  # SNS may wrap the SES document as a JSON string in "Message"
            doc = json.loads(doc["Message"])
        except ValueError:
            return None
    return doc if isinstance(doc, dict) else None


def _status(value: object) -> EnhancedStatus | None:
    try:
        return EnhancedStatus.parse(str(value))
    except StatusSyntaxError:
        return None


def _bounce(doc: dict[str, Any]) -> list[Candidate]:
    bounce = doc.get("bounce") or {}
    permanent = str(bounce.get("bounceType", "")).lower() == "permanent"
    suppressed = str(bounce.get("bounceSubType", "")).lower().startswith("onaccountsuppression")
    out: list[Candidate] = []
    for rcpt in bounce.get("bouncedRecipients") or []:
        if not isinstance(rcpt, dict):
            continue
        diag = str(rcpt.get("diagnosticCode", ""))
        if diag.lower().startswith("smtp;"):
            diag = diag[5:]
        action = str(rcpt.get("action", "failed")).lower()
        out.append(
            Candidate(
                recipient=clean_address(str(rcpt.get("emailAddress", ""))),
                status=_status(rcpt.get("status", "")),
                diagnostic=one_line(diag),
                action=Action.DELAYED if action == "delayed" else Action.FAILED,
                reason=Reason.SUPPRESSED if suppressed else None,
                remote_mta=str(bounce.get("reportingMTA", "")).partition(";")[2].strip(),
            )
        )
    if not permanent:
        for c in out:
            if c.status is None:
                c.action = Action.DELAYED
    return out


def detect(view: MailView) -> list[Candidate] | None:
    """Candidates for an SES notification, None for anything else."""
    doc = _document(view)
    if doc is None:
        return None
    kind = str(doc.get("notificationType") or doc.get("eventType") or "").lower()
    if kind == "bounce":
        return _bounce(doc) or None
    if kind == "complaint":
        complaint = doc.get("complaint") or {}
        ftype = str(complaint.get("complaintFeedbackType", "")).lower()
        return [
            Candidate(recipient=clean_address(str(r.get("emailAddress", ""))),
                      reason=Reason.FEEDBACK, feedback_type=ftype)
            for r in complaint.get("complainedRecipients") or [] if isinstance(r, dict)
        ] or None
    if kind == "delivery":
        delivery = doc.get("delivery") or {}
        smtp = one_line(str(delivery.get("smtpResponse", "")))
        return [
            Candidate(recipient=clean_address(str(r)), action=Action.DELIVERED,
                      reason=Reason.DELIVERED, diagnostic=smtp,
                      status=EnhancedStatus(2, 6, 0) if not smtp else None)
            for r in delivery.get("recipients") or []
        ] or None
    return None
