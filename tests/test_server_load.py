"""Load: many concurrent aiosmtplib clients against ``smtpdsn serve`` (a separate process).

Bounded: CONNECTIONS concurrent connections, each sending MESSAGES messages in its session,
with accepted, refused (550 / 450) and wholly refused transactions mixed. Every reply is
checked, and every accepted message must be in the Maildir exactly once, byte for byte.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import aiosmtplib

from tests.server_support import ROOT_DIR, maildir_files
from tests.test_server_cli import SERVE, free_port, wait_listening

CONNECTIONS = 200
MESSAGES = 20
TIME_LIMIT = 120.0  # seconds, for the whole exchange


def message(conn: int, n: int) -> bytes:
    return (
        f"From: load-{conn}@x.test\r\nSubject: load {conn}/{n}\r\n\r\n"
        f"Message {n} of connection {conn}.\r\n.leading dot line\r\n"
    ).encode()


async def one_connection(port: int, conn: int, start: asyncio.Event) -> list[bytes]:
    """Send MESSAGES messages on one connection; return those the server accepted."""
    await start.wait()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60)
    accepted: list[bytes] = []
    try:
        await client.connect()
        r = await client.ehlo(hostname=f"c{conn}.test")
        assert r.code == 250 and "ENHANCEDSTATUSCODES" in r.message
        for n in range(MESSAGES):
            r = await client.mail(f"load-{conn}@x.test", options=["RET=HDRS", f"ENVID=c{conn}n{n}"])
            assert (r.code, r.message) == (250, "2.1.0 Sender OK")
            kind = n % 5
            good = 0
            recipients = ["unknown@x.test", "full@x.test"] if kind == 4 else [
                f"user{conn}@x.test", "unknown@x.test", "full@x.test", f"other{n}@x.test"
            ][: 1 + kind]  # fmt: skip
            for rcpt in recipients:
                try:
                    r = await client.rcpt(rcpt, options=["NOTIFY=FAILURE"])
                    assert (r.code, r.message) == (250, "2.1.5 Recipient OK"), rcpt
                    good += 1
                except aiosmtplib.SMTPRecipientRefused as exc:
                    expected = {
                        "unknown@x.test": (550, "5.1.1 No such user"),
                        "full@x.test": (450, "4.2.2 Mailbox full"),
                    }[rcpt]
                    assert (exc.code, exc.message) == expected
            if not good:
                r = await client.rset()
                assert (r.code, r.message) == (250, "2.0.0 OK")
                continue
            content = message(conn, n)
            r = await client.data(content)
            assert r.code == 250 and r.message.startswith("2.0.0 Message accepted for delivery")
            accepted.append(content.replace(b"\r\n..", b"\r\n."))
        r = await client.quit()
        assert (r.code, r.message) == (221, "2.0.0 Bye")
    finally:
        client.close()
    return accepted


async def load(port: int) -> list[bytes]:
    start = asyncio.Event()
    tasks = [asyncio.create_task(one_connection(port, c, start)) for c in range(CONNECTIONS)]
    await asyncio.sleep(0)
    start.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks), TIME_LIMIT)
    return [m for accepted in results for m in accepted]


def test_load(tmp_path: Path) -> None:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT_DIR))
    proc = subprocess.Popen(
        [*SERVE, "--port", str(port), "--log-level", "WARNING"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_listening(port, proc)
        began = time.monotonic()
        sent = asyncio.run(load(port))
        elapsed = time.monotonic() - began
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    stored = maildir_files(tmp_path / "maildir")
    assert len(sent) == CONNECTIONS * MESSAGES * 4 // 5
    assert stored == sorted(sent)  # each accepted message exactly once, byte for byte
    print(f"load: {CONNECTIONS} connections x {MESSAGES} messages in {elapsed:.1f} s")
