"""The parts of ``bench/server.py``: the load client, the servers, and /proc readings."""

from __future__ import annotations

__all__: list[str] = []
