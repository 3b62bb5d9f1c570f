"""Debian's Postfix and Exim relaying to ``smtpdsn serve``, with DSN parameters.

Each MTA runs as a throw-away instance on loopback (see :mod:`tests.mta_support`) and relays
every message for ``dest.test`` to ``smtpdsn serve`` (a subprocess with its default rules),
through a proxy that records each connection. Twenty messages, three or four recipients
each, are submitted to the MTA with ``RET``/``ENVID`` on MAIL and ``NOTIFY``/``ORCPT`` on
RCPT (RFC 3461 section 4); every fourth message also goes to ``unknown@dest.test``, which
the default rules refuse with ``550 5.1.1``. The tests show:

* every message the MTA relays is stored exactly once in smtpdsn's Maildir, intact
  (dot-stuffing undone), and nothing is bounced but the refused recipient;
* the DSN parameters reach smtpdsn as submitted (RFC 3461 sections 4.1-4.4);
* the MTA's bounce for the refused recipient reports smtpdsn's reply as its
  ``Diagnostic-Code`` (RFC 3464 section 2.3.6), and Postfix copies its enhanced code into
  ``Status`` (Exim always writes 5.0.0);
* Exim's end of a connection works: it sends the final dot (or ``BDAT ... LAST``) and
  ``QUIT`` together and half-closes its side (RFC 5321 section 4.1.1.10: the server still
  answers); with CHUNKING offered it uses BDAT (RFC 3030).

A package that cannot be had (not root, no apt, no network) skips the test with the reason.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
import smtplib
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from tests.mta_support import (
    DEST_DOMAIN,
    SENDER_DOMAIN,
    Exim,
    MTAUnavailable,
    Outgoing,
    Postfix,
    RecordingProxy,
    ensure_exim,
    ensure_postfix,
    maildir_messages,
    original_recipient,
    submit,
)
from tests.serve_process import ServeProcess, wait_until

MESSAGES = 20
REFUSED = f"unknown@{DEST_DOMAIN}"


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A folder the MTAs' unprivileged processes can reach (pytest's tmp_path is private to
    root), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="smtpdsn-mta-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def postfix_available() -> None:
    try:
        ensure_postfix()
    except MTAUnavailable as exc:
        pytest.skip(f"Postfix cannot be had here: {exc}")


@pytest.fixture(scope="module")
def exim_available() -> None:
    try:
        ensure_exim()
    except MTAUnavailable as exc:
        pytest.skip(f"Exim cannot be had here: {exc}")


def outgoing(mta: str) -> list[Outgoing]:
    messages = []
    for n in range(MESSAGES):
        recipients = tuple(f"r{n}{letter}@{DEST_DOMAIN}" for letter in "abc")
        if n % 4 == 0:
            recipients = (*recipients[:1], REFUSED, *recipients[1:])
        messages.append(Outgoing(f"<{mta}-{n}@{SENDER_DOMAIN}>", recipients, f"{mta}-env-{n}"))
    return messages


@dataclass
class Run:
    """What one relay run left behind."""

    sent: list[Outgoing]
    stored: list[bytes]
    tmp_files: list[str]
    bounces: list[Message]
    records: list[dict[str, Any]]
    refusal: str
    proxy: RecordingProxy
    mta_log: str
    server_log: str


def refusal_of(port: int) -> str:
    """smtpdsn's reply to ``RCPT TO:<unknown@dest.test>``, asked directly: ``550 5.1.1 ...``."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("probe.test")
        client.mail(f"probe@{SENDER_DOMAIN}")
        code, text = client.rcpt(REFUSED)
        client.rset()
    assert code == 550, (code, text)
    return f"{code} {' '.join(text.decode().split())}"


