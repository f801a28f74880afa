"""Fixtures for the conformance suite's own tests.

``run_cli`` runs ``vodref.conformance.cli.main`` in this process against the session's
socket emulator (``--emulator-url``), capturing its output; the one full run in
``test_conformance_run.py`` lets the suite start its own emulator instead.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.browser import BrowserUnavailable, find_or_install_chromium
from support.npm import install_node_modules

from vodref.conformance.cli import main


@pytest.fixture(scope="session")
def chromium_and_node(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    """Debian's Chromium and the pinned Node packages (ali-oss, playwright-core), as
    tests/emulator/browser uses them; skipped when missing, failed when CI is set."""
    try:
        chromium = find_or_install_chromium()
    except BrowserUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and Chromium is unavailable: {exc}", pytrace=False)
        pytest.skip(str(exc))
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set and Node.js/npm are not installed", pytrace=False)
        pytest.skip("Node.js is not installed; the report check drives Chromium from it")
    major = int(
        subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
        .stdout.strip()
        .lstrip("v")
        .split(".")[0]
    )
    try:
        modules = install_node_modules(npm, major, lambda: tmp_path_factory.mktemp("node"))
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return chromium, node, modules


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
