"""The SMTP DSN extension's MAIL and RCPT parameters (RFC 3461 section 4, RFC 6533).

Grammar (RFC 5321 section 4.1.2, RFC 3461 sections 4.1 to 4.4)::

    esmtp-param    = esmtp-keyword ["=" esmtp-value]
    esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    esmtp-value    = 1*(%d33-60 / %d62-126)      ; UTF-8 also allowed here (RFC 6531)

    ret-value      = "FULL" / "HDRS"                                   ; MAIL, RET=
    envid-value    = xtext                    ; at most 100 characters  ; MAIL, ENVID=
    notify-value   = "NEVER" / notify-list-element *("," notify-list-element)
    notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"              ; RCPT, NOTIFY=
    orcpt-value    = addr-type ";" xtext      ; at most 500 characters  ; RCPT, ORCPT=
    addr-type      = atom                     ; "rfc822", "utf-8" (RFC 6533) ...

Keywords and the RET and NOTIFY values are case-insensitive (RFC 5234 quoted strings) and
are kept in upper case. ENVID and the ORCPT address are decoded (xtext, or RFC 6533
utf-8-addr-xtext / utf-8-addr-unitext for the ``utf-8`` address type) with their case
preserved, and the ORCPT address type is kept exactly as the client wrote it.

Every problem raises :class:`DSNParameterError`, whose ``reply`` is the ``501 5.5.4`` reply
a server sends, naming the parameter:

>>> parse_rcpt_params("NOTIFY=never,success")
Traceback (most recent call last):
...
smtpdsn.dsnparams.DSNParameterError: NOTIFY: NEVER cannot be combined with other values
>>> p = parse_rcpt_params("NOTIFY=success,failure ORCPT=rfc822;Bob+2Bx@example.com")
>>> sorted(p.notify or ()), p.orcpt
(['FAILURE', 'SUCCESS'], ('rfc822', 'Bob+x@example.com'))
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, cast

from .errors import InvalidReplyError, XtextError
from .reply import Reply
from .xtext import decode_utf8_addr, decode_xtext, encode_utf8_addr_xtext, encode_xtext

__all__ = [
    "ENVID_MAX_LENGTH",
    "NOTIFY_KEYWORDS",
    "ORCPT_MAX_LENGTH",
    "DSNParameterError",
    "MailParams",
    "RcptParams",
    "mail_params",
    "parse_esmtp_params",
    "parse_mail_params",
    "parse_rcpt_params",
    "rcpt_params",
]

#: RFC 3461 section 4.4: an ENVID is at most 100 characters (counted as sent, in xtext).
ENVID_MAX_LENGTH: Final = 100
#: RFC 3461 section 4.2: an ORCPT value (type, ";" and address, in xtext) is at most 500.
ORCPT_MAX_LENGTH: Final = 500
#: The NOTIFY list elements, in the order :meth:`RcptParams.esmtp` writes them.
NOTIFY_KEYWORDS: Final = ("SUCCESS", "DELAY", "FAILURE")

_SPACES: Final = re.compile(r"[ \t]+")
_KEYWORD: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
# esmtp-value: printable ASCII except "=", plus non-ASCII characters (SMTPUTF8), but no C1
# controls and no lone surrogates (undecodable bytes, as aiosmtpd passes them on).
_VALUE: Final = re.compile(r"[!-<>-~\u00a0-\ud7ff\ue000-\U0010ffff]+")
# RFC 5322 atext, for the ORCPT addr-type (an atom).
_ATOM: Final = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
_RET_VALUES: Final = ("FULL", "HDRS")
_NOTIFY_ALL: Final = frozenset({"NEVER", *NOTIFY_KEYWORDS})


class DSNParameterError(InvalidReplyError):
    """A MAIL or RCPT parameter is not valid (RFC 3461 / RFC 5321 parameter syntax).

    Attributes:
        parameter: the parameter's keyword in upper case (``"NOTIFY"``), or ``""`` when
            the parameter list as a whole is malformed.
        reply: the ``501 5.5.4`` :class:`~smtpdsn.reply.Reply` a server sends for it; its
            text names the parameter and the problem.
    """

    parameter: str
    reply: Reply

    def __init__(self, parameter: str, problem: str) -> None:
        message = f"{parameter}: {problem}" if parameter else problem
        super().__init__(message)
        self.parameter = parameter
        if parameter:
            self.reply = Reply(501, "5.5.4", f"Invalid parameter {message}")
        else:
            self.reply = Reply(501, "5.5.4", f"Invalid parameters: {message}")


def _printable(text: str) -> bool:
    """True when ``text`` has no control characters (no header or reply injection)."""
    return all(ch.isprintable() or ch == " " for ch in text)


@dataclass(frozen=True, slots=True)
class MailParams:
    """The DSN parameters of a MAIL FROM command (RFC 3461 sections 4.3 and 4.4).

    Attributes:
        ret: ``"FULL"`` (return the whole message in a failure DSN), ``"HDRS"`` (only its
            headers), or None when the client did not say.
        envid: the envelope identifier, xtext-decoded, case preserved; None when absent.
    """

    ret: Literal["FULL", "HDRS"] | None = None
    envid: str | None = None

    def __post_init__(self) -> None:
        if self.ret is not None and self.ret not in _RET_VALUES:
            raise DSNParameterError("RET", f"{self.ret!r} is not FULL or HDRS")
        if self.envid is not None:
            if not isinstance(self.envid, str) or not self.envid:
                raise DSNParameterError("ENVID", "the envelope identifier must not be empty")
            if not (self.envid.isascii() and _printable(self.envid)):
                raise DSNParameterError(
                    "ENVID", "the envelope identifier must be printable US-ASCII text"
                )
            if len(encode_xtext(self.envid)) > ENVID_MAX_LENGTH:
                raise DSNParameterError(
                    "ENVID", f"longer than {ENVID_MAX_LENGTH} characters (RFC 3461 section 4.4)"
                )

    def esmtp(self) -> tuple[str, ...]:
        """The parameters as a client sends them, e.g. ``("RET=HDRS", "ENVID=x+2By")``."""
        out: list[str] = []
        if self.ret is not None:
            out.append(f"RET={self.ret}")
        if self.envid is not None:
            out.append(f"ENVID={encode_xtext(self.envid)}")
        return tuple(out)


@dataclass(frozen=True, slots=True)
class RcptParams:
    """The DSN parameters of a RCPT TO command (RFC 3461 sections 4.1 and 4.2).

    Attributes:
        notify: ``frozenset({"NEVER"})``, a non-empty subset of ``{"SUCCESS", "DELAY",
            "FAILURE"}``, or None when the client sent no NOTIFY (the MTA then reports
            failures, and may report delays).
        orcpt: ``(addr_type, address)``: the address type exactly as the client wrote it
            (``"rfc822"``, ``"utf-8"`` ...) and the decoded original recipient; or None.
    """

    notify: frozenset[str] | None = None
    orcpt: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        if self.notify is not None:
            if not isinstance(self.notify, frozenset) or not self.notify:
                raise DSNParameterError("NOTIFY", "expected a non-empty frozenset of keywords")
            unknown = self.notify - _NOTIFY_ALL
            if unknown:
                raise DSNParameterError("NOTIFY", f"unknown keyword {min(unknown)!r}")
            if "NEVER" in self.notify and len(self.notify) > 1:
                raise DSNParameterError("NOTIFY", "NEVER cannot be combined with other values")
        if self.orcpt is not None:
            if not (isinstance(self.orcpt, tuple) and len(self.orcpt) == 2):
                raise DSNParameterError("ORCPT", "expected an (address type, address) pair")
            addr_type, address = self.orcpt
            if not isinstance(addr_type, str) or _ATOM.fullmatch(addr_type) is None:
                raise DSNParameterError("ORCPT", f"invalid address type {addr_type!r}")
            if not isinstance(address, str) or not address:
                raise DSNParameterError("ORCPT", "the original recipient must not be empty")
            if not _printable(address):
                raise DSNParameterError(
                    "ORCPT", "the original recipient contains control characters"
                )

    def wants(self, event: Literal["SUCCESS", "DELAY", "FAILURE"]) -> bool:
        """Whether a DSN should be sent for ``event`` to this recipient's sender.

        With no NOTIFY, failures are reported and delays too (RFC 3461 section 4.1 lets the
        MTA choose; reporting them is the common choice); successes are not.
        """
        if self.notify is None:
            return event != "SUCCESS"
        return event in self.notify

    def esmtp(self) -> tuple[str, ...]:
        """The parameters as a client sends them, e.g. ``("NOTIFY=SUCCESS,FAILURE",
        "ORCPT=rfc822;bob@example.com")``."""
        out: list[str] = []
        if self.notify is not None:
            if "NEVER" in self.notify:
                out.append("NOTIFY=NEVER")
            else:
                out.append("NOTIFY=" + ",".join(k for k in NOTIFY_KEYWORDS if k in self.notify))
        if self.orcpt is not None:
            addr_type, address = self.orcpt
            if addr_type.lower() == "utf-8":
                encoded = encode_utf8_addr_xtext(address)
            else:
                encoded = encode_xtext(address)
            out.append(f"ORCPT={addr_type};{encoded}")
        return tuple(out)


def parse_esmtp_params(params: str | Iterable[str]) -> dict[str, str | None]:
    """Split MAIL/RCPT parameters into ``{KEYWORD: value}`` (None for a bare keyword).

    ``params`` is the text after the address (``"RET=HDRS ENVID=abc"``) or its words.
    Keywords are upper-cased; values are kept exactly as sent.

    Raises:
        DSNParameterError: a parameter that is not ``keyword[=value]`` with an RFC 5321
            keyword and a non-empty value, or a keyword given twice.
    """
    # Parameters are separated by SP (RFC 5321 section 4.1.2); str.split() would also split
    # at Unicode spaces such as U+0085 inside a value.
    words = [w for w in _SPACES.split(params) if w] if isinstance(params, str) else list(params)
    result: dict[str, str | None] = {}
    for word in words:
        keyword, eq, value = word.partition("=")
        if _KEYWORD.fullmatch(keyword) is None:
            shown = word if len(word) <= 40 else word[:40] + "..."
            raise DSNParameterError("", f"{shown!r} is not a valid ESMTP parameter")
        keyword = keyword.upper()
        if eq and _VALUE.fullmatch(value) is None:
            raise DSNParameterError(keyword, "the value is empty or contains invalid characters")
        if keyword in result:
            raise DSNParameterError(keyword, "the parameter is given more than once")
        result[keyword] = value if eq else None
    return result


def _required(params: Mapping[str, str | None], keyword: str) -> str | None:
    if keyword not in params:
        return None
    value = params[keyword]
    if value is None:
        raise DSNParameterError(keyword, "a value is required")
    return value


def mail_params(params: Mapping[str, str | None]) -> MailParams:
    """Read RET and ENVID from parameters split by :func:`parse_esmtp_params`.

    Other keywords are ignored (the server checks them itself).

    Raises:
        DSNParameterError: a RET other than FULL or HDRS, or an ENVID that is not valid
            xtext, is longer than 100 characters, or is not printable US-ASCII once decoded.
    """
    ret = _required(params, "RET")
    envid = _required(params, "ENVID")
    ret_value: Literal["FULL", "HDRS"] | None = None
    if ret is not None:
        if ret.upper() not in _RET_VALUES:
            raise DSNParameterError("RET", f"{_show(ret)} is not FULL or HDRS")
        ret_value = cast(Literal["FULL", "HDRS"], ret.upper())
    envid_value: str | None = None
    if envid is not None:
        if len(envid) > ENVID_MAX_LENGTH:
            raise DSNParameterError(
                "ENVID", f"longer than {ENVID_MAX_LENGTH} characters (RFC 3461 section 4.4)"
            )
        try:
            envid_value = decode_xtext(envid)
        except XtextError:
            raise DSNParameterError("ENVID", "the value is not valid xtext") from None
    return MailParams(ret_value, envid_value)


def rcpt_params(params: Mapping[str, str | None]) -> RcptParams:
    """Read NOTIFY and ORCPT from parameters split by :func:`parse_esmtp_params`.

    Other keywords are ignored (the server checks them itself).

    Raises:
        DSNParameterError: an unknown NOTIFY keyword, an empty list element, NEVER with
            another keyword; an ORCPT without ``type;address``, longer than 500
            characters, with an invalid address type or an address that does not decode,
            or of type rfc822 with an address that is not US-ASCII once decoded.
    """
    notify = _required(params, "NOTIFY")
    orcpt = _required(params, "ORCPT")
    notify_value: frozenset[str] | None = None
    if notify is not None:
        items = [item.upper() for item in notify.split(",")]
        for item in items:
            if item not in _NOTIFY_ALL:
                raise DSNParameterError(
                    "NOTIFY",
                    f"{_show(item)} is not NEVER, SUCCESS, DELAY or FAILURE"
                    if item
                    else "empty element in the list",
                )
        notify_value = frozenset(items)
        if "NEVER" in notify_value and len(items) > 1:
            raise DSNParameterError("NOTIFY", "NEVER cannot be combined with other values")
    orcpt_value: tuple[str, str] | None = None
    if orcpt is not None:
        if len(orcpt) > ORCPT_MAX_LENGTH:
            raise DSNParameterError(
                "ORCPT", f"longer than {ORCPT_MAX_LENGTH} characters (RFC 3461 section 4.2)"
            )
        addr_type, semi, encoded = orcpt.partition(";")
        if not semi or _ATOM.fullmatch(addr_type) is None:
            raise DSNParameterError("ORCPT", "expected an address type, ';' and an address")
        if not encoded:
            raise DSNParameterError("ORCPT", "the original recipient is empty")
        try:
            if addr_type.lower() == "utf-8":
                address = decode_utf8_addr(encoded)
            else:
                address = decode_xtext(encoded)
        except XtextError:
            form = "utf-8-addr-xtext" if addr_type.lower() == "utf-8" else "xtext"
            raise DSNParameterError("ORCPT", f"the address is not valid {form}") from None
        if not _printable(address):
            raise DSNParameterError("ORCPT", "the original recipient contains control characters")
        if addr_type.lower() == "rfc822" and not address.isascii():
            # RFC 3461 section 4.2: an rfc822 address decodes to US-ASCII; a non-ASCII
            # original recipient needs the utf-8 address type (RFC 6533 section 3).
            raise DSNParameterError(
                "ORCPT", "an rfc822 address must be US-ASCII once decoded (use utf-8)"
            )
        orcpt_value = (addr_type, address)
    return RcptParams(notify_value, orcpt_value)


def parse_mail_params(params: str | Iterable[str]) -> MailParams:
    """:func:`mail_params` of :func:`parse_esmtp_params`; other keywords are ignored."""
    return mail_params(parse_esmtp_params(params))


def parse_rcpt_params(params: str | Iterable[str]) -> RcptParams:
    """:func:`rcpt_params` of :func:`parse_esmtp_params`; other keywords are ignored."""
    return rcpt_params(parse_esmtp_params(params))


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")
