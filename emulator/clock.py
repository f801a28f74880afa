"""The emulator's clock: wall time plus an offset, or frozen at an instant.

Everything in the emulator that has a time (token expiry, signature date checks, video
status progression, Last-Modified) reads :meth:`EmulatorClock.now`, so a test can move
time instead of sleeping. The control plane freezes, advances and releases it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch, as the emulator sees it."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockSnapshot:
    """What persists across a restart: the offset from wall time, and a frozen instant."""

    offset: float
    frozen_at: float | None


class EmulatorClock:
    """A thread-safe adjustable clock.

    - ``freeze(at)`` stops time (at ``at``, or at the current emulated instant);
    - ``advance(s)`` moves it forward, frozen or not;
    - ``unfreeze()`` lets it follow the wall clock again *from the emulated instant*, so
      time never jumps backwards when a frozen clock is released.
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return self._wall() + self._offset

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen_at is not None

    def freeze(self, at: float | None = None) -> float:
        with self._lock:
            current = self._wall() + self._offset if self._frozen_at is None else self._frozen_at
            self._frozen_at = current if at is None else float(at)
            return self._frozen_at

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
                return self._frozen_at
            self._offset += seconds
            return self._wall() + self._offset

    def unfreeze(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - self._wall()
                self._frozen_at = None
            return self._wall() + self._offset

    def snapshot(self) -> ClockSnapshot:
        with self._lock:
            return ClockSnapshot(offset=self._offset, frozen_at=self._frozen_at)

    def restore(self, snapshot: ClockSnapshot) -> None:
        with self._lock:
            self._offset = snapshot.offset
            self._frozen_at = snapshot.frozen_at
