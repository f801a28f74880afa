"""vodref.core: the VOD uploader as a pure state machine (no I/O, no clock, no threads).

Read :mod:`vodref.core.states` for the theory of operation and the rulebook (transitions,
user triggers, upload steps, failure reactions), then :class:`Uploader`.

Driver guide
------------
Construct one core per uploader and own it from one thread::

    core = Uploader(UploaderOptions(parallel=5), random=random.Random().random)

Feed every user call and every outcome with ``core.handle(event, now=clock())`` and perform
the commands it returns, in order; call ``core.handle_timer(clock())`` when
``core.next_deadline()`` passes (``now`` is any monotonic clock, never decreasing).

- User calls: ``AddFile`` (the driver picks ``file_id``, computes ``size`` and a content
  ``fingerprint``; it loads a checkpoint with ``Checkpoint.from_json`` from its store under
  ``key == fingerprint`` and passes it as ``checkpoint=``; on ``CheckpointError`` it adds the
  file without one), ``StartUpload``, ``StopUpload``, ``CancelFile``, ``DeleteFile``,
  ``ResumeFile``, ``PauseFile``, ``CleanList``.
- Requests (``Request`` subclasses) need exactly one outcome each, named by ``command_id``:

  =====================  =================================================================
  ``RequestAuth``        ``UploadAuthProvided`` (UploadAuth mode) or ``StsTokenProvided``
  ``CallVod``            ``UploadAuthProvided`` (the decoded VOD reply)
  ``PutObject``          ``ObjectPut`` (CRC-64 of the bytes sent, the service's CRC header)
  ``InitiateMultipart``  ``MultipartInitiated``
  ``UploadPart``         ``PartUploaded`` (read ``length`` bytes at ``offset``)
  ``ListParts``          ``PartsListed`` (all pages joined)
  ``VerifyPart``         ``PartVerified`` (MD5 and CRC-64 of the file's bytes; local I/O)
  ``CompleteMultipart``  ``MultipartCompleted`` (the service's CRC header)
  ``AbortMultipart``     ``MultipartAborted`` (also for a NoSuchUpload reply)
  ``HeadObject``         ``ObjectHeaded``
  any of them            ``CommandFailed(error=ServiceError(...))`` or ``CommandAbandoned``
  =====================  =================================================================

- Effects: ``SaveCheckpoint`` (write ``checkpoint.to_json()`` under ``key``, atomically),
  ``DeleteCheckpoint``, ``CancelRequests`` (a hint: their outcomes are still due), and the
  ``Notify*`` callbacks, in order.
- An auth provider answers ``RequestAuth`` itself: RefreshUploadVideo when ``video_id`` is
  set, CreateUploadImage for ``MediaKind.IMAGE``, else CreateUploadVideo. Without one, the
  driver fires the user callback on ``NotifyStarted`` / ``NotifyTokenExpired`` and answers
  ``core.auth_request(file_id)`` when the user calls set_upload_auth_and_address /
  resume_upload_with_auth; it reports ``CommandAbandoned`` for ``AuthReason.REFRESH``.
- Every exception ``handle`` raises is a ``VodrefError`` raised before any change. For an
  outcome that was refused (``AuthMismatchError``, ``InvalidEventError``), the request stays
  in flight: answer it again correctly, or report ``CommandFailed``.

API stability: the names exported here are the public API the driver builds on. Changes are
additive; any incompatible change is recorded in the log below.

Change log:
- 0.1.0: first version.
- 0.2.0: ``VerifyPart`` / ``PartVerified`` (adopt listed parts on resume);
  ``Disposition.UNAVAILABLE`` (outages); options ``credentials_timeout`` and
  ``outage_limit``; a file waiting for credentials fails with ``CredentialsTimeout``.
- 0.1.1: no proactive ``RequestAuth(REFRESH)`` for images (fewer commands; a driver that
  abandoned them keeps working).
- 0.1.2 (additive): ``SaveCheckpoint.barrier`` (make it durable before performing the
  commands after it in the same batch); ``AddFile.stale_upload_id`` (an abandoned upload the
  core aborts); after a lost Complete that HeadObject confirms, an ``AbortMultipart`` of the
  current upload.
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
    VerifyPart,
    VodAction,
)
from .crc64 import Combiner, crc64_combine, crc64_combine_all, crc64_xz
from .errors import (
    AuthMismatchError,
    CheckpointError,
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
    VodrefError,
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
    PartVerified,
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
    MAX_MULTIPART_THRESHOLD,
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
    "MAX_MULTIPART_THRESHOLD",
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
    "PartVerified",
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
    "VerifyPart",
    "VodAction",
    "VodrefError",
    "classify",
    "crc64_combine",
    "crc64_combine_all",
    "crc64_xz",
    "plan_parts",
]
