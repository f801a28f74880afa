"""OSS object and multipart handlers (PutObject, GetObject, UploadPart, Complete...).

Each handler parses what the SDKs send, calls the model and writes
the headers clients check: quoted upper-case ``ETag``, ``x-oss-hash-crc64ecma`` on every
response that carries or creates data, the true ``Content-Length`` on HEAD, and
``Content-Range`` on 206.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from emulator.http import Response
from emulator.numbers import parse_decimal
from emulator.oss import exceptions as errors
from emulator.oss import xmlutil
from emulator.oss.auth import header_text, parse_http_date
from emulator.oss.checksums import content_md5_base64, decode_content_md5, md5_digest
from emulator.oss.exceptions import OssError
from emulator.oss.models import MAX_PARTS, NewObject, ObjectInfo, StoredObject
from emulator.oss.object_ops import (
    SEQUENTIAL_MARK,
    check_acl,
    finish_sequential,
    mark_sequential,
)
from emulator.oss.urls import validate_key
from emulator.oss.wire import Call, empty_response, xml_response

if TYPE_CHECKING:
    from emulator.state import EmulatorState

Handler = Callable[["EmulatorState", Call], Response]

COMPLETE_MAX_XML = 2 * 1024 * 1024
DELETE_MAX_XML = 2 * 1024 * 1024
DELETE_MAX_KEYS = 1000
_UPLOAD_ID_RE = re.compile(r"^[0-9A-F]{32}$")
# ASCII digits only: \d would also take other scripts' digits (EMU-SEC-010).
_RANGE_RE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
# A header field value: visible ASCII, space and tab, and the Latin-1 letters (RFC 9110
# obs-text), which the server writes as ISO-8859-1.
_BEYOND_ANY_OBJECT = 10**19
_HEADER_VALUE_RE = re.compile(r"[\t\x20-\x7e\xa0-\xff]*")
_STORED_HEADERS = (
    "Cache-Control",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Expires",
)
_RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def checked_md5(call: Call) -> bytes:
    """The body's MD5, after checking any Content-MD5 header against it."""
    digest = md5_digest(call.request.body)
    header = call.request.headers.get("Content-MD5")
    if header is not None:
        claimed = decode_content_md5(header)
        if claimed is None:
            raise errors.invalid_digest()
        if claimed != digest:
            raise errors.bad_digest(header.strip(), content_md5_base64(digest))
    return digest


def _stored_response(etag: str, crc64: int, md5: bytes) -> Response:
    """The empty 200 of PutObject and UploadPart: what was stored, as the client checks it."""
    return Response(
        status=200,
        headers=[
            ("ETag", f'"{etag}"'),
            ("x-oss-hash-crc64ecma", str(crc64)),
            ("Content-MD5", content_md5_base64(md5)),
        ],
        body=b"",
    )


def new_object(call: Call) -> NewObject:
    headers = call.request.headers
    metadata: dict[str, str] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered.startswith("x-oss-meta-") and len(lowered) > len("x-oss-meta-"):
            metadata[lowered[len("x-oss-meta-") :]] = header_text(value.strip())
    stored: dict[str, str] = {}
    for name in _STORED_HEADERS:
        found = headers.get(name)
        if found is not None:
            stored[name] = found
    acl = headers.get("x-oss-object-acl")
    if acl is not None:
        stored["x-oss-object-acl"] = check_acl(acl.strip())
    return NewObject(
        content_type=(headers.get("Content-Type") or "").strip() or "application/octet-stream",
        metadata=metadata,
        headers=stored,
    )


def _reject_copy(call: Call) -> None:
    if call.request.headers.get("x-oss-copy-source") is not None:
        raise errors.not_implemented("copy operations")


def _object_headers(info: ObjectInfo) -> list[tuple[str, str]]:
    headers = [
        ("Content-Type", info.content_type),
        ("ETag", f'"{info.etag}"'),
        ("Last-Modified", xmlutil.http_date(info.last_modified)),
        ("x-oss-hash-crc64ecma", str(info.crc64)),
        ("x-oss-object-type", info.object_type),
        ("x-oss-storage-class", "Standard"),
        ("Accept-Ranges", "bytes"),
    ]
    headers.extend(info.headers.items())
    # Non-ASCII metadata goes back as its UTF-8 bytes, as OSS sends it (the header is
    # written as ISO-8859-1, so the UTF-8 bytes are spelled in that charset here).
    headers.extend(
        (f"x-oss-meta-{name}", value.encode("utf-8").decode("iso-8859-1"))
        for name, value in info.metadata.items()
    )
    return headers


