"""The addresses of MAIL FROM and RCPT TO: RFC 5321 section 4.1.2 paths and mailboxes.

The grammar is RFC 5321 section 4.1.2 (Path, Mailbox), section 4.1.3 (address literals) and
RFC 6531 section 3.3 (the SMTPUTF8 extensions of atext, qtextSMTP and sub-domain). The ABNF
is pasted above the regexes built from it in :mod:`smtpdsn.smtp._address_abnf`; a valid
address costs one ``fullmatch`` of a compiled regex and one object (about 1.3 µs), and only a
refused one walks the grammar step by step to name its first fault.

>>> split_path("<user@example.com> SIZE=1000")
('<user@example.com>', 'SIZE=1000')
>>> p = parse_path('<@relay.example:"x y"@[IPv6:2001:db8::1]>')
>>> p.mailbox, p.local_part, p.domain
('"x y"@[IPv6:2001:db8::1]', '"x y"', '[IPv6:2001:db8::1]')
>>> try:
...     parse_path("<x y@example.com>")
... except AddressError as exc:
...     print(exc.reason)
the local part 'x y' contains a space, which is allowed only in a quoted local part

Every refusal raises :class:`AddressError`, whose ``reason`` names the bad value in printable
ASCII (other characters are shown escaped), so it can go into a reply as it is.

Where this module accepts what the grammar does not, it says so:

* :func:`split_path` skips spaces between ``FROM:``/``TO:`` and the path
  (``MAIL FROM: <a@example.com>``), and takes a path written without angle brackets
  (``MAIL FROM:a@example.com``), as Postfix (``strict_rfc821_envelopes = no``, its default)
  and aiosmtpd do. RFC 5321 section 4.1.2 has neither, but clients send both.

Where it is stricter than the grammar:

* IPv4 parts of address literals with leading zeros (``[010.0.0.1]``) are refused, as the
  standard library's :mod:`ipaddress` refuses them, because some software reads them as octal.

And where it follows RFC 5321 rather than later habits: an IPv6 literal's ``::`` must stand
for at least two zero groups (``[IPv6:1:2:3:4:5:6:7::]`` is refused, section 4.1.3), and a
literal tagged ``IPv6:`` is never taken as a General-address-literal.

U-labels (RFC 6531 section 3.3, RFC 5890) are checked for shape only: letters, digits,
hyphens (not first or last) and printable non-ASCII characters. Full IDNA2008 validity needs
the third-party ``idna`` package, which the core does not import.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Final, Literal

from ..errors import DSNError
from ._address_abnf import (
    ATEXT_ONLY,
    ATEXT_ONLY_UTF8,
    IPV4,
    IPV6,
    LABEL_CHARS,
    LABEL_CHARS_UTF8,
    MAILBOX_ASCII,
    MAILBOX_UTF8,
    PATH_ASCII,
    PATH_UTF8,
    QUOTED_ANY,
    TAG,
)

__all__ = [
    "DOMAIN_MAX_OCTETS",
    "LOCAL_PART_MAX_OCTETS",
    "PATH_MAX_OCTETS",
    "AddressError",
    "Path",
    "parse_forward_path",
    "parse_mailbox",
    "parse_path",
    "split_path",
]

#: RFC 5321 section 4.5.3.1.1: a local part is at most 64 octets.
LOCAL_PART_MAX_OCTETS: Final = 64
#: RFC 5321 section 4.5.3.1.2: a domain (or address literal) is at most 255 octets.
DOMAIN_MAX_OCTETS: Final = 255
#: RFC 5321 section 4.5.3.1.3: a path, "<" and ">" and any source route included, is at
#: most 256 octets.
PATH_MAX_OCTETS: Final = 256

AddressErrorKind = Literal["syntax", "non-ascii", "too-long"]


class AddressError(DSNError):
    """An address the grammar refuses.

    It is a :class:`ValueError`. Nothing is left half-done: the parsers hold no state.

    Attributes:
        reason: a plain-English reason naming the bad value, in printable ASCII (safe to put
            in a reply); also the exception's message.
        kind: a hint for the reply: ``"non-ascii"`` when the only fault is a non-ASCII
            character without SMTPUTF8 (RFC 6531 suggests ``553 5.6.7``), ``"too-long"``
            for a length limit of RFC 5321 section 4.5.3.1 (``501`` "Path too long"),
            else ``"syntax"``.
    """

    reason: str
    kind: AddressErrorKind

    def __init__(self, reason: str, kind: AddressErrorKind = "syntax") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Path:
    """A parsed Reverse-path or Forward-path (RFC 5321 section 4.1.2).

    Attributes:
        mailbox: ``local_part + "@" + domain`` as the client wrote it, the source route
            dropped (RFC 5321 section 4.1.2 says to ignore it); ``""`` for the null path
            ``<>``.
        local_part: as written, a quoted local part with its quotes and backslashes
            (``'"x y"'``).
        domain: as written: a domain name, or an address literal with its brackets
            (``"[192.0.2.1]"``, ``"[IPv6:::1]"``).
    """

    mailbox: str
    local_part: str
    domain: str

    @property
    def is_null(self) -> bool:
        """True for the null reverse-path ``<>`` (RFC 5321 section 4.5.5)."""
        return not self.mailbox


_NULL_PATH: Final = Path("", "", "")

_MAILBOX_MAX_OCTETS: Final = LOCAL_PART_MAX_OCTETS + 1 + DOMAIN_MAX_OCTETS


def split_path(argument: str) -> tuple[str, str]:
    """Split the argument of MAIL FROM or RCPT TO into the path and the ESMTP parameters.

    ``argument`` is what follows ``MAIL FROM:`` or ``RCPT TO:`` (RFC 5321 sections 4.1.1.2
    and 4.1.1.3). The path ends at the first ``>`` outside a quoted local part, and must be
    followed by the end or by a space.

    Two leniencies (RFC 5321 section 4.1.2 has neither, Postfix and aiosmtpd accept both):
    spaces before the path are skipped, and a path written without brackets
    (``MAIL FROM:a@example.com SIZE=10``) ends at the first space outside a quoted local
    part and is returned inside added brackets (``"<a@example.com>"``), so that
    :func:`parse_path` sees one form.

    Args:
        argument: the text after the colon, without the CRLF.

    Returns:
        ``(path, rest)``: the path with its brackets, and the rest with its leading spaces
        stripped (``""`` when there are no parameters). The path is not checked here: pass
        it to :func:`parse_path`.

    Raises:
        AddressError: there is no path, the ``>`` is missing, or text follows the ``>``
            without a space.
    """
    start = 0
    while argument.startswith(" ", start):
        start += 1
    if start == len(argument):
        raise AddressError("no path was given (expected <mailbox>, or <> in MAIL FROM)")
    if argument[start] != "<":
        return _split_bare(argument, start)
    end = _path_end(argument, start)
    if end == -1:
        shown = _show(argument[start:])
        raise AddressError(f"the path {shown} has no closing '>'")
    path = argument[start : end + 1]
    rest = argument[end + 1 :]
    if rest and rest[0] != " ":
        raise AddressError(
            f"the path {_show(path)} is followed by {_show(rest)} without a space between"
        )
    return path, rest.lstrip(" ")


def _path_end(text: str, start: int) -> int:
    """The index of the ``>`` that ends the path opened at ``text[start]``, or -1."""
    i = start + 1
    if text.startswith("@", i):
        # A source route: domains only, up to its ":".
        colon = text.find(":", i)
        gt = text.find(">", i)
        if colon != -1 and (gt == -1 or colon < gt):
            i = colon + 1
    if text.startswith('"', i):
        quoted = QUOTED_ANY.match(text, i)
        if quoted is None:
            return -1
        i = quoted.end()
    at = text.find("@", i)
    if at != -1 and text.startswith("[", at + 1):
        # An address literal: a general one may hold a ">" (dcontent is %d33-90 / %d94-126).
        gt = text.find(">", i)
        close = text.find("]", at)
        if close != -1 and at < gt < close:
            i = close + 1
    return text.find(">", i)


def _split_bare(argument: str, start: int) -> tuple[str, str]:
    """The path written without brackets: up to the first space outside quotes."""
    i = start
    if argument.startswith('"', i):
        quoted = QUOTED_ANY.match(argument, i)
        if quoted is not None:
            i = quoted.end()
    space = argument.find(" ", i)
    if space == -1:
        return f"<{argument[start:]}>", ""
    return f"<{argument[start:space]}>", argument[space:].lstrip(" ")


def parse_path(path: str, *, smtputf8: bool = False, allow_null: bool = False) -> Path:
    """Parse a Reverse-path or Forward-path (RFC 5321 section 4.1.2).

    The source route (``<@a,@b:user@example.com>``) is checked and dropped. The local part
    is a Dot-string or a Quoted-string; the domain a domain name or an address literal
    (IPv4, IPv6 in every RFC 5321 section 4.1.3 form, or General-address-literal).

    Args:
        path: the path with its angle brackets, as :func:`split_path` returns it.
        smtputf8: the transaction's MAIL FROM carried SMTPUTF8 (RFC 6531): non-ASCII
            characters are then allowed in atoms, quoted strings and domain labels.
        allow_null: accept the null path ``<>`` (the reverse-path of MAIL FROM).

    Returns:
        The :class:`Path`.

    Raises:
        AddressError: the path is not in the grammar, has a non-printable character (even
            under SMTPUTF8), a non-ASCII one without SMTPUTF8, or breaks a length limit of
            RFC 5321 section 4.5.3.1 (local part 64, domain 255, path 256 octets, counted
            in UTF-8).
    """
    if not path.isprintable():
        raise _unprintable("path", path)
    if path.isascii():
        pattern = PATH_ASCII
        octets = len(path)
    elif smtputf8:
        pattern = PATH_UTF8
        octets = len(path.encode())
    else:
        raise _non_ascii("path", path)
    if octets > PATH_MAX_OCTETS:
        raise AddressError(
            f"the path {_show(path)} is {octets} octets long; the limit is "
            f"{PATH_MAX_OCTETS} (RFC 5321 section 4.5.3.1.3)",
            "too-long",
        )
    match = pattern.fullmatch(path)
    if match is None:
        if path == "<>":
            if allow_null:
                return _NULL_PATH
            raise AddressError("the null path <> is allowed only as the reverse-path of MAIL")
        raise AddressError(_path_reason(path, smtputf8))
    local, domain = match.group("local", "domain")
    return _checked(match.group("mailbox"), local, domain)


def parse_forward_path(path: str, *, smtputf8: bool = False) -> Path:
    """Parse the argument of RCPT TO, which also takes ``<Postmaster>`` (RFC 5321
    section 4.1.1.3: ``"<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path``).

    ``<Postmaster>`` (any case) gives a :class:`Path` whose ``mailbox`` and ``local_part``
    are the word as written and whose ``domain`` is ``""``. Everything else is
    :func:`parse_path` without the null path.

    Raises:
        AddressError: as :func:`parse_path`.
    """
    if (
        len(path) == 12
        and path.isascii()
        and path[1:-1].lower() == "postmaster"
        and path[0] + path[-1] == "<>"
    ):
        return Path(path[1:-1], path[1:-1], "")
    return parse_path(path, smtputf8=smtputf8)


def parse_mailbox(mailbox: str, *, smtputf8: bool = False) -> Path:
    """Parse a bare Mailbox (RFC 5321 section 4.1.2), e.g. the argument of VRFY.

    As :func:`parse_path`, without the brackets, the source route, the null path and the
    path limit; the local part (64) and domain (255 octets) limits apply.

    Raises:
        AddressError: as :func:`parse_path`.
    """
    if not mailbox.isprintable():
        raise _unprintable("mailbox", mailbox)
    if mailbox.isascii():
        pattern = MAILBOX_ASCII
    elif smtputf8:
        pattern = MAILBOX_UTF8
    else:
        raise _non_ascii("mailbox", mailbox)
    match = pattern.fullmatch(mailbox) if len(mailbox) <= _MAILBOX_MAX_OCTETS else None
    if match is None:
        # Too long for a mailbox, or not one: the reason says which part is wrong.
        raise AddressError(*_mailbox_failure(mailbox, smtputf8))
    local, domain = match.group("local", "domain")
    return _checked(mailbox, local, domain)


def _checked(mailbox: str, local: str, domain: str) -> Path:
    """The checks the regex cannot make: lengths in octets, and address literals."""
    if len(local) > LOCAL_PART_MAX_OCTETS or len(domain) > DOMAIN_MAX_OCTETS:
        raise AddressError(*_length_failure(local, domain))
    if domain[0] == "[":
        reason = _literal_reason(domain)
        if reason:
            raise AddressError(reason)
    elif not domain.isascii() and len(domain.encode()) > DOMAIN_MAX_OCTETS:
        raise AddressError(*_length_failure(local, domain))
    if not local.isascii() and len(local.encode()) > LOCAL_PART_MAX_OCTETS:
        raise AddressError(*_length_failure(local, domain))
    return Path(mailbox, local, domain)


def _length_failure(local: str, domain: str) -> tuple[str, AddressErrorKind]:
    """The reason for a local part or domain over its limit (RFC 5321 section 4.5.3.1)."""
    octets = len(local.encode())
    if octets > LOCAL_PART_MAX_OCTETS:
        return (
            f"the local part {_show(local)} is {octets} octets long; the limit is "
            f"{LOCAL_PART_MAX_OCTETS} (RFC 5321 section 4.5.3.1.1)",
            "too-long",
        )
    octets = len(domain.encode())
    return (
        f"the domain {_show(domain)} is {octets} octets long; the limit is "
        f"{DOMAIN_MAX_OCTETS} (RFC 5321 section 4.5.3.1.2)",
        "too-long",
    )


def _literal_reason(literal: str) -> str:
    """Why an address literal (``"[...]"``, dcontent inside) is refused, or ``""``."""
    inner = literal[1:-1]
    if IPV4.fullmatch(inner):
        try:
            ipaddress.IPv4Address(inner)
        except ValueError:
            return f"the address literal {_show(literal)} is not a valid IPv4 address"
        return ""
    tag, colon, value = inner.partition(":")
    if not colon:
        return (
            f"the address literal {_show(literal)} is neither an IPv4 address "
            "nor a tag:value literal"
        )
    if tag.lower() == "ipv6":
        return _ipv6_reason(literal, value)
    if not TAG.fullmatch(tag):
        return f"the address literal {_show(literal)} has an invalid tag {_show(tag)}"
    if not value:
        return f"the address literal {_show(literal)} has nothing after its tag"
    return ""


def _ipv6_reason(literal: str, address: str) -> str:
    """Why the address of an IPv6 literal is refused, or ``""``."""
    invalid = f"the address literal {_show(literal)} is not a valid IPv6 address"
    if not IPV6.fullmatch(address):
        return invalid
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return invalid
    if "::" in address:
        # RFC 5321: "::" stands for at least two groups, so at most six others are written
        # (an IPv4 tail counts as two).
        written = address.replace("::", ":").strip(":").split(":")
        groups = len([g for g in written if g]) + (1 if "." in address else 0)
        if groups > 6:
            return f"{invalid} ('::' must stand for at least two zero groups)"
    return ""


# ---------------------------------------------------------------------------------------
# Reasons for refusals. These run only once the regex has refused the value, and walk the
# grammar step by step to name the first fault.
# ---------------------------------------------------------------------------------------


def _show(value: str) -> str:
    """``value`` quoted in printable ASCII (non-printable and non-ASCII escaped), cut to
    about 80 characters."""
    shown = ascii(value)
    if len(shown) > 80:
        shown = shown[:76] + "..." + shown[0]
    return shown


def _char(char: str) -> str:
    """One character for a message: ``'!'``, ``'\\xe9'``, or ``a space``."""
    return "a space" if char == " " else ascii(char)


def _unprintable(what: str, value: str) -> AddressError:
    bad = next(c for c in value if not c.isprintable())
    return AddressError(
        f"the {what} {_show(value)} contains the non-printable character U+{ord(bad):04X}"
    )


def _non_ascii(what: str, value: str) -> AddressError:
    bad = next(c for c in value if not c.isascii())
    return AddressError(
        f"the {what} {_show(value)} contains the non-ASCII character U+{ord(bad):04X}, "
        "which needs SMTPUTF8 (RFC 6531)",
        "non-ascii",
    )


def _path_reason(path: str, smtputf8: bool) -> str:
    """Why a printable path (ASCII unless ``smtputf8``) failed the Path regex."""
    if len(path) < 2 or path[0] != "<" or path[-1] != ">":
        return f"the path {_show(path)} is not enclosed in '<' and '>'"
    inner = path[1:-1]
    colon = inner.find(":")
    if inner.startswith("@") and colon != -1:
        # A source route (without a ":", "@..." is a mailbox with no local part).
        route = inner[:colon]
        for hop in route.split(","):
            if not hop.startswith("@") or _domain_reason(hop[1:], smtputf8):
                return (
                    f"the source route {_show(route + ':')} is not a list of @domain "
                    "separated by ','"
                )
        inner = inner[colon + 1 :]
    if not inner:
        return f"the path {_show(path)} has no mailbox"
    reason, _ = _mailbox_failure(inner, smtputf8)
    return reason


def _mailbox_failure(mailbox: str, smtputf8: bool) -> tuple[str, AddressErrorKind]:
    """Why a printable mailbox (ASCII unless ``smtputf8``) is refused."""
    if mailbox.startswith('"'):
        quoted = QUOTED_ANY.match(mailbox)
        if quoted is None:
            return f"the quoted local part in {_show(mailbox)} has no closing '\"'", "syntax"
        local = quoted.group()
        rest = mailbox[quoted.end() :]
        if not rest.startswith("@"):
            if "@" not in rest:
                return f"the mailbox {_show(mailbox)} has no '@' and domain", "syntax"
            return (
                f"the mailbox {_show(mailbox)} has text between its quoted local part and the '@'",
                "syntax",
            )
        domain = rest[1:]
        pattern = MAILBOX_UTF8 if smtputf8 else MAILBOX_ASCII
        if not pattern.fullmatch(f"{local}@x"):
            # Only a backslash before a non-ASCII character gets here (quoted-pairSMTP).
            return (
                f"the quoted local part {_show(local)} escapes a character that "
                "quoted-pairSMTP does not allow (only ASCII may follow '\\')",
                "syntax",
            )
    else:
        at = mailbox.find("@")
        if at == -1:
            return f"the mailbox {_show(mailbox)} has no '@' and domain", "syntax"
        local = mailbox[:at]
        domain = mailbox[at + 1 :]
        reason = _dot_string_reason(local, mailbox, smtputf8)
        if reason:
            return reason, "syntax"
    if not domain:
        return f"the mailbox {_show(mailbox)} has no domain after the '@'", "syntax"
    if domain[0] == "[":
        reason = _literal_syntax_reason(domain)
    else:
        reason = _domain_reason(domain, smtputf8)
    if reason:
        return reason, "syntax"
    try:
        _checked(mailbox, local, domain)
    except AddressError as exc:
        return exc.reason, exc.kind
    return f"the mailbox {_show(mailbox)} is not a valid RFC 5321 mailbox", "syntax"


def _dot_string_reason(local: str, mailbox: str, smtputf8: bool) -> str:
    if not local:
        return f"the mailbox {_show(mailbox)} has an empty local part"
    chars = ATEXT_ONLY_UTF8 if smtputf8 else ATEXT_ONLY
    valid = chars.match(local)
    end = valid.end() if valid else 0
    if end < len(local):
        return (
            f"the local part {_show(local)} contains {_char(local[end])}, "
            "which is allowed only in a quoted local part"
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return f"the local part {_show(local)} begins or ends with '.' or has '..'"
    return ""


def _domain_reason(domain: str, smtputf8: bool) -> str:
    if not domain:
        return "the domain is empty"
    chars = LABEL_CHARS_UTF8 if smtputf8 else LABEL_CHARS
    for label in domain.split("."):
        if not label:
            return (
                f"the domain {_show(domain)} has an empty label "
                "(a leading, trailing or doubled '.')"
            )
        valid = chars.match(label)
        end = valid.end() if valid else 0
        if end < len(label):
            return (
                f"the domain {_show(domain)} contains {_char(label[end])}, "
                "which is not allowed in a domain"
            )
        if label[0] == "-" or label[-1] == "-":
            return f"the domain label {_show(label)} begins or ends with '-'"
    return ""


def _literal_syntax_reason(literal: str) -> str:
    if len(literal) < 2 or literal[-1] != "]":
        return f"the address literal {_show(literal)} does not end with ']'"
    inner = literal[1:-1]
    if not inner:
        return "the address literal '[]' is empty"
    for char in inner:
        if not ("!" <= char <= "Z" or "^" <= char <= "~"):
            return (
                f"the address literal {_show(literal)} contains {_char(char)}, "
                "which is not allowed in an address literal"
            )
    return _literal_reason(literal)
