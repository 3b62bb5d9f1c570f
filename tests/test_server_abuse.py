"""``smtpdsn serve`` under abuse and load, seen from outside: raw sockets and its Maildir.

Every test starts ``python -m smtpdsn serve`` as a subprocess and talks to it only over
TCP, so the tests hold whatever engine runs behind the command line:

* a burst of 300 clients connecting at once is greeted without any client waiting for a
  SYN retry (the listening socket's backlog is at least 512);
* a client that half-closes its side right after the final dot (RFC 5321 section 4.1.1.4),
  with or without a pipelined ``QUIT`` (RFC 2920), still gets its ``250`` (and ``221``), and
  the message is stored exactly once, 20 runs out of 20;
* SIGKILL at random points during a load leaves only complete messages in ``new/``, and
  every message acknowledged with ``250`` is among them;
* a full disk and a read-only Maildir (real ones: a small tmpfs, remounted read-only) get a
  4xx reply and leave nothing behind, and the server delivers again once the disk is fixed.
"""

from __future__ import annotations

import contextlib
import random
import re
import selectors
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serve_process import ServeProcess, message_files, serve_help

GREETING_BOUND = 3.0  # seconds; a SYN retry alone costs at least 1 s, a lost ACK more
BURST = 300


# ---------------------------------------------------------------------------------------------
# Helpers


class Line:
    """A minimal raw SMTP client: one socket, replies read line by line."""

    def __init__(self, port: int, timeout: float = 10) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def reply(self) -> bytes:
        """One whole reply (every line of it), CRLFs included."""
        lines = b""
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError(f"closed after {lines + self.buffer!r}")
                self.buffer += chunk
            line, _, self.buffer = self.buffer.partition(b"\r\n")
            lines += line + b"\r\n"
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def cmd(self, line: bytes) -> bytes:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def rest(self, timeout: float = 10) -> bytes:
        """Everything the server sends until it closes (fails after ``timeout`` s)."""
        self.sock.settimeout(timeout)
        data, self.buffer = self.buffer, b""
        try:
            while chunk := self.sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            raise AssertionError(
                f"the server neither replied nor closed within {timeout} s; got {data!r}"
            ) from None
        return data

    def close(self) -> None:
        self.sock.close()


def message(message_id: str, size: int = 2000) -> bytes:
    """A message of about ``size`` octets with no line starting with a dot."""
    head = f"Message-ID: <{message_id}>\r\nSubject: abuse test\r\n\r\n".encode()
    body_line = b"abcdefghijklmnopqrstuvwxyz0123456789" * 2 + b"\r\n"
    return head + body_line * max(1, size // len(body_line))


def stored_ids(maildir: Path) -> list[str]:
    """The Message-IDs of the files in ``new/``, one per file (``?`` when it has none)."""
    ids = []
    for path in message_files(maildir):
        found = re.search(rb"Message-ID: <([^>]*)>", path.read_bytes())
        ids.append(found.group(1).decode() if found else "?")
    return ids


def open_transaction(port: int) -> Line:
    """A connection that has been greeted, said EHLO, MAIL, RCPT and DATA, and got ``354``."""
    client = Line(port)
    try:
        assert client.reply().startswith(b"220")
        assert client.cmd(b"EHLO abuse.test").startswith(b"250")
        assert client.cmd(b"MAIL FROM:<s@abuse.test>").startswith(b"250")
        assert client.cmd(b"RCPT TO:<r@abuse.test>").startswith(b"250")
        assert client.cmd(b"DATA").startswith(b"354")
    except BaseException:
        client.close()
        raise
    return client


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    with ServeProcess(tmp_path, tmp_path / "maildir", "--log-level", "WARNING") as server:
        yield server


# ---------------------------------------------------------------------------------------------
# A burst of connections


def listen_backlog(port: int) -> int:
    """The listening socket's backlog, as the kernel reports it (``ss``: Send-Q of LISTEN)."""
    if shutil.which("ss") is None:
        pytest.skip("ss (Debian package iproute2) is needed to read the listen backlog")
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, timeout=30
    ).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert rows, f"no listening socket on port {port} in ss's output"
    # State Recv-Q Send-Q Local Peer; for a listener Send-Q is the backlog.
    return int(rows[0][2])


