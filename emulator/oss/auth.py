"""OSS request authentication: V1 and V4 header signatures, both presigned-URL forms,
STS security tokens, clock skew and credential scope (specs/emulator-oss.md).

Order of checks, chosen so each failure gets the code a client reacts to:

1. which scheme (none at all is ``AccessDenied``: buckets are private);
2. the AccessKeyId is known (``InvalidAccessKeyId``);
3. a temporary key carries its token (missing: ``InvalidAccessKeyId``, wrong:
   ``InvalidSecurityToken``) and has not expired (``SecurityTokenExpired``). Expiry comes
   before the date check on purpose: a test that moves the emulator clock past a token's
   expiry must see ``SecurityTokenExpired`` (what uploaders refresh on), not a skew error;
4. V4 only: the credential scope names ``oss`` and an accepted region (EMU-SEC-012;
   ``InvalidArgument``, "The signing region in credential is invalid.", EC 0002-00000228
   in a header, 0002-00000226 in a presigned URL) as real OSS binds a V4 signature to
   the endpoint's region, so a client's region bug fails here as in the cloud;
5. the signature (``SignatureDoesNotMatch`` with the server's ``StringToSign``, compared
   with :func:`hmac.compare_digest`);
6. the request date within ``max_clock_skew_seconds`` of the emulator clock or of the
   wall clock (``RequestTimeTooSkewed`` otherwise), or a presigned URL not yet expired on
   the emulator clock (``AccessDenied``, "Request has expired.");
7. the credential's scope allows this operation on this bucket and key (``AccessDenied``).
"""

from __future__ import annotations

import base64
import calendar
import functools
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from email.utils import parsedate_tz
from urllib.parse import quote

from emulator.credentials import Credential, CredentialKind, CredentialStore
from emulator.http import Request
from emulator.numbers import parse_decimal
from emulator.oss.exceptions import OssError, access_denied
from emulator.oss.urls import OssTarget

# Union of oss2 2.19.1 and alibabacloud-oss-v2 1.4.1 V1 sub-resource sets: only these
# query parameters are part of a V1 CanonicalizedResource.
V1_SUBRESOURCES = frozenset(
    [
        "acl",
        "uploads",
        "uploadId",
        "partNumber",
        "group",
        "link",
        "delete",
        "website",
        "location",
        "objectInfo",
        "objectMeta",
        "bucketInfo",
        "stat",
        "append",
        "position",
        "security-token",
        "live",
        "comp",
        "status",
        "vod",
        "startTime",
        "endTime",
        "x-oss-process",
        "symlink",
        "callback",
        "callback-var",
        "tagging",
        "encryption",
        "versions",
        "versioning",
        "versionId",
        "policy",
        "requestPayment",
        "x-oss-traffic-limit",
        "qosInfo",
        "asyncFetch",
        "x-oss-request-payer",
        "sequential",
        "inventory",
        "inventoryId",
        "continuation-token",
        "worm",
        "wormId",
        "wormExtend",
        "replication",
        "replicationLocation",
        "replicationProgress",
        "transferAcceleration",
        "cname",
        "metaQuery",
        "x-oss-ac-source-ip",
        "x-oss-ac-subnet-mask",
        "x-oss-ac-vpc-id",
        "x-oss-ac-forward-allow",
        "resourceGroup",
        "style",
        "styleName",
        "x-oss-async-process",
        "regionList",
        "x-oss-write-get-object-response",
        "bucketArchiveDirectRead",
        "httpsConfig",
        "redundancyTransition",
        "x-oss-target-redundancy-type",
        "x-oss-redundancy-transition-taskid",
        "accessPoint",
        "accessPointPolicy",
        "publicAccessBlock",
        "x-oss-access-point-name",
        "requesterQosInfo",
        "qosRequester",
        "resourcePoolInfo",
        "resourcePool",
        "resourcePoolBuckets",
        "response-content-type",
        "response-content-language",
        "response-cache-control",
        "response-content-encoding",
        "response-expires",
        "response-content-disposition",
        "restore",
        "cors",
        "lifecycle",
        "logging",
        "referer",
        "qos",
        "cloudboxes",
        "quota",
        "overwriteConfig",
    ]
)

V4_ALGORITHM = "OSS4-HMAC-SHA256"
_V4_UNRESERVED = "-_.~"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthContext:
    """``now`` is the emulator clock; ``wall`` the real time. A request date is skewed only
    when it is far from both: SDKs sign with the real time, so a test that moves the
    emulator clock (to expire a token) must not make every later request fail."""

    credentials: CredentialStore
    now: float
    max_skew: float
    # Regions a V4 credential scope may name (EmulatorConfig.v4_regions).
    regions: frozenset[str]
    wall: float = field(default_factory=time.time)


