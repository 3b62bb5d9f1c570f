"""Shared helpers for the core tests: where the read-only reference files live."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SPEC = SHARED / "spec"
REFERENCE = SHARED / "reference"
CORPUS = SHARED / "corpus"
