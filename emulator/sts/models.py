"""Placeholder: the STS model is being written (issue 3)."""

from __future__ import annotations

from emulator.clock import Clock
from emulator.config import EmulatorConfig, Settings
from emulator.credentials import CredentialStore


class StsBackend:
    def __init__(
        self,
        *,
        credentials: CredentialStore,
        clock: Clock,
        config: EmulatorConfig,
        settings: Settings,
    ) -> None:
        self.credentials = credentials
        self.clock = clock
        self.config = config
        self.settings = settings
