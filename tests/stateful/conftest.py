"""The state machine reuses the in-memory OSS model and scripted driver of the core's unit
tests (tests/core/core_support.py). The test tree has no packages, so make that module
importable here by path, once, explicitly."""

from __future__ import annotations

import sys
from pathlib import Path

CORE_TESTS = str(Path(__file__).resolve().parents[1] / "core")
if CORE_TESTS not in sys.path:
    sys.path.insert(0, CORE_TESTS)
