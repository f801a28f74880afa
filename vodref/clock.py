"""The driver's view of time, behind a small Protocol so tests can inject their own.

Two clocks, because they answer different questions:

- ``monotonic()`` is what the pure core's ``now`` and deadlines are measured on (retry
  backoff, checkpoint throttling, proactive refresh). It never jumps.
- ``wall()`` is the Unix time, needed only to turn a service's absolute expiry
  (``ExpireUTCTime``) into a monotonic deadline.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (the core's ``now``)."""
        ...

    def wall(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to (unit tests of deadline handling)."""

    def __init__(self, start: float = 1000.0, wall_offset: float = 1_700_000_000.0) -> None:
        self._lock = threading.Lock()
        self._now = start
        self._wall_offset = wall_offset

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def wall(self) -> float:
        with self._lock:
            return self._now + self._wall_offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._now += seconds
