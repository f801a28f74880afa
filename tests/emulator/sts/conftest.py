"""Fixtures for the VOD/STS/RPC tests: a fresh emulator on a real loopback socket.

The helpers live in ``tests/emulator/rpc/rpc_support.py`` (shared by the vod, sts and rpc
test directories, which have no ``__init__.py``), so that directory goes on ``sys.path``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rpc"))

from rpc_support import RunningEmulator, running_emulator


@pytest.fixture(params=["socket", "inprocess"])
def rpc_emulator(request: pytest.FixtureRequest) -> Iterator[RunningEmulator]:
    if request.param == "inprocess" and request.node.get_closest_marker("socket_only"):
        pytest.skip("needs a real socket")
    with running_emulator(request.param) as emulator:
        yield emulator
