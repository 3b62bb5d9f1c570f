"""Provider rules: what a given provider's own wording or code means (data only).

Large providers answer with their own codes and house phrasing, and some of them use the
same words as everybody else for something else (KDDI's ``550 : User unknown`` is its
domain filter, not an unknown address). Such rules only apply when the provider is
recognised: each row names the provider by a pattern on its host names (the Remote-MTA,
the recipient's domain, the host names and URLs in the diagnostic, the MTA family) and
then says what a phrase, optionally with an SMTP command or status, means there.

The decisions are those of sisimai's ``Sisimai::Rhost::*`` and ``Sisimai::Lhost::Gmail``
modules (BSD 2-Clause, https://libsisimai.org/), which read the providers' published error
code pages; each row names its source. A row applies only when the provider's host
pattern matches, so the wording stays with the provider that uses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from ..status import EnhancedStatus
from .model import Reason
from .prefilter import Prechecked

__all__ = ["GMAIL_STATES", "PROVIDER_RULES", "ProviderRule", "gmail_state", "provider_reason"]

R = Reason


@dataclass(frozen=True, slots=True)
class ProviderRule:
    """One row: when ``hosts`` matches and ``text`` is in the diagnostic, it is ``reason``.

    ``command`` (an SMTP command: RCPT, DATA ...) and ``status`` (a status prefix such as
    ``"5.0.0"`` or ``"5.2."``) narrow the row further when given.
    """

    provider: str
    hosts: str
    text: str
    reason: Reason
    command: str = ""
    status: str = ""


# Host names of each provider (searched in the lower-cased host text, see module doc).
_KDDI: Final = r"ezweb\.ne\.jp|\bau\.com\b|auone-net\.jp|uqmobile\.jp|\bkddi\b"
_DOCOMO: Final = r"docomo\.ne\.jp"
_YAHOO: Final = r"yahoo(?:dns)?\.(?:com|net|co\.jp)|\baol\.com|verizonmedia|yahooinc|" \
                r"delivery error: dd "
_ORANGE: Final = r"orange\.fr|wanadoo\.fr|laposte\.net|\b(?:ofr|lpn)\d*_\d{3}\b"
_MIMECAST: Final = r"mimecast\.com"
_COX: Final = r"\bcox\.net|cox\.com|cloudfilter\.net"
_SPECTRUM: Final = r"spectrum\.net|charter\.net|\brr\.com|twc\.com"
_ZOHO: Final = r"zoho\.com|zohomail\.com"
_HOTMAIL: Final = r"hotmail\.com|outlook\.com|\blive\.com|\bmsn\.com|\boutlook\b"

#: Ordered rows; the first matching row wins.
PROVIDER_RULES: Final[tuple[ProviderRule, ...]] = (
    # KDDI (au, ezweb.ne.jp): an empty address before "User unknown" is the recipient's
    # domain filter, an address is an unknown user (sisimai Rhost::KDDI).
    ProviderRule("kddi", _KDDI, r"\b550:? : user unknown", R.FILTERED),
    ProviderRule("kddi", _KDDI, r">: (?:user unknown|recipient address rejected)",
                 R.USERUNKNOWN),
    # NTT docomo: "550 Unknown user" after DATA with 5.0.0 is the recipient's refusal of
    # the sender, with X.2.0 its filter (sisimai Rhost::NTTDOCOMO).
    ProviderRule("docomo", _DOCOMO, r"unknown user", R.USERUNKNOWN, status="5.1.1"),
    ProviderRule("docomo", _DOCOMO, r"unknown user", R.FILTERED, status="5.2.0"),
    ProviderRule("docomo", _DOCOMO, r"unknown user", R.USERUNKNOWN, command="RCPT"),
    ProviderRule("docomo", _DOCOMO, r"unknown user", R.REJECTED, command="DATA",
                 status="5.0.0"),
    # Yahoo Inc. (https://senders.yahooinc.com/smtp-error-codes): "554 delivery error: dd
    # This user doesn't have a yahoo.com account"; [TSS04] deferrals (sisimai: rejected).
    ProviderRule("yahoo", _YAHOO, r"delivery error: dd this user doesn't have an? ",
                 R.USERUNKNOWN),
    ProviderRule("yahoo", _YAHOO, r"\[tss04\]", R.REJECTED, command="MAIL"),
    # Orange / La Poste (Orange's postmaster error codes OFR_nnn / LPNnnn_nnn).
    ProviderRule("orange", _ORANGE, r"\b(?:ofr|lpn)\d*_416\b", R.USERUNKNOWN),
    ProviderRule("orange", _ORANGE, r"\b(?:ofr|lpn)\d*_50[6]\b", R.SPAMDETECTED),
    ProviderRule("orange", _ORANGE, r"\b(?:ofr|lpn)\d*_505\b", R.SYSTEMERROR),
    ProviderRule("orange", _ORANGE, r"\b(?:ofr|lpn)\d*_630\b", R.POLICYVIOLATION),
    # Mimecast's documented SMTP codes (community.mimecast.com, "Mimecast SMTP error codes").
    ProviderRule("mimecast", _MIMECAST, r"host network not allowed", R.POLICYVIOLATION),
    ProviderRule("mimecast", _MIMECAST, r"mcspamsignature", R.VIRUSDETECTED),
    # Cox (https://www.cox.com/residential/support/email-error-codes.html): AUP#CDRBL is
    # Cox's own block list.
    ProviderRule("cox", _COX, r"aup#cdrbl", R.BLOCKED),
    # Spectrum (https://www.spectrum.net/support/internet/understanding-email-error-codes):
    # AUP#In-1310: too many connections from the sending IP (only this code is mapped).
    ProviderRule("spectrum", _SPECTRUM, r"aup#in-1310\b", R.TOOMANYCONN),
    # Zoho Mail: refusals of the sender (sisimai Rhost::Zoho).
    ProviderRule("zoho", _ZOHO, r"mail rejected by destination domain|"
                 r"email cannot be delivered\. reason: email flagged as spam", R.REJECTED),
    # Outlook.com / Hotmail: RFC 5321's "mailbox unavailable" is its unknown-address reply.
    ProviderRule("hotmail", _HOTMAIL, r"550 requested action not taken: mailbox unavailable",
                 R.USERUNKNOWN),
    # Exchange Online (Microsoft Learn, "Fix email delivery issues for error code 5.4.1 in
    # Exchange Online"): "550 5.4.1 Recipient address rejected: Access denied" is its
    # directory-based edge blocking: the address does not exist in the recipient's
    # organisation (the AS(201806281) tag says the same).
    ProviderRule("office365", _HOTMAIL,
                 r"recipient address rejected: access denied|as\(201806281\)",
                 R.USERUNKNOWN, status="5.4.1"),
)

_COMPILED: Final = tuple(
    (rule, Prechecked(rule.hosts), Prechecked(rule.text)) for rule in PROVIDER_RULES
)

#: Gmail's legacy "(state N)" suffix: the SMTP stage its client reached, and what sisimai's
#: Lhost::Gmail makes of it. ``final`` reasons win over the text; the others only decide
#: when the text says nothing clearer.
GMAIL_STATES: Final[dict[int, tuple[str, Reason, bool]]] = {
    6: ("HELO", R.FAILEDSTARTTLS, True),    # 500 Remote server does not support TLS
    8: ("AUTH", R.SYSTEMERROR, False),      # 535 SMTP AUTH failed with the remote server
    9: ("AUTH", R.FAILEDSTARTTLS, True),    # 454 TLS missing certificate
    12: ("AUTH", R.NORELAYING, True),       # 500 does not support SMTP Authenticated Relay
    13: ("HELO", R.SECURITYERROR, False),   # 550 5.7.1 ... Access denied
    14: ("RCPT", R.USERUNKNOWN, False),     # 550 5.1.1 User Unknown / 5.2.2 Mailbox Full
    15: ("DATA", R.FILTERED, True),         # 554 Error: no valid recipients
    17: ("DATA", R.FILTERED, True),         # 550 <...> No such user here
    18: ("DATA", R.FILTERED, True),         # 550 Unknown user / 554 5.7.0 Header error
}
_GMAIL_STATE: Final = re.compile(r"\(state (\d{1,2})\)")


def gmail_state(diagnostic: str) -> tuple[str, Reason, bool] | None:
    """The (command, reason, final) of a Gmail "(state N)" diagnostic, or None."""
    if "(state " not in diagnostic:
        return None
    found = _GMAIL_STATE.search(diagnostic)
    return GMAIL_STATES.get(int(found.group(1))) if found else None


def provider_reason(
    hosts: str, lowered: str, command: str, status: EnhancedStatus | None
) -> Reason | None:
    """The reason of the first :data:`PROVIDER_RULES` row for these host names and text.

    ``hosts`` is the lower-cased host text (Remote-MTA, recipient, family, diagnostic),
    ``lowered`` the lower-cased diagnostic.
    """
    code = str(status) if status is not None else ""
    for rule, host_re, text_re in _COMPILED:
        if rule.command and rule.command != command:
            continue
        if rule.status and not code.startswith(rule.status):
            continue
        if text_re.found(lowered) and host_re.found(hosts):
            return rule.reason
    return None
