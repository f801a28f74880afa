"""Read-only snapshots of a file, for ``Uploader.files()`` and the callback commands.

The JS SDK hands out its live internal ``uploadInfo`` objects; vodref hands out frozen
snapshots, so user code holding one cannot change the uploader (UP-DEV-011).
"""

from __future__ import annotations

from dataclasses import dataclass

from .states import FileState
from .values import MediaKind, ObjectTarget, ServiceError

__all__ = ["FileView"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileView:
    """One file as the core sees it at the moment the snapshot was taken.

    - ``bytes_done``: bytes the service has confirmed for the current attempt.
    - ``attempt``: starts at 1; grows when the upload starts over from byte 0 (after a cancel
      and resume, or when the service lost the multipart upload). Progress never goes back
      within one attempt.
    - ``error``: why the file is in Failure (None otherwise).
    - ``crc64``: the object's CRC-64/XZ once known (after success).
    """

    file_id: str
    name: str
    size: int
    fingerprint: str
    media_kind: MediaKind
    state: FileState
    video_id: str | None
    image_url: str | None
    target: ObjectTarget | None
    upload_id: str | None
    part_size: int
    part_count: int
    bytes_done: int
    parts_done: int
    attempt: int
    param_data: str | None
    error: ServiceError | None
    crc64: int | None

    @property
    def ratio(self) -> float:
        """JS-style progress: completed parts / parts (bytes for a single PUT)."""
        if self.part_count:
            return self.parts_done / self.part_count
        return self.bytes_done / self.size
