"""Checking a loaded checkpoint against the file as it is now, before resuming.

The fingerprint (sampled blocks) catches most edits cheaply; this catches the rest. Every
part the checkpoint counts as done is read again and its full CRC-64 compared with the one
recorded when it was sent (fastcrc, ~6 GiB/s, releases the GIL). A part that no longer
matches is dropped from the checkpoint, so the core sends it again: the object ends up equal
to the file as it is now, never a mix of old and new bytes.
"""

from __future__ import annotations

import dataclasses
import logging

from .core.checkpoint import Checkpoint
from .crc import crc64
from .errors import SourceChangedError
from .sources import FileSource

__all__ = ["verify_checkpoint_parts"]

log = logging.getLogger("vodref.resume")


def verify_checkpoint_parts(checkpoint: Checkpoint, source: FileSource) -> tuple[Checkpoint, int]:
    """The checkpoint with only the parts whose bytes still match, and how many were dropped."""
    if checkpoint.file_size != source.size:
        return dataclasses.replace(checkpoint, parts=()), len(checkpoint.parts)
    kept = []
    for part in checkpoint.parts:
        offset = (part.number - 1) * checkpoint.part_size
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
    upload and no parts: the core then refreshes the same video (no duplicate, no orphan in
    status Uploading) and uploads the new content from byte 0 with a new multipart upload."""
    return Checkpoint(
        file_name=file_name,
        file_size=size,
        fingerprint=fingerprint,
        media_kind=old.media_kind,
        video_id=old.video_id,
        target=old.target,
        upload_id=None,
        part_size=part_size,
        parts=(),
    )
