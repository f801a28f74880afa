"""The emulated VOD service's state and operations (API 2017-03-21).

Theory of operation. A media asset (video, image, attached media) is a row in SQLite plus
one OSS object the client uploads itself. ``CreateUpload*`` allocates the row, the object
key and an UploadAuth: a temporary credential (:class:`CredentialKind.UPLOAD_AUTH`) whose
:class:`Scope` is exactly that bucket and key, so the emulated OSS refuses any other key
with AccessDenied. ``RefreshUploadVideo`` issues a fresh credential for the *same* key, so
a multipart upload in progress continues under the new token.

A video's status is derived when it is read, never pushed by OSS (no coupling to OSS
internals): ``Uploading`` until ``oss.head_object`` finds the object; the instant of that
first observation is recorded, and from it ``lifecycle.status_at`` walks UploadSucc,
Transcoding and Normal on the emulator clock (or a failure injected through the control
plane). Because the instant is stored, the progression survives restarts and clock jumps.
Events (``events.py``) are emitted by :meth:`VodBackend.tick`, which compares each video's
derived status with the last one announced; the callback dispatcher (``notify.py``) runs
the tick at the next lifecycle instant, and the app runs it after uploads and VOD calls.

Value types live in ``records.py``; listing, search and playback in ``library.py``; wire
concerns (base64 JSON, endpoints, URLs, parameter parsing) in ``responses.py``.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from emulator.clock import Clock
from emulator.config import EmulatorConfig, Settings
from emulator.credentials import CredentialKind, CredentialStore, Scope
from emulator.db import Database
from emulator.vod import library, lifecycle, validation
from emulator.vod.catalog import CategoryStore
from emulator.vod.exceptions import (
    InvalidImageNotFound,
    InvalidStorageNotFound,
    InvalidVideoNotFound,
)
from emulator.vod.notify import CallbackConfigStore, CallbackDispatcher
from emulator.vod.records import (
    AttachedMediaSpec,
    FailureStage,
    ImageSpec,
    Media,
    MediaKind,
    ObjectStore,
    UploadGrant,
    Video,
    VideoSpec,
    format_vod_time,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vod_videos (
    video_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    file_name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    cate_id INTEGER,
    cover_url TEXT NOT NULL DEFAULT '',
    template_group_id TEXT NOT NULL DEFAULT '',
    workflow_id TEXT NOT NULL DEFAULT '',
    app_id TEXT NOT NULL,
    user_data TEXT NOT NULL DEFAULT '',
    reference_id TEXT NOT NULL DEFAULT '',
    declared_size INTEGER,
    bucket TEXT NOT NULL,
    object_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    uploaded_at REAL,
    modified_at REAL,
    fail_stage TEXT,
    announced TEXT NOT NULL DEFAULT 'Uploading'
);
CREATE TABLE IF NOT EXISTS vod_media (
    media_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subtype TEXT NOT NULL,
    extension TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    cate_ids TEXT NOT NULL DEFAULT '',
    app_id TEXT NOT NULL,
    user_data TEXT NOT NULL DEFAULT '',
    file_name TEXT NOT NULL DEFAULT '',
    declared_size INTEGER,
    bucket TEXT NOT NULL,
    object_key TEXT NOT NULL,
    created_at REAL NOT NULL,
    uploaded_at REAL
);
"""
# Columns added after the first release: a data directory written by it gains them.
_ADDED_COLUMNS = {
    "vod_videos": {
        "modified_at": "REAL",
        "fail_stage": "TEXT",
        "announced": "TEXT NOT NULL DEFAULT 'Uploading'",
    },
    "vod_media": {"uploaded_at": "REAL"},
}


