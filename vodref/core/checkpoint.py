"""Checkpoints: plain, versioned data that lets a later process resume an upload.

A checkpoint never contains a secret: no AccessKeySecret, no SecurityToken, no AccessKeyId.
It says *which* upload to continue (the VideoId, the OSS target, the upload id, the part size)
and which parts this process saw acknowledged, with their CRC-64 so the object CRC can be
checked at the end without reading the file again. The server's ListParts stays the truth on
resume: a listed part is reused only when the checkpoint also knows its CRC-64 and its ETag and
size agree; anything else is sent again.

Serialised form (``to_dict``/``to_json``; the JSON is what a store writes)::

    {
      "format": "vodref.checkpoint",
      "version": 1,
      "file": {"name": "a.mp4", "size": 123456789, "fingerprint": "..."},
      "media_kind": "video",
      "video_id": "3f1c...",                 # or null
      "target": {"endpoint": "...", "bucket": "...", "key": "..."},   # or null
      "upload_id": "0004B9...",              # or null (not initiated yet, or single PUT)
      "part_size": 1048576,
      "parts": [[1, "ETAG", "995dc9bbdf1939fa", 1048576], ...]   # number, etag, crc64 hex, size
    }

The key a store files it under is the file's fingerprint (``Checkpoint.key``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ._validate import check_crc64, check_instance, check_int, check_optional_str, check_str
from .errors import CheckpointError, InvalidEventError
from .planning import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE
from .values import MediaKind, ObjectTarget

FORMAT_NAME = "vodref.checkpoint"
FORMAT_VERSION = 1

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "Checkpoint", "CheckpointPart"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckpointPart:
    number: int
    etag: str
    crc64: int
    size: int

    def __post_init__(self) -> None:
        check_int(self.number, "number", CheckpointError, minimum=1, maximum=MAX_PARTS)
        check_str(self.etag, "etag", CheckpointError)
        check_crc64(self.crc64, "crc64", CheckpointError)
        check_int(self.size, "size", CheckpointError, minimum=1, maximum=MAX_PART_SIZE)


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """What a resumed process needs. Built by the core; loaded by the driver with
    :meth:`from_dict`/:meth:`from_json`, which raise ``CheckpointError`` on anything odd."""

    file_name: str
    file_size: int
    fingerprint: str
    media_kind: MediaKind
    video_id: str | None
    target: ObjectTarget | None
    upload_id: str | None
    part_size: int
    parts: tuple[CheckpointPart, ...] = ()
    version: int = FORMAT_VERSION

    @property
    def names_every_part(self) -> bool:
        """Whether ``parts`` covers the whole file (the save before Complete does:
        UP-RESUME-012)."""
        return self.upload_id is not None and len(self.parts) == -(
            -self.file_size // self.part_size
        )

    def __post_init__(self) -> None:
        self._check_fields()
        if not isinstance(self.parts, tuple):
            raise CheckpointError("parts must be a tuple")
        seen: set[int] = set()
        for part in self.parts:
            check_instance(part, CheckpointPart, "parts[]", CheckpointError)
            if part.number in seen:
                raise CheckpointError(f"part {part.number} listed twice")
            seen.add(part.number)
        self._check_consistency()

    def _check_fields(self) -> None:
        """The checks on single fields; O(1), so the core's trusted path keeps them too."""
        if self.version != FORMAT_VERSION:
            raise CheckpointError(f"unsupported checkpoint version {self.version!r}")
        check_str(self.file_name, "file_name", CheckpointError)
        check_int(self.file_size, "file_size", CheckpointError, minimum=1)
        check_str(self.fingerprint, "fingerprint", CheckpointError)
        check_instance(self.media_kind, MediaKind, "media_kind", CheckpointError)
        check_optional_str(self.video_id, "video_id", CheckpointError)
        if self.target is not None:
            check_instance(self.target, ObjectTarget, "target", CheckpointError)
        check_optional_str(self.upload_id, "upload_id", CheckpointError)
        check_int(
            self.part_size,
            "part_size",
            CheckpointError,
            minimum=MIN_PART_SIZE,
            maximum=MAX_PART_SIZE,
        )

    def _check_consistency(self) -> None:
        if self.upload_id is not None and self.target is None:
            raise CheckpointError("a checkpoint with an upload id needs a target")
        if self.parts and self.upload_id is None:
            raise CheckpointError("a checkpoint with parts needs an upload id")

    @property
    def key(self) -> str:
        """The key a checkpoint store files this record under."""
        return self.fingerprint

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "version": self.version,
            "file": {
                "name": self.file_name,
                "size": self.file_size,
                "fingerprint": self.fingerprint,
            },
            "media_kind": self.media_kind.value,
            "video_id": self.video_id,
            "target": None
            if self.target is None
            else {
                "endpoint": self.target.endpoint,
                "bucket": self.target.bucket,
                "key": self.target.key,
            },
            "upload_id": self.upload_id,
            "part_size": self.part_size,
            "parts": [[p.number, p.etag, f"{p.crc64:016x}", p.size] for p in self.parts],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_dict(cls, data: object) -> Checkpoint:
        """Parse and validate; any malformed input raises ``CheckpointError``, never another
        exception type."""
        try:
            return _parse(data)
        except CheckpointError:
            raise
        except (InvalidEventError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"malformed checkpoint: {exc}") from exc

    @classmethod
    def from_json(cls, text: str | bytes) -> Checkpoint:
        try:
            data = json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:
            raise CheckpointError(f"checkpoint is not JSON: {exc}") from exc
        return cls.from_dict(data)


