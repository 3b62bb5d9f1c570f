"""The SMTP server side of smtpdsn, on aiosmtpd (install with ``pip install smtpdsn[server]``).

This package is the only part of smtpdsn that imports aiosmtpd, and importing the package
itself does not: its names are loaded on first use.

* :class:`PluginHandler` (``smtpdsn.server.handler``): the aiosmtpd handler that runs
  Haraka-style plugins (``smtpdsn.server.plugins``, with the optional base class
  :class:`Plugin`).
* :class:`DSNSMTP` and :class:`DSNEnvelope` (``smtpdsn.server.smtp``): aiosmtpd's SMTP
  protocol with enhanced status codes on every reply and the DSN extension.
* :class:`SMTPServer`, :class:`ServerConfig`, :func:`build_server`, :func:`serve`
  (``smtpdsn.server.app``), :class:`Maildir` and the rules (``RulesPlugin``,
  ``load_rules``, ``DEFAULT_RULES``).
* :class:`Then` and :func:`build_bounce` (``smtpdsn.server.bounce``): accept a recipient,
  then bounce or delay it with a DSN.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import ServerConfig, SMTPServer, build_server, serve
    from .bounce import Then, build_bounce
    from .handler import PluginHandler
    from .maildir import Maildir
    from .plugins import HookResult, Plugin, PluginRunner
    from .rules import DEFAULT_RULES, Rule, RulesError, RulesPlugin, load_rules, parse_rules
    from .smtp import DSNSMTP, DSNEnvelope

__all__ = [
    "DEFAULT_RULES",
    "DSNSMTP",
    "DSNEnvelope",
    "HookResult",
    "Maildir",
    "Plugin",
    "PluginHandler",
    "PluginRunner",
    "Rule",
    "RulesError",
    "RulesPlugin",
    "SMTPServer",
    "ServerConfig",
    "Then",
    "build_bounce",
    "build_server",
    "load_rules",
    "parse_rules",
    "serve",
]

_WHERE = {
    "DEFAULT_RULES": "rules",
    "DSNSMTP": "smtp",
    "DSNEnvelope": "smtp",
    "HookResult": "plugins",
    "Maildir": "maildir",
    "Plugin": "plugins",
    "PluginHandler": "handler",
    "PluginRunner": "plugins",
    "Rule": "rules",
    "RulesError": "rules",
    "RulesPlugin": "rules",
    "SMTPServer": "app",
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
