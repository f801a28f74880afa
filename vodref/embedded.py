"""The emulator embedded in the CLI: ``vodref upload`` with no endpoint uploads to it.

State lives in a per-user data directory (``platformdirs.user_data_dir("vodref")/emulator``),
so a re-run after a crash or Ctrl-C finds the same video and open multipart upload and
resumes them. The emulator listens on loopback only; it prefers the port it used last time,
and :class:`RebasingTransport` points checkpoints that name an older loopback port at the
current one, so resume works even when that port was taken.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from emulator.config import EmulatorConfig
from emulator.control import Client, ControlHandler
from emulator.server import ThreadedServer
from emulator.state import EmulatorState

from .core.values import Credentials, ObjectTarget
from .transport.base import ObjectInfo, ObjectTransport, PartInfo, StoredObject, UploadedPart

__all__ = ["EmbeddedEmulator", "RebasingTransport", "default_emulator_dir"]

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def default_emulator_dir() -> Path:
    return Path(platformdirs.user_data_dir("vodref")) / "emulator"


class EmbeddedEmulator:
    """Starts :class:`emulator.server.ThreadedServer` over a persistent state."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        fsync: bool = True,
        faults: list[dict[str, Any]] | None = None,
    ) -> None:
        self.data_dir = data_dir or default_emulator_dir()
        self._fsync = fsync
        self._faults = faults or []
        self._server: Any = None

    def __enter__(self) -> EmbeddedEmulator:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        state = EmulatorState(EmulatorConfig(data_dir=self.data_dir, fsync=self._fsync))
        port_file = self.data_dir / "last-port"
        preferred = 0
        with contextlib.suppress(OSError, ValueError):
            preferred = int(port_file.read_text().strip())
        try:
            server = ThreadedServer(state, port=preferred, control=ControlHandler(state)).start()
        except OSError:
            server = ThreadedServer(state, port=0, control=ControlHandler(state)).start()
        with contextlib.suppress(OSError):
            port_file.write_text(str(server.port))
        self._server = server
        if self._faults:
            # A testing hook (VODREF_EMULATOR_FAULTS): e.g. slow parts down so a test can
            # interrupt an upload half way.
            with Client(server.url) as control:
                control.add_faults(self._faults)
        self.access_key_id = state.config.access_key_id
        self.access_key_secret = state.config.access_key_secret
        self.region = state.config.region
        return self

    @property
    def url(self) -> str:
        return str(self._server.url)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.stop()
            close = getattr(self._server.state, "close", None)
            if callable(close):
                close()
            self._server = None


def _is_loopback(endpoint: str) -> bool:
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    return (parts.hostname or "") in _LOOPBACK_HOSTS


class RebasingTransport:
    """Wraps a transport; a loopback target endpoint is replaced by ``endpoint``."""

    def __init__(self, inner: ObjectTransport, endpoint: str) -> None:
        self._inner = inner
        self._endpoint = endpoint

    def _fix(self, target: ObjectTarget) -> ObjectTarget:
        if target.endpoint != self._endpoint and _is_loopback(target.endpoint):
            return dataclasses.replace(target, endpoint=self._endpoint)
        return target

    def put_object(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        data: bytes,
        headers: Mapping[str, str],
    ) -> StoredObject:
        return self._inner.put_object(self._fix(target), credentials, data=data, headers=headers)

    def initiate_multipart(
        self, target: ObjectTarget, credentials: Credentials, *, headers: Mapping[str, str]
    ) -> str:
        return self._inner.initiate_multipart(self._fix(target), credentials, headers=headers)

    def upload_part(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        number: int,
        data: bytes,
    ) -> UploadedPart:
        return self._inner.upload_part(
            self._fix(target), credentials, upload_id=upload_id, number=number, data=data
        )

    def complete_multipart(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        headers: Mapping[str, str],
    ) -> StoredObject:
        return self._inner.complete_multipart(
            self._fix(target), credentials, upload_id=upload_id, parts=parts, headers=headers
        )

    def abort_multipart(
        self, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> None:
        self._inner.abort_multipart(self._fix(target), credentials, upload_id)

    def list_parts(
        self, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> list[PartInfo]:
        return self._inner.list_parts(self._fix(target), credentials, upload_id)

    def head_object(self, target: ObjectTarget, credentials: Credentials) -> ObjectInfo | None:
        return self._inner.head_object(self._fix(target), credentials)

    def close(self) -> None:
        self._inner.close()


def environment_flag(name: str) -> bool:
    return os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}
