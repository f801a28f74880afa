"""OSS wire errors: one exception type carrying the code, status, message and EC.

Every failure the OSS service can report is an :class:`OssError`. The models raise them
(typed by ``code``), the auth layer raises them, and :mod:`emulator.oss.responses` turns
them into OSS's ``<Error>`` XML (or, for HEAD, the base64 ``x-oss-err``
header). Raising one never leaves partial state behind: models validate before mutating.

EC values follow the OSS documentation where it names one (0026-00000001 NoSuchKey,
0002-00000007 SecurityTokenExpired, 0042-0000020x for Complete); the rest are
best-effort.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(eq=False)
class OssError(Exception):
    """An OSS error response. ``extras`` become extra child elements of ``<Error>``."""

    status: int
    code: str
    message: str
    ec: str = "0000-00000000"
    extras: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.code}: {self.message}")

    def response_headers(self) -> list[tuple[str, str]]:
        """Headers the error response carries besides the standard ones."""
        return []


def no_such_bucket(bucket: str) -> OssError:
    return OssError(
        404,
        "NoSuchBucket",
        "The specified bucket does not exist.",
        "0015-00000101",
        [("BucketName", bucket)],
    )


def no_such_key(key: str) -> OssError:
    return OssError(
        404, "NoSuchKey", "The specified key does not exist.", "0026-00000001", [("Key", key)]
    )


def no_such_upload(upload_id: str) -> OssError:
    return OssError(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed.",
        "0042-00000002",
        [("UploadId", upload_id)],
    )


def bucket_already_exists(bucket: str) -> OssError:
    return OssError(
        409,
        "BucketAlreadyExists",
        "The requested bucket name is not available.",
        "0015-00000104",
        [("BucketName", bucket)],
    )


def bucket_not_empty(bucket: str) -> OssError:
    return OssError(
        409,
        "BucketNotEmpty",
        "The bucket you tried to delete is not empty.",
        "0015-00000301",
        [("BucketName", bucket)],
    )


def invalid_bucket_name(bucket: str) -> OssError:
    return OssError(
        400,
        "InvalidBucketName",
        "The specified bucket is not valid.",
        "0015-00000001",
        [("BucketName", bucket)],
    )


def invalid_object_name(key: str) -> OssError:
    return OssError(
        400,
        "InvalidObjectName",
        "The specified object is not valid.",
        "0016-00000005",
        [("ObjectName", key[:1100])],
    )


def invalid_argument(message: str, name: str = "", value: str = "") -> OssError:
    extras = [("ArgumentName", name), ("ArgumentValue", value[:256])] if name else []
    return OssError(400, "InvalidArgument", message, "0017-00000101", extras)


def malformed_xml(message: str = "The XML you provided was not well-formed.") -> OssError:
    return OssError(400, "MalformedXML", message, "0016-00000608")


def invalid_digest() -> OssError:
    return OssError(
        400,
        "InvalidDigest",
        "The Content-MD5 you specified is not valid.",
        "0016-00000402",
    )


def bad_digest(expected: str, calculated: str) -> OssError:
    return OssError(
        400,
        "InvalidDigest",
        "The Content-MD5 you specified did not match what we received.",
        "0016-00000403",
        [("ExpectedDigest", expected), ("CalculatedDigest", calculated)],
    )


def precondition_failed(condition: str) -> OssError:
    return OssError(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold.",
        "0026-00000009",
        [("Condition", condition)],
    )


def invalid_range(size: int) -> OssError:
    return OssError(
        416,
        "InvalidRange",
        "The requested range cannot be satisfied.",
        "0026-00000008",
        [("ActualObjectSize", str(size))],
    )


def entity_too_large(limit: int) -> OssError:
    return OssError(
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size.",
        "0016-00000102",
        [("MaxSizeAllowed", str(limit))],
    )


def missing_content_length() -> OssError:
    return OssError(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")


def access_denied(message: str, ec: str = "0003-00000001") -> OssError:
    return OssError(403, "AccessDenied", message, ec)


def method_not_allowed(method: str) -> OssError:
    return OssError(
        405,
        "MethodNotAllowed",
        "The specified method is not allowed against this resource.",
        "0000-00000001",
        [("Method", method[:32])],
    )


def not_implemented(what: str) -> OssError:
    return OssError(
        501, "NotImplemented", f"The emulator does not implement {what}.", "0000-00000002"
    )


def internal_error() -> OssError:
    return OssError(
        500,
        "InternalError",
        "We encountered an internal error. Please try again.",
        "0000-00000500",
    )


class PositionNotEqualToLength(OssError):
    """409 for an append at the wrong position; ``next_position`` is the length."""

    def __init__(self, next_position: int) -> None:
        super().__init__(
            409,
            "PositionNotEqualToLength",
            "Position is not equal to file length.",
            "0026-00000016",
        )
        self.next_position = next_position

    def response_headers(self) -> list[tuple[str, str]]:
        # oss2 reads the current length from this header (PositionNotEqualToLength).
        return [("x-oss-next-append-position", str(self.next_position))]
