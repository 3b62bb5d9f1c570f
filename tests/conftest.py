"""Test settings shared by every test file."""

from __future__ import annotations

import os

from hypothesis import settings

# CI runs on a shared two-core machine: no per-example deadline there, and a fixed seed so
# that a run can be repeated exactly. Locally each run explores new examples.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
