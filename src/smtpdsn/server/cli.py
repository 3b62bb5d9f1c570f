"""``smtpdsn serve``: the arguments and the entry point.

This module must import without aiosmtpd installed: aiosmtpd is imported only in ``run``.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``serve`` options to its sub-parser."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=2525, help="port to listen on")


def run(args: argparse.Namespace) -> int:
    """Run the server until interrupted; returns the exit status."""
    print("smtpdsn serve: error: the server is not built yet", file=sys.stderr)
    return 2
