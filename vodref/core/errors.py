"""The exceptions the pure core raises: its part of the one tree under :class:`VodrefError`.

``vodref.errors`` draws the whole tree, with the classes the layer around the core adds, and
exports all of them. The core's part::

    VodrefError                   base of everything below
    ├── UsageError                the caller asked for something the API does not allow
    │   ├── InvalidOptionError    an option value is out of range or of the wrong type
    │   ├── InvalidEventError     an event is malformed (bad field type, value or clock)
    │   │   └── EmptyFileError    a file of 0 bytes was added (JS: the 'EmptyFile' failure)
    │   ├── InvalidStateError     the event is not allowed in the current state
    │   ├── UnknownFileError      no file with that id is in the list
    │   ├── DuplicateFileError    a file with that id is already in the list
    │   └── AuthMismatchError     credentials that contradict what the file already has
    ├── OutcomeError              an outcome that cannot be matched to a command
    │   ├── UnknownCommandError   the command id was never issued by this core
    │   ├── StaleOutcomeError     the command was issued but its fate is already known
    │   └── OutcomeMismatchError  the outcome does not fit the command it names
    └── CheckpointError           a checkpoint that is malformed, of an unknown version, or
                                  that does not describe the file it is offered for

Contract shared by all of them: the core raises **before any mutation**. After catching one,
the core is exactly as it was before the call, so the driver may log and carry on.

Failures of the *service* (OSS or VOD said no, the network dropped) are not exceptions: they
come in as :class:`~vodref.core.values.ServiceError` values inside ``CommandFailed`` events,
and a file that fails keeps the error as data (``FileView.error``).
"""

from __future__ import annotations

__all__ = [
    "AuthMismatchError",
    "CheckpointError",
    "DuplicateFileError",
    "EmptyFileError",
    "InvalidEventError",
    "InvalidOptionError",
    "InvalidStateError",
    "OutcomeError",
    "OutcomeMismatchError",
    "StaleOutcomeError",
    "UnknownCommandError",
    "UnknownFileError",
    "UsageError",
    "VodrefError",
]


class VodrefError(Exception):
    """Base class of every error the core raises on purpose."""


class UsageError(VodrefError):
    """The caller used the API in a way it does not allow. Nothing was changed."""


class InvalidOptionError(UsageError):
    """An option is out of its documented range or has the wrong type.

    Unlike the JS SDK's ``options.x || default``, a bad value is never silently replaced.
    """


class InvalidEventError(UsageError):
    """An event (or a value inside it) is malformed: wrong type, bad range, clock going back."""


class EmptyFileError(InvalidEventError):
    """A file of 0 bytes was added. JS 1.5.x reports ``onUploadFailed(..., 'EmptyFile')`` and
    still lists the file; vodref refuses it up front (UP-DEV-012)."""

    code = "EmptyFile"


class InvalidStateError(UsageError):
    """The event is not allowed in the current state of the uploader or of the file.

    ``state`` is the state that refused it and ``trigger`` names what was attempted.
    """

    def __init__(self, message: str, *, state: object, trigger: object) -> None:
        super().__init__(message)
        self.state = state
        self.trigger = trigger


class UnknownFileError(UsageError):
    """No file with this id is in the list (never added, or deleted, or the list was cleaned)."""


class DuplicateFileError(UsageError):
    """A file with this id is already in the list."""


class AuthMismatchError(UsageError):
    """Credentials that contradict what the file already has.

    Raised when a resumed file, whose VideoId is known, is given credentials for a different
    VideoId: accepting them would orphan the first video and create a duplicate.
    """


class OutcomeError(VodrefError):
    """An outcome event that cannot be matched to a command awaiting one."""


class UnknownCommandError(OutcomeError):
    """The command id was never issued by this core instance."""


class StaleOutcomeError(OutcomeError):
    """The command's fate was already reported (a duplicate or very late outcome), or the
    command was an effect that never expects an outcome."""


class OutcomeMismatchError(OutcomeError):
    """The outcome's type or content does not fit the command it names (for example a
    ``PartUploaded`` for an ``InitiateMultipart``, or a part list with impossible numbers)."""


class CheckpointError(VodrefError):
    """A checkpoint is malformed, has an unknown format version, or describes another file."""
