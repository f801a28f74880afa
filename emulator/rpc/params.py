"""Where an RPC request's parameters come from, and which product and action it names.

RPC clients put parameters in the query string (aliyunsdkcore, tea, the JS SDK) or, for a
POST, in an ``application/x-www-form-urlencoded`` body (voduploadsdk's telemetry; RPC v1
signs body parameters too). Action and Version are parameters in RPC v1 and headers in
ACS3; aliyunsdkcore sends the headers as well, so they alone never decide
the signature scheme.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qsl

from emulator.http import Request

VOD_VERSION = "2017-03-21"
STS_VERSION = "2015-04-01"
_PRODUCT_BY_VERSION = {VOD_VERSION: "vod", STS_VERSION: "sts"}

# The JS SDK (1.5.x) and voduploadsdk send these without any signature; they are progress
# telemetry the real service accepts on its own terms.
UNSIGNED_ACTIONS = frozenset({"ReportUploadProgress", "GetUploadProgress"})

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


class SignatureScheme(str, Enum):
    ACS3 = "ACS3"  # Authorization: ACS3-HMAC-SHA256 ... (tea clients)
    RPC_V1 = "RPC"  # Signature=... parameter, HMAC-SHA1 over the parameters
    UNSIGNED = "unsigned"


def form_params(request: Request) -> list[tuple[str, str]]:
    """Decoded form-body pairs, or ``[]`` when the body is not a URL-encoded form."""
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if request.method != "POST" or content_type != FORM_CONTENT_TYPE or not request.body:
        return []
    try:
        text = request.body_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return []
    return parse_qsl(text, keep_blank_values=True)


def all_params(request: Request) -> dict[str, str]:
    """Query then form parameters, decoded; the first occurrence of a name wins. Parsed
    once per request (``Request.memo``); each caller gets its own copy."""
    merged: dict[str, str] | None = request.memo.get("all_params")
    if merged is None:
        merged = {}
        for key, value in [*request.query, *form_params(request)]:
            merged.setdefault(key, value)
        request.memo["all_params"] = merged
    return dict(merged)


def scheme_of(request: Request, params: dict[str, str]) -> SignatureScheme:
    authorization = request.headers.get("Authorization") or ""
    if authorization.startswith("ACS3-"):
        return SignatureScheme.ACS3
    if "Signature" in params:
        return SignatureScheme.RPC_V1
    return SignatureScheme.UNSIGNED


@dataclass(frozen=True, slots=True, kw_only=True)
class RpcTarget:
    """What a request asks for. ``product`` is ``"vod"``, ``"sts"`` or ``None`` (unknown)."""

    scheme: SignatureScheme
    action: str | None
    version: str | None
    product: str | None


def target_of(request: Request, params: dict[str, str]) -> RpcTarget:
    scheme = scheme_of(request, params)
    if scheme is SignatureScheme.ACS3:
        action = request.headers.get("x-acs-action")
        version = request.headers.get("x-acs-version")
    else:
        action = params.get("Action")
        version = params.get("Version")
    product = product_of(request, version)
    if product is None and version is None and action in UNSIGNED_ACTIONS:
        # The JS SDK's GetUploadProgress carries no Version; these actions are VOD's alone.
        product = "vod"
    return RpcTarget(scheme=scheme, action=action, version=version, product=product)


def product_of(request: Request, version: str | None) -> str | None:
    """The product by API version, else by the host name the client addressed."""
    if version is not None:
        return _PRODUCT_BY_VERSION.get(version)
    host = request.host.lower()
    for product in ("vod", "sts"):
        if host.startswith(product + "."):
            return product
    return None
