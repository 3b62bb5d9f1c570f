"""``smtpdsn bounce``: write the delivery status notification (RFC 3464, RFC 3461 section 6)
an MTA would send about a message.

::

    smtpdsn bounce --original msg.eml --sender alice@example.com \\
        --rcpt bob@example.org=no_such_user \\
        --rcpt 'list+carol=example.net@lists.example.org=550:5.7.1:Rejected by policy'

``--rcpt ADDR=REPLY`` (repeatable): ``REPLY`` is a factory name (``smtpdsn list
factories``) or ``CODE:STATUS:TEXT`` (``550:5.1.1:No such user``; STATUS and TEXT may be
empty). The value is split at the first ``=`` after the last ``@``, so a VERP local part
(``list+carol=example.net@...``) stays whole. ``--sender`` defaults to the original's
Return-Path; ``--reporting-mta`` to this host's name. ``--ret``, ``--envid`` are the
message's MAIL parameters, ``--notify`` and ``--orcpt`` (``TYPE;ADDRESS``, decoded) the
RCPT parameters of every recipient. ``--delay`` writes a delayed DSN (Action: delayed,
Will-Retry-Until in five days); a factory then gives its 4xx form, and a 5xx
``CODE:STATUS:TEXT`` is refused.

The DSN goes to stdout (CRLF line ends). When none is due (a null sender, NOTIFY=NEVER,
NOTIFY without the event) nothing is written, the reason goes to stderr, and the exit
status is 0. A bad value exits with status 2.
"""

from __future__ import annotations

import argparse
import difflib
import re
import socket
import sys
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from typing import BinaryIO, Final, TextIO

from ..dsnparams import MailParams, RcptParams, parse_rcpt_params
from ..errors import DSNError
from ..factories import FACTORIES
from ..reply import Reply
from .build import build_report
from .checks import host_name
from .compose import DEFAULT_NOTIFY, RecipientOutcome
from .errors import InvalidReportError
from .model import Action

__all__ = ["BounceUsageError", "add_arguments", "parse_rcpt", "run"]

#: How long a delayed recipient "will be retried" (Will-Retry-Until): five days, Postfix's
#: maximal_queue_lifetime.
RETRY_FOR: Final = timedelta(days=5)


class BounceUsageError(ValueError):
    """A bad ``bounce`` argument: reported in one line, exit status 2."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``bounce`` arguments to ``parser``."""
    parser.add_argument("--original", required=True, metavar="FILE",
                        help="the message the DSN is about ('-' for stdin)")
    parser.add_argument("--rcpt", action="append", required=True, metavar="ADDR=REPLY",
                        help="a recipient and its outcome: a factory name or CODE:STATUS:TEXT")
    parser.add_argument("--sender", help="the envelope sender (default: the Return-Path)")
    parser.add_argument("--reporting-mta", metavar="HOST",
                        help="this MTA's host name (default: the host's name)")
    parser.add_argument("--ret", choices=("FULL", "HDRS"), type=str.upper,
                        help="return the full message or only its header (default HDRS)")
    parser.add_argument("--envid", help="the ENVID the sender gave (decoded text)")
    parser.add_argument("--notify", help="NOTIFY of every recipient, e.g. FAILURE,DELAY or NEVER")
    parser.add_argument("--orcpt", metavar="TYPE;ADDRESS",
                        help="ORCPT of every recipient, decoded, e.g. rfc822;bob@example.org")
    parser.add_argument("--delay", action="store_true",
                        help="a delayed DSN (Action: delayed) instead of a failure")


def _split_rcpt(value: str) -> tuple[str, str]:
    at = value.rfind("@")
    eq = value.find("=", at + 1) if at >= 0 else -1
    if at <= 0 or eq < 0:
        raise BounceUsageError(
            f"--rcpt {value!r}: expected ADDRESS=REPLY, e.g. bob@example.org=no_such_user "
            "(the split is at the first '=' after the last '@')"
        )
    return value[:eq], value[eq + 1 :]


