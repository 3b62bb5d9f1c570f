"""``smtpdsn serve`` as a subprocess, for tests that must not depend on the engine's internals.

The real-MTA tests and the abuse tests talk to the server only through its command line, its
port, its Maildir and its stderr, so they hold for any engine behind ``smtpdsn serve``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

__all__ = [
    "HOSTNAME",
    "ROOT_DIR",
    "ServeProcess",
    "free_port",
    "message_files",
    "serve_help",
    "wait_until",
]

ROOT_DIR = Path(__file__).resolve().parents[1]
HOSTNAME = "smtpdsn.test"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def serve_help() -> str:
    """The text of ``smtpdsn serve --help`` (to see which options this version has)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT_DIR))
    done = subprocess.run(
        [sys.executable, "-m", "smtpdsn", "serve", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def message_files(maildir: Path) -> list[Path]:
    """The files in ``maildir/new`` (none when the folder does not exist yet)."""
    new = maildir / "new"
    return sorted(new.iterdir()) if new.is_dir() else []


class ServeProcess:
    """``python -m smtpdsn serve --port P --maildir DIR ...`` started in ``cwd``.

    Use as a context manager: on entry the port accepts connections; on exit the server is
    stopped with SIGTERM (SIGKILL if it does not stop within 20 s) and ``stderr`` holds its
    log. ``kill()`` ends it at once with SIGKILL.
    """

    def __init__(self, cwd: Path, maildir: Path, *args: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.maildir = maildir
        self.stderr = ""
        full_env = {**os.environ, "PYTHONPATH": str(ROOT_DIR), **(env or {})}
        command = [sys.executable, "-m", "smtpdsn", "serve", "--hostname", HOSTNAME]
        command += ["--port", str(self.port), "--maildir", str(maildir), *args]
        self._err_path = cwd / f"serve-{self.port}.log"
        self._err = self._err_path.open("w+b")
        self.proc = subprocess.Popen(
            command, cwd=cwd, env=full_env, stdout=subprocess.DEVNULL, stderr=self._err
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        """What the server has written to stderr so far."""
        return self._err_path.read_text(errors="replace")

    def _wait_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"smtpdsn serve exited at start:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as probe:
                    probe.settimeout(10)
                    if probe.recv(512).startswith(b"220"):
                        probe.sendall(b"QUIT\r\n")
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"smtpdsn serve did not listen on port {self.port}:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to clean up."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=20)

    def stop(self) -> int:
        """SIGTERM, then wait; SIGKILL after 20 s. Returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.stderr = self.log()
        self._err.close()
        return self.proc.returncode

    def __enter__(self) -> ServeProcess:
        try:
            self._wait_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
