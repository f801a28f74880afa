"""Namespaces: several independent emulators served by one process.

One shared emulator can serve several pytest-xdist workers (or several test suites) whose
resets must not collide: each asks the shared emulator's control plane for a namespace
(``POST /_emulator/namespaces {"name": "gw0"}``) and gets the URL of an emulator of its
own, with its own state, clock, faults and control plane, on its own free loopback port
of the same process. Creating a namespace that exists answers the same URL (idempotent),
so workers need no coordination. Namespaces are in memory only.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from typing import Any

from emulator.config import EmulatorConfig
from emulator.control.responses import ControlHandler
from emulator.server import ThreadedServer
from emulator.state import EmulatorState

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class InvalidNamespace(ValueError):
    """A namespace name that is not 1-64 letters, digits, ``_``, ``.`` or ``-``."""


class Namespaces:
    """The named emulators of one process; thread-safe."""

    def __init__(self, *, host: str = "127.0.0.1", config: EmulatorConfig | None = None) -> None:
        self._host = host
        # Namespaces are scratch emulators: same credentials and region, never a data dir.
        self._config = dataclasses.replace(config or EmulatorConfig(), data_dir=None)
        self._lock = threading.Lock()
        self._servers: dict[str, ThreadedServer] = {}

    def create(self, name: str) -> dict[str, Any]:
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidNamespace("a namespace name is 1-64 letters, digits, '_', '.' or '-'")
        with self._lock:
            server = self._servers.get(name)
            if server is None:
                state = EmulatorState(self._config)
                server = ThreadedServer(
                    state, self._host, 0, control=ControlHandler(state, namespaces=None)
                ).start()
                self._servers[name] = server
            return {"name": name, "url": server.url}

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"name": n, "url": s.url} for n, s in sorted(self._servers.items())]

    def delete(self, name: str) -> bool:
        with self._lock:
            server = self._servers.pop(name, None)
        if server is None:
            return False
        server.stop()
        server.state.close()
        return True

    def close(self) -> None:
        for entry in self.list():
            self.delete(entry["name"])
