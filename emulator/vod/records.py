"""VOD's value types: validated requests in, upload grants and media records out.

Frozen, slotted, keyword-only dataclasses, complete at construction; the model
(``models.py``) produces and consumes them, the wire layer (``responses.py``) maps them to
and from parameters and JSON. ``ObjectStore`` is the slice of the OSS backend VOD relies
on, as a Protocol, so VOD is coupled to OSS's contract and not its internals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from emulator.credentials import Credential
from emulator.vod import validation


class ObjectHead(Protocol):
    """What VOD reads of an OSS object (``OssBackend.head_object``'s ObjectInfo)."""

    @property
    def size(self) -> int: ...


class ObjectStore(Protocol):
    """The slice of ``OssBackend`` VOD uses; nothing else of OSS is touched."""

    def ensure_bucket(self, name: str) -> object: ...

    def head_object(self, bucket: str, key: str) -> ObjectHead | None: ...

    def delete_object(self, bucket: str, key: str) -> object: ...


class VideoStatus(str, Enum):
    """The statuses a video passes through (lifecycle.py holds the transitions)."""

    UPLOADING = "Uploading"
    UPLOAD_SUCC = "UploadSucc"
    TRANSCODING = "Transcoding"
    NORMAL = "Normal"
    UPLOAD_FAIL = "UploadFail"
    TRANSCODE_FAIL = "TranscodeFail"


class FailureStage(str, Enum):
    """Where an injected failure (control plane) stops a video's lifecycle."""

    UPLOAD = "upload"
    TRANSCODE = "transcode"


class MediaKind(str, Enum):
    IMAGE = "image"
    ATTACHED = "attached"


def format_vod_time(epoch_seconds: float) -> str:
    """VOD's timestamp form: ``yyyy-MM-ddTHH:mm:ssZ``, no milliseconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoSpec:
    """A validated CreateUploadVideo request."""

    title: str
    file_name: str
    description: str = ""
    tags: str = ""
    cate_id: int | None = None
    cover_url: str = ""
    template_group_id: str = ""
    workflow_id: str = ""
    app_id: str = validation.DEFAULT_APP_ID
    user_data: str = ""
    reference_id: str = ""
    file_size: int | None = None
    storage_location: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageSpec:
    image_type: str
    image_ext: str | None = None
    title: str = ""
    description: str = ""
    tags: str = ""
    cate_id: int | None = None
    app_id: str = validation.DEFAULT_APP_ID
    user_data: str = ""
    original_file_name: str = ""
    storage_location: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachedMediaSpec:
    business_type: str
    media_ext: str | None = None
    file_name: str = ""
    file_size: int | None = None
    title: str = ""
    description: str = ""
    tags: str = ""
    cate_ids: str = ""
    app_id: str = validation.DEFAULT_APP_ID
    user_data: str = ""
    storage_location: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadGrant:
    """Where a client may upload one object, and the credential that lets it."""

    media_id: str
    bucket: str
    object_key: str
    credential: Credential
    ttl_seconds: float
    # Set for HLS uploads: the prefix under which the playlist's segments go.
    object_prefix: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Video:
    video_id: str
    title: str
    file_name: str
    description: str
    tags: str
    cate_id: int | None
    cover_url: str
    template_group_id: str
    workflow_id: str
    app_id: str
    user_data: str
    reference_id: str
    bucket: str
    object_key: str
    created_at: float
    status: VideoStatus
    size: int | None  # the uploaded object's size, else the declared FileSize
    modified_at: float
    uploaded_at: float | None = None  # first time the object was seen in OSS
    cate_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Media:
    """An image or an attached media file."""

    media_id: str
    kind: MediaKind
    subtype: str  # ImageType for images, BusinessType for attached media
    extension: str
    title: str
    description: str
    tags: str
    cate_ids: str
    app_id: str
    user_data: str
    file_name: str
    bucket: str
    object_key: str
    created_at: float
    uploaded: bool
    size: int | None
    cate_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Category:
    """A media category: up to three levels under the root (``parent_id`` -1)."""

    cate_id: int
    name: str
    parent_id: int
    level: int
    type: str
    created_at: float
