"""What a video app calls after the upload: listing, search, updates, playback, events.

Functions over a :class:`~emulator.vod.models.VodBackend` (kept apart from the model's
upload half so each module stays small). They validate first and raise the VOD errors of
``exceptions.py`` before anything changes.

Playback (GetPlayInfo): the emulator does not transcode, so a ``Normal`` video has one
stream, the original file (Definition ``OD``). Its ``PlayURL`` is an OSS V1 presigned GET
URL on the emulator itself, signed with a temporary credential of kind
:attr:`CredentialKind.PLAY_AUTH` that may only read that one object and expires after
``AuthTimeout`` seconds of emulator time: the URL really plays (oss2, curl, a browser's
``<video>``), and stops working when the clock passes its expiry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from emulator.credentials import CredentialKind, Scope
from emulator.numbers import parse_decimal, parse_signed_decimal
from emulator.oss.auth import v1_signature
from emulator.vod import events, lifecycle, search, validation
from emulator.vod.exceptions import (
    ForbiddenIllegalStatus,
    InvalidParameter,
    InvalidVideoNoneStream,
)
from emulator.vod.notify import MessageCallback
from emulator.vod.records import FailureStage, Media, MediaKind, Video, VideoStatus, format_vod_time

if TYPE_CHECKING:
    from emulator.vod.models import VodBackend

PLAY_AUTH_TIMEOUT_DEFAULT = 3600
PLAY_AUTH_TIMEOUT_MAX = 2592000  # 30 days


# -- events ------------------------------------------------------------------------------


def file_url(vod: VodBackend, bucket: str, key: str) -> str:
    """The object's address as the service reports it in events (virtual-hosted)."""
    return f"http://{bucket}.oss-{vod.config.region}.aliyuncs.com/{quote(key, safe='/~')}"


def announce_changes(vod: VodBackend) -> float | None:
    """Emit the events of every status change not yet announced; the next lifecycle
    instant among the videos still moving (None: nothing scheduled)."""
    now = vod.clock.now()
    due: list[float] = []
    timeline = vod.timeline()
    with vod.db.read() as conn:
        rows = conn.execute(
            "SELECT * FROM vod_videos WHERE announced NOT IN (?, ?, ?)",
            tuple(status.value for status in lifecycle.FINAL),
        ).fetchall()
        media_ids = [
            row[0]
            for row in conn.execute("SELECT media_id FROM vod_media WHERE uploaded_at IS NULL")
        ]
    for row in rows:
        video = vod.video_from_row(row)
        _announce(vod, video, VideoStatus(row["announced"]), now)
        failure = FailureStage(row["fail_stage"]) if row["fail_stage"] else None
        change = lifecycle.next_change(
            uploaded_at=video.uploaded_at, now=now, timeline=timeline, failure=failure
        )
        if change is not None:
            due.append(change)
    for media_id in media_ids:
        _announce_media(vod, media_id, now)
    return min(due) if due else None


def _announce(vod: VodBackend, video: Video, previous: VideoStatus, now: float) -> None:
    entered = lifecycle.transitions(previous, video.status)
    if not entered:
        return
    with vod.db.transaction() as conn:
        cursor = conn.execute(
            "UPDATE vod_videos SET announced = ? WHERE video_id = ? AND announced = ?",
            (video.status.value, video.video_id, previous.value),
        )
    if cursor.rowcount == 0:
        return  # another thread announced it first
    config = vod.callback_configs.get(video.app_id)
    url = file_url(vod, video.bucket, video.object_key)
    for status in entered:
        for payload in events.video_events(video, status, now, url):
            _send(vod, payload, video.video_id, video.user_data, config)


def _announce_media(vod: VodBackend, media_id: str, now: float) -> None:
    media = vod.media(media_id)
    if media is None or not media.uploaded:
        return
    with vod.db.transaction() as conn:
        cursor = conn.execute(
            "UPDATE vod_media SET uploaded_at = ? WHERE media_id = ? AND uploaded_at IS NULL",
            (now, media_id),
        )
    if cursor.rowcount == 0:
        return
    payload = events.media_event(media, now, file_url(vod, media.bucket, media.object_key))
    _send(vod, payload, media_id, media.user_data, vod.callback_configs.get(media.app_id))


def _send(
    vod: VodBackend,
    payload: dict[str, Any],
    media_id: str,
    user_data: str,
    config: MessageCallback | None,
) -> None:
    event_type = str(payload["EventType"])
    vod.recent_events.append({"media_id": media_id, **payload})
    target = events.target_for(config=config, user_data=user_data, event_type=event_type)
    if target is not None:
        vod.dispatcher.enqueue(
            event_type=event_type, media_id=media_id, payload=payload, target=target
        )


