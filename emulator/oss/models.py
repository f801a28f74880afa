"""The OSS model: buckets, objects and multipart uploads over SQLite rows and blobs.

Theory of operation
-------------------
Metadata (buckets, objects, uploads, parts, user metadata) lives in SQLite tables in
``state.db``, so ``--data-dir`` persistence and crash safety come from SQLite's WAL.
Bytes live in the :class:`~emulator.blobs.BlobStore`. Every write follows one order:

1. hash and store the bytes as a new blob (outside the database lock);
2. commit the row that refers to it, re-checking preconditions inside the transaction;
3. delete blobs the commit made unreachable (a replaced object or part, an aborted
   upload); a crash between 2 and 3 only leaks a blob, never loses one.

A completed multipart object does not copy its parts: its row holds a manifest of
``(blob_id, size)`` pairs and a ranged GET streams across them.

Every public method validates before it mutates and raises :class:`OssError` (with the
OSS wire code) on failure, leaving state unchanged.
"""

from __future__ import annotations

import itertools
import json
import secrets
import sqlite3
from collections.abc import Iterator
from typing import Any

from emulator.blobs import BlobNotFound, BlobStore
from emulator.clock import Clock
from emulator.config import EmulatorConfig
from emulator.db import Database
from emulator.http import Body
from emulator.oss import exceptions as errors
from emulator.oss.checksums import crc64, crc64_of_parts, etag_of_md5, multipart_etag
from emulator.oss.listing import ListPage, list_keys
from emulator.oss.records import (
    SCHEMA,
    BucketInfo,
    NewObject,
    ObjectInfo,
    PartInfo,
    StoredObject,
    UploadInfo,
    dump_rows,
    object_from_row,
    part_from_row,
)

__all__ = [
    "MAX_PARTS",
    "MIN_PART_SIZE",
    "BucketInfo",
    "NewObject",
    "ObjectInfo",
    "OssBackend",
    "PartInfo",
    "StoredObject",
    "UploadInfo",
]

MIN_PART_SIZE = 100 * 1024
MAX_PARTS = 10_000


