"""The object-transport Protocol: the six OSS operations an upload needs, and their results.

Implementations: :class:`~vodref.transport.oss_http.OssHttpTransport` (oss2 over HTTP; the
emulator's ``emulator.inprocess_transport`` routes it into the emulator app without a socket)
and :class:`~vodref.testing.MemoryTransport` (in-memory, scriptable failures) for unit tests.
Every failure is raised as :class:`~vodref.errors.TransportError` carrying a classified
:class:`~vodref.core.values.ServiceError`; nothing else escapes an implementation.

Integrity: ``put_object``, ``upload_part`` and ``complete_multipart`` return the service's
CRC-64 header; the core compares it with the CRC of the bytes the driver read and sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..core import Credentials, ObjectTarget

__all__ = ["ObjectInfo", "ObjectTransport", "PartInfo", "StoredObject", "UploadedPart"]


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadedPart:
    etag: str
    crc64: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredObject:
    """What PutObject / CompleteMultipartUpload answered."""

    etag: str
    crc64: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PartInfo:
    """One ListParts entry; OSS also reports each part's CRC-64."""

    number: int
    etag: str
    size: int
    crc64: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectInfo:
    size: int
    crc64: int | None
    etag: str


class ObjectTransport(Protocol):
    def put_object(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        data: bytes,
        headers: Mapping[str, str],
    ) -> StoredObject: ...

    def initiate_multipart(
        self, target: ObjectTarget, credentials: Credentials, *, headers: Mapping[str, str]
    ) -> str: ...

    def upload_part(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        number: int,
        data: bytes,
    ) -> UploadedPart: ...

    def complete_multipart(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        headers: Mapping[str, str],
    ) -> StoredObject: ...

    def abort_multipart(
        self, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> None: ...

    def list_parts(
        self, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> list[PartInfo]: ...

    def head_object(self, target: ObjectTarget, credentials: Credentials) -> ObjectInfo | None:
        """The object's size and CRC, or None when it does not exist."""
        ...

    def close(self) -> None: ...
