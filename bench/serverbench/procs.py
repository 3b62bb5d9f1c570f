"""A server under test as a subprocess, and what Linux's /proc says it uses.

CPU time is ``utime + stime + cutime + cstime`` (fields 14-17 of ``/proc/PID/stat``,
``man 5 proc``) summed over the server process and every live descendant: the threads of a
process are counted in its own fields, and children it has waited for in ``cutime`` and
``cstime``. The unit is the clock tick (``SC_CLK_TCK``, 10 ms on most Linux systems), so
a measurement should last at least a few seconds. Memory is ``VmRSS`` from
``/proc/PID/status`` summed over the same processes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "CLOCK_TICK",
    "ServerProcess",
    "cpu_seconds",
    "free_port",
    "process_tree",
    "rss_bytes",
]

CLOCK_TICK = 1 / os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read()
    # The command name (field 2) is in parentheses and may hold spaces or parentheses.
    return raw[raw.rindex(b")") + 2 :].decode("ascii").split()


def process_tree(root: int) -> list[int]:
    """``root`` and all its live descendants (found by scanning /proc for parent PIDs)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            ppid = int(_stat_fields(int(entry.name))[1])
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of ``pids``, their threads and their waited-for children."""
    ticks = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        # Fields 14-17 (utime, stime, cutime, cstime) are at index 11-14 here.
        ticks += sum(int(value) for value in fields[11:15])
    return ticks * CLOCK_TICK


def rss_bytes(pids: Sequence[int]) -> int:
    """The summed resident set size (VmRSS) of ``pids``, in bytes."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerProcess:
    """A server started as a subprocess, its output kept in a log file.

    Args:
        name: the name in messages.
        argv: the command line.
        port: the port it listens on (127.0.0.1).
        log: the file its standard output and error go to.
        cwd: its working directory.
        env: its environment (default: this process's).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        log: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.port = port
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until a connection gets a ``220`` greeting.

        Raises:
            RuntimeError: the server exited, or no greeting came within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with status {self.proc.returncode} before it was "
                    f"ready; its output:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
                    greeting = sock.recv(512)
                    if greeting.startswith(b"220"):
                        sock.sendall(b"QUIT\r\n")
                        sock.recv(512)
                        return
                    last = repr(greeting[:80])
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"{self.name} gave no 220 greeting on port {self.port} within {timeout:.0f} s "
            f"(last: {last}); its output:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL to the whole process group if it has not exited in time."""
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
