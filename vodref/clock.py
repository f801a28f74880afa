"""The driver's view of time, behind a small Protocol so tests can inject their own
(:class:`vodref.testing.ManualClock`).

Two clocks, because they answer different questions:

- ``monotonic()`` is what the pure core's ``now`` and deadlines are measured on (retry
  backoff, checkpoint throttling, proactive refresh). It never jumps.
- ``wall()`` is the Unix time, needed only to turn a service's absolute expiry
  (``ExpireUTCTime``) into a monotonic deadline.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


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
