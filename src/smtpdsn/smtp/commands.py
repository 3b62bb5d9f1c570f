"""The grammar of the commands the core reads (RFC 5321 section 4.1.1, 4.1.2).

::

    command        = verb [SP argument] CRLF
    mail           = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
    rcpt           = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
                     Forward-path ) [SP Rcpt-parameters] CRLF
    Mail-parameters = esmtp-param *(SP esmtp-param)
    esmtp-param    = esmtp-keyword ["=" esmtp-value]
    esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    esmtp-value    = 1*(%d33-60 / %d62-126)       ; and UTF-8 under SMTPUTF8 (RFC 6531)

Leniency, as Postfix and aiosmtpd have it: spaces between ``FROM:``/``TO:`` and the path
are allowed, and so is the keyword in any case.
"""

from __future__ import annotations

import re
from typing import Final

from ..dsnparams import DSNParameterError, parse_esmtp_params
from ..reply import Reply
from .address import AddressError, Path, parse_forward_path, parse_path, split_path

__all__ = ["CommandError", "parse_mail_argument", "parse_rcpt_argument", "split_command"]

_EXTENDED: Final = " [SP <mail-parameters>]"
_FROM: Final = re.compile(r"FROM:[ ]*", re.IGNORECASE)
_TO: Final = re.compile(r"TO:[ ]*", re.IGNORECASE)


class CommandError(ValueError):
    """A command the core refuses; ``reply`` is what the client is told."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(str(reply))
        self.reply = reply


def split_command(line: str) -> tuple[str, str]:
    """``"mail FROM:<a@b>"`` -> ``("MAIL", "FROM:<a@b>")``: the verb upper-cased, the
    argument without the separating space (empty when there is none)."""
    verb, _, arg = line.partition(" ")
    return verb.upper(), arg


def _path_and_params(
    arg: str,
    keyword: re.Pattern[str],
    usage: str,
    *,
    esmtp: bool,
    smtputf8: bool,
    allow_null: bool,
    bad: Reply,
) -> tuple[Path, dict[str, str | None]]:
    arg = arg.lstrip(" ")  # "MAIL  FROM:" (Postfix and aiosmtpd accept it)
    match = keyword.match(arg)
    if match is None or match.end() == len(arg.rstrip(" ")):
        raise CommandError(Reply(501, "5.5.4", f"Syntax: {usage}{_EXTENDED if esmtp else ''}"))
    rest = arg[match.end() :]
    try:
        path_text, params_text = split_path(rest)
    except AddressError as exc:
        raise CommandError(Reply(bad.code, bad.status, f"{bad.text}: {exc.reason}")) from None
    if params_text and not esmtp:  # parameters need EHLO
        raise CommandError(Reply(501, "5.5.4", f"Syntax: {usage}"))
    try:
        params = parse_esmtp_params(params_text) if params_text else {}
    except DSNParameterError as exc:
        raise CommandError(exc.reply) from None
    # MAIL enables UTF-8 addresses with its own SMTPUTF8 parameter; RCPT with the MAIL's.
    utf8 = smtputf8 and ("SMTPUTF8" in params if allow_null else True)
    try:
        if allow_null:
            path = parse_path(path_text, smtputf8=utf8, allow_null=True)
        else:
            path = parse_forward_path(path_text, smtputf8=utf8)
    except AddressError as exc:
        if exc.kind == "non-ascii":  # RFC 6531 section 3.7.4.1
            raise CommandError(
                Reply(553, "5.6.7", f"Address needs SMTPUTF8: {exc.reason}")
            ) from None
        raise CommandError(Reply(bad.code, bad.status, f"{bad.text}: {exc.reason}")) from None
    return path, params


_BAD_SENDER: Final = Reply(501, "5.1.7", "Bad sender address syntax")
_BAD_RECIPIENT: Final = Reply(553, "5.1.3", "Bad recipient address syntax")


def parse_mail_argument(
    arg: str, *, esmtp: bool, smtputf8: bool
) -> tuple[Path, dict[str, str | None]]:
    """The path and parameters of ``MAIL FROM:<path> params``.

    Raises:
        CommandError: with ``501 5.5.4`` for bad syntax, ``501 5.1.7`` for a bad address.
    """
    return _path_and_params(
        arg,
        _FROM,
        "MAIL FROM: <address>",
        esmtp=esmtp,
        smtputf8=smtputf8,
        allow_null=True,
        bad=_BAD_SENDER,
    )


def parse_rcpt_argument(
    arg: str, *, esmtp: bool, smtputf8: bool
) -> tuple[Path, dict[str, str | None]]:
    """The path and parameters of ``RCPT TO:<path> params``.

    Raises:
        CommandError: with ``501 5.5.4`` for bad syntax, ``553 5.1.3`` for a bad address
            and ``501 5.1.3`` for the null path ``<>`` (there is no null forward-path).
    """
    arg = arg.lstrip(" ")
    match = _TO.match(arg)
    if match is not None:
        rest = arg[match.end() :]
        if rest.startswith("<>"):
            raise CommandError(Reply(501, "5.1.3", "Bad recipient address syntax"))
    return _path_and_params(
        arg,
        _TO,
        "RCPT TO: <address>",
        esmtp=esmtp,
        smtputf8=smtputf8,
        allow_null=False,
        bad=_BAD_RECIPIENT,
    )
