"""VOD's wire layer: parse each action's parameters, call the model, build the document.

No business rules here (they live in ``models.py`` and ``validation.py``). Every handler
returns the response document without ``RequestId``; the RPC dispatcher adds it and
serialises JSON or XML. Key names and shapes follow the tea models of
``alibabacloud-vod20170321``, which is what clients parse.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from emulator.numbers import parse_decimal
from emulator.rpc.call import RpcCall
from emulator.vod import validation
from emulator.vod.models import VodBackend
from emulator.vod.records import (
    AttachedMediaSpec,
    ImageSpec,
    Media,
    UploadGrant,
    Video,
    VideoSpec,
    format_vod_time,
)

Document = dict[str, Any]


def _b64_json(document: Document) -> str:
    raw = json.dumps(document, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def upload_auth(grant: UploadGrant, call: RpcCall) -> str:
    """base64(JSON) UploadAuth, in the real service's field order.

    ``Expiration`` is the lifetime in seconds as a string; ``ExpireUTCTime`` the instant.
    """
    credential = grant.credential
    expires_at = credential.expires_at if credential.expires_at is not None else 0.0
    return _b64_json(
        {
            "SecurityToken": credential.security_token,
            "AccessKeyId": credential.access_key_id,
            "AccessKeySecret": credential.access_key_secret,
            "Expiration": str(int(grant.ttl_seconds)),
            "ExpireUTCTime": format_vod_time(expires_at),
            "Region": call.region,
        }
    )


def upload_address(grant: UploadGrant, call: RpcCall) -> str:
    address: Document = {
        "Endpoint": call.oss_endpoint,
        "Bucket": grant.bucket,
        "FileName": grant.object_key,
    }
    if grant.object_prefix:
        address["ObjectPrefix"] = grant.object_prefix  # voduploadsdk's HLS segments go here
    return _b64_json(address)


def _upload_document(grant: UploadGrant, call: RpcCall) -> Document:
    return {
        "UploadAddress": upload_address(grant, call),
        "UploadAuth": upload_auth(grant, call),
    }


# -- videos ------------------------------------------------------------------------------


def create_upload_video(vod: VodBackend, call: RpcCall) -> Document:
    spec = VideoSpec(
        title=call.required("Title"),
        file_name=call.required("FileName"),
        description=call.optional("Description"),
        tags=call.optional("Tags"),
        cate_id=call.optional_int("CateId"),
        cover_url=call.optional("CoverURL"),
        template_group_id=call.optional("TemplateGroupId"),
        workflow_id=call.optional("WorkflowId"),
        app_id=call.optional("AppId") or validation.DEFAULT_APP_ID,
        user_data=call.optional("UserData"),
        reference_id=call.optional("ReferenceId"),
        file_size=call.optional_int("FileSize", minimum=0),
        storage_location=call.optional("StorageLocation") or None,
    )
    grant = vod.create_upload_video(spec)
    return {"VideoId": grant.media_id, **_upload_document(grant, call)}


def refresh_upload_video(vod: VodBackend, call: RpcCall) -> Document:
    grant = vod.refresh_upload_video(call.required("VideoId"))
    return {"VideoId": grant.media_id, **_upload_document(grant, call)}


def video_document(video: Video, call: RpcCall) -> Document:
    document: Document = {
        "VideoId": video.video_id,
        "Title": video.title,
        "Description": video.description,
        "Duration": 0.0,
        "CoverURL": video.cover_url,
        "Status": video.status.value,
        "CreationTime": format_vod_time(video.created_at),
        "ModificationTime": format_vod_time(video.modified_at),
        "CateId": -1 if video.cate_id is None else video.cate_id,
        "CateName": video.cate_name,
        "Tags": video.tags,
        "TemplateGroupId": video.template_group_id,
        "StorageLocation": f"{video.bucket}.oss-{call.region}.aliyuncs.com",
        "RegionId": call.region,
        "AppId": video.app_id,
        "DownloadSwitch": "on",
        "StorageClass": "Standard",
        "ReferenceId": video.reference_id,
        "UserData": video.user_data,
    }
    if video.size is not None:
        document["Size"] = video.size
    return document


def get_video_info(vod: VodBackend, call: RpcCall) -> Document:
    video = vod.get_video(call.required("VideoId"))
    document = video_document(video, call)
    document["Snapshots"] = {"Snapshot": []}
    return {"Video": document}


def get_video_infos(vod: VodBackend, call: RpcCall) -> Document:
    ids = validation.split_ids("VideoIds", call.required("VideoIds"))
    videos, missing = vod.get_videos(ids)
    document: Document = {"VideoList": [video_document(video, call) for video in videos]}
    if missing:
        document["NonExistVideoIds"] = missing
    return document


def delete_video(vod: VodBackend, call: RpcCall) -> Document:
    ids = validation.split_ids("VideoIds", call.required("VideoIds"))
    missing = vod.delete_videos(ids)
    return {"NonExistVideoIds": missing} if missing else {}


def get_mezzanine_info(vod: VodBackend, call: RpcCall) -> Document:
    """The source file's record. No media probing: stream lists are empty, sizes real."""
    video = vod.get_video(call.required("VideoId"))
    uploaded = video.status.value != "Uploading"
    mezzanine: Document = {
        "VideoId": video.video_id,
        "FileName": validation.base_name(video.file_name),
        "FileURL": call.object_url(video.bucket, video.object_key),
        "Status": "Normal" if uploaded else "Uploading",
        "CreationTime": format_vod_time(video.created_at),
        "OutputType": "oss",
        "StorageClass": "Standard",
        "Duration": "0",
        "Bitrate": "0",
        "Fps": "0",
        "Height": 0,
        "Width": 0,
        "VideoStreamList": [],
        "AudioStreamList": [],
    }
    if video.size is not None:
        mezzanine["Size"] = video.size
    return {"Mezzanine": mezzanine}


