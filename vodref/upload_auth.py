"""Decoding VOD's UploadAuth and UploadAddress (base64 of JSON), strictly.

The JS SDK requires ``AccessKeyId``, ``AccessKeySecret``, ``SecurityToken`` and
``Expiration`` in the UploadAuth and ``Endpoint``, ``Bucket``, ``FileName`` in the
UploadAddress; so do we, but a malformed value raises
:class:`~vodref.errors.MalformedAuthError` instead of a stray exception.

Expiry: ``ExpireUTCTime`` (ISO 8601) when present, else ``Expiration`` read as a duration in
seconds. Either becomes a deadline on the driver's monotonic clock, which is what the core
compares with ``now``.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .clock import Clock
from .core import Credentials, ObjectTarget
from .errors import MalformedAuthError

__all__ = ["DecodedAuth", "decode_upload_address", "decode_upload_auth", "encode_json_b64"]

_AUTH_FIELDS = ("AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration")
_ADDRESS_FIELDS = ("Endpoint", "Bucket", "FileName")


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodedAuth:
    credentials: Credentials
    region: str | None
    expires_wall: float | None


def _decode_json_b64(text: object, what: str) -> dict[str, Any]:
    if not isinstance(text, str | bytes) or not text:
        raise MalformedAuthError(f"{what} must be a non-empty base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
        value = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise MalformedAuthError(f"{what} is not base64-encoded JSON") from None
    if not isinstance(value, dict):
        raise MalformedAuthError(f"{what} must decode to a JSON object")
    return value


def encode_json_b64(value: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def _require(value: dict[str, Any], fields: tuple[str, ...], what: str) -> None:
    missing = [name for name in fields if not value.get(name)]
    if missing:
        raise MalformedAuthError(f"{what} lacks {', '.join(missing)}")


def _parse_expiry(value: dict[str, Any], clock: Clock) -> float | None:
    utc = value.get("ExpireUTCTime")
    if isinstance(utc, str) and utc:
        try:
            moment = datetime.fromisoformat(utc.replace("Z", "+00:00"))
        except ValueError:
            raise MalformedAuthError(f"UploadAuth ExpireUTCTime is not ISO 8601: {utc!r}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    expiration = value.get("Expiration")
    try:
        seconds = float(expiration)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        # An ISO timestamp in Expiration (STS style).
        if isinstance(expiration, str):
            try:
                moment = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
            except ValueError:
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            return moment.timestamp()
        return None
    return clock.wall() + seconds


def wall_to_monotonic(expires_wall: float | None, clock: Clock) -> float | None:
    if expires_wall is None:
        return None
    return clock.monotonic() + (expires_wall - clock.wall())


def decode_upload_auth(text: object, clock: Clock) -> DecodedAuth:
    value = _decode_json_b64(text, "UploadAuth")
    _require(value, _AUTH_FIELDS, "UploadAuth")
    for name in _AUTH_FIELDS[:3]:
        if not isinstance(value[name], str):
            raise MalformedAuthError(f"UploadAuth {name} must be a string")
    expires_wall = _parse_expiry(value, clock)
    credentials = Credentials(
        access_key_id=value["AccessKeyId"],
        access_key_secret=value["AccessKeySecret"],
        security_token=value["SecurityToken"],
        expires_at=wall_to_monotonic(expires_wall, clock),
    )
    region = value.get("Region")
    return DecodedAuth(
        credentials=credentials,
        region=region if isinstance(region, str) and region else None,
        expires_wall=expires_wall,
    )


def decode_upload_address(text: object) -> ObjectTarget:
    value = _decode_json_b64(text, "UploadAddress")
    _require(value, _ADDRESS_FIELDS, "UploadAddress")
    for name in _ADDRESS_FIELDS:
        if not isinstance(value[name], str):
            raise MalformedAuthError(f"UploadAddress {name} must be a string")
    return ObjectTarget(endpoint=value["Endpoint"], bucket=value["Bucket"], key=value["FileName"])
