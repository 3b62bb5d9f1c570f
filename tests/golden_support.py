"""Golden SMTP sessions: scripted sessions played against ``smtpdsn serve`` over a raw socket.

``scripts/record_golden.py`` plays the sessions it defines and writes what the server
answered to ``tests/data/golden_sessions.json``; ``tests/test_server_golden.py`` plays the
recorded sessions again and compares the replies. Both use this module, so a session is
played the same way when it is recorded and when it is checked.

The JSON file is a list of sessions::

    {"name": "basics.ehlo",          # unique; the group is the part before the dot
     "rules": null,                  # a rules file's TOML text, or null: the default rules
     "options": [],                  # further ``smtpdsn serve`` options ("--max-size", "1000")
     "steps": [{"send": "", "reply": "220 golden.test smtpdsn <VERSION>\\r\\n"},
               {"send": "EHLO client.test\\r\\n", "reply": "250-golden.test\\r\\n..."},
               ...],
     "after": "",                    # what the server sent after the last step, before EOF
     "closed": true}                 # the server closed the connection after the last step

A step sends ``send`` exactly (text, UTF-8 encoded; ``send_hex`` instead when the bytes
are not UTF-8), reads ``replies`` replies (default 1; more for pipelined commands) and
compares them, all lines with their CRLFs, with ``reply``. ``"send": ""`` sends nothing
and only reads (the greeting, an idle timeout). ``"shutdown": true`` half-closes the
connection (``shutdown(SHUT_WR)``) after sending. When the server closes the connection
before a reply is complete, what was read is followed by :data:`CLOSED`; the steps after
that are not played.

What differs between runs is replaced by a placeholder (:func:`normalise`):

* ``<MAILDIR-NAME>``: the file name in ``250 2.0.0 Message accepted for delivery as <name>``;
* ``<VERSION>``: smtpdsn's version after ``smtpdsn`` (the greeting);
* ``<PORT>``: a port after ``127.0.0.1:`` or ``[::1]:``.

The server runs with ``--hostname golden.test``, so host names need no placeholder.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CLOSED",
    "GOLDEN_FILE",
    "HOSTNAME",
    "NO_REPLY",
    "Played",
    "Session",
    "Step",
    "load_sessions",
    "normalise",
    "play",
    "server",
    "session_from_json",
    "session_to_json",
]

ROOT_DIR = Path(__file__).resolve().parents[1]
GOLDEN_FILE = ROOT_DIR / "tests" / "data" / "golden_sessions.json"
HOSTNAME = "golden.test"

#: Appended to a reply when the server closed the connection before the reply was complete.
CLOSED = "<CLOSED>"
#: Appended to a reply when nothing more arrived within the read timeout.
NO_REPLY = "<NO REPLY>"

_FINAL_LINE = re.compile(rb"[0-9]{3}(?: [^\r\n]*)?\r\n")
_PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(Message accepted for delivery as )[^\s]+"), r"\1<MAILDIR-NAME>"),
    (re.compile(r"(smtpdsn )[0-9][0-9A-Za-z.+-]*"), r"\1<VERSION>"),
    (re.compile(r"((?:127\.0\.0\.1|\[::1\]):)[0-9]+"), r"\1<PORT>"),
)


def normalise(text: str) -> str:
    """``text`` with what differs between runs replaced by its placeholder."""
    for pattern, replacement in _PLACEHOLDERS:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class Step:
    """What a client sends, and the reply (or replies) it reads afterwards."""

    send: bytes
    reply: str = ""
    replies: int = 1
    shutdown: bool = False


@dataclass(frozen=True)
class Session:
    """A scripted session and, once recorded, the server's replies."""

    name: str
    steps: tuple[Step, ...]
    rules: str | None = None
    options: tuple[str, ...] = ()
    after: str = ""
    closed: bool = True

    @property
    def server_key(self) -> tuple[str | None, tuple[str, ...]]:
        """Sessions with the same key share one server process."""
        return self.rules, self.options


@dataclass
class Played:
    """What the server answered in one session: a reply text per step played."""

    replies: list[str] = field(default_factory=list)
    after: str = ""
    closed: bool = False


def _step_to_json(step: Step) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        out["send"] = step.send.decode("utf-8")
    except UnicodeDecodeError:
        out["send_hex"] = step.send.hex()
    out["reply"] = step.reply
    if step.replies != 1:
        out["replies"] = step.replies
    if step.shutdown:
        out["shutdown"] = True
    return out


