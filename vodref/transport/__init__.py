"""Object transports: one Protocol (:class:`ObjectTransport`), several implementations."""

from .base import ObjectInfo, ObjectTransport, PartInfo, StoredObject, UploadedPart
from .oss_http import OssHttpTransport, classify_oss_exception

__all__ = [
    "ObjectInfo",
    "ObjectTransport",
    "OssHttpTransport",
    "PartInfo",
    "StoredObject",
    "UploadedPart",
    "classify_oss_exception",
]
