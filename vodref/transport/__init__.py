"""Object transports: one Protocol (:class:`ObjectTransport`), several implementations.

:class:`OssHttpTransport` (oss2 over HTTP) is the real one; :class:`ForwardingTransport`
wraps another. The in-memory one for unit tests is :class:`vodref.testing.MemoryTransport`;
the in-process one into the emulator app is ``emulator.inprocess_transport``.
"""

from .base import ObjectInfo, ObjectTransport, PartInfo, StoredObject, UploadedPart
from .forwarding import ForwardingTransport
from .oss_http import OssHttpTransport, classify_oss_exception

__all__ = [
    "ForwardingTransport",
    "ObjectInfo",
    "ObjectTransport",
    "OssHttpTransport",
    "PartInfo",
    "StoredObject",
    "UploadedPart",
    "classify_oss_exception",
]