def somaxconn() -> int:
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


def greet_burst(port: int, count: int, bound: float) -> dict[int, float]:
    """Open ``count`` connections at once; return, for each greeted one, the seconds it took
    from the start of the burst to its whole ``220`` line."""
    socks = []
    start = time.monotonic()
    with selectors.DefaultSelector() as selector:
        for n in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            socks.append(sock)
            selector.register(sock, selectors.EVENT_READ, (n, bytearray()))
        greeted: dict[int, float] = {}
        deadline = start + bound + 2
        while len(greeted) < count and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.1):
                n, data = key.data
                ready = key.fileobj
                assert isinstance(ready, socket.socket)
                try:
                    chunk = ready.recv(1024)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    chunk = b""
                data += chunk
                if b"\r\n" in data or not chunk:
                    selector.unregister(ready)
                    if data.startswith(b"220"):
                        greeted[n] = time.monotonic() - start
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.sendall(b"QUIT\r\n")
            sock.close()
    return greeted


def test_burst_of_300_connections_all_greeted_at_once(serve: ServeProcess) -> None:
    greeted = greet_burst(serve.port, BURST, GREETING_BOUND)
    late = sorted(t for t in greeted.values() if t > GREETING_BOUND)
    backlog = listen_backlog(serve.port)
    assert len(greeted) == BURST and not late, (
        f"{BURST - len(greeted)} of {BURST} clients not greeted within {GREETING_BOUND + 2} s, "
        f"{len(late)} greeted late ({late[:5]} s); listen backlog {backlog}"
    )
    assert backlog >= min(512, somaxconn()), (
        f"listen backlog {backlog}: a burst of connections overflows it and clients wait "
        "for SYN retries"
    )


def test_backlog_option(tmp_path: Path) -> None:
    """``serve --backlog N`` sets the listen backlog (capped by the kernel's somaxconn);
    the default is 1024."""
    if "--backlog" not in serve_help():
        pytest.fail("smtpdsn serve has no --backlog option")
    with ServeProcess(tmp_path, tmp_path / "a") as server:
        assert listen_backlog(server.port) == min(1024, somaxconn())
    with ServeProcess(tmp_path, tmp_path / "b", "--backlog", "600") as server:
        assert listen_backlog(server.port) == min(600, somaxconn())


# ---------------------------------------------------------------------------------------------
# Half-close after the final dot


@pytest.mark.parametrize("quit_too", [False, True], ids=["dot-only", "dot-and-quit"])
def test_half_close_after_final_dot_is_answered(serve: ServeProcess, quit_too: bool) -> None:
    runs = 20
    for run in range(runs):
        message_id = f"half-close-{quit_too}-{run}-{uuid.uuid4().hex}@abuse.test"
        client = open_transaction(serve.port)
        client.sock.sendall(message(message_id) + b".\r\n" + (b"QUIT\r\n" if quit_too else b""))
        client.sock.shutdown(socket.SHUT_WR)
        try:
            rest = client.rest()
        finally:
            client.close()
        count = stored_ids(serve.maildir).count(message_id)
        replies = rest.decode(errors="replace").splitlines()
        expected = 2 if quit_too else 1
        assert len(replies) == expected and replies[0].startswith("250 "), (
            f"run {run + 1} of {runs}: after the half-close the server sent {rest!r} "
            f"(the message was stored {count} times; a client's retry makes it one more)"
        )
        if quit_too:
            assert replies[1].startswith("221 "), replies
        assert count == 1, f"run {run + 1}: the message was stored {count} times"


# ---------------------------------------------------------------------------------------------
# SIGKILL during a load


