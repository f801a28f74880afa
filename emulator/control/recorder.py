"""The request log: what the emulator was asked, in order, in a bounded ring buffer.

Queries are stored redacted (:mod:`emulator.redaction`): no signature, token or key id
ever enters the log, so no view of it can show one (EMU-SEC-005).

The app records every emulated request after answering it (the control plane's own
requests are not recorded, so reading the log does not change it). The log is memory
only: it describes this process's traffic, and a restart starts a new one.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.http import OperationInfo, Request
from emulator.redaction import redact_path, redact_query

DEFAULT_CAPACITY = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestRecord:
    """One answered request. ``status`` is 0 when no HTTP status was sent (a transport
    fault closed the connection); ``fault_id`` names the fault it met, if any."""

    seq: int
    at: float
    method: str
    path: str
    query: str
    service: str
    operation: str
    bucket: str | None
    key: str | None
    part_number: int | None
    status: int
    fault_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "service": self.service,
            "operation": self.operation,
            "bucket": self.bucket,
            "key": self.key,
            "part_number": self.part_number,
            "status": self.status,
            "fault_id": self.fault_id,
        }


class RequestLog:
    """Thread-safe ring buffer of :class:`RequestRecord`; the oldest entries drop first."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=capacity)
        self._seq = itertools.count(1)
        self._listeners: list[Callable[[RequestRecord], None]] = []

    def add_listener(self, listener: Callable[[RequestRecord], None]) -> None:
        """Call ``listener`` with every record as it is made (``--log-requests``). It runs
        on the request's thread and must not raise."""
        self._listeners.append(listener)

    def record(
        self,
        request: Request,
        info: OperationInfo,
        *,
        status: int,
        at: float,
        fault_id: str | None = None,
    ) -> None:
        with self._lock:
            record = RequestRecord(
                seq=next(self._seq),
                at=at,
                method=request.method,
                path=redact_path(request.raw_path),
                query=redact_query(request.raw_query),
                service=info.service,
                operation=info.operation,
                bucket=info.bucket,
                key=info.key,
                part_number=info.part_number,
                status=status,
                fault_id=fault_id,
            )
            self._records.append(record)
        for listener in self._listeners:
            listener(record)

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
