"""The ``smtpdsn`` command line: explain, list, reply, parse, classify, report, bounce, and
serve (which needs the server extra, ``pip install smtpdsn[server]``).

Every command writes its result to stdout. A bad argument prints one line to stderr and
exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn, TextIO

from ._version import __version__
from .errors import DSNError
from .factories import FACTORIES
from .parse import parse_reply
from .registry import CLASSES, ENTRIES, SUBJECTS
from .reply import Reply
from .status import EnhancedStatus

__all__ = ["main"]

_EXPLAIN_RE = re.compile(r"\s*(?:([2-5][0-5][0-9])[- ]\s*)?([0-9]+\.[0-9]+\.[0-9]+)(?:\s.*)?")


class _UsageError(Exception):
    """A bad command-line value: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _status_info(status: EnhancedStatus) -> dict[str, Any]:
    entry = status.entry
    subject = status.subject_info
    return {
        "status": str(status),
        "class": status.class_,
        "class_meaning": status.class_info.summary,
        "subject": status.subject,
        "subject_meaning": subject.summary if subject else None,
        "detail": status.detail,
        "registered": entry is not None,
        "sample_text": entry.sample_text if entry else None,
        "description": entry.description if entry else None,
        "basic_codes": entry.basic_codes if entry else None,
        "reference": entry.reference if entry else None,
        "deprecated": status.deprecated,
        "summary": status.describe(),
    }


def _explain(args: argparse.Namespace, out: TextIO) -> int:
    for value in args.code:
        m = _EXPLAIN_RE.fullmatch(value)
        if m is None:
            raise _UsageError(
                f"cannot explain {value!r}: give an enhanced status code such as 5.7.26, "
                "or a reply line such as '550 5.7.26 text'"
            )
        try:
            status = EnhancedStatus.parse(m[2])
        except DSNError as exc:
            raise _UsageError(str(exc)) from None
        info = _status_info(status)
        if m[1] is not None:
            info["reply_code"] = int(m[1])
            if int(m[1][0]) != status.class_:
                info["warning"] = f"reply code {m[1]} and status {status} disagree in class"
        if args.json:
            out.write(json.dumps(info, ensure_ascii=False) + "\n")
            continue
        out.write(f"{status}\n")
        if "reply_code" in info:
            out.write(f"  reply code:  {info['reply_code']}\n")
        out.write(f"  class:       {status.class_} {info['class_meaning']}\n")
        subject = info["subject_meaning"] or "(not defined by RFC 3463)"
        out.write(f"  subject:     {status.subject} {subject}\n")
        if info["registered"]:
            out.write(f"  detail:      {status.detail} {info['sample_text'] or '(deprecated)'}\n")
            out.write(f"  meaning:     {info['description']}\n")
            out.write(f"  basic codes: {info['basic_codes'] or 'not given'}\n")
            out.write(f"  reference:   {info['reference']}\n")
        else:
            out.write(
                f"  detail:      {status.detail} (not registered with IANA; RFC 3463 says "
                "to report it by its class and subject)\n"
            )
        if "warning" in info:
            out.write(f"  warning:     {info['warning']}\n")
    return 0


def _unique_factories() -> Iterator[tuple[str, Any]]:
    seen: set[int] = set()
    for f in FACTORIES.values():
        if id(f) not in seen:
            seen.add(id(f))
            yield f.info.name, f


def _list(args: argparse.Namespace, out: TextIO) -> int:
    show_registry = args.what in ("all", "registry")
    show_factories = args.what in ("all", "factories")
    if args.json:
        doc: dict[str, Any] = {}
        if show_registry:
            doc["classes"] = [{"class": c.number, "summary": c.summary} for c in CLASSES.values()]
            doc["subjects"] = [
                {"subject": s.number, "summary": s.summary} for s in SUBJECTS.values()
            ]
            doc["codes"] = [
                {
                    "code": e.code,
                    "sample_text": e.sample_text,
                    "basic_codes": e.basic_codes,
                    "description": e.description,
                    "reference": e.reference,
                    "deprecated": e.deprecated,
                }
                for e in ENTRIES.values()
            ]
        if show_factories:
            doc["factories"] = [
                {
                    "name": name,
                    "aliases": list(f.info.aliases),
                    "code": f.info.default_code,
                    "status": f.info.status_code,
                    "message": f.info.default_message,
                    "origin": f.info.origin,
                    "reply": str(f()),
                }
                for name, f in _unique_factories()
            ]
        out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        return 0
    if show_registry:
        out.write("Enhanced status codes (IANA registry)\n")
        for e in ENTRIES.values():
            flag = " (deprecated)" if e.deprecated else ""
            out.write(f"  {e.code:<7} {e.sample_text or '-'}{flag}\n")
    if show_factories:
        if show_registry:
            out.write("\n")
        out.write("Factories\n")
        for name, f in _unique_factories():
            aliases = f" (also {', '.join(f.info.aliases)})" if f.info.aliases else ""
            out.write(f"  {name:<30} {f()}{aliases}\n")
    return 0


