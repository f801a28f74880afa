"""Types shared by the Node conformance fixtures (conftest.py) and tests.

A plain module with a repository-unique name: the test tree has no ``__init__.py``, so
tests import it by name (pytest puts this directory on ``sys.path``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NodeRuntime:
    node: str
    npm: str
    version: str

    @property
    def major(self) -> int:
        return int(self.version.lstrip("v").split(".")[0])


@dataclass(frozen=True)
class NodeEmulator:
    """The running emulator as the Node scripts and the Python assertions see it."""

    state: Any
    url: str
    port: int
    access_key_id: str
    access_key_secret: str


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None


NodeRunner = Callable[..., dict[str, Any]]
