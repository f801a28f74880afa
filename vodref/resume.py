"""Which checkpoint the driver offers the core when a file is added.

A file's checkpoint is filed under its fingerprint (:func:`fingerprint_for`: the user, where
the file is, its size and sampled blocks of its content). :class:`ResumeFinder` looks it up
and checks it against the file as it is now, before the core sees it:

- The fingerprint (sampled blocks) catches most edits cheaply; the part check catches the
  rest. Every part the checkpoint counts as done is read again and its full CRC-64 compared
  with the one recorded when it was sent (fastcrc, ~6 GiB/s, releases the GIL). A part that
  no longer matches is dropped, so the core sends it again: the object ends up equal to the
  file as it is now, never a mix of old and new bytes.
- A small index record per path ("this path was last uploaded with fingerprint X") lets a
  *changed* file keep its unfinished video (UPL-CKPT-002): the old checkpoint's VideoId and
  target are carried over with no upload and no parts, so the core refreshes the same video
  (no duplicate, no orphan in status Uploading) and uploads the new content from byte 0.
- A torn or foreign record is ignored with a warning: the upload starts from the server side
  instead of crashing forever.

Part geometry comes from the core's :func:`~vodref.core.plan_parts` only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging

from .checksums import crc64
from .core import Checkpoint, CheckpointError, MediaKind, plan_parts
from .errors import CheckpointStoreError, SourceChangedError
from .sources import FileSource
from .stores import CheckpointStore

__all__ = [
    "ResumeFinder",
    "carry_over_video",
    "fingerprint_for",
    "identity_key",
    "verify_checkpoint_parts",
]

log = logging.getLogger("vodref.resume")


def fingerprint_for(source: FileSource, user_id: str | None) -> str:
    """The core's file fingerprint (also the checkpoint key): the user, where the file is,
    its size and a SHA-256 over sampled blocks of its content."""
    digest = hashlib.sha256()
    for part in (user_id or "", source.identity, str(source.size), source.fingerprint()):
        digest.update(part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0")
    return "v1:" + digest.hexdigest()


def identity_key(source: FileSource, user_id: str | None) -> str:
    """Store key of the small index record "this path was last uploaded with fingerprint X",
    which lets a changed file keep its unfinished video."""
    digest = hashlib.sha256(
        f"{user_id or ''}\0{source.identity}".encode("utf-8", "surrogateescape")
    )
    return "v1:path:" + digest.hexdigest()


def verify_checkpoint_parts(checkpoint: Checkpoint, source: FileSource) -> tuple[Checkpoint, int]:
    """The checkpoint with only the parts whose bytes still match, and how many were dropped."""
    if checkpoint.file_size != source.size:
        return dataclasses.replace(checkpoint, parts=()), len(checkpoint.parts)
    plan = plan_parts(checkpoint.file_size, checkpoint.part_size)
    kept = []
    for part in checkpoint.parts:
        offset, _ = plan.part_range(part.number)
        try:
            matches = crc64(source.read(offset, part.size)) == part.crc64
        except SourceChangedError:
            matches = False
        if matches:
            kept.append(part)
        else:
            log.warning(
                "part %d of %s changed since it was sent; it will be sent again",
                part.number,
                source.name,
            )
    dropped = len(checkpoint.parts) - len(kept)
    if dropped == 0:
        return checkpoint, 0
    return dataclasses.replace(checkpoint, parts=tuple(kept)), dropped


def carry_over_video(
    old: Checkpoint, *, file_name: str, size: int, fingerprint: str, part_size: int
) -> Checkpoint:
    """A checkpoint for the *changed* file that keeps the old one's VideoId and target but no
    upload and no parts."""
    return Checkpoint(
        file_name=file_name,
        file_size=size,
        fingerprint=fingerprint,
        media_kind=old.media_kind,
        video_id=old.video_id,
        target=old.target,
        upload_id=None,
        part_size=plan_parts(size, part_size).part_size,
        parts=(),
    )


class ResumeFinder:
    """Finds, checks and indexes checkpoints in one store, for one user."""

    def __init__(self, store: CheckpointStore, user_id: str | None) -> None:
        self._store = store
        self._user_id = user_id

    def fingerprint(self, source: FileSource) -> str:
        return fingerprint_for(source, self._user_id)

    def identity_key(self, source: FileSource) -> str:
        return identity_key(source, self._user_id)

    def checkpoint_for(
        self,
        source: FileSource,
        *,
        file_name: str,
        fingerprint: str,
        media_kind: MediaKind,
        part_size: int,
    ) -> Checkpoint | None:
        """The checkpoint to offer the core for this file, or None to start afresh."""
        checkpoint = self._load_checked(fingerprint, source)
        if checkpoint is None and media_kind is MediaKind.VIDEO:
            checkpoint = self._carry_over(source, file_name, fingerprint, part_size)
        return checkpoint

    def remember(self, identity: str, fingerprint: str, file_name: str) -> None:
        """Record that the path behind ``identity`` is now uploaded with ``fingerprint``."""
        try:
            self._store.save(identity, {"fingerprint": fingerprint})
        except CheckpointStoreError as error:
            log.warning("cannot record %s for resume: %s", file_name, error)

    def forget(self, identity: str) -> None:
        """The file's checkpoint is gone (success, cancel, delete): so is its path index."""
        self._store.delete(identity)

    def _load_checked(self, fingerprint: str, source: FileSource) -> Checkpoint | None:
        try:
            record = self._store.load(fingerprint)
            if record is None:
                return None
            checkpoint = Checkpoint.from_dict(record)
        except (CheckpointStoreError, CheckpointError) as error:
            # A torn or foreign record: start from the server side instead of crashing
            # forever.
            log.warning("ignoring unreadable checkpoint for %s: %s", source.name, error)
            return None
        if checkpoint.fingerprint != fingerprint:
            return None
        checkpoint, dropped = verify_checkpoint_parts(checkpoint, source)
        if dropped:
            log.warning(
                "%s changed since its last upload: %d part(s) will be sent again",
                source.name,
                dropped,
            )
        return checkpoint

    def _carry_over(
        self, source: FileSource, file_name: str, fingerprint: str, part_size: int
    ) -> Checkpoint | None:
        """The same path was being uploaded with other content (the fingerprint changed):
        keep that unfinished upload's VideoId for the new content (UPL-CKPT-002)."""
        try:
            index = self._store.load(self.identity_key(source))
            previous = index.get("fingerprint") if index else None
            if not isinstance(previous, str) or previous == fingerprint:
                return None
            record = self._store.load(previous)
            if record is None:
                return None
            old = Checkpoint.from_dict(record)
        except (CheckpointStoreError, CheckpointError):
            return None
        if old.video_id is None:
            return None
        self._store.delete(previous)
        log.warning(
            "%s changed since its unfinished upload; uploading it again for video %s",
            file_name,
            old.video_id,
        )
        return carry_over_video(
            old, file_name=file_name, size=source.size, fingerprint=fingerprint, part_size=part_size
        )
