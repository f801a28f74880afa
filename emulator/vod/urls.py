"""VOD's dispatch table: RPC ``Action`` name -> response handler.

RPC APIs have one URL (``/``); the action, not the path, selects the operation, so this
table plays the role of moto's ``url_paths``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.rpc.call import RpcCall
from emulator.vod import library_responses as library
from emulator.vod import responses
from emulator.vod.models import VodBackend

Handler = Callable[[VodBackend, RpcCall], dict[str, Any]]

ACTIONS: dict[str, Handler] = {
    "CreateUploadVideo": responses.create_upload_video,
    "RefreshUploadVideo": responses.refresh_upload_video,
    "CreateUploadImage": responses.create_upload_image,
    "CreateUploadAttachedMedia": responses.create_upload_attached_media,
    "GetVideoInfo": responses.get_video_info,
    "GetVideoInfos": responses.get_video_infos,
    "GetImageInfo": responses.get_image_info,
    "DeleteVideo": responses.delete_video,
    "GetMezzanineInfo": responses.get_mezzanine_info,
    "ReportUploadProgress": responses.report_upload_progress,
    "GetUploadProgress": responses.get_upload_progress,
    "GetPlayInfo": library.get_play_info,
    "GetVideoList": library.get_video_list,
    "SearchMedia": library.search_media,
    "UpdateVideoInfo": library.update_video_info,
    "UpdateVideoInfos": library.update_video_infos,
    "AddCategory": library.add_category,
    "GetCategories": library.get_categories,
    "UpdateCategory": library.update_category,
    "DeleteCategory": library.delete_category,
    "SetMessageCallback": library.set_message_callback,
    "GetMessageCallback": library.get_message_callback,
    "DeleteMessageCallback": library.delete_message_callback,
}
