"""``emulator.serve()`` and namespaces: one emulator process serving several independent
emulators (pytest-xdist workers) whose resets never collide.
Requirements: specs/emulator-control.md (EMU-CTL-012, EMU-CTL-013)."""

from __future__ import annotations

import os

import oss2
import pytest

import emulator
from emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from emulator.control import Client, ControlClientError


def _bucket(url: str, name: str) -> oss2.Bucket:
    return oss2.Bucket(oss2.Auth(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET), url, name)


def test_serve_returns_a_running_loopback_emulator() -> None:
    """EMU-CTL-012: serve() binds 127.0.0.1 on a free port and is ready when it returns."""
    with emulator.serve() as server:
        assert server.url.startswith("http://127.0.0.1:") and server.port > 0
        with Client(server.url) as control:
            assert control.health()
        bucket = _bucket(server.url, "served")
        bucket.create_bucket()
        bucket.put_object("k", b"v")
        assert server.state.oss.get_object("served", "k").info.size == 1
        bucket.session.session.close()


def test_namespaces_do_not_share_state_or_resets() -> None:
    """EMU-CTL-013: two workers' namespaces are separate emulators; creating one again
    answers the same URL; a reset in one leaves the other alone; deleting stops it."""
    with emulator.serve() as server, Client(server.url) as shared:
        first = shared.create_namespace("gw0")
        second = shared.create_namespace("gw1")
        assert first != second and shared.create_namespace("gw0") == first
        assert [n["name"] for n in shared.namespaces()] == ["gw0", "gw1"]
        one, two = _bucket(first, "jobs"), _bucket(second, "jobs")
        one.create_bucket()
        two.create_bucket()
        one.put_object("only-in-gw0", b"1")
        assert [o.key for o in oss2.ObjectIterator(two)] == []
        with Client(second) as control_two:
            control_two.reset()
        assert [o.key for o in oss2.ObjectIterator(one)] == ["only-in-gw0"]
        with pytest.raises(ControlClientError) as raised:
            shared.create_namespace("no/slashes")
        assert raised.value.code == "InvalidNamespace"
        shared.delete_namespace("gw1")
        assert [n["name"] for n in shared.namespaces()] == ["gw0"]
        with pytest.raises(ControlClientError) as missing:
            shared.delete_namespace("gw1")
        assert missing.value.code == "NoSuchNamespace"
        one.session.session.close()
        two.session.session.close()


def test_plugin_shared_fixture_is_this_workers_namespace(
    vod_emulator_shared, vod_emulator_shared_url: str
) -> None:  # type: ignore[no-untyped-def]
    """EMU-PLG-004: ``vod_emulator_shared`` is a namespace of the shared emulator, named
    after the xdist worker; another worker's namespace and its resets stay apart."""
    endpoint = vod_emulator_shared
    assert endpoint.mode == "shared" and endpoint.state is None
    assert endpoint.url != vod_emulator_shared_url
    mine = _bucket(endpoint.url, "shared-bucket")
    mine.create_bucket()
    mine.put_object("k", b"mine")
    with Client(vod_emulator_shared_url) as shared:
        other_url = shared.create_namespace("some-other-worker")
        names = [n["name"] for n in shared.namespaces()]
    assert os.environ.get("PYTEST_XDIST_WORKER", "main") in names
    with Client(other_url) as other:
        other.reset()
        assert other.state()["oss"]["buckets"] == []
    assert mine.get_object("k").read() == b"mine"
    mine.session.session.close()
