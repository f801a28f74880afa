"""Fixtures for the control-plane tests (helpers live in tests/support/control.py)."""

from __future__ import annotations

from collections.abc import Iterator

import oss2
import pytest
from support.control import VodApi

from emulator.pytest_plugin import EmulatorEndpoint


@pytest.fixture
def vod_api(
    vod_emulator_each_mode: EmulatorEndpoint, vod_oss2_session: oss2.Session
) -> Iterator[VodApi]:
    api = VodApi(vod_emulator_each_mode, vod_oss2_session)
    yield api
    api.client.session.close()
