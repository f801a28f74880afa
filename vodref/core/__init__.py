"""vodref.core: the VOD uploader as a pure state machine (no I/O, no clock, no threads).

Read :mod:`vodref.core.states` for the theory of operation, then :class:`Uploader`.

A driver's whole loop::

    core = Uploader(UploaderOptions(parallel=5), random=random.Random().random)
    for command in core.handle(AddFile(...), now=clock()):
        perform(command)            # Requests: do them, later feed exactly one outcome back
    for command in core.handle(StartUpload(), now=clock()):
        perform(command)
    # outcome of a Request:
    core.handle(PartUploaded(command_id=..., etag=..., crc64=...), now=clock())
    # nothing happened until core.next_deadline():
    core.handle_timer(now=clock())

API stability: the names exported here are the public API the driver builds on. Changes are
additive; any incompatible change is recorded in the log below.

Change log:
- 0.1.0: first version.
"""

from .checkpoint import FORMAT_VERSION, Checkpoint, CheckpointPart
from .classify import Disposition, classify
from .commands import (
    AbortMultipart,
    AuthReason,
    CallVod,
    CancelRequests,
    Command,
    CompleteMultipart,
    DeleteCheckpoint,
    Effect,
    HeadObject,
    InitiateMultipart,
    ListParts,
    Notify,
    NotifyCanceled,
    NotifyEnded,
    NotifyFailed,
    NotifyProgress,
    NotifyStarted,
    NotifySucceeded,
    NotifyTokenExpired,
    OssRequest,
    PutObject,
    Request,
    RequestAuth,
    SaveCheckpoint,
    UploadPart,
    VodAction,
)
from .crc64 import Combiner, crc64_combine, crc64_combine_all, crc64_xz
from .errors import (
    AuthMismatchError,
    CheckpointError,
    CoreError,
    DuplicateFileError,
    EmptyFileError,
    InvalidEventError,
    InvalidOptionError,
    InvalidStateError,
    OutcomeError,
    OutcomeMismatchError,
    StaleOutcomeError,
    UnknownCommandError,
    UnknownFileError,
    UsageError,
)
from .events import (
    AddFile,
    CancelFile,
    CleanList,
    CommandAbandoned,
    CommandFailed,
    DeleteFile,
    Event,
    MultipartAborted,
    MultipartCompleted,
    MultipartInitiated,
    ObjectHeaded,
    ObjectPut,
    Outcome,
    PartsListed,
    PartUploaded,
    PauseFile,
    ResumeFile,
    StartUpload,
    StopUpload,
    StsTokenProvided,
    UploadAuthProvided,
    UserEvent,
)
from .options import RetryPolicy, UploaderOptions
from .planning import (
    MAX_FILE_SIZE,
    MAX_PART_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    SINGLE_PUT_THRESHOLD,
    PartPlan,
    plan_parts,
)
from .states import (
    FILE_TRANSITIONS,
    UPLOADER_TRANSITIONS,
    FileState,
    FileTrigger,
    UploaderState,
    UploaderTrigger,
)
from .uploader import Uploader
from .values import (
    Credentials,
    ErrorKind,
    ListedPart,
    MediaKind,
    ObjectTarget,
    ServiceError,
    StsToken,
    TargetOverride,
)
from .views import FileView

__all__ = [
    "FILE_TRANSITIONS",
    "FORMAT_VERSION",
    "MAX_FILE_SIZE",
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "MIN_PART_SIZE",
    "SINGLE_PUT_THRESHOLD",
    "UPLOADER_TRANSITIONS",
    "AbortMultipart",
    "AddFile",
    "AuthMismatchError",
    "AuthReason",
    "CallVod",
    "CancelFile",
    "CancelRequests",
    "Checkpoint",
    "CheckpointError",
    "CheckpointPart",
    "CleanList",
    "Combiner",
    "Command",
    "CommandAbandoned",
    "CommandFailed",
    "CompleteMultipart",
    "CoreError",
    "Credentials",
    "DeleteCheckpoint",
    "DeleteFile",
    "Disposition",
    "DuplicateFileError",
    "Effect",
    "EmptyFileError",
    "ErrorKind",
    "Event",
    "FileState",
    "FileTrigger",
    "FileView",
    "HeadObject",
    "InitiateMultipart",
    "InvalidEventError",
    "InvalidOptionError",
    "InvalidStateError",
    "ListParts",
    "ListedPart",
    "MediaKind",
    "MultipartAborted",
    "MultipartCompleted",
    "MultipartInitiated",
    "Notify",
    "NotifyCanceled",
    "NotifyEnded",
    "NotifyFailed",
    "NotifyProgress",
    "NotifyStarted",
    "NotifySucceeded",
    "NotifyTokenExpired",
    "ObjectHeaded",
    "ObjectPut",
    "ObjectTarget",
    "OssRequest",
    "Outcome",
    "OutcomeError",
    "OutcomeMismatchError",
    "PartPlan",
    "PartUploaded",
    "PartsListed",
    "PauseFile",
    "PutObject",
    "Request",
    "RequestAuth",
    "ResumeFile",
    "RetryPolicy",
    "SaveCheckpoint",
    "ServiceError",
    "StaleOutcomeError",
    "StartUpload",
    "StopUpload",
    "StsToken",
    "StsTokenProvided",
    "TargetOverride",
    "UnknownCommandError",
    "UnknownFileError",
    "UploadAuthProvided",
    "UploadPart",
    "Uploader",
    "UploaderOptions",
    "UploaderState",
    "UploaderTrigger",
    "UsageError",
    "UserEvent",
    "VodAction",
    "classify",
    "crc64_combine",
    "crc64_combine_all",
    "crc64_xz",
    "plan_parts",
]