def _signature_mismatch(access_key_id: str, provided: str, string_to_sign: str) -> OssError:
    return OssError(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method.",
        "0002-00000040",
        [
            ("OSSAccessKeyId", access_key_id),
            ("SignatureProvided", provided[:200]),
            ("StringToSign", string_to_sign[:3000]),
        ],
    )


def _invalid_access_key(access_key_id: str) -> OssError:
    return OssError(
        403,
        "InvalidAccessKeyId",
        "The OSS Access Key Id you provided does not exist in our records.",
        "0002-00000002",
        [("OSSAccessKeyId", access_key_id[:128])],
    )


def _header(request: Request, name: str) -> str:
    return (request.headers.get(name) or "").strip()


def _security_token(request: Request, params: dict[str, str]) -> str | None:
    for name in ("x-oss-security-token", "security-token"):
        value = request.headers.get(name)
        if value:
            return value.strip()
    for name in ("x-oss-security-token", "security-token"):
        if params.get(name):
            return params[name]
    return None


def _check_credential(
    request: Request, params: dict[str, str], access_key_id: str, ctx: AuthContext
) -> Credential:
    credential = ctx.credentials.get(access_key_id) if access_key_id else None
    if credential is None:
        raise _invalid_access_key(access_key_id)
    token = _security_token(request, params)
    if credential.kind is CredentialKind.ROOT:
        if token is not None:
            # OSS treats any request with a token as an STS request (0002-00000002).
            raise _invalid_access_key(access_key_id)
        return credential
    if token is None:
        raise _invalid_access_key(access_key_id)
    expected = credential.security_token or ""
    if not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8")):
        raise OssError(
            403,
            "InvalidSecurityToken",
            "The security token you provided is invalid.",
            "0002-00000008",
        )
    if credential.expired(ctx.now):
        raise OssError(
            403,
            "SecurityTokenExpired",
            "The security token you provided has expired.",
            "0002-00000007",
        )
    return credential


def _equal(provided: str, expected: str) -> bool:
    return hmac.compare_digest(provided.encode("utf-8"), expected.encode("utf-8"))


# ---------------------------------------------------------------------------------------
# V1


def v1_canonical_resource(request: Request, target: OssTarget) -> str:
    resource = "/" if target.bucket is None else f"/{target.bucket}/{target.key or ''}"
    pairs = sorted((k, v) for k, v in target.params.items() if k in V1_SUBRESOURCES)
    if pairs:
        resource += "?" + "&".join(f"{k}={v}" if v else k for k, v in pairs)
    return resource


def header_text(value: str) -> str:
    """A header value as the client meant it. The wire carries bytes and the server reads
    them as ISO-8859-1; SDKs send non-ASCII user metadata as UTF-8 and sign the UTF-8
    text, so bytes that are valid UTF-8 are read as UTF-8 (anything else stays as read)."""
    try:
        return value.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def v1_string_to_sign(request: Request, target: OssTarget, date: str) -> str:
    oss_headers = sorted(
        (name.lower(), header_text(value.strip()))
        for name, value in request.headers
        if name.lower().startswith("x-oss-")
    )
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in oss_headers)
    return (
        f"{request.method}\n{_header(request, 'Content-MD5')}\n"
        f"{_header(request, 'Content-Type')}\n{date}\n"
        f"{canonical_headers}{v1_canonical_resource(request, target)}"
    )


def v1_signature(secret: str, string_to_sign: str) -> str:
    # hmac.digest is the one-shot C path: several times cheaper than hmac.new per request.
    digest = hmac.digest(secret.encode("utf-8"), string_to_sign.encode("utf-8"), "sha1")
    return base64.b64encode(digest).decode("ascii")


@functools.lru_cache(maxsize=256)
def parse_http_date(value: str) -> float | None:
    parsed = parsedate_tz(value)
    if parsed is None:
        return None
    offset = parsed[9] or 0
    try:
        return float(calendar.timegm((*parsed[:6], 0, 0, 0))) - offset
    except (OverflowError, ValueError):
        return None


