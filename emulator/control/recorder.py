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

# The signature schemes the log names (EMU-CTL-009). Only these words are ever recorded, never
# what follows them in a header or a query: a client that put a secret where the scheme goes
# is logged as "other".
_HEADER_SCHEMES = frozenset(
    {"OSS", "OSS4-HMAC-SHA256", "ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", "ACS3-RSA-SHA256"}
)


def signature_scheme(request: Request, service: str) -> str:
    """How ``request`` says it is signed, as one word of a closed set (never a value):
    ``OSS`` / ``OSS4-HMAC-SHA256`` (an OSS Authorization header, V1 / V4), the same with
    `` presigned`` (a signed URL), ``HMAC-SHA1`` (an RPC request's ``SignatureMethod``),
    an ``ACS3-*`` algorithm, ``none``, or ``other``. Whether it verified is the status's
    business."""
    authorization = request.headers.get("Authorization")
    if authorization:
        scheme = authorization.strip().split(" ", 1)[0]
        return scheme if scheme in _HEADER_SCHEMES else "other"
    query = request.raw_query
    if service == "oss":
        if "x-oss-signature-version=OSS4-HMAC-SHA256" in query:
            return "OSS4-HMAC-SHA256 presigned"
        if "OSSAccessKeyId=" in query or "Signature=" in query:
            return "OSS presigned"
        return "none"
    # RPC: the parameters are in the query or, for a POST form, the (small) body.
    form = request.body_bytes().decode("ascii", "replace") if request.method == "POST" else ""
    for text in (query, form):
        if "SignatureMethod=HMAC-SHA1" in text:
            return "HMAC-SHA1"
        if "Signature=" in text:
            return "other"
    return "none"


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
    signature: str = "none"  # signature_scheme(): how the request was signed

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
            "signature": self.signature,
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
                signature=signature_scheme(request, info.service),
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
