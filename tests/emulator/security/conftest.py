"""Fixtures for the security tests (issue 9): a fresh emulator on a real loopback socket.

The helpers live in ``security_support.py`` next to this file and ``rpc_support.py`` in
``tests/emulator/rpc`` (test directories have no ``__init__.py``), so both directories go
on ``sys.path``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rpc"))

from rpc_support import RunningEmulator, running_emulator


@pytest.fixture
def rpc_emulator() -> Iterator[RunningEmulator]:
    with running_emulator() as emulator:
        yield emulator
