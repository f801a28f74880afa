"""Wire half of AppendObject, CopyObject, UploadPartCopy and the object ACL.

Parse what oss2 and alibabacloud-oss-v2 send, call :mod:`emulator.oss.object_ops`, and
write what they read: ``x-oss-next-append-position`` and the whole object's
``x-oss-hash-crc64ecma`` after an append; ``CopyObjectResult``/``CopyPartResult`` XML;
``AccessControlPolicy`` for GetObjectAcl.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import unquote

from emulator.http import Request, Response
from emulator.numbers import parse_decimal
from emulator.oss import exceptions as errors
from emulator.oss import object_ops, xmlutil
from emulator.oss.object_responses import (
    checked_md5,
    new_object,
    part_number_of,
    upload_id_of,
)
from emulator.oss.urls import OssTarget, validate_key
from emulator.oss.wire import Call, empty_response, xml_response

if TYPE_CHECKING:
    from emulator.state import EmulatorState

Handler = Callable[["EmulatorState", Call], Response]


def append_object(state: EmulatorState, call: Call) -> Response:
    raw = call.param("position")
    position = parse_decimal(raw)  # ASCII digits only (EMU-SEC-010)
    if position is None:
        raise errors.invalid_argument("position must be a non-negative integer.", "position", raw)
    digest = checked_md5(call)
    info = object_ops.append_object(
        state.oss,
        call.bucket,
        call.key,
        position=position,
        body=bytes(call.request.body),
        md5_digest=digest,
        new=new_object(call),
    )
    return Response(
        status=200,
        headers=[
            ("ETag", f'"{info.etag}"'),
            ("x-oss-next-append-position", str(info.size)),
            ("x-oss-hash-crc64ecma", str(info.crc64)),
        ],
        body=b"",
    )


def copy_source_target(request: Request) -> OssTarget:
    """The object a copy reads, as a GetObject target, so the caller's credential can be
    authorized for it too: a credential scoped to one key must not copy another in."""
    bucket, key = _parse_copy_source(request)
    return OssTarget(bucket=bucket, key=key, operation="GetObject", params={}, virtual_hosted=False)


def _copy_source(call: Call) -> tuple[str, str]:
    return _parse_copy_source(call.request)


def _parse_copy_source(request: Request) -> tuple[str, str]:
    """``x-oss-copy-source: /bucket/url-quoted-key`` (the leading slash is optional)."""
    raw = (request.headers.get("x-oss-copy-source") or "").strip()
    bucket, slash, quoted_key = raw.removeprefix("/").partition("/")
    key = unquote(quoted_key)
    if not slash or not bucket or not key:
        raise errors.invalid_argument("Invalid x-oss-copy-source.", "x-oss-copy-source", raw)
    validate_key(key)
    return bucket, key


def copy_object(state: EmulatorState, call: Call) -> Response:
    source_bucket, source_key = _copy_source(call)
    directive = (call.request.headers.get("x-oss-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise errors.invalid_argument(
            "x-oss-metadata-directive must be COPY or REPLACE.",
            "x-oss-metadata-directive",
            directive,
        )
    info = object_ops.copy_object(
        state.oss,
        source_bucket=source_bucket,
        source_key=source_key,
        bucket=call.bucket,
        key=call.key,
        replace_metadata=directive == "REPLACE",
        new=new_object(call),
    )
    acl = call.request.headers.get("x-oss-object-acl")
    if acl is not None:
        object_ops.put_object_acl(state.oss, call.bucket, call.key, acl.strip())
    response = xml_response(
        call,
        "CopyObjectResult",
        [("LastModified", xmlutil.iso8601(info.last_modified)), ("ETag", f'"{info.etag}"')],
    )
    response.headers.extend([("ETag", f'"{info.etag}"'), ("x-oss-hash-crc64ecma", str(info.crc64))])
    return response


def upload_part_copy(state: EmulatorState, call: Call) -> Response:
    part_number = part_number_of(call)
    upload_id = upload_id_of(call)
    source_bucket, source_key = _copy_source(call)
    part = object_ops.upload_part_copy(
        state.oss,
        source_bucket=source_bucket,
        source_key=source_key,
        copy_range=call.request.headers.get("x-oss-copy-source-range"),
        bucket=call.bucket,
        key=call.key,
        upload_id=upload_id,
        part_number=part_number,
    )
    response = xml_response(
        call,
        "CopyPartResult",
        [("LastModified", xmlutil.iso8601(part.last_modified)), ("ETag", f'"{part.etag}"')],
    )
    response.headers.extend([("ETag", f'"{part.etag}"'), ("x-oss-hash-crc64ecma", str(part.crc64))])
    return response


def get_object_acl(state: EmulatorState, call: Call) -> Response:
    acl = object_ops.get_object_acl(state.oss, call.bucket, call.key)
    owner = [("ID", state.config.account_id), ("DisplayName", state.config.account_id)]
    return xml_response(
        call,
        "AccessControlPolicy",
        [("Owner", owner), ("AccessControlList", [("Grant", acl)])],
    )


def put_object_acl(state: EmulatorState, call: Call) -> Response:
    acl = (call.request.headers.get("x-oss-object-acl") or "").strip()
    object_ops.put_object_acl(state.oss, call.bucket, call.key, acl)
    return empty_response()


EXTRA_OBJECT_HANDLERS: dict[str, Handler] = {
    "AppendObject": append_object,
    "CopyObject": copy_object,
    "UploadPartCopy": upload_part_copy,
    "GetObjectAcl": get_object_acl,
    "PutObjectAcl": put_object_acl,
}
