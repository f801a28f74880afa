"""Wire layer of the post-upload VOD actions: playback, listing, search, updates,
categories and message callbacks. Parse parameters, call ``library``/the stores, shape
the document the tea models read (``alibabacloud-vod20170321``). No business rules here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from emulator.numbers import parse_decimal
from emulator.rpc.call import RpcCall
from emulator.vod import catalog, library, search, validation
from emulator.vod.exceptions import InvalidParameter, InvalidVideoNotFound
from emulator.vod.models import VodBackend
from emulator.vod.notify import KNOWN_EVENTS, MessageCallback
from emulator.vod.records import Category, Media, MediaKind, format_vod_time
from emulator.vod.responses import video_document

Document = dict[str, Any]

# -- playback -----------------------------------------------------------------------------


def get_play_info(vod: VodBackend, call: RpcCall) -> Document:
    video = vod.get_video(call.required("VideoId"))
    streams = library.play_streams(
        vod,
        video,
        formats=call.optional("Formats"),
        auth_timeout=call.optional_int("AuthTimeout"),
        base_url=None if call.request.via_proxy else call.request.base_url,
    )
    play_infos = [
        {
            "Definition": stream.definition,
            "Format": stream.format,
            "PlayURL": stream.play_url,
            "Size": stream.size,
            "Bitrate": "0",
            "Duration": "0",
            "Fps": "0",
            "Height": 0,
            "Width": 0,
            "Encrypt": 0,
            "Status": "Normal",
            "StreamType": "video",
            "Specification": "Original",
            "NarrowBandType": "0",
            "CreationTime": format_vod_time(stream.created_at),
            "ModificationTime": format_vod_time(stream.created_at),
            "JobId": "",
        }
        for stream in streams
    ]
    return {
        "PlayInfoList": {"PlayInfo": play_infos},
        "VideoBase": {
            "VideoId": video.video_id,
            "Title": video.title,
            "CoverURL": video.cover_url,
            "Duration": "0",
            "Status": video.status.value,
            "MediaType": "video",
            "CreationTime": format_vod_time(video.created_at),
            "StorageClass": "Standard",
        },
    }


# -- listing and search ------------------------------------------------------------------------


def get_video_list(vod: VodBackend, call: RpcCall) -> Document:
    statuses = call.optional("Status")
    references = call.optional("ReferenceIds")
    start, end = call.optional("StartTime"), call.optional("EndTime")
    query = library.VideoQuery(
        statuses=frozenset(s.strip() for s in statuses.split(",") if s.strip()) or None,
        cate_id=call.optional_int("CateId"),
        start=search.parse_time(start, "StartTime") if start else None,
        end=search.parse_time(end, "EndTime") if end else None,
        storage_location=call.optional("StorageLocation") or None,
        reference_ids=frozenset(r.strip() for r in references.split(",") if r.strip()) or None,
        sort_by=call.optional("SortBy") or "CreationTime:Desc",
    )
    page = search.page_of(
        page_no=call.optional_int("PageNo"), page_size=call.optional_int("PageSize")
    )
    total, videos = library.list_videos(vod, query, page)
    return {
        "Total": total,
        "VideoList": {"Video": [_listed_video(video, call) for video in videos]},
    }


def _listed_video(video: Any, call: RpcCall) -> Document:
    document = video_document(video, call)
    document["Snapshots"] = {"Snapshot": []}
    return document


def _media_document(media: Media, call: RpcCall) -> Document:
    url = call.object_url(media.bucket, media.object_key)
    document: Document = {
        "Title": media.title,
        "Description": media.description,
        "Tags": media.tags,
        "CateId": -1 if parse_decimal(media.cate_ids) is None else parse_decimal(media.cate_ids),
        "CreationTime": format_vod_time(media.created_at),
        "ModificationTime": format_vod_time(media.created_at),
        "Status": "Normal" if media.uploaded else "Uploading",
        "StorageLocation": vod_location(media.bucket, call),
        "AppId": media.app_id,
        "URL": url,
    }
    if media.kind is MediaKind.IMAGE:
        document["ImageId"] = media.media_id
    else:
        document["MediaId"] = media.media_id
        document["BusinessType"] = media.subtype
    return document


def vod_location(bucket: str, call: RpcCall) -> str:
    return f"{bucket}.oss-{call.region}.aliyuncs.com"


def search_media(vod: VodBackend, call: RpcCall) -> Document:
    search_type = call.optional("SearchType") or "video"
    page = search.page_of(
        page_no=call.optional_int("PageNo"),
        page_size=call.optional_int("PageSize"),
        scroll_token=call.optional("ScrollToken"),
    )
    total, rows = library.search_media(
        vod,
        search_type=search_type,
        match=call.optional("Match"),
        sort_by=call.optional("SortBy") or "CreationTime:Desc",
        page=page,
    )
    media_list: list[Document] = []
    for row in rows:
        record = row["_record"]
        entry: Document = {
            "MediaType": search_type,
            "MediaId": row["MediaId"],
            "CreationTime": format_vod_time(row["CreationTime"]),
        }
        if search_type == "video":
            entry["Video"] = video_document(record, call)
        elif search_type == "image":
            entry["Image"] = _media_document(record, call)
        else:
            entry["AttachedMedia"] = _media_document(record, call)
        media_list.append(entry)
    return {
        "Total": total,
        "MediaList": media_list,
        "ScrollToken": search.scroll_token(page, total),
    }


# -- updates -------------------------------------------------------------------------------------


def update_video_info(vod: VodBackend, call: RpcCall) -> Document:
    video_id = call.required("VideoId")
    vod.get_video(video_id)  # InvalidVideo.NotFound before validating the rest
    fields = {name: call.params[name] for name in library.UPDATE_FIELDS if name in call.params}
    vod.update_video(video_id, library.video_changes(vod, fields))
    return {}


def update_video_infos(vod: VodBackend, call: RpcCall) -> Document:
    items = library.parse_update_content(call.required("UpdateContent"))
    # Validate every item before changing any (all or nothing for bad input).
    planned: list[tuple[str, dict[str, Any]]] = []
    missing: list[str] = []
    for item in items:
        video_id = item.pop("VideoId")
        try:
            vod.get_video(video_id)
        except InvalidVideoNotFound:
            missing.append(video_id)
            continue
        planned.append((video_id, library.video_changes(vod, item)))
    for video_id, changes in planned:
        vod.update_video(video_id, changes)
    document: Document = {}
    if missing:
        document["NonExistVideoIds"] = missing
    return document


# -- categories ----------------------------------------------------------------------------------


def _category_document(category: Category) -> Document:
    return {
        "CateId": category.cate_id,
        "CateName": category.name,
        "ParentId": category.parent_id,
        "Level": category.level,
        "Type": category.type,
    }


def add_category(vod: VodBackend, call: RpcCall) -> Document:
    category = vod.categories.add(
        name=call.required("CateName"),
        parent_id=call.optional_int("ParentId"),
        kind=call.optional("Type"),
    )
    return {"Category": _category_document(category)}


def get_categories(vod: VodBackend, call: RpcCall) -> Document:
    cate_id = call.optional_int("CateId")
    parent = catalog.ROOT if cate_id is None else cate_id
    kind = catalog.check_type(call.optional("Type"))
    document: Document = {}
    if parent != catalog.ROOT:
        category = vod.categories.require(parent)
        kind = category.type
        document["Category"] = _category_document(category)
    sort_by = call.optional("SortBy") or "CreationTime:Asc"
    if sort_by not in ("CreationTime:Asc", "CreationTime:Desc"):
        raise InvalidParameter("SortBy", "Valid values: CreationTime:Asc, CreationTime:Desc.")
    page = search.page_of(
        page_no=call.optional_int("PageNo"), page_size=call.optional_int("PageSize")
    )
    children = vod.categories.children(parent, kind=kind, descending=sort_by.endswith("Desc"))
    window = children[page.offset : page.offset + page.size]
    document["SubTotal"] = len(children)
    document["SubCategories"] = {
        "Category": [
            {
                **_category_document(child),
                "SubTotal": vod.categories.count_children(child.cate_id, child.type),
            }
            for child in window
        ]
    }
    return document


def update_category(vod: VodBackend, call: RpcCall) -> Document:
    cate_id = call.optional_int("CateId")
    if cate_id is None:
        call.required("CateId")
    assert cate_id is not None
    vod.categories.rename(cate_id, call.required("CateName"))
    return {}


def delete_category(vod: VodBackend, call: RpcCall) -> Document:
    cate_id = call.optional_int("CateId")
    if cate_id is None:
        call.required("CateId")
    assert cate_id is not None
    deleted = vod.categories.delete(cate_id)
    vod.uncategorise(deleted)
    return {}


# -- message callbacks -----------------------------------------------------------------------------

_AUTH_KEY = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[A-Za-z\d]{8,32}$")


def set_message_callback(vod: VodBackend, call: RpcCall) -> Document:
    app_id = call.optional("AppId") or validation.DEFAULT_APP_ID
    callback_type = (call.optional("CallbackType") or "HTTP").upper()
    if callback_type not in ("HTTP", "MNS"):
        raise InvalidParameter("CallbackType", "Valid values: HTTP, MNS.")
    url = call.optional("CallbackURL")
    if callback_type == "HTTP":
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InvalidParameter("CallbackURL", "It must be an http:// or https:// URL.")
    mns_endpoint, mns_queue = call.optional("MnsEndpoint"), call.optional("MnsQueueName")
    if callback_type == "MNS" and not (mns_endpoint and mns_queue):
        raise InvalidParameter("MnsEndpoint", "MNS callbacks need MnsEndpoint and MnsQueueName.")
    event_types = call.optional("EventTypeList") or "ALL"
    if event_types.strip().upper() != "ALL":
        names = [name.strip() for name in event_types.split(",") if name.strip()]
        unknown = [name for name in names if name not in KNOWN_EVENTS]
        if not names or unknown:
            raise InvalidParameter("EventTypeList", f"Unknown event types: {unknown or names}.")
    switch = (call.optional("AuthSwitch") or "off").lower()
    if switch not in ("on", "off"):
        raise InvalidParameter("AuthSwitch", "Valid values: on, off.")
    auth_key = call.optional("AuthKey")
    if switch == "on" and not _AUTH_KEY.match(auth_key):
        raise InvalidParameter(
            "AuthKey",
            "8-32 letters and digits with an upper-case, a lower-case letter and a digit.",
        )
    vod.callback_configs.put(
        MessageCallback(
            app_id=app_id,
            callback_type=callback_type,
            callback_url=url,
            event_type_list=event_types,
            auth_switch=switch == "on",
            auth_key=auth_key,
            mns_endpoint=mns_endpoint,
            mns_queue_name=mns_queue,
        )
    )
    return {}


def get_message_callback(vod: VodBackend, call: RpcCall) -> Document:
    app_id = call.optional("AppId") or validation.DEFAULT_APP_ID
    config = vod.callback_configs.get(app_id)
    if config is None:
        return {}
    document: Document = {
        "AppId": config.app_id,
        "CallbackType": config.callback_type,
        "EventTypeList": config.event_type_list,
        "AuthSwitch": "on" if config.auth_switch else "off",
    }
    if config.callback_type == "HTTP":
        document["CallbackURL"] = config.callback_url
        if config.auth_switch:
            # The API returns the key to its owner (the service does); the control plane
            # and the logs never show it.
            document["AuthKey"] = config.auth_key
    else:
        document["MnsEndpoint"] = config.mns_endpoint
        document["MnsQueueName"] = config.mns_queue_name
    return {"MessageCallback": document}


def delete_message_callback(vod: VodBackend, call: RpcCall) -> Document:
    vod.callback_configs.delete(call.optional("AppId") or validation.DEFAULT_APP_ID)
    return {}
