"""moto-style ergonomics of ``emulator.mock_vod``: class decoration with fresh state per
test, handing the mock to the test, and chaining to a ``responses`` mock the test already
has. Requirements: specs/emulator-control.md §4 (EMU-INP-004..EMU-INP-006)."""

from __future__ import annotations

import unittest
from typing import ClassVar

import oss2
import requests
import responses

import emulator
from emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DEFAULT_REGION
from emulator.inprocess import EMULATOR_URL, MockVod


def _bucket(vod: MockVod, name: str = "cls") -> oss2.Bucket:
    vod.state.oss.ensure_bucket(name)
    return oss2.Bucket(oss2.Auth(vod.access_key_id, vod.access_key_secret), vod.url, name)


@emulator.mock_vod(pass_mock=True)
def test_decorator_hands_the_mock_to_the_test(vod: MockVod) -> None:
    """EMU-INP-004: ``pass_mock=True`` passes the MockVod as ``vod`` (pytest does not
    take it for a fixture)."""
    bucket = _bucket(vod)
    bucket.put_object("k", b"v")
    assert bucket.get_object("k").read() == b"v"
    bucket.session.session.close()


@emulator.mock_vod(pass_mock=True)
class TestPlainClassGetsAFreshEmulatorPerTest:
    """EMU-INP-004: every test method of a decorated class runs (none disappear) with
    its own emulator state."""

    # The states themselves, not their id(): an id is reused once its object is freed, so
    # a fresh state could look like an old one (and the other way round).
    seen_states: ClassVar[list[object]] = []

    def test_first(self, vod: MockVod) -> None:
        self._put_and_count(vod)

    def test_second(self, vod: MockVod) -> None:
        self._put_and_count(vod)

    def _put_and_count(self, vod: MockVod) -> None:
        assert all(vod.state is not earlier for earlier in self.seen_states)
        self.seen_states.append(vod.state)
        bucket = _bucket(vod)
        assert list(oss2.ObjectIterator(bucket)) == []  # nothing left by the other test
        bucket.put_object("mine", b"1")
        bucket.session.session.close()


@emulator.mock_vod()
class UnitTestCaseGetsSelfVod(unittest.TestCase):
    """EMU-INP-004: a TestCase gets the mock from setUp to its cleanups as ``self.vod``."""

    def setUp(self) -> None:
        self.bucket = _bucket(self.vod, "unit")  # type: ignore[attr-defined]
        self.addCleanup(self.bucket.session.session.close)

    def test_put(self) -> None:
        self.bucket.put_object("a", b"x")
        self.assertEqual(self.bucket.get_object("a").read(), b"x")

    def test_starts_empty(self) -> None:
        self.assertEqual(list(oss2.ObjectIterator(self.bucket)), [])


def test_unittest_case_runs_every_test() -> None:
    """EMU-INP-004: the decorated TestCase's tests are collected and pass."""
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(UnitTestCaseGetsSelfVod)
    result = unittest.TestResult()
    suite.run(result)
    assert (result.testsRun, result.errors, result.failures) == (2, [], [])


@responses.activate
def test_chains_to_an_active_responses_mock() -> None:
    """EMU-INP-005: a URL the test registered with responses keeps its canned answer
    while mock_vod is active; emulator URLs still reach the emulator."""
    responses.add(responses.GET, "http://api.example.test/hello", body="canned")
    with emulator.mock_vod() as vod, requests.Session() as session:
        assert session.get("http://api.example.test/hello").text == "canned"
        assert vod.control.health()
        assert session.get(f"{EMULATOR_URL}/_emulator/health").json() == {"status": "ok"}
    assert len(responses.calls) == 1


def test_default_credentials_are_public_constants() -> None:
    """EMU-INP-006: the documented defaults are importable from ``emulator``."""
    with emulator.mock_vod() as vod:
        assert (vod.access_key_id, vod.access_key_secret, vod.region) == (
            DEFAULT_ACCESS_KEY_ID,
            DEFAULT_ACCESS_KEY_SECRET,
            DEFAULT_REGION,
        )
