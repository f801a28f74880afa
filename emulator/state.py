"""The emulator's whole state as one object: no module-level globals anywhere.

``create_app(state)`` serves a state; a reset builds fresh service state; a test can hold
two emulators side by side. With ``config.data_dir`` set, metadata goes to SQLite under
that directory and object bytes to a :class:`~emulator.blobs.DiskBlobStore`, so
everything survives a restart (including SIGKILL). Such a state holds the directory's lock
(:func:`emulator.persistence.lock_data_dir`) until :meth:`EmulatorState.close`, so two
processes, or two open states, never share a directory.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from types import TracebackType

from emulator.blobs import BlobStore, DiskBlobStore, MemoryBlobStore
from emulator.clock import EmulatorClock
from emulator.config import EmulatorConfig, Settings
from emulator.control.recorder import RequestLog
from emulator.credentials import CredentialStore
from emulator.db import Database
from emulator.faults import FaultEngine
from emulator.faults.effects import FaultHook
from emulator.oss.models import OssBackend
from emulator.persistence import (
    DataDirError,
    DataDirLock,
    KnobStore,
    collect_orphan_blobs,
    lock_data_dir,
)
from emulator.sts.models import StsBackend
from emulator.vod.models import VodBackend

log = logging.getLogger("emulator.state")


class EmulatorState:
    """Everything one emulator serves. With ``config.data_dir`` it locks that directory:
    :class:`~emulator.persistence.DataDirInUse` if another holder has it,
    :class:`~emulator.persistence.DataDirError` if it cannot be used (nothing is changed
    then). A caller that wants to wait for the directory takes the lock itself with
    ``lock_data_dir(path, wait=True)`` and passes it as ``data_dir_lock``; the state then
    leaves releasing it to the caller. :meth:`close` (or ``with``) releases what it took.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: EmulatorClock | None = None,
        data_dir_lock: DataDirLock | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        self._own_lock: DataDirLock | None = None
        data_dir = self.config.data_dir
        if data_dir is None:
            if data_dir_lock is not None:
                raise ValueError("data_dir_lock given for a state without a data_dir")
            self._open(clock)
            return
        if data_dir_lock is None:
            self._own_lock = lock_data_dir(data_dir)
        elif not data_dir_lock.held or not _same_path(data_dir_lock.path, data_dir):
            raise ValueError(f"data_dir_lock ({data_dir_lock!r}) does not hold {data_dir}")
        try:
            self._open(clock)
        except (sqlite3.Error, OSError) as error:
            self._release_own_lock()
            raise DataDirError(data_dir, str(error)) from error
        except BaseException:
            self._release_own_lock()
            raise

    def _open(self, clock: EmulatorClock | None) -> None:
        self.clock = clock or EmulatorClock()
        self.settings = Settings()
        self.lock = threading.RLock()
        # Faults and the request log are test instruments of this process: not persisted.
        self.faults: FaultHook = FaultEngine()
        self.requests = RequestLog()
        if self.config.data_dir is None:
            self.db = Database(None)
            self.blobs: BlobStore = MemoryBlobStore()
        else:
            self.db = Database(self.config.data_dir / "meta.sqlite3")
            self.blobs = DiskBlobStore(self.config.data_dir / "blobs", fsync=self.config.fsync)
        self.credentials = CredentialStore(
            self.db,
            root_access_key_id=self.config.access_key_id,
            root_access_key_secret=self.config.access_key_secret,
        )
        self.oss = OssBackend(db=self.db, blobs=self.blobs, clock=self.clock, config=self.config)
        self.sts = StsBackend(
            credentials=self.credentials,
            clock=self.clock,
            config=self.config,
            settings=self.settings,
        )
        self.vod = VodBackend(
            db=self.db,
            clock=self.clock,
            config=self.config,
            settings=self.settings,
            credentials=self.credentials,
            oss=self.oss,
        )
        # The clock offset and the control plane's settings persist with the data; blobs
        # orphaned by a crash between a blob write and its row's commit are dropped now,
        # before any request can be in flight (emulator.persistence).
        self.knobs = KnobStore(self.db)
        self.knobs.restore(self.clock, self.settings)
        if self.config.data_dir is not None:
            collected = collect_orphan_blobs(self.blobs, self.oss.referenced_blobs())
            log.info(
                "data directory %s: %d orphan blob(s) removed", self.config.data_dir, collected
            )

    def close(self) -> None:
        """Close the database and release the data directory's lock if this state took it.
        Idempotent; the state serves nothing afterwards."""
        self.vod.dispatcher.close()  # no callback worker outlives its database
        self.db.close()
        self._release_own_lock()

    def _release_own_lock(self) -> None:
        if self._own_lock is not None:
            self._own_lock.release()

    def __enter__(self) -> EmulatorState:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _same_path(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()
