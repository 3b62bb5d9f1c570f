"""The SMTP server side of smtpdsn: an asyncio transport around the protocol core
(:mod:`smtpdsn.smtp`), plugins, rules, Maildir delivery and bounces. Standard library only;
importing the package loads its names on first use.

* :class:`PluginHandler` (``smtpdsn.server.handler``): answers the clients' requests from
  Haraka-style plugins (``smtpdsn.server.plugins``, with the optional base class
  :class:`Plugin`).
* :class:`SMTPProtocol` (``smtpdsn.server.protocol``): one connection's transport;
  :class:`Session` and :class:`Envelope` (``smtpdsn.server.session``) are what plugins see
  (``DSNEnvelope`` is the 0.1 name of :class:`Envelope`).
* :class:`SMTPServer`, :class:`ServerConfig`, :func:`build_server`, :func:`serve`
  (``smtpdsn.server.app``), :class:`Maildir` and the rules (``RulesPlugin``,
  ``load_rules``, ``DEFAULT_RULES``).
* :class:`AddressRulesPlugin` and :func:`parse_failure_tag`
  (``smtpdsn.server.address_rules``): failures named in the address
  (``bob+550-5.1.1@example.test``).
* :class:`Then` and :func:`build_bounce` (``smtpdsn.server.bounce``): accept a recipient,
  then bounce or delay it with a DSN.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .address_rules import AddressRulesPlugin, FailureTag, FailureTagError, parse_failure_tag
    from .app import ServerConfig, SMTPServer, build_server, serve
    from .bounce import Then, build_bounce
    from .handler import PluginHandler
    from .maildir import Maildir
    from .plugins import HookResult, Plugin, PluginRunner
    from .protocol import SMTPProtocol
    from .rules import DEFAULT_RULES, Rule, RulesError, RulesPlugin, load_rules, parse_rules
    from .session import DSNEnvelope, Envelope, Session

__all__ = [
    "DEFAULT_RULES",
    "AddressRulesPlugin",
    "DSNEnvelope",
    "Envelope",
    "FailureTag",
    "FailureTagError",
    "HookResult",
    "Maildir",
    "Plugin",
    "PluginHandler",
    "PluginRunner",
    "Rule",
    "RulesError",
    "RulesPlugin",
    "SMTPProtocol",
    "SMTPServer",
    "ServerConfig",
    "Session",
    "Then",
    "build_bounce",
    "build_server",
    "load_rules",
    "parse_failure_tag",
    "parse_rules",
    "serve",
]

_WHERE = {
    "AddressRulesPlugin": "address_rules",
    "FailureTag": "address_rules",
    "FailureTagError": "address_rules",
    "parse_failure_tag": "address_rules",
    "DEFAULT_RULES": "rules",
    "DSNEnvelope": "session",
    "Envelope": "session",
    "HookResult": "plugins",
    "Maildir": "maildir",
    "Plugin": "plugins",
    "PluginHandler": "handler",
    "PluginRunner": "plugins",
    "Rule": "rules",
    "RulesError": "rules",
    "RulesPlugin": "rules",
    "SMTPProtocol": "protocol",
    "SMTPServer": "app",
    "Session": "session",
    "ServerConfig": "app",
    "Then": "bounce",
    "build_bounce": "bounce",
    "build_server": "app",
    "load_rules": "rules",
    "parse_rules": "rules",
    "serve": "app",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'smtpdsn.server' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
