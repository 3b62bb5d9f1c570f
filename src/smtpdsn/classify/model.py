"""The typed result of bounce classification.

A :class:`ClassifyResult` holds one :class:`Bounce` per failed, delayed or delivered
recipient found in a message (and one per reported recipient of an ARF feedback report or
an RFC 3834 auto-reply), plus warnings about what could not be read.

The reason vocabulary is sisimai's (2025 names), listed in
``../shared/reference/bounce-reasons.tsv`` and documented in ``docs/classify.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ..status import EnhancedStatus

__all__ = ["Action", "Bounce", "ClassifyResult", "Reason"]


class Reason(StrEnum):
    """Why a recipient bounced (sisimai's 2025 vocabulary)."""

    #: Rejected for an SPF, DKIM or DMARC failure.
    AUTHFAILURE = "authfailure"
    #: Rejected for the sending IP address's reputation.
    BADREPUTATION = "badreputation"
    #: Rejected for the client IP address or host name (block lists, policy on the client).
    BLOCKED = "blocked"
    #: Rejected for the format of a header.
    CONTENTERROR = "contenterror"
    #: Delivered successfully (a success DSN).
    DELIVERED = "delivered"
    #: Rejected because the message exceeds a per-mailbox or administrative size limit.
    EXCEEDLIMIT = "exceedlimit"
    #: Delivery time expired (the MTA gave up retrying).
    EXPIRED = "expired"
    #: STARTTLS failed or was required.
    FAILEDSTARTTLS = "failedstarttls"
    #: An ARF (RFC 5965) complaint or feedback report.
    FEEDBACK = "feedback"
    #: Rejected by a filter on the recipient's side after DATA (recipient's rules).
    FILTERED = "filtered"
    #: The mailbox has moved and mail is not forwarded.
    HASMOVED = "hasmoved"
    #: The domain of the recipient address does not exist.
    HOSTUNKNOWN = "hostunknown"
    #: The recipient's mailbox is full.
    MAILBOXFULL = "mailboxfull"
    #: A local delivery program (pipe, MDA) failed.
    MAILERERROR = "mailererror"
    #: The message is too big for the destination server.
    MESGTOOBIG = "mesgtoobig"
    #: DNS lookup or network failure.
    NETWORKERROR = "networkerror"
    #: Relaying denied.
    NORELAYING = "norelaying"
    #: The destination does not accept mail at all (null MX, no MX).
    NOTACCEPT = "notaccept"
    #: Rejected as not compliant with the RFCs (headers, line lengths, ...).
    NOTCOMPLIANTRFC = "notcompliantrfc"
    #: Too little information to decide.
    ONHOLD = "onhold"
    #: Rejected by a policy of the destination host.
    POLICYVIOLATION = "policyviolation"
    #: Rejected because of the sender's (envelope from) address.
    REJECTED = "rejected"
    #: Rejected for a missing or invalid PTR record of the sending IP.
    REQUIREPTR = "requireptr"
    #: Rejected for a security violation (authentication required, ...).
    SECURITYERROR = "securityerror"
    #: Rejected by a spam filter.
    SPAMDETECTED = "spamdetected"
    #: Rejected for sending too fast (rate limit).
    SPEEDING = "speeding"
    #: Not sent because the address is on the sending service's suppression list.
    SUPPRESSED = "suppressed"
    #: The recipient's account is suspended or disabled.
    SUSPEND = "suspend"
    #: A syntax error in an SMTP command.
    SYNTAXERROR = "syntaxerror"
    #: A system error on the remote host.
    SYSTEMERROR = "systemerror"
    #: The remote host's disk is full.
    SYSTEMFULL = "systemfull"
    #: Too many connections to the remote host.
    TOOMANYCONN = "toomanyconn"
    #: No reason could be found.
    UNDEFINED = "undefined"
    #: The local part of the recipient address does not exist.
    USERUNKNOWN = "userunknown"
    #: An RFC 3834 auto-reply (out of office).
    VACATION = "vacation"
    #: Rejected by a virus scanner.
    VIRUSDETECTED = "virusdetected"

    @property
    def is_bounce(self) -> bool:
        """False for the reasons that are not delivery failures (delivered, feedback, vacation)."""
        return self not in _NOT_BOUNCES


_NOT_BOUNCES = frozenset({Reason.DELIVERED, Reason.FEEDBACK, Reason.VACATION})


class Action(StrEnum):
    """What happened to the recipient (RFC 3464 section 2.3.3 action values)."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    EXPANDED = "expanded"


@dataclass(frozen=True, slots=True)
class Bounce:
    """One recipient of a bounce, feedback report or auto-reply, classified."""

    #: The recipient address as found ("" when the message names none, as some ARF reports).
    recipient: str
    #: The enhanced status: the report's, or one found in the diagnostic text, or derived
    #: from the reply code and reason. None when nothing supports one (feedback, vacation).
    status: EnhancedStatus | None
    #: The SMTP reply code found in the diagnostic text, if any.
    reply_code: int | None
    #: The reason, from the vocabulary of :class:`Reason`.
    reason: Reason
    #: True: stop sending to this address; False: a soft or non-address failure;
    #: None: not a delivery failure at all (delivered, feedback, vacation).
    hard_bounce: bool | None
    #: The RFC 3464 action (failed, delayed, delivered ...) or None (feedback, vacation).
    action: Action | None
    #: The diagnostic text (the remote server's reply or the MTA's explanation), one line.
    diagnostic: str
    #: The family of the MTA that wrote the report, e.g. "postfix", "exim", "qmail".
    mta: str
    #: Which detector found the recipient, e.g. "rfc3464", "arf", "text".
    detector: str
    #: When the failure happened (Last-Attempt-Date, Arrival-Date, or the message Date).
    timestamp: datetime | None = None
    #: Where the status came from: "report", "diagnostic", "reply-code" or "reason".
    status_source: str = ""
    #: The remote MTA named by the report, if any.
    remote_mta: str = ""
    #: The SMTP command the failure followed (RCPT, DATA, MAIL ...), if known.
    command: str = ""
    #: The ARF Feedback-Type (abuse, opt-out ...) for feedback reports.
    feedback_type: str = ""
    #: The address the sender (a list manager) used, before aliasing or forwarding: the
    #: report's Original-Recipient (RFC 3464 section 2.3.1, the ORCPT of RFC 3461), the
    #: notice's "expanded from <addr>", or the recipient a VERP return path encodes; ""
    #: when the message gives none.
    original_recipient: str = ""

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready dict (the CLI's keys plus the others)."""
        return {
            "recipient": self.recipient,
            "status": str(self.status) if self.status else None,
            "reply_code": self.reply_code,
            "reason": str(self.reason),
            "hard_bounce": self.hard_bounce,
            "action": str(self.action) if self.action else None,
            "diagnostic": self.diagnostic,
            "mta": self.mta,
            "detector": self.detector,
            "timestamp": self.timestamp.isoformat() if self.timestamp else None,
            "status_source": self.status_source,
            "remote_mta": self.remote_mta,
            "command": self.command,
            "feedback_type": self.feedback_type,
            "original_recipient": self.original_recipient or None,
        }


@dataclass(slots=True)
class ClassifyResult:
    """Everything :func:`smtpdsn.classify.classify` found in one message."""

    #: One entry per recipient, in the order the message lists them. Empty when the
    #: message is not a bounce, feedback report or auto-reply.
    recipients: list[Bounce] = field(default_factory=list)
    #: What could not be read (malformed parts, undecodable text ...), for people.
    warnings: list[str] = field(default_factory=list)
    #: The MTA family recognised ("" when none was).
    mta: str = ""

    def __bool__(self) -> bool:
        return bool(self.recipients)

    def __len__(self) -> int:
        return len(self.recipients)
