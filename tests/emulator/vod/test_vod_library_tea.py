"""VOD after the upload through the tea client alibabacloud-vod20170321 (ACS3 signing):
its own models parse every answer. Both modes. Requirements: specs/emulator-vod-sts.md §2.
"""

from __future__ import annotations

import json

import pytest
import requests
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vod20170321 import models
from support.callbacks import callback_receiver
from support.rpc import RunningEmulator, Upload, tea_vod


def test_post_upload_operations_through_tea(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-015, EMU-VOD-018, EMU-VOD-019, EMU-VOD-022, EMU-VOD-027, EMU-VOD-028."""
    client = tea_vod(rpc_emulator)
    category = client.add_category(models.AddCategoryRequest(cate_name="Tea")).body.category
    child = client.add_category(
        models.AddCategoryRequest(cate_name="Green", parent_id=category.cate_id)
    ).body.category
    assert (child.level, child.parent_id) == (1, category.cate_id)
    created = client.create_upload_video(
        models.CreateUploadVideoRequest(title="tea time", file_name="t.mov", cate_id=child.cate_id)
    ).body
    upload = Upload.from_response(created.to_map())
    upload.bucket(rpc_emulator).put_object(upload.key, b"tea" * 50)

    play = client.get_play_info(
        models.GetPlayInfoRequest(video_id=created.video_id, auth_timeout=120)
    ).body
    [stream] = play.play_info_list.play_info
    assert (stream.definition, stream.format, stream.size) == ("OD", "mov", 150)
    assert play.video_base.status == "Normal"
    with requests.Session() as session:
        session.trust_env = False
        assert session.get(stream.play_url, timeout=10).content == b"tea" * 50

    listed = client.get_video_list(models.GetVideoListRequest(cate_id=child.cate_id)).body
    assert listed.total == 1
    assert listed.video_list.video[0].cate_name == "Green"

    found = client.search_media(
        models.SearchMediaRequest(search_type="video", match="Title = 'TEA'", fields="Title")
    ).body
    assert [m.media_id for m in found.media_list] == [created.video_id]
    assert found.media_list[0].video.title == "tea time"

    client.update_video_info(
        models.UpdateVideoInfoRequest(video_id=created.video_id, title="tea, later", tags="x")
    )
    infos = client.update_video_infos(
        models.UpdateVideoInfosRequest(
            update_content=json.dumps([{"VideoId": "f" * 32, "Title": "none"}])
        )
    ).body
    assert infos.non_exist_video_ids == ["f" * 32]
    video = client.get_video_info(models.GetVideoInfoRequest(video_id=created.video_id)).body.video
    assert (video.title, video.tags, video.cate_name) == ("tea, later", "x", "Green")

    children = client.get_categories(models.GetCategoriesRequest(cate_id=category.cate_id)).body
    assert children.sub_total == 1
    assert children.sub_categories.category[0].cate_name == "Green"
    client.update_category(models.UpdateCategoryRequest(cate_id=child.cate_id, cate_name="Sencha"))
    client.delete_category(models.DeleteCategoryRequest(cate_id=category.cate_id))
    with pytest.raises(ClientException) as raised:
        client.get_categories(models.GetCategoriesRequest(cate_id=child.cate_id))
    assert (raised.value.status_code, raised.value.code) == (404, "InvalidCateId.NotFound")


def test_message_callbacks_through_tea(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-023, EMU-VOD-026: tea sets the callback and the event reaches it."""
    client = tea_vod(rpc_emulator)
    with callback_receiver() as receiver:
        client.set_message_callback(
            models.SetMessageCallbackRequest(
                callback_type="HTTP",
                callback_url=receiver.url,
                event_type_list="FileUploadComplete",
            )
        )
        got = client.get_message_callback(models.GetMessageCallbackRequest()).body
        assert got.message_callback.callback_url == receiver.url
        assert got.message_callback.auth_switch == "off"
        created = client.create_upload_video(
            models.CreateUploadVideoRequest(title="tea", file_name="t.mp4")
        ).body
        upload = Upload.from_response(created.to_map())
        upload.bucket(rpc_emulator).put_object(upload.key, b"x")
        [item] = receiver.wait_for(1)
    assert item.body["VideoId"] == created.video_id
    assert "X-VOD-SIGNATURE" not in item.headers  # authentication is off
    client.delete_message_callback(models.DeleteMessageCallbackRequest())
    assert (
        client.get_message_callback(models.GetMessageCallbackRequest()).body.message_callback
        is None
    )
