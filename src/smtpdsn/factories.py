"""One factory per enhanced status condition, as in haraka-dsn.

Each factory is called the way the haraka-dsn README shows::

    no_such_user()                       # 550 5.1.1 No such user
    no_such_user("Unknown recipient")    # 550 5.1.1 Unknown recipient
    no_such_user(["line 1", "line 2"])   # 550-5.1.1 line 1 / 550 5.1.1 line 2
    no_such_user("Try later", 450)       # 450 4.1.1 Try later

The optional code's first digit sets the enhanced status class. A code that is not a
three-digit 2xx/4xx/5xx integer raises :class:`~smtpdsn.errors.InvalidReplyError` (a
``ValueError``); haraka-dsn silently uses the default code instead. A message that is
empty (``""``, ``[]``, or only control characters) gives the default message.

The table :data:`FACTORIES` lists every factory once, with its aliases: the seed README's
names, haraka-dsn 1.2.1's names, correctly spelled aliases of the seed's two typos, and one
factory for each registry code that neither of them covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Protocol, cast

from .registry import ENTRIES
from .reply import Reply, _new_reply, check_code, clean_text
from .status import EnhancedStatus

__all__ = ["FACTORIES", "Factory", "FactoryInfo", "create", "factory_table_markdown"]


@dataclass(frozen=True, slots=True)
class FactoryInfo:
    """What a factory produces when called with no arguments."""

    #: The factory's main name, e.g. "no_such_user".
    name: str
    #: Other names that call the same factory (haraka-dsn spellings, corrected typos).
    aliases: tuple[str, ...]
    default_code: int
    subject: int
    detail: int
    default_message: str
    #: Where the name comes from: "seed", "haraka-dsn 1.2.1" or "registry".
    origin: str

    @property
    def status_code(self) -> str:
        """The enhanced code with its class left open, e.g. ``"X.1.1"``."""
        return f"X.{self.subject}.{self.detail}"


class Factory(Protocol):
    """A reply factory: ``factory([message], [code], *, utf8=False) -> Reply``."""

    info: FactoryInfo
    __name__: str

    def __call__(
        self,
        message: str | Sequence[str] | None = None,
        code: int | None = None,
        *,
        utf8: bool = False,
    ) -> Reply: ...


def _make(info: FactoryInfo) -> Factory:
    check_code(info.default_code)
    statuses = {c: EnhancedStatus(c, info.subject, info.detail) for c in (2, 4, 5)}
    status = statuses[info.default_code // 100]
    default = Reply(info.default_code, status, info.default_message)
    prefix_len = 5 + len(str(status))
    limit = 510 - prefix_len - 2  # leaves room for three-digit sub-codes of another class
    by_code: dict[int, Reply] = {info.default_code: default}
    # Per checked code: its status, the last line's prefix ("452 4.2.2 "), the prefix of the
    # other lines ("452-4.2.2 ") and both after a CRLF. Holds checked ints only, so at most
    # 180 entries; a hit stands for check_code(code).
    prefixes: dict[int, tuple[EnhancedStatus, str, str, str, str]] = {}

    def factory(
        message: str | Sequence[str] | None = None,
        code: int | None = None,
        *,
        utf8: bool = False,
    ) -> Reply:
        if code is None:
            if message is None:
                return default
            code = info.default_code
        elif message is None:
            cached = by_code.get(code) if type(code) is int else None
            if cached is None:
                cached = default.with_code(check_code(code))
                by_code[code] = cached
            return cached
        known = prefixes.get(code) if type(code) is int else None
        if known is None:
            st = statuses[check_code(code) // 100]
            last, more = f"{code} {st} ", f"{code}-{st} "
            known = prefixes[code] = (st, last, more, "\r\n" + more, "\r\n" + last)
        st, last, more, crlf_more, crlf_last = known
        if type(message) is str:
            if (
                len(message) <= limit
                and message.isascii()
                and message.isprintable()
                and message
                and not message.isspace()
            ):
                return _new_reply(code, st, (message,), last + message)
        elif type(message) is list or type(message) is tuple:
            # Lines that clean_text would keep as they are: non-blank printable ASCII strings
            # (so no line breaks) that need no wrapping.
            lines = tuple(message)
            for line in lines:
                if not (
                    type(line) is str
                    and line
                    and len(line) <= limit
                    and line.isascii()
                    and line.isprintable()
                    and not line.isspace()
                ):
                    break
            else:
                if len(lines) > 1:
                    wire = more + crlf_more.join(lines[:-1]) + crlf_last + lines[-1]
                    return _new_reply(code, st, lines, wire)
                if lines:
                    return _new_reply(code, st, lines, last + lines[0])
        lines = clean_text(message, prefix_len, utf8=utf8)
        if not lines:
            return default.with_code(code)
        return Reply._build(code, st, lines)

    factory.__name__ = factory.__qualname__ = info.name
    factory.__doc__ = (
        f"``{info.default_code} {info.default_code // 100}.{info.subject}.{info.detail} "
        f"{info.default_message}``: a reply for X.{info.subject}.{info.detail}.\n\n"
        "Args:\n"
        "    message: the text, a string or a list of lines (default: the message above).\n"
        "    code: the reply code; its first digit sets the enhanced class.\n"
        "    utf8: keep non-ASCII text, for SMTPUTF8 sessions.\n\n"
        "Raises:\n"
        "    InvalidReplyError: ``code`` is not a three-digit 2xx/4xx/5xx integer.\n"
    )
    setattr(factory, "info", info)  # noqa: B010 - a plain function with one attribute
    return cast(Factory, factory)


# (name, default code, subject, detail, default message, aliases, origin)
# Seed rows first, in the seed README's order; its errata are applied (addr_rcpt_ok is 250,
# "Bad sender's"). haraka-dsn 1.2.1 names that differ from the seed are aliases.
_SEED = "seed"
_HARAKA = "haraka-dsn 1.2.1"
_REGISTRY = "registry"
_ROWS: Final[tuple[tuple[str, int, int, int, str, tuple[str, ...], str], ...]] = (
    ("unspecified", 450, 0, 0, "Other undefined status", (), _SEED),
    ("addr_unspecified", 450, 1, 0, "Other address status", (), _SEED),
    (
        "addr_bad_dest_mailbox",
        550,
        1,
        1,
        "Bad destination mailbox address",
        ("addr_bad_dest_mbox",),
        _SEED,
    ),
    ("addr_bad_dest_system", 550, 1, 2, "Bad destination system address", (), _SEED),
    ("addr_bad_dest_syntax", 550, 1, 3, "Bad destination mailbox address syntax", (), _SEED),
    (
        "addr_dest_ambigous",
        450,
        1,
        4,
        "Destination mailbox address ambiguous",
        ("addr_dest_ambiguous",),
        _SEED,
    ),
    ("addr_rcpt_ok", 250, 1, 5, "Destination address valid", (), _SEED),
    (
        "addr_mbox_mobed",
        550,
        1,
        6,
        "Destination mailbox has moved, No forwarding address",
        ("addr_mbox_moved",),
        _SEED,
    ),
    ("addr_bad_from_syntax", 550, 1, 7, "Bad sender's mailbox address syntax", (), _SEED),
    ("addr_bad_from_system", 550, 1, 8, "Bad sender's system address", (), _SEED),
    ("mbox_unspecified", 450, 2, 0, "Other or undefined mailbox status", (), _SEED),
    ("mbox_disabled", 550, 2, 1, "Mailbox disabled, not accepting messages", (), _SEED),
    ("mbox_full", 450, 2, 2, "Mailbox full", (), _SEED),
    ("mbox_msg_too_long", 550, 2, 3, "Message length exceeds administrative limit", (), _SEED),
    ("mbox_list_expansion_problem", 450, 2, 4, "Mailing list expansion problem", (), _SEED),
    ("sys_unspecified", 450, 3, 0, "Other or undefined mail system status", (), _SEED),
    ("sys_disk_full", 450, 3, 1, "Mail system full", (), _SEED),
    ("sys_not_accepting_mail", 450, 3, 2, "System not accepting network messages", (), _SEED),
    ("sys_not_supported", 450, 3, 3, "System not capable of selected features", (), _SEED),
    ("sys_msg_too_big", 550, 3, 4, "Message too big for system", (), _SEED),
    ("sys_incorrectly_configured", 450, 3, 5, "System incorrectly configured", (), _SEED),
    ("net_unspecified", 450, 4, 0, "Other or undefined network or routing status", (), _SEED),
    ("net_no_answer", 450, 4, 1, "No answer from host", (), _SEED),
    ("net_bad_connection", 450, 4, 2, "Bad connection", (), _SEED),
    ("net_directory_server_failed", 450, 4, 3, "Directory server failure", (), _SEED),
    ("net_unable_to_route", 550, 4, 4, "Unable to route", (), _SEED),
    ("net_system_congested", 450, 4, 5, "Mail system congestion", (), _SEED),
    ("net_routing_loop", 550, 4, 6, "Routing loop detected", (), _SEED),
    ("net_delivery_time_expired", 550, 4, 7, "Delivery time expired", (), _SEED),
    ("proto_unspecified", 450, 5, 0, "Other or undefined protocol status", (), _SEED),
    ("proto_invalid_command", 550, 5, 1, "Invalid command", (), _SEED),
    ("proto_syntax_error", 550, 5, 2, "Syntax error", (), _SEED),
    (
        "proto_too_many_recipients",
        450,
        5,
        3,
        "Too many recipients",
        ("proto_too_many_rcpts",),
        _SEED,
    ),
    ("proto_invalid_cmd_args", 550, 5, 4, "Invalid command arguments", (), _SEED),
    ("proto_wrong_version", 450, 5, 5, "Wrong protocol version", (), _SEED),
    ("media_unspecified", 450, 6, 0, "Other or undefined media error", (), _SEED),
    ("media_unsupported", 550, 6, 1, "Media not supported", (), _SEED),
    ("media_conv_prohibited", 550, 6, 2, "Conversion required and prohibited", (), _SEED),
    ("media_conv_unsupported", 450, 6, 3, "Conversion required but not supported", (), _SEED),
    ("media_conv_lossy", 450, 6, 4, "Conversion with loss performed", (), _SEED),
    ("media_conv_failed", 450, 6, 5, "Conversion failed", (), _SEED),
    ("sec_unspecified", 450, 7, 0, "Other or undefined security status", (), _SEED),
    ("sec_unauthorized", 550, 7, 1, "Delivery not authorized, message refused", (), _SEED),
    ("sec_list_expn_prohibited", 550, 7, 2, "Mailing list expansion prohibited", (), _SEED),
    ("sec_conv_failed", 550, 7, 3, "Security conversion required but not possible", (), _SEED),
    ("sec_feature_unsupported", 550, 7, 4, "Security features not supported", (), _SEED),
    ("sec_crypto_failure", 550, 7, 5, "Cryptographic failure", (), _SEED),
    ("sec_crypto_algo_unsupported", 450, 7, 6, "Cryptographic algorithm not supported", (), _SEED),
    ("sec_msg_integrity_failure", 550, 7, 7, "Message integrity failure", (), _SEED),
    ("no_such_user", 550, 1, 1, "No such user", (), _SEED),
    ("temp_resolver_failed", 450, 4, 3, "Temporary address resolution failure", (), _SEED),
    ("too_many_hops", 550, 4, 6, "Too many hops", (), _SEED),
    ("bad_sender_ip", 550, 7, 1, "Bad sender IP", (), _SEED),
    ("relaying_denied", 550, 7, 1, "Relaying denied", (), _SEED),
    # haraka-dsn 1.2.1 additions: RFC 4954 (AUTH), RFC 7505 (null MX), RFC 7372.
    ("auth_succeeded", 235, 7, 0, "Authentication Succeeded", (), _HARAKA),
    ("auth_pass_transition_needed", 432, 7, 12, "A password transition is needed", (), _HARAKA),
    ("auth_temp_fail", 454, 7, 0, "Temporary authentication failure", (), _HARAKA),
    ("auth_too_weak", 534, 7, 9, "Authentication mechanism is too weak", (), _HARAKA),
    ("auth_invalid", 535, 7, 8, "Authentication credentials invalid", (), _HARAKA),
    ("auth_exch_too_long", 500, 5, 6, "Authentication Exchange line is too long", (), _HARAKA),
    ("auth_required", 530, 7, 0, "Authentication required", (), _HARAKA),
    (
        "auth_crypt_required",
        538,
        7,
        11,
        "Encryption required for requested authentication mechanism",
        (),
        _HARAKA,
    ),
    ("addr_null_mx", 556, 1, 10, "Recipient address has null MX", (), _HARAKA),
    ("sec_null_mx_sender", 550, 7, 27, "Sender address has null MX", (), _HARAKA),
    ("sec_dkim_no_pass", 550, 7, 20, "No passing DKIM signature found", (), _HARAKA),
    ("sec_dkim_not_acceptable", 550, 7, 21, "No acceptable DKIM signature found", (), _HARAKA),
    (
        "sec_dkim_no_author_match",
        550,
        7,
        22,
        "No valid author-matched DKIM signature found",
        (),
        _HARAKA,
    ),
    ("sec_spf_fail", 550, 7, 23, "SPF validation failed", (), _HARAKA),
    ("sec_spf_error", 451, 7, 24, "SPF validation error", (), _HARAKA),
    ("sec_rdns_fail", 550, 7, 25, "Reverse DNS validation failed", (), _HARAKA),
    ("sec_multi_auth_fail", 550, 7, 26, "Multiple authentication checks failed", (), _HARAKA),
    # Registry codes neither the seed nor haraka-dsn covers, named in the seed's scheme.
    # Default codes follow the registry's associated basic codes.
    (
        "addr_relayed_non_compliant",
        250,
        1,
        9,
        "Message relayed to non-compliant mailer",
        (),
        _REGISTRY,
    ),
    ("sys_priority_changed", 250, 3, 6, "Requested priority was changed", (), _REGISTRY),
    ("media_content_unavailable", 554, 6, 6, "Message content not available", (), _REGISTRY),
    (
        "media_non_ascii_addr",
        553,
        6,
        7,
        "Non-ASCII addresses not permitted for that sender/recipient",
        (),
        _REGISTRY,
    ),
    (
        "media_utf8_reply_required",
        553,
        6,
        8,
        "UTF-8 string reply is required, but not permitted by the SMTP client",
        (),
        _REGISTRY,
    ),
    (
        "media_utf8_header_rejected",
        550,
        6,
        9,
        "UTF-8 header message cannot be transferred to one or more recipients, "
        "so the message must be rejected",
        (),
        _REGISTRY,
    ),
    ("sec_encryption_needed", 523, 7, 10, "Encryption Needed", (), _REGISTRY),
    ("sec_account_disabled", 525, 7, 13, "User Account Disabled", (), _REGISTRY),
    ("sec_trust_required", 535, 7, 14, "Trust relationship required", (), _REGISTRY),
    ("sec_priority_too_low", 450, 7, 15, "Priority Level is too low", (), _REGISTRY),
    (
        "sec_msg_too_big_for_priority",
        552,
        7,
        16,
        "Message is too big for the specified priority",
        (),
        _REGISTRY,
    ),
    ("sec_mbox_owner_changed", 550, 7, 17, "Mailbox owner has changed", (), _REGISTRY),
    ("sec_domain_owner_changed", 550, 7, 18, "Domain owner has changed", (), _REGISTRY),
    ("sec_rrvs_unavailable", 550, 7, 19, "RRVS test cannot be completed", (), _REGISTRY),
    ("sec_mail_flood", 550, 7, 28, "Mail flood detected", (), _REGISTRY),
    ("sec_arc_fail", 550, 7, 29, "ARC validation failure", (), _REGISTRY),
    ("sec_requiretls_required", 550, 7, 30, "REQUIRETLS support required", (), _REGISTRY),
)

_by_name: dict[str, Factory] = {}
for _row in _ROWS:
    _info = FactoryInfo(_row[0], _row[5], _row[1], _row[2], _row[3], _row[4], _row[6])
    _f = _make(_info)
    for _name in (_info.name, *_info.aliases):
        _by_name[_name] = _f

#: Every factory by every name it answers to (main names and aliases).
FACTORIES: MappingProxyType[str, Factory] = MappingProxyType(_by_name)

# Module attributes, one per name, spelled out so that type checkers and IDEs see them.
unspecified: Final = _by_name["unspecified"]
addr_unspecified: Final = _by_name["addr_unspecified"]
addr_bad_dest_mailbox: Final = _by_name["addr_bad_dest_mailbox"]
addr_bad_dest_mbox: Final = _by_name["addr_bad_dest_mbox"]
addr_bad_dest_system: Final = _by_name["addr_bad_dest_system"]
addr_bad_dest_syntax: Final = _by_name["addr_bad_dest_syntax"]
addr_dest_ambigous: Final = _by_name["addr_dest_ambigous"]
addr_dest_ambiguous: Final = _by_name["addr_dest_ambiguous"]
addr_rcpt_ok: Final = _by_name["addr_rcpt_ok"]
addr_mbox_mobed: Final = _by_name["addr_mbox_mobed"]
addr_mbox_moved: Final = _by_name["addr_mbox_moved"]
addr_bad_from_syntax: Final = _by_name["addr_bad_from_syntax"]
addr_bad_from_system: Final = _by_name["addr_bad_from_system"]
addr_relayed_non_compliant: Final = _by_name["addr_relayed_non_compliant"]
addr_null_mx: Final = _by_name["addr_null_mx"]
mbox_unspecified: Final = _by_name["mbox_unspecified"]
mbox_disabled: Final = _by_name["mbox_disabled"]
mbox_full: Final = _by_name["mbox_full"]
mbox_msg_too_long: Final = _by_name["mbox_msg_too_long"]
mbox_list_expansion_problem: Final = _by_name["mbox_list_expansion_problem"]
sys_unspecified: Final = _by_name["sys_unspecified"]
sys_disk_full: Final = _by_name["sys_disk_full"]
sys_not_accepting_mail: Final = _by_name["sys_not_accepting_mail"]
sys_not_supported: Final = _by_name["sys_not_supported"]
sys_msg_too_big: Final = _by_name["sys_msg_too_big"]
sys_incorrectly_configured: Final = _by_name["sys_incorrectly_configured"]
sys_priority_changed: Final = _by_name["sys_priority_changed"]
net_unspecified: Final = _by_name["net_unspecified"]
net_no_answer: Final = _by_name["net_no_answer"]
net_bad_connection: Final = _by_name["net_bad_connection"]
net_directory_server_failed: Final = _by_name["net_directory_server_failed"]
net_unable_to_route: Final = _by_name["net_unable_to_route"]
net_system_congested: Final = _by_name["net_system_congested"]
net_routing_loop: Final = _by_name["net_routing_loop"]
net_delivery_time_expired: Final = _by_name["net_delivery_time_expired"]
proto_unspecified: Final = _by_name["proto_unspecified"]
proto_invalid_command: Final = _by_name["proto_invalid_command"]
proto_syntax_error: Final = _by_name["proto_syntax_error"]
proto_too_many_recipients: Final = _by_name["proto_too_many_recipients"]
proto_too_many_rcpts: Final = _by_name["proto_too_many_rcpts"]
proto_invalid_cmd_args: Final = _by_name["proto_invalid_cmd_args"]
proto_wrong_version: Final = _by_name["proto_wrong_version"]
media_unspecified: Final = _by_name["media_unspecified"]
media_unsupported: Final = _by_name["media_unsupported"]
media_conv_prohibited: Final = _by_name["media_conv_prohibited"]
media_conv_unsupported: Final = _by_name["media_conv_unsupported"]
media_conv_lossy: Final = _by_name["media_conv_lossy"]
media_conv_failed: Final = _by_name["media_conv_failed"]
media_content_unavailable: Final = _by_name["media_content_unavailable"]
media_non_ascii_addr: Final = _by_name["media_non_ascii_addr"]
media_utf8_reply_required: Final = _by_name["media_utf8_reply_required"]
media_utf8_header_rejected: Final = _by_name["media_utf8_header_rejected"]
sec_unspecified: Final = _by_name["sec_unspecified"]
sec_unauthorized: Final = _by_name["sec_unauthorized"]
sec_list_expn_prohibited: Final = _by_name["sec_list_expn_prohibited"]
sec_conv_failed: Final = _by_name["sec_conv_failed"]
sec_feature_unsupported: Final = _by_name["sec_feature_unsupported"]
sec_crypto_failure: Final = _by_name["sec_crypto_failure"]
sec_crypto_algo_unsupported: Final = _by_name["sec_crypto_algo_unsupported"]
sec_msg_integrity_failure: Final = _by_name["sec_msg_integrity_failure"]
sec_encryption_needed: Final = _by_name["sec_encryption_needed"]
sec_account_disabled: Final = _by_name["sec_account_disabled"]
sec_trust_required: Final = _by_name["sec_trust_required"]
sec_priority_too_low: Final = _by_name["sec_priority_too_low"]
sec_msg_too_big_for_priority: Final = _by_name["sec_msg_too_big_for_priority"]
sec_mbox_owner_changed: Final = _by_name["sec_mbox_owner_changed"]
sec_domain_owner_changed: Final = _by_name["sec_domain_owner_changed"]
sec_rrvs_unavailable: Final = _by_name["sec_rrvs_unavailable"]
sec_dkim_no_pass: Final = _by_name["sec_dkim_no_pass"]
sec_dkim_not_acceptable: Final = _by_name["sec_dkim_not_acceptable"]
sec_dkim_no_author_match: Final = _by_name["sec_dkim_no_author_match"]
sec_spf_fail: Final = _by_name["sec_spf_fail"]
sec_spf_error: Final = _by_name["sec_spf_error"]
sec_rdns_fail: Final = _by_name["sec_rdns_fail"]
sec_multi_auth_fail: Final = _by_name["sec_multi_auth_fail"]
sec_null_mx_sender: Final = _by_name["sec_null_mx_sender"]
sec_mail_flood: Final = _by_name["sec_mail_flood"]
sec_arc_fail: Final = _by_name["sec_arc_fail"]
sec_requiretls_required: Final = _by_name["sec_requiretls_required"]
no_such_user: Final = _by_name["no_such_user"]
temp_resolver_failed: Final = _by_name["temp_resolver_failed"]
too_many_hops: Final = _by_name["too_many_hops"]
bad_sender_ip: Final = _by_name["bad_sender_ip"]
relaying_denied: Final = _by_name["relaying_denied"]
auth_succeeded: Final = _by_name["auth_succeeded"]
auth_pass_transition_needed: Final = _by_name["auth_pass_transition_needed"]
auth_temp_fail: Final = _by_name["auth_temp_fail"]
auth_too_weak: Final = _by_name["auth_too_weak"]
auth_invalid: Final = _by_name["auth_invalid"]
auth_exch_too_long: Final = _by_name["auth_exch_too_long"]
auth_required: Final = _by_name["auth_required"]
auth_crypt_required: Final = _by_name["auth_crypt_required"]


def create(
    code: int = 450,
    message: str | Sequence[str] | None = None,
    subject: int = 0,
    detail: int = 0,
    *,
    utf8: bool = False,
) -> Reply:
    """A reply for any subject and detail: haraka-dsn's ``create(code, msg, subject, detail)``.

    The enhanced class comes from the code. Without a message the registry's sample text
    is used (or a phrase for the class when the code is not registered).

    >>> str(create(550, "Blocked", 7, 1))
    '550 5.7.1 Blocked'

    Raises:
        InvalidReplyError: the code is not 2xx/4xx/5xx, or subject/detail are not 0-999.
    """
    check_code(code)
    try:
        status = EnhancedStatus(code // 100, subject, detail)
    except ValueError as exc:
        from .errors import InvalidReplyError

        raise InvalidReplyError(str(exc)) from None
    return Reply(code, status, "" if message is None else message, utf8=utf8)


def factory_table_markdown() -> str:
    """The README's factory table, generated from :data:`FACTORIES`."""
    rows = [
        "| function | aliases | default code | enhanced | default message | registry meaning |",
        "|---|---|---|---|---|---|",
    ]
    seen: set[int] = set()
    for f in _by_name.values():
        if id(f) in seen:
            continue
        seen.add(id(f))
        i = f.info
        entry = ENTRIES.get((i.subject, i.detail))
        meaning = entry.sample_text if entry is not None else ""
        aliases = ", ".join(f"`{a}`" for a in i.aliases)
        rows.append(
            f"| `{i.name}` | {aliases} | {i.default_code} | {i.status_code} | "
            f"{i.default_message} | {meaning} |"
        )
    return "\n".join(rows) + "\n"
