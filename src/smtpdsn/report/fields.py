"""The field grammar of a delivery-status body: lines, typed values, status, dates, and
the writing side (folding to the 998-octet line limit).

RFC 3464 section 2.1 writes every field in RFC 822 header syntax::

    field       = field-name ":" [ field-body ] CRLF      ; RFC 822 section 3.2
    field-name  = 1*<any CHAR, excluding CTLs, SPACE, and ":">
    ; a line starting with SP or HTAB continues the field above it (folding)

and section 2.1 / 2.3 give the value forms used here::

    address-type ";" generic-address           ; Original-Recipient, Final-Recipient
    mta-name-type ";" mta-name                 ; Reporting-MTA, Remote-MTA ...
    diagnostic-type ";" *text                  ; Diagnostic-Code
    status-code = DIGIT "." 1*3DIGIT "." 1*3DIGIT   ; Status, a comment may follow
    date-time                                  ; RFC 5322 section 3.3
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Final, NamedTuple

from ..errors import StatusSyntaxError
from ..status import EnhancedStatus
from .model import TypedValue

__all__ = [
    "MAX_LINE_OCTETS",
    "RawField",
    "ascii_text",
    "clean_text",
    "fold_field",
    "format_date",
    "is_clean",
    "parse_date",
    "parse_iso_date",
    "parse_status",
    "parse_typed",
    "split_groups",
]

#: RFC 5322 section 2.1.1: a line is at most 998 octets, not counting its CRLF.
MAX_LINE_OCTETS: Final = 998
# The longest run of text without white space that the writer keeps in one piece, so that
# "Field-Name: " plus the piece always fits in a line.
_MAX_WORD_OCTETS: Final = 900

# field-name = 1*<any CHAR, excluding CTLs, SPACE, and ":">; the obsolete syntax of RFC 822
# allows white space before the colon, which some MTAs still write.
_FIELD_LINE: Final = re.compile(r"([!-9;-~]+)[ \t]*:(.*)", re.DOTALL)
# type = atom (RFC 822 section 3.3), in practice letters, digits and "-" ("rfc822",
# "utf-8", "x-postfix"); anything else before the ";" means the value has no type.
_TYPED: Final = re.compile(r"([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)[ \t]*;[ \t]*(.*)", re.DOTALL)
# status-code = DIGIT "." 1*3DIGIT "." 1*3DIGIT, then an optional comment (RFC 3464 2.3.4).
# Read leniently: leading zeros and any class digit are matched, then judged.
_STATUS: Final = re.compile(r"([0-9])\.([0-9]{1,3})\.([0-9]{1,3})(?![0-9.])[ \t]*(.*)", re.DOTALL)
# A field on one line (re.M: at the start of any line). A group whose every line matches
# (nearly every real group: nothing folded, no other line) is read with one findall.
_ONE_LINE_FIELD: Final = re.compile(r"^([!-9;-~]+)[ \t]*:([^\n]*)", re.M)
# One or more blank (or white-space-only) lines: the end of a group.
_BLANK_RUN: Final = re.compile(r"\n(?:[ \t]*\n)+")
# A line break not followed by SP or HTAB: the start of the next logical (unfolded) line.
_LOGICAL_LINE: Final = re.compile(r"\n(?![ \t])")


class RawField(NamedTuple):
    """One unfolded field of a delivery-status body and the line it starts on.

    A named tuple: the reader makes one per field, and a tuple is the cheapest record.
    """

    line: int
    name: str
    value: str
    #: ``name`` in lower case (field names are case-insensitive), computed once.
    key: str


# RawField's own constructor is a Python function; tuple.__new__ builds the same tuple
# without that call (one per field of every report).
_new_field: Final = tuple.__new__


def split_groups(
    text: str,
) -> tuple[list[list[RawField]], list[tuple[int, str, str | None]]]:
    """Split a delivery-status body into groups of unfolded fields.

    Line endings may be CRLF, LF or CR. A blank line (or one of only white space) ends a
    group. A line starting with SP or HTAB continues the field above; folding is undone by
    removing the line break only, as RFC 5322 section 2.2.3 says. The work is linear in
    the length of the text and loops once per field, not once per physical line.

    A line that is not a field but follows one in the same group, and does not start
    with ``--`` (a MIME delimiter), is read as a continuation that lost its leading white
    space (some MTAs write multi-line replies so): it is joined to that field with a space.

    Returns:
        The groups (empty groups dropped) and the lines that are not fields, as
        (line number, text, name of the field it was joined to or None).
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    groups: list[list[RawField]] = []
    junk: list[tuple[int, str, str | None]] = []
    line = 1
    pos = 0
    bounds = [m.span() for m in _BLANK_RUN.finditer(text)]
    bounds.append((len(text), len(text)))
    for end, next_pos in bounds:
        chunk = text[pos:end]
        found = _ONE_LINE_FIELD.findall(chunk)
        breaks = chunk.count("\n")
        # Every line is a one-line field when there are as many fields as lines (a final
        # empty line, after the text's last line break, is no field).
        if found and len(found) == breaks + (0 if chunk.endswith("\n") else 1):
            groups.append([
                _new_field(RawField, (number, name, value.strip(" \t"), name.lower()))
                for number, (name, value) in enumerate(found, line)
            ])
            line += breaks + text.count("\n", end, next_pos)
            pos = next_pos
            continue
        fields: list[RawField] = []
        for logical in _LOGICAL_LINE.split(chunk):
            number = line
            breaks = logical.count("\n")
            line += breaks + 1
            unfolded = logical.replace("\n", "") if breaks else logical
            m = _FIELD_LINE.fullmatch(unfolded)
            if m is None:
                if unfolded.strip(" \t"):  # (a blank line is no field and no junk)
                    _junk_line(number, unfolded, fields, junk)
                continue
            name = m[1]
            fields.append(_new_field(RawField, (number, name, m[2].strip(" \t"), name.lower())))
        if fields:
            groups.append(fields)
        line += text.count("\n", end, next_pos) - 1
        pos = next_pos
    return groups, junk


