"""A self-signed certificate for ``smtpdsn serve --tls-self-signed``, made at start.

This is the only module that imports the ``cryptography`` package (the ``tls`` extra:
``pip install 'smtpdsn[tls]'``). The certificate names the server's host name, ``localhost``,
127.0.0.1 and ::1 (RFC 5280 section 4.2.1.6, subjectAltName), so a client that trusts the
certificate file verifies the server whichever of them it connects to.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

__all__ = ["MISSING_EXTRA", "SelfSignedError", "make_self_signed"]

#: What to tell a user whose Python has no ``cryptography`` package.
MISSING_EXTRA = "--tls-self-signed needs the cryptography package: pip install 'smtpdsn[tls]'"

#: How long the certificate is valid; it is made again at every start.
_VALIDITY = datetime.timedelta(days=30)


class SelfSignedError(RuntimeError):
    """The certificate cannot be made: ``cryptography`` is missing, or the host name does
    not fit a certificate."""


def _dns_name(hostname: str) -> str | None:
    """``hostname`` as a subjectAltName dNSName (ASCII letters, digits, hyphens and dots),
    or None when it is not one (an IP literal, a name with other characters)."""
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        return None
    labels = hostname.rstrip(".").split(".")
    ok = all(
        0 < len(label) <= 63 and all(c.isascii() and (c.isalnum() or c == "-") for c in label)
        for label in labels
    )
    return hostname.rstrip(".").lower() if ok and len(hostname) <= 253 else None


def make_self_signed(hostname: str, directory: Path) -> tuple[Path, Path]:
    """Write a new self-signed certificate for ``hostname`` and its private key into
    ``directory`` as ``cert.pem`` and ``key.pem`` (the key readable by its owner only).

    Returns:
        ``(certificate path, key path)``.

    Raises:
        SelfSignedError: the ``cryptography`` package is not installed (the message says
            ``pip install 'smtpdsn[tls]'``).
        OSError: the files cannot be written.
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError:
        raise SelfSignedError(MISSING_EXTRA) from None

    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    dns = _dns_name(hostname)
    if dns is not None and dns != "localhost":
        names.insert(0, x509.DNSName(dns))
    for address in ("127.0.0.1", "::1"):
        names.append(x509.IPAddress(ipaddress.ip_address(address)))
    try:
        ip = ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        if x509.IPAddress(ip) not in names:
            names.append(x509.IPAddress(ip))
    common_name = (dns or "localhost")[:64]
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
