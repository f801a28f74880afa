"""``emulator.serve()`` and namespaces: one emulator process serving several independent
emulators (pytest-xdist workers) whose resets never collide.
Requirements: specs/emulator-control.md (EMU-CTL-012, EMU-CTL-013)."""

from __future__ import annotations

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
