"""Commands: what the core asks the driver to do. Imperative nouns.

Every command carries ``command_id``, unique per core instance. There are two families:

- **Requests** (:class:`Request`) must be performed, and their fate reported exactly once as an
  outcome event naming the same id: the success event listed on each class,
  ``CommandFailed`` or ``CommandAbandoned``. OSS requests carry everything needed to sign and
  send them (target, credentials, upload id, byte range), so the driver keeps no upload state.
- **Effects** (:class:`Effect`) need no answer: checkpoint writes, callback notifications and
  hints to cancel requests. Reporting an outcome for one raises ``StaleOutcomeError``.

Commands are built only by the core and are not validated again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .checkpoint import Checkpoint
from .states import CancelReason
from .values import Credentials, MediaKind, ObjectTarget, ServiceError, StsToken
from .views import FileView

__all__ = [
    "AbortMultipart",
    "AuthReason",
    "CallVod",
    "CancelRequests",
    "Command",
    "CompleteMultipart",
    "DeleteCheckpoint",
    "Effect",
    "HeadObject",
    "InitiateMultipart",
    "ListParts",
    "Notify",
    "NotifyCanceled",
    "NotifyEnded",
    "NotifyFailed",
    "NotifyProgress",
    "NotifyStarted",
    "NotifySucceeded",
    "NotifyTokenExpired",
    "OssRequest",
    "PutObject",
    "Request",
    "RequestAuth",
    "SaveCheckpoint",
    "UploadPart",
    "VerifyPart",
    "VodAction",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    command_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Request(Command):
    """A command whose fate the driver must report. ``file_id`` names the file it serves."""

    file_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Effect(Command):
    """A command that needs no outcome."""


# --------------------------------------------------------------------------- credentials


class AuthReason(enum.Enum):
    #: The file was just picked (JS ``onUploadstarted``): first credentials of this run.
    START = "start"
    #: The service said the credentials expired (JS ``onUploadTokenExpired``). Uploads of the
    #: file wait for the answer.
    EXPIRED = "expired"
    #: Proactive: the credentials expire within ``refresh_margin``. Uploads continue meanwhile;
    #: a driver without an auth provider should report ``CommandAbandoned``.
    REFRESH = "refresh"


class VodAction(enum.Enum):
    CREATE_UPLOAD_VIDEO = "CreateUploadVideo"
    REFRESH_UPLOAD_VIDEO = "RefreshUploadVideo"
    CREATE_UPLOAD_IMAGE = "CreateUploadImage"


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestAuth(Request):
    """Get credentials for the file. Answer: ``UploadAuthProvided`` (UploadAuth mode) or
    ``StsTokenProvided`` (STS mode).

    ``video_id`` is set when the file already has one (resume, refresh): an auth provider must
    then call RefreshUploadVideo for it, never CreateUploadVideo, so no duplicate video exists.
    """

    reason: AuthReason
    media_kind: MediaKind
    video_id: str | None
    file_name: str
    file_size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallVod(Request):
    """STS mode: call the VOD OpenAPI ``action`` signed with ``token``. Answer:
    ``UploadAuthProvided`` with the decoded reply. ``video_id`` is the RefreshUploadVideo
    argument (None for the Create actions)."""

    action: VodAction
    reason: AuthReason
    token: StsToken
    media_kind: MediaKind
    video_id: str | None
    file_name: str
    file_size: int


# --------------------------------------------------------------------------- OSS requests


@dataclass(frozen=True, slots=True, kw_only=True)
class OssRequest(Request):
    target: ObjectTarget
    credentials: Credentials


@dataclass(frozen=True, slots=True, kw_only=True)
class PutObject(OssRequest):
    """Upload the whole file (< 100 KiB) in one PUT. Answer: ``ObjectPut``."""

    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InitiateMultipart(OssRequest):
    """Answer: ``MultipartInitiated``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadPart(OssRequest):
    """Read ``length`` bytes at ``offset`` and upload them as ``part_number``.
    Answer: ``PartUploaded`` with the CRC-64 of the bytes sent."""

    upload_id: str
    part_number: int
    offset: int
    length: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ListParts(OssRequest):
    """List the upload's parts (every page). Answer: ``PartsListed``."""

    upload_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CompleteMultipart(OssRequest):
    """Answer: ``MultipartCompleted``. ``parts`` is sorted (number, etag);
    ``expected_crc64`` is the object CRC the parts combine to (the driver may log it)."""

    upload_id: str
    parts: tuple[tuple[int, str], ...]
    expected_crc64: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AbortMultipart(Request):
    """Answer: ``MultipartAborted`` (also for a NoSuchUpload reply).

    ``credentials`` None: the file holds none (restored from a checkpoint and canceled or
    deleted before it was started): the driver obtains the video's credentials for the abort
    (RefreshUploadVideo through the auth provider), or reports the abort failed (UP-CANCEL-008).
    """

    target: ObjectTarget
    credentials: Credentials | None
    upload_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HeadObject(OssRequest):
    """Check the object after an ambiguous Complete. Answer: ``ObjectHeaded``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyPart(Request):
    """Local I/O, no request to OSS: read ``length`` bytes of the file at ``offset`` and hash
    them. Answer: ``PartVerified`` with their MD5 and CRC-64; the core adopts the part the
    server listed as ``part_number`` when the MD5 equals its ``etag`` (UP-RESUME-009)."""

    part_number: int
    offset: int
    length: int
    etag: str
    listed_crc64: int | None = None  # the CRC-64 ListParts gave, if any: must match too


# --------------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveCheckpoint(Effect):
    """Write ``checkpoint`` under ``key`` (replace atomically). Contains no secret.

    ``barrier``: the checkpoint names a VideoId, target or upload id not saved before. The
    driver must make it durable before it performs any command that follows in the same
    batch (UP-DUR-001): those requests depend on it, and a crash before it is on disk would
    leave a video or a multipart upload nobody knows about. Saves that only add parts are
    never barriers and may be coalesced."""

    file_id: str
    key: str
    checkpoint: Checkpoint
    barrier: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteCheckpoint(Effect):
    file_id: str
    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelRequests(Effect):
    """These requests are no longer needed: cancel them if possible. Their fate must still be
    reported (any outcome is accepted; ``CommandAbandoned`` if they never ran)."""

    command_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify(Effect):
    """Base of the callback notifications, in the order the callbacks must run."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyStarted(Notify):
    """JS ``onUploadstarted(uploadInfo)``: the file was picked. Always followed by a
    ``RequestAuth`` with reason START for the same file."""

    file: FileView


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyProgress(Notify):
    """JS ``onUploadProgress(uploadInfo, totalSize, loadedPercent)``, in absolute bytes.

    ``bytes_done`` never decreases within one ``attempt``; ``ratio`` is the JS value."""

    file_id: str
    attempt: int
    bytes_done: int
    total_bytes: int
    parts_done: int
    part_count: int

    @property
    def ratio(self) -> float:
        if self.part_count:
            return self.parts_done / self.part_count
        return self.bytes_done / self.total_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifySucceeded(Notify):
    """JS ``onUploadSucceed(uploadInfo)``. ``verified`` says the service's object CRC-64 was
    compared with the CRC-64 of the bytes sent and matched."""

    file: FileView
    verified: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyFailed(Notify):
    """JS ``onUploadFailed(uploadInfo, code, message)``. Fires for every failure."""

    file: FileView
    error: ServiceError


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyTokenExpired(Notify):
    """JS ``onUploadTokenExpired(uploadInfo)``. Followed by ``RequestAuth`` (EXPIRED)."""

    file: FileView
    error: ServiceError


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyCanceled(Notify):
    """JS ``onUploadCanceled``: an Uploading file stopped because of ``reason`` (a
    :class:`~vodref.core.states.CancelReason`, a ``str``: ``"cancel"``, ``"delete"``,
    ``"stop"``, ``"pause"`` or ``"clean"``)."""

    file: FileView
    reason: CancelReason


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyEnded(Notify):
    """JS ``onUploadEnd``: the running queue drained (nothing Uploading, nothing Ready),
    however the last file ended."""