class Load:
    """Client threads sending messages as fast as they can, until told to stop or the
    server is gone. ``sent`` maps each Message-ID to its content; ``acknowledged`` lists the
    ones that got ``250`` after their final dot."""

    def __init__(self, port: int, clients: int, seed: int) -> None:
        self.port = port
        self.sent: dict[str, bytes] = {}
        self.acknowledged: list[str] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._client, args=(random.Random(seed * 100 + n),))
            for n in range(clients)
        ]
        for thread in self._threads:
            thread.start()

    def _client(self, rng: random.Random) -> None:
        while not self.stop.is_set():
            try:
                client = open_transaction(self.port)
            except (OSError, AssertionError):
                return
            try:
                for _ in range(5):
                    message_id = f"{uuid.uuid4().hex}@load.test"
                    content = message(message_id, rng.choice([500, 5_000, 50_000, 300_000]))
                    with self._lock:
                        self.sent[message_id] = content
                    client.sock.sendall(content + b".\r\n")
                    if not client.reply().startswith(b"250"):
                        return
                    with self._lock:
                        self.acknowledged.append(message_id)
                    if self.stop.is_set():
                        return
                    assert client.cmd(b"MAIL FROM:<s@abuse.test>").startswith(b"250")
                    assert client.cmd(b"RCPT TO:<r@abuse.test>").startswith(b"250")
                    assert client.cmd(b"DATA").startswith(b"354")
            except (OSError, AssertionError):
                return
            finally:
                client.close()

    def join(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(30)
            assert not thread.is_alive(), "a load client hung"


def test_sigkill_during_load_leaves_only_complete_messages(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    rng = random.Random(8)
    sent: dict[str, bytes] = {}
    acknowledged: list[str] = []
    for round_ in range(6):
        with ServeProcess(tmp_path, maildir, "--log-level", "WARNING") as server:
            load = Load(server.port, clients=6, seed=round_)
            time.sleep(rng.uniform(0.3, 1.5))
            server.kill()
            load.join()
        sent |= load.sent
        acknowledged += load.acknowledged
        for path in message_files(maildir):
            found = re.search(rb"Message-ID: <([^>]*)>", path.read_bytes())
            assert found is not None, f"round {round_}: {path.name} has no Message-ID"
            assert path.read_bytes() == sent.get(found.group(1).decode()), (
                f"round {round_}: {path.name} is not a message that was sent, whole"
            )
    ids = stored_ids(maildir)
    assert len(ids) == len(set(ids)), "a message was stored twice"
    missing = set(acknowledged) - set(ids)
    assert not missing, f"{len(missing)} acknowledged messages are not in new/"
    assert len(acknowledged) > 0, "the load never got a message through"


# ---------------------------------------------------------------------------------------------
# Full disk and read-only Maildir


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted on ``tmp_path/disk`` (root with CAP_SYS_ADMIN only)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (root needed): {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, timeout=30)


def send_one(port: int, content: bytes) -> bytes:
    client = open_transaction(port)
    try:
        client.sock.sendall(content + b".\r\n")
        reply = client.reply()
        client.cmd(b"QUIT")
        return reply
    finally:
        client.close()


def test_full_disk_is_a_4xx_and_the_server_recovers(small_disk: Path) -> None:
    maildir = small_disk / "maildir"
    with ServeProcess(small_disk.parent, maildir, "--log-level", "WARNING") as server:
        assert send_one(server.port, message("before@abuse.test")).startswith(b"250")
        filler = small_disk / "filler"
        with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 65536)
        reply = send_one(server.port, message("full@abuse.test", 600_000))
        assert reply.startswith(b"452 4.3.1 "), f"full disk answered {reply!r}"
        assert list((maildir / "tmp").iterdir()) == []
        filler.unlink()
        assert send_one(server.port, message("after@abuse.test")).startswith(b"250")
    assert sorted(stored_ids(maildir)) == ["after@abuse.test", "before@abuse.test"]


def test_read_only_maildir_is_a_4xx_and_the_server_recovers(small_disk: Path) -> None:
    maildir = small_disk / "maildir"
    with ServeProcess(small_disk.parent, maildir, "--log-level", "WARNING") as server:
        assert send_one(server.port, message("before@abuse.test")).startswith(b"250")
        remount = ["mount", "-o", "remount,ro", str(small_disk)]
        subprocess.run(remount, check=True, timeout=30)
        try:
            reply = send_one(server.port, message("read-only@abuse.test"))
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True, timeout=30)
        assert re.match(rb"4[0-9][0-9] 4\.[0-9]{1,3}\.[0-9]{1,3} ", reply), (
            f"a read-only Maildir answered {reply!r}"
        )
        assert send_one(server.port, message("after@abuse.test")).startswith(b"250")
    assert sorted(stored_ids(maildir)) == ["after@abuse.test", "before@abuse.test"]
    assert list((maildir / "tmp").iterdir()) == []
