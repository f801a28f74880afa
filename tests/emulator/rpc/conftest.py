"""The RPC tests' emulator: socket only, because they check what crosses the wire (raw
signatures, CORS preflights, form bodies). The VOD and STS tests use the both-modes
``rpc_emulator`` of ``tests/emulator/conftest.py``; the helpers are in :mod:`support.rpc`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.rpc import RunningEmulator, running_emulator


@pytest.fixture
def rpc_emulator() -> Iterator[RunningEmulator]:
    with running_emulator() as emulator:
        yield emulator
