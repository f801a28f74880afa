"""The emulator's clock: wall time plus an offset, or frozen at an instant.

Everything in the emulator that has a time (token expiry, signature date checks, video
status progression, Last-Modified) reads :meth:`EmulatorClock.now`, so a test can move
time instead of sleeping. The control plane freezes, advances and releases it.

The emulated instant stays within :data:`EARLIEST` .. :data:`LATEST` (1970 to the year
3000, EMU-SEC-002): every date the services print (ISO 8601, HTTP dates, token expiries
up to :data:`~emulator.config.MAX_SETTING_SECONDS` later) must still be representable,
or every request would fail. A change that would leave that range raises
:class:`ClockOutOfRange` and changes nothing.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# 1970-01-01T00:00:00Z .. 3000-01-01T00:00:00Z.
EARLIEST = 0.0
LATEST = 32_503_680_000.0


class ClockOutOfRange(ValueError):
    """A clock change would leave EARLIEST..LATEST (or is not a finite number)."""


def check_instant(instant: float, what: str = "the emulated instant") -> float:
    """``instant`` if it is a finite time in range, else :class:`ClockOutOfRange`."""
    if not math.isfinite(instant) or not EARLIEST <= instant <= LATEST:
        raise ClockOutOfRange(
            f"{what} must be a finite time between {EARLIEST:.0f} (1970) and "
            f"{LATEST:.0f} (year 3000) in seconds since the epoch"
        )
    return instant


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch, as the emulator sees it."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ClockSnapshot:
    """What persists across a restart: the offset from wall time, and a frozen instant."""

    offset: float
    frozen_at: float | None

    def in_range(self, wall: float) -> bool:
        """Whether this snapshot, restored at wall time ``wall``, gives a sane instant."""
        instant = self.frozen_at if self.frozen_at is not None else wall + self.offset
        try:
            check_instant(instant)
            check_instant(wall + self.offset)
        except ClockOutOfRange:
            return False
        return True


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
        """Stop time at ``at`` (or now); :class:`ClockOutOfRange` changes nothing."""
        with self._lock:
            current = self._wall() + self._offset if self._frozen_at is None else self._frozen_at
            self._frozen_at = current if at is None else check_instant(float(at), "at")
            return self._frozen_at

    def advance(self, seconds: float) -> float:
        """Move forward; a negative step is a ValueError, an instant beyond LATEST a
        :class:`ClockOutOfRange`, and neither changes anything."""
        if math.isnan(seconds) or seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = check_instant(self._frozen_at + seconds)
                return self._frozen_at
            check_instant(self._wall() + self._offset + seconds)
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
