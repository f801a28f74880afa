"""Events: what the driver tells the core. Past tense for outcomes, verbs for user calls.

Two families, both frozen, slotted, keyword-only dataclasses validated at construction (a bad
field raises :class:`~vodref.core.errors.InvalidEventError`, so a malformed event never exists):

- **User calls** (:class:`UserEvent`): the JS methods, one class each. ``AddFile``,
  ``DeleteFile``, ``CancelFile``, ``ResumeFile``, ``PauseFile`` (beyond JS), ``CleanList``,
  ``StartUpload``, ``StopUpload``. ``listFiles`` and ``getCheckpoint`` are queries on the
  :class:`~vodref.core.uploader.Uploader`, not events.
- **Outcomes** (:class:`Outcome`): the fate of a request the core issued, naming it by
  ``command_id``. Each request gets exactly one outcome: its success type, ``CommandFailed``
  (with a :class:`~vodref.core.values.ServiceError`), or ``CommandAbandoned`` (it never
  happened, e.g. the driver dropped it on stop). Answers to ``RequestAuth``/``CallVod`` are
  ``UploadAuthProvided`` (set_upload_auth_and_address / resume_upload_with_auth) and
  ``StsTokenProvided`` (set_sts_token / resume_upload_with_sts_token /
  set_sts_token_directly_upload).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from ._validate import (
    check_crc64,
    check_instance,
    check_int,
    check_optional_crc64,
    check_optional_str,
    check_str,
)
from .checkpoint import Checkpoint
from .errors import InvalidEventError
from .values import (
    Credentials,
    ListedPart,
    MediaKind,
    ObjectTarget,
    ServiceError,
    StsToken,
    TargetOverride,
)

__all__ = [
    "AddFile",
    "CancelFile",
    "CleanList",
    "CommandAbandoned",
    "CommandFailed",
    "DeleteFile",
    "Event",
    "MultipartAborted",
    "MultipartCompleted",
    "MultipartInitiated",
    "ObjectHeaded",
    "ObjectPut",
    "Outcome",
    "PartUploaded",
    "PartVerified",
    "PartsListed",
    "PauseFile",
    "ResumeFile",
    "StartUpload",
    "StopUpload",
    "StsTokenProvided",
    "UploadAuthProvided",
    "UserEvent",
]


# --------------------------------------------------------------------------- user calls


@dataclass(frozen=True, slots=True, kw_only=True)
class UserEvent:
    """Base of the events that come from the application's calls."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AddFile(UserEvent):
    """``addFile``: append a file to the list in state Ready.

    - ``file_id``: the driver's name for the file, unique in the list (the JS index changes
      when files are deleted; an id does not).
    - ``name``: the file name as VOD sees it (CreateUploadVideo ``FileName``).
    - ``size``: bytes, >= 1 (0 raises ``EmptyFileError``).
    - ``fingerprint``: identifies the *content* well enough to detect a changed file with the
      same name, size and mtime; it is also the checkpoint key.
    - ``media_kind``: video (default) or image (decides CreateUploadImage).
    - ``target_override``: the JS endpoint/bucket/object arguments.
    - ``param_data``: the JS paramData JSON string, kept for the driver (VOD params, the
      ``x-oss-notification`` header); the core does not parse it.
    - ``checkpoint``: a checkpoint loaded by the driver for this fingerprint, to resume.
    - ``stale_upload_id``: a multipart upload of ``checkpoint.target`` that the driver
      abandons (the file changed, or its checkpoint was unreadable and only partly salvaged).
      The core aborts it once it holds credentials for that target, so nothing is left open
      (UP-DUR-004). Needs a checkpoint with a target.
    """

    file_id: str
    name: str
    size: int
    fingerprint: str
    media_kind: MediaKind = MediaKind.VIDEO
    target_override: TargetOverride | None = None
    param_data: str | None = None
    checkpoint: Checkpoint | None = None
    stale_upload_id: str | None = None

    def __post_init__(self) -> None:
        check_str(self.file_id, "file_id", InvalidEventError)
        check_str(self.name, "name", InvalidEventError)
        check_int(self.size, "size", InvalidEventError, minimum=0)
        check_str(self.fingerprint, "fingerprint", InvalidEventError)
        check_instance(self.media_kind, MediaKind, "media_kind", InvalidEventError)
        if self.target_override is not None:
            check_instance(
                self.target_override, TargetOverride, "target_override", InvalidEventError
            )
        check_optional_str(self.param_data, "param_data", InvalidEventError)
        if self.checkpoint is not None:
            check_instance(self.checkpoint, Checkpoint, "checkpoint", InvalidEventError)
        check_optional_str(self.stale_upload_id, "stale_upload_id", InvalidEventError)
        if self.stale_upload_id is not None and (
            self.checkpoint is None or self.checkpoint.target is None
        ):
            raise InvalidEventError("stale_upload_id needs a checkpoint with a target")


