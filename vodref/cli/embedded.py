"""The emulator embedded in the CLI: ``vodref upload`` with no endpoint uploads to it.

State lives in a per-user data directory (``platformdirs.user_data_dir("vodref")/emulator``),
so a re-run after a crash or Ctrl-C finds the same video and open multipart upload and
resumes them. The emulator listens on loopback only; it prefers the port it used last time,
and :func:`rebasing_transport` points checkpoints that name an older loopback port at the
current one, so resume works even when that port was taken.

One process at a time uses a data directory: the emulator's clean-up at start deletes the
temporary files of uploads in flight, which would be another live process's. So the
directory is locked first (``emulator.persistence.lock_data_dir``, an ``flock`` the kernel
drops when the holder dies, ``kill -9`` included), and a second ``vodref upload`` *waits*
for the first to finish: it says which process it waits for, and Ctrl-C stops the wait.
Waiting was chosen over joining the running emulator because the first process stops its
emulator when its own uploads end, whatever the second is doing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace, TracebackType
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from ..core import ObjectTarget
from ..transport import ForwardingTransport, ObjectTransport

__all__ = [
    "EmbeddedEmulator",
    "EmulatorUnavailableError",
    "default_emulator_dir",
    "rebasing_transport",
]

_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class EmulatorUnavailableError(Exception):
    """The ``emulator`` package cannot be imported (an install without it), or its data
    directory cannot be used (the message names it)."""


def default_emulator_dir() -> Path:
    return Path(platformdirs.user_data_dir("vodref")) / "emulator"


class EmbeddedEmulator:
    """Starts the emulator's threaded server over a persistent state."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        fsync: bool = True,
        faults: list[dict[str, Any]] | None = None,
        fresh: bool = False,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        """``fresh``: empty the data directory first (the demo's emulator keeps nothing
        from the last run). ``on_wait(holder)`` is called before waiting for another
        process that uses the directory."""
        self.data_dir = data_dir or default_emulator_dir()
        self._fsync = fsync
        self._faults = faults or []
        self._fresh = fresh
        self._on_wait = on_wait
        self._server: Any = None
        self._state: Any = None
        self._lock: Any = None

    def __enter__(self) -> EmbeddedEmulator:
        emulator = _emulator_parts()
        try:
            self._lock = emulator.lock_data_dir(self.data_dir, wait=True, on_wait=self._waiting)
        except emulator.DataDirError as error:
            raise EmulatorUnavailableError(f"{error} (give another --emulator-data-dir)") from None
        try:
            self._start(emulator)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _waiting(self, busy: Any) -> None:
        if self._on_wait is not None:
            holder = f"process {busy.holder_pid}" if busy.holder_pid else "another process"
            self._on_wait(holder)

    def _start(self, emulator: SimpleNamespace) -> None:
        """Called with the directory locked."""
        if self._fresh:
            self._empty_directory(emulator.LOCK_FILE_NAME)
        config = emulator.EmulatorConfig(data_dir=self.data_dir, fsync=self._fsync)
        try:
            state = emulator.EmulatorState(config, data_dir_lock=self._lock)
        except emulator.DataDirError as error:
            raise EmulatorUnavailableError(str(error)) from None
        self._state = state
        port_file = self.data_dir / "last-port"
        preferred = 0
        with contextlib.suppress(OSError, ValueError):
            preferred = int(port_file.read_text().strip())
        try:
            server = emulator.ThreadedServer(
                state, port=preferred, control=emulator.ControlHandler(state)
            ).start()
        except OSError:
            server = emulator.ThreadedServer(
                state, port=0, control=emulator.ControlHandler(state)
            ).start()
        with contextlib.suppress(OSError):
            port_file.write_text(str(server.port))
        self._server = server
        if self._faults:
            # A testing hook (VODREF_EMULATOR_FAULTS): e.g. slow parts down so a test can
            # interrupt an upload half way.
            with emulator.Client(server.url) as control:
                control.add_faults(self._faults)
        self.access_key_id = state.config.access_key_id
        self.access_key_secret = state.config.access_key_secret
        self.region = state.config.region

    def _empty_directory(self, lock_file_name: str) -> None:
        """Everything but the lock file, which this process holds (deleting it would let
        another process lock a new file of the same name)."""
        for entry in self.data_dir.iterdir():
            if entry.name == lock_file_name:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

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
            self._server = None
        if self._state is not None:
            self._state.close()
            self._state = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def _emulator_parts() -> SimpleNamespace:
    """What the embedded emulator needs from the ``emulator`` package. Imported here, not
    at module level: only this command needs the emulator, and the library never imports
    it (tests/uploader/test_uploader_layering.py)."""
    try:
        from emulator.config import EmulatorConfig  # noqa: PLC0415
        from emulator.control import Client, ControlHandler  # noqa: PLC0415
        from emulator.persistence import (  # noqa: PLC0415
            LOCK_FILE_NAME,
            DataDirError,
            lock_data_dir,
        )
        from emulator.server import ThreadedServer  # noqa: PLC0415
        from emulator.state import EmulatorState  # noqa: PLC0415
    except ImportError as error:
        raise EmulatorUnavailableError(
            f"the embedded emulator is not available ({error}); install vodref with it "
            "(pip install vodref), or pass --endpoint"
        ) from error
    return SimpleNamespace(
        EmulatorConfig=EmulatorConfig,
        Client=Client,
        ControlHandler=ControlHandler,
        LOCK_FILE_NAME=LOCK_FILE_NAME,
        DataDirError=DataDirError,
        lock_data_dir=lock_data_dir,
        ThreadedServer=ThreadedServer,
        EmulatorState=EmulatorState,
    )


def _is_loopback(endpoint: str) -> bool:
    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    return (parts.hostname or "") in _LOOPBACK_HOSTS


def rebasing_transport(inner: ObjectTransport, endpoint: str) -> ForwardingTransport:
    """``inner``, with any loopback target endpoint other than ``endpoint`` replaced by it."""

    def rebase(target: ObjectTarget) -> ObjectTarget:
        if target.endpoint != endpoint and _is_loopback(target.endpoint):
            return dataclasses.replace(target, endpoint=endpoint)
        return target

    return ForwardingTransport(inner, target_map=rebase)
