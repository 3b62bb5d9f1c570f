"""``smtpdsn serve``: the arguments and the entry point.

The server needs only the standard library; ``--loop uvloop`` needs the ``fast`` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import logging
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["add_arguments", "load_plugin", "run"]

_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options to its sub-parser."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=_port, default=2525, help="port to listen on (0: any)")
    parser.add_argument(
        "--rules", metavar="FILE", help="TOML rules file (default: the built-in rules)"
    )
    parser.add_argument(
        "--print-default-rules",
        action="store_true",
        help="print the built-in rules as a rules file to start from, and exit",
    )
    parser.add_argument(
        "--no-address-rules",
        dest="address_rules",
        action="store_false",
        help="do not read failures named in the address (bob+550-5.1.1@example.test), "
        "which are asked after the rules by default",
    )
    parser.add_argument(
        "--maildir", metavar="DIR", default="maildir", help="Maildir for accepted messages"
    )
    parser.add_argument(
        "--max-size",
        metavar="BYTES",
        type=_positive_int,
        default=10 * 1024 * 1024,
        help="largest message accepted, advertised with SIZE (default: 10 MiB)",
    )
    parser.add_argument(
        "--max-recipients",
        metavar="N",
        type=_positive_int,
        default=1000,
        help="most recipients per message; more get 452 4.5.3 (default: 1000)",
    )
    parser.add_argument(
        "--plugin",
        metavar="MODULE:CLASS",
        action="append",
        default=[],
        help="a plugin class to instantiate and ask before the rules (repeatable)",
    )
    parser.add_argument(
        "--plugin-timeout",
        metavar="SECONDS",
        type=_seconds,
        default=30.0,
        help="time a plugin hook may take before the client gets 451 4.3.0 (default: 30)",
    )
    parser.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_seconds,
        default=300.0,
        help="idle time before a client is dropped with 421 4.4.2 (default: 300)",
    )
    parser.add_argument("--hostname", help="name in the greeting (default: this host's name)")
    parser.add_argument(
        "--backlog",
        type=_positive_int,
        default=1024,
        help="queue of connections not yet accepted (default: 1024; the kernel caps it at "
        "net.core.somaxconn)",
    )
    parser.add_argument(
        "--maildir-writers",
        type=_positive_int,
        default=1,
        help="threads that write and fsync messages into the Maildir, each taking the "
        "deliveries waiting as one batch (default: 1, the least CPU per message; more for "
        "a disk with slow fsyncs)",
    )
    tls = parser.add_argument_group("TLS and AUTH")
    tls.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="PEM certificate chain: STARTTLS is offered (RFC 3207); needs --tls-key",
    )
    tls.add_argument("--tls-key", metavar="FILE", help="PEM private key of --tls-cert")
    tls.add_argument(
        "--tls-self-signed",
        action="store_true",
        help="make a self-signed certificate for --hostname, localhost, 127.0.0.1 and ::1 "
        "at start (the smtpdsn[tls] extra); its path is printed so clients can trust it",
    )
    tls.add_argument(
        "--smtps-port",
        metavar="PORT",
        type=_port,
        help="also listen on PORT with implicit TLS (SMTPS, RFC 8314; 0: any)",
    )
    tls.add_argument(
        "--auth",
        metavar="USER:PASSWORD",
        action="append",
        default=[],
        help="accept AUTH PLAIN and LOGIN with these credentials (repeatable); offered only "
        "after STARTTLS or on the SMTPS port",
    )
    tls.add_argument(
        "--auth-insecure",
        action="store_true",
        help="offer AUTH before TLS too (credentials in clear text: tests only)",
    )
    parser.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="event loop: uvloop (the smtpdsn[fast] extra), asyncio's own, or auto: uvloop "
        "when it is installed (default)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=_LEVELS,
        default="INFO",
        help="logging level (INFO logs one line per reply)",
    )


def load_plugin(spec: str) -> object:
    """Instantiate ``package.module:Class`` (called with no arguments).

    Raises:
        ValueError: the spec is malformed, the module or class cannot be found, or the
            class cannot be instantiated.
    """
    module_name, colon, attr = spec.partition(":")
    if not colon or not module_name or not attr:
        raise ValueError(f"plugin {spec!r}: expected package.module:Class")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"plugin {spec!r}: cannot import {module_name}: {exc}") from None
    target: object = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ValueError(f"plugin {spec!r}: {module_name} has no {attr}") from None
    if not callable(target):
        raise ValueError(f"plugin {spec!r}: {attr} is not a class")
    try:
        return target()
    except Exception as exc:
        raise ValueError(f"plugin {spec!r}: could not create it: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Run the server until interrupted; returns the exit status."""
    if getattr(args, "print_default_rules", False):
        from .rules import DEFAULT_RULES

        sys.stdout.write(DEFAULT_RULES)
        return 0
    import asyncio

    loop_factory = _loop_factory(getattr(args, "loop", "auto"))
    if isinstance(loop_factory, str):
        print(f"smtpdsn serve: error: {loop_factory}", file=sys.stderr)
        return 2

    from .app import ServerConfig, serve
    from .rules import RulesError, load_rules

    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        rules = load_rules(args.rules) if args.rules else None
        plugins = [load_plugin(spec) for spec in args.plugin]
        tls = _tls_options(args)
    except (RulesError, ValueError) as exc:
        print(f"smtpdsn serve: error: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("smtpdsn.server").info(
        "rules: %s; plugins: %s; Maildir: %s",
        f"{args.rules} ({len(rules or ())} rules)" if args.rules else "the default rules",
        ", ".join(args.plugin) or "none",
        Path(args.maildir).resolve(),
    )
    config = ServerConfig(
        host=args.host,
        port=args.port,
        rules=rules,
        maildir=Path(args.maildir),
        max_size=args.max_size,
        plugins=plugins,
        plugin_timeout=args.plugin_timeout,
        timeout=args.timeout,
        hostname=args.hostname,
        max_recipients=args.max_recipients,
        backlog=getattr(args, "backlog", 1024),
        maildir_writers=getattr(args, "maildir_writers", 1),
        address_rules=getattr(args, "address_rules", True),
        **tls,
    )
    temporary = None
    if getattr(args, "tls_self_signed", False):
        from .selfsigned import SelfSignedError, make_self_signed

        temporary = tempfile.TemporaryDirectory(prefix="smtpdsn-tls-")
        hostname = args.hostname or socket.gethostname() or "localhost"
        try:
            config.tls_cert, config.tls_key = make_self_signed(hostname, Path(temporary.name))
        except (SelfSignedError, OSError) as exc:
            temporary.cleanup()
            print(f"smtpdsn serve: error: {exc}", file=sys.stderr)
            return 2
        config.tls_self_signed = False
        print(f"smtpdsn serve: TLS certificate: {config.tls_cert}", flush=True)
        logging.getLogger("smtpdsn.server").info(
            "TLS: self-signed certificate for %s: %s", hostname, config.tls_cert
        )
    try:
        if loop_factory is None:
            asyncio.run(serve(config))
        else:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                runner.run(serve(config))
    except OSError as exc:
        print(f"smtpdsn serve: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if temporary is not None:
            temporary.cleanup()
    return 0


def _tls_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ServerConfig fields of the TLS and AUTH options, checked.

    Raises:
        ValueError: options that do not fit together, or a certificate or key that cannot
            be loaded (the message names the file).
    """
    from .tlsauth import load_tls_context, parse_credential

    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    self_signed = getattr(args, "tls_self_signed", False)
    smtps_port = getattr(args, "smtps_port", None)
    auth = [parse_credential(spec) for spec in getattr(args, "auth", [])]
    insecure = getattr(args, "auth_insecure", False)
    if (cert is None) != (key is None):
        given, missing = ("--tls-cert", "--tls-key") if key is None else ("--tls-key", "--tls-cert")
        raise ValueError(f"{given} needs {missing} as well")
    if cert is not None and self_signed:
        raise ValueError("give either --tls-cert/--tls-key or --tls-self-signed, not both")
    if cert is not None and key is not None:
        load_tls_context(cert, key)  # a bad file is an error now, not at the first STARTTLS
    elif self_signed and importlib.util.find_spec("cryptography") is None:
        from .selfsigned import MISSING_EXTRA

        raise ValueError(MISSING_EXTRA)
    tls_on = cert is not None or self_signed
    if smtps_port is not None and not tls_on:
        raise ValueError("--smtps-port needs --tls-cert/--tls-key or --tls-self-signed")
    if auth and not tls_on and not insecure:
        raise ValueError(
            "--auth is offered only over TLS: add --tls-cert/--tls-key or --tls-self-signed, "
            "or --auth-insecure"
        )
    if insecure and not auth:
        raise ValueError("--auth-insecure needs --auth USER:PASSWORD")
    return {
        "tls_cert": None if cert is None else Path(cert),
        "tls_key": None if key is None else Path(key),
        "smtps_port": smtps_port,
        "auth": auth,
        "auth_insecure": insecure,
    }


def _loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | str | None:
    """The event loop ``--loop`` asks for: a factory, None for asyncio's own, or an error
    message."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            return "--loop uvloop needs uvloop: pip install 'smtpdsn[fast]'"
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
