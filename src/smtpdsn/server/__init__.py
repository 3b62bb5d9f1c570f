"""The SMTP server side of smtpdsn, on aiosmtpd (install with ``pip install smtpdsn[server]``).

This package is the only part of smtpdsn that imports aiosmtpd.
"""

from __future__ import annotations
