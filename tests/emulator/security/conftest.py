"""Fixtures for the security tests (issue 9): a fresh emulator on a real loopback socket.

The helpers live in :mod:`support.security`, :mod:`support.fuzz` and :mod:`support.rpc`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.rpc import RunningEmulator, running_emulator

from emulator.control import ControlHandler
from emulator.server import ThreadedServer
from emulator.state import EmulatorState


@pytest.fixture
def rpc_emulator() -> Iterator[RunningEmulator]:
    with running_emulator() as emulator:
        yield emulator


@pytest.fixture
def served() -> Iterator[RunningEmulator]:
    """A fresh in-memory emulator with its control plane, on 127.0.0.1 and a free port."""
    state = EmulatorState()
    with ThreadedServer(state, control=ControlHandler(state)) as server:
        emulator = RunningEmulator(state=state, url=server.url)
        try:
            yield emulator
        finally:
            for close in emulator.closers:
                close()
    state.close()
