"""The VOD upload contract end to end: UploadAuth/UploadAddress used through oss2.StsAuth.

CreateUploadVideo (aliyunsdkcore) -> oss2 put_object or multipart with the returned
credential -> status progression; the one-key scope; expiry on the emulator clock; and
RefreshUploadVideo continuing the same multipart upload. Requirements:
specs/emulator-vod-sts.md.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import oss2
import pytest
from aliyunsdkvod.request.v20170321.CreateUploadImageRequest import CreateUploadImageRequest
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from aliyunsdkvod.request.v20170321.DeleteVideoRequest import DeleteVideoRequest
from aliyunsdkvod.request.v20170321.GetImageInfoRequest import GetImageInfoRequest
from aliyunsdkvod.request.v20170321.GetMezzanineInfoRequest import GetMezzanineInfoRequest
from aliyunsdkvod.request.v20170321.GetVideoInfoRequest import GetVideoInfoRequest
from aliyunsdkvod.request.v20170321.RefreshUploadVideoRequest import RefreshUploadVideoRequest
from support.rpc import RunningEmulator, Upload, core_call, core_client

PART = 100 * 1024  # OSS's minimum size for a part that is not the last


def create_video(emulator: RunningEmulator, file_name: str = "clip.mp4") -> tuple[str, Upload]:
    request = CreateUploadVideoRequest()
    request.set_Title("flow")
    request.set_FileName(file_name)
    response = core_call(core_client(emulator), request)
    return response["VideoId"], Upload.from_response(response)


def video_status(emulator: RunningEmulator, video_id: str) -> str:
    request = GetVideoInfoRequest()
    request.set_VideoId(video_id)
    status: str = core_call(core_client(emulator), request)["Video"]["Status"]
    return status


def test_put_object_with_upload_auth_then_status_progresses(
    rpc_emulator: RunningEmulator,
) -> None:
    """EMU-VOD-004, EMU-VOD-008: Uploading -> UploadSucc -> Normal on the emulator clock."""
    rpc_emulator.state.clock.freeze()
    rpc_emulator.state.settings.video_normal_after_seconds = 60
    video_id, upload = create_video(rpc_emulator)
    assert video_status(rpc_emulator, video_id) == "Uploading"

    result = upload.bucket(rpc_emulator).put_object(upload.key, b"v" * 2048)
    assert result.status == 200
    assert video_status(rpc_emulator, video_id) == "UploadSucc"
    rpc_emulator.state.clock.advance(59)
    assert video_status(rpc_emulator, video_id) == "UploadSucc"
    rpc_emulator.state.clock.advance(1)
    assert video_status(rpc_emulator, video_id) == "Normal"

    info = GetVideoInfoRequest()
    info.set_VideoId(video_id)
    assert core_call(core_client(rpc_emulator), info)["Video"]["Size"] == 2048
    mezzanine = GetMezzanineInfoRequest()
    mezzanine.set_VideoId(video_id)
    answer = core_call(core_client(rpc_emulator), mezzanine)["Mezzanine"]
    assert (answer["Status"], answer["Size"]) == ("Normal", 2048)
    dumped = {v["video_id"]: v for v in rpc_emulator.state.vod.dump()["videos"]}
    assert dumped[video_id]["status"] == "Normal"


def test_upload_auth_writes_only_its_own_key(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-004: any other key (even in the same bucket) is AccessDenied."""
    _, upload = create_video(rpc_emulator)
    bucket = upload.bucket(rpc_emulator)
    for other_key in (upload.key + ".other", "sv/elsewhere/x.mp4", upload.key.upper()):
        with pytest.raises(oss2.exceptions.AccessDenied):
            bucket.put_object(other_key, b"nope")
    with pytest.raises(oss2.exceptions.AccessDenied):
        bucket.init_multipart_upload("sv/elsewhere/y.mp4")