def _factory_reply(name: str, delay: bool) -> Reply:
    factory = FACTORIES.get(name)
    if factory is None:
        near = difflib.get_close_matches(name, FACTORIES.keys(), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else "; see 'smtpdsn list factories'"
        raise BounceUsageError(f"no factory named {name!r}{hint}")
    code = factory.info.default_code
    if delay and code // 100 == 5:
        return factory(None, code - 100)
    return factory()


def _explicit_reply(value: str, delay: bool) -> Reply:
    code_text, _, rest = value.partition(":")
    status, _, text = rest.partition(":")
    try:
        code = int(code_text)
        reply = Reply(code, status or None, text)
    except (ValueError, DSNError) as exc:
        raise BounceUsageError(
            f"--rcpt reply {value!r}: {exc}; expected CODE:STATUS:TEXT such as "
            "550:5.1.1:No such user"
        ) from None
    if delay and reply.code // 100 != 4:
        raise BounceUsageError(
            f"--rcpt reply {value!r}: a delayed DSN needs a 4xx reply such as 450:4.4.1:text"
        )
    if reply.code // 100 == 3:
        raise BounceUsageError(f"--rcpt reply {value!r}: a 3xx reply is no delivery outcome")
    return reply


def parse_rcpt(value: str, *, delay: bool = False) -> tuple[str, Reply]:
    """Split an ``ADDR=REPLY`` argument into the address and its reply.

    >>> parse_rcpt("list+bob=example.org@lists.example.net=no_such_user")
    ('list+bob=example.org@lists.example.net', Reply(550, '5.1.1', 'No such user'))

    Raises:
        BounceUsageError: no ``=`` after the last ``@``, an unknown factory, or a reply
            that is not ``CODE:STATUS:TEXT``.
    """
    address, reply = _split_rcpt(value)
    if reply[:1].isdigit():
        return address, _explicit_reply(reply, delay)
    return address, _factory_reply(reply, delay)


def _rcpt_params(args: argparse.Namespace) -> RcptParams | None:
    params: list[str] = []
    if args.notify is not None:
        params.append(f"NOTIFY={args.notify.upper()}")
    try:
        found = parse_rcpt_params(params) if params else RcptParams()
        if args.orcpt is not None:
            kind, semi, address = args.orcpt.partition(";")
            if not semi:
                kind, address = "rfc822", args.orcpt
            found = RcptParams(found.notify, (kind.strip(), address.strip()))
    except DSNError as exc:
        raise BounceUsageError(str(exc)) from None
    return found if found.notify is not None or found.orcpt is not None else None


def _default_sender(original: bytes) -> str:
    header = BytesHeaderParser(policy=compat32).parsebytes(original)
    value = header.get("Return-Path")
    if value is None:
        raise BounceUsageError("give --sender: the original has no Return-Path")
    # Return-Path: <alice@example.com> (a comment may follow); "<>" is the null sender.
    m = re.search(r"<([^<>]*)>", str(value))
    return m[1] if m is not None else str(value).strip()


def _reporting_mta(value: str | None) -> str:
    if value is not None:
        return value
    name = socket.gethostname() or "localhost"
    try:
        host_name(name)
    except InvalidReportError:
        return "localhost"
    return name


def _why_none(sender: str, rcpt_params: RcptParams | None, action: Action) -> str:
    if sender in ("", "<>"):
        return "the sender is null (MAIL FROM:<>): no DSN is ever sent to it"
    notify = rcpt_params.notify if rcpt_params is not None else None
    if notify is not None and "NEVER" in notify:
        return "NOTIFY=NEVER: the sender asked for no DSN"
    words = ",".join(sorted(notify if notify is not None else DEFAULT_NOTIFY))
    return f"NOTIFY={words} does not ask for a report of {action.value} recipients"


def run(
    args: argparse.Namespace,
    out: BinaryIO | None = None,
    err: TextIO | None = None,
    stdin: bytes | None = None,
) -> int:
    """Write the DSN to ``out``; 0 also when none is due, 2 for a bad argument.

    Raises:
        BounceUsageError: a bad argument (the main CLI reports it and exits 2).
    """
    err = err if err is not None else sys.stderr
    if args.original == "-":
        original = stdin if stdin is not None else sys.stdin.buffer.read()
    else:
        try:
            with open(args.original, "rb") as fh:
                original = fh.read()
        except OSError as exc:
            err.write(f"smtpdsn bounce: cannot read {args.original}: {exc.strerror or exc}\n")
            return 1
    sender = args.sender if args.sender is not None else _default_sender(original)
    rcpt_params = _rcpt_params(args)
    now = datetime.now(UTC).replace(microsecond=0)
    outcomes = []
    for value in args.rcpt:
        address, reply = parse_rcpt(value, delay=args.delay)
        # Without --delay a 4xx reply reports a failure after transient errors (RFC 3464
        # section 2.3.3 does not tie the Action to the status class); 2xx is a success.
        action = Action.DELAYED if args.delay else Action.FAILED
        if reply.code // 100 == 2:
            action = Action.DELIVERED
        outcomes.append(RecipientOutcome(
            address,
            reply,
            action=action,
            params=rcpt_params,
            will_retry_until=now + RETRY_FOR if args.delay else None,
        ))
    try:
        mail_params = MailParams(args.ret, args.envid)
        dsn = build_report(
            original,
            outcomes,
            sender=sender,
            reporting_mta=_reporting_mta(args.reporting_mta),
            mail_params=mail_params,
            date=now,
        )
    except DSNError as exc:
        raise BounceUsageError(str(exc)) from None
    if dsn is None:
        why = _why_none(sender, rcpt_params, outcomes[0].action)  # type: ignore[arg-type]
        err.write(f"smtpdsn bounce: no DSN is due: {why}\n")
        return 0
    target = out if out is not None else sys.stdout.buffer
    target.write(bytes(dsn))
    target.flush()
    return 0
