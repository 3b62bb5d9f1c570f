"""The detector registry: the formats the classifier reads, tried in this order.

The first detector that returns candidates wins. To support a new format, write a module
with one ``detect(view) -> list[Candidate] | None`` function and add a row here, before
the generic ``text`` reader.
"""

from __future__ import annotations

from typing import Final

from . import arf, autoreply, dsn, googlegroups, sesjson, text
from .base import Candidate, Detector, DetectorInfo

__all__ = ["DETECTORS", "Candidate", "Detector", "DetectorInfo"]

#: Every detector, in the order they are tried.
DETECTORS: Final[tuple[DetectorInfo, ...]] = (
    DetectorInfo("arf", arf.detect),
    DetectorInfo("rfc3464", dsn.detect),
    DetectorInfo("amazonses-json", sesjson.detect),
    DetectorInfo("googlegroups", googlegroups.detect),
    DetectorInfo("rfc3834", autoreply.detect),
    DetectorInfo("text", text.detect),
)
