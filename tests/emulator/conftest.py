"""Shared emulator fixtures: a fresh emulator per test, reached over a real socket.

- ``oss_emulator``: an :class:`OssEndpoint` (url, state, root credentials, region) for a
  fresh in-memory :class:`~emulator.state.EmulatorState`, parametrized by ``mode``:
  ``"socket"`` serves it with a :class:`~emulator.server.ThreadedServer` on 127.0.0.1 and a
  free port, ``"inprocess"`` with :func:`emulator.mock_vod` (no socket). Tests that need a
  real socket are marked ``socket_only``.
- ``make_bucket``: creates a bucket and returns an ``oss2.Bucket`` for it (root V1 auth by
  default; pass ``auth=`` for V4 or STS).
- ``bucket``: ``make_bucket("test-bucket")``.
- ``rpc_emulator``: a fresh emulator for the VOD and STS tests, with the SDK helpers of
  :mod:`support.rpc`, in both modes (``tests/emulator/rpc/`` overrides it: socket only).
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import oss2
import pytest
from support.rpc import RunningEmulator, running_emulator

from emulator.inprocess import mock_vod
from emulator.server import ThreadedServer
from emulator.state import EmulatorState


@dataclass(frozen=True, slots=True, kw_only=True)
class OssEndpoint:
    mode: str
    url: str
    state: EmulatorState
    access_key_id: str
    access_key_secret: str
    region: str

    def auth(self) -> oss2.Auth:
        return oss2.Auth(self.access_key_id, self.access_key_secret)

    def auth_v4(self) -> oss2.ProviderAuthV4:
        provider = oss2.credentials.StaticCredentialsProvider(
            self.access_key_id, self.access_key_secret
        )
        return oss2.ProviderAuthV4(provider)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "socket_only: the test needs a real socket; skipped in in-process mode"
    )


@pytest.fixture(params=["socket", "inprocess"])
def oss_emulator(request: pytest.FixtureRequest) -> Iterator[OssEndpoint]:
    # EMU-INP-003: the same tests run over a socket and in-process (emulator.mock_vod);
    # tests that need a real socket (raw bytes, slow clients) are marked socket_only.
    if request.param == "inprocess" and request.node.get_closest_marker("socket_only"):
        pytest.skip("needs a real socket")
    state = EmulatorState()
    serving = (
        ThreadedServer(state, read_timeout=10.0)
        if request.param == "socket"
        else mock_vod(state=state)
    )
    with serving as server:
        yield OssEndpoint(
            mode=request.param,
            url=server.url,
            state=state,
            access_key_id=state.config.access_key_id,
            access_key_secret=state.config.access_key_secret,
            region=state.config.region,
        )
    state.db.close()


BucketFactory = Callable[..., oss2.Bucket]


@pytest.fixture
def oss2_clients() -> Iterator[list[Any]]:
    """oss2 Bucket/Service objects to close at teardown: their pooled keep-alive sockets
    would otherwise be garbage-collected later as ResourceWarnings (errors here)."""
    clients: list[Any] = []
    yield clients
    for client in clients:
        client.session.session.close()
    # oss2 never releases the connection of an error response (it raises while the
    # response is checked out of the pool), so that socket is only closed when collected.
    # Collect here, quietly, so it cannot surface as a ResourceWarning in a later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture
def make_bucket(oss_emulator: OssEndpoint, oss2_clients: list[Any]) -> BucketFactory:
    def factory(
        name: str = "test-bucket", *, auth: Any = None, create: bool = True, **kwargs: Any
    ) -> oss2.Bucket:
        if create:
            oss_emulator.state.oss.ensure_bucket(name)
        kwargs.setdefault("region", oss_emulator.region)  # V4 needs it; V1 ignores it
        client = oss2.Bucket(auth or oss_emulator.auth(), oss_emulator.url, name, **kwargs)
        oss2_clients.append(client)
        return client

    return factory


@pytest.fixture
def make_service(oss_emulator: OssEndpoint, oss2_clients: list[Any]) -> Callable[..., Any]:
    def factory(auth: Any = None) -> oss2.Service:
        client = oss2.Service(auth or oss_emulator.auth(), oss_emulator.url)
        oss2_clients.append(client)
        return client

    return factory


@pytest.fixture
def bucket(make_bucket: BucketFactory) -> oss2.Bucket:
    return make_bucket("test-bucket")


@pytest.fixture(params=["socket", "inprocess"])
def rpc_emulator(request: pytest.FixtureRequest) -> Iterator[RunningEmulator]:
    if request.param == "inprocess" and request.node.get_closest_marker("socket_only"):
        pytest.skip("needs a real socket")
    with running_emulator(request.param) as emulator:
        yield emulator
