"""The one transport that wraps another: every operation goes to ``inner``, each target
first through ``target_map``.

The CLI uses it to point checkpoints that name an older loopback port of its embedded
emulator at the current one; tests subclass it to observe calls (override one method, call
``super()``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ..core import Credentials, ObjectTarget
from .base import ObjectInfo, ObjectTransport, PartInfo, StoredObject, UploadedPart

__all__ = ["ForwardingTransport"]


def _same(target: ObjectTarget) -> ObjectTarget:
    return target


class ForwardingTransport:
    """Forwards to ``inner``; ``close`` closes it."""

    def __init__(
        self,
        inner: ObjectTransport,
        *,
        target_map: Callable[[ObjectTarget], ObjectTarget] = _same,
    ) -> None:
        self.inner = inner
        self._target_map = target_map

    def put_object(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        data: bytes,
        headers: Mapping[str, str],
    ) -> StoredObject:
        return self.inner.put_object(
            self._target_map(target), credentials, data=data, headers=headers
        )

    def initiate_multipart(
        self, target: ObjectTarget, credentials: Credentials, *, headers: Mapping[str, str]
    ) -> str:
        return self.inner.initiate_multipart(self._target_map(target), credentials, headers=headers)

    def upload_part(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        number: int,
        data: bytes,
    ) -> UploadedPart:
        return self.inner.upload_part(
            self._target_map(target), credentials, upload_id=upload_id, number=number, data=data
        )

    def complete_multipart(
        self,
        target: ObjectTarget,
        credentials: Credentials,
        *,
        upload_id: str,
        parts: Sequence[tuple[int, str]],
        headers: Mapping[str, str],
    ) -> StoredObject:
        return self.inner.complete_multipart(
            self._target_map(target), credentials, upload_id=upload_id, parts=parts, headers=headers
        )

    def abort_multipart(
        self, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> None:
        self.inner.abort_multipart(self._target_map(target), credentials, upload_id)

    def list_parts(
        self, target: ObjectTarget, credentials: Credentials, upload_id: str
    ) -> list[PartInfo]:
        return self.inner.list_parts(self._target_map(target), credentials, upload_id)

    def head_object(self, target: ObjectTarget, credentials: Credentials) -> ObjectInfo | None:
        return self.inner.head_object(self._target_map(target), credentials)

    def close(self) -> None:
        self.inner.close()
