"""Compatibility names: the MIME reader now lives in :mod:`smtpdsn.mime`, shared with
:mod:`smtpdsn.classify`. This module only re-exports what :mod:`smtpdsn.report` imports."""

from __future__ import annotations

from ..mime import MAX_DEPTH, MAX_PARTS, flatten_message, normalize_newlines

__all__ = ["MAX_DEPTH", "MAX_PARTS", "flatten_message", "normalize_newlines"]
