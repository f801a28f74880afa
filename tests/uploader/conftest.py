"""Fixtures for the uploader's end-to-end tests: the emulator on a real socket (the
``vod_emulator`` fixture of the emulator's pytest plugin, reset before every test), a factory
of ``Vod`` uploaders wired to it with fast retries, sample files, and a callback tracer."""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vodref import Vod
from vodref.checkpoints import MemoryCheckpointStore
from vodref.core.options import RetryPolicy
from vodref.core.values import Credentials, ObjectTarget
from vodref.core.views import FileView
from vodref.crc import crc64
from vodref.transport import OssHttpTransport
from vodref.vod_api import AcsVodApi, VodAuthProvider

KIB = 1024
MIN_PART = 100 * KIB

FAST_RETRIES = RetryPolicy(
    max_retries=5, initial_delay=0.02, multiplier=2.0, max_delay=0.2, jitter=0.5, budget=50
)


def write_file(directory: Path, name: str, size: int, seed: int = 1) -> Path:
    path = directory / name
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


class Tracer:
    """Records every callback as a tuple, in the order the uploader calls them."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.lock = threading.Lock()
        self.hooks: dict[str, Callable[..., object]] = {}

    def _add(self, name: str, *args: Any) -> None:
        with self.lock:
            self.events.append((name, *args))
        hook = self.hooks.get(name)
        if hook is not None:
            hook(*args)

    def callbacks(self) -> dict[str, Any]:
        return {
            "add_file_success": lambda v: self._add("added", v.name),
            "on_upload_started": lambda v: self._add("started", v.name),
            "on_upload_succeed": lambda v: self._add("succeeded", v.name),
            "on_upload_failed": lambda v, code, msg: self._add("failed", v.name, code),
            "on_upload_progress": lambda v, total, ratio: self._add("progress", v.name, ratio),
            "on_upload_bytes": lambda v, done, total: self._add("bytes", v.name, done, total),
            "on_upload_token_expired": lambda v: self._add("token_expired", v.name),
            "on_upload_canceled": lambda v, reason: self._add("canceled", v.name, reason),
            "on_upload_end": lambda: self._add("end"),
        }

    def names(self, *, skip: tuple[str, ...] = ("progress", "bytes")) -> list[tuple[Any, ...]]:
        with self.lock:
            return [e for e in self.events if e[0] not in skip]

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        with self.lock:
            return [e for e in self.events if e[0] == kind]


@pytest.fixture
def tracer() -> Tracer:
    return Tracer()


@pytest.fixture
def emu(vod_emulator: Any) -> Any:
    """The socket emulator (fresh state); ``emu.control`` is its control client."""
    return vod_emulator


def provider_for(emu: Any) -> VodAuthProvider:
    return VodAuthProvider(
        AcsVodApi(emu.access_key_id, emu.access_key_secret, endpoint=emu.url, region=emu.region)
    )


@pytest.fixture
def make_vod(emu: Any) -> Iterator[Callable[..., Vod]]:
    """Build uploaders against the emulator; every one is closed after the test."""
    made: list[Vod] = []

    def factory(**options: Any) -> Vod:
        options.setdefault("part_size", MIN_PART)
        options.setdefault("parallel", 3)
        options.setdefault("retry_policy", FAST_RETRIES)
        options.setdefault("timeout", 10.0)
        options.setdefault("checkpoint_store", MemoryCheckpointStore())
        options.setdefault("vod_endpoint", emu.url)
        # Pass auth_provider=None for the JS-style flow (credentials from callbacks).
        options.setdefault("auth_provider", provider_for(emu))
        vod = Vod(**options)
        made.append(vod)
        return vod

    yield factory
    for vod in made:
        vod.close()


@pytest.fixture
def root_transport() -> Iterator[OssHttpTransport]:
    transport = OssHttpTransport(timeout=10.0)
    yield transport
    transport.close()


def stored_object(emu: Any, transport: OssHttpTransport, view: FileView) -> tuple[int, int | None]:
    """(size, CRC-64) of the uploaded object, read with the root account."""
    assert view.target is not None
    target = ObjectTarget(endpoint=emu.url, bucket=view.target.bucket, key=view.target.key)
    root = Credentials(access_key_id=emu.access_key_id, access_key_secret=emu.access_key_secret)
    info = transport.head_object(target, root)
    assert info is not None, "object missing"
    return info.size, info.crc64


def file_crc(path: Path) -> int:
    return crc64(path.read_bytes())


def open_uploads(emu: Any) -> list[dict[str, Any]]:
    return list(emu.control.state()["oss"]["uploads"])


def upload_part_requests(emu: Any) -> list[dict[str, Any]]:
    return [r for r in emu.control.requests() if r["operation"] == "UploadPart"]


@pytest.fixture
def sizes_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "files"
    directory.mkdir()
    return directory


def env_without_cloud_credentials() -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("ALIBABA_CLOUD_", "VODREF_")):
            del env[name]
    return env