def relay(workdir: Path, name: str, start_mta: Callable[[Path, int], Any]) -> Run:
    """Start smtpdsn, the proxy and the MTA; submit the messages; wait until the MTA is idle
    and every expected bounce is in; stop everything and collect what is left."""
    sent = outgoing(name)
    expected_bounces = sum(REFUSED in m.recipients for m in sent)
    records_path = workdir / "dsn-records.jsonl"
    serve = ServeProcess(
        workdir,
        workdir / "smtpdsn-maildir",
        "--plugin",
        "tests.mta_support:RecordDSNPlugin",
        env={"SMTPDSN_TEST_RECORD": str(records_path)},
    )
    with serve:
        refusal = refusal_of(serve.port)
        records_path.unlink(missing_ok=True)  # keep only what the MTA relays
        proxy = RecordingProxy(serve.port)
        try:
            mta = start_mta(workdir, proxy.port)
            try:
                submit(mta.port, sent)
                try:
                    wait_until(
                        lambda: (
                            mta.idle() and len(maildir_messages(mta.mailbox)) >= expected_bounces
                        ),
                        120,
                        f"{name} to deliver everything and write {expected_bounces} bounces",
                    )
                except AssertionError as exc:
                    log = mta.log() if isinstance(mta, Postfix) else mta.diagnostics()
                    raise AssertionError(
                        f"{exc}\n--- MTA log ---\n{log[-3000:]}\n"
                        f"--- smtpdsn log ---\n{serve.log()[-3000:]}"
                    ) from None
            finally:
                mta.stop()
        finally:
            proxy.close()
    mta_log = mta.log() if isinstance(mta, Postfix) else mta.mainlog()
    records = [
        json.loads(line)
        for line in (records_path.read_text().splitlines() if records_path.exists() else [])
    ]
    tmp = serve.maildir / "tmp"
    return Run(
        sent=sent,
        stored=maildir_messages(serve.maildir),
        tmp_files=sorted(p.name for p in tmp.iterdir()) if tmp.is_dir() else [],
        bounces=[
            email.message_from_bytes(raw, policy=email.policy.compat32)
            for raw in maildir_messages(mta.mailbox)
        ],
        records=records,
        refusal=refusal,
        proxy=proxy,
        mta_log=mta_log,
        server_log=serve.stderr,
    )


def status_blocks(bounce: Message) -> list[Message]:
    """The per-message and per-recipient field blocks of a DSN (RFC 3464 section 2)."""
    for part in bounce.walk():
        if part.get_content_type() == "message/delivery-status":
            blocks = part.get_payload()
            assert isinstance(blocks, list)
            return [b for b in blocks if isinstance(b, Message)]
    raise AssertionError(f"not a DSN:\n{bounce}")


def address_of(field: str | None) -> str:
    """``rfc822; a@b`` -> ``a@b`` (the type and spaces dropped)."""
    assert field is not None
    kind, _, address = field.partition(";")
    assert kind.strip().lower() == "rfc822", field
    return address.strip()


def one_line(text: str | None) -> str:
    assert text is not None
    return " ".join(text.split())


def log_excerpt(run: Run) -> str:
    return f"--- MTA log (tail) ---\n{run.mta_log[-2500:]}"


def check_relay(run: Run, *, postfix_status: bool) -> None:
    """The checks both MTAs must pass."""
    # Only the refused recipient bounced, once per message that had it.
    failed: Counter[tuple[str, str]] = Counter()
    for bounce in run.bounces:
        blocks = status_blocks(bounce)
        envid = str(blocks[0]["Original-Envelope-Id"])
        for block in blocks[1:]:
            failed[(envid, address_of(block["Final-Recipient"]))] += 1
    expected = Counter((m.envid, REFUSED) for m in run.sent if REFUSED in m.recipients)
    assert failed == expected, (
        f"bounced but not refused (envelope id, recipient): {sorted(failed - expected)};\n"
        f"refused but no bounce: {sorted(expected - failed)}\n{log_excerpt(run)}"
    )

    # Every message stored exactly once, intact; nothing left in tmp/.
    ids = Counter(
        m.group(1).decode() for raw in run.stored for m in [re.search(rb"Message-ID: (<.*?>)", raw)]
        if m is not None
    )  # fmt: skip
    assert len(run.stored) == sum(ids.values()), "a stored message without its Message-ID"
    assert ids == Counter(m.message_id for m in run.sent), (
        f"Message-IDs in smtpdsn's Maildir, with counts: {ids}\n{log_excerpt(run)}"
    )
    assert run.tmp_files == []
    for raw in run.stored:
        assert b"\r\n.starts with a dot, so the MTA must stuff it\r\n" in raw
        assert b"\r\nline 39 of <" in raw

    # The DSN parameters reached smtpdsn as submitted.
    by_envid = {m.envid: m for m in run.sent}
    mails = [r for r in run.records if "mail" in r]
    assert {r["envid"] for r in mails} == set(by_envid), mails
    assert all(r == {"mail": f"s@{SENDER_DOMAIN}", "ret": "HDRS", "envid": r["envid"]}
               for r in mails), mails  # fmt: skip
    rcpts = {r["rcpt"]: r for r in run.records if "rcpt" in r}
    assert set(rcpts) == {a for m in run.sent for a in m.recipients}
    for address, record in rcpts.items():
        assert record["notify"] == ["DELAY", "FAILURE"], record
        assert record["orcpt"] == ["rfc822", original_recipient(address)], record

    # The bounce carries smtpdsn's reply.
    enhanced = run.refusal.split()[1]
    for bounce in run.bounces:
        blocks = status_blocks(bounce)
        assert blocks[0]["Original-Envelope-Id"] in by_envid
        (block,) = blocks[1:]
        assert one_line(block["Action"]) == "failed"
        assert address_of(block["Original-Recipient"]) == original_recipient(REFUSED)
        assert one_line(block["Diagnostic-Code"]) == f"smtp; {run.refusal}"
        if postfix_status:
            assert one_line(block["Status"]) == enhanced
        else:
            assert one_line(block["Status"]).startswith("5.")