def _reply(args: argparse.Namespace, out: TextIO) -> int:
    factory = FACTORIES.get(args.name)
    if factory is None:
        near = difflib.get_close_matches(args.name, FACTORIES.keys(), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else "; see 'smtpdsn list'"
        raise _UsageError(f"no factory named {args.name!r}{hint}")
    message: str | list[str] | None = None
    if args.text:
        message = args.text[0] if len(args.text) == 1 else list(args.text)
    try:
        reply = factory(message, args.code, utf8=args.utf8)
    except DSNError as exc:
        raise _UsageError(str(exc)) from None
    out.write(reply + "\n")
    return 0


def _split_replies(stream: TextIO) -> Iterator[str]:
    """Group input lines into replies: a reply ends at a line without '-' after its code."""
    pending: list[str] = []
    for raw in stream:
        line = raw.rstrip("\r\n")
        if not line.strip():
            if pending:
                yield "\n".join(pending)
                pending = []
            continue
        pending.append(line)
        if not (len(line) >= 4 and line[3] == "-"):
            yield "\n".join(pending)
            pending = []
    if pending:
        yield "\n".join(pending)


def _reply_json(reply: Reply) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "code": reply.code,
        "status": None if reply.status is None else str(reply.status),
        "lines": list(reply.lines),
        "text": reply.text,
        "kind": (
            "success"
            if reply.is_success
            else "intermediate"
            if reply.is_intermediate
            else "transient"
            if reply.is_transient
            else "permanent"
        ),
    }
    if reply.status is not None:
        doc["meaning"] = reply.status.describe()
    return doc


def _parse(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    status = 0
    for number, chunk in enumerate(_split_replies(stdin), 1):
        try:
            reply = parse_reply(chunk, strict=not args.lenient)
        except DSNError as exc:
            out.write(json.dumps({"error": str(exc), "input": chunk}, ensure_ascii=False) + "\n")
            print(f"smtpdsn parse: reply {number}: {exc}", file=sys.stderr)
            status = 1
            continue
        out.write(json.dumps(_reply_json(reply), ensure_ascii=False) + "\n")
    return status


def _code(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid reply code {value!r}: expected a number such as 450"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="smtpdsn",
        description="SMTP enhanced status codes, DSN replies and reply parsing.",
    )
    parser.add_argument("--version", action="version", version=f"smtpdsn {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    p = sub.add_parser("explain", help="explain an enhanced status code or a reply line")
    p.add_argument("code", nargs="+", help="e.g. 5.7.26, '550 5.7.26' or a whole reply line")
    p.add_argument("--json", action="store_true", help="print JSON, one object per code")

    p = sub.add_parser("list", help="list the registry and the factories")
    p.add_argument("what", nargs="?", choices=("all", "registry", "factories"), default="all")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("reply", help="print the wire reply a factory builds")
    p.add_argument("name", help="factory name, e.g. no_such_user")
    p.add_argument("text", nargs="*", help="message; several arguments make several lines")
    p.add_argument("--code", type=_code, help="reply code; its first digit sets the class")
    p.add_argument("--utf8", action="store_true", help="keep non-ASCII text (SMTPUTF8)")

    p = sub.add_parser("parse", help="parse SMTP replies from stdin and print JSON lines")
    p.add_argument("--lenient", action="store_true", help="keep what is usable of bad replies")

    from .classify import cli as classify_cli
    from .server import cli as server_cli

    p = sub.add_parser("classify", help="classify bounce messages (files, mbox, Maildir, -)")
    classify_cli.add_arguments(p)
    from .report import bouncecli
    from .report import cli as report_cli

    p = sub.add_parser("report", help="read delivery status reports as JSON lines")
    report_cli.add_arguments(p)
    p = sub.add_parser("bounce", help="write the DSN an MTA would send about a message")
    bouncecli.add_arguments(p)
    p = sub.add_parser("serve", help="run an SMTP server that answers with DSN replies")
    server_cli.add_arguments(p)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit status."""
    out = stdout if stdout is not None else sys.stdout
    args = _parser().parse_args(argv)
    try:
        if args.command == "explain":
            return _explain(args, out)
        if args.command == "list":
            return _list(args, out)
        if args.command == "reply":
            return _reply(args, out)
        if args.command == "parse":
            return _parse(args, out, stdin if stdin is not None else sys.stdin)
        if args.command == "classify":
            from .classify import cli as classify_cli

            return classify_cli.run(args)
        if args.command in ("report", "bounce"):
            from .report import bouncecli
            from .report import cli as report_cli

            if args.command == "report":
                return report_cli.run(args, out)
            try:
                return bouncecli.run(args)
            except bouncecli.BounceUsageError as exc:
                raise _UsageError(str(exc)) from None
        from .server import cli as server_cli

        return server_cli.run(args)
    except _UsageError as exc:
        print(f"smtpdsn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
