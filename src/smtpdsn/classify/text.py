"""Small text helpers shared by the detectors: addresses, status codes, reply codes.

Enhanced status codes follow RFC 3463 (``class "." subject "." detail``); reply codes
follow RFC 5321 section 4.2 (``%x32-35 %x30-35 %x30-39``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from ..errors import StatusSyntaxError
from ..status import EnhancedStatus

__all__ = [
    "ADDRESS",
    "COMMAND_PHRASES",
    "clean_address",
    "find_addresses",
    "find_command",
    "find_reply_code",
    "find_status",
    "one_line",
]

_LOCAL: Final = r"(?:\"[^\"\n]{1,64}\"|[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64})"
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
_DOMAIN: Final = rf"{_LABEL}(?:\.{_LABEL})*"
#: An e-mail address (local@domain) inside free text.
ADDRESS: Final = re.compile(rf"{_LOCAL}@{_DOMAIN}")
_ADDRESS_RE: Final = re.compile(rf"(?<![\w.+-]){_LOCAL}@{_DOMAIN}")

# An enhanced status code in text: not part of a longer dotted number (IP, version).
_STATUS_RE: Final = re.compile(r"(?<![\w.#-])#?([245])\.(\d{1,3})\.(\d{1,3})(?![\w-]|\.\d)")
# A reply code followed by an enhanced status, the most reliable pair. The code must not
# follow a word character or a dot (checked behind the code, so that the regex engine can
# skip to a 2, 4 or 5).
_PAIR_RE: Final = re.compile(
    r"([245][0-5]\d)(?<![\w.]\d\d\d)(?:[ -]|: ?)['\"(\[]?#?([245])\.(\d{1,3})\.(\d{1,3})"
    r"(?![\w]|\.\d)"
)
# A reply code where servers write it: line start, after "said:", "reply:", ": ", "<<<".
_REPLY_RE: Final = re.compile(
    r"(?:^|said:?|reply:|replied:|returned:|response:|responded:|error:|<<<|: |\(|\[|\bcode:? |"
    r"error_code ?:)"  # Zoho: "ERROR_CODE :550, ERROR_CODE :5.1.1 ..."
    r"[ \t]*([245][0-5]\d)(?=[ \-,]|$)(?![ -]?\d{3})",
    re.IGNORECASE | re.MULTILINE,
)
# What every reply code is (the patterns here all hold it): no match, no reply code.
_CODE_RE: Final = re.compile(r"[245][0-5]\d")
# Elsewhere, a reply code followed by what servers put after one: "550 User ...",
# "550 <addr>...", "550-'Unknown user ..." (an upper-case word, an address, a quote).
_LOOSE_REPLY_RE: Final = re.compile(r"(?<![\w.:/#-])([245][0-5]\d)[ -]['\"]?(?=<|[A-Z])")


# The SMTP command a failure followed, as MTAs write it (Postfix "in reply to RCPT TO
# command", Exim "after RCPT TO:", Sendmail ">>> DATA", qmail "RCPT TO response" ...).
# Literal, lower-case phrases: the earliest mention wins; at the same place, the first row.
COMMAND_PHRASES: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("DATA", ("end of data", "after data", "in reply to data", ">>> data", "data command",
              "after end of", "data response", "data phase", "after message", "message body",
              "text command", "command data", "command: data", "smtp:data")),
    ("RCPT", ("rcpt to", "rcpt command", "after rcpt", ">>> rcpt", "recipient command",
              "command rcpt", "command: rcpt", "[rcpt_to]", "smtp:rcpt",
              "does not like recipient")),
    ("MAIL", ("mail from", "mail command", "after mail", ">>> mail")),
    ("HELO", ("after ehlo", "after helo", "in reply to ehlo", "in reply to helo", ">>> ehlo",
              ">>> helo", "ehlo command", "helo command", "my name was rejected")),
    ("CONN", ("greeting", "after connect", "banner", "initial connection")),
)


def _anchor(phrase: str) -> str:
    """The longest run of letters in a phrase: a text without it cannot hold the phrase."""
    words: list[str] = re.findall(r"[a-z]+", phrase)
    return max(words, key=len)


# COMMAND_PHRASES with each phrase's anchor, and every anchor: the cheap pre-check.
_COMMAND_ROWS: Final = tuple(
    (name, tuple((phrase, _anchor(phrase)) for phrase in phrases))
    for name, phrases in COMMAND_PHRASES
)
_ANCHORS: Final = tuple(sorted({anchor for _, row in _COMMAND_ROWS for _, anchor in row}))


@lru_cache(maxsize=256)
def find_command(text: str) -> str:
    """The SMTP command (DATA, RCPT, MAIL, HELO, CONN) a diagnostic says it answered."""
    lowered = text.lower()
    present = {anchor for anchor in _ANCHORS if anchor in lowered}
    if not present:
        return ""
    best, where = "", len(lowered) + 1
    for name, phrases in _COMMAND_ROWS:
        for phrase, anchor in phrases:
            if anchor not in present:
                continue  # its anchor is not in the text, so neither is the phrase
            at = lowered.find(phrase, 0, where)
            if 0 <= at < where:
                best, where = name, at
    return best


def one_line(text: str) -> str:
    """Collapse white space (and line ends) to single spaces, trimmed at both ends
    (``\\s+`` replaced by one space, then stripped: ``str.split`` splits at the same
    characters, so joining its words is the same string, faster)."""
    return " ".join(text.split())


def clean_address(text: str) -> str:
    """The bare address from ``<a@b>``, ``rfc822; a@b``, ``"x" <a@b>`` ... ("" when none)."""
    text = text.strip()
    if ";" in text[:16]:
        head, _, rest = text.partition(";")
        if head.strip().isalnum() or head.strip().lower().startswith("rfc"):
            text = rest.strip()
    if "<" in text:
        inner = re.search(r"<([^<>]*@[^<>]*)>", text)
        if inner:
            text = inner[1]
    text = text.strip().strip("<>").strip().rstrip(".,:;")
    if text[:1] in "'\"" and not re.match(r"^\"[^\"]*\"@", text):
        text = text.strip("'\"")
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text


def find_addresses(text: str) -> list[str]:
    """Every address in ``text``, in order of first appearance, without duplicates."""
    if "@" not in text:  # the cheap pre-check: an address needs one
        return []
    seen: dict[str, None] = {}
    for m in _ADDRESS_RE.finditer(text):
        addr = m[0].rstrip(".")
        key = addr.lower()
        if key not in seen:
            seen[key] = None
    return list(seen)


def _status(cls: str, subject: str, detail: str) -> EnhancedStatus | None:
    try:
        return EnhancedStatus.parse(f"{cls}.{int(subject)}.{int(detail)}")
    except StatusSyntaxError:
        return None


@lru_cache(maxsize=16)
def _pairs(text: str) -> tuple[tuple[str, str, str, str], ...]:
    """Every reply code and enhanced status pair of one class in ``text`` (the reply code,
    then the status's three numbers), read once for :func:`find_status` and
    :func:`find_reply_code`, which read the same diagnostic one after the other."""
    return tuple((m[1], m[2], m[3], m[4]) for m in _PAIR_RE.finditer(text) if m[1][0] == m[2])


def find_status(text: str) -> EnhancedStatus | None:
    """The most telling enhanced status code in ``text``.

    A code right after a reply code (``550 5.1.1``) wins, the last such pair when there
    are several; otherwise the first code found. A vague code (X.0.0) gives way to a more
    specific one.
    """
    found: EnhancedStatus | None = None
    # The last reply of a chain is the remote server's own ("554 4.4.7 Message expired
    # <421 4.4.2 Connection timed out>", "5.1.0 - error 550-'5.2.2 Mailbox full'").
    for _code, cls, subject, detail in _pairs(text):
        value = _status(cls, subject, detail)
        if value is not None and (found is None or (value.subject, value.detail) != (0, 0)):
            found = value
    if found is not None and (found.subject, found.detail) != (0, 0):
        return found
    for m2 in _STATUS_RE.finditer(text):
        value = _status(m2[1], m2[2], m2[3])
        if value is None:
            continue
        if found is None:
            found = value
        if (value.subject, value.detail) != (0, 0):
            return value
    return found


def find_reply_code(text: str) -> int | None:
    """The SMTP reply code in ``text``: the one before the last enhanced code, else the
    first where servers write one."""
    pairs = _pairs(text)
    if pairs:
        return int(pairs[-1][0])  # the last pair, as for the status
    if _CODE_RE.search(text) is None:
        return None  # the cheap pre-check: both patterns below need a code
    m2 = _REPLY_RE.search(text) or _LOOSE_REPLY_RE.search(text)
    if m2 is not None:
        return int(m2[1])
    return None
