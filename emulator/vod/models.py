"""Placeholder: the VOD model is being written (issue 3)."""

from __future__ import annotations

from emulator.clock import Clock
from emulator.config import EmulatorConfig, Settings
from emulator.credentials import CredentialStore
from emulator.db import Database
from emulator.oss.models import OssBackend


class VodBackend:
    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        config: EmulatorConfig,
        settings: Settings,
        credentials: CredentialStore,
        oss: OssBackend,
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.settings = settings
        self.credentials = credentials
        self.oss = oss