def put_object(state: EmulatorState, call: Call) -> Response:
    _reject_copy(call)
    digest = checked_md5(call)
    forbid = (call.request.headers.get("x-oss-forbid-overwrite") or "").lower() == "true"
    if forbid and state.oss.head_object(call.bucket, call.key) is not None:
        raise OssError(
            409,
            "FileAlreadyExists",
            "The object you specified already exists.",
            "0016-00000708",
        )
    info = state.oss.put_object(
        call.bucket, call.key, call.request.body, md5_digest=digest, new=new_object(call)
    )
    return _stored_response(info.etag, info.crc64, digest)


def _check_conditions(call: Call, info: ObjectInfo) -> Response | None:
    """Apply If-Match / If-None-Match / If-(Un)Modified-Since; a 304 to send, or None."""
    headers = call.request.headers
    etag = info.etag.upper()
    if_match = headers.get("If-Match")
    if if_match is not None and not _etag_matches(if_match, etag):
        raise errors.precondition_failed("If-Match")
    unmodified = headers.get("If-Unmodified-Since")
    if unmodified is not None and if_match is None:
        when = parse_http_date(unmodified)
        if when is not None and int(info.last_modified) > when:
            raise errors.precondition_failed("If-Unmodified-Since")
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None and _etag_matches(if_none_match, etag):
        return _not_modified(info)
    modified = headers.get("If-Modified-Since")
    if modified is not None and if_none_match is None:
        when = parse_http_date(modified)
        if when is not None and int(info.last_modified) <= when:
            return _not_modified(info)
    return None


def _etag_matches(header: str, etag: str) -> bool:
    candidates = [c.strip().removeprefix("W/").strip('"').upper() for c in header.split(",")]
    return "*" in candidates or etag in candidates


def _not_modified(info: ObjectInfo) -> Response:
    return Response(
        status=304,
        headers=[
            ("ETag", f'"{info.etag}"'),
            ("Last-Modified", xmlutil.http_date(info.last_modified)),
        ],
        body=b"",
        content_length=0,
    )


def _range_bound(digits: str) -> int:
    """A range bound; one too long to be any real offset counts as "beyond the end"."""
    value = parse_decimal(digits)
    return _BEYOND_ANY_OBJECT if value is None else value


