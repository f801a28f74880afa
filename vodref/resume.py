"""Which checkpoint the driver offers the core when a file is added.

A file's checkpoint is filed under its fingerprint (:func:`fingerprint_for`: the user, where
the file is, its size and sampled blocks of its content). :class:`ResumeFinder` looks it up
and checks it against the file as it is now, before the core sees it:

- The fingerprint (sampled blocks) catches most edits cheaply, here; the part check
  catches the rest, in the core: every part the checkpoint counts as done is read again
  beside the uploads and compared with what was sent (``VerifyPart``: the MD5 with the
  ETag, the CRC-64 with the recorded one) before Complete, and a part that no longer
  matches is sent again (UP-RESUME-011). So the object ends up equal to the file as it is
  now, never a mix of old and new bytes, and no part of a large file is read before the
  first new part goes out.
- A small index record per path ("this path was last uploaded with fingerprint X") lets a
  *changed* file keep its unfinished video (UPL-CKPT-002): the old checkpoint's VideoId and
  target are carried over with no upload and no parts, so the core refreshes the same video
  (no duplicate, no orphan in status Uploading) and uploads the new content from byte 0.
- An unreadable record (not UTF-8, torn, not JSON, another version) is a warning and a clean
  start, never a crash (UPL-DUR-005); what can still be read of it (the VideoId, the target,
  the upload id) is salvaged: the video is reused and the old multipart upload handed to the
  core to abort, so no video stays "Uploading" and no upload stays open (UPL-DUR-006).
- When a file starts over with its old VideoId (changed content, unreadable or unfit record),
  its old multipart upload is handed to the core as ``stale_upload_id`` to abort.

Part geometry comes from the core's :func:`~vodref.core.plan_parts` only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
from typing import Any

from .core import Checkpoint, CheckpointError, MediaKind, ObjectTarget, plan_parts
from .errors import CheckpointStoreError, UnreadableCheckpointError
from .sources import FileSource
from .stores import CheckpointStore

__all__ = [
    "ResumeFinder",
    "ResumeOffer",
    "carry_over_video",
    "fingerprint_for",
    "identity_key",
    "restart_offer",
    "salvage_record",
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


@dataclasses.dataclass(frozen=True, slots=True)
class ResumeOffer:
    """What to offer the core with ``AddFile``: a checkpoint (or None) and the multipart
    upload being abandoned, which the core aborts (``AddFile.stale_upload_id``)."""

    checkpoint: Checkpoint | None = None
    stale_upload_id: str | None = None


_STRING_FIELD = r'"{name}"\s*:\s*"((?:[^"\\]|\\.){{1,1024}})"'
_TARGET = re.compile(r'"target"\s*:\s*\{([^{}]*)\}')


def _field(text: str, name: str) -> str | None:
    match = re.search(_STRING_FIELD.format(name=re.escape(name)), text)
    if match is None:
        return None
    try:
        value = json.loads(f'"{match.group(1)}"')
    except ValueError:
        return None
    return value if isinstance(value, str) and value else None


def salvage_record(raw: bytes) -> dict[str, str | ObjectTarget | None]:
    """What can still be read of a checkpoint's bytes however damaged (torn, not UTF-8,
    another version): its fingerprint, media kind, VideoId, target and upload id, each None
    when it cannot be read."""
    text = raw.decode("utf-8", errors="replace")
    target = None
    match = _TARGET.search(text)
    if match is not None:
        body = match.group(1)
        endpoint, bucket, key = (_field(body, n) for n in ("endpoint", "bucket", "key"))
        if endpoint and bucket and key:
            target = ObjectTarget(endpoint=endpoint, bucket=bucket, key=key)
    return {
        "fingerprint": _field(text, "fingerprint"),
        "media_kind": _field(text, "media_kind"),
        "video_id": _field(text, "video_id"),
        "target": target,
        "upload_id": _field(text, "upload_id"),
    }


def restart_offer(offer: ResumeOffer, file_name: str, size: int, part_size: int) -> ResumeOffer:
    """A clean start after the core refused ``offer``'s checkpoint: the same video, no
    upload; the old upload to be aborted."""
    old = offer.checkpoint
    if old is None or old.video_id is None or old.media_kind is not MediaKind.VIDEO:
        return ResumeOffer()
    checkpoint = carry_over_video(
        old, file_name=file_name, size=size, fingerprint=old.fingerprint, part_size=part_size
    )
    stale = old.upload_id or offer.stale_upload_id
    return ResumeOffer(checkpoint, stale if checkpoint.target else None)


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
        return self.offer_for(
            source,
            file_name=file_name,
            fingerprint=fingerprint,
            media_kind=media_kind,
            part_size=part_size,
        ).checkpoint

    def offer_for(
        self,
        source: FileSource,
        *,
        file_name: str,
        fingerprint: str,
        media_kind: MediaKind,
        part_size: int,
    ) -> ResumeOffer:
        """The checkpoint to offer the core for this file and the upload it abandons."""
        offer = self._load_checked(fingerprint, source, file_name, part_size)
        if offer.checkpoint is None and media_kind is MediaKind.VIDEO:
            offer = self._carry_over(source, file_name, fingerprint, part_size)
        return offer

    def remember(self, identity: str, fingerprint: str, file_name: str) -> None:
        """Record that the path behind ``identity`` is now uploaded with ``fingerprint``."""
        try:
            self._store.save(identity, {"fingerprint": fingerprint})
        except CheckpointStoreError as error:
            log.warning("cannot record %s for resume: %s", file_name, error)

    def forget(self, identity: str) -> None:
        """The file's checkpoint is gone (success, cancel, delete): so is its path index."""
        self._store.delete(identity)

    def _load_checked(
        self, fingerprint: str, source: FileSource, file_name: str, part_size: int
    ) -> ResumeOffer:
        record: dict[str, Any] | None = None
        try:
            record = self._store.load(fingerprint)
            if record is None:
                return ResumeOffer()
            checkpoint = Checkpoint.from_dict(record)
        except UnreadableCheckpointError as error:
            log.warning("ignoring unreadable checkpoint for %s: %s", source.name, error)
            return self._salvage(error.raw, source, file_name, fingerprint, part_size)
        except (CheckpointStoreError, CheckpointError) as error:
            # A torn or foreign record: a clean start instead of crashing forever, keeping
            # what can be read of it (UPL-DUR-005, UPL-DUR-006). Serialised only here: a
            # 10,000-part record costs milliseconds to dump, on every resume otherwise.
            log.warning("ignoring unreadable checkpoint for %s: %s", source.name, error)
            if record is None:
                return ResumeOffer()
            raw = json.dumps(record).encode()
            return self._salvage(raw, source, file_name, fingerprint, part_size)
        if checkpoint.fingerprint != fingerprint:
            return ResumeOffer()
        return ResumeOffer(checkpoint)

    def _salvage(
        self, raw: bytes, source: FileSource, file_name: str, fingerprint: str, part_size: int
    ) -> ResumeOffer:
        """A clean start that keeps the unreadable record's VideoId and aborts its upload."""
        found = salvage_record(raw)
        video_id, target, upload_id = found["video_id"], found["target"], found["upload_id"]
        if found["fingerprint"] not in (None, fingerprint) or found["media_kind"] not in (
            None,
            MediaKind.VIDEO.value,
        ):
            return ResumeOffer()
        if not isinstance(video_id, str):
            return ResumeOffer()
        log.warning(
            "salvaged video %s from the unreadable checkpoint of %s; uploading it again",
            video_id,
            file_name,
        )
        checkpoint = Checkpoint(
            file_name=file_name,
            file_size=source.size,
            fingerprint=fingerprint,
            media_kind=MediaKind.VIDEO,
            video_id=video_id,
            target=target if isinstance(target, ObjectTarget) else None,
            upload_id=None,
            part_size=plan_parts(source.size, part_size).part_size,
        )
        stale = upload_id if isinstance(upload_id, str) and checkpoint.target else None
        return ResumeOffer(checkpoint, stale)

    def _carry_over(
        self, source: FileSource, file_name: str, fingerprint: str, part_size: int
    ) -> ResumeOffer:
        """The same path was being uploaded with other content (the fingerprint changed):
        keep that unfinished upload's VideoId for the new content (UPL-CKPT-002) and abort
        its multipart upload (UPL-DUR-006)."""
        try:
            index = self._store.load(self.identity_key(source))
            previous = index.get("fingerprint") if index else None
            if not isinstance(previous, str) or previous == fingerprint:
                return ResumeOffer()
            record = self._store.load(previous)
            if record is None:
                return ResumeOffer()
            old = Checkpoint.from_dict(record)
        except (CheckpointStoreError, CheckpointError):
            return ResumeOffer()
        if old.video_id is None:
            return ResumeOffer()
        self._store.delete(previous)
        log.warning(
            "%s changed since its unfinished upload; uploading it again for video %s",
            file_name,
            old.video_id,
        )
        checkpoint = carry_over_video(
            old, file_name=file_name, size=source.size, fingerprint=fingerprint, part_size=part_size
        )
        return ResumeOffer(checkpoint, old.upload_id if checkpoint.target else None)
