"""pytest plugin for the vodref emulator (registered as the ``pytest11`` entry point).

Loading this module must stay cheap: it is imported in every pytest run of any project
that has vodref installed, so it imports nothing heavy and starts nothing until a fixture
asks for it.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "vod_faults(faults): faults (dicts or emulator.faults.Fault) installed in the "
        "vod_emulator / vod_emulator_inprocess fixtures before the test runs",
    )