def _check_skew(request_time: float | None, raw: str, ctx: AuthContext) -> None:
    if request_time is None:
        raise access_denied("OSS authentication requires a valid Date.", "0002-00000018")
    if min(abs(request_time - ctx.now), abs(request_time - ctx.wall)) > ctx.max_skew:
        raise OssError(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            "0002-00000504",
            [
                ("RequestTime", raw[:64]),
                ("ServerTime", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(ctx.now))),
            ],
        )


def _verify_v1_header(request: Request, target: OssTarget, ctx: AuthContext) -> Credential:
    authorization = _header(request, "Authorization")[4:]
    access_key_id, colon, provided = authorization.rpartition(":")
    if not colon:
        access_key_id, provided = authorization, ""
    access_key_id = access_key_id.strip()
    credential = _check_credential(request, target.params, access_key_id, ctx)
    date = _header(request, "x-oss-date") or _header(request, "Date")
    string_to_sign = v1_string_to_sign(request, target, date)
    if not _equal(provided.strip(), v1_signature(credential.access_key_secret, string_to_sign)):
        raise _signature_mismatch(access_key_id, provided, string_to_sign)
    _check_skew(parse_http_date(date), date, ctx)
    return credential


def _verify_v1_presigned(
    request: Request, target: OssTarget, params: dict[str, str], ctx: AuthContext
) -> Credential:
    access_key_id = params.get("OSSAccessKeyId", "")
    provided = params.get("Signature", "")
    expires = params.get("Expires", "")
    credential = _check_credential(request, target.params, access_key_id, ctx)
    string_to_sign = v1_string_to_sign(request, target, expires)
    if not _equal(provided, v1_signature(credential.access_key_secret, string_to_sign)):
        raise _signature_mismatch(access_key_id, provided, string_to_sign)
    expires_at = parse_decimal(expires)
    if expires_at is None:
        raise access_denied("Invalid argument: Expires.", "0002-00000020")
    if ctx.now > expires_at:
        raise access_denied("Request has expired.", "0002-00000069")
    return credential


# ---------------------------------------------------------------------------------------
# V4


def _v4_encode(text: str, *, keep_slash: bool = False) -> str:
    return quote(text, safe=_V4_UNRESERVED + ("/" if keep_slash else ""))


def v4_canonical_request(
    request: Request, target: OssTarget, additional: list[str], *, presigned: bool
) -> str:
    uri = "/" if target.bucket is None else f"/{target.bucket}/{target.key or ''}"
    pairs = sorted(
        (_v4_encode(k), _v4_encode(v))
        for k, v in request.query
        if not (presigned and k == "x-oss-signature")
    )
    query = "&".join(f"{k}={v}" if v else k for k, v in pairs)
    wanted = {name.lower() for name in additional}
    headers = sorted(
        (name.lower(), header_text(value.strip()))
        for name, value in request.headers
        if name.lower().startswith("x-oss-")
        or name.lower() in ("content-type", "content-md5")
        or name.lower() in wanted
    )
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in headers)
    payload = _header(request, "x-oss-content-sha256") or "UNSIGNED-PAYLOAD"
    return (
        f"{request.method}\n{_v4_encode(uri, keep_slash=True)}\n{query}\n"
        f"{canonical_headers}\n{';'.join(additional)}\n{payload}"
    )


def v4_signature(secret: str, date: str, region: str, product: str, string_to_sign: str) -> str:
    key = ("aliyun_v4" + secret).encode("utf-8")
    for part in (date, region, product, "aliyun_v4_request"):
        key = hmac.digest(key, part.encode("utf-8"), "sha256")
    return hmac.digest(key, string_to_sign.encode("utf-8"), "sha256").hex()


