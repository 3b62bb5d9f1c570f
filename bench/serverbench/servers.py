"""The three servers of the benchmark and how each one is started.

* ``smtpdsn``: ``python -m smtpdsn serve --port P --maildir DIR --log-level WARNING``
  (its default rules refuse ``unknown@`` with ``550 5.1.1``), with ``--loop`` passed on
  when asked and when ``smtpdsn serve --help`` lists it.
* ``aiosmtpd``: plain aiosmtpd with the minimal handler of ``aiosmtpd_sink.py``.
* ``haraka``: the npm package ``Haraka`` (installed with npm into a cache folder outside the
  repository), ``nodes=0`` (one process), log level ``warn``, and the two plugins of the
  ``haraka/`` folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .procs import ServerProcess

__all__ = [
    "HARAKA_VERSION",
    "ServerKind",
    "haraka_install",
    "smtpdsn_loop_option",
    "start_aiosmtpd",
    "start_haraka",
    "start_smtpdsn",
]

HARAKA_VERSION = "3.3.4"
HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "smtpdsn-bench"


@dataclass(frozen=True)
class ServerKind:
    """One server of the benchmark: its name, what runs it, and how to start it."""

    name: str
    runtime: str
    start: Callable[[int, Path, Path], ServerProcess]


def smtpdsn_loop_option() -> bool:
    """Whether this smtpdsn's ``serve`` command has a ``--loop`` option."""
    out = subprocess.run(
        [sys.executable, "-m", "smtpdsn", "serve", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    return "--loop" in out.stdout


def start_smtpdsn(port: int, maildir: Path, workdir: Path, loop: str | None) -> ServerProcess:
    argv = [sys.executable, "-m", "smtpdsn", "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--maildir", str(maildir), "--log-level", "WARNING"]
    if loop is not None:
        argv += ["--loop", loop]
    return ServerProcess("smtpdsn serve", argv, port, workdir / f"smtpdsn-{port}.log", workdir)


def start_aiosmtpd(port: int, maildir: Path, workdir: Path) -> ServerProcess:
    argv = [sys.executable, str(HERE / "aiosmtpd_sink.py"), str(port), str(maildir)]
    return ServerProcess("aiosmtpd", argv, port, workdir / f"aiosmtpd-{port}.log", workdir)


def haraka_install(version: str = HARAKA_VERSION) -> tuple[Path | None, str]:
    """Haraka ``version`` installed with npm into the cache folder (once), or why not.

    Returns:
        (path of ``bin/haraka``, "") when Haraka can be run, else (None, the reason).
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(n for n, p in (("node", node), ("npm", npm)) if p is None)
        return None, f"{missing} not found on PATH"
    home = CACHE / f"haraka-{version}"
    script = home / "node_modules" / "Haraka" / "bin" / "haraka"
    stamp = home / ".installed"
    if stamp.exists() and script.exists():
        return script, ""
    home.mkdir(parents=True, exist_ok=True)
    # A package.json here keeps npm from installing into a parent folder's project.
    (home / "package.json").write_text('{"name": "smtpdsn-bench-haraka", "private": true}\n')
    print(f"installing Haraka {version} with npm into {home} ...", flush=True)
    try:
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", f"Haraka@{version}"],
            cwd=home,
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return (
            None,
            f"npm install Haraka@{version} failed: {exc} {detail.decode(errors='replace')[-300:]}",
        )
    if not script.exists():
        return None, f"npm installed Haraka@{version} but {script} is missing"
    stamp.write_text(version + "\n")
    return script, ""


def start_haraka(script: Path, port: int, maildir: Path, workdir: Path) -> ServerProcess:
    """Haraka with ``nodes=0``, log level warn, and the benchmark's two plugins."""
    run = workdir / f"haraka-{port}"
    # Haraka's own defaults first (what ``haraka -i DIR`` installs), then the changes.
    shutil.copytree(script.parent.parent / "config", run / "config")
    (run / "plugins").mkdir()
    for plugin in ("bench_rcpt.js", "bench_queue.js"):
        shutil.copy(HERE / "haraka" / plugin, run / "plugins" / plugin)
    (run / "config" / "plugins").write_text("bench_rcpt\nbench_queue\n")
    (run / "config" / "smtp.ini").write_text(
        f"listen=127.0.0.1:{port}\nnodes=0\nforce_shutdown_timeout=2\ninactivity_timeout=600\n"
    )
    (run / "config" / "log.ini").write_text(
        "[main]\nlevel=warn\ntimestamps=false\nformat=default\n"
    )
    (run / "config" / "me").write_text("haraka.bench.test\n")
    env = {**os.environ, "BENCH_MAILDIR": str(maildir)}
    argv = [shutil.which("node") or "node", str(script), "-c", str(run)]
    return ServerProcess("Haraka", argv, port, workdir / f"haraka-{port}.log", run, env=env)
