"""The sans-IO SMTP server protocol (RFC 5321): bytes in, events out; replies in, bytes out."""

from __future__ import annotations

__all__: list[str] = []
