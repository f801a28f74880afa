"""The emulator's control plane: reset, state, clock, token TTLs, faults, chaos.

Served under ``/_emulator/`` (a path no OSS bucket can take) as JSON; see
specs/emulator-control.md. :class:`Client` is the typed Python client.
"""

from __future__ import annotations

from emulator.control.client import Client, ControlClientError
from emulator.control.models import ControlError, ControlPlane
from emulator.control.responses import ControlHandler

__all__ = ["Client", "ControlClientError", "ControlError", "ControlHandler", "ControlPlane"]
