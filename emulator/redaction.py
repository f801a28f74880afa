"""Keeping secrets out of everything the emulator shows (EMU-SEC-005).

Signed requests carry their credentials in the query string: ``Signature``,
``SecurityToken`` and ``AccessKeyId`` (RPC), ``OSSAccessKeyId``, ``Signature`` and
``security-token`` (OSS V1 presigned URLs), ``x-oss-credential``, ``x-oss-signature`` and
``x-oss-security-token`` (V4), ``AuthInfo`` (the upload SDKs' telemetry), ``AuthKey`` (VOD
SetMessageCallback's callback signing key). The request log,
the state dump and the server's log lines show a request's query only after
:func:`redact_query` has replaced each such value with ``REDACTED``; names and every other
value stay as they arrived, so a test can still see what was asked.

A temporary credential is shown by the control plane as :func:`mask_access_key_id` (the
``STS.`` prefix and the last 4 characters) and named by its :func:`token_ref`, a hash of
its AccessKeyId; a control path that names a token any other way (its full AccessKeyId,
which the control plane accepts) is shown with that segment replaced (:func:`redact_path`).
"""

from __future__ import annotations

import functools
import hashlib
import re
from urllib.parse import unquote_plus

REDACTED = "REDACTED"

# A parameter is secret when its lower-cased name contains one of these.
_SECRET_MARKERS = (
    "signature",
    "token",
    "secret",
    "accesskey",
    "credential",
    "authinfo",
    "authkey",
)
# ...unless it is one of these public ones.
_PUBLIC = frozenset(
    {
        "continuation-token",
        "next-continuation-token",
        "signaturemethod",
        "signatureversion",
        "signaturetype",
        "signaturenonce",
        "x-oss-signature-version",
    }
)


def is_secret_name(name: str) -> bool:
    lowered = name.strip().lower()
    if lowered in _PUBLIC:
        return False
    return any(marker in lowered for marker in _SECRET_MARKERS)


@functools.lru_cache(maxsize=512)
def _is_secret_short_name(raw_name: str) -> bool:
    return is_secret_name(unquote_plus(raw_name))


def _is_secret_raw_name(raw_name: str) -> bool:
    """:func:`is_secret_name` of a still percent-encoded query name. The same few names
    come in every request, so short ones are cached (at most 512 of 64 characters)."""
    if len(raw_name) <= 64:
        return _is_secret_short_name(raw_name)
    return is_secret_name(unquote_plus(raw_name))


def redact_query(raw_query: str) -> str:
    """``raw_query`` with the value of every secret parameter replaced (see module)."""
    if not raw_query:
        return raw_query
    pieces = []
    for piece in raw_query.split("&"):
        name = piece.partition("=")[0]
        pieces.append(f"{name}={REDACTED}" if _is_secret_raw_name(name) else piece)
    return "&".join(pieces)


def redact_target(target: str) -> str:
    """A request target (``/path?query``, or an absolute URI, or a request line) with its
    query and any token path segment redacted."""
    path, sep, query = target.partition("?")
    return f"{redact_path(path)}{sep}{redact_query(query)}" if sep else redact_path(target)


TOKEN_REF_PREFIX = "tok-"
_TOKEN_REF = re.compile(r"tok-[0-9a-f]{16}")
# The segment after /_emulator/tokens/ (EMU-CTL-006 paths), wherever the path appears.
_TOKEN_SEGMENT = re.compile(r"(/_emulator/tokens/)([^/?#\s]+)")


def mask_access_key_id(access_key_id: str) -> str:
    """How the control plane shows a temporary AccessKeyId: its first and last 4
    characters (``STS.***1a2b``), enough to tell tokens apart, never the whole id."""
    if len(access_key_id) <= 12:
        return REDACTED
    return f"{access_key_id[:4]}***{access_key_id[-4:]}"


def token_ref(access_key_id: str) -> str:
    """The handle the control plane names a temporary credential by (``tok-`` and 16 hex
    digits of the SHA-256 of its AccessKeyId): listed next to the masked id, so a test can
    expire a token it listed, and computable from the full id by a client that holds it,
    so the id never has to travel in a path or a log line."""
    return TOKEN_REF_PREFIX + hashlib.sha256(access_key_id.encode()).hexdigest()[:16]


def is_token_ref(text: str) -> bool:
    return _TOKEN_REF.fullmatch(text) is not None


def redact_path(path: str) -> str:
    """``path`` with a token segment of a control path that is not a :func:`token_ref`
    (a full AccessKeyId, or anything else) replaced by ``REDACTED``."""
    if "/_emulator/tokens/" not in path:
        return path
    return _TOKEN_SEGMENT.sub(
        lambda m: m.group(0) if is_token_ref(m.group(2)) else m.group(1) + REDACTED, path
    )
