"""Regression tests: hung plain hooks, odd addresses, timers, limits, contradictory rules."""

from __future__ import annotations

import signal
import smtplib
import threading
import time
from pathlib import Path
from typing import Any

from smtpdsn.server.app import ServerConfig
from tests.server_support import RawClient, ServerThread, maildir_files
from tests.test_server_cli import serve, stop


class Hang:
    """Plain hooks: EHLO ``hang`` blocks until ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def hook_ehlo(self, session: Any, envelope: Any, hostname: str) -> object:
        if hostname.startswith("hang"):
            self.release.wait(30)
        return None


def test_hung_plain_hooks_do_not_starve_hooks_or_delivery(tmp_path: Path) -> None:
    # More hung hooks than asyncio's default pool has threads (min(32, cpus + 4)).
    hang = Hang()
    config = ServerConfig(maildir=tmp_path / "md", plugins=[hang], plugin_timeout=0.3)
    try:
        with ServerThread(config=config) as st:
            clients = [RawClient(st.port) for _ in range(40)]
            try:
                for c in clients:
                    c.reply()
                    c.send("EHLO hang\r\n")
                for c in clients:
                    assert c.reply().startswith("451 4.3.0")
            finally:
                for c in clients:
                    c.close()
            started = time.monotonic()
            with smtplib.SMTP("127.0.0.1", st.port, timeout=10) as client:
                assert client.ehlo("fine.test")[0] == 250  # a plain hook still runs
                assert client.sendmail("a@x.test", ["b@x.test"], b"Subject: x\r\n\r\nhi\r\n") == {}
            assert time.monotonic() - started < 5
            assert maildir_files(tmp_path / "md") == [b"Subject: x\r\n\r\nhi\r\n"]
            started = time.monotonic()
            st.call(st.server.stop())
            assert time.monotonic() - started < 3
    finally:
        hang.release.set()


def test_sigterm_stops_serve_despite_a_hung_plain_hook(tmp_path: Path) -> None:
    plugin = "tests.server_support:HangingPlugin"
    with serve(tmp_path, "--plugin", plugin, "--plugin-timeout", "0.3") as (port, proc):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("x")
            client.mail("a@x.test")
            assert client.rcpt("hang@x.test")[0] == 451
        started = time.monotonic()
        code, _ = stop(proc, signal.SIGTERM)
        assert code == 0
        assert time.monotonic() - started < 10