def session_to_json(session: Session) -> dict[str, Any]:
    """The session as a JSON object (see the module's docstring)."""
    return {
        "name": session.name,
        "rules": session.rules,
        "options": list(session.options),
        "steps": [_step_to_json(s) for s in session.steps],
        "after": session.after,
        "closed": session.closed,
    }


def session_from_json(data: dict[str, Any]) -> Session:
    """A session read back from its JSON object."""
    steps = []
    for raw in data["steps"]:
        send = bytes.fromhex(raw["send_hex"]) if "send_hex" in raw else raw["send"].encode()
        steps.append(
            Step(send, raw["reply"], int(raw.get("replies", 1)), bool(raw.get("shutdown")))
        )
    return Session(
        name=str(data["name"]),
        steps=tuple(steps),
        rules=data["rules"],
        options=tuple(data["options"]),
        after=str(data["after"]),
        closed=bool(data["closed"]),
    )


def load_sessions(path: Path = GOLDEN_FILE) -> list[Session]:
    """The recorded sessions."""
    import json

    with path.open(encoding="utf-8") as f:
        return [session_from_json(item) for item in json.load(f)]


# --- the server -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"smtpdsn serve exited: {log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("smtpdsn serve did not start listening within 30 s")


@contextmanager
def server(rules: str | None = None, options: Sequence[str] = ()) -> Iterator[int]:
    """Run ``smtpdsn serve`` (a subprocess, ``--hostname golden.test``, a temporary Maildir,
    ``rules`` as its rules file when given) and yield its port."""
    with tempfile.TemporaryDirectory(prefix="smtpdsn-golden-") as tmp:
        work = Path(tmp)
        args = ["--maildir", str(work / "maildir"), "--hostname", HOSTNAME]
        if rules is not None:
            (work / "rules.toml").write_text(rules, encoding="utf-8")
            args += ["--rules", str(work / "rules.toml")]
        port = _free_port()
        log = work / "serve.log"
        env = dict(os.environ, PYTHONPATH=str(ROOT_DIR))
        with log.open("wb") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "smtpdsn", "serve", "--port", str(port), *args, *options],
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_listening(port, proc, log)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- the client -------------------------------------------------------------------------


class _Reader:
    """Reads whole replies from a socket; remembers EOF."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.eof = False

    def _fill(self) -> bool:
        """Read more; False at EOF or on a timeout."""
        if self.eof:
            return False
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        except TimeoutError:
            return False
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def reply(self) -> tuple[bytes, str | None]:
        """One reply's bytes (every line, CRLFs included), and CLOSED or NO_REPLY when it
        could not be read whole."""
        lines: list[bytes] = []
        while True:
            end = self.buffer.find(b"\r\n")
            if end < 0:
                if self._fill():
                    continue
                rest, self.buffer = self.buffer, b""
                return b"".join(lines) + rest, CLOSED if self.eof else NO_REPLY
            line, self.buffer = self.buffer[: end + 2], self.buffer[end + 2 :]
            lines.append(line)
            if _FINAL_LINE.fullmatch(line):
                return b"".join(lines), None

    def rest(self, timeout: float) -> tuple[bytes, bool]:
        """Whatever arrives until EOF (True) or until ``timeout`` passes (False)."""
        self.sock.settimeout(timeout)
        while self._fill():
            pass
        rest, self.buffer = self.buffer, b""
        return rest, self.eof


def _text(data: bytes) -> str:
    return normalise(data.decode("utf-8", "backslashreplace"))


def play(
    port: int, steps: Sequence[Step], *, timeout: float = 10.0, close_timeout: float = 5.0
) -> Played:
    """Play ``steps`` on a new connection: send each, read its replies. Stops at the first
    step the server closed the connection in; then waits up to ``close_timeout`` seconds
    for the server to close the connection (after QUIT, a 421 ...)."""
    played = Played()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        reader = _Reader(sock)
        for step in steps:
            if step.send:
                try:
                    sock.sendall(step.send)
                    if step.shutdown:
                        sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass  # the server closed first: the reads below see EOF
            got = b""
            mark: str | None = None
            for _ in range(step.replies):
                data, mark = reader.reply()
                got += data
                if mark is not None:
                    break
            played.replies.append(_text(got) + (mark or ""))
            if reader.eof:
                break
        rest, played.closed = reader.rest(close_timeout)
        played.after = _text(rest)
    return played
