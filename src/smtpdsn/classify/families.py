"""Which MTA or provider wrote a bounce, recognised from signatures (data only).

Each row is ``(family, pattern)``; the pattern is matched against the lower-cased
signature text: the From, Subject, X-Mailer and a few vendor headers, then the first
lines of the notice. The first row that matches names the family. Add a row to teach a
new family; nothing else changes.
"""

from __future__ import annotations

from typing import Final

from .message import MailView
from .prefilter import Prechecked

__all__ = ["FAMILIES", "recognise"]

#: (family, regular expression on the lower-cased signature text), most specific first.
FAMILIES: Final[tuple[tuple[str, str], ...]] = (
    ("amazonses", r"amazonses\.com|x-ses-outgoing|amazon ses"),
    ("amazonworkmail", r"awsapps\.com|amazon workmail|x-mailer: amazon workmail"),
    ("sendgrid", r"sendgrid"),
    ("googlegroups", r"googlegroups\.com|google groups"),
    ("gmail", r"googlemail\.com|google tried to deliver|gmail\.com|mx\.google\.com"),
    ("office365", r"protection\.outlook\.com|office ?365|microsoft 365|\.onmicrosoft\.com"),
    ("outlook", r"outlook\.com|hotmail\.com|live\.com|msn\.com"),
    ("exchange", r"microsoft exchange|x-ms-exchange|x-mimeole|diagnostic information for "
     r"administrators|x-ms-tnef|exchange server"),
    ("yahoo", r"yahoo|aol\.com"),
    ("messagelabs", r"messagelabs|symantec"),
    ("mimecast", r"mimecast"),
    ("mcafee", r"mcafee|mxlogic"),
    ("barracuda", r"barracuda"),
    ("trendmicro", r"interscan|trend ?micro"),
    ("zoho", r"zoho"),
    ("yandex", r"yandex"),
    ("mailru", r"mail\.ru"),
    ("gmx", r"gmx\.|web\.de|1und1|1&1|ionos"),
    ("kddi", r"ezweb\.ne\.jp|au\.com|kddi"),
    ("docomo", r"docomo\.ne\.jp"),
    ("notes", r"lotus|domino|notes"),
    ("qmail", r"qmail"),
    ("exim", r"exim|x-failed-recipients|this message was created automatically by mail "
     r"delivery software"),
    ("postfix", r"postfix|this is the mail system at host"),
    ("opensmtpd", r"opensmtpd|this is the mailer-daemon at"),
    ("powermta", r"powermta|x-powermta"),
    ("courier", r"courier mail server|courier-mta"),
    ("messagingserver", r"sun java|oracle communications messaging|iplanet|"
     r"messaging server"),
    ("imailserver", r"imail"),
    ("apachejames", r"james"),
    ("mfilter", r"m-filter"),
    ("sendmail", r"sendmail|transcript of session follows|following addresses had permanent "
     r"fatal errors"),
    ("mailmarshal", r"mailmarshal"),
    ("activehunter", r"activehunter"),
    ("surfcontrol", r"surfcontrol"),
    ("dragonfly", r"dragonfly|dma\b"),
    ("fml", r"\bfml\b"),
    ("v5sendmail", r"unsent message follows"),
    ("rfc3464", r"message/delivery-status"),
)

_COMPILED: Final = tuple((name, *Prechecked(pattern).rows()) for name, pattern in FAMILIES)
_SIGNATURE_HEADERS: Final = (
    "From", "Subject", "X-Mailer", "X-MimeOLE", "Message-ID", "Received", "X-SES-Outgoing",
    "X-Failed-Recipients", "X-PowerMTA-VirtualMTA", "X-MS-Exchange-Message-Is-Ndr",
    "Content-Type",
)
_SIGNATURE_KEYS: Final = tuple((name, name.lower()) for name in _SIGNATURE_HEADERS)


def recognise(view: MailView) -> str:
    """The family name of :data:`FAMILIES` that the message matches ("" for none)."""
    present = view.header_names  # header() only for the fields the message has
    values = [(key, view.header(name)) for name, key in _SIGNATURE_KEYS if key in present]
    head = "\n".join(f"{key}: {value}" for key, value in values if value).lower()
    # The headers first (short, and the surest sign), then the start of the notice.
    for text in (head, view.notice[:1500].lower()):
        for name, keys, pattern in _COMPILED:
            if keys is not None:  # the keyword pre-check (prefilter.py)
                for key in keys:
                    if key in text:
                        break
                else:
                    continue
            if pattern.search(text):
                return name
    return ""