def test_multipart_upload_with_upload_auth(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-004: initiate, parts, complete, all with the UploadAuth."""
    video_id, upload = create_video(rpc_emulator)
    bucket = upload.bucket(rpc_emulator)
    upload_id = bucket.init_multipart_upload(upload.key).upload_id
    parts = []
    for number, fill in ((1, b"a"), (2, b"b"), (3, b"c")):
        size = PART if number < 3 else 1000
        result = bucket.upload_part(upload.key, upload_id, number, fill * size)
        parts.append(oss2.models.PartInfo(number, result.etag))
    bucket.complete_multipart_upload(upload.key, upload_id, parts)
    assert bucket.get_object(upload.key).read() == b"a" * PART + b"b" * PART + b"c" * 1000
    assert video_status(rpc_emulator, video_id) == "Normal"


def test_expired_upload_auth_then_refresh_continues_the_same_multipart(
    rpc_emulator: RunningEmulator,
) -> None:
    """EMU-VOD-005, EMU-VOD-006: expiry on the emulator clock, refresh keeps the upload id.

    The TTL is shortened through the settings (as the control plane does) so that moving
    the clock past it stays inside OSS's 15-minute request-date window.
    """
    rpc_emulator.state.clock.freeze()
    rpc_emulator.state.settings.upload_auth_ttl_seconds = 60
    video_id, upload = create_video(rpc_emulator)
    bucket = upload.bucket(rpc_emulator)
    upload_id = bucket.init_multipart_upload(upload.key).upload_id
    first = bucket.upload_part(upload.key, upload_id, 1, b"1" * PART)

    rpc_emulator.state.clock.advance(59)
    bucket.upload_part(upload.key, upload_id, 2, b"early" * 10)  # still valid at 59 s
    rpc_emulator.state.clock.advance(1)
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.upload_part(upload.key, upload_id, 2, b"2" * 500)
    assert raised.value.status == 403
    assert raised.value.code == "SecurityTokenExpired"

    refresh = RefreshUploadVideoRequest()
    refresh.set_VideoId(video_id)
    renewed = Upload.from_response(core_call(core_client(rpc_emulator), refresh))
    assert renewed.address == upload.address
    new_bucket = renewed.bucket(rpc_emulator)
    second = new_bucket.upload_part(upload.key, upload_id, 2, b"2" * 500)
    listed = [p.part_number for p in new_bucket.list_parts(upload.key, upload_id).parts]
    assert listed == [1, 2]
    new_bucket.complete_multipart_upload(
        upload.key,
        upload_id,
        [oss2.models.PartInfo(1, first.etag), oss2.models.PartInfo(2, second.etag)],
    )
    assert new_bucket.head_object(upload.key).content_length == PART + 500
    # The old credential stays expired; the refreshed one does not resurrect it.
    with pytest.raises(oss2.exceptions.ServerError):
        bucket.put_object(upload.key, b"late")


def test_hls_upload_auth_covers_the_object_prefix(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-003, EMU-VOD-004: playlist and segments under ObjectPrefix, nothing else."""
    _, upload = create_video(rpc_emulator, "stream.m3u8")
    bucket = upload.bucket(rpc_emulator)
    prefix = upload.address["ObjectPrefix"]
    bucket.put_object(prefix + "segment-0.ts", b"ts")
    bucket.put_object(upload.key, b"#EXTM3U\n")
    with pytest.raises(oss2.exceptions.AccessDenied):
        bucket.put_object("sv/other/segment-0.ts", b"ts")


def test_image_upload_then_image_info_is_normal(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-013: an image's UploadAuth writes its key; GetImageInfo then shows it."""
    client = core_client(rpc_emulator)
    request = CreateUploadImageRequest()
    request.set_ImageType("default")
    created = core_call(client, request)
    upload = Upload.from_response(created)
    assert upload.key.endswith(".png")
    upload.bucket(rpc_emulator).put_object(upload.key, b"\x89PNG" + b"0" * 100)
    info = GetImageInfoRequest()
    info.set_ImageId(created["ImageId"])
    image = core_call(client, info)["ImageInfo"]
    assert image["Status"] == "Normal"
    assert image["Mezzanine"]["FileSize"] == 104
    dumped = rpc_emulator.state.vod.dump()["images"]
    assert [(i["media_id"], i["uploaded"]) for i in dumped] == [(created["ImageId"], True)]


def test_delete_video_deletes_its_object(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-011: DeleteVideo removes the source object from OSS."""
    video_id, upload = create_video(rpc_emulator)
    upload.bucket(rpc_emulator).put_object(upload.key, b"data")
    delete = DeleteVideoRequest()
    delete.set_VideoIds(video_id)
    assert set(core_call(core_client(rpc_emulator), delete)) == {"RequestId"}
    assert rpc_emulator.state.oss.head_object(upload.address["Bucket"], upload.key) is None


def test_reset_forgets_videos_and_media(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-016."""
    create_video(rpc_emulator)
    assert len(rpc_emulator.state.vod.dump()["videos"]) == 1
    rpc_emulator.state.vod.reset()
    dumped = rpc_emulator.state.vod.dump()
    assert dumped["videos"] == [] and dumped["images"] == [] and dumped["attached_media"] == []


def test_concurrent_clients(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-001, EMU-RPC-009: parallel signed calls (distinct nonces) all succeed and
    each gets its own video, key and credential."""

    def work(index: int) -> tuple[str, Upload]:
        return create_video(rpc_emulator, f"clip-{index}.mp4")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(32)))
    video_ids = {video_id for video_id, _ in results}
    keys = {upload.key for _, upload in results}
    key_ids = {upload.auth["AccessKeyId"] for _, upload in results}
    assert len(video_ids) == len(keys) == len(key_ids) == 32
    assert len(rpc_emulator.state.vod.dump()["videos"]) == 32
