"""Fixtures for the uploader's end-to-end tests: the emulator on a real socket (the
``vod_emulator`` fixture of the emulator's pytest plugin, reset before every test), a factory
of ``Vod`` uploaders wired to it with fast retries, sample files, and a callback tracer.
Helpers live in ``tests/support/uploader.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.uploader import FAST_RETRIES, MIN_PART, Tracer, provider_for

from vodref import Vod
from vodref.testing import MemoryCheckpointStore
from vodref.transport import OssHttpTransport


@pytest.fixture
def tracer() -> Tracer:
    return Tracer()


@pytest.fixture
def emu(vod_emulator: Any) -> Any:
    """The socket emulator (fresh state); ``emu.control`` is its control client."""
    return vod_emulator


@pytest.fixture
def make_vod(emu: Any) -> Iterator[Callable[..., Vod]]:
    """Build uploaders against the emulator; every one is closed after the test."""
    made: list[Vod] = []
    providers: list[Any] = []

    def factory(**options: Any) -> Vod:
        options.setdefault("part_size", MIN_PART)
        options.setdefault("parallel", 3)
        options.setdefault("retry_policy", FAST_RETRIES)
        options.setdefault("timeout", 10.0)
        options.setdefault("checkpoint_store", MemoryCheckpointStore())
        options.setdefault("vod_endpoint", emu.url)
        # Pass auth_provider=None for the JS-style flow (credentials from callbacks).
        if "auth_provider" not in options:
            options["auth_provider"] = provider_for(emu)
            providers.append(options["auth_provider"])
        vod = Vod(**options)
        made.append(vod)
        return vod

    yield factory
    for vod in made:
        vod.close()
    for provider in providers:
        provider.api.close()


@pytest.fixture
def root_transport() -> Iterator[OssHttpTransport]:
    transport = OssHttpTransport(timeout=10.0)
    yield transport
    transport.close()


@pytest.fixture
def sizes_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "files"
    directory.mkdir()
    return directory


@pytest.fixture
def vod_api(emu: Any) -> Iterator[Any]:
    """A VOD OpenAPI client for the emulator with the root account (AppServer side)."""
    api = provider_for(emu).api
    yield api
    api.close()