# -- images and attached media ------------------------------------------------------------


def create_upload_image(vod: VodBackend, call: RpcCall) -> Document:
    spec = ImageSpec(
        image_type=call.required("ImageType"),
        image_ext=call.optional("ImageExt") or None,
        title=call.optional("Title"),
        description=call.optional("Description"),
        tags=call.optional("Tags"),
        cate_id=call.optional_int("CateId"),
        app_id=call.optional("AppId") or validation.DEFAULT_APP_ID,
        user_data=call.optional("UserData"),
        original_file_name=call.optional("OriginalFileName"),
        storage_location=call.optional("StorageLocation") or None,
    )
    grant = vod.create_upload_image(spec)
    url = call.object_url(grant.bucket, grant.object_key)
    return {
        "ImageId": grant.media_id,
        "ImageURL": url,
        "FileURL": url,
        **_upload_document(grant, call),
    }


def create_upload_attached_media(vod: VodBackend, call: RpcCall) -> Document:
    spec = AttachedMediaSpec(
        business_type=call.required("BusinessType"),
        media_ext=call.optional("MediaExt") or None,
        file_name=call.optional("FileName"),
        file_size=call.optional_int("FileSize", minimum=0),
        title=call.optional("Title"),
        description=call.optional("Description"),
        tags=call.optional("Tags"),
        cate_ids=call.optional("CateIds"),
        app_id=call.optional("AppId") or validation.DEFAULT_APP_ID,
        user_data=call.optional("UserData"),
        storage_location=call.optional("StorageLocation") or None,
    )
    grant = vod.create_upload_attached_media(spec)
    url = call.object_url(grant.bucket, grant.object_key)
    return {
        "MediaId": grant.media_id,
        "MediaURL": url,
        "FileURL": url,
        **_upload_document(grant, call),
    }


def _image_document(image: Media, call: RpcCall) -> Document:
    url = call.object_url(image.bucket, image.object_key)
    mezzanine: Document = {"FileURL": url, "OriginalFileName": image.file_name}
    if image.size is not None:
        mezzanine["FileSize"] = image.size
    return {
        "ImageId": image.media_id,
        "Title": image.title,
        "Description": image.description,
        "CreationTime": format_vod_time(image.created_at),
        "CateId": _cate_id(image.cate_ids),
        "CateName": "",
        "Tags": image.tags,
        "ImageType": image.subtype,
        "URL": url,
        "StorageLocation": f"{image.bucket}.oss-{call.region}.aliyuncs.com",
        "AppId": image.app_id,
        "Status": "Normal" if image.uploaded else "Uploading",
        "Mezzanine": mezzanine,
    }


def get_image_info(vod: VodBackend, call: RpcCall) -> Document:
    return {"ImageInfo": _image_document(vod.get_image(call.required("ImageId")), call)}


# -- telemetry -----------------------------------------------------------------------------


def report_upload_progress(vod: VodBackend, call: RpcCall) -> Document:
    """voduploadsdk and the JS SDK report progress unsigned; the emulator just agrees."""
    return {}


def get_upload_progress(vod: VodBackend, call: RpcCall) -> Document:
    """The JS SDK's cloud checkpoint lookup: the emulator keeps none, so the list is empty."""
    return {"UploadProgress": {"UploadProgressList": []}}


def _cate_id(raw: str) -> int:
    """An image's first category id as a number, -1 when it has none (EMU-SEC-010:
    ``str.isdigit`` would let ``"\u00b9"`` through to a failing ``int()``)."""
    value = parse_decimal(raw)
    return -1 if value is None else value
