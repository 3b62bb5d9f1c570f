"""From candidates to classified bounces: status, reply code, reason, hard or soft.

Detectors say what the message says; this module decides what it means, the same way for
every format:

* status: the report's, unless the diagnostic text carries a more specific one (a report
  of 5.0.0 with ``550 5.1.1 user unknown`` in its Diagnostic-Code is a 5.1.1); when there
  is none, one derived from the reason and the reply code's class;
* reason: the format's own (feedback, vacation), else the reason table's phrase rules on
  the diagnostic text, else its status rules, else expired for delayed recipients,
  onhold when there is text but nothing recognisable, undefined when there is none;
* hard or soft: :func:`~smtpdsn.classify.hardsoft.is_hard_bounce`.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime
from typing import Final

from ..errors import StatusSyntaxError
from ..report.fields import _common_date
from ..status import EnhancedStatus
from .detectors import DETECTORS, Candidate
from .envelope import envelope_recipients, verp_recipients
from .families import recognise
from .hardsoft import is_hard_bounce
from .message import MailView
from .model import Action, Bounce, ClassifyResult, Reason
from .providers import gmail_state, provider_reason
from .reasons import cause_of_delay, reason_from_status, reason_from_text, says_expired
from .text import find_command, find_reply_code, find_status

__all__ = ["REASON_STATUS", "classify_view"]

_MAX_DIAGNOSTIC: Final = 1000
# "550-5.7.1 text 550 5.7.1 more text": the prefix of each line of a multi-line reply, at
# the start or after white space. The look-behind comes after the first digit (it checks
# the character before that digit) so that the regex engine can skip to a 2, 4 or 5.
_CONTINUED: Final = re.compile(r"[245](?<!\S[245])\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s)?(?=\S)")
# A reply code written twice ("The error that the other server returned was: 550 550 ..."),
# not after a digit or a dot (checked behind the code, as above).
_DOUBLED: Final = re.compile(r"([245]\d\d)(?<![\d.]\d\d\d) \1(?= )")

#: The status a reason implies when the message gives none (subject.detail).
REASON_STATUS: Final[dict[Reason, tuple[int, int]]] = {
    Reason.USERUNKNOWN: (1, 1), Reason.HOSTUNKNOWN: (1, 2), Reason.HASMOVED: (1, 6),
    Reason.REJECTED: (1, 8), Reason.NOTACCEPT: (1, 10), Reason.SUSPEND: (2, 1),
    Reason.MAILBOXFULL: (2, 2), Reason.EXCEEDLIMIT: (2, 3), Reason.SYSTEMFULL: (3, 1),
    Reason.MESGTOOBIG: (3, 4), Reason.SYSTEMERROR: (3, 0), Reason.MAILERERROR: (3, 0),
    Reason.NETWORKERROR: (4, 0), Reason.EXPIRED: (4, 7), Reason.TOOMANYCONN: (4, 5),
    Reason.SYNTAXERROR: (5, 2), Reason.CONTENTERROR: (6, 0),
    Reason.NOTCOMPLIANTRFC: (6, 0), Reason.SECURITYERROR: (7, 0), Reason.BLOCKED: (7, 1),
    Reason.REJECTED: (7, 1), Reason.SPAMDETECTED: (7, 1), Reason.VIRUSDETECTED: (7, 1),
    Reason.POLICYVIOLATION: (7, 1), Reason.FILTERED: (7, 1), Reason.NORELAYING: (7, 1),
    Reason.AUTHFAILURE: (7, 26), Reason.REQUIREPTR: (7, 25), Reason.SPEEDING: (7, 28),
    Reason.BADREPUTATION: (7, 1), Reason.FAILEDSTARTTLS: (7, 10), Reason.SUPPRESSED: (0, 0),
    Reason.ONHOLD: (0, 0), Reason.UNDEFINED: (0, 0),
}


_REFUSED_AT_CONNECT: Final = frozenset(
    {None, Reason.REJECTED, Reason.SYSTEMERROR, Reason.USERUNKNOWN, Reason.HOSTUNKNOWN,
     Reason.ONHOLD, Reason.SECURITYERROR}
)


#: Reasons a Gmail "(state N)" overrides: the text said nothing clearer.
_STATE_DECIDES: Final = frozenset({None, Reason.REJECTED, Reason.ONHOLD, Reason.UNDEFINED})


def _vague(status: EnhancedStatus) -> bool:
    return status.subject == 0 and status.detail == 0


def _prefer(
    report: EnhancedStatus | None, text: EnhancedStatus | None
) -> tuple[EnhancedStatus | None, str]:
    if text is None:
        return report, "report" if report else ""
    if report is None:
        return text, "diagnostic"
    if _vague(text) and not _vague(report):
        return report, "report"
    if report.class_ == 2 and text.class_ != 2:
        return report, "report"
    return text, "diagnostic"


def _reason(
    c: Candidate, status: EnhancedStatus | None, diag: str, command: str, reply: int | None,
    mta: str = "",
) -> Reason:
    if c.reason is not None:
        return c.reason
    if (status is not None and status.class_ == 2) or c.action is Action.DELIVERED:
        return Reason.DELIVERED
    if c.action is Action.DELAYED:
        return _delay_reason(c, status, diag, command, mta)
    lowered = diag.lower()
    hosts = f"{c.remote_mta} {c.recipient} {mta} {lowered}".lower()
    found = provider_reason(hosts, lowered, command, status)
    if found is not None:
        return found  # the recognised provider's own meaning of its words
    found = reason_from_text(diag)
    subject = status.subject if status is not None else 0
    if (
        found is Reason.USERUNKNOWN
        and subject != 1
        and (command == "DATA" or (command == "" and reply is not None))
    ):
        # A remote server's "no such user" after DATA, or with no sign it answered RCPT
        # and no 5.1.x status to back it: the recipient's filter refused the message, not
        # the address (sisimai's rule; the address is not known to be bad, so soft). When
        # the reporting MTA itself found no such user (no reply code), it is userunknown.
        # When the reporting MTA's comment on the status says more ("5.2.1 (mailbox
        # disabled, not accepting messages)"), that is the reason.
        said = reason_from_text(c.status_comment) if c.status_comment else None
        if said is not None and said is not Reason.USERUNKNOWN:
            return said
        return Reason.FILTERED
    if command == "MAIL" and found in (Reason.HOSTUNKNOWN, Reason.USERUNKNOWN):
        return Reason.REJECTED  # refused after MAIL FROM: the sender's address is at fault
    if command in ("CONN", "HELO") and found in _REFUSED_AT_CONNECT:
        # Refused before any address was given: the client itself is blocked.
        return Reason.BLOCKED
    if found is Reason.HOSTUNKNOWN and status is not None and status.class_ == 4:
        return Reason.NETWORKERROR  # a temporary "domain not found" is a DNS failure
    detail = status.detail if status is not None else 0
    if found is Reason.MESGTOOBIG and (subject, detail) == (2, 3):
        return Reason.EXCEEDLIMIT  # the per-mailbox limit (X.2.3), not the system's
    if found is Reason.NETWORKERROR and (subject, detail) == (4, 7):
        return Reason.EXPIRED  # the MTA gave up retrying (X.4.7): the time expired
    if found is Reason.USERUNKNOWN and (subject, detail) == (1, 6):
        return Reason.HASMOVED  # the server says precisely: moved, no forwarding address
    if found is not None:
        return found
    if command in ("CONN", "HELO"):
        return Reason.BLOCKED
    unix = c.diagnostic_type in ("x-unix", "x-postfix") and bool(diag)
    if unix or c.recipient.startswith(("|", "/")):
        return Reason.MAILERERROR  # a pipe or file delivery failed
    found = reason_from_status(status)
    if found is not None:
        return found
    # No reason in the recipient's own text: too little to decide (onhold); none in the
    # notice's general words, or no text at all: no reason found (undefined).
    return Reason.ONHOLD if diag and not c.diagnostic_is_notice else Reason.UNDEFINED


def _delay_reason(
    c: Candidate, status: EnhancedStatus | None, diag: str, command: str, mta: str
) -> Reason:
    """The reason of a delay warning: the cause it gives (nothing has expired while the
    MTA is still trying); ``expired`` only when the MTA says delivery time expired (in
    words, or with an X.4.7 status of its own); ``onhold`` when it names no cause."""
    if (status is not None and (status.subject, status.detail) == (4, 7)) or says_expired(diag):
        return Reason.EXPIRED
    lowered = diag.lower()
    hosts = f"{c.remote_mta} {c.recipient} {mta} {lowered}".lower()
    found = provider_reason(hosts, lowered, command, status)
    if found is None or found is Reason.EXPIRED:
        found = cause_of_delay(diag)
    if found is Reason.HOSTUNKNOWN:
        return Reason.NETWORKERROR  # a temporary "domain not found" is a DNS failure
    if found is None and c.diagnostic_type in ("x-unix", "x-postfix") and diag:
        return Reason.MAILERERROR  # a pipe or file delivery is failing
    if found is None and status is not None and status.detail != 0:
        found = reason_from_status(status)  # a precise code (X.Y.0 says nothing more)
    if found is None or found is Reason.EXPIRED:
        return Reason.ONHOLD
    return found


def _derive_status(
    reason: Reason, reply: int | None, action: Action | None
) -> EnhancedStatus | None:
    if not reason.is_bounce:
        return EnhancedStatus(2, 0, 0) if reason is Reason.DELIVERED else None
    subject, detail = REASON_STATUS.get(reason, (0, 0))
    if reply is not None and reply // 100 in (4, 5):
        class_ = reply // 100
    else:
        class_ = 4 if action is Action.DELAYED else 5
    try:
        return EnhancedStatus(class_, subject, detail)
    except StatusSyntaxError:  # pragma: no cover - the table holds valid codes
        return None


def _unwrap(diag: str) -> str:
    """Drop the reply code and status repeated on each line of a multi-line reply."""
    if _DOUBLED.search(diag):
        diag = _DOUBLED.sub(r"\1", diag)  # Gmail's "550 550 5.1.1 ...": one reply
    first = _CONTINUED.search(diag)
    if first is None:
        return diag
    head, tail = diag[: first.end()], diag[first.end() :]
    return head + " ".join(_CONTINUED.sub(" ", tail).split())


def _bounce(c: Candidate, mta: str, detector: str, date: datetime | None) -> Bounce:
    diag = _unwrap(c.diagnostic[:_MAX_DIAGNOSTIC])
    status, source = _prefer(c.status, find_status(diag))
    reply = c.reply_code if c.reply_code is not None else find_reply_code(diag)
    command = c.command or find_command(diag) or find_command(c.context[:2000])
    state = gmail_state(diag) if mta == "gmail" else None
    if state is not None:
        # Gmail's "(state N)": the SMTP stage its client had reached, and its meaning.
        command = state[0]
        if state[2] and c.reason is None:
            reason = state[1]
        else:
            reason = _reason(c, status, diag, command, reply, mta)
            if reason_from_text(diag) in _STATE_DECIDES:
                reason = state[1]  # the text says nothing clearer than the state
    else:
        reason = _reason(c, status, diag, command, reply, mta)
    if status is None:
        status = _derive_status(reason, reply, c.action)
        source = "reason" if status is not None else ""
    action = c.action
    if action is None and reason.is_bounce:
        action = Action.FAILED
    return Bounce(
        recipient=c.recipient,
        status=status,
        reply_code=reply,
        reason=reason,
        # A delay warning is never a hard bounce: the MTA is still trying.
        hard_bounce=(False if action is Action.DELAYED and reason.is_bounce
                     else is_hard_bounce(reason, status, reply)),
        action=action,
        diagnostic=diag,
        mta=mta,
        detector=detector,
        timestamp=c.timestamp or date,
        status_source=source,
        remote_mta=c.remote_mta,
        command=command,
        feedback_type=c.feedback_type,
        original_recipient=c.original_recipient,
    )


def _message_date(view: MailView) -> datetime | None:
    value = view.header("Date")
    if not value:
        return None
    common = _common_date(value)  # the form nearly every MTA writes, read directly
    if common is not None:
        return common
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _fill_from_envelope(view: MailView, found: list[Candidate]) -> None:
    """Recipients the message names in no readable form, and original recipients it does
    not give, from the envelope (VERP, X-Failed-Recipients, the returned message's
    Delivered-To): only when the counts match one to one."""
    missing = [c for c in found if not c.recipient and c.reason is None]
    if missing:
        recovered = envelope_recipients(view)
        if len(recovered) == len(missing):
            for c, address in zip(missing, recovered, strict=True):
                c.recipient = address
    if len(found) == 1 and not found[0].original_recipient:
        verp = verp_recipients(view)
        if len(verp) == 1:
            found[0].original_recipient = verp[0]


def classify_view(view: MailView) -> ClassifyResult:
    """Run the detectors on ``view`` and classify what the first successful one found."""
    result = ClassifyResult(warnings=view.warnings)
    for info in DETECTORS:
        try:
            found = info.detect(view)
        except Exception as exc:  # a detector bug must not lose the whole mailbox
            view.warnings.append(f"internal error in detector {info.name}: {exc!r}")
            continue
        if not found:
            continue
        _fill_from_envelope(view, found)
        mta = recognise(view)
        # The message's Date only stands in for a missing per-recipient date.
        date = None if all(c.timestamp for c in found) else _message_date(view)
        result.mta = mta
        result.recipients = [_bounce(c, mta, info.name, date) for c in found if c.recipient
                             or c.reason is not None]
        break
    result.warnings.extend(view.msg.notes)
    defects = view.msg.defects
    if defects and result.recipients:
        result.warnings.extend(f"malformed message: {d}" for d in defects[:5])
    return result
