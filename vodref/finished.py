"""Finished files: a durable record that a file was uploaded, so running the same upload again
reports the existing video instead of creating a second one (UPL-DUR-004).

A record is filed in the checkpoint store under a key derived from the file's identity and
from what decides where its video goes:

- the file: where it is (``FileSource.identity``), its size, its modification time (local
  files) and the sampled content fingerprint, so an edited file is uploaded again;
- the *scope*: a string the caller chooses that names the account and service (the CLI uses
  the VOD endpoint, or the embedded emulator's data directory, the region and the
  AccessKeyId, hashed so none of them is stored);
- the options that change the result: media kind, ``param_data`` (title, category...) and the
  endpoint/bucket/object overrides.

The record holds the file name, the VideoId (or image URL) and nothing secret. It is written
and flushed before the file's checkpoint is deleted, so a crash between the two leaves either
a resumable checkpoint or the record, never neither.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass

from .core import FileView, MediaKind
from .errors import CheckpointStoreError
from .sources import FileSource
from .stores import CheckpointStore

__all__ = ["FORMAT_NAME", "FinishedFiles", "FinishedUpload", "finished_key"]

FORMAT_NAME = "vodref.finished"
_VERSION = 1

log = logging.getLogger("vodref.finished")


@dataclass(frozen=True, slots=True, kw_only=True)
class FinishedUpload:
    """A file uploaded before: its name and where it went."""

    file_name: str
    video_id: str | None
    image_url: str | None


def finished_key(
    source: FileSource,
    *,
    scope: str,
    media_kind: MediaKind,
    param_data: str | None,
    override: tuple[str | None, str | None, str | None] | None,
) -> str:
    """The store key of ``source``'s finished record (see the module docstring)."""
    path = getattr(source, "path", None)
    mtime = ""
    if path is not None:
        try:
            mtime = str(os.stat(path).st_mtime_ns)
        except OSError:
            mtime = "?"
    digest = hashlib.sha256()
    for field in (
        scope,
        source.identity,
        str(source.size),
        mtime,
        source.fingerprint(),
        media_kind.value,
        param_data or "",
        repr(override),
    ):
        digest.update(field.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return "v1:done:" + digest.hexdigest()


class FinishedFiles:
    """Finished records in one checkpoint store."""

    def __init__(self, store: CheckpointStore) -> None:
        self._store = store

    def find(self, key: str) -> FinishedUpload | None:
        """The record under ``key``; an unreadable one is a warning and None."""
        try:
            record = self._store.load(key)
        except CheckpointStoreError as error:
            log.warning("ignoring an unreadable finished-file record: %s", error)
            return None
        if not record or record.get("format") != FORMAT_NAME or record.get("version") != 1:
            return None
        name, video_id, image_url = (
            record.get("file_name"),
            record.get("video_id"),
            record.get("image_url"),
        )
        if not isinstance(name, str) or not (
            isinstance(video_id, str) or isinstance(image_url, str)
        ):
            return None
        return FinishedUpload(
            file_name=name,
            video_id=video_id if isinstance(video_id, str) else None,
            image_url=image_url if isinstance(image_url, str) else None,
        )

    def record(self, key: str, view: FileView) -> None:
        """Write and flush the record of a finished file (raises CheckpointStoreError)."""
        self._store.save(
            key,
            {
                "format": FORMAT_NAME,
                "version": _VERSION,
                "file_name": view.name,
                "video_id": view.video_id,
                "image_url": view.image_url,
            },
        )
        self._store.flush()