def _junk_line(
    number: int, text: str, fields: list[RawField], junk: list[tuple[int, str, str | None]]
) -> None:
    """Record a line that is not a field; join it to the field above when there is one
    and it is not a MIME delimiter (a continuation that lost its leading white space)."""
    if fields and not text.startswith("--"):
        last = fields[-1]
        joined = (last.value + " " + text.strip(" \t")).strip(" \t")
        fields[-1] = last._replace(value=joined)
        junk.append((number, text, last.name))
    else:
        junk.append((number, text, None))


# The types nearly every report writes, as written: read without the regular expression.
_COMMON_TYPES: Final = {
    name: name.lower()
    for name in ("rfc822", "RFC822", "dns", "DNS", "smtp", "SMTP", "utf-8", "UTF-8",
                 "x-postfix", "X-Postfix", "x-unix", "X-Unix")
}


def parse_typed(value: str) -> TypedValue | None:
    """Split ``type;value``; None when the value has no type before a ``;``."""
    kind, semi, rest = value.partition(";")
    if semi:
        known = _COMMON_TYPES.get(kind)
        if known is not None:
            return TypedValue(known, rest.strip(" \t"))
    m = _TYPED.fullmatch(value)
    if m is None:
        return None
    return TypedValue(m[1].lower(), m[2].strip(" \t"))


# Status values repeat (a few dozen codes cover nearly every report): the result for a
# short value is kept. It is immutable (a frozen EnhancedStatus and two strings).
_CACHED_STATUS_CHARS: Final = 64