def _parse_range(call: Call, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` of a satisfiable single range, or None for the whole
    object. OSS ignores an invalid or unsatisfiable range (200 with the whole object)
    unless ``x-oss-range-behavior: standard`` asks for 416."""
    header = call.request.headers.get("Range")
    if header is None:
        return None
    standard = (call.request.headers.get("x-oss-range-behavior") or "").lower() == "standard"
    match = _RANGE_RE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        length = _range_bound(last)
        if length == 0:
            if standard:
                raise errors.invalid_range(size)
            return None
        return max(size - length, 0), size
    start = _range_bound(first)
    end = size - 1 if last == "" else _range_bound(last)
    if end < start:
        return None
    if start >= size:
        if standard:
            raise errors.invalid_range(size)
        return None
    return start, min(end, size - 1) + 1


def _check_overrides(call: Call) -> None:
    """The ``response-*`` overrides become response headers verbatim, so a value must be
    one a header line can carry (EMU-SEC-004): printable Latin-1, no CR, LF or other
    control character (a CR/LF would inject headers; a code point above U+00FF cannot be
    written at all). Anything else is 400 InvalidArgument before the object is read."""
    for param in _RESPONSE_OVERRIDES:
        value = call.target.params.get(param)
        if value is not None and not _HEADER_VALUE_RE.fullmatch(value):
            raise errors.invalid_argument(
                f"The value of {param} cannot be used as a header value.", param
            )


def get_object(state: EmulatorState, call: Call) -> Response:
    _check_overrides(call)
    stored = state.oss.get_object(call.bucket, call.key)
    return _serve(state, call, stored)


def _serve(state: EmulatorState, call: Call, stored: StoredObject) -> Response:
    info = stored.info
    not_modified = _check_conditions(call, info)
    if not_modified is not None:
        return not_modified
    headers = _object_headers(info)
    for param, header in _RESPONSE_OVERRIDES.items():
        if param in call.target.params:
            headers = [(k, v) for k, v in headers if k.lower() != header.lower()]
            headers.append((header, call.target.params[param]))
    span = _parse_range(call, info.size)
    status, start, end = 200, 0, info.size
    if span is not None:
        start, end = span
        status = 206
        headers.append(("Content-Range", f"bytes {start}-{end - 1}/{info.size}"))
    if call.request.method == "HEAD":
        return Response(status=200, headers=headers, body=b"", content_length=info.size)
    return Response(
        status=status,
        headers=headers,
        body=state.oss.iter_object(stored, start, end),
        content_length=end - start,
    )


def head_object(state: EmulatorState, call: Call) -> Response:
    _check_overrides(call)
    stored = state.oss.get_object(call.bucket, call.key)
    return _serve(state, call, stored)


def get_object_meta(state: EmulatorState, call: Call) -> Response:
    info = state.oss.get_object(call.bucket, call.key).info
    return Response(
        status=200,
        headers=[
            ("ETag", f'"{info.etag}"'),
            ("Last-Modified", xmlutil.http_date(info.last_modified)),
            ("x-oss-hash-crc64ecma", str(info.crc64)),
        ],
        body=b"",
        content_length=info.size,
    )


def delete_object(state: EmulatorState, call: Call) -> Response:
    state.oss.require_bucket(call.bucket)
    state.oss.delete_object(call.bucket, call.key)
    return empty_response(204)


def delete_multiple(state: EmulatorState, call: Call) -> Response:
    call.check_encoding_type()
    checked_md5(call)
    root = xmlutil.parse(call.request.body_bytes(), max_bytes=DELETE_MAX_XML, root="Delete")
    quiet = (xmlutil.child_text(root, "Quiet") or "false").strip().lower() == "true"
    keys = [xmlutil.require_text(node, "Key") for node in root.findall("Object")]
    if not keys or len(keys) > DELETE_MAX_KEYS:
        raise errors.malformed_xml("Delete must list between 1 and 1000 objects.")
    for key in keys:
        validate_key(key)
    state.oss.require_bucket(call.bucket)
    for key in keys:
        state.oss.delete_object(call.bucket, key)
    children: list[xmlutil.Node] = (
        [] if quiet else [("Deleted", [("Key", call.encode(key))]) for key in keys]
    )
    if call.url_encoding:
        children.append(("EncodingType", "url"))
    return xml_response(call, "DeleteResult", children)


# -- multipart ---------------------------------------------------------------------------


def upload_id_of(call: Call) -> str:
    upload_id = call.param("uploadId")
    if not upload_id:
        raise errors.invalid_argument("uploadId must not be empty.", "uploadId", upload_id)
    if not _UPLOAD_ID_RE.match(upload_id):
        # Server-generated ids are 32 upper-case hex characters; anything else is unknown.
        raise errors.no_such_upload(upload_id[:64])
    return upload_id


def initiate_upload(state: EmulatorState, call: Call) -> Response:
    call.check_encoding_type()
    checked_md5(call)
    new = new_object(call)
    if "sequential" in call.target.params:
        new = mark_sequential(new)
    upload = state.oss.initiate_upload(call.bucket, call.key, new=new)
    return xml_response(
        call,
        "InitiateMultipartUploadResult",
        [
            ("Bucket", call.bucket),
            ("Key", call.encode(call.key)),
            ("UploadId", upload.upload_id),
            ("EncodingType", "url" if call.url_encoding else None),
        ],
    )


def part_number_of(call: Call) -> int:
    raw_number = call.param("partNumber")
    part_number = parse_decimal(raw_number) or 0
    if not 1 <= part_number <= MAX_PARTS:
        raise errors.invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive.",
            "partNumber",
            raw_number,
        )
    return part_number


def upload_part(state: EmulatorState, call: Call) -> Response:
    _reject_copy(call)
    part_number = part_number_of(call)
    upload_id = upload_id_of(call)
    digest = checked_md5(call)
    part = state.oss.upload_part(
        call.bucket, call.key, upload_id, part_number, call.request.body, md5_digest=digest
    )
    return _stored_response(part.etag, part.crc64, digest)


def list_parts(state: EmulatorState, call: Call) -> Response:
    call.check_encoding_type()
    upload_id = upload_id_of(call)
    marker = call.int_param("part-number-marker", 0, 0, MAX_PARTS)
    max_parts = call.int_param("max-parts", 1000, 1, 1000)
    parts, truncated = state.oss.list_parts(
        call.bucket, call.key, upload_id, after=marker, max_parts=max_parts
    )
    next_marker = parts[-1].part_number if parts else marker
    part_nodes: list[xmlutil.Node] = [
        (
            "Part",
            [
                ("PartNumber", p.part_number),
                ("LastModified", xmlutil.iso8601(p.last_modified)),
                ("ETag", f'"{p.etag}"'),
                ("HashCrc64ecma", str(p.crc64)),
                ("Size", p.size),
            ],
        )
        for p in parts
    ]
    children: list[xmlutil.Node] = [
        ("Bucket", call.bucket),
        ("Key", call.encode(call.key)),
        ("UploadId", upload_id),
        ("StorageClass", "Standard"),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", next_marker),
        ("MaxParts", max_parts),
        ("IsTruncated", "true" if truncated else "false"),
        ("EncodingType", "url" if call.url_encoding else None),
        *part_nodes,
    ]
    return xml_response(call, "ListPartsResult", children)


def _requested_parts(call: Call) -> list[tuple[int, str]]:
    root = xmlutil.parse(
        call.request.body_bytes(), max_bytes=COMPLETE_MAX_XML, root="CompleteMultipartUpload"
    )
    nodes = root.findall("Part")
    if len(nodes) > MAX_PARTS:
        raise errors.malformed_xml("The XML you provided lists more than 10000 parts.")
    requested: list[tuple[int, str]] = []
    for node in nodes:
        raw = xmlutil.require_text(node, "PartNumber").strip()
        etag = xmlutil.require_text(node, "ETag")
        number = parse_decimal(raw) or 0
        if not 1 <= number <= MAX_PARTS:
            raise errors.invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive.",
                "PartNumber",
                raw,
            )
        requested.append((number, etag))
    return requested


def complete_upload(state: EmulatorState, call: Call) -> Response:
    call.check_encoding_type()
    upload_id = upload_id_of(call)
    checked_md5(call)
    complete_all = (call.request.headers.get("x-oss-complete-all") or "").strip().lower() == "yes"
    if complete_all and call.request.body_bytes().strip():
        raise errors.invalid_argument(
            "Should not specify both complete all header and http body.",
            "x-oss-complete-all",
            "yes",
        )
    requested = None if complete_all else _requested_parts(call)
    info = state.oss.complete_upload(call.bucket, call.key, upload_id, requested)
    path = call.key if call.target.virtual_hosted else f"{call.bucket}/{call.key}"
    location = f"{call.request.scheme}://{call.request.host}/{path}"
    response = xml_response(
        call,
        "CompleteMultipartUploadResult",
        [
            ("EncodingType", "url" if call.url_encoding else None),
            ("Location", call.encode(location)),
            ("Bucket", call.bucket),
            ("Key", call.encode(call.key)),
            ("ETag", f'"{info.etag}"'),
        ],
    )
    response.headers.extend([("ETag", f'"{info.etag}"'), ("x-oss-hash-crc64ecma", str(info.crc64))])
    if SEQUENTIAL_MARK in info.headers:
        whole = finish_sequential(state.oss, call.bucket, call.key)
        response.headers.append(("Content-MD5", whole))
    return response


def abort_upload(state: EmulatorState, call: Call) -> Response:
    state.oss.abort_upload(call.bucket, call.key, upload_id_of(call))
    return empty_response(204)


def list_uploads(state: EmulatorState, call: Call) -> Response:
    call.check_encoding_type()
    prefix, delimiter = call.param("prefix"), call.param("delimiter")
    key_marker, id_marker = call.param("key-marker"), call.param("upload-id-marker")
    max_uploads = call.int_param("max-uploads", 1000, 1, 1000)
    page = state.oss.list_uploads(
        call.bucket,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        upload_id_marker=id_marker,
        max_uploads=max_uploads,
    )
    next_key = next_id = ""
    if page.truncated:
        last = page.last_item
        if last is not None and last.key == page.next_marker:
            next_key, next_id = last.key, last.upload_id
        else:
            next_key = page.next_marker
    children: list[xmlutil.Node] = [
        ("Bucket", call.bucket),
        ("KeyMarker", call.encode(key_marker)),
        ("UploadIdMarker", id_marker),
        ("NextKeyMarker", call.encode(next_key)),
        ("NextUploadIdMarker", next_id),
        ("Delimiter", call.encode(delimiter)),
        ("Prefix", call.encode(prefix)),
        ("MaxUploads", max_uploads),
        ("IsTruncated", "true" if page.truncated else "false"),
        ("EncodingType", "url" if call.url_encoding else None),
        *[
            (
                "Upload",
                [
                    ("Key", call.encode(u.key)),
                    ("UploadId", u.upload_id),
                    ("StorageClass", "Standard"),
                    ("Initiated", xmlutil.iso8601(u.initiated)),
                ],
            )
            for u in page.items
        ],
        *[("CommonPrefixes", [("Prefix", call.encode(p))]) for p in page.prefixes],
    ]
    return xml_response(call, "ListMultipartUploadsResult", children)


OBJECT_HANDLERS: dict[str, Handler] = {
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": head_object,
    "GetObjectMeta": get_object_meta,
    "DeleteObject": delete_object,
    "DeleteMultipleObjects": delete_multiple,
    "InitiateMultipartUpload": initiate_upload,
    "UploadPart": upload_part,
    "ListParts": list_parts,
    "CompleteMultipartUpload": complete_upload,
    "AbortMultipartUpload": abort_upload,
    "ListMultipartUploads": list_uploads,
}