class VodBackend:
    """VOD's state: videos and media in SQLite; UploadAuth credentials in the store."""

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        config: EmulatorConfig,
        settings: Settings,
        credentials: CredentialStore,
        oss: ObjectStore,
    ) -> None:
        self.db = db
        self.clock = clock
        self.config = config
        self.settings = settings
        self.credentials = credentials
        self.oss = oss
        self.db.ensure_schema(_SCHEMA)
        _add_missing_columns(db)
        self.categories = CategoryStore(db, clock)
        self.callback_configs = CallbackConfigStore(db)
        self.dispatcher = CallbackDispatcher(
            clock=clock, settings=settings, allowed_hosts=config.callback_allowed_hosts
        )
        self.dispatcher.set_ticker(self.tick)
        self._tick_lock = threading.RLock()
        # The last events emitted, for the control plane (not persisted, like the log).
        self.recent_events: deque[dict[str, Any]] = deque(maxlen=1000)

    # -- storage -----------------------------------------------------------------------

    @property
    def storage_bucket(self) -> str:
        """The region's VOD storage bucket, ``outin-<32 hex>`` like the real service.

        Derived from the account and region, so it is stable across resets and restarts
        and a test can predict it.
        """
        digest = hashlib.md5(
            f"{self.config.account_id}:{self.config.region}".encode(), usedforsecurity=False
        ).hexdigest()
        return f"outin-{digest}"

    @property
    def storage_location(self) -> str:
        return f"{self.storage_bucket}.oss-{self.config.region}.aliyuncs.com"

    def _bucket_for(self, storage_location: str | None) -> str:
        if storage_location and storage_location != self.storage_location:
            raise InvalidStorageNotFound()
        bucket = self.storage_bucket
        self.oss.ensure_bucket(bucket)
        return bucket

    def _grant(
        self,
        *,
        media_id: str,
        bucket: str,
        object_key: str,
        object_prefix: str | None = None,
    ) -> UploadGrant:
        # Read the TTL now: the control plane may have changed it since start-up.
        ttl = float(self.settings.upload_auth_ttl_seconds)
        # An HLS upload writes the playlist and its segments under one prefix; every other
        # upload is limited to its single object key.
        scope = (
            Scope(bucket=bucket, key_prefix=object_prefix)
            if object_prefix
            else Scope(bucket=bucket, key=object_key)
        )
        credential = self.credentials.issue(
            now=self.clock.now(),
            ttl_seconds=ttl,
            kind=CredentialKind.UPLOAD_AUTH,
            scope=scope,
            note=f"vod:{media_id}",
        )
        return UploadGrant(
            media_id=media_id,
            bucket=bucket,
            object_key=object_key,
            credential=credential,
            ttl_seconds=ttl,
            object_prefix=object_prefix,
        )

    # -- videos ------------------------------------------------------------------------

    def create_upload_video(self, spec: VideoSpec) -> UploadGrant:
        tags = validation.check_title_description_tags(spec.title, spec.description, spec.tags)
        extension = validation.check_video_file_name(spec.file_name)
        if spec.user_data:
            validation.check_user_data(spec.user_data)
        bucket = self._bucket_for(spec.storage_location)
        now = self.clock.now()
        video_id = secrets.token_hex(16)
        # Real keys look like sv/<8 hex>-<hex ms>/<8 hex>-<hex ms>.mp4.
        token = f"{secrets.token_hex(4)}-{int(now * 1000):x}"
        object_prefix = f"sv/{token}/"
        object_key = f"{object_prefix}{token}.{extension}"
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO vod_videos (video_id, title, file_name, description, tags,"
                " cate_id, cover_url, template_group_id, workflow_id, app_id, user_data,"
                " reference_id, declared_size, bucket, object_key, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    video_id,
                    spec.title,
                    spec.file_name,
                    spec.description,
                    tags,
                    spec.cate_id,
                    spec.cover_url,
                    spec.template_group_id,
                    spec.workflow_id,
                    spec.app_id,
                    spec.user_data,
                    spec.reference_id,
                    spec.file_size,
                    bucket,
                    object_key,
                    now,
                ),
            )
        return self._grant(
            media_id=video_id,
            bucket=bucket,
            object_key=object_key,
            object_prefix=object_prefix if extension == "m3u8" else None,
        )

    def refresh_upload_video(self, video_id: str) -> UploadGrant:
        """A new UploadAuth for the same object key (an upload in progress continues)."""
        row = self._video_row(video_id)
        if row is None:
            raise InvalidVideoNotFound()
        object_key: str = row["object_key"]
        prefix = object_key.rpartition("/")[0] + "/"
        is_hls = validation.extension_of(object_key) == "m3u8"
        return self._grant(
            media_id=video_id,
            bucket=row["bucket"],
            object_key=object_key,
            object_prefix=prefix if is_hls else None,
        )

    def get_video(self, video_id: str) -> Video:
        row = self._video_row(video_id)
        if row is None:
            raise InvalidVideoNotFound()
        return self.video_from_row(row)

    def get_videos(self, video_ids: Iterable[str]) -> tuple[list[Video], list[str]]:
        """The videos that exist, in request order, and the ids that do not."""
        found: list[Video] = []
        missing: list[str] = []
        for video_id in video_ids:
            row = self._video_row(video_id)
            if row is None:
                missing.append(video_id)
            else:
                found.append(self.video_from_row(row))
        return found, missing

    def delete_videos(self, video_ids: Iterable[str]) -> list[str]:
        """Delete videos and their source objects; returns the ids that did not exist."""
        missing: list[str] = []
        for video_id in video_ids:
            row = self._video_row(video_id)
            if row is None:
                missing.append(video_id)
                continue
            with self.db.transaction() as conn:
                conn.execute("DELETE FROM vod_videos WHERE video_id = ?", (video_id,))
            self.oss.delete_object(row["bucket"], row["object_key"])
        return missing

    def _video_row(self, video_id: str) -> sqlite3.Row | None:
        with self.db.read() as conn:
            row: sqlite3.Row | None = conn.execute(
                "SELECT * FROM vod_videos WHERE video_id = ?", (video_id,)
            ).fetchone()
        return row

    def timeline(self) -> lifecycle.Timeline:
        # Read the settings now: the control plane may have changed them since start-up.
        return lifecycle.Timeline(
            normal_after=self.settings.video_normal_after_seconds,
            transcoding=self.settings.video_transcoding_seconds,
        )

    def video_from_row(self, row: sqlite3.Row, *, names: dict[int, str] | None = None) -> Video:
        now = self.clock.now()
        head = self.oss.head_object(row["bucket"], row["object_key"])
        uploaded_at: float | None = row["uploaded_at"]
        if head is not None and uploaded_at is None:
            uploaded_at = self._record_upload(row["video_id"], now)
        failure = FailureStage(row["fail_stage"]) if row["fail_stage"] else None
        status = lifecycle.status_at(
            uploaded_at=uploaded_at, now=now, timeline=self.timeline(), failure=failure
        )
        cate_id: int | None = row["cate_id"]
        if names is None:
            category = None if cate_id is None else self.categories.get(cate_id)
            cate_name = "" if category is None else category.name
        else:
            cate_name = names.get(cate_id, "") if cate_id is not None else ""
        modified_at = row["modified_at"] or uploaded_at or row["created_at"]
        return Video(
            video_id=row["video_id"],
            title=row["title"],
            file_name=row["file_name"],
            description=row["description"],
            tags=row["tags"],
            cate_id=cate_id,
            cover_url=row["cover_url"],
            template_group_id=row["template_group_id"],
            workflow_id=row["workflow_id"],
            app_id=row["app_id"],
            user_data=row["user_data"],
            reference_id=row["reference_id"],
            bucket=row["bucket"],
            object_key=row["object_key"],
            created_at=row["created_at"],
            status=status,
            size=head.size if head is not None else row["declared_size"],
            modified_at=modified_at,
            uploaded_at=uploaded_at,
            cate_name=cate_name,
        )

    def _record_upload(self, video_id: str, now: float) -> float:
        """Remember when the upload was first seen; a concurrent reader may have won."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE vod_videos SET uploaded_at = ? WHERE video_id = ? AND uploaded_at IS NULL",
                (now, video_id),
            )
            row = conn.execute(
                "SELECT uploaded_at FROM vod_videos WHERE video_id = ?", (video_id,)
            ).fetchone()
        return float(row["uploaded_at"]) if row is not None else now

    # -- images and attached media -----------------------------------------------------

    def create_upload_image(self, spec: ImageSpec) -> UploadGrant:
        image_type, extension = validation.check_image(spec.image_type, spec.image_ext)
        tags = validation.check_title_description_tags(spec.title, spec.description, spec.tags)
        if spec.user_data:
            validation.check_user_data(spec.user_data)
        bucket = self._bucket_for(spec.storage_location)
        image_id = secrets.token_hex(16)
        object_key = f"image/{image_type}/{image_id.upper()}-6-2.{extension}"
        self._insert_media(
            media_id=image_id,
            kind=MediaKind.IMAGE,
            subtype=image_type,
            extension=extension,
            title=spec.title,
            description=spec.description,
            tags=tags,
            cate_ids="" if spec.cate_id is None else str(spec.cate_id),
            app_id=spec.app_id,
            user_data=spec.user_data,
            file_name=spec.original_file_name,
            declared_size=None,
            bucket=bucket,
            object_key=object_key,
        )
        return self._grant(media_id=image_id, bucket=bucket, object_key=object_key)

    def create_upload_attached_media(self, spec: AttachedMediaSpec) -> UploadGrant:
        extension = validation.check_attached_media(
            spec.business_type, spec.media_ext, spec.file_name or None
        )
        tags = validation.check_title_description_tags(spec.title, spec.description, spec.tags)
        cate_ids = (
            ",".join(validation.split_ids("CateIds", spec.cate_ids, limit=validation.CATE_IDS_MAX))
            if spec.cate_ids
            else ""
        )
        if spec.user_data:
            validation.check_user_data(spec.user_data)
        bucket = self._bucket_for(spec.storage_location)
        media_id = secrets.token_hex(16)
        object_key = f"{spec.business_type}/default/{media_id.upper()}.{extension}"
        self._insert_media(
            media_id=media_id,
            kind=MediaKind.ATTACHED,
            subtype=spec.business_type,
            extension=extension,
            title=spec.title,
            description=spec.description,
            tags=tags,
            cate_ids=cate_ids,
            app_id=spec.app_id,
            user_data=spec.user_data,
            file_name=spec.file_name,
            declared_size=spec.file_size,
            bucket=bucket,
            object_key=object_key,
        )
        return self._grant(media_id=media_id, bucket=bucket, object_key=object_key)

    def get_image(self, image_id: str) -> Media:
        media = self._media(image_id)
        if media is None or media.kind is not MediaKind.IMAGE:
            raise InvalidImageNotFound()
        return media

    def _insert_media(self, **columns: Any) -> None:
        columns["kind"] = columns["kind"].value
        columns["created_at"] = self.clock.now()
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        with self.db.transaction() as conn:
            conn.execute(
                f"INSERT INTO vod_media ({names}) VALUES ({marks})", tuple(columns.values())
            )

    def _media(self, media_id: str) -> Media | None:
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM vod_media WHERE media_id = ?", (media_id,)).fetchone()
        if row is None:
            return None
        head = self.oss.head_object(row["bucket"], row["object_key"])
        return Media(
            media_id=row["media_id"],
            kind=MediaKind(row["kind"]),
            subtype=row["subtype"],
            extension=row["extension"],
            title=row["title"],
            description=row["description"],
            tags=row["tags"],
            cate_ids=row["cate_ids"],
            app_id=row["app_id"],
            user_data=row["user_data"],
            file_name=row["file_name"],
            bucket=row["bucket"],
            object_key=row["object_key"],
            created_at=row["created_at"],
            uploaded=head is not None,
            size=head.size if head is not None else row["declared_size"],
        )

    def media(self, media_id: str) -> Media | None:
        return self._media(media_id)

    def media_rows(self) -> list[str]:
        with self.db.read() as conn:
            return [
                r[0] for r in conn.execute("SELECT media_id FROM vod_media ORDER BY created_at")
            ]

    def all_videos(self) -> list[Video]:
        """Every video, oldest first, with its derived status."""
        names = self.categories.names()
        with self.db.read() as conn:
            rows = conn.execute("SELECT * FROM vod_videos ORDER BY created_at").fetchall()
        return [self.video_from_row(row, names=names) for row in rows]

    # -- changes after the upload --------------------------------------------------------

    def update_video(self, video_id: str, changes: dict[str, Any]) -> None:
        """Apply validated ``column -> value`` changes (see ``library.video_changes``)."""
        if self._video_row(video_id) is None:
            raise InvalidVideoNotFound()
        if not changes:
            return
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE vod_videos SET {assignments}, modified_at = ? WHERE video_id = ?",
                (*changes.values(), self.clock.now(), video_id),
            )

    def uncategorise(self, cate_ids: list[int]) -> None:
        """Videos filed under deleted categories become uncategorised."""
        marks = ",".join("?" for _ in cate_ids)
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE vod_videos SET cate_id = NULL WHERE cate_id IN ({marks})", cate_ids
            )

    def fail_video(self, video_id: str, stage: FailureStage) -> Video:
        """Control plane: make a video's upload or transcoding fail (EMU-VOD-021)."""
        if self._video_row(video_id) is None:
            raise InvalidVideoNotFound()
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE vod_videos SET fail_stage = ? WHERE video_id = ?", (stage.value, video_id)
            )
        self.tick()
        return self.get_video(video_id)

    # -- events ----------------------------------------------------------------------------

    def tick(self) -> float | None:
        """Emit the events of every status change since the last tick; returns the next
        lifecycle instant (or None) and tells the dispatcher about it."""
        with self._tick_lock:
            next_due = library.announce_changes(self)
        self.dispatcher.schedule(next_due)
        return next_due

    # -- control plane -----------------------------------------------------------------

    def reset(self) -> None:
        """Forget every video, media asset, category and callback setting (credentials
        live in the store); pending callback deliveries are dropped."""
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM vod_videos")
            conn.execute("DELETE FROM vod_media")
        self.categories.reset()
        self.callback_configs.reset()
        self.dispatcher.clear()
        self.recent_events.clear()

    def dump(self) -> dict[str, Any]:
        """JSON-ready snapshot: videos with their derived status, images, attached media,
        categories and the events emitted (never a callback AuthKey)."""
        videos = self.all_videos()
        media = [
            m for m in (self._media(media_id) for media_id in self.media_rows()) if m is not None
        ]
        return {
            "storage_bucket": self.storage_bucket,
            "videos": [_video_dump(video) for video in videos],
            "images": [_media_dump(m) for m in media if m.kind is MediaKind.IMAGE],
            "attached_media": [_media_dump(m) for m in media if m.kind is MediaKind.ATTACHED],
            "categories": [
                {"cate_id": c.cate_id, "name": c.name, "parent_id": c.parent_id, "level": c.level}
                for c in self.categories.all()
            ],
            "events": list(self.recent_events),
        }


def _add_missing_columns(db: Database) -> None:
    with db.transaction() as conn:
        for table, columns in _ADDED_COLUMNS.items():
            present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for name, ddl in columns.items():
                if name not in present:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}")


def _video_dump(video: Video) -> dict[str, Any]:
    return {
        "video_id": video.video_id,
        "title": video.title,
        "status": video.status.value,
        "bucket": video.bucket,
        "object_key": video.object_key,
        "size": video.size,
        "created_at": format_vod_time(video.created_at),
        "cate_id": video.cate_id,
    }


def _media_dump(media: Media) -> dict[str, Any]:
    return {
        "media_id": media.media_id,
        "type": media.subtype,
        "bucket": media.bucket,
        "object_key": media.object_key,
        "uploaded": media.uploaded,
        "size": media.size,
        "created_at": format_vod_time(media.created_at),
    }
