"""Every error vodref raises on purpose, as one tree under :class:`VodrefError`.

Catching :class:`VodrefError` catches everything vodref raises on purpose and never hides a
bug of its own; catching :class:`UsageError` catches every "you called it wrong" error, raised
before anything changed. The pure core defines the classes it raises (``vodref.core.errors``);
the layer around it grafts its own onto the same tree here, and this module exports all of
them::

    VodrefError                       base of everything below
    ├── UsageError                    the API does not allow this call; nothing changed
    │   ├── InvalidOptionError        an option is out of range or of the wrong type
    │   │   └── UnknownOptionError    a keyword the uploader does not know
    │   ├── InvalidEventError         a core event is malformed (field type, value, clock)
    │   │   └── EmptyFileError        a file of 0 bytes was added (JS: 'EmptyFile')
    │   ├── InvalidStateError         not allowed in the current state
    │   ├── UnknownFileError          no file with that id is in the list
    │   ├── DuplicateFileError        a file with that id is already in the list
    │   │   └── FileAlreadyAddedError the same content is already waiting in the list
    │   ├── AuthMismatchError         credentials that contradict what the file has
    │   ├── SourceError               missing file, directory, unreadable, not binary
    │   ├── MalformedAuthError        UploadAuth / UploadAddress not base64 JSON with the
    │   │                             required fields
    │   ├── NoCredentialSourceError   start_upload with no way to obtain credentials
    │   └── UploaderClosedError       the uploader was closed
    ├── OutcomeError                  a core outcome that matches no command
    │   ├── UnknownCommandError       the command id was never issued
    │   ├── StaleOutcomeError         the command's fate is already known
    │   └── OutcomeMismatchError      the outcome does not fit the command it names
    ├── CheckpointError               a checkpoint that is malformed, of an unknown version,
    │                                 or not for the file it is offered for
    ├── UploadWaitTimeout             ``wait()`` gave up before the uploads ended
    ├── SourceChangedError            the source changed under an upload (short read)
    ├── CheckpointStoreError          the store could not read or write a record
    │   └── UnreadableCheckpointError the stored bytes are not a JSON object (``raw`` keeps
    │                                 them, so what can be read is salvaged)
    ├── FileBusyError                 another uploader (process) holds the file's lock
    └── TransportError                a request failed (carries a core ServiceError)

The core raises before any mutation: after catching one of its errors the core is exactly as
it was. Failures of the *service* (OSS or VOD said no, the network dropped) are data, not
exceptions: :class:`~vodref.core.values.ServiceError` values inside ``CommandFailed`` events,
kept on a failed file as ``FileView.error``.
"""

from __future__ import annotations

from .core import (
    AuthMismatchError,
    CheckpointError,
    DuplicateFileError,
    EmptyFileError,
    InvalidEventError,
    InvalidOptionError,
    InvalidStateError,
    OutcomeError,
    OutcomeMismatchError,
    ServiceError,
    StaleOutcomeError,
    UnknownCommandError,
    UnknownFileError,
    UsageError,
    VodrefError,
)

__all__ = [
    "AuthMismatchError",
    "CheckpointError",
    "CheckpointStoreError",
    "DuplicateFileError",
    "EmptyFileError",
    "FileAlreadyAddedError",
    "FileBusyError",
    "InvalidEventError",
    "InvalidOptionError",
    "InvalidStateError",
    "MalformedAuthError",
    "NoCredentialSourceError",
    "OutcomeError",
    "OutcomeMismatchError",
    "SourceChangedError",
    "SourceError",
    "StaleOutcomeError",
    "TransportError",
    "UnknownCommandError",
    "UnknownFileError",
    "UnknownOptionError",
    "UnreadableCheckpointError",
    "UploadWaitTimeout",
    "UploaderClosedError",
    "UsageError",
    "VodrefError",
]


class UnknownOptionError(InvalidOptionError, TypeError):
    """A keyword argument the uploader does not know (a typo would otherwise be ignored)."""


class SourceError(UsageError, ValueError):
    """The file to upload does not exist, is a directory, or cannot be read."""


class MalformedAuthError(UsageError, ValueError):
    """An UploadAuth or UploadAddress that is not base64 JSON with the required fields."""


class FileAlreadyAddedError(DuplicateFileError):
    """The same file (same content fingerprint) is already in the list and not finished: JS
    ``addFile`` refuses a file it already holds; two entries would share one checkpoint and
    make two videos (UP-API-018)."""


class NoCredentialSourceError(UsageError):
    """``start_upload`` on an uploader with neither ``auth_provider`` nor
    ``on_upload_started``: no file could ever get credentials (UP-HANG-002)."""


class UploaderClosedError(UsageError, RuntimeError):
    """The uploader was closed; create a new one."""


class UploadWaitTimeout(VodrefError, TimeoutError):
    """``Vod.wait(timeout=...)`` returned before every file reached a final state."""


class SourceChangedError(VodrefError, OSError):
    """The source file shrank, vanished or changed while its upload was running."""


class CheckpointStoreError(VodrefError, OSError):
    """The checkpoint store could not read or write a record."""


class UnreadableCheckpointError(CheckpointStoreError):
    """A stored record is not UTF-8 JSON of an object (torn, truncated, foreign bytes).
    ``raw`` holds the bytes read, so the caller can salvage a VideoId or upload id."""

    def __init__(self, message: str, raw: bytes = b"") -> None:
        super().__init__(message)
        self.raw = raw


class FileBusyError(VodrefError):
    """Another uploader holds the file's lock (UPL-DUR-007): the same file is being uploaded
    by another process, or is already in this uploader's list. ``holder`` is the pid written
    in the lock file, when known."""

    def __init__(self, message: str, holder: int | None = None) -> None:
        super().__init__(message)
        self.holder = holder


class TransportError(VodrefError):
    """A request to OSS or VOD failed. ``error`` is the classified failure as core data."""

    def __init__(self, error: ServiceError) -> None:
        super().__init__(f"{error.code}: {error.message}" if error.message else error.code)
        self.error = error