_set = object.__setattr__


def _trusted_part(number: int, etag: str, crc64: int, size: int) -> CheckpointPart:
    """The core's own construction path for a part it has validated already (``etag`` and
    ``crc64`` from a ``PartUploaded``, ``number`` and ``size`` from the file's plan): equal to
    ``CheckpointPart(...)`` with the same values, without re-checking them on every part."""
    part: CheckpointPart = object.__new__(CheckpointPart)
    _set(part, "number", number)
    _set(part, "etag", etag)
    _set(part, "crc64", crc64)
    _set(part, "size", size)
    return part


def _trusted_checkpoint(
    *,
    file_name: str,
    file_size: int,
    fingerprint: str,
    media_kind: MediaKind,
    video_id: str | None,
    target: ObjectTarget | None,
    upload_id: str | None,
    part_size: int,
    parts: tuple[CheckpointPart, ...],
) -> Checkpoint:
    """The core's own construction path: a ``Checkpoint`` equal to ``Checkpoint(...)`` with the
    same arguments, without the O(parts) walk over ``parts``.

    Only for the core, which passes ``CheckpointPart`` values it built (validated) once each,
    distinct and sorted by number (``FileRecord`` keeps them so). The O(1) field checks still
    run. Anything from outside the core (``from_dict``, ``from_json``, a user's
    ``Checkpoint(...)``) goes through ``__post_init__`` and its full validation.
    """
    checkpoint: Checkpoint = object.__new__(Checkpoint)
    _set(checkpoint, "file_name", file_name)
    _set(checkpoint, "file_size", file_size)
    _set(checkpoint, "fingerprint", fingerprint)
    _set(checkpoint, "media_kind", media_kind)
    _set(checkpoint, "video_id", video_id)
    _set(checkpoint, "target", target)
    _set(checkpoint, "upload_id", upload_id)
    _set(checkpoint, "part_size", part_size)
    _set(checkpoint, "parts", parts)
    _set(checkpoint, "version", FORMAT_VERSION)
    checkpoint._check_fields()
    checkpoint._check_consistency()
    return checkpoint


def _parse(data: object) -> Checkpoint:
    if not isinstance(data, dict):
        raise CheckpointError("a checkpoint must be a JSON object")
    if data.get("format") != FORMAT_NAME:
        raise CheckpointError(f"not a vodref checkpoint (format={data.get('format')!r})")
    version = data.get("version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"unsupported checkpoint version {version!r}")
    file_info = data["file"]
    target_data = data["target"]
    target = (
        None
        if target_data is None
        else ObjectTarget(
            endpoint=target_data["endpoint"], bucket=target_data["bucket"], key=target_data["key"]
        )
    )
    parts = []
    for entry in data["parts"]:
        if not isinstance(entry, list) or len(entry) != 4:
            raise CheckpointError(f"bad part entry {entry!r}")
        number, etag, crc_hex, size = entry
        if not isinstance(crc_hex, str) or len(crc_hex) != 16:
            raise CheckpointError(f"bad crc64 {crc_hex!r}")
        parts.append(CheckpointPart(number=number, etag=etag, crc64=int(crc_hex, 16), size=size))
    return Checkpoint(
        file_name=file_info["name"],
        file_size=file_info["size"],
        fingerprint=file_info["fingerprint"],
        media_kind=MediaKind(data["media_kind"]),
        video_id=data["video_id"],
        target=target,
        upload_id=data["upload_id"],
        part_size=data["part_size"],
        parts=tuple(parts),
    )
