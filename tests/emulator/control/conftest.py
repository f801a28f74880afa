"""Fixtures for the control-plane tests (helpers live in control_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import oss2
import pytest
from control_support import VodApi

from emulator.pytest_plugin import EmulatorEndpoint


@pytest.fixture
def oss_session() -> Iterator[oss2.Session]:
    """One oss2 session per test, closed after it: oss2 never closes its own, and an
    unclosed socket is a ResourceWarning (an error here) in whichever test GC runs."""
    session = oss2.Session()
    yield session
    session.session.close()


@pytest.fixture
def vod_api(
    vod_emulator_each_mode: EmulatorEndpoint, oss_session: oss2.Session
) -> Iterator[VodApi]:
    api = VodApi(vod_emulator_each_mode, oss_session)
    yield api
    api.client.session.close()
