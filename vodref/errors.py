"""The errors the uploader (outside the pure core) raises, grafted onto the core's tree.

Catching :class:`vodref.core.errors.CoreError` catches everything vodref raises on purpose;
catching :class:`~vodref.core.errors.UsageError` catches every "you called it wrong" error,
raised before anything changed::

    CoreError
    ├── UsageError
    │   ├── InvalidOptionError
    │   │   └── UnknownOptionError       a keyword the uploader does not know
    │   ├── SourceError                  missing file, directory, unreadable, not binary
    │   ├── MalformedAuthError           UploadAuth / UploadAddress not base64 JSON with
    │   │                                the required fields
    │   └── UploaderClosedError          the uploader was closed
    ├── UploadWaitTimeout                ``wait()`` gave up before the uploads ended
    ├── SourceChangedError               the source changed under an upload (short read)
    ├── CheckpointStoreError             the store could not read or write a record
    └── TransportError                   a request failed (carries a core ServiceError)
"""

from __future__ import annotations

from .core.errors import CoreError, InvalidOptionError, UsageError
from .core.values import ServiceError

__all__ = [
    "CheckpointStoreError",
    "MalformedAuthError",
    "SourceChangedError",
    "SourceError",
    "TransportError",
    "UnknownOptionError",
    "UploadWaitTimeout",
    "UploaderClosedError",
]


class UnknownOptionError(InvalidOptionError, TypeError):
    """A keyword argument the uploader does not know (a typo would otherwise be ignored)."""


class SourceError(UsageError, ValueError):
    """The file to upload does not exist, is a directory, or cannot be read."""


class MalformedAuthError(UsageError, ValueError):
    """An UploadAuth or UploadAddress that is not base64 JSON with the required fields."""


class UploaderClosedError(UsageError, RuntimeError):
    """The uploader was closed; create a new one."""


class UploadWaitTimeout(CoreError, TimeoutError):
    """``Vod.wait(timeout=...)`` returned before every file reached a final state."""


class SourceChangedError(CoreError, OSError):
    """The source file shrank, vanished or changed while its upload was running."""


class CheckpointStoreError(CoreError, OSError):
    """The checkpoint store could not read or write a record."""


class TransportError(CoreError):
    """A request to OSS or VOD failed. ``error`` is the classified failure as core data."""

    def __init__(self, error: ServiceError) -> None:
        super().__init__(f"{error.code}: {error.message}" if error.message else error.code)
        self.error = error
