"""The JSON bodies of VOD's event notifications, and where each one goes.

Field names follow VOD's event reference (specs/emulator-vod-sts.md, EMU-VOD-023):
every event has ``EventTime`` (``yyyy-MM-ddTHH:mm:ssZ``), ``EventType`` and the media id;
``Status`` is ``success`` or ``fail``; ``Extend`` carries back the ``Extend`` of the
upload's ``UserData`` when there was one. The emulator does not transcode: its one stream
is the original file (Definition ``OD``, the no-transcode template's output), so stream
fields the service derives from probing (bit rate, frame rate, size in pixels) are 0.
"""

from __future__ import annotations

import json
from typing import Any

from emulator.vod.notify import MessageCallback, Target
from emulator.vod.records import Media, MediaKind, Video, VideoStatus, format_vod_time

ORIGINAL_DEFINITION = "OD"


def _extend(user_data: str) -> dict[str, Any]:
    """``{"Extend": ...}`` from an upload's UserData, or nothing."""
    try:
        parsed = json.loads(user_data) if user_data else None
    except ValueError:
        return {}
    if not isinstance(parsed, dict) or "Extend" not in parsed:
        return {}
    extend = parsed["Extend"]
    return {"Extend": extend if isinstance(extend, str) else json.dumps(extend)}


def target_for(*, config: MessageCallback | None, user_data: str, event_type: str) -> Target | None:
    """Where ``event_type`` for an upload goes, or None.

    ``UserData.MessageCallback.CallbackURL`` overrides the AppId's configured URL for that
    upload (the service's per-request override); the configured event filter and
    authentication still apply when there is a configuration.
    """
    if config is not None and not config.wants(event_type):
        return None
    override_url = ""
    override_type = "HTTP"
    try:
        parsed = json.loads(user_data) if user_data else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("MessageCallback"), dict):
        callback = parsed["MessageCallback"]
        override_url = str(callback.get("CallbackURL") or "")
        override_type = str(callback.get("CallbackType") or "http").upper()
    auth_key = config.auth_key if config is not None and config.auth_switch else None
    if override_url:
        return Target(callback_type=override_type, url=override_url, auth_key=auth_key)
    if config is None:
        return None
    if config.callback_type == "MNS":
        queue = f"mns://{config.mns_endpoint}/{config.mns_queue_name}"
        return Target(callback_type="MNS", url=queue, auth_key=None)
    return Target(callback_type="HTTP", url=config.callback_url, auth_key=auth_key)


def stream_info(video: Video, file_url: str, *, ok: bool) -> dict[str, Any]:
    info: dict[str, Any] = {
        "Status": "success" if ok else "fail",
        "Definition": ORIGINAL_DEFINITION,
        "Format": video.object_key.rpartition(".")[2].lower(),
        "Encrypt": False,
        "Bitrate": "0",
        "Duration": "0",
        "Fps": "0",
        "Height": 0,
        "Width": 0,
        "Size": video.size or 0,
        "FileUrl": file_url,
    }
    if not ok:
        info["ErrorCode"] = "InvalidMedia"
        info["ErrorMessage"] = "Transcoding failed (injected by the emulator's control plane)."
    return info


def video_events(
    video: Video, entered: VideoStatus, at: float, file_url: str
) -> list[dict[str, Any]]:
    """The events the service sends when ``video`` enters ``entered``."""
    base = {"EventTime": format_vod_time(at), "VideoId": video.video_id, **_extend(video.user_data)}
    if entered is VideoStatus.UPLOAD_SUCC:
        return [
            {
                **base,
                "EventType": "FileUploadComplete",
                "Status": "success",
                "Size": video.size or 0,
                "FileUrl": file_url,
            }
        ]
    if entered in (VideoStatus.NORMAL, VideoStatus.TRANSCODE_FAIL):
        ok = entered is VideoStatus.NORMAL
        stream = stream_info(video, file_url, ok=ok)
        status = "success" if ok else "fail"
        return [
            {**base, "EventType": "StreamTranscodeComplete", **stream},
            {**base, "EventType": "TranscodeComplete", "Status": status, "StreamInfos": [stream]},
        ]
    return []  # Transcoding, UploadFail: the service sends no event for these


def media_event(media: Media, at: float, file_url: str) -> dict[str, Any]:
    """ImageUploadComplete or AttachedMediaUploadComplete for an uploaded file."""
    if media.kind is MediaKind.IMAGE:
        head = {"EventType": "ImageUploadComplete", "ImageId": media.media_id}
    else:
        head = {"EventType": "AttachedMediaUploadComplete", "MediaId": media.media_id}
    return {
        "EventTime": format_vod_time(at),
        **head,
        "Status": "success",
        "FileURL": file_url,
        "Size": media.size or 0,
        **_extend(media.user_data),
    }
