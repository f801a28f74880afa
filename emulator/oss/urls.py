"""OSS addressing and operation classification: which bucket, which key, which API.

Path style (``/bucket/key``) is used when the Host is an IP address, ``localhost`` or a
name without a dot; virtual-hosted style (``Host: bucket.<endpoint>``) otherwise, unless
the first label is itself an endpoint name (``oss-cn-shanghai.aliyuncs.com``). Keys are
percent-decoded from the raw path (oss2 encodes ``/`` as ``%2F``, v2 does not); ``+`` in
a path is a literal plus. The API is looked up in a table: the level addressed (service,
bucket or object), the method, and the first sub-resource (``?uploads``, ``?uploadId=``...)
in :data:`SUB_RESOURCE_PRECEDENCE` that the table has for that method.

Nothing here touches state, so the app can classify a request before reading its body.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, unquote

from emulator.http import Request
from emulator.oss.exceptions import OssError, invalid_bucket_name, invalid_object_name

MAX_KEY_BYTES = 1023
_CACHEABLE_LENGTH = 2048
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, slots=True, kw_only=True)
class OssTarget:
    """The addressed resource. ``key`` is decoded; ``None`` for bucket or service level."""

    bucket: str | None
    key: str | None
    operation: str
    params: dict[str, str]
    virtual_hosted: bool


def split_host(host: str) -> str:
    """The host name without a port (handles ``[::1]:80``)."""
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_ip_or_local(hostname: str) -> bool:
    if hostname in ("localhost", ""):
        return True
    try:
        ipaddress.ip_address(hostname)
    except ValueError:
        return "." not in hostname
    return True


@functools.lru_cache(maxsize=512)
def bucket_from_host(host: str) -> str | None:
    """The bucket of a virtual-hosted request, or None for path style."""
    hostname = split_host(host).lower()
    if is_ip_or_local(hostname):
        return None
    first, _, rest = hostname.partition(".")
    if first.startswith("oss-") or first in ("oss", "vod", "sts") or not rest:
        return None
    return first


def valid_bucket_name(name: str) -> bool:
    """3-63 characters of lower-case letters, digits and ``-``, not starting/ending in ``-``."""
    return bool(_BUCKET_RE.match(name))


def validate_key(key: str) -> None:
    """OSS key rules: 1-1023 UTF-8 bytes, no NUL, no leading ``/`` or ``\\``."""
    encoded = key.encode("utf-8", "surrogatepass")
    if not 1 <= len(encoded) <= MAX_KEY_BYTES or "\x00" in key or key[0] in "/\\":
        raise invalid_object_name(key)


def _decode_path(raw: str) -> str:
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise OssError(
            400, "InvalidURI", "Couldn't parse the specified URI.", "0016-00000001"
        ) from None


def locate(request: Request) -> tuple[str | None, str | None, bool]:
    """``(bucket, key, virtual_hosted)`` from the Host and raw path; no validation."""
    return _locate(request.host, request.raw_path)


def _locate(host: str, raw_path: str) -> tuple[str | None, str | None, bool]:
    raw_path = raw_path or "/"
    host_bucket = bucket_from_host(host)
    if host_bucket is not None:
        rest = raw_path[1:] if raw_path.startswith("/") else raw_path
        return host_bucket, (_decode_path(rest) or None), True
    trimmed = raw_path[1:] if raw_path.startswith("/") else raw_path
    if not trimmed:
        return None, None, False
    raw_bucket, slash, raw_key = trimmed.partition("/")
    bucket = _decode_path(raw_bucket)
    key = _decode_path(raw_key) if slash else ""
    return bucket, (key or None), False


# Which sub-resource picks the API when a request names several, first wins. A token
# ``name=value`` means that parameter with that value (``list-type=2``: ListObjectsV2).
SUB_RESOURCE_PRECEDENCE: tuple[str, ...] = (
    "bucketInfo",
    "location",
    "uploads",
    "uploadId",
    "partNumber",
    "acl",
    "objectMeta",
    "append",
    "delete",
    "list-type=2",
)

# (method, sub-resource or None) -> API name, for a request addressed to a bucket ...
BUCKET_OPERATIONS: dict[tuple[str, str | None], str] = {
    ("PUT", None): "PutBucket",
    ("PUT", "acl"): "PutBucketAcl",
    ("GET", None): "ListObjects",
    ("GET", "list-type=2"): "ListObjectsV2",
    ("GET", "bucketInfo"): "GetBucketInfo",
    ("GET", "location"): "GetBucketLocation",
    ("GET", "uploads"): "ListMultipartUploads",
    ("GET", "acl"): "GetBucketAcl",
    ("HEAD", None): "HeadBucket",
    ("HEAD", "bucketInfo"): "GetBucketInfo",
    ("HEAD", "location"): "GetBucketLocation",
    ("HEAD", "uploads"): "ListMultipartUploads",
    ("HEAD", "acl"): "GetBucketAcl",
    ("DELETE", None): "DeleteBucket",
    ("POST", "delete"): "DeleteMultipleObjects",
}

# ... and to an object.
OBJECT_OPERATIONS: dict[tuple[str, str | None], str] = {
    ("PUT", None): "PutObject",
    ("PUT", "uploadId"): "UploadPart",
    ("PUT", "partNumber"): "UploadPart",
    ("PUT", "acl"): "PutObjectAcl",
    ("GET", None): "GetObject",
    ("GET", "uploadId"): "ListParts",
    ("GET", "acl"): "GetObjectAcl",
    ("HEAD", None): "HeadObject",
    ("HEAD", "objectMeta"): "GetObjectMeta",
    ("DELETE", None): "DeleteObject",
    ("DELETE", "uploadId"): "AbortMultipartUpload",
    ("POST", "uploads"): "InitiateMultipartUpload",
    ("POST", "uploadId"): "CompleteMultipartUpload",
    ("POST", "append"): "AppendObject",
}


def _operation(method: str, bucket: str | None, key: str | None, params: dict[str, str]) -> str:
    if method == "OPTIONS":
        return "Options"  # a CORS preflight, at every level
    if bucket is None:
        return "ListBuckets" if method == "GET" else "Unknown"
    table = BUCKET_OPERATIONS if key is None else OBJECT_OPERATIONS
    for token in SUB_RESOURCE_PRECEDENCE:
        if _names(token, params) and (method, token) in table:
            return table[method, token]
    return table.get((method, None), "Unknown")


def _names(token: str, params: dict[str, str]) -> bool:
    name, equals, value = token.partition("=")
    return name in params and (not equals or params[name] == value)


# A copy is a PUT that names its source in a header, not in the query.
COPY_OPERATIONS = {"PutObject": "CopyObject", "UploadPart": "UploadPartCopy"}


def classify(request: Request) -> OssTarget:
    """Resolve bucket, key and API name; raises OssError only for undecodable URIs.

    A pure function of the request line, Host and ``x-oss-copy-source`` (which turns
    PutObject into CopyObject and UploadPart into UploadPartCopy), cached because the
    server, the app and the OSS handler each classify every request. The returned
    ``params`` dict is shared: callers must not mutate it."""
    args = (request.method, request.raw_path, request.raw_query, request.host)
    if len(request.raw_path) + len(request.raw_query) > _CACHEABLE_LENGTH:
        target = _classify.__wrapped__(*args)  # keep huge request lines out of the cache
    else:
        target = _classify(*args)
    copied = COPY_OPERATIONS.get(target.operation)
    if copied is not None and request.headers.get("x-oss-copy-source") is not None:
        return replace(target, operation=copied)
    return target


@functools.lru_cache(maxsize=1024)
def _classify(method: str, raw_path: str, raw_query: str, host: str) -> OssTarget:
    bucket, key, virtual = _locate(host, raw_path)
    params: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        params.setdefault(name, value)
    return OssTarget(
        bucket=bucket,
        key=key,
        operation=_operation(method, bucket, key, params),
        params=params,
        virtual_hosted=virtual,
    )


def retarget(target: OssTarget, method: str, *, bucket: str, key: str) -> OssTarget:
    """The same request addressed to ``bucket``/``key`` (the API name is worked out again:
    ``PUT /name`` is PutBucket path-style but PutObject once ``name`` is known to be a key)."""
    return OssTarget(
        bucket=bucket,
        key=key,
        operation=_operation(method, bucket, key, target.params),
        params=target.params,
        virtual_hosted=False,
    )


def validate_target(target: OssTarget) -> None:
    """Reject malformed bucket names and keys before any state is touched."""
    if target.bucket is not None and not valid_bucket_name(target.bucket):
        raise invalid_bucket_name(target.bucket)
    if target.key is not None:
        validate_key(target.key)
