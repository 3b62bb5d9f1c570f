"""``smtpdsn serve`` as a real process: default rules, Maildir, options, signals, bad rules."""

from __future__ import annotations

import importlib.util
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from smtpdsn.server.rules import DEFAULT_RULES, load_rules, parse_rules
from tests.server_support import ROOT_DIR, maildir_files

SERVE = [sys.executable, "-m", "smtpdsn", "serve", "--hostname", "smtpdsn.test"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_listening(port: int, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.communicate()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("server did not start")


@contextmanager
def serve(tmp_path: Path, *args: str) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT_DIR))
    proc = subprocess.Popen(
        [*SERVE, "--port", str(port), *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_listening(port, proc)
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def stop(proc: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_defaults_deliver_and_stop_cleanly(tmp_path: Path, sig: int) -> None:
    with serve(tmp_path) as (port, proc):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            code, _ = client.ehlo("client.test")
            assert code == 250
            assert client.has_extn("enhancedstatuscodes") and client.has_extn("dsn")
            refused = client.sendmail(
                "s@x.test",
                ["ok@x.test", "unknown@x.test", "full@x.test"],
                b"Subject: hello\r\n\r\nbody\r\n",
            )
            assert refused == {
                "unknown@x.test": (550, b"5.1.1 No such user"),
                "full@x.test": (450, b"4.2.2 Mailbox full"),
            }
        # An idle client is told the server is going away.
        idle = socket.create_connection(("127.0.0.1", port), timeout=10)
        assert idle.recv(100).startswith(b"220 smtpdsn.test")
        code, err = stop(proc, sig)
        assert idle.recv(200) == (
            b"421 4.3.2 smtpdsn.test Service shutting down, closing connection\r\n"
        )
        idle.close()
    assert code == 0, err
    assert maildir_files(tmp_path / "maildir") == [b"Subject: hello\r\n\r\nbody\r\n"]
    # One log line per reply: peer, command, reply.
    assert "RCPT 550 5.1.1 No such user" in err
    assert "RCPT 450 4.2.2 Mailbox full" in err
    assert "DATA 250 2.0.0 Message accepted for delivery as " in err
    assert "QUIT 221 2.0.0 Bye" in err
    assert "Traceback" not in err


def test_serve_options(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\nrecipient = "vip@*"\nverdict = "DENYSOFT"\nfactory = "sys_disk_full"\n'
    )
    args = [
        "--rules", str(rules), "--maildir", "box", "--max-size", "200",
        "--plugin", "tests.server_support:ExamplePlugin", "--log-level", "warning",
    ]  # fmt: skip
    with serve(tmp_path, *args) as (port, proc):
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("client.test")
            assert client.esmtp_features["size"] == "200"
            assert client.rcpt("x") == (503, b"5.5.1 Error: need MAIL command")
            assert client.mail("s@x") == (250, b"2.1.0 Sender OK")
            assert client.rcpt("vip@x") == (450, b"4.3.1 Mail system full")
            assert client.rcpt("unknown@x") == (250, b"2.1.5 Recipient OK")
            assert client.rcpt("plugin-says-no@x") == (550, b"5.2.1 Closed by a plugin")
            code, msg = client.data(b"x" * 300)
            assert (code, msg) == (552, b"5.3.4 Error: Too much mail data")
            assert client.mail("s@x", ["SIZE=201"]) == (
                552,
                b"5.3.4 Error: message size exceeds fixed maximum message size",
            )
        code, err = stop(proc, signal.SIGTERM)
    assert code == 0
    assert "RCPT" not in err  # --log-level warning: no per-reply lines
    assert maildir_files(tmp_path / "box") == []


BAD_RULES = '[[rule]]\nrecipient = "a@*"\nverdict = "DENY"\nfactory = "no_such_usr"\n'


def test_bad_rules_file_does_not_start(tmp_path: Path) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text(BAD_RULES)
    port = free_port()
    proc = subprocess.run(
        [*SERVE, "--port", str(port), "--rules", str(rules)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        f"smtpdsn serve: error: {rules}:4: rule 1: unknown factory 'no_such_usr' "
        "(did you mean 'no_such_user'?)\n"
    )
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    assert not (tmp_path / "maildir").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plugin", "nowhere.module:X"], "plugin 'nowhere.module:X': cannot import nowhere"),
        (["--plugin", "json"], "plugin 'json': expected package.module:Class"),
        (["--plugin", "json:Nope"], "plugin 'json:Nope': json has no Nope"),
        (["--rules", "missing.toml"], "missing.toml: cannot read the rules file"),
    ],
)
def test_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    proc = subprocess.run(
        [*SERVE, "--port", str(free_port()), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert message in proc.stderr


def test_maildir_that_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a directory")
    proc = subprocess.run(
        [*SERVE, "--port", str(free_port()), "--maildir", "afile/box"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert (
        "smtpdsn serve: error: [Errno 20] cannot create the Maildir afile/box: Not a directory"
        in (proc.stderr)
    )


def test_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = subprocess.run(
            [*SERVE, "--port", str(port)], cwd=tmp_path, capture_output=True, text=True, timeout=30
        )
    assert proc.returncode == 1
    assert "smtpdsn serve: error:" in proc.stderr and "address already in use" in proc.stderr


def test_print_default_rules(tmp_path: Path) -> None:
    proc = subprocess.run(
        [*SERVE, "--print-default-rules"], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0
    assert proc.stdout == DEFAULT_RULES
    rules = tmp_path / "rules.toml"
    rules.write_text(proc.stdout)
    assert load_rules(rules) == parse_rules(DEFAULT_RULES, str(rules))


def test_engine_and_server_import_only_the_standard_library() -> None:
    """The protocol core and the server need nothing outside the standard library: with
    aiosmtpd made unimportable they load, and every module they load is stdlib or ours."""
    code = (
        "import sys; sys.modules['aiosmtpd'] = None\n"
        "import smtpdsn, smtpdsn.smtp, smtpdsn.server.app, smtpdsn.server.cli\n"
        "import smtpdsn.server.protocol, smtpdsn.server.handler, smtpdsn.server.maildir\n"
        "top = {m.split('.')[0] for m, v in sys.modules.items() if v is not None}\n"
        "print(sorted(t for t in top if t not in sys.stdlib_module_names"
        " and t not in ('smtpdsn', '__main__') and not t.startswith('_')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "[]\n"


@pytest.mark.parametrize("loop", ["asyncio", "uvloop", "auto"])
def test_serve_loop_option(tmp_path: Path, loop: str) -> None:
    """``--loop``: each event loop serves and stores (uvloop only where it is installed)."""
    if loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        pytest.skip("uvloop is not installed (pip install 'smtpdsn[fast]')")
    args = ("--loop", loop, "--maildir-writers", "2")
    with serve(tmp_path, *args) as (port, _), smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        c.ehlo("client.test")
        assert c.sendmail("a@x.test", ["b@x.test"], b"Subject: loop\r\n\r\nx\r\n") == {}
    assert len(list((tmp_path / "maildir" / "new").iterdir())) == 1


def test_loop_uvloop_without_uvloop_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from smtpdsn.server import cli as serve_cli

    monkeypatch.setitem(sys.modules, "uvloop", None)  # makes `import uvloop` fail
    assert serve_cli._loop_factory("uvloop") == (
        "--loop uvloop needs uvloop: pip install 'smtpdsn[fast]'"
    )
    assert serve_cli._loop_factory("auto") is None  # auto falls back to asyncio's loop
    assert serve_cli._loop_factory("asyncio") is None
