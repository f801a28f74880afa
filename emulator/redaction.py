"""Keeping secrets out of everything the emulator shows (EMU-SEC-005).

Signed requests carry their credentials in the query string: ``Signature``,
``SecurityToken`` and ``AccessKeyId`` (RPC), ``OSSAccessKeyId``, ``Signature`` and
``security-token`` (OSS V1 presigned URLs), ``x-oss-credential``, ``x-oss-signature`` and
``x-oss-security-token`` (V4), ``AuthInfo`` (the upload SDKs' telemetry), ``AuthKey`` (VOD
SetMessageCallback's callback signing key). The request log,
the state dump and the server's log lines show a request's query only after
:func:`redact_query` has replaced each such value with ``REDACTED``; names and every other
value stay as they arrived, so a test can still see what was asked.
"""

from __future__ import annotations

import functools
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
    """A request target (``/path?query``, or an absolute URI) with its query redacted."""
    path, sep, query = target.partition("?")
    return f"{path}{sep}{redact_query(query)}" if sep else target