@dataclass(frozen=True, slots=True, kw_only=True)
class _FileEvent(UserEvent):
    file_id: str

    def __post_init__(self) -> None:
        check_str(self.file_id, "file_id", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteFile(_FileEvent):
    """``deleteFile``: cancel the file (aborting its multipart upload) and remove it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelFile(_FileEvent):
    """``cancelFile``: move to Canceled, abort the multipart upload, drop the checkpoint."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeFile(_FileEvent):
    """``resumeFile``: Canceled (and, beyond JS, Stopped or Failure) back to Ready."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PauseFile(_FileEvent):
    """Beyond JS: stop one file (Ready or Uploading -> Stopped), keeping its upload."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanList(UserEvent):
    """``cleanList``: stop, then forget every file. Checkpoints are kept (resume later)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartUpload(UserEvent):
    """``startUpload``: Failure/Stopped files back to Ready, then upload in list order."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StopUpload(UserEvent):
    """``stopUpload``: every Uploading file -> Stopped; the upload ids are kept."""


# --------------------------------------------------------------------------- outcomes


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """Base of the events that report the fate of one request, named by ``command_id``."""

    command_id: int

    def __post_init__(self) -> None:
        check_int(self.command_id, "command_id", InvalidEventError, minimum=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadAuthProvided(Outcome):
    """Answer to ``RequestAuth`` (UploadAuth mode) or to ``CallVod`` (STS mode): the decoded
    UploadAuth, the decoded UploadAddress and the media id.

    ``address`` may be None when the file already has a target (a refresh, or a resume from a
    checkpoint) or when the ``AddFile`` overrides name all three fields. ``video_id`` may be
    None when the file already has one (JS: the resume call omits it). For images,
    ``video_id`` carries the ImageId and ``image_url`` the ImageURL.
    """

    credentials: Credentials
    address: ObjectTarget | None = None
    video_id: str | None = None
    image_url: str | None = None

    def __post_init__(self) -> None:
        Outcome.__post_init__(self)
        check_instance(self.credentials, Credentials, "credentials", InvalidEventError)
        if self.address is not None:
            check_instance(self.address, ObjectTarget, "address", InvalidEventError)
        check_optional_str(self.video_id, "video_id", InvalidEventError)
        check_optional_str(self.image_url, "image_url", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class StsTokenProvided(Outcome):
    """Answer to ``RequestAuth`` in STS mode.

    Normally the core then issues ``CallVod`` (CreateUploadVideo, RefreshUploadVideo or
    CreateUploadImage) signed with this token. With ``direct=True`` (JS
    ``setSTSTokenDirectlyUpload``) the token signs the OSS requests itself and the target is the
    ``AddFile`` override, which must then name endpoint, bucket and key.
    """

    token: StsToken
    direct: bool = False

    def __post_init__(self) -> None:
        Outcome.__post_init__(self)
        check_instance(self.token, StsToken, "token", InvalidEventError)
        check_instance(self.direct, bool, "direct", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectPut(Outcome):
    """``PutObject`` succeeded. ``crc64``: CRC-64/XZ of the bytes the driver sent;
    ``server_crc64``: the ``x-oss-hash-crc64ecma`` header, if the service sent one."""

    crc64: int
    server_crc64: int | None = None
    etag: str | None = None

    def __post_init__(self) -> None:
        Outcome.__post_init__(self)
        check_crc64(self.crc64, "crc64", InvalidEventError)
        check_optional_crc64(self.server_crc64, "server_crc64", InvalidEventError)
        check_optional_str(self.etag, "etag", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class MultipartInitiated(Outcome):
    upload_id: str

    def __post_init__(self) -> None:
        Outcome.__post_init__(self)
        check_str(self.upload_id, "upload_id", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class PartUploaded(Outcome):
    """``UploadPart`` succeeded. ``crc64`` is the CRC-64/XZ of the bytes the driver sent
    (computed with fastcrc while they were in memory); ``server_crc64`` the service's header."""

    etag: str
    crc64: int
    server_crc64: int | None = None

    def __post_init__(self) -> None:
        Outcome.__post_init__(self)
        check_str(self.etag, "etag", InvalidEventError)
        check_crc64(self.crc64, "crc64", InvalidEventError)
        check_optional_crc64(self.server_crc64, "server_crc64", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class PartVerified(Outcome):
    """``VerifyPart`` done: ``md5`` (hex, any case) and ``crc64`` of the file's bytes in the
    range. The core compares the MD5 with the listed ETag."""

    md5: str
    crc64: int

    def __post_init__(self) -> None:
        Outcome.__post_init__(self)
        check_str(self.md5, "md5", InvalidEventError)
        check_crc64(self.crc64, "crc64", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class PartsListed(Outcome):
    """``ListParts`` succeeded; the driver joins every page into ``parts``."""

    parts: tuple[ListedPart, ...] = field(default=())

    def __post_init__(self) -> None:
        Outcome.__post_init__(self)
        if not isinstance(self.parts, tuple):
            raise InvalidEventError(f"parts must be a tuple, got {self.parts!r}")
        for part in self.parts:
            check_instance(part, ListedPart, "parts[]", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class MultipartCompleted(Outcome):
    """``CompleteMultipartUpload`` succeeded; ``server_crc64`` is the object's CRC header."""

    server_crc64: int | None = None
    etag: str | None = None

    def __post_init__(self) -> None:
        Outcome.__post_init__(self)
        check_optional_crc64(self.server_crc64, "server_crc64", InvalidEventError)
        check_optional_str(self.etag, "etag", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class MultipartAborted(Outcome):
    """``AbortMultipartUpload`` succeeded (a NoSuchUpload answer may be reported as this too)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectHeaded(Outcome):
    """``HeadObject`` succeeded: the object's size and CRC header."""

    size: int
    server_crc64: int | None = None

    def __post_init__(self) -> None:
        Outcome.__post_init__(self)
        check_int(self.size, "size", InvalidEventError, minimum=0)
        check_optional_crc64(self.server_crc64, "server_crc64", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandFailed(Outcome):
    """The request was attempted and failed; ``error`` says how (classified by the core)."""

    error: ServiceError

    def __post_init__(self) -> None:
        Outcome.__post_init__(self)
        check_instance(self.error, ServiceError, "error", InvalidEventError)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandAbandoned(Outcome):
    """The request never happened (the driver dropped it, e.g. after ``CancelRequests``).

    If the work is still needed the core issues it again; nothing counts against a retry budget.
    Report a request that *may* have reached the service as ``CommandFailed`` with
    ``ErrorKind.TIMEOUT`` instead.
    """


Event: TypeAlias = (
    AddFile
    | DeleteFile
    | CancelFile
    | ResumeFile
    | PauseFile
    | CleanList
    | StartUpload
    | StopUpload
    | UploadAuthProvided
    | StsTokenProvided
    | ObjectPut
    | MultipartInitiated
    | PartUploaded
    | PartsListed
    | PartVerified
    | MultipartCompleted
    | MultipartAborted
    | ObjectHeaded
    | CommandFailed
    | CommandAbandoned
)
