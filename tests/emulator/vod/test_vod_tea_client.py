"""Every VOD operation through the tea client alibabacloud-vod20170321 (ACS3-HMAC-SHA256).

Requirements: specs/emulator-vod-sts.md.
"""

from __future__ import annotations

import pytest
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vod20170321 import models
from alibabacloud_vod20170321.client import Client
from support.rpc import REGION, RunningEmulator, Upload, tea_config, tea_vod


def test_every_vod_operation_through_tea(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-001, EMU-VOD-006, EMU-VOD-009..EMU-VOD-015, EMU-RPC-005."""
    client = tea_vod(rpc_emulator)

    created = client.create_upload_video(
        models.CreateUploadVideoRequest(title="tea video", file_name="x.mp4", cate_id=5)
    ).body
    video_id = created.video_id
    upload = Upload.from_response(created.to_map())
    assert upload.auth["Expiration"] == "3000"
    assert upload.address["Endpoint"] == rpc_emulator.url

    refreshed = client.refresh_upload_video(
        models.RefreshUploadVideoRequest(video_id=video_id)
    ).body
    assert refreshed.video_id == video_id
    assert Upload.from_response(refreshed.to_map()).address == upload.address

    upload.bucket(rpc_emulator).put_object(upload.key, b"tea bytes")

    video = client.get_video_info(models.GetVideoInfoRequest(video_id=video_id)).body.video
    assert (video.video_id, video.title, video.cate_id) == (video_id, "tea video", 5)
    assert video.status == "Normal"
    assert video.size == len(b"tea bytes")
    assert video.region_id == REGION

    infos = client.get_video_infos(models.GetVideoInfosRequest(video_ids=f"{video_id},gone")).body
    assert [v.video_id for v in infos.video_list] == [video_id]
    assert infos.non_exist_video_ids == ["gone"]

    mezzanine = client.get_mezzanine_info(
        models.GetMezzanineInfoRequest(video_id=video_id)
    ).body.mezzanine
    assert (mezzanine.video_id, mezzanine.size, mezzanine.status) == (video_id, 9, "Normal")

    image = client.create_upload_image(
        models.CreateUploadImageRequest(image_type="default", image_ext="gif")
    ).body
    assert image.image_url.endswith(".gif")
    info = client.get_image_info(models.GetImageInfoRequest(image_id=image.image_id)).body
    assert info.image_info.image_id == image.image_id
    assert info.image_info.status == "Uploading"

    media = client.create_upload_attached_media(
        models.CreateUploadAttachedMediaRequest(business_type="watermark", media_ext="png")
    ).body
    assert media.media_id and media.media_url.endswith(".png")

    deleted = client.delete_video(models.DeleteVideoRequest(video_ids=video_id)).body
    assert deleted.request_id
    assert not deleted.non_exist_video_ids


def test_tea_client_sees_vod_errors(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-009, EMU-RPC-011: tea raises ClientException with status, code and message."""
    client = tea_vod(rpc_emulator)
    with pytest.raises(ClientException) as raised:
        client.get_video_info(models.GetVideoInfoRequest(video_id="0" * 32))
    assert raised.value.status_code == 404
    assert raised.value.code == "InvalidVideo.NotFound"
    assert raised.value.data["Message"] == "The video does not exist."

    with pytest.raises(ClientException) as raised:
        client.create_upload_video(models.CreateUploadVideoRequest(title="t", file_name="x"))
    assert (raised.value.status_code, raised.value.code) == (400, "InvalidFileName.Extension")


def test_tea_client_with_wrong_secret(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-004, EMU-RPC-005: ACS3 with a wrong secret is SignatureDoesNotMatch."""
    client = tea_vod(rpc_emulator, access_key_secret="wrong-secret")
    with pytest.raises(ClientException) as raised:
        client.get_video_info(models.GetVideoInfoRequest(video_id="0" * 32))
    assert (raised.value.status_code, raised.value.code) == (400, "SignatureDoesNotMatch")
    assert "server string to sign is:ACS3-HMAC-SHA256\n" in raised.value.data["Message"]


def test_tea_client_with_rpc_v1_signatures(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-003, EMU-VOD-015: tea's ``signature_algorithm='v2'`` signs RPC v1 (its own
    implementation, separate from aliyunsdkcore's)."""
    config = tea_config(rpc_emulator)
    config.signature_algorithm = "v2"
    client = Client(config)
    created = client.create_upload_video(
        models.CreateUploadVideoRequest(title="tea v2", file_name="x.mov", tags="a,b")
    ).body
    video = client.get_video_info(models.GetVideoInfoRequest(video_id=created.video_id)).body
    assert (video.video.title, video.video.tags) == ("tea v2", "a,b")

    config = tea_config(rpc_emulator, access_key_secret="wrong")
    config.signature_algorithm = "v2"
    with pytest.raises(ClientException) as raised:
        Client(config).get_video_info(models.GetVideoInfoRequest(video_id="x"))
    assert (raised.value.status_code, raised.value.code) == (400, "SignatureDoesNotMatch")
