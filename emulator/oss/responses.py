"""OSS request handling: authenticate, dispatch on the API name, serialize.

No business rules live here (they are in :mod:`emulator.oss.models`); this module
parses parameters and headers, calls the model and writes the XML and headers the SDKs
read. Object and multipart handlers are in ``object_responses.py``.

:func:`handle_oss` never raises: every failure becomes an OSS error response, and an
unexpected exception (a bug) becomes a logged ``InternalError``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from emulator.faults.effects import ErrorEffect
from emulator.http import Request, Response
from emulator.oss import exceptions as errors
from emulator.oss import xmlutil
from emulator.oss.auth import AuthContext, authenticate, authorize, claimed_access_key_id
from emulator.oss.exceptions import OssError
from emulator.oss.models import ObjectInfo
from emulator.oss.object_extra_responses import EXTRA_OBJECT_HANDLERS, copy_source_target
from emulator.oss.object_responses import OBJECT_HANDLERS
from emulator.oss.urls import OssTarget, classify, retarget, validate_target
from emulator.oss.wire import (
    Call,
    empty_response,
    error_response,
    finish,
    new_request_id,
    preflight,
    xml_response,
)

if TYPE_CHECKING:
    from emulator.state import EmulatorState

log = logging.getLogger("emulator.oss")

Handler = Callable[["EmulatorState", Call], Response]
_CREATE_BUCKET_MAX_XML = 64 * 1024


def _endpoint(state: EmulatorState) -> str:
    return f"oss-{state.config.region}"


def _owner(state: EmulatorState) -> list[xmlutil.Node]:
    return [("ID", state.config.account_id), ("DisplayName", state.config.account_id)]


def list_buckets(state: EmulatorState, call: Call) -> Response:
    prefix = call.param("prefix")
    marker = call.param("marker")
    max_keys = call.int_param("max-keys", 1000, 1, 1000)
    buckets = [b for b in state.oss.list_buckets() if b.name.startswith(prefix) and b.name > marker]
    truncated = len(buckets) > max_keys
    buckets = buckets[:max_keys]
    endpoint = _endpoint(state)
    children: list[xmlutil.Node] = [
        ("Prefix", prefix),
        ("Marker", marker),
        ("MaxKeys", max_keys),
        ("IsTruncated", "true" if truncated else "false"),
        ("NextMarker", buckets[-1].name if truncated and buckets else None),
        ("Owner", _owner(state)),
        (
            "Buckets",
            [
                (
                    "Bucket",
                    [
                        ("CreationDate", xmlutil.iso8601(b.created_at)),
                        ("ExtranetEndpoint", f"{endpoint}.aliyuncs.com"),
                        ("IntranetEndpoint", f"{endpoint}-internal.aliyuncs.com"),
                        ("Location", endpoint),
                        ("Name", b.name),
                        ("Region", state.config.region),
                        ("StorageClass", "Standard"),
                    ],
                )
                for b in buckets
            ],
        ),
    ]
    return xml_response(call, "ListAllMyBucketsResult", children)


def put_bucket(state: EmulatorState, call: Call) -> Response:
    body = call.request.body_bytes()
    if body.strip():
        # Parsed for well-formedness only: storage class and redundancy are not modelled.
        xmlutil.parse(
            body,
            max_bytes=_CREATE_BUCKET_MAX_XML,
            root="CreateBucketConfiguration",
        )
    state.oss.create_bucket(call.bucket)
    return empty_response()


def delete_bucket(state: EmulatorState, call: Call) -> Response:
    state.oss.delete_bucket(call.bucket)
    return empty_response(204)


def get_bucket_info(state: EmulatorState, call: Call) -> Response:
    bucket = state.oss.get_bucket(call.bucket)
    endpoint = _endpoint(state)
    if call.request.method == "HEAD":
        return empty_response()
    info: list[xmlutil.Node] = [
        ("AccessMonitor", "Disabled"),
        ("CreationDate", xmlutil.iso8601(bucket.created_at)),
        ("ExtranetEndpoint", f"{endpoint}.aliyuncs.com"),
        ("IntranetEndpoint", f"{endpoint}-internal.aliyuncs.com"),
        ("Location", endpoint),
        ("StorageClass", "Standard"),
        ("TransferAcceleration", "Disabled"),
        ("CrossRegionReplication", "Disabled"),
        ("Name", bucket.name),
        ("ResourceGroupId", "rg-default"),
        ("DataRedundancyType", "LRS"),
        ("Owner", _owner(state)),
        ("AccessControlList", [("Grant", "private")]),
        ("ServerSideEncryptionRule", [("SSEAlgorithm", "None")]),
        ("BucketPolicy", [("LogBucket", ""), ("LogPrefix", "")]),
    ]
    return xml_response(call, "BucketInfo", [("Bucket", info)])


def get_bucket_location(state: EmulatorState, call: Call) -> Response:
    state.oss.get_bucket(call.bucket)
    return Response(
        status=200,
        headers=[("Content-Type", "application/xml")],
        body=(
            xmlutil.XML_DECLARATION + f"<LocationConstraint>{_endpoint(state)}</LocationConstraint>"
        ).encode(),
    )


def get_bucket_acl(state: EmulatorState, call: Call) -> Response:
    state.oss.get_bucket(call.bucket)
    return xml_response(
        call,
        "AccessControlPolicy",
        [("Owner", _owner(state)), ("AccessControlList", [("Grant", "private")])],
    )


def head_bucket(state: EmulatorState, call: Call) -> Response:
    state.oss.get_bucket(call.bucket)
    return empty_response()


def _contents(
    call: Call, items: list[object], *, owner: list[xmlutil.Node] | None
) -> list[xmlutil.Node]:
    nodes: list[xmlutil.Node] = []
    for item in items:
        assert isinstance(item, ObjectInfo)
        nodes.append(
            (
                "Contents",
                [
                    ("Key", call.encode(item.key)),
                    ("LastModified", xmlutil.iso8601(item.last_modified)),
                    ("ETag", f'"{item.etag}"'),
                    ("Type", item.object_type),
                    ("Size", item.size),
                    ("StorageClass", "Standard"),
                    ("Owner", owner),
                ],
            )
        )
    return nodes


def list_objects(state: EmulatorState, call: Call) -> Response:
    call.check_encoding_type()
    prefix, delimiter, marker = call.param("prefix"), call.param("delimiter"), call.param("marker")
    max_keys = call.int_param("max-keys", 100, 1, 1000)
    page = state.oss.list_objects(
        call.bucket, prefix=prefix, delimiter=delimiter, after=marker, max_keys=max_keys
    )
    children: list[xmlutil.Node] = [
        ("Name", call.bucket),
        ("Prefix", call.encode(prefix)),
        ("Marker", call.encode(marker)),
        ("MaxKeys", max_keys),
        ("Delimiter", call.encode(delimiter)),
        ("EncodingType", "url" if call.url_encoding else None),
        ("IsTruncated", "true" if page.truncated else "false"),
        ("NextMarker", call.encode(page.next_marker) if page.truncated else None),
        *_contents(call, list(page.items), owner=_owner(state)),
        *[("CommonPrefixes", [("Prefix", call.encode(p))]) for p in page.prefixes],
    ]
    return xml_response(call, "ListBucketResult", children)


def _decode_token(token: str) -> str:
    try:
        padded = token.encode("ascii") + b"=" * (-len(token) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise errors.invalid_argument(
            "The continuation token provided is incorrect.", "continuation-token", token
        ) from None


def _encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii").rstrip("=")


def list_objects_v2(state: EmulatorState, call: Call) -> Response:
    call.check_encoding_type()
    prefix, delimiter = call.param("prefix"), call.param("delimiter")
    token, start_after = call.param("continuation-token"), call.param("start-after")
    after = _decode_token(token) if token else start_after
    max_keys = call.int_param("max-keys", 100, 1, 1000)
    fetch_owner = call.param("fetch-owner") == "true"
    page = state.oss.list_objects(
        call.bucket, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys
    )
    children: list[xmlutil.Node] = [
        ("Name", call.bucket),
        ("Prefix", call.encode(prefix)),
        ("StartAfter", call.encode(start_after) if start_after else None),
        ("ContinuationToken", token or None),
        ("MaxKeys", max_keys),
        ("Delimiter", call.encode(delimiter)),
        ("EncodingType", "url" if call.url_encoding else None),
        ("IsTruncated", "true" if page.truncated else "false"),
        ("NextContinuationToken", _encode_token(page.next_marker) if page.truncated else None),
        ("KeyCount", len(page.items) + len(page.prefixes)),
        *_contents(call, list(page.items), owner=_owner(state) if fetch_owner else None),
        *[("CommonPrefixes", [("Prefix", call.encode(p))]) for p in page.prefixes],
    ]
    return xml_response(call, "ListBucketResult", children)


BUCKET_HANDLERS: dict[str, Handler] = {
    "ListBuckets": list_buckets,
    "PutBucket": put_bucket,
    "DeleteBucket": delete_bucket,
    "GetBucketInfo": get_bucket_info,
    "GetBucketLocation": get_bucket_location,
    "GetBucketAcl": get_bucket_acl,
    "HeadBucket": head_bucket,
    "ListObjects": list_objects,
    "ListObjectsV2": list_objects_v2,
}
HANDLERS: dict[str, Handler] = {**BUCKET_HANDLERS, **OBJECT_HANDLERS, **EXTRA_OBJECT_HANDLERS}


def _bucketless_target(
    state: EmulatorState, request: Request, target: OssTarget, ctx: AuthContext
) -> tuple[OssTarget, bool | None]:
    """Recover the bucket of a browser request that could not name it; with the target,
    whether its bucket exists when that was looked up (None: not looked up).

    ali-oss in a browser, given an IP or ``localhost`` endpoint (what a VOD UploadAddress
    holds when the app reached the emulator by IP), sends ``PUT /<key>`` with the bucket in
    neither the Host (a browser cannot override it) nor the path, while signing
    ``/<bucket>/<key>``. When the first path segment is not a bucket and the request's
    credential is scoped to one object (a VOD UploadAuth), the whole path is that object's
    key in the credential's bucket. So is another key whose signature verifies as in that
    bucket (one video's UploadAuth used on another's UploadAddress): authorize() then
    answers AccessDenied, as OSS does, instead of reading ``sv`` as a bucket name.
    Anything else is left alone and fails as before.
    """
    if target.virtual_hosted or target.bucket is None:
        return target, None
    if state.oss.bucket_exists(target.bucket):
        return target, True
    access_key_id = claimed_access_key_id(request, target.params)
    credential = None if access_key_id is None else state.credentials.get(access_key_id)
    scope = None if credential is None else credential.scope
    if scope is None or scope.bucket is None:
        return target, False
    whole = target.bucket if target.key is None else f"{target.bucket}/{target.key}"
    covered = whole == scope.key or (
        scope.key_prefix is not None and whole.startswith(scope.key_prefix)
    )
    retargeted = retarget(target, request.method, bucket=scope.bucket, key=whole)
    if not covered:
        try:
            authenticate(request, retargeted, ctx)
        except OssError as error:
            if error.code == "SignatureDoesNotMatch":
                return target, False
    return retargeted, None


def _admit(state: EmulatorState, request: Request, call: Call) -> tuple[Call, Handler]:
    """Everything decided from the head alone: the target, the bucket, the signature and
    the credential's scope. Raises the OssError to answer; the body is not looked at,
    because no OSS signature covers it (V1 signs Content-MD5, V4 UNSIGNED-PAYLOAD)."""
    target = call.target
    ctx = AuthContext(
        credentials=state.credentials,
        now=call.now,
        max_skew=state.config.max_clock_skew_seconds,
        regions=state.config.v4_regions(),
    )
    target, bucket_exists = _bucketless_target(state, request, target, ctx)
    if target is not call.target:
        call = replace(call, target=target)
    validate_target(target)
    # As OSS: a missing bucket is NoSuchBucket before any signature check. Answering
    # SignatureDoesNotMatch instead would send the VOD JS SDK into its token-refresh loop.
    if target.bucket is not None and target.operation != "PutBucket":
        if bucket_exists is None:
            bucket_exists = state.oss.bucket_exists(target.bucket)
        if not bucket_exists:
            raise errors.no_such_bucket(target.bucket)
    credential = authenticate(request, target, ctx)
    handler = HANDLERS.get(target.operation)
    if handler is None:
        if target.operation == "PutBucketAcl":
            raise errors.not_implemented(target.operation)
        raise errors.method_not_allowed(request.method)
    authorize(credential, target)
    if target.operation in ("CopyObject", "UploadPartCopy"):
        authorize(credential, copy_source_target(request))
    return call, handler


@dataclass(frozen=True, slots=True)
class Admission:
    """What :func:`admit_oss` decided from a request's head (target, bucket, signature,
    scope): :func:`handle_oss` given it runs the handler without deciding it again."""

    call: Call
    handler: Handler


def _dispatch(
    state: EmulatorState, request: Request, call: Call, admitted: Admission | None
) -> Response:
    if admitted is not None:
        admitted_call = admitted.call
        call = Call(
            request=request,
            target=admitted_call.target,
            request_id=admitted_call.request_id,
            now=call.now,
        )
        handler = admitted.handler
    elif call.target.operation == "Options":
        return preflight(request)
    else:
        call, handler = _admit(state, request, call)
    if len(request.body) > state.config.max_body_bytes:
        raise errors.entity_too_large(state.config.max_body_bytes)
    return handler(state, call)


def admit_oss(state: EmulatorState, request: Request) -> Response | Admission | None:
    """The error answer for an OSS request whose head already fails (unknown target or
    bucket, bad signature, no permission), else its :class:`Admission` (None for a CORS
    preflight, which has nothing to admit).

    The socket server asks this before reading a body (EMU-SEC-001): a request that
    cannot be served is answered without a byte of its body read or allocated, and one
    that can is authenticated once, from its head, as OSS does. ``request.body`` is
    ignored.
    """
    request_id = new_request_id()
    now = state.clock.now()
    target = safe_classify(request)
    try:
        if isinstance(target, OssError):
            raise target
        if target.operation == "Options":
            return None
        call = Call(request=request, target=target, request_id=request_id, now=now)
        return Admission(*_admit(state, request, call))
    except OssError as error:
        return finish(error_response(request, error, request_id), request, request_id, now)
    except Exception:
        log.exception("OSS admission failed on %s %s", request.method, request.raw_path[:200])
        response = error_response(request, errors.internal_error(), request_id)
        return finish(response, request, request_id, now)


def safe_classify(request: Request) -> OssTarget | OssError:
    try:
        return classify(request)
    except OssError as error:
        return error


def handle_oss(
    state: EmulatorState,
    request: Request,
    *,
    injected: ErrorEffect | None = None,
    admitted: Admission | None = None,
) -> Response:
    """Serve one OSS request; ``injected`` answers with that error without running it;
    ``admitted`` is what :func:`admit_oss` decided from this request's head."""
    now = state.clock.now()
    if admitted is not None and injected is None:
        request_id = admitted.call.request_id
        target: OssTarget | OssError = admitted.call.target
    else:
        admitted = None
        request_id = new_request_id()
        target = safe_classify(request)
    try:
        if injected is not None:
            raise OssError(injected.status, injected.code, injected.message or injected.code)
        if isinstance(target, OssError):
            raise target
        call = Call(request=request, target=target, request_id=request_id, now=now)
        response = _dispatch(state, request, call, admitted)
    except OssError as error:
        response = error_response(request, error, request_id)
    except Exception:
        log.exception("OSS handler failed on %s %s", request.method, request.raw_path[:200])
        response = error_response(request, errors.internal_error(), request_id)
    return finish(response, request, request_id, now)