class OssBackend:
    """All OSS state of one emulator. Thread-safe: every statement runs under the
    database lock, and blob I/O happens outside it."""

    def __init__(
        self, *, db: Database, blobs: BlobStore, clock: Clock, config: EmulatorConfig
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.clock = clock
        self.config = config
        self.db.ensure_schema(SCHEMA)

    # -- buckets ---------------------------------------------------------------------

    def create_bucket(self, name: str) -> bool:
        """Create ``name``; True if created, False if it already existed (idempotent for
        its owner, the only account the emulator has)."""
        with self.db.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO oss_buckets VALUES (?, ?, ?)",
                (name, self.clock.now(), self.config.account_id),
            )
        return cursor.rowcount > 0

    def ensure_bucket(self, name: str) -> None:
        """Create ``name`` if absent (VOD's storage buckets)."""
        self.create_bucket(name)

    def get_bucket(self, name: str) -> BucketInfo:
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM oss_buckets WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise errors.no_such_bucket(name)
        return BucketInfo(name=row["name"], created_at=row["created_at"], owner=row["owner"])

    def list_buckets(self) -> list[BucketInfo]:
        with self.db.read() as conn:
            rows = conn.execute("SELECT * FROM oss_buckets ORDER BY name").fetchall()
        return [
            BucketInfo(name=r["name"], created_at=r["created_at"], owner=r["owner"]) for r in rows
        ]

    def delete_bucket(self, name: str) -> None:
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM oss_buckets WHERE name = ?", (name,)).fetchone() is None:
                raise errors.no_such_bucket(name)
            busy = conn.execute(
                "SELECT 1 FROM oss_objects WHERE bucket = ? UNION ALL "
                "SELECT 1 FROM oss_uploads WHERE bucket = ? LIMIT 1",
                (name, name),
            ).fetchone()
            if busy is not None:
                raise errors.bucket_not_empty(name)
            conn.execute("DELETE FROM oss_buckets WHERE name = ?", (name,))

    def _require_bucket(self, conn: sqlite3.Connection, bucket: str) -> None:
        if conn.execute("SELECT 1 FROM oss_buckets WHERE name = ?", (bucket,)).fetchone() is None:
            raise errors.no_such_bucket(bucket)

    def bucket_exists(self, bucket: str) -> bool:
        with self.db.read() as conn:
            found = conn.execute("SELECT 1 FROM oss_buckets WHERE name = ?", (bucket,))
            return found.fetchone() is not None

    def require_bucket(self, bucket: str) -> None:
        with self.db.read() as conn:
            self._require_bucket(conn, bucket)

    # -- objects ---------------------------------------------------------------------

    def put_object(
        self, bucket: str, key: str, body: Body, *, md5_digest: bytes, new: NewObject
    ) -> ObjectInfo:
        """Store a Normal object. ``md5_digest`` is the body's MD5 (the caller already
        computed it to check Content-MD5, so it is not hashed twice)."""
        self.require_bucket(bucket)
        checksum = crc64(body)
        blob_id = self.blobs.put(body)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(body),
            etag=etag_of_md5(md5_digest),
            crc64=checksum,
            last_modified=self.clock.now(),
            content_type=new.content_type,
            object_type="Normal",
            metadata=dict(new.metadata),
            headers=dict(new.headers),
        )
        try:
            replaced = self._commit_object(info, ((blob_id, len(body)),))
        except BaseException:
            self.blobs.delete(blob_id)
            raise
        self._delete_blobs(replaced)
        return info

    def _commit_object(self, info: ObjectInfo, manifest: tuple[tuple[str, int], ...]) -> list[str]:
        """Insert or replace the object row; return the blob ids it made unreachable."""
        with self.db.transaction() as conn:
            self._require_bucket(conn, info.bucket)
            old = conn.execute(
                "SELECT manifest FROM oss_objects WHERE bucket = ? AND key = ?",
                (info.bucket, info.key),
            ).fetchone()
            conn.execute(
                "INSERT OR REPLACE INTO oss_objects VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    info.bucket,
                    info.key,
                    info.size,
                    info.etag,
                    str(info.crc64),
                    info.last_modified,
                    info.content_type,
                    info.object_type,
                    json.dumps(dict(info.metadata)),
                    json.dumps(dict(info.headers)),
                    json.dumps([list(entry) for entry in manifest]),
                ),
            )
        if old is None:
            return []
        keep = {blob for blob, _ in manifest}
        return [blob for blob, _ in json.loads(old["manifest"]) if blob not in keep]

    def _delete_blobs(self, blob_ids: list[str]) -> None:
        for blob_id in blob_ids:
            self.blobs.delete(blob_id)

    def commit_object_if(
        self,
        info: ObjectInfo,
        manifest: tuple[tuple[str, int], ...],
        *,
        expected_size: int | None,
    ) -> list[str]:
        """Commit ``info`` if the object still has ``expected_size`` bytes (None: any)."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT size FROM oss_objects WHERE bucket = ? AND key = ?",
                (info.bucket, info.key),
            ).fetchone()
            if expected_size is not None and (row is None or row["size"] != expected_size):
                raise errors.PositionNotEqualToLength(0 if row is None else row["size"])
            return self._commit_object(info, manifest)

    delete_blobs = _delete_blobs

    def replace_object_headers(
        self, bucket: str, key: str, headers: dict[str, str], *, merge: bool = False
    ) -> None:
        """Set (or with ``merge`` add to) an object's stored headers: ACL, whole MD5."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT headers FROM oss_objects WHERE bucket = ? AND key = ?", (bucket, key)
            ).fetchone()
            if row is None:
                raise errors.no_such_key(key)
            new = {**json.loads(row["headers"]), **headers} if merge else headers
            conn.execute(
                "UPDATE oss_objects SET headers = ? WHERE bucket = ? AND key = ?",
                (json.dumps(new), bucket, key),
            )

    def get_object(self, bucket: str, key: str) -> StoredObject:
        with self.db.read() as conn:
            self._require_bucket(conn, bucket)
            row = conn.execute(
                "SELECT * FROM oss_objects WHERE bucket = ? AND key = ?", (bucket, key)
            ).fetchone()
        if row is None:
            raise errors.no_such_key(key)
        return object_from_row(row)

    def head_object(self, bucket: str, key: str) -> ObjectInfo | None:
        """The object's metadata, or None if the bucket or object does not exist."""
        with self.db.read() as conn:
            row = conn.execute(
                "SELECT * FROM oss_objects WHERE bucket = ? AND key = ?", (bucket, key)
            ).fetchone()
        return None if row is None else object_from_row(row).info

    def iter_object(self, stored: StoredObject, start: int, end: int) -> Iterator[bytes]:
        """Stream bytes ``[start, end)`` of an object across its manifest's blobs.

        A blob deleted mid-stream (the object was overwritten meanwhile) ends the stream
        early; the server then closes the connection, as a truncated response."""
        offset = 0
        for blob_id, size in stored.manifest:
            blob_start, blob_end = offset, offset + size
            offset = blob_end
            if blob_end <= start or size == 0:
                continue
            if blob_start >= end:
                break
            try:
                yield from self.blobs.iter_range(
                    blob_id, max(start - blob_start, 0), min(end, blob_end) - blob_start
                )
            except BlobNotFound:
                return

    def delete_object(self, bucket: str, key: str) -> None:
        """Delete ``key``; no error if it does not exist (OSS answers 204 either way)."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT manifest FROM oss_objects WHERE bucket = ? AND key = ?", (bucket, key)
            ).fetchone()
            if row is not None:
                conn.execute("DELETE FROM oss_objects WHERE bucket = ? AND key = ?", (bucket, key))
        if row is not None:
            self._delete_blobs([blob for blob, _ in json.loads(row["manifest"])])

    def list_objects(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str,
        after: str,
        max_keys: int,
    ) -> ListPage[ObjectInfo]:
        """Keys after ``after`` under ``prefix``, grouped by ``delimiter``; one page."""

        self.require_bucket(bucket)

        def rows() -> Iterator[tuple[str, ObjectInfo]]:
            # Start at the later of the marker and the prefix, in batches so a huge
            # bucket is never loaded at once.
            lower, op = (after, ">") if after >= prefix else (prefix, ">=")
            while True:
                with self.db.read() as conn:
                    batch = conn.execute(
                        f"SELECT * FROM oss_objects WHERE bucket = ? AND key {op} ? "
                        "ORDER BY key LIMIT 1000",
                        (bucket, lower),
                    ).fetchall()
                if not batch:
                    return
                for row in batch:
                    yield row["key"], object_from_row(row).info
                lower, op = batch[-1]["key"], ">"

        return list_keys(rows(), prefix=prefix, delimiter=delimiter, after=after, limit=max_keys)

    # -- multipart -------------------------------------------------------------------

    def initiate_upload(self, bucket: str, key: str, *, new: NewObject) -> UploadInfo:
        upload_id = secrets.token_hex(16).upper()
        now = self.clock.now()
        with self.db.transaction() as conn:
            self._require_bucket(conn, bucket)
            conn.execute(
                "INSERT INTO oss_uploads VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    upload_id,
                    bucket,
                    key,
                    now,
                    new.content_type,
                    json.dumps(dict(new.metadata)),
                    json.dumps(dict(new.headers)),
                ),
            )
        return UploadInfo(
            upload_id=upload_id,
            bucket=bucket,
            key=key,
            initiated=now,
            content_type=new.content_type,
        )

    def _require_upload(
        self, conn: sqlite3.Connection, bucket: str, key: str, upload_id: str
    ) -> sqlite3.Row:
        row = conn.execute(
            "SELECT * FROM oss_uploads WHERE upload_id = ? AND bucket = ? AND key = ?",
            (upload_id, bucket, key),
        ).fetchone()
        if row is None:
            # An open upload implies its bucket exists (a bucket with uploads cannot be
            # deleted), so the bucket is only looked at to pick the right error.
            self._require_bucket(conn, bucket)
            raise errors.no_such_upload(upload_id)
        return row  # type: ignore[no-any-return]

    def upload_part(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        part_number: int,
        body: Body,
        *,
        md5_digest: bytes,
    ) -> PartInfo:
        """Store one part (replacing one with the same number). The hot path: one CRC
        call, one blob write, then one statement finding the upload and the part it
        replaces and one writing the part (Database.single_write); an unknown upload
        costs a blob write that is deleted again."""
        size, etag, crc, now = len(body), etag_of_md5(md5_digest), crc64(body), self.clock.now()
        part = PartInfo(part_number=part_number, size=size, etag=etag, crc64=crc, last_modified=now)
        blob_id = self.blobs.put(body)
        try:
            with self.db.single_write() as conn:
                found = conn.execute(
                    "SELECT p.blob_id FROM oss_uploads AS u LEFT JOIN oss_parts AS p"
                    " ON p.upload_id = u.upload_id AND p.part_number = ?"
                    " WHERE u.upload_id = ? AND u.bucket = ? AND u.key = ?",
                    (part_number, upload_id, bucket, key),
                ).fetchone()
                if found is None:
                    self._require_bucket(conn, bucket)  # the right error (_require_upload)
                    raise errors.no_such_upload(upload_id)
                conn.execute(
                    "INSERT OR REPLACE INTO oss_parts VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (upload_id, part_number, blob_id, size, etag, str(crc), now),
                )
        except BaseException:
            self.blobs.delete(blob_id)
            raise
        if found[0] is not None:
            self.blobs.delete(found[0])
        return part

    def list_parts(
        self, bucket: str, key: str, upload_id: str, *, after: int, max_parts: int
    ) -> tuple[list[PartInfo], bool]:
        """Parts numbered above ``after``, at most ``max_parts``; and whether truncated."""
        with self.db.read() as conn:
            self._require_upload(conn, bucket, key, upload_id)
            rows = conn.execute(
                "SELECT * FROM oss_parts WHERE upload_id = ? AND part_number > ? "
                "ORDER BY part_number LIMIT ?",
                (upload_id, after, max_parts + 1),
            ).fetchall()
        parts = [part_from_row(row) for row in rows]
        return parts[:max_parts], len(parts) > max_parts

    def abort_upload(self, bucket: str, key: str, upload_id: str) -> None:
        with self.db.transaction() as conn:
            self._require_upload(conn, bucket, key, upload_id)
            blobs = [
                row["blob_id"]
                for row in conn.execute(
                    "SELECT blob_id FROM oss_parts WHERE upload_id = ?", (upload_id,)
                )
            ]
            conn.execute("DELETE FROM oss_parts WHERE upload_id = ?", (upload_id,))
            conn.execute("DELETE FROM oss_uploads WHERE upload_id = ?", (upload_id,))
        self._delete_blobs(blobs)

    def complete_upload(
        self,
        bucket: str,
        key: str,
        upload_id: str,
        requested: list[tuple[int, str]] | None,
    ) -> ObjectInfo:
        """Assemble the object from ``requested`` ``(part_number, etag)`` pairs (ascending),
        or from every uploaded part when ``requested`` is None (``x-oss-complete-all``).

        Errors: InvalidPartOrder (not strictly ascending), InvalidPart (missing part or
        ETag mismatch), EntityTooSmall (a part under 100 KiB that is not the last)."""
        with self.db.transaction() as conn:
            upload = self._require_upload(conn, bucket, key, upload_id)
            rows = conn.execute(
                "SELECT * FROM oss_parts WHERE upload_id = ? ORDER BY part_number", (upload_id,)
            ).fetchall()
            uploaded = {row["part_number"]: row for row in rows}
            chosen = self._choose_parts(uploaded, requested)
            info = ObjectInfo(
                bucket=bucket,
                key=key,
                size=sum(row["size"] for row in chosen),
                etag=multipart_etag(row["etag"] for row in chosen),
                crc64=crc64_of_parts((int(row["crc64"]), row["size"]) for row in chosen),
                last_modified=self.clock.now(),
                content_type=upload["content_type"],
                object_type="Multipart",
                metadata=json.loads(upload["metadata"]),
                headers=json.loads(upload["headers"]),
            )
            manifest = tuple((str(row["blob_id"]), int(row["size"])) for row in chosen)
            conn.execute("DELETE FROM oss_parts WHERE upload_id = ?", (upload_id,))
            conn.execute("DELETE FROM oss_uploads WHERE upload_id = ?", (upload_id,))
            replaced = self._commit_object(info, manifest)
        used = {blob for blob, _ in manifest}
        self._delete_blobs(replaced + [r["blob_id"] for r in rows if r["blob_id"] not in used])
        return info

    @staticmethod
    def _choose_parts(
        uploaded: dict[int, sqlite3.Row], requested: list[tuple[int, str]] | None
    ) -> list[sqlite3.Row]:
        if requested is None:
            chosen = [uploaded[number] for number in sorted(uploaded)]
            if not chosen:
                raise errors.OssError(
                    400, "InvalidPart", "No parts have been uploaded.", "0042-00000204"
                )
        else:
            if not requested:
                raise errors.malformed_xml("The XML you provided lists no parts.")
            if len(requested) > MAX_PARTS:
                raise errors.invalid_argument("Too many parts.", "PartNumber", str(len(requested)))
            numbers = [number for number, _ in requested]
            if any(b <= a for a, b in itertools.pairwise(numbers)):
                raise errors.OssError(
                    400,
                    "InvalidPartOrder",
                    "The list of parts was not in ascending order. Parts list must be "
                    "specified in order by part number.",
                    "0042-00000209",
                )
            chosen = []
            for number, etag in requested:
                row = uploaded.get(number)
                if row is None or row["etag"] != etag.strip().strip('"').upper():
                    raise errors.OssError(
                        400,
                        "InvalidPart",
                        "One or more of the specified parts could not be found or the "
                        "specified entity tag might not have matched the part's entity tag.",
                        "0042-00000205",
                        [("PartNumber", str(number)), ("ETag", etag[:80])],
                    )
                chosen.append(row)
        for row in chosen[:-1]:
            if row["size"] < MIN_PART_SIZE:
                raise errors.OssError(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size.",
                    "0042-00000213",
                    [
                        ("PartNumber", str(row["part_number"])),
                        ("ProposedSize", str(row["size"])),
                        ("MinSizeAllowed", str(MIN_PART_SIZE)),
                    ],
                )
        return chosen

    def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str,
        delimiter: str,
        key_marker: str,
        upload_id_marker: str,
        max_uploads: int,
    ) -> ListPage[UploadInfo]:
        self.require_bucket(bucket)
        with self.db.read() as conn:
            if upload_id_marker and key_marker:
                rows = conn.execute(
                    "SELECT * FROM oss_uploads WHERE bucket = ? AND (key > ? OR "
                    "(key = ? AND upload_id > ?)) ORDER BY key, upload_id",
                    (bucket, key_marker, key_marker, upload_id_marker),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT * FROM oss_uploads WHERE bucket = ? AND key > ? "
                    "ORDER BY key, upload_id",
                    (bucket, key_marker),
                ).fetchall()
        entries = (
            (
                row["key"],
                UploadInfo(
                    upload_id=row["upload_id"],
                    bucket=bucket,
                    key=row["key"],
                    initiated=row["initiated"],
                    content_type=row["content_type"],
                ),
            )
            for row in rows
        )
        return list_keys(
            entries,
            prefix=prefix,
            delimiter=delimiter,
            after=key_marker,
            limit=max_uploads,
            unique=False,
        )

    # -- whole-state operations --------------------------------------------------------

    def reset(self) -> None:
        """Drop every bucket, object, upload and part, and their blobs."""
        with self.db.transaction() as conn:
            blobs = [row[0] for row in conn.execute("SELECT manifest FROM oss_objects")]
            part_blobs = [row[0] for row in conn.execute("SELECT blob_id FROM oss_parts")]
            for table in ("oss_parts", "oss_uploads", "oss_objects", "oss_buckets"):
                conn.execute(f"DELETE FROM {table}")
        for manifest in blobs:
            self._delete_blobs([blob for blob, _ in json.loads(manifest)])
        self._delete_blobs(part_blobs)

    def referenced_blobs(self) -> set[str]:
        """Every blob id a row refers to (start-up code deletes the others)."""
        with self.db.read() as conn:
            found = {row[0] for row in conn.execute("SELECT blob_id FROM oss_parts")}
            for (manifest,) in conn.execute("SELECT manifest FROM oss_objects"):
                found.update(blob for blob, _ in json.loads(manifest))
        return found

    def dump(self) -> dict[str, Any]:
        """A JSON-ready summary: buckets with their objects, and open uploads with parts."""
        with self.db.read() as conn:
            buckets = conn.execute("SELECT * FROM oss_buckets ORDER BY name").fetchall()
            objects = conn.execute("SELECT * FROM oss_objects ORDER BY bucket, key").fetchall()
            uploads = conn.execute("SELECT * FROM oss_uploads ORDER BY bucket, key").fetchall()
            parts = conn.execute("SELECT * FROM oss_parts ORDER BY part_number").fetchall()
        return dump_rows(buckets=buckets, objects=objects, uploads=uploads, parts=parts)