# -- UpdateVideoInfo(s) ----------------------------------------------------------------------


def video_changes(vod: VodBackend, fields: dict[str, str]) -> dict[str, Any]:
    """Validated column changes from API field names (absent fields are left alone)."""
    changes: dict[str, Any] = {}
    if "Title" in fields:
        title = fields["Title"]
        if not title.strip():
            raise InvalidParameter("Title", "It must not be empty.")
        changes["title"] = validation.check_text(
            "Title", title, max_bytes=validation.TITLE_MAX_BYTES
        )
    if "Description" in fields:
        changes["description"] = validation.check_text(
            "Description", fields["Description"], max_bytes=validation.DESCRIPTION_MAX_BYTES
        )
    if "Tags" in fields:
        changes["tags"] = validation.check_tags(fields["Tags"])
    if "CoverURL" in fields:
        changes["cover_url"] = fields["CoverURL"]
    if "UserData" in fields:
        changes["user_data"] = (
            validation.check_user_data(fields["UserData"]) if fields["UserData"] else ""
        )
    if "ReferenceId" in fields:
        changes["reference_id"] = fields["ReferenceId"]
    if "CateId" in fields and str(fields["CateId"]).strip():
        cate_id = parse_signed_decimal(str(fields["CateId"]).strip())
        if cate_id is None:
            raise InvalidParameter("CateId", "It must be an integer.")
        vod.categories.require(cate_id)
        changes["cate_id"] = cate_id
    return changes


UPDATE_FIELDS = ("Title", "Description", "Tags", "CoverURL", "CateId", "UserData", "ReferenceId")


def parse_update_content(text: str) -> list[dict[str, str]]:
    """UpdateVideoInfos' ``UpdateContent``: a JSON array (at most 20) of objects, each with
    ``VideoId`` and the fields to change."""
    try:
        items = json.loads(text)
    except ValueError:
        raise InvalidParameter("UpdateContent", "It must be a JSON array.") from None
    if not isinstance(items, list) or not items:
        raise InvalidParameter("UpdateContent", "It must be a non-empty JSON array.")
    if len(items) > validation.IDS_PER_CALL_MAX:
        raise InvalidParameter(
            "UpdateContent", f"It may hold at most {validation.IDS_PER_CALL_MAX} items."
        )
    parsed: list[dict[str, str]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("VideoId"), str):
            raise InvalidParameter("UpdateContent", "Every item needs a VideoId string.")
        parsed.append({k: str(v) for k, v in item.items() if k == "VideoId" or k in UPDATE_FIELDS})
    return parsed


# -- GetVideoList / SearchMedia ------------------------------------------------------------


def video_row(video: Video, storage_location: str) -> search.Row:
    """A video's searchable fields."""
    return {
        "VideoId": video.video_id,
        "MediaId": video.video_id,
        "Title": video.title,
        "Description": video.description,
        "Tags": video.tags,
        "CateId": -1 if video.cate_id is None else video.cate_id,
        "Status": video.status.value,
        "StorageLocation": storage_location,
        "AppId": video.app_id,
        "ReferenceId": video.reference_id,
        "CreationTime": video.created_at,
        "ModificationTime": video.modified_at,
        "_record": video,
    }