def parse_status(value: str) -> tuple[EnhancedStatus | None, str | None, str | None]:
    """Read a ``Status`` value.

    Returns:
        (status, comment, problem): the code (None when there is no valid one); the text
        after it, without the parentheses of a comment (None when there is none); and a
        description of the deviation, or None when the value follows RFC 3464.
    """
    if len(value) <= _CACHED_STATUS_CHARS:
        return _cached_status(value)
    return _read_status(value)


def _read_status(value: str) -> tuple[EnhancedStatus | None, str | None, str | None]:
    m = _STATUS.fullmatch(value)
    if m is None:
        return None, None, f"Status {value!r} is not an enhanced status code"
    rest = m[4].strip(" \t")
    comment: str | None = None
    problem: str | None = None
    if rest:
        if rest[0] == "(" and rest[-1] == ")":
            comment = rest[1:-1].strip(" \t")
        else:
            comment = rest
            problem = f"Status {value!r} has text after the code that is not a (comment)"
    class_, subject, detail = m[1], m[2], m[3]
    try:
        status = EnhancedStatus(int(class_), int(subject), int(detail))
    except StatusSyntaxError:
        return None, comment, f"Status {value!r} has class {class_}; expected 2, 4 or 5"
    if (len(subject) > 1 and subject[0] == "0") or (len(detail) > 1 and detail[0] == "0"):
        problem = f"Status {value!r} has sub-codes with leading zeros; read as {status}"
    return status, comment, problem


_cached_status: Final = functools.lru_cache(maxsize=512)(_read_status)


def parse_date(value: str) -> datetime | None:
    """Read an RFC 5322 date-time as a timezone-aware datetime, or None when it is not one.

    A trailing comment such as ``(JST)`` is ignored. ``-0000`` (time zone unknown) and a
    missing zone are read as UTC.
    """
    text = value
    cut = text.find("(")
    if cut > 0:
        text = text[:cut]
    text = text.strip(" \t")
    if not text or len(text) > 200:
        return None
    result = _common_date(text)
    if result is not None:
        return result
    try:
        result = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if result.tzinfo is None:
        result = result.replace(tzinfo=UTC)
    return result


# The form nearly every MTA writes, "Thu, 29 Apr 2010 23:34:45 +0900" (RFC 5322 section
# 3.3 without obsolete parts, a four-digit year from 1000, a numeric zone):
#   [ day-of-week "," SP ] day SP month SP year SP hour ":" minute ":" second SP zone
_COMMON_DATE: Final = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([1-9][0-9]{3}) "
    r"([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"
)
_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}


# timezone objects by UTC offset in seconds (immutable, so shared).
_ZONES: dict[int, timezone] = {}


def _common_date(text: str) -> datetime | None:
    """Read the common date-time form directly, as :func:`email.utils.parsedate_to_datetime`
    does but without its general tokenising; None for any other form or an invalid
    value (the caller then asks the standard library, which decides)."""
    m = _COMMON_DATE.fullmatch(text)
    if m is None:
        return None
    hours, minutes = int(m[8]), int(m[9])
    if m[7] == "-" and hours == minutes == 0:
        return None  # "-0000": time zone unknown; the general path reads it
    offset = hours * 3600 + minutes * 60
    if m[7] == "-":
        offset = -offset
    try:
        zone = _ZONES.get(offset)
        if zone is None:
            zone = timezone(timedelta(seconds=offset))
            if len(_ZONES) < 200:  # a few dozen zones are in use; the cache stays small
                _ZONES[offset] = zone
        return datetime(int(m[3]), _MONTHS[m[2]], int(m[1]), int(m[4]), int(m[5]), int(m[6]),
                        tzinfo=zone)
    except ValueError:
        return None


# Not RFC 5322, but seen in real reports (SendGrid writes "2012-10-31 04-46-42"):
# date "-" month "-" day, SP or "T", hour, minute and second separated by ":" or "-",
# an optional zone.
_ISO_LIKE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2})[:-]([0-9]{2})[:-]([0-9]{2})"
    r"(?:\.[0-9]+)?[ \t]*(Z|[+-][0-9]{2}:?[0-9]{2})?"
)


