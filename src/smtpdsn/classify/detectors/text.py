"""Plain-text bounces: the generic reader for the formats most MTAs write by hand.

qmail (``<rcpt>:`` then the reason), Exim (the address indented, then the SMTP error),
Sendmail and Postfix notices, Gmail, Yahoo, Exchange and most webmail providers all say
the same things in the same order: a sentence, the failed recipients, and for each the
remote server's reply or the MTA's reason, then a copy of the message. This detector
reads that shape:

1. the message must look like a bounce (sender, subject or null return path);
2. recipients are the addresses that stand where recipients stand: alone on a line,
   ``<addr>:``, ``RCPT TO:<addr>``, ``addr...`` (Sendmail), or after words such as
   "recipient", "to" or "delivery to"; the original sender is never a recipient;
3. each recipient's diagnostic is the text from its line to the next recipient's.
"""

from __future__ import annotations

import re
from typing import Final

from ..envelope import envelope_recipients
from ..message import MailView
from ..model import Action
from ..prefilter import Prechecked
from ..reasons import reason_from_text
from ..text import ADDRESS, clean_address, find_addresses, find_status, one_line
from .base import Candidate

__all__ = ["detect", "looks_like_bounce"]

_BOUNCE_FROM: Final = re.compile(
    r"mailer-daemon|mail-daemon|post_?master|mail delivery|maildelivery|mail administrator|"
    r"mdaemon|mailerdaemon|mail\.?system|bounce|system administrator|"
    r"delivery (?:notification|subsystem|status)|nobody@|\bmailer\b|\bdaemon\b|"
    r"returned|notification|\bpost ?office\b|\bmaster@",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT: Final = re.compile(
    r"undeliver|deliver(?:y|ing)? (?:status|fail|notification|report|problem|incomplete|error|"
    r"has failed|delayed|notice)|returned (?:mail|message|to sender)|failure notice|"
    r"failed|not (?:be )?delivered|non-?deliver|could not (?:send|deliver)|"
    r"mail system error|rejected|bounce|delayed|warning|error|\bdsn\b|unzustellbar|"
    r"nicht zustellbar|non remis|no entregado|message (?:status|you sent)|"
    r"unable to deliver|problem|mail delivery|notification|returned|blocked|"
    r"unknown|failure|not (?:a )?member",
    re.IGNORECASE,
)
_STRICT_SUBJECT: Final = re.compile(
    r"^(?:undeliver|delivery (?:status|failure|notification)|returned mail|failure notice|"
    r"mail delivery failed|non-?deliver)",
    re.IGNORECASE,
)
# Words that put the address after them in the place of a failed recipient.
_LEAD_IN: Final = re.compile(
    r"(?:recipient|addressee|address(?:es)?|rcpt to|rcpt|to|for|delivery to|deliver to|"
    r"delivered to|sent to|message to|mailbox|user|account|destinataire|empf[äa]nger|"
    r"mailing list|list)"
    r"(?:\(s\))?[ \t]*(?:address)?[ \t]*[:=]?[ \t]*<?[ \t]*$",
    re.IGNORECASE,
)
# Lower-case patterns matched on lower-cased text, behind keyword pre-checks (faster than
# IGNORECASE on whole notices).
_DELAY: Final = Prechecked(
    r"has been delayed|delivery (?:is )?delayed|will (?:keep|continue|be) (?:trying|retry|"
    r"retried)|still (?:trying|retrying)|not yet been delivered|warning: could not send|"
    r"delivery status notification \(delay\)|temporarily deferred|will retry"
)
_ROLE: Final = re.compile(
    r"^(?:postmaster|mailer-daemon|abuse|noreply|no-reply|hostmaster|webmaster|"
    r"mail-daemon|root|daemon|help|support)@",
    re.IGNORECASE,
)
_MAX_LINES: Final = 400
_SUBJECT_PREFIX: Final = re.compile(
    r"^(?:returned mail|undeliver\w*(?: mail)?|mail delivery failed|failure notice|"
    r"delivery status notification(?: \(\w+\))?)\s*:?\s*", re.IGNORECASE
)
_REPLY_ONLY: Final = re.compile(r"[245]\d\d[ -]?")
_SENDER_LEAD: Final = re.compile(r"(?:mail from|from|sender|envelope-from)[:= ]*<?$", re.I)
_RCPT_LEAD: Final = re.compile(r"rcpt to:?\s*<?$", re.I)
# "To: addr" in a notice quotes the original message's header fields, not a failure.
_HEADER_LINE: Final = re.compile(r"\s*(?:to|cc|bcc|from|reply-to|sender)\s*:\s*[^:]*$", re.I)


_NOTICE_SIGNS: Final = Prechecked(
    r"could not be delivered|undeliverable|delivery (?:has |to [^\n]{0,60})?failed|"
    r"permanent (?:fatal )?error|returned mail|was not delivered|not be delivered|"
    r"delivery to the following|following (?:addresses|recipients?)|unable to deliver|"
    r"wasn't able to deliver|rejected your message|delivery status notification"
)


def looks_like_bounce(view: MailView) -> bool:
    """True when the sender, subject, return path, content type or text says "bounce"."""
    if view.content_type == "multipart/report":
        return True
    if _NOTICE_SIGNS.found(view.notice[:3000].lower()):
        return True
    if _BOUNCE_FROM.search(view.from_):
        return True
    if _BOUNCE_SUBJECT.search(view.subject):
        return True
    return view.header("Return-Path").strip() == "<>"


def is_bounce_notice(view: MailView) -> bool:
    """True when the sender or subject is a delivery system's (stricter than
    :func:`looks_like_bounce`: an auto-reply quoting "undeliverable" is not one)."""
    return bool(_BOUNCE_FROM.search(view.from_)) or bool(
        _STRICT_SUBJECT.search(view.subject)
    )


def _senders(view: MailView) -> set[str]:
    """Addresses that are the original sender's, never a failed recipient."""
    found: set[str] = set()
    for name in ("From", "Sender"):
        found.update(a.lower() for a in find_addresses(view.header(name)))
    returned = view.returned
    if returned is None:
        returned = view.inline_original
    if returned is not None:
        for name in ("From", "Return-Path", "Sender", "Reply-To"):
            value = returned.get(name)
            if value is not None:
                found.update(a.lower() for a in find_addresses(str(value)))
    return found


def _own_to(view: MailView) -> set[str]:
    """The bounce's own To addresses: the original sender, to whom the bounce goes."""
    return {a.lower() for a in find_addresses(view.header("To"))}


def _recipient_on(line: str, exclude: set[str], own: frozenset[str] | set[str] = frozenset()
                  ) -> str | None:
    """The failed recipient a line names by its layout, or None. An address of ``own``
    (the bounce's own To) counts only where an MTA's layout says it failed."""
    if "@" not in line:  # the cheap pre-check: an address needs one
        return None
    m = ADDRESS.search(line)
    if m is None:
        return None
    addr = m[0].rstrip(".")
    if addr.lower() in exclude:
        return None
    before = line[: m.start()]
    if addr.lower() in own:
        # Only where an MTA's own layout names the failed recipient: qmail's and
        # Postfix's "<addr>:" opening a line, or after "RCPT TO:".
        said = _RCPT_LEAD.search(before) or (
            not before.strip(" \t<") and line[m.end() : m.end() + 2] == ">:")
        return addr if said else None
    bare_before = before.strip(" \t<\"'*-•>:").strip()
    # first on the line (alone, or followed by the reason), or after a reply code
    if not bare_before or _REPLY_ONLY.fullmatch(bare_before):
        return addr
    if _SENDER_LEAD.search(before) or _HEADER_LINE.match(before):
        return None
    if _RCPT_LEAD.search(before):
        return addr
    if _LEAD_IN.search(before.rstrip()):
        return addr
    return None


def _segments(lines: list[str], exclude: set[str], own: frozenset[str] | set[str] = frozenset()
              ) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    seen: set[str] = set()
    for index, line in enumerate(lines[:_MAX_LINES]):
        addr = _recipient_on(line, exclude, own)
        if addr is None or (_ROLE.match(addr) and len(lines) > 1 and addr.lower() in seen):
            continue
        key = addr.lower()
        if key in seen:
            continue
        seen.add(key)
        found.append((addr, index))
    return found


def _failed_header(view: MailView) -> list[str]:
    """Exim's and others' X-Failed-Recipients header."""
    return find_addresses(view.header("X-Failed-Recipients"))


def _returned_recipients(view: MailView, exclude: set[str]) -> list[str]:
    """The To and Cc of the returned message, for notices that name no recipient."""
    returned = view.returned or view.inline_original
    if returned is None:
        return []
    found: list[str] = []
    for name in ("To", "Cc"):
        value = returned.get(name)
        if value is not None:
            found.extend(a for a in find_addresses(str(value)) if a.lower() not in exclude)
    return found


# Postfix "<bob@example.net> (expanded from <info@example.org>): ...", Exim
# "bob@example.net\n  (generated from info@example.org)": the address the sender used.
_EXPANDED: Final = re.compile(
    r"\((?:expanded|generated) (?:from|by):? <?([^<>()\s]+@[^<>()\s]+?)>?\)", re.IGNORECASE
)


def _expanded_from(lines: list[str]) -> str:
    """The original recipient an alias expansion note names, or ""."""
    for line in lines:
        if "(" in line:
            m = _EXPANDED.search(line)
            if m is not None:
                return clean_address(m[1])
    return ""


_SENDMAIL_LINE: Final = re.compile(r">?\.\.\. \S")


def _around(lines: list[str], addr: str, start: int, end: int) -> str:
    """A recipient's text: what precedes the address on its line when it is a reason
    ("Unknown user: addr"), what follows it, and the lines up to the next recipient."""
    first_line = lines[start]
    pos = first_line.lower().find(addr.lower())
    if pos < 0:
        before, rest = "", first_line
    else:
        before, rest = first_line[:pos], first_line[pos + len(addr) :]
    before = before.strip(" \t<\"'*-•>:")
    if _SENDMAIL_LINE.match(rest) and reason_from_text(rest):
        # Sendmail's "554 <addr>... reason": the line is the recipient's whole diagnostic
        # (the next lines belong to the next recipient's host).
        end = start + 1
    rest = one_line(rest + "\n" + "\n".join(lines[start + 1 : end])).lstrip(">:.,;) ")
    return one_line(f"{before} {rest}") if before else rest


def diagnostics_by_address(view: MailView) -> dict[str, str]:
    """The notice's text for each recipient it names (lower-cased address -> text).

    RFC 3464 reports without a Diagnostic-Code often explain the failure only in their
    human-readable part; the rfc3464 detector fills the gap from here.
    """
    lines = view.notice.split("\n")
    found = _segments(lines, _senders(view))
    out: dict[str, str] = {}
    for i, (addr, start) in enumerate(found):
        end = found[i + 1][1] if i + 1 < len(found) else len(lines)
        out[addr.lower()] = _around(lines, addr, start, end)
    return out


def detect(view: MailView) -> list[Candidate] | None:
    """Candidates for a plain-text bounce; None when the message is not one."""
    if not looks_like_bounce(view):
        return None
    notice = view.notice
    lines = notice.split("\n")
    exclude = _senders(view)
    own = _own_to(view) - {a.lower() for a in _failed_header(view)}
    found = _segments(lines, exclude, own)
    exclude |= own  # nor is it a recipient found by the fallbacks below
    failed = _failed_header(view)
    if failed:
        located = {a.lower(): i for a, i in found}
        found = [(a, located.get(a.lower(), 0)) for a in failed]
    if not found:
        found = [(a, 0) for a in envelope_recipients(view) if a.lower() not in exclude]
    if not found:
        found = [(a, 0) for a in _returned_recipients(view, exclude)]
    if not found:
        loose = [
            a for a in find_addresses(notice) if a.lower() not in exclude and not _ROLE.match(a)
        ]
        if not loose:
            return None
        first = notice.lower().find(loose[0].lower())
        found = [(loose[0], notice.count("\n", 0, max(first, 0)))]
    delayed = _DELAY.found(f"{view.subject}\n{notice}".lower())
    action = Action.DELAYED if delayed else Action.FAILED
    head = one_line("\n".join(lines[: found[0][1]]))
    tail_start = found[-1][1]
    tail = one_line("\n".join(lines[tail_start + 1 :]))
    out: list[Candidate] = []
    for i, (addr, start) in enumerate(found):
        end = found[i + 1][1] if i + 1 < len(found) else len(lines)
        diag = _around(lines, addr, start, end)
        if reason_from_text(diag) is None and find_status(diag) is None:
            extra = tail if i + 1 < len(found) else head
            diag = one_line(diag + " " + extra)
            if reason_from_text(diag) is None:
                # Sendmail and others name the cause in the subject ("Returned mail:
                # User unknown"); keep it as the last resort.
                diag = one_line(diag + " " + _SUBJECT_PREFIX.sub("", view.subject))
        out.append(Candidate(recipient=clean_address(addr), diagnostic=diag, action=action,
                             original_recipient=_expanded_from(lines[start : start + 2])))
    return out
