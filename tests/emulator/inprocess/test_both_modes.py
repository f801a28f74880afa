"""The SDK-level suites are collected twice, once per mode, by their fixtures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# One suite per mode-switching fixture: oss_emulator, rpc_emulator (VOD and STS) and
# vod_emulator_each_mode (control, faults).
SUITES = ("oss", "vod", "sts", "control", "faults")
_PARAMS = re.compile(r"^(?P<test>[^\[]+)\[(?P<params>.*)\]$")


def collected(*paths: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *paths],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_sdk_suites_run_every_socket_test_in_process_too() -> None:
    """EMU-INP-003: the OSS, VOD, STS, control and fault suites run in both modes: every
    test collected with the ``socket`` parameter is also collected with ``inprocess``."""
    items = collected(*(f"tests/emulator/{suite}" for suite in SUITES))
    ids = set(items)
    per_suite = dict.fromkeys(SUITES, 0)
    for item in items:
        match = _PARAMS.match(item)
        if match is None or "socket" not in match["params"].split("-"):
            continue
        params = ["inprocess" if p == "socket" else p for p in match["params"].split("-")]
        assert f"{match['test']}[{'-'.join(params)}]" in ids, item
        per_suite[item.split("/")[2]] += 1
    assert all(per_suite.values()), per_suite
