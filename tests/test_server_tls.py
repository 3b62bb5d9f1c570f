"""STARTTLS (RFC 3207): the TLS replies carry enhanced codes, DSN works after TLS."""

from __future__ import annotations

import shutil
import smtplib
import ssl
import subprocess
from pathlib import Path

import pytest

from smtpdsn.dsnparams import RcptParams
from tests.server_support import RawClient, ServerThread
from tests.test_server_dsn import Recorder

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")


def server_context(tmp_path: Path) -> ssl.SSLContext:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=smtpdsn.test"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def test_starttls(tmp_path: Path) -> None:
    rec = Recorder()
    tls = server_context(tmp_path)
    with ServerThread(plugins=[rec], tls_context=tls, require_starttls=True) as st:
        with RawClient(st.port) as c:
            c.reply()
            assert "250-STARTTLS" in c.cmd("EHLO x")
            assert c.cmd("MAIL FROM:<a@b>") == "530 5.7.0 Must issue a STARTTLS command first"
            assert c.cmd("STARTTLS x") == "501 5.5.4 Syntax: STARTTLS"
        with smtplib.SMTP("127.0.0.1", st.port, timeout=10) as client:
            client.ehlo("client.test")
            assert client.starttls(context=client_context()) == (
                220,
                b"2.0.0 Ready to start TLS",
            )
            client.ehlo("client.test")
            assert not client.has_extn("starttls")
            assert client.has_extn("dsn") and client.has_extn("enhancedstatuscodes")
            assert client.mail("a@b", ["ENVID=tls"]) == (250, b"2.1.0 Sender OK")
            assert client.rcpt("c@d", ["NOTIFY=DELAY"]) == (250, b"2.1.5 Recipient OK")
            assert client.data(b"Subject: tls\r\n\r\nx\r\n") == (
                250,
                b"2.0.0 Message accepted for delivery",
            )
            assert client.quit() == (221, b"2.0.0 Bye")
    assert rec.data[0]["rcpt"] == {"c@d": RcptParams(frozenset({"DELAY"}))}


def test_failed_tls_handshake_closes_only_that_connection(tmp_path: Path) -> None:
    with ServerThread(plugins=[], tls_context=server_context(tmp_path)) as st:
        with RawClient(st.port) as c:
            c.reply()
            c.cmd("EHLO x")
            # Pipelined text after STARTTLS is discarded (RFC 3207 section 4.2), then the
            # handshake fails on plain text and the connection closes.
            c.send(b"STARTTLS\r\nNOOP\r\n")
            assert c.reply() == "220 2.0.0 Ready to start TLS"
            c.send(b"this is not a TLS record\r\n")
            assert c.closed()
        with smtplib.SMTP("127.0.0.1", st.port, timeout=10) as client:
            assert client.noop() == (250, b"2.0.0 OK")