def media_row(media: Media, storage_location: str) -> search.Row:
    return {
        "ImageId" if media.kind is MediaKind.IMAGE else "MediaId": media.media_id,
        "MediaId": media.media_id,
        "Title": media.title,
        "Description": media.description,
        "Tags": media.tags,
        "CateId": -1 if parse_decimal(media.cate_ids) is None else parse_decimal(media.cate_ids),
        "Status": "Normal" if media.uploaded else "Uploading",
        "StorageLocation": storage_location,
        "AppId": media.app_id,
        "Type": media.subtype,
        "CreationTime": media.created_at,
        "ModificationTime": media.created_at,
        "_record": media,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoQuery:
    statuses: frozenset[str] | None = None
    cate_id: int | None = None
    start: float | None = None
    end: float | None = None
    storage_location: str | None = None
    reference_ids: frozenset[str] | None = None
    sort_by: str = "CreationTime:Desc"


def list_videos(vod: VodBackend, query: VideoQuery, page: search.Page) -> tuple[int, list[Video]]:
    """GetVideoList: the filtered, sorted total and one page."""
    location = vod.storage_location
    conditions: list[Callable[[search.Row], bool]] = []
    if query.statuses is not None:
        statuses = query.statuses
        conditions.append(lambda row: row["Status"] in statuses)
    if query.cate_id is not None:
        cate_id = query.cate_id
        conditions.append(lambda row: row["CateId"] == cate_id)
    if query.start is not None:
        start = query.start
        conditions.append(lambda row: row["CreationTime"] >= start)
    if query.end is not None:
        end = query.end
        conditions.append(lambda row: row["CreationTime"] <= end)
    if query.storage_location is not None:
        wanted_location = query.storage_location
        conditions.append(lambda row: row["StorageLocation"] == wanted_location)
    if query.reference_ids is not None:
        references = query.reference_ids
        conditions.append(lambda row: row["ReferenceId"] in references)
    rows = [video_row(video, location) for video in vod.all_videos()]
    rows = [row for row in rows if all(condition(row) for condition in conditions)]
    rows = search.sort_rows(rows, query.sort_by)
    window = rows[page.offset : page.offset + page.size]
    return len(rows), [row["_record"] for row in window]


SEARCH_TYPES = ("video", "image", "attached", "audio")


def search_media(
    vod: VodBackend, *, search_type: str, match: str, sort_by: str, page: search.Page
) -> tuple[int, list[search.Row]]:
    """SearchMedia: rows of one media type matching ``match``, sorted, one page."""
    kind = search_type or "video"
    if kind not in SEARCH_TYPES:
        raise InvalidParameter("SearchType", f"Valid values: {', '.join(SEARCH_TYPES)}.")
    predicate = search.compile_match(match)
    location = vod.storage_location
    rows: list[search.Row]
    if kind == "video":
        rows = [video_row(video, location) for video in vod.all_videos()]
    elif kind == "audio":
        rows = []  # audio uploads are videos with audio extensions; none are classified so
    else:
        wanted = MediaKind.IMAGE if kind == "image" else MediaKind.ATTACHED
        media = [vod.media(media_id) for media_id in vod.media_rows()]
        rows = [media_row(m, location) for m in media if m is not None and m.kind is wanted]
    rows = search.sort_rows([row for row in rows if predicate(row)], sort_by)
    return len(rows), rows[page.offset : page.offset + page.size]


# -- GetPlayInfo --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Stream:
    definition: str
    format: str
    size: int
    play_url: str
    created_at: float


def play_streams(
    vod: VodBackend,
    video: Video,
    *,
    formats: str,
    auth_timeout: int | None,
    base_url: str | None,
) -> list[Stream]:
    """The playable streams of a Normal video, with URLs valid for ``auth_timeout``.

    ``base_url`` is where this client reaches OSS on the emulator (None: the real regional
    host, for clients that come through the emulator as HTTP proxy).
    """
    if video.status is not VideoStatus.NORMAL:
        raise ForbiddenIllegalStatus(video.status.value)
    extension = validation.extension_of(video.object_key)
    wanted = {item.strip().lower() for item in formats.split(",") if item.strip()}
    if wanted and extension not in wanted:
        raise InvalidVideoNoneStream()
    timeout = PLAY_AUTH_TIMEOUT_DEFAULT if auth_timeout is None else auth_timeout
    if not 1 <= timeout <= PLAY_AUTH_TIMEOUT_MAX:
        raise InvalidParameter("AuthTimeout", f"It must be within 1..{PLAY_AUTH_TIMEOUT_MAX}.")
    now = vod.clock.now()
    credential = vod.credentials.issue(
        now=now,
        ttl_seconds=float(timeout),
        kind=CredentialKind.PLAY_AUTH,
        scope=Scope(
            bucket=video.bucket,
            key=video.object_key,
            actions=frozenset({"GetObject", "HeadObject", "GetObjectMeta"}),
        ),
        note=f"vod-play:{video.video_id}",
    )
    expires = int(now + timeout)
    token = credential.security_token or ""
    resource = f"/{video.bucket}/{video.object_key}?security-token={token}"
    signature = v1_signature(credential.access_key_secret, f"GET\n\n\n{expires}\n{resource}")
    key = quote(video.object_key, safe="/~")
    origin = (
        f"{base_url}/{video.bucket}/{key}"
        if base_url is not None
        else f"http://{video.bucket}.oss-{vod.config.region}.aliyuncs.com/{key}"
    )
    url = (
        f"{origin}?OSSAccessKeyId={quote(credential.access_key_id, safe='')}"
        f"&Expires={expires}&Signature={quote(signature, safe='')}"
        f"&security-token={quote(token, safe='')}"
    )
    return [
        Stream(
            definition=events.ORIGINAL_DEFINITION,
            format=extension,
            size=video.size or 0,
            play_url=url,
            created_at=video.uploaded_at or video.created_at,
        )
    ]


def vod_time(seconds: float) -> str:
    return format_vod_time(seconds)
