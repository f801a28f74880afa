"""pytest plugin for the vodref emulator (registered as the ``pytest11`` entry point).

Fixtures:

- ``vod_emulator``: an emulator on a real socket (one server per test session, bound to
  127.0.0.1 on a free port), reset before every test. It yields an
  :class:`EmulatorEndpoint`: ``url``, credentials, ``region``, ``control`` (a
  :class:`emulator.control.Client`) and the server's ``state``.
- ``vod_emulator_inprocess``: the same, served in-process by :func:`emulator.mock_vod`
  (a fresh state per test; no socket; SDK calls to ``url`` and ``*.aliyuncs.com`` are
  intercepted while the test runs).
- ``vod_emulator_each_mode``: parametrized over both, so one test proves both modes.
- ``vod_emulator_shared``: this pytest-xdist worker's namespace of one shared emulator
  (``$VODREF_EMULATOR_URL``, or one started for the session), reset before every test;
  ``state`` is None (the emulator may be another process).

Marker ``@pytest.mark.vod_faults(fault, ...)`` installs faults (:class:`emulator.faults.Fault`
values or their JSON dicts) in either fixture before the test body runs.

Loading this module must stay cheap: it is imported in every pytest run of any project
that has vodref installed, so it imports nothing heavy at module level and starts nothing
until a fixture asks for it.
"""

# Imports inside fixtures are deliberate (see above): the plugin loads in every run.
# ruff: noqa: PLC0415

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from emulator.control import Client
    from emulator.server import ThreadedServer
    from emulator.state import EmulatorState

MARKER = "vod_faults"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(*faults): faults (emulator.faults.Fault or their JSON dicts) installed "
        "in the vod_emulator / vod_emulator_inprocess fixtures before the test runs",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class EmulatorEndpoint:
    """Where a test finds the emulator, whichever mode serves it."""

    mode: str  # "socket" or "inprocess"
    url: str
    access_key_id: str
    access_key_secret: str
    region: str
    control: Client
    # None for ``vod_emulator_shared`` on another process's emulator.
    state: EmulatorState | None


def _marked_faults(request: pytest.FixtureRequest) -> list[Any]:
    faults: list[Any] = []
    for marker in request.node.iter_markers(MARKER):
        for arg in marker.args:
            faults.extend(arg if isinstance(arg, list | tuple) else [arg])
    return faults


def _install_marked_faults(request: pytest.FixtureRequest, control: Client) -> None:
    from emulator.faults import coerce_faults

    faults = _marked_faults(request)
    if faults:
        control.add_faults(coerce_faults(faults))


@pytest.fixture(scope="session")
def vod_emulator_server() -> Iterator[ThreadedServer]:
    """The session's socket emulator (in memory); use ``vod_emulator`` in tests."""
    from emulator.control import ControlHandler
    from emulator.server import ThreadedServer
    from emulator.state import EmulatorState

    state = EmulatorState()
    server = ThreadedServer(state, control=ControlHandler(state))
    with server:
        yield server
    state.db.close()


@pytest.fixture
def vod_emulator(
    vod_emulator_server: ThreadedServer, request: pytest.FixtureRequest
) -> Iterator[EmulatorEndpoint]:
    """A socket emulator with fresh state (reset before the test) and marked faults."""
    from emulator.control import Client

    server = vod_emulator_server
    state = server.state
    with Client(server.url) as control:
        control.reset()
        _install_marked_faults(request, control)
        yield EmulatorEndpoint(
            mode="socket",
            url=server.url,
            access_key_id=state.config.access_key_id,
            access_key_secret=state.config.access_key_secret,
            region=state.config.region,
            control=control,
            state=state,
        )


@pytest.fixture
def vod_emulator_inprocess(request: pytest.FixtureRequest) -> Iterator[EmulatorEndpoint]:
    """An in-process emulator (``emulator.mock_vod``) with fresh state and marked faults."""
    from emulator.inprocess import mock_vod

    with mock_vod() as vod:
        _install_marked_faults(request, vod.control)
        yield EmulatorEndpoint(
            mode="inprocess",
            url=vod.url,
            access_key_id=vod.access_key_id,
            access_key_secret=vod.access_key_secret,
            region=vod.region,
            control=vod.control,
            state=vod.state,
        )


@pytest.fixture(scope="session")
def vod_emulator_shared_url() -> Iterator[str]:
    """The shared emulator: ``$VODREF_EMULATOR_URL`` (one emulator process for every
    pytest-xdist worker, started with its root key left at the default), or one started
    for this session."""
    import os

    url = os.environ.get("VODREF_EMULATOR_URL")
    if url:
        yield url.rstrip("/")
        return
    from emulator.serving import serve

    with serve() as server:
        yield server.url


@pytest.fixture
def vod_emulator_shared(
    vod_emulator_shared_url: str, request: pytest.FixtureRequest
) -> Iterator[EmulatorEndpoint]:
    """This worker's namespace of the shared emulator (named by ``PYTEST_XDIST_WORKER``),
    reset before the test: workers never see each other's state or resets."""
    import os

    from emulator.config import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DEFAULT_REGION
    from emulator.control import Client

    name = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with Client(vod_emulator_shared_url) as shared:
        url = shared.create_namespace(name)
    with Client(url) as control:
        control.reset()
        _install_marked_faults(request, control)
        yield EmulatorEndpoint(
            mode="shared",
            url=url,
            access_key_id=DEFAULT_ACCESS_KEY_ID,
            access_key_secret=DEFAULT_ACCESS_KEY_SECRET,
            region=DEFAULT_REGION,
            control=control,
            state=None,
        )


@pytest.fixture(params=["socket", "inprocess"])
def vod_emulator_each_mode(request: pytest.FixtureRequest) -> EmulatorEndpoint:
    """The test runs twice: against ``vod_emulator`` and ``vod_emulator_inprocess``."""
    name = "vod_emulator" if request.param == "socket" else "vod_emulator_inprocess"
    endpoint: EmulatorEndpoint = request.getfixturevalue(name)
    return endpoint


@pytest.fixture
def vod_oss2_session() -> Iterator[Any]:
    """An ``oss2.Session`` for the test's buckets, closed afterwards.

    oss2 never closes its sessions, and it never returns the connection of an error
    response to the pool (it raises while the response is checked out), so those sockets
    close only when garbage-collected: under ``filterwarnings = error`` that is a
    ResourceWarning in whichever later test the collector happens to run. This fixture
    closes the pool and collects right away, with ResourceWarning silenced only there.
    """
    import gc
    import warnings

    import oss2

    session = oss2.Session()
    yield session
    session.session.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
