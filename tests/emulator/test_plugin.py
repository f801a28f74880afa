"""The pytest plugin, exercised the way users meet it: a separate pytest run.

The plugin is registered through the ``pytest11`` entry point, so the inner run (a
subprocess, via pytester) loads it exactly as a user's project would.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = """
import oss2
import pytest
from emulator.faults import Effect, Fault, Match


def bucket(emu, name="user-bucket"):
    auth = oss2.Auth(emu.access_key_id, emu.access_key_secret)
    return oss2.Bucket(auth, emu.url, name, is_path_style=True)


def test_socket_emulator_first(vod_emulator):
    assert vod_emulator.mode == "socket" and vod_emulator.url.startswith("http://127.0.0.1:")
    bucket(vod_emulator).create_bucket()
    assert [b["name"] for b in vod_emulator.control.state()["oss"]["buckets"]] == ["user-bucket"]


def test_socket_emulator_is_reset_between_tests(vod_emulator):
    assert vod_emulator.control.state()["oss"]["buckets"] == []


def test_inprocess_emulator(vod_emulator_inprocess):
    assert vod_emulator_inprocess.mode == "inprocess"
    bucket(vod_emulator_inprocess).create_bucket()
    assert vod_emulator_inprocess.state.oss.get_bucket("user-bucket").name == "user-bucket"


@pytest.mark.vod_faults(
    {"match": {"operation": "PutBucket"}, "effect": {"type": "error", "status": 503,
     "code": "ServiceUnavailable"}, "times": 1},
    Fault(match=Match(operation="GetBucketInfo"), effect=Effect.reset_after_body()),
)
def test_marker_in_both_modes(vod_emulator_each_mode):
    with pytest.raises(oss2.exceptions.ServerError):
        bucket(vod_emulator_each_mode).create_bucket()
    bucket(vod_emulator_each_mode).create_bucket()
    with pytest.raises(oss2.exceptions.RequestError):
        bucket(vod_emulator_each_mode).get_bucket_info()
    assert len(vod_emulator_each_mode.control.faults()) == 2
"""


def test_fixtures_and_marker_in_a_user_project(pytester: pytest.Pytester) -> None:
    """EMU-PLG-001, EMU-PLG-002: vod_emulator (reset per test), vod_emulator_inprocess,
    vod_emulator_each_mode and @pytest.mark.vod_faults work in a fresh pytest run with
    --strict-markers (the plugin registers its marker)."""
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=5)


def test_loading_the_plugin_starts_nothing_and_stays_cheap() -> None:
    """EMU-PLG-003: importing the plugin loads neither the services nor requests, and
    starts no thread; only a fixture does."""
    probe = (
        "import sys, threading, emulator.pytest_plugin;"
        "heavy = [m for m in ('emulator.state', 'emulator.server', 'requests', 'oss2')"
        " if m in sys.modules];"
        "print(heavy, threading.active_count())"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[] 1"
