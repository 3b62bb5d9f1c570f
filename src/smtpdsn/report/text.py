"""The human-readable part of a delivery status notification (RFC 6522 section 3, first
body part): what happened to each recipient, in plain words from the status code registry.
"""

from __future__ import annotations

import textwrap
from typing import Final

from .fields import clean_text
from .model import Action, DeliveryReport, RecipientStatus

__all__ = ["explain", "subject_for"]

_WIDTH: Final = 76
# The explanation quotes at most this much of a diagnostic (the report part has it all).
_MAX_SAID: Final = 2000
_OUTCOME: Final = {
    Action.FAILED: "could not be delivered",
    Action.DELAYED: "has not been delivered yet; delivery is still being tried",
    Action.DELIVERED: "was delivered",
    Action.RELAYED: "was passed on to a system that does not send delivery reports",
    Action.EXPANDED: "was delivered to a list address and passed on to its members",
}


def subject_for(report: DeliveryReport) -> str:
    """The Subject of a report: about failures first, then delays, then successes."""
    actions = {rcpt.action for rcpt in report.recipients}
    if Action.FAILED in actions:
        return "Undelivered Mail Returned to Sender"
    if Action.DELAYED in actions:
        return "Delayed Mail (still being retried)"
    return "Successful Mail Delivery Report"


def _intro(report: DeliveryReport, host: str) -> list[str]:
    actions = {rcpt.action for rcpt in report.recipients}
    if Action.FAILED in actions:
        text = (
            "Your message could not be delivered to one or more recipients. "
            "The details are below."
        )
    elif Action.DELAYED in actions:
        text = (
            "Your message has not been delivered yet to one or more recipients. "
            "The mail system will keep trying; you do not need to send it again."
        )
    else:
        text = "This is the delivery report you asked for."
    return [f"This is the mail system at {host}.", "", *textwrap.wrap(text, _WIDTH)]


def _recipient(rcpt: RecipientStatus) -> list[str]:
    # The decoded address may hold characters the field escaped (RFC 6533): clean them.
    who = (
        clean_text(rcpt.final_recipient.address)
        if rcpt.final_recipient is not None
        else "(unknown)"
    )
    outcome = _OUTCOME.get(rcpt.action, "has an unknown outcome") if rcpt.action else "?"
    paragraphs = [f"<{who}>: your message {outcome}."]
    status = rcpt.status
    if status is not None:
        paragraphs.append(f"Status {status.describe()}.")
        entry = status.entry
        if entry is not None and entry.description and not entry.deprecated:
            first = entry.description.split(". ")[0].rstrip(".")
            paragraphs.append(first + ".")
    diagnostic = rcpt.diagnostic_code
    said: list[str] = []
    if diagnostic is not None and diagnostic.value:
        server = f"The server {rcpt.remote_mta.value}" if rcpt.remote_mta else "The server"
        reply = rcpt.diagnostic_reply
        if reply is not None and len(reply.lines) > 1:
            paragraphs.append(f"{server} said:")
            said = [f"        {line}" for line in reply.split("\r\n")]
        else:
            said_text = diagnostic.value
            if len(said_text) > _MAX_SAID:
                said_text = said_text[:_MAX_SAID] + " [...]"
            paragraphs.append(f"{server} said: {said_text}")
    if rcpt.will_retry_until is not None:
        paragraphs.append(
            "Delivery will be tried until "
            f"{rcpt.will_retry_until.strftime('%Y-%m-%d %H:%M %z')}."
        )
    lines: list[str] = []
    for i, text in enumerate(paragraphs):
        if said and text.endswith(" said:"):
            lines.extend(_wrap(text, "    "))
            lines.extend(said)
            continue
        indent = "" if i == 0 else "    "
        lines.extend(_wrap(text, indent))
    return lines


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(
        text, _WIDTH, initial_indent=indent, subsequent_indent="    ", break_on_hyphens=False
    ) or [indent]


def explain(report: DeliveryReport, host: str) -> str:
    """The plain-text explanation of a report, one paragraph per recipient.

    Args:
        report: the report (values already safe for a message).
        host: the reporting MTA's name, for the first sentence.

    Returns:
        The text, lines joined by ``"\\n"`` and ending in one.
    """
    lines = _intro(report, host)
    for rcpt in report.recipients:
        lines.append("")
        lines.extend(_recipient(rcpt))
    return "\n".join(lines) + "\n"
