"""Plain values shared by events, commands and checkpoints.

All are frozen, slotted, keyword-only dataclasses validated in ``__post_init__``; a bad field
raises :class:`~vodref.core.errors.InvalidEventError` before the value exists. Secrets
(``access_key_secret``, ``security_token``) are excluded from ``repr`` so that logging a
command never leaks them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ._validate import (
    check_float,
    check_instance,
    check_int,
    check_optional_crc64,
    check_optional_str,
    check_str,
)
from .errors import InvalidEventError

__all__ = [
    "Credentials",
    "ErrorKind",
    "ListedPart",
    "MediaKind",
    "ObjectTarget",
    "ServiceError",
    "StsToken",
    "TargetOverride",
]


class MediaKind(enum.Enum):
    """What VOD creates for the file: decides CreateUploadVideo vs CreateUploadImage."""

    VIDEO = "video"
    IMAGE = "image"


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectTarget:
    """Where the bytes go: an OSS endpoint, bucket and object key (the UploadAddress)."""

    endpoint: str
    bucket: str
    key: str

    def __post_init__(self) -> None:
        check_str(self.endpoint, "endpoint", InvalidEventError)
        check_str(self.bucket, "bucket", InvalidEventError)
        check_str(self.key, "key", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetOverride:
    """The JS ``addFile(file, endpoint, bucket, object)`` overrides: each one that is set wins
    over the corresponding field of the UploadAddress the service returns."""

    endpoint: str | None = None
    bucket: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        check_optional_str(self.endpoint, "endpoint", InvalidEventError)
        check_optional_str(self.bucket, "bucket", InvalidEventError)
        check_optional_str(self.key, "key", InvalidEventError)

    def apply(self, address: ObjectTarget) -> ObjectTarget:
        return ObjectTarget(
            endpoint=self.endpoint or address.endpoint,
            bucket=self.bucket or address.bucket,
            key=self.key or address.key,
        )

    def as_target(self) -> ObjectTarget | None:
        """The override as a complete target, or None when a field is missing."""
        if self.endpoint and self.bucket and self.key:
            return ObjectTarget(endpoint=self.endpoint, bucket=self.bucket, key=self.key)
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """Temporary credentials that sign OSS requests (the decoded UploadAuth, or STS).

    ``expires_at`` is on the same clock as the ``now`` the driver passes to the core (normally
    ``time.monotonic()``); the driver converts the service's ``Expiration`` to it. ``None``
    means unknown, which disables proactive refresh for these credentials.
    """

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None

    def __post_init__(self) -> None:
        check_str(self.access_key_id, "access_key_id", InvalidEventError)
        check_str(self.access_key_secret, "access_key_secret", InvalidEventError)
        check_optional_str(self.security_token, "security_token", InvalidEventError)
        if self.expires_at is not None:
            check_float(self.expires_at, "expires_at", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class StsToken:
    """STS credentials the application hands over in STS mode (``setSTSToken``).

    They sign the VOD OpenAPI call the driver makes (CreateUploadVideo, RefreshUploadVideo or
    CreateUploadImage), or, for a direct upload, the OSS requests themselves.
    """

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(repr=False)
    expires_at: float | None = None

    def __post_init__(self) -> None:
        check_str(self.access_key_id, "access_key_id", InvalidEventError)
        check_str(self.access_key_secret, "access_key_secret", InvalidEventError)
        check_str(self.security_token, "security_token", InvalidEventError)
        if self.expires_at is not None:
            check_float(self.expires_at, "expires_at", InvalidEventError)

    def as_credentials(self) -> Credentials:
        return Credentials(
            access_key_id=self.access_key_id,
            access_key_secret=self.access_key_secret,
            security_token=self.security_token,
            expires_at=self.expires_at,
        )


class ErrorKind(enum.Enum):
    """Where a failure came from; the first input of the retry classification."""

    #: The connection failed: refused, reset, DNS, TLS. Retried.
    NETWORK = "network"
    #: The request timed out; it may or may not have taken effect. Retried.
    TIMEOUT = "timeout"
    #: The service answered with an error (``code``/``http_status`` say which).
    SERVICE = "service"
    #: The bytes the service saw differ from the bytes the driver sent (CRC-64 mismatch on a
    #: part). Retried: the part is sent again.
    INTEGRITY = "integrity"
    #: The driver could not do its own part: the source file vanished or cannot be read.
    #: Never retried.
    LOCAL = "local"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceError:
    """A failed command's error, as data. Kept on the file when it fails.

    ``code`` is the OSS/VOD error code (``SecurityTokenExpired``, ``NoSuchUpload``...) or a
    short name the driver chooses for network-level errors (``ConnectionError``).
    """

    kind: ErrorKind
    code: str
    message: str = ""
    http_status: int | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        check_instance(self.kind, ErrorKind, "kind", InvalidEventError)
        check_str(self.code, "code", InvalidEventError)
        check_str(self.message, "message", InvalidEventError, empty_ok=True)
        if self.http_status is not None:
            check_int(self.http_status, "http_status", InvalidEventError, minimum=100, maximum=599)
        check_optional_str(self.request_id, "request_id", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListedPart:
    """One entry of the server's ListParts answer (the driver joins the pages)."""

    number: int
    etag: str
    size: int
    crc64: int | None = None  # the part's HashCrc64ecma, when the service lists it

    def __post_init__(self) -> None:
        check_int(self.number, "number", InvalidEventError, minimum=1, maximum=10_000)
        check_str(self.etag, "etag", InvalidEventError)
        check_int(self.size, "size", InvalidEventError, minimum=0)
        check_optional_crc64(self.crc64, "crc64", InvalidEventError)
