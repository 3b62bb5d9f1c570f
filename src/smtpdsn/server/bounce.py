"""Accept, then bounce (or delay): the DSN a recipient marked for it is due.

A rule with ``then = "bounce"`` or ``then = "delay"`` (or a plugin) accepts a recipient at
RCPT and marks it in ``envelope.dsn_then`` with a :class:`Then`: the reply the failed (or
delayed) delivery attempt "got". When the message has been received, :func:`build_bounce`
turns the marked recipients into one delivery status notification with
:func:`smtpdsn.report.build_report`, honouring the envelope's NOTIFY, ORCPT, RET and ENVID
(``envelope.dsn_rcpt``, ``envelope.dsn_mail``). It is None when no report is due: no
marked recipient, a null sender (``MAIL FROM:<>``), or NOTIFY that does not ask for it.

``smtpdsn serve`` stores that DSN in the Maildir next to the original message, in the same
delivery step (:meth:`~smtpdsn.server.maildir.Maildir.deliver_all`), before the ``250``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Final, Literal

from ..reply import Reply
from ..report import Action, RecipientOutcome, build_report

__all__ = ["DEFAULT_RETRY_FOR", "Then", "build_bounce"]

#: How long a delayed recipient "will be retried" after the message arrived
#: (Will-Retry-Until), unless the rule says otherwise: 5 days, Postfix's
#: ``maximal_queue_lifetime``.
DEFAULT_RETRY_FOR: Final = timedelta(days=5)


@dataclass(frozen=True, slots=True)
class Then:
    """What happens to an accepted recipient after the message is received.

    Attributes:
        action: ``"bounce"`` (the DSN says Action: failed) or ``"delay"`` (Action:
            delayed, with Will-Retry-Until).
        reply: the reply the delivery attempt got: its code, enhanced status and text
            become the Status and the ``smtp`` Diagnostic-Code. A 4xx reply with
            ``"bounce"`` reports a failure after transient errors (Action: failed,
            Status 4.x.x).
        retry_for: for ``"delay"``, Will-Retry-Until is the arrival time plus this
            (default :data:`DEFAULT_RETRY_FOR`).
    """

    action: Literal["bounce", "delay"]
    reply: Reply
    retry_for: timedelta | None = None


def _outcome(rcpt: str, then: Then, envelope: Any, arrival: datetime) -> RecipientOutcome:
    params = getattr(envelope, "dsn_rcpt", {}).get(rcpt)
    if then.action == "delay":
        retry_for = then.retry_for if then.retry_for is not None else DEFAULT_RETRY_FOR
        return RecipientOutcome(
            rcpt,
            then.reply,
            action=Action.DELAYED,
            params=params,
            will_retry_until=arrival + retry_for,
        )
    return RecipientOutcome(rcpt, then.reply, action=Action.FAILED, params=params)


def build_bounce(envelope: Any, *, reporting_mta: str, arrival: datetime) -> EmailMessage | None:
    """The DSN for the recipients marked in ``envelope.dsn_then``, or None when none is due.

    Args:
        envelope: the transaction (``mail_from``, ``rcpt_tos``, ``original_content``,
            ``dsn_mail``, ``dsn_rcpt``, ``dsn_then``).
        reporting_mta: this server's host name (Reporting-MTA, ``MAILER-DAEMON@<name>``).
        arrival: when the message arrived (Arrival-Date, and the start of
            Will-Retry-Until), timezone-aware.

    Raises:
        smtpdsn.report.InvalidReportError: no valid report can be built (for example the
            reporting MTA name is not a host name).
    """
    marks: dict[str, Then] = getattr(envelope, "dsn_then", None) or {}
    outcomes = []
    seen: set[str] = set()
    for rcpt in envelope.rcpt_tos:
        then = marks.get(rcpt)
        if then is None or rcpt in seen:
            continue
        seen.add(rcpt)
        outcomes.append(_outcome(rcpt, then, envelope, arrival))
    if not outcomes:
        return None
    return build_report(
        envelope.original_content or b"",
        outcomes,
        sender=envelope.mail_from or "",
        reporting_mta=reporting_mta,
        mail_params=getattr(envelope, "dsn_mail", None),
        arrival_date=arrival,
    )
