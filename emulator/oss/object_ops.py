"""More OSS object operations on the model: AppendObject, CopyObject, UploadPartCopy, the
object ACL and whole-object MD5 of sequential multipart uploads.

Functions over an :class:`~emulator.oss.models.OssBackend`, in the model's write order
(bytes to a new blob first, then the row, then unreachable blobs deleted), validating
before they write and raising :class:`OssError` with OSS's codes:

- **AppendObject** ``position`` must equal the current length of an ``Appendable``
  object (0 creates one): otherwise 409 ``PositionNotEqualToLength`` carrying the
  current length for ``x-oss-next-append-position``; appending to a Normal or Multipart
  object is 409 ``ObjectNotAppendable``. An append adds one blob to the object's
  manifest (no copy), and the object's CRC-64 is the CRC of the whole concatenation
  (chained from the previous value), which is what ``init_crc`` clients check.
- **CopyObject** copies bytes into a new blob (objects never share blobs, so deleting one
  never breaks the other). ``x-oss-metadata-directive: REPLACE`` takes the request's
  metadata and Content-Type; ``COPY`` (default) keeps the source's. ETag and CRC-64 are
  the source's content's.
- **UploadPartCopy** stores ``[start, end]`` of a source object as a part.
- **Object ACL** is kept with the object's stored headers as ``x-oss-object-acl``:
  ``default`` (inherit the bucket's), ``private``, ``public-read``, ``public-read-write``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

from emulator.numbers import parse_decimal
from emulator.oss import exceptions as errors
from emulator.oss.checksums import crc64, crc64_of_parts, etag_of_md5
from emulator.oss.records import NewObject, ObjectInfo, PartInfo, StoredObject

if TYPE_CHECKING:
    from emulator.oss.models import OssBackend

ACLS = frozenset({"default", "private", "public-read", "public-read-write"})
ACL_HEADER = "x-oss-object-acl"
WHOLE_MD5_HEADER = "Content-MD5"


def _read_all(
    oss: OssBackend, stored: StoredObject, start: int = 0, end: int | None = None
) -> bytes:
    stop = stored.info.size if end is None else end
    return b"".join(oss.iter_object(stored, start, stop))


def append_object(
    oss: OssBackend,
    bucket: str,
    key: str,
    *,
    position: int,
    body: bytes,
    md5_digest: bytes,
    new: NewObject,
) -> ObjectInfo:
    """Append ``body`` at ``position``; returns the object after the append."""
    oss.require_bucket(bucket)
    if position < 0:
        raise errors.invalid_argument("position must be >= 0", "position", str(position))
    existing = oss.head_object(bucket, key)
    if existing is None:
        if position != 0:
            raise errors.PositionNotEqualToLength(0)
    elif existing.object_type != "Appendable":
        raise errors.OssError(
            409, "ObjectNotAppendable", "The object is not appendable.", "0026-00000015"
        )
    elif existing.size != position:
        raise errors.PositionNotEqualToLength(existing.size)
    blob_id = oss.blobs.put(body)
    piece_crc = crc64(body)
    if existing is None:
        manifest: tuple[tuple[str, int], ...] = ((blob_id, len(body)),)
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=len(body),
            etag=etag_of_md5(md5_digest),
            crc64=piece_crc,
            last_modified=oss.clock.now(),
            content_type=new.content_type,
            object_type="Appendable",
            metadata=dict(new.metadata),
            headers=dict(new.headers),
        )
    else:
        stored = oss.get_object(bucket, key)
        manifest = (*stored.manifest, (blob_id, len(body)))
        # The ETag of an appendable object only has to change with its content.
        chained = hashlib.md5(
            existing.etag.encode("ascii") + md5_digest, usedforsecurity=False
        ).digest()
        info = ObjectInfo(
            bucket=bucket,
            key=key,
            size=existing.size + len(body),
            etag=etag_of_md5(chained),
            crc64=crc64_of_parts([(existing.crc64, existing.size), (piece_crc, len(body))]),
            last_modified=oss.clock.now(),
            content_type=existing.content_type,
            object_type="Appendable",
            metadata=existing.metadata,
            headers=existing.headers,
        )
    try:
        # Re-checked under the commit: a concurrent append at the same position loses.
        replaced = oss.commit_object_if(
            info, manifest, expected_size=None if existing is None else existing.size
        )
    except BaseException:
        oss.blobs.delete(blob_id)
        raise
    oss.delete_blobs(replaced)
    return info


def copy_object(
    oss: OssBackend,
    *,
    source_bucket: str,
    source_key: str,
    bucket: str,
    key: str,
    replace_metadata: bool,
    new: NewObject,
) -> ObjectInfo:
    oss.require_bucket(bucket)
    stored = oss.get_object(source_bucket, source_key)
    data = _read_all(oss, stored)
    source = stored.info
    headers = dict(new.headers) if replace_metadata else dict(source.headers)
    info = ObjectInfo(
        bucket=bucket,
        key=key,
        size=source.size,
        etag=source.etag
        if source.object_type == "Normal"
        else etag_of_md5(hashlib.md5(data).digest()),
        crc64=source.crc64,
        last_modified=oss.clock.now(),
        content_type=new.content_type if replace_metadata else source.content_type,
        object_type="Normal",
        metadata=dict(new.metadata) if replace_metadata else dict(source.metadata),
        headers=headers,
    )
    blob_id = oss.blobs.put(data)
    try:
        replaced = oss.commit_object_if(info, ((blob_id, len(data)),), expected_size=None)
    except BaseException:
        oss.blobs.delete(blob_id)
        raise
    oss.delete_blobs(replaced)
    return info


def parse_copy_range(value: str, size: int) -> tuple[int, int]:
    """``bytes=start-end`` (inclusive) within an object of ``size`` -> ``[start, end)``."""
    unit, _, spec = value.partition("=")
    first, dash, last = spec.partition("-")
    start, end = parse_decimal(first), parse_decimal(last)  # ASCII digits (EMU-SEC-010)
    if unit.strip() != "bytes" or not dash or start is None or end is None:
        raise errors.invalid_argument(
            "Invalid x-oss-copy-source-range.", "x-oss-copy-source-range", value
        )
    if start > end or end >= size:
        raise errors.invalid_argument(
            "x-oss-copy-source-range is outside the object.", "x-oss-copy-source-range", value
        )
    return start, end + 1


def upload_part_copy(
    oss: OssBackend,
    *,
    source_bucket: str,
    source_key: str,
    copy_range: str | None,
    bucket: str,
    key: str,
    upload_id: str,
    part_number: int,
) -> PartInfo:
    stored = oss.get_object(source_bucket, source_key)
    start, end = (
        (0, stored.info.size) if not copy_range else parse_copy_range(copy_range, stored.info.size)
    )
    data = _read_all(oss, stored, start, end)
    return oss.upload_part(
        bucket, key, upload_id, part_number, data, md5_digest=hashlib.md5(data).digest()
    )


def get_object_acl(oss: OssBackend, bucket: str, key: str) -> str:
    info = oss.get_object(bucket, key).info
    return str(info.headers.get(ACL_HEADER, "default"))


def check_acl(value: str) -> str:
    if value not in ACLS:
        raise errors.invalid_argument("The ACL is not valid.", ACL_HEADER, value)
    return value


def put_object_acl(oss: OssBackend, bucket: str, key: str, acl: str) -> None:
    check_acl(acl)
    oss.get_object(bucket, key)  # NoSuchBucket / NoSuchKey first
    oss.replace_object_headers(bucket, key, {ACL_HEADER: acl}, merge=True)


# Kept with an upload started with ``?sequential`` until it completes, never served.
SEQUENTIAL_MARK = "x-emulator-sequential"


def mark_sequential(new: NewObject) -> NewObject:
    return NewObject(
        content_type=new.content_type,
        metadata=new.metadata,
        headers={**new.headers, SEQUENTIAL_MARK: "true"},
    )


def finish_sequential(oss: OssBackend, bucket: str, key: str) -> str:
    """A completed sequential upload: store the base64 MD5 of the whole object as its
    ``Content-MD5`` (served on GET and HEAD) in place of the mark; returns it."""
    stored = oss.get_object(bucket, key)
    digest = hashlib.md5(usedforsecurity=False)
    for chunk in oss.iter_object(stored, 0, stored.info.size):
        digest.update(chunk)
    value = base64.b64encode(digest.digest()).decode("ascii")
    headers = {k: v for k, v in stored.info.headers.items() if k != SEQUENTIAL_MARK}
    headers[WHOLE_MD5_HEADER] = value
    oss.replace_object_headers(bucket, key, headers)
    return value
