"""The pytest plugin: fixtures that run a :class:`~smtpdsn.testing.SMTPTestServer`.

Installed with the package (entry point ``pytest11``), so the fixtures are there in every
test once smtpdsn is installed:

* ``smtpdsn_server``: a server for one test, started before it and stopped after it;
* ``smtpdsn_server_session``: one server for the whole session (per worker under
  pytest-xdist); call its ``reset()`` where a test needs a clean slate.

Both listen on a free loopback port and run on their own thread, so plain and ``async``
tests (pytest-asyncio, anyio) use them alike. ``smtpdsn_server`` takes the keyword
arguments of :class:`~smtpdsn.testing.SMTPTestServer` by indirect parametrization::

    @pytest.mark.parametrize("smtpdsn_server", [{"rules": RULES}], indirect=True)
    def test_x(smtpdsn_server): ...

See docs/testing.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .server import SMTPTestServer

__all__ = ["smtpdsn_server", "smtpdsn_server_session"]


@pytest.fixture
def smtpdsn_server(request: pytest.FixtureRequest) -> Iterator[SMTPTestServer]:
    """An SMTP server for this test only: ``smtpdsn serve``'s default rules, or the
    :class:`~smtpdsn.testing.SMTPTestServer` arguments given by indirect parametrization
    (a dict)."""
    options: Any = getattr(request, "param", {})
    if not isinstance(options, dict):
        raise TypeError(
            "parametrize smtpdsn_server with a dict of SMTPTestServer arguments, such as "
            f"{{'rules': '...'}}; got {options!r}"
        )
    with SMTPTestServer(**options) as server:
        yield server


@pytest.fixture(scope="session")
def smtpdsn_server_session() -> Iterator[SMTPTestServer]:
    """An SMTP server shared by the whole session (``reset()`` it as needed)."""
    with SMTPTestServer() as server:
        yield server
