"""Row types of the OSS model and their SQLite schema.

Frozen value objects the model returns (:class:`ObjectInfo` is also the VOD integration
contract's return type), the ``CREATE TABLE`` statements, and the conversions between
rows and values. Split from :mod:`emulator.oss.models` so that module holds operations
only.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS oss_buckets (
    name TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    owner TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS oss_objects (
    bucket TEXT NOT NULL REFERENCES oss_buckets(name),
    key TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    crc64 TEXT NOT NULL,           -- unsigned 64-bit does not fit SQLite INTEGER
    last_modified REAL NOT NULL,
    content_type TEXT NOT NULL,
    object_type TEXT NOT NULL,     -- Normal | Multipart
    metadata TEXT NOT NULL,        -- JSON: x-oss-meta-* (lower-case names, no prefix)
    headers TEXT NOT NULL,         -- JSON: stored standard headers (Cache-Control...)
    manifest TEXT NOT NULL,        -- JSON: [[blob_id, size], ...]
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS oss_uploads (
    upload_id TEXT PRIMARY KEY,
    bucket TEXT NOT NULL REFERENCES oss_buckets(name),
    key TEXT NOT NULL,
    initiated REAL NOT NULL,
    content_type TEXT NOT NULL,
    metadata TEXT NOT NULL,
    headers TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS oss_uploads_by_key ON oss_uploads(bucket, key, upload_id);
CREATE TABLE IF NOT EXISTS oss_parts (
    upload_id TEXT NOT NULL REFERENCES oss_uploads(upload_id) ON DELETE CASCADE,
    part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    crc64 TEXT NOT NULL,
    last_modified REAL NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectInfo:
    """An object's metadata. ``etag`` is unquoted upper-case hex (``...-N`` if multipart)."""

    bucket: str
    key: str
    size: int
    etag: str
    crc64: int
    last_modified: float
    content_type: str
    object_type: str = "Normal"
    metadata: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredObject:
    """An object plus where its bytes are, for GET."""

    info: ObjectInfo
    manifest: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BucketInfo:
    name: str
    created_at: float
    owner: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadInfo:
    upload_id: str
    bucket: str
    key: str
    initiated: float
    content_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PartInfo:
    part_number: int
    size: int
    etag: str
    crc64: int
    last_modified: float


@dataclass(frozen=True, slots=True, kw_only=True)
class NewObject:
    """What the client sent along with an object's bytes (PutObject, Initiate)."""

    content_type: str = "application/octet-stream"
    metadata: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


def object_from_row(row: sqlite3.Row) -> StoredObject:
    info = ObjectInfo(
        bucket=row["bucket"],
        key=row["key"],
        size=row["size"],
        etag=row["etag"],
        crc64=int(row["crc64"]),
        last_modified=row["last_modified"],
        content_type=row["content_type"],
        object_type=row["object_type"],
        metadata=json.loads(row["metadata"]),
        headers=json.loads(row["headers"]),
    )
    manifest = tuple((str(blob), int(size)) for blob, size in json.loads(row["manifest"]))
    return StoredObject(info=info, manifest=manifest)


def part_from_row(row: sqlite3.Row) -> PartInfo:
    return PartInfo(
        part_number=row["part_number"],
        size=row["size"],
        etag=row["etag"],
        crc64=int(row["crc64"]),
        last_modified=row["last_modified"],
    )


def object_summary(stored: StoredObject) -> dict[str, Any]:
    info = stored.info
    return {
        "key": info.key,
        "size": info.size,
        "etag": info.etag,
        "crc64": info.crc64,
        "last_modified": info.last_modified,
        "content_type": info.content_type,
        "object_type": info.object_type,
        "metadata": dict(info.metadata),
        "blobs": len(stored.manifest),
    }


def dump_rows(
    *,
    buckets: list[sqlite3.Row],
    objects: list[sqlite3.Row],
    uploads: list[sqlite3.Row],
    parts: list[sqlite3.Row],
) -> dict[str, Any]:
    """The control plane's JSON view of the OSS tables (see ``OssBackend.dump``)."""
    by_upload: dict[str, list[dict[str, Any]]] = {}
    for row in parts:
        part = part_from_row(row)
        by_upload.setdefault(row["upload_id"], []).append(
            {
                "part_number": part.part_number,
                "size": part.size,
                "etag": part.etag,
                "crc64": part.crc64,
                "last_modified": part.last_modified,
            }
        )
    return {
        "buckets": [
            {
                "name": bucket["name"],
                "created_at": bucket["created_at"],
                "objects": [
                    object_summary(object_from_row(row))
                    for row in objects
                    if row["bucket"] == bucket["name"]
                ],
            }
            for bucket in buckets
        ],
        "uploads": [
            {
                "bucket": row["bucket"],
                "key": row["key"],
                "upload_id": row["upload_id"],
                "initiated": row["initiated"],
                "parts": by_upload.get(row["upload_id"], []),
            }
            for row in uploads
        ],
    }
