"""Placeholder: the OSS model is being written (issue 3)."""

from __future__ import annotations

from emulator.blobs import BlobStore
from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.db import Database


class OssBackend:
    def __init__(
        self, *, db: Database, blobs: BlobStore, clock: Clock, config: EmulatorConfig
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock
        self.config = config
