"""Fixtures for the conformance suite's own tests.

``run_cli`` runs ``vodref.conformance.cli.main`` in this process against the session's
socket emulator (``--emulator-url``), capturing its output; the one full run in
``test_conformance_run.py`` lets the suite start its own emulator instead.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from vodref.conformance.cli import main


@dataclass(frozen=True)
class CliRun:
    status: int
    out: str
    err: str


@pytest.fixture
def run_cli(vod_emulator: Any) -> Callable[..., CliRun]:
    def run(*args: str, own_emulator: bool = False) -> CliRun:
        out, err = io.StringIO(), io.StringIO()
        argv = list(args) if own_emulator else ["--emulator-url", vod_emulator.url, *args]
        status = main(argv, out=out, err=err)
        return CliRun(status=status, out=out.getvalue(), err=err.getvalue())

    return run