def parse_iso_date(value: str) -> datetime | None:
    """Read ``YYYY-MM-DD HH:MM:SS`` (also with ``-`` between the time fields, a ``T``, and
    an optional ``Z`` or ``+hh:mm`` zone; no zone means UTC), or None."""
    m = _ISO_LIKE.fullmatch(value.strip(" \t"))
    if m is None:
        return None
    zone = UTC
    if m[7] and m[7] != "Z":
        digits = m[7].replace(":", "")
        minutes = int(digits[1:3]) * 60 + int(digits[3:5])
        zone = timezone(timedelta(minutes=-minutes if digits[0] == "-" else minutes))
    try:
        year, month, day, hour, minute, second = (int(m[i]) for i in range(1, 7))
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        return None


def format_date(value: datetime) -> str:
    """Write a timezone-aware datetime as an RFC 5322 date-time (numeric zone)."""
    return format_datetime(value)


def _printable(ch: str) -> bool:
    return unicodedata.category(ch) not in ("Cc", "Cs", "Zl", "Zp")


def clean_text(text: str) -> str:
    """Make caller text safe for one field value.

    Runs of white space and line breaks of any kind become one space; control
    characters and lone surrogates are removed; runs of more than 900 octets without a
    space are cut by a space, so that :func:`fold_field` can keep every line within 998
    octets. Ends are trimmed. The result is what a parser reads back.
    """
    if text.isprintable():  # the common case: one pass in C when no word is too long
        words = text.split()
        if not words or max(map(len, words)) * 4 <= _MAX_WORD_OCTETS:
            return " ".join(words)
    words = []
    for word in text.split():
        if not word.isprintable():
            word = "".join(ch for ch in word if _printable(ch))
        data = word.encode("utf-8")
        if len(data) <= _MAX_WORD_OCTETS:
            if word:
                words.append(word)
            continue
        # Cut the encoded word at character boundaries (never before a continuation
        # octet 10xxxxxx): one pass, linear in its length.
        pos = 0
        while pos < len(data):
            end = min(pos + _MAX_WORD_OCTETS, len(data))
            while end < len(data) and data[end] & 0xC0 == 0x80:
                end -= 1
            words.append(data[pos:end].decode("utf-8"))
            pos = end
    return " ".join(words)


def ascii_text(text: str) -> str:
    """Reduce text to ASCII for a report that cannot use UTF-8 (RFC 6533 downgrade):
    compatibility decomposition (``é`` -> ``e``, ``ﬁ`` -> ``fi``), combining marks
    dropped, anything else non-ASCII written ``?``."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text):
        if ch.isascii():
            out.append(ch)
        elif unicodedata.category(ch) != "Mn":
            out.append("?")
    return "".join(out)


def is_clean(text: str) -> bool:
    """True when ``text`` is already what :func:`clean_text` makes of it."""
    if text.isprintable() and text == text.strip() and "  " not in text:
        words = text.split(" ")
        if not words or max(map(len, words)) * 4 <= _MAX_WORD_OCTETS:
            return all(words) or text == ""
    return clean_text(text) == text


def fold_field(name: str, value: str) -> list[str]:
    """Write ``name: value`` as lines of at most 998 octets, folding at spaces.

    A line break is put before a space, so unfolding (removing the line break) gives the
    value back exactly. ``value`` must come from :func:`clean_text` (no control
    characters, single spaces, no word over 900 octets).
    """
    lines: list[str] = []
    current = f"{name}: "
    size = len(current.encode("utf-8"))
    for i, word in enumerate(value.split(" ")):
        piece = word if i == 0 else " " + word
        octets = len(piece.encode("utf-8"))
        if i > 0 and size + octets > MAX_LINE_OCTETS:
            lines.append(current)
            current, size = piece, octets
        else:
            current += piece
            size += octets
    lines.append(current.rstrip(" ") if not value else current)
    return lines