@pytest.mark.usefixtures("postfix_available")
def test_postfix_relays_to_smtpdsn(workdir: Path) -> None:
    def start(base: Path, port: int) -> Postfix:
        postfix = Postfix(base, port)
        postfix.start()
        return postfix

    run = relay(workdir, "postfix", start)
    check_relay(run, postfix_status=True)
    assert run.refusal.startswith("550 5.1.1 ")
    assert "status=deferred" not in run.mta_log
    assert "Traceback" not in run.server_log


def exim_half_closes(run: Run) -> list[bytes]:
    """For each connection on which Exim shut its side, what smtpdsn sent after that."""
    return [
        after
        for conversation in run.proxy.conversations
        if (after := conversation.server_after_client_eof()) is not None
        and b"QUIT\r\n" in conversation.sent("client")
    ]


def delivery_lines(log: str) -> list[str]:
    """Exim's log lines for deliveries (``=>`` first address, ``->`` the others) to dest.test."""
    return [
        line for line in log.splitlines()
        if re.search(rf" (=>|->) \S+@{re.escape(DEST_DOMAIN)} ", line)
    ]  # fmt: skip


def check_exim(run: Run) -> None:
    check_relay(run, postfix_status=False)
    assert "Remote host closed connection" not in run.mta_log, log_excerpt(run)
    delivered = delivery_lines(run.mta_log)
    relayed = sum(len(m.recipients) - (REFUSED in m.recipients) for m in run.sent)
    assert len(delivered) == relayed, log_excerpt(run)
    # Every connection Exim ended with QUIT got its 221; Exim half-closed some of them.
    for conversation in run.proxy.conversations:
        if b"QUIT\r\n" in conversation.sent("client"):
            assert re.search(rb"(^|\r\n)221[ -]", conversation.sent("server")), conversation
    assert exim_half_closes(run), "Exim never half-closed a connection (nothing was tested)"
    assert "Traceback" not in run.server_log


@pytest.mark.usefixtures("exim_available")
def test_exim_relays_with_data_and_half_close(workdir: Path) -> None:
    def start(base: Path, port: int) -> Exim:
        exim = Exim(base, port, chunking=False)
        exim.start()
        return exim

    run = relay(workdir, "exim-data", start)
    check_exim(run)
    # The final dot and QUIT went together, then the half-close: the 250 came after it.
    after_eof = exim_half_closes(run)
    assert any(re.search(rb"(^|\r\n)250[ -]", after) for after in after_eof), after_eof
    for conversation in run.proxy.conversations:
        assert b"BDAT" not in conversation.sent("client")
    assert all(" K " not in line for line in delivery_lines(run.mta_log))


@pytest.mark.usefixtures("exim_available")
def test_exim_relays_with_chunking(workdir: Path) -> None:
    def start(base: Path, port: int) -> Exim:
        exim = Exim(base, port, chunking=True)
        exim.start()
        return exim

    run = relay(workdir, "exim-bdat", start)
    # smtpdsn offers CHUNKING (RFC 3030), so Exim sends every message with BDAT.
    ehlo = [c.sent("server") for c in run.proxy.conversations]
    assert any(b"250-CHUNKING" in s or b"250 CHUNKING" in s for s in ehlo), (
        "smtpdsn serve does not advertise CHUNKING"
    )
    check_exim(run)
    for line in delivery_lines(run.mta_log):
        assert " K " in line, f"delivered without CHUNKING: {line}"
    assert all(b"BDAT " in c.sent("client") for c in run.proxy.conversations if c.sent("client"))
