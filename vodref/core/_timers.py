"""The six timers a :class:`~vodref.core._machine.Machine` can arm, one frozen dataclass each
(:class:`~vodref.core.states.TimerKind` names them). A timer holds what it needs to tell whether
it is still live when it comes due, and what to do then; the machine decides both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from ._records import FileRecord
from .commands import AbortMultipart
from .states import RetryKey, TimerKind
from .values import Credentials

__all__ = [
    "AbortTimer",
    "CredentialsTimer",
    "FlushTimer",
    "ProbeTimer",
    "RefreshTimer",
    "RetryTimer",
    "Timer",
]


@dataclass(frozen=True, slots=True, eq=False)
class RetryTimer:
    """A backoff of ``key`` ends. Stale once the file's timers were invalidated."""

    kind: ClassVar[TimerKind] = TimerKind.RETRY
    record: FileRecord
    generation: int
    key: RetryKey


@dataclass(frozen=True, slots=True, eq=False)
class RefreshTimer:
    """``credentials`` near their expiry. Stale once the file holds other credentials."""

    kind: ClassVar[TimerKind] = TimerKind.REFRESH
    record: FileRecord
    credentials: Credentials


@dataclass(frozen=True, slots=True, eq=False)
class FlushTimer:
    """A held-back checkpoint save. Stale once a save went out (``flush_armed`` reset)."""

    kind: ClassVar[TimerKind] = TimerKind.FLUSH
    record: FileRecord


@dataclass(frozen=True, slots=True, eq=False)
class AbortTimer:
    """Send ``command`` again as retry number ``retries``. Never stale."""

    kind: ClassVar[TimerKind] = TimerKind.ABORT
    command: AbortMultipart
    retries: int


@dataclass(frozen=True, slots=True, eq=False)
class CredentialsTimer:
    """The file has waited ``credentials_timeout`` for credentials. Stale once the file got
    credentials, left Uploading, or started waiting anew (``auth_deadline`` changed)."""

    kind: ClassVar[TimerKind] = TimerKind.CREDENTIALS
    record: FileRecord
    deadline: float


@dataclass(frozen=True, slots=True, eq=False)
class ProbeTimer:
    """During outage number ``outage``, one request may try the connection again. Stale once
    that outage ended."""

    kind: ClassVar[TimerKind] = TimerKind.PROBE
    outage: int


Timer: TypeAlias = (
    RetryTimer | RefreshTimer | FlushTimer | AbortTimer | CredentialsTimer | ProbeTimer
)
