"""An in-memory OSS for unit tests of the driver: no HTTP, no emulator.

It keeps objects and multipart uploads in dicts, answers with the same CRC-64 and MD5 ETags
OSS uses, and can be scripted to fail: ``fail_next("UploadPart", error)`` makes the next
matching call raise ``TransportError(error)``. Credentials are not checked.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence

from ..checksums import crc64, crc64_of_parts
from ..core import Credentials, ErrorKind, ObjectTarget, ServiceError
from ..errors import TransportError
from ..transport import ObjectInfo, PartInfo, StoredObject, UploadedPart

__all__ = ["MemoryTransport"]


def _etag(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest().upper()


class MemoryTransport:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.objects: dict[tuple[str, str], bytes] = {}
        self.uploads: dict[str, dict[int, bytes]] = {}
        self._upload_keys: dict[str, tuple[str, str]] = {}
        self._ids = itertools.count(1)
        self._failures: dict[str, deque[ServiceError]] = defaultdict(deque)
        self.calls: list[str] = []

    def fail_next(self, operation: str, error: ServiceError, times: int = 1) -> None:
        with self._lock:
            self._failures[operation].extend([error] * times)

    def _enter(self, operation: str) -> None:
        with self._lock:
            self.calls.append(operation)
            queue = self._failures.get(operation)
            error = queue.popleft() if queue else None
        if error is not None:
            raise TransportError(error)

    def _upload(self, upload_id: str) -> dict[int, bytes]:
        parts = self.uploads.get(upload_id)
        if parts is None:
            raise TransportError(
                ServiceError(kind=ErrorKind.SERVICE, code="NoSuchUpload", http_status=404)
            )
        return parts

    def put_object(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        data: bytes,
        headers: Mapping[str, str],
    ) -> StoredObject:
        self._enter("PutObject")
        with self._lock:
            self.objects[(target.bucket, target.key)] = data
        return StoredObject(etag=_etag(data), crc64=crc64(data))

    def initiate_multipart(
        self, target: ObjectTarget, credentials: Credentials, *, headers: Mapping[str, str]
    ) -> str:
        self._enter("InitiateMultipartUpload")
        with self._lock:
            upload_id = f"U{next(self._ids):08d}"
            self.uploads[upload_id] = {}
            self._upload_keys[upload_id] = (target.bucket, target.key)
        return upload_id

    def upload_part(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        number: int,
        data: bytes,
    ) -> UploadedPart:
        self._enter("UploadPart")
        with self._lock:
            self._upload(upload_id)[number] = data
        return UploadedPart(etag=_etag(data), crc64=crc64(data))

    def complete_multipart(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        headers: Mapping[str, str],
    ) -> StoredObject:
        self._enter("CompleteMultipartUpload")
        with self._lock:
            stored = self._upload(upload_id)
            pieces = []
            for number, etag in parts:
                data = stored.get(number)
                if data is None or _etag(data) != etag:
                    raise TransportError(
                        ServiceError(kind=ErrorKind.SERVICE, code="InvalidPart", http_status=400)
                    )
                pieces.append(data)
            body = b"".join(pieces)
            self.objects[(target.bucket, target.key)] = body
            del self.uploads[upload_id]
        crc = crc64_of_parts([(crc64(p), len(p)) for p in pieces])
        return StoredObject(etag=_etag(body), crc64=crc)

    def abort_multipart(
        self, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> None:
        self._enter("AbortMultipartUpload")
        with self._lock:
            self._upload(upload_id)
            del self.uploads[upload_id]

    def list_parts(
        self, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> list[PartInfo]:
        self._enter("ListParts")
        with self._lock:
            stored = self._upload(upload_id)
            return [
                PartInfo(number=n, etag=_etag(d), size=len(d), crc64=crc64(d))
                for n, d in sorted(stored.items())
            ]

    def head_object(self, target: ObjectTarget, credentials: Credentials) -> ObjectInfo | None:
        self._enter("HeadObject")
        with self._lock:
            data = self.objects.get((target.bucket, target.key))
        if data is None:
            return None
        return ObjectInfo(size=len(data), crc64=crc64(data), etag=_etag(data))

    def close(self) -> None:
        pass
