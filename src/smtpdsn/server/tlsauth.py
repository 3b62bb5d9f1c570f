"""TLS and AUTH for ``smtpdsn serve``: the server's TLS context from certificate files, and
an authenticator for a fixed list of ``USER:PASSWORD`` credentials.

* :func:`load_tls_context` reads a PEM certificate chain and key (RFC 3207 STARTTLS, RFC 8314
  implicit TLS) and names the file that could not be used.
* :class:`CredentialsAuthenticator` checks AUTH PLAIN / LOGIN credentials (RFC 4954, RFC 4616)
  against the configured ones with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hmac
import ssl
from collections.abc import Iterable, Mapping
from pathlib import Path

from .session import Session

__all__ = [
    "CredentialsAuthenticator",
    "TLSConfigError",
    "load_tls_context",
    "parse_credential",
]


class TLSConfigError(ValueError):
    """The certificate or key cannot be used; the message names the file."""


def load_tls_context(cert: Path | str, key: Path | str) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or later) with the PEM certificate chain ``cert``
    and the private key ``key``.

    Raises:
        TLSConfigError: a file is missing or unreadable, is not PEM, or the key does not
            match the certificate; the message names the file.
    """
    cert, key = Path(cert), Path(key)
    for what, path in (("certificate", cert), ("key", key)):
        try:
            with path.open("rb") as f:
                f.read(1)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise TLSConfigError(f"cannot read the TLS {what} {str(path)!r}: {reason}") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise TLSConfigError(
            f"cannot load the TLS certificate {str(cert)!r} with the key {str(key)!r}: "
            f"{exc.reason or exc} (both must be PEM, and the key must match the certificate)"
        ) from None
    except OSError as exc:  # pragma: no cover - checked above, unless the file just went
        raise TLSConfigError(f"cannot load the TLS certificate {str(cert)!r}: {exc}") from None
    return context


def _check_text(what: str, text: str, spec: str) -> None:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError(f"--auth {spec!r}: the {what} contains a control character")


def parse_credential(spec: str) -> tuple[str, str]:
    """``USER:PASSWORD`` as ``(user, password)``; the password may contain colons.

    Raises:
        ValueError: no colon, an empty user name or password, or a control character.
    """
    user, colon, password = spec.partition(":")
    if not colon or not user or not password:
        shown = f"{user}:..." if colon else spec
        raise ValueError(f"--auth {shown!r}: expected USER:PASSWORD, both non-empty")
    _check_text("user name", user, f"{user}:...")
    _check_text("password", password, f"{user}:...")
    return user, password


class CredentialsAuthenticator:
    """An :data:`~smtpdsn.server.protocol.Authenticator` accepting exactly the given
    ``(user, password)`` pairs, for any mechanism (PLAIN and LOGIN carry the same pair).

    Passwords are compared with :func:`hmac.compare_digest`; an unknown user name is
    compared against a placeholder, so the time taken does not tell whether it exists.
    """

    def __init__(self, credentials: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        pairs = credentials.items() if isinstance(credentials, Mapping) else credentials
        self._passwords = {user.encode(): password.encode() for user, password in pairs}
        if not self._passwords:
            raise ValueError("an authenticator needs at least one USER:PASSWORD")

    @property
    def users(self) -> list[str]:
        """The user names, sorted."""
        return sorted(user.decode() for user in self._passwords)

    def __call__(self, session: Session, mechanism: str, user: str, password: str) -> bool:
        expected = self._passwords.get(user.encode(errors="surrogateescape"))
        given = password.encode(errors="surrogateescape")
        if expected is None:
            hmac.compare_digest(given, given)
            return False
        return hmac.compare_digest(expected, given)
