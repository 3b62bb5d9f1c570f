"""TLS and AUTH in ``smtpdsn serve``: STARTTLS (RFC 3207) with a certificate the client
verifies, implicit TLS on an SMTPS port (RFC 8314), AUTH PLAIN/LOGIN (RFC 4954) only over TLS
unless allowed, and the command line's errors."""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from hypothesis import given, strategies

from smtpdsn.server.app import ServerConfig, SMTPServer
from smtpdsn.server.selfsigned import make_self_signed
from smtpdsn.server.session import Session
from smtpdsn.server.tlsauth import (
    CredentialsAuthenticator,
    TLSConfigError,
    load_tls_context,
    parse_credential,
)
from tests.serve_process import ROOT_DIR, ServeProcess, free_port, message_files
from tests.server_support import RawClient, ServerThread

needs_cryptography = pytest.mark.skipif(
    importlib.util.find_spec("cryptography") is None,
    reason="the cryptography package (pip install 'smtpdsn[tls]') is not installed",
)

SERVE = [sys.executable, "-m", "smtpdsn", "serve", "--hostname", "smtpdsn.test"]


def plain_b64(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def trusting(cert: Path) -> ssl.SSLContext:
    """A client context that verifies the server against ``cert`` only (host name too)."""
    context = ssl.create_default_context(cafile=str(cert))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    return context


def tls_config(tmp_path: Path, **fields: object) -> ServerConfig:
    config = ServerConfig(maildir=tmp_path / "maildir", tls_self_signed=True)
    config.tls_self_signed_dir = tmp_path / "tls"
    for name, value in fields.items():
        setattr(config, name, value)
    return config


def message(subject: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@client.test", "b@example.test", subject
    msg.set_content("hello over TLS\n")
    return msg


def send_one(client: smtplib.SMTP, subject: str) -> dict[str, tuple[int, bytes]]:
    return client.sendmail("a@client.test", ["b@example.test"], message(subject).as_bytes())


# -- STARTTLS and AUTH with the library's clients ------------------------------------------------


@needs_cryptography
def test_smtplib_starttls_verifies_the_self_signed_certificate_then_auth(tmp_path: Path) -> None:
    config = tls_config(tmp_path, auth=[("user", "secret:with:colons")])
    with ServerThread(config=config) as st:
        cert = st.server.tls_cert_file
        assert cert == tmp_path / "tls" / "cert.pem"
        with smtplib.SMTP("127.0.0.1", st.port, timeout=10) as client:
            client.ehlo("client.test")
            assert client.has_extn("starttls")
            assert not client.has_extn("auth")  # not before TLS
            assert client.starttls(context=trusting(cert))[0] == 220
            client.ehlo("client.test")
            assert not client.has_extn("starttls")
            assert client.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
            assert client.login("user", "secret:with:colons") == (
                235,
                b"2.7.0 Authentication successful",
            )
            assert send_one(client, "s") == {}
    files = message_files(tmp_path / "maildir")
    assert len(files) == 1 and b"hello over TLS" in files[0].read_bytes()


@needs_cryptography
def test_smtplib_verification_fails_without_trusting_the_certificate(tmp_path: Path) -> None:
    with (
        ServerThread(config=tls_config(tmp_path)) as st,
        smtplib.SMTP("127.0.0.1", st.port, timeout=10) as client,
    ):
        client.ehlo("client.test")
        with pytest.raises(ssl.SSLCertVerificationError):
            client.starttls(context=ssl.create_default_context(cafile=None, cadata=None))


@needs_cryptography
def test_auth_login_mechanism_and_wrong_credentials(tmp_path: Path) -> None:
    config = tls_config(tmp_path, auth=[("user", "pw"), ("other", "pw2")])
    with ServerThread(config=config) as st:
        cert = st.server.tls_cert_file
        assert cert is not None
        for user, password in [("user", "wrong"), ("nobody", "pw"), ("other", "pw")]:
            with smtplib.SMTP("127.0.0.1", st.port, timeout=10) as client:
                client.starttls(context=trusting(cert))
                client.ehlo("client.test")
                client.user, client.password = user, password
                with pytest.raises(smtplib.SMTPAuthenticationError) as info:
                    client.auth("LOGIN", client.auth_login, initial_response_ok=False)
                assert (info.value.smtp_code, info.value.smtp_error) == (
                    535,
                    b"5.7.8 Authentication credentials invalid",
                )
        with smtplib.SMTP("127.0.0.1", st.port, timeout=10) as client:
            client.starttls(context=trusting(cert))
            client.ehlo("client.test")
            client.user, client.password = "other", "pw2"
            code, _ = client.auth("LOGIN", client.auth_login, initial_response_ok=False)
            assert code == 235


@needs_cryptography
def test_aiosmtplib_starttls_and_auth(tmp_path: Path) -> None:
    with ServerThread(config=tls_config(tmp_path, auth=[("u", "p")])) as st:
        cert = st.server.tls_cert_file
        assert cert is not None

        async def send(password: str) -> tuple[dict[str, Any], str]:
            return await aiosmtplib.send(
                message("async"),
                hostname="127.0.0.1",
                port=st.port,
                start_tls=True,
                cert_bundle=str(cert),
                username="u",
                password=password,
                timeout=10,
            )

        errors, reply = asyncio.run(send("p"))
        assert errors == {} and reply.startswith("2.0.0")
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as info:
            asyncio.run(send("bad"))
        assert info.value.code == 535 and info.value.message.startswith("5.7.8")
    assert len(message_files(tmp_path / "maildir")) == 1


# -- AUTH before TLS --------------------------------------------------------------------------


@needs_cryptography
def test_auth_before_tls_is_refused_538(tmp_path: Path) -> None:
    config = tls_config(tmp_path, auth=[("u", "p")])
    with ServerThread(config=config) as st, RawClient(st.port) as c:
        c.reply()
        ehlo = c.cmd("EHLO client.test")
        assert "STARTTLS" in ehlo and "AUTH" not in ehlo
        assert c.cmd(f"AUTH PLAIN {plain_b64('u', 'p')}") == (
            "538 5.7.11 Encryption required for requested authentication mechanism"
        )


def test_auth_insecure_offers_auth_in_clear_text(tmp_path: Path) -> None:
    config = ServerConfig(maildir=None, auth=[("u", "p")], auth_insecure=True)
    with ServerThread(config=config) as st, RawClient(st.port) as c:
        c.reply()
        assert "250-AUTH PLAIN LOGIN" in c.cmd("EHLO client.test")
        assert c.cmd(f"AUTH PLAIN {plain_b64('u', 'x')}") == (
            "535 5.7.8 Authentication credentials invalid"
        )
        assert c.cmd(f"AUTH PLAIN {plain_b64('u', 'p')}") == ("235 2.7.0 Authentication successful")


def test_config_refuses_auth_without_tls_or_insecure() -> None:
    from smtpdsn.server.app import build_server

    with pytest.raises(ValueError, match="AUTH is offered only over TLS"):
        build_server(ServerConfig(maildir=None, auth=[("u", "p")]))
    with pytest.raises(ValueError, match="smtps_port=0 needs a TLS certificate"):
        build_server(ServerConfig(maildir=None, smtps_port=0))
    with pytest.raises(ValueError, match="needs its key"):
        build_server(ServerConfig(maildir=None, tls_cert=Path("c.pem")))
    with pytest.raises(ValueError, match="not both"):
        build_server(
            ServerConfig(maildir=None, tls_cert=Path("c"), tls_key=Path("k"), tls_self_signed=True)
        )
    with pytest.raises(ValueError, match="smtps_port=465 needs a tls_context"):
        SMTPServer(None, smtps_port=465)


# -- implicit TLS (SMTPS) ---------------------------------------------------------------------


@needs_cryptography
def test_smtps_port_speaks_tls_from_the_first_byte(tmp_path: Path) -> None:
    config = tls_config(tmp_path, auth=[("u", "p")], smtps_port=0)
    with ServerThread(config=config) as st:
        listener = st.server._smtps_server
        cert, smtps = st.server.tls_cert_file, st.server.smtps_port
        assert cert is not None and smtps not in (None, 0, st.port)
        assert smtps is not None
        with smtplib.SMTP_SSL("127.0.0.1", smtps, context=trusting(cert), timeout=10) as client:
            client.ehlo("client.test")
            assert not client.has_extn("starttls")
            assert client.has_extn("auth")  # TLS already
            assert client.docmd("STARTTLS") == (503, b"5.5.1 Error: TLS already active")
            assert client.login("u", "p")[0] == 235
            assert send_one(client, "smtps") == {}
        # The plain port still works alongside.
        with smtplib.SMTP("127.0.0.1", st.port, timeout=10) as client:
            assert client.noop() == (250, b"2.0.0 OK")
    assert len(message_files(tmp_path / "maildir")) == 1
    # Stopped with the server (asked of the listener: on a shared machine another process
    # may bind the freed port number at once, so a refused connection proves nothing).
    assert listener is not None and not listener.is_serving()


@needs_cryptography
def test_smtps_session_knows_it_is_tls(tmp_path: Path) -> None:
    seen: list[object] = []

    class Peek:
        def hook_mail(self, session: Session, envelope: object, *args: object) -> None:
            seen.append(session.ssl)

    config = tls_config(tmp_path, smtps_port=0, plugins=[Peek()])
    with ServerThread(config=config) as st:
        assert st.server.tls_cert_file is not None and st.server.smtps_port is not None
        context = trusting(st.server.tls_cert_file)
        with smtplib.SMTP_SSL("127.0.0.1", st.server.smtps_port, context=context) as client:
            client.ehlo("client.test")
            assert client.mail("a@client.test")[0] == 250
    assert len(seen) == 1 and isinstance(seen[0], ssl.SSLObject)


# -- certificates and credentials -------------------------------------------------------------


@needs_cryptography
def test_self_signed_certificate_names_host_and_loopback(tmp_path: Path) -> None:
    from cryptography import x509

    cert, key = make_self_signed("mx.example.test", tmp_path)
    assert key.stat().st_mode & 0o077 == 0  # the key is its owner's only
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    san = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["mx.example.test", "localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    load_tls_context(cert, key)


@needs_cryptography
def test_load_tls_context_names_the_bad_file(tmp_path: Path) -> None:
    cert, _ = make_self_signed("a.test", tmp_path / "a")
    _, other_key = make_self_signed("b.test", tmp_path / "b")
    with pytest.raises(TLSConfigError, match=re.escape(f"{str(cert)!r} with the key")):
        load_tls_context(cert, other_key)
    missing = tmp_path / "missing.pem"
    with pytest.raises(TLSConfigError, match=re.escape(f"TLS key {str(missing)!r}: No such")):
        load_tls_context(cert, missing)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(TLSConfigError, match=re.escape(f"certificate {str(garbage)!r}")):
        load_tls_context(garbage, other_key)


def test_parse_credential() -> None:
    assert parse_credential("u:p:q") == ("u", "p:q")
    for bad in ["nocolon", ":p", "u:", "u:p\rx"]:
        with pytest.raises(ValueError, match="--auth"):
            parse_credential(bad)
    with pytest.raises(ValueError) as info:
        parse_credential("u:secret\n")
    assert "secret" not in str(info.value)  # the password is not echoed


@given(strategies.text())
def test_parse_credential_returns_or_raises_value_error(spec: str) -> None:
    try:
        user, password = parse_credential(spec)
    except ValueError as exc:
        assert str(exc).startswith("--auth ")
    else:
        assert f"{user}:{password}" == spec and user and password and ":" not in user
        assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in spec)


def test_credentials_authenticator() -> None:
    check = CredentialsAuthenticator({"u": "p", "ü": "pässword"})
    session = Session(None)
    assert check(session, "PLAIN", "u", "p")
    assert check(session, "LOGIN", "ü", "pässword")
    assert not check(session, "PLAIN", "u", "P")
    assert not check(session, "PLAIN", "x", "p")
    assert not check(session, "PLAIN", "u", "p\udcff")  # undecodable input is just wrong
    with pytest.raises(ValueError):
        CredentialsAuthenticator([])


# -- the command line -------------------------------------------------------------------------


def run_serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERVE, "--port", str(free_port()), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PYTHONPATH": str(ROOT_DIR), "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tls-cert", "nowhere.pem", "--tls-key", "k.pem"],
         "cannot read the TLS certificate 'nowhere.pem': No such file or directory"),
        (["--tls-cert", "c.pem"], "--tls-cert needs --tls-key as well"),
        (["--tls-key", "k.pem"], "--tls-key needs --tls-cert as well"),
        (["--smtps-port", "0"], "--smtps-port needs --tls-cert/--tls-key or --tls-self-signed"),
        (["--auth", "u:p"], "--auth is offered only over TLS"),
        (["--auth", "nocolon", "--auth-insecure"], "expected USER:PASSWORD"),
        (["--auth-insecure"], "--auth-insecure needs --auth"),
    ],
)  # fmt: skip
def test_cli_errors(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_serve(tmp_path, *args)
    assert done.returncode == 2
    assert done.stderr.startswith("smtpdsn serve: error: ") and message in done.stderr
    assert not (tmp_path / "maildir").exists()


def test_cli_self_signed_without_cryptography(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['cryptography'] = None\n"
        "from smtpdsn.cli import main\n"
        "sys.exit(main(['serve', '--tls-self-signed', '--port', '0']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PYTHONPATH": str(ROOT_DIR), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2
    assert done.stderr == (
        "smtpdsn serve: error: --tls-self-signed needs the cryptography package: "
        "pip install 'smtpdsn[tls]'\n"
    )


@needs_cryptography
def test_serve_self_signed_with_auth_accepts_a_message(tmp_path: Path) -> None:
    maildir = tmp_path / "maildir"
    with ServeProcess(tmp_path, maildir, "--tls-self-signed", "--auth", "u:p") as server:
        found = re.search(r"self-signed certificate for smtpdsn\.test: (\S+)", server.log())
        assert found, server.log()
        cert = Path(found.group(1))
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
            client.starttls(context=trusting(cert))
            assert client.login("u", "p")[0] == 235
            refused = send_one(client, "cli")
            assert refused == {}
        assert len(message_files(maildir)) == 1
    assert not cert.exists()  # the temporary certificate is removed at exit


@needs_cryptography
def test_serve_prints_the_certificate_path_and_listens_on_smtps(tmp_path: Path) -> None:
    port, smtps = free_port(), free_port()
    proc = subprocess.Popen(
        [*SERVE, "--port", str(port), "--smtps-port", str(smtps), "--tls-self-signed",
         "--auth", "u:p", "--maildir", str(tmp_path / "maildir")],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT_DIR), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed before the server listens
        assert line.startswith("smtpdsn serve: TLS certificate: "), line
        cert = Path(line.removeprefix("smtpdsn serve: TLS certificate: ").rstrip("\n"))
        context = trusting(cert)
        for _ in range(200):
            try:
                client = smtplib.SMTP_SSL("127.0.0.1", smtps, context=context, timeout=10)
                break
            except ConnectionRefusedError:
                time.sleep(0.05)
        else:
            raise AssertionError("the SMTPS port did not open")
        with client:
            assert client.login("u", "p")[0] == 235
            assert send_one(client, "smtps-cli") == {}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"listening on 127.0.0.1:{smtps} (SMTPS, implicit TLS)" in err
    assert len(message_files(tmp_path / "maildir")) == 1
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", smtps), timeout=2).close()