def _parse_v4_time(value: str) -> float | None:
    try:
        return float(calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None


def _v4_verify(
    request: Request,
    target: OssTarget,
    ctx: AuthContext,
    *,
    credential_scope: str,
    provided: str,
    request_date: str,
    additional: list[str],
    presigned: bool,
) -> Credential:
    access_key_id, _, scope = credential_scope.partition("/")
    credential = _check_credential(request, target.params, access_key_id, ctx)
    scope_parts = scope.split("/")
    if len(scope_parts) != 4 or scope_parts[3] != "aliyun_v4_request":
        raise access_denied("Invalid credential in Authorization.", "0002-00000028")
    day, region, product, _ = scope_parts
    if product != "oss":
        raise access_denied("Invalid credential in Authorization.", "0002-00000028")
    if region not in ctx.regions:
        raise OssError(
            400,
            "InvalidArgument",
            "The signing region in credential is invalid.",
            "0002-00000226" if presigned else "0002-00000228",
            [("ArgumentName", "x-oss-credential" if presigned else "Authorization")],
        )
    # oss2 sorts AdditionalHeaders by first character only: accept the
    # order as sent and the properly sorted one.
    orders = [additional] if additional == sorted(additional) else [additional, sorted(additional)]
    string_to_sign = ""
    for order in orders:
        canonical = v4_canonical_request(request, target, order, presigned=presigned)
        string_to_sign = (
            f"{V4_ALGORITHM}\n{request_date}\n{scope}\n"
            + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        )
        expected = v4_signature(credential.access_key_secret, day, region, product, string_to_sign)
        if _equal(provided, expected):
            return credential
    raise _signature_mismatch(access_key_id, provided, string_to_sign)


def _verify_v4_header(request: Request, target: OssTarget, ctx: AuthContext) -> Credential:
    fields: dict[str, str] = {}
    for item in _header(request, "Authorization")[len(V4_ALGORITHM) :].split(","):
        name, _, value = item.strip().partition("=")
        fields[name.strip()] = value.strip()
    request_date = _header(request, "x-oss-date")
    additional = [h for h in fields.get("AdditionalHeaders", "").lower().split(";") if h]
    credential = _v4_verify(
        request,
        target,
        ctx,
        credential_scope=fields.get("Credential", ""),
        provided=fields.get("Signature", ""),
        request_date=request_date,
        additional=additional,
        presigned=False,
    )
    _check_skew(_parse_v4_time(request_date), request_date, ctx)
    return credential


def _verify_v4_presigned(
    request: Request, target: OssTarget, params: dict[str, str], ctx: AuthContext
) -> Credential:
    request_date = params.get("x-oss-date", "")
    additional = [h for h in params.get("x-oss-additional-headers", "").lower().split(";") if h]
    credential = _v4_verify(
        request,
        target,
        ctx,
        credential_scope=params.get("x-oss-credential", ""),
        provided=params.get("x-oss-signature", ""),
        request_date=request_date,
        additional=additional,
        presigned=True,
    )
    signed_at = _parse_v4_time(request_date)
    parsed_lifetime = parse_decimal(params.get("x-oss-expires", ""))
    lifetime = -1 if parsed_lifetime is None else parsed_lifetime
    if signed_at is None or lifetime < 0:
        raise access_denied("Invalid x-oss-date or x-oss-expires.", "0002-00000020")
    if ctx.now > signed_at + lifetime:
        raise access_denied("Request has expired.", "0002-00000069")
    return credential


def authenticate(request: Request, target: OssTarget, ctx: AuthContext) -> Credential:
    """The credential that signed ``request``, or an OssError saying why not (see module
    docstring for the order of checks). Does not check scope; see :func:`authorize`."""
    authorization = _header(request, "Authorization")
    params = target.params
    if authorization.startswith(V4_ALGORITHM):
        return _verify_v4_header(request, target, ctx)
    if authorization.startswith("OSS "):
        return _verify_v1_header(request, target, ctx)
    if authorization:
        raise access_denied("The authorization header is invalid.", "0002-00000001")
    if params.get("x-oss-signature-version") == V4_ALGORITHM:
        return _verify_v4_presigned(request, target, params, ctx)
    if "OSSAccessKeyId" in params or "Signature" in params:
        return _verify_v1_presigned(request, target, params, ctx)
    raise access_denied(
        "You have no right to access this object because of bucket acl.", "0003-00000001"
    )


def claimed_access_key_id(request: Request, params: dict[str, str]) -> str | None:
    """The AccessKeyId a request says it is signed with, before any verification."""
    authorization = _header(request, "Authorization")
    if authorization.startswith(V4_ALGORITHM):
        for item in authorization[len(V4_ALGORITHM) :].split(","):
            name, _, value = item.strip().partition("=")
            if name.strip() == "Credential":
                return value.strip().split("/", 1)[0] or None
        return None
    if authorization.startswith("OSS "):
        return authorization[4:].rpartition(":")[0].strip() or None
    if "x-oss-credential" in params:
        return params["x-oss-credential"].split("/", 1)[0] or None
    return params.get("OSSAccessKeyId") or None


def authorize(credential: Credential, target: OssTarget) -> None:
    """AccessDenied unless the credential's scope allows this operation on this resource."""
    if not credential.scope.allows(action=target.operation, bucket=target.bucket, key=target.key):
        raise access_denied("Access denied by authorizer's policy.", "0003-00000301")
