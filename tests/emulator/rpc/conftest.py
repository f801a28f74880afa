"""The RPC tests' emulator: a fresh one on a real loopback socket only. This overrides
the both-modes ``rpc_emulator`` of ``tests/emulator/conftest.py`` that the VOD and STS
tests use; the helpers are in :mod:`support.rpc`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.rpc import RunningEmulator, running_emulator


@pytest.fixture
def rpc_emulator() -> Iterator[RunningEmulator]:
    with running_emulator() as emulator:
        yield emulator
