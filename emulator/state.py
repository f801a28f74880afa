"""The emulator's whole state as one object: no module-level globals anywhere.

``create_app(state)`` serves a state; a reset builds fresh service state; a test can hold
two emulators side by side. With ``config.data_dir`` set, metadata goes to SQLite under
that directory and object bytes to a :class:`~emulator.blobs.DiskBlobStore`, so
everything survives a restart (including SIGKILL).
"""

from __future__ import annotations

import threading

from emulator.blobs import BlobStore, DiskBlobStore, MemoryBlobStore
from emulator.clock import EmulatorClock
from emulator.config import EmulatorConfig, Settings
from emulator.control.recorder import RequestLog
from emulator.credentials import CredentialStore
from emulator.db import Database
from emulator.faults import FaultEngine
from emulator.faults.effects import FaultHook
from emulator.oss.models import OssBackend
from emulator.persistence import KnobStore, collect_orphan_blobs
from emulator.sts.models import StsBackend
from emulator.vod.models import VodBackend


class EmulatorState:
    def __init__(
        self, config: EmulatorConfig | None = None, *, clock: EmulatorClock | None = None
    ) -> None:
        self.config = config or EmulatorConfig()
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
            self.config.data_dir.mkdir(parents=True, exist_ok=True)
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
            collect_orphan_blobs(self.blobs, self.oss.referenced_blobs())
