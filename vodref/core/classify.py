"""How a failed request is handled: retried, treated as expired credentials, or fatal.

The classes (UP-RETRY-* and UP-TOKEN-* in specs/uploader.md):

- **Token expiry** (wait for new credentials, keep the multipart upload): OSS
  ``SecurityTokenExpired``; ``InvalidAccessKeyId`` when the credentials carry a security token
  (after STS expiry OSS forgets the temporary key); VOD ``InvalidSecurityToken.Expired``.
  ``SignatureDoesNotMatch`` counts as token expiry only once in a row: JS 1.5.x always treats
  it as expiry, which loops forever on a real signing bug or clock problem. If the first
  request signed with the new credentials fails the same way, the file fails (UP-DEV-007).
- **Unavailable** (the connection or the service is failing as a whole): network errors,
  timeouts, every 5xx, HTTP 429 and throttling codes. Retried with backoff; several in a row
  open an *outage* in which no new request starts until a probe gets through (UP-OUTAGE-001).
- **Retried** with backoff (a problem of this one request): CRC mismatches on a part, OSS
  ``RequestTimeout`` (a 400) and ``RequestTimeTooSkewed`` (the transport corrects its clock
  from the reply's ``Date`` and retries once itself, UP-SKEW-001).
- **Lost upload** (``NoSuchUpload``): the multipart upload no longer exists; the core starts a
  new one for the same VideoId (on ListParts, UploadPart) or checks the object first (on
  Complete, whose earlier attempt may have succeeded).
- **Fatal**: everything else, which is every other 4xx and a local error (the source file
  cannot be read).
"""

from __future__ import annotations

import enum

from .values import ErrorKind, ServiceError

__all__ = ["Disposition", "classify"]

TOKEN_EXPIRED_CODES = frozenset({"SecurityTokenExpired", "InvalidSecurityToken.Expired"})
RETRYABLE_CODES = frozenset({"RequestTimeout", "RequestTimeTooSkewed"})
UNAVAILABLE_CODES = frozenset(
    {
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "ServiceUnAvailable",
        "InternalError",
        "SlowDown",
        "TooManyRequests",
    }
)
LOST_UPLOAD_CODES = frozenset({"NoSuchUpload", "NoSuchKey"})


class Disposition(enum.Enum):
    RETRY = "retry"
    UNAVAILABLE = "unavailable"
    TOKEN_EXPIRED = "token_expired"
    LOST_UPLOAD = "lost_upload"
    FATAL = "fatal"


def classify(
    error: ServiceError, *, has_security_token: bool, signature_retry_used: bool
) -> Disposition:
    """Classify one failure.

    ``has_security_token``: the credentials that signed the request carry an STS token.
    ``signature_retry_used``: the file already refreshed its credentials because of a
    ``SignatureDoesNotMatch`` and no request has succeeded since.
    """
    kind = error.kind
    if kind is ErrorKind.NETWORK or kind is ErrorKind.TIMEOUT:
        return Disposition.UNAVAILABLE
    if kind is ErrorKind.INTEGRITY:
        return Disposition.RETRY
    if kind is ErrorKind.LOCAL:
        return Disposition.FATAL
    code = error.code
    if code in TOKEN_EXPIRED_CODES:
        return Disposition.TOKEN_EXPIRED
    if code == "InvalidAccessKeyId" and has_security_token:
        return Disposition.TOKEN_EXPIRED
    if code == "SignatureDoesNotMatch":
        return Disposition.FATAL if signature_retry_used else Disposition.TOKEN_EXPIRED
    if code in LOST_UPLOAD_CODES:
        return Disposition.LOST_UPLOAD
    if code in RETRYABLE_CODES:
        return Disposition.RETRY
    if code in UNAVAILABLE_CODES:
        return Disposition.UNAVAILABLE
    status = error.http_status
    if status is not None and (status >= 500 or status == 429):
        return Disposition.UNAVAILABLE
    return Disposition.FATAL
