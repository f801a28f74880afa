"""Every VOD operation through aliyun-python-sdk-core + aliyun-python-sdk-vod (RPC v1).

Real SDK, real loopback socket, HMAC-SHA1 signatures verified by the emulator.
Requirements: specs/emulator-vod-sts.md.
"""

from __future__ import annotations

import json

import pytest
from aliyunsdkvod.request.v20170321.CreateUploadAttachedMediaRequest import (
    CreateUploadAttachedMediaRequest,
)
from aliyunsdkvod.request.v20170321.CreateUploadImageRequest import CreateUploadImageRequest
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from aliyunsdkvod.request.v20170321.DeleteVideoRequest import DeleteVideoRequest
from aliyunsdkvod.request.v20170321.GetImageInfoRequest import GetImageInfoRequest
from aliyunsdkvod.request.v20170321.GetMezzanineInfoRequest import GetMezzanineInfoRequest
from aliyunsdkvod.request.v20170321.GetVideoInfoRequest import GetVideoInfoRequest
from aliyunsdkvod.request.v20170321.GetVideoInfosRequest import GetVideoInfosRequest
from aliyunsdkvod.request.v20170321.RefreshUploadVideoRequest import RefreshUploadVideoRequest
from support.rpc import REGION, RunningEmulator, Upload, core_call, core_client, core_error


def create_video(emulator: RunningEmulator, **fields: str) -> dict[str, object]:
    request = CreateUploadVideoRequest()
    request.set_Title(fields.get("title", "my video"))
    request.set_FileName(fields.get("file_name", "/local/path/movie file.mp4"))
    if "tags" in fields:
        request.set_Tags(fields["tags"])
    if "description" in fields:
        request.set_Description(fields["description"])
    return core_call(core_client(emulator), request)


def test_create_upload_video_returns_base64_auth_and_address(
    rpc_emulator: RunningEmulator,
) -> None:
    """EMU-VOD-001, EMU-VOD-002, EMU-VOD-003, EMU-VOD-015."""
    response = create_video(rpc_emulator, tags="a,b")
    assert set(response) == {"RequestId", "VideoId", "UploadAddress", "UploadAuth"}
    assert len(str(response["VideoId"])) == 32
    upload = Upload.from_response(response)  # type: ignore[arg-type]
    assert list(upload.auth) == [
        "SecurityToken",
        "AccessKeyId",
        "AccessKeySecret",
        "Expiration",
        "ExpireUTCTime",
        "Region",
    ]
    assert upload.auth["AccessKeyId"].startswith("STS.")
    assert upload.auth["SecurityToken"].startswith("CAIS")
    assert upload.auth["Expiration"] == "3000"
    assert upload.auth["Region"] == REGION
    assert upload.auth["ExpireUTCTime"].endswith("Z")
    assert upload.address["Endpoint"] == rpc_emulator.url
    assert upload.address["Bucket"] == rpc_emulator.state.vod.storage_bucket
    assert upload.address["Bucket"].startswith("outin-")
    assert len(upload.address["Bucket"]) == len("outin-") + 32
    first, second, name = upload.key.split("/")
    assert first == "sv"
    assert name == f"{second}.mp4"
    assert "ObjectPrefix" not in upload.address


def test_upload_auth_ttl_is_read_at_issue_time(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-002: the control plane may change the TTL while the emulator runs."""
    rpc_emulator.state.settings.upload_auth_ttl_seconds = 120
    upload = Upload.from_response(create_video(rpc_emulator))  # type: ignore[arg-type]
    assert upload.auth["Expiration"] == "120"
    credential = rpc_emulator.state.credentials.get(upload.auth["AccessKeyId"])
    assert credential is not None and credential.expires_at is not None
    assert credential.expires_at - credential.issued_at == pytest.approx(120)


def test_hls_upload_address_has_object_prefix(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-003: an m3u8 upload gets ObjectPrefix for its segments."""
    upload = Upload.from_response(create_video(rpc_emulator, file_name="index.m3u8"))  # type: ignore[arg-type]
    assert upload.key.endswith(".m3u8")
    assert upload.key.startswith(upload.address["ObjectPrefix"])


def test_refresh_upload_video_keeps_the_address(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-006, EMU-VOD-015."""
    created = create_video(rpc_emulator)
    request = RefreshUploadVideoRequest()
    request.set_VideoId(created["VideoId"])
    refreshed = core_call(core_client(rpc_emulator), request)
    assert refreshed["VideoId"] == created["VideoId"]
    before = Upload.from_response(created)  # type: ignore[arg-type]
    after = Upload.from_response(refreshed)
    assert after.address == before.address
    assert after.auth["AccessKeyId"] != before.auth["AccessKeyId"]
    assert after.auth["SecurityToken"] != before.auth["SecurityToken"]


def test_get_video_info_get_video_infos_and_mezzanine(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-009, EMU-VOD-010, EMU-VOD-012, EMU-VOD-015."""
    created = create_video(rpc_emulator, tags="a, b", description="about")
    video_id = str(created["VideoId"])
    client = core_client(rpc_emulator)

    info_request = GetVideoInfoRequest()
    info_request.set_VideoId(video_id)
    video = core_call(client, info_request)["Video"]
    assert video["VideoId"] == video_id
    assert video["Title"] == "my video"
    assert video["Description"] == "about"
    assert video["Tags"] == "a,b"
    assert video["Status"] == "Uploading"
    assert video["RegionId"] == REGION
    assert video["StorageLocation"] == rpc_emulator.state.vod.storage_location
    assert video["CreationTime"].endswith("Z") and "." not in video["CreationTime"]
    assert video["Snapshots"] == {"Snapshot": []}

    infos_request = GetVideoInfosRequest()
    infos_request.set_VideoIds(f"{video_id},missing-id")
    infos = core_call(client, infos_request)
    assert [v["VideoId"] for v in infos["VideoList"]] == [video_id]
    assert infos["NonExistVideoIds"] == ["missing-id"]

    mezzanine_request = GetMezzanineInfoRequest()
    mezzanine_request.set_VideoId(video_id)
    mezzanine = core_call(client, mezzanine_request)["Mezzanine"]
    assert mezzanine["VideoId"] == video_id
    assert mezzanine["FileName"] == "movie file.mp4"
    assert mezzanine["Status"] == "Uploading"
    upload = Upload.from_response(created)  # type: ignore[arg-type]
    assert mezzanine["FileURL"].endswith(upload.key.replace(" ", "%20"))


def test_delete_video_removes_it(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-011, EMU-VOD-015."""
    video_id = str(create_video(rpc_emulator)["VideoId"])
    client = core_client(rpc_emulator)
    delete = DeleteVideoRequest()
    delete.set_VideoIds(f"{video_id},not-a-video")
    answer = core_call(client, delete)
    assert answer["NonExistVideoIds"] == ["not-a-video"]
    info_request = GetVideoInfoRequest()
    info_request.set_VideoId(video_id)
    error = core_error(client, info_request)
    assert (error.get_http_status(), error.get_error_code()) == (404, "InvalidVideo.NotFound")


def test_create_upload_image_and_get_image_info(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-013, EMU-VOD-015."""
    client = core_client(rpc_emulator)
    request = CreateUploadImageRequest()
    request.set_ImageType("cover")
    request.set_ImageExt("jpg")
    request.set_Title("poster")
    created = core_call(client, request)
    assert set(created) >= {"ImageId", "ImageURL", "FileURL", "UploadAddress", "UploadAuth"}
    upload = Upload.from_response(created)
    assert upload.key.startswith("image/cover/") and upload.key.endswith(".jpg")
    assert created["ImageURL"] == f"{rpc_emulator.url}/{upload.address['Bucket']}/{upload.key}"

    info_request = GetImageInfoRequest()
    info_request.set_ImageId(created["ImageId"])
    image = core_call(client, info_request)["ImageInfo"]
    assert image["ImageId"] == created["ImageId"]
    assert image["ImageType"] == "cover"
    assert image["Title"] == "poster"
    assert image["Status"] == "Uploading"

    missing = GetImageInfoRequest()
    missing.set_ImageId("0" * 32)
    error = core_error(client, missing)
    assert (error.get_http_status(), error.get_error_code()) == (404, "InvalidImage.NotFound")


def test_create_upload_attached_media(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-014, EMU-VOD-015."""
    client = core_client(rpc_emulator)
    request = CreateUploadAttachedMediaRequest()
    request.set_BusinessType("subtitle")
    request.set_MediaExt("vtt")
    request.set_Title("captions")
    created = core_call(client, request)
    assert set(created) >= {"MediaId", "MediaURL", "FileURL", "UploadAddress", "UploadAuth"}
    upload = Upload.from_response(created)
    assert upload.key.startswith("subtitle/") and upload.key.endswith(".vtt")

    wrong = CreateUploadAttachedMediaRequest()
    wrong.set_BusinessType("subtitle")
    wrong.set_MediaExt("mp4")
    error = core_error(client, wrong)
    assert (error.get_http_status(), error.get_error_code()) == (400, "InvalidParameter")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"file_name": "movie"}, "InvalidFileName.Extension"),
        ({"file_name": "notes.txt"}, "InvalidFileName.Extension"),
        ({"title": "x" * 129}, "LengthExceededMax"),
        ({"description": "d" * 1025}, "LengthExceededMax"),
        ({"tags": ",".join(f"t{i}" for i in range(17))}, "TagsExceededMax"),
        ({"tags": "t" * 33}, "LengthExceededMax"),
        ({"title": "smile \U0001f600"}, "IllegalCharacters"),
        ({"file_name": "x" * 1021 + ".mp4"}, "LengthExceededMax"),
    ],
)
def test_create_upload_video_validation(
    rpc_emulator: RunningEmulator, fields: dict[str, str], code: str
) -> None:
    """EMU-VOD-007: documented 400 errors, and nothing is created."""
    request = CreateUploadVideoRequest()
    request.set_Title(fields.get("title", "t"))
    request.set_FileName(fields.get("file_name", "a.mp4"))
    if "tags" in fields:
        request.set_Tags(fields["tags"])
    if "description" in fields:
        request.set_Description(fields["description"])
    error = core_error(core_client(rpc_emulator), request)
    assert (error.get_http_status(), error.get_error_code()) == (400, code)
    assert rpc_emulator.state.vod.dump()["videos"] == []


def test_missing_required_parameters(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-001, EMU-VOD-007: MissingParameter names the parameter."""
    client = core_client(rpc_emulator)
    request = CreateUploadVideoRequest()
    request.set_FileName("a.mp4")
    error = core_error(client, request)
    assert (error.get_http_status(), error.get_error_code()) == (400, "MissingParameter")
    assert '"Title"' in error.get_error_msg()

    image = CreateUploadImageRequest()
    error = core_error(client, image)
    assert error.get_error_code() == "MissingParameter"
    assert '"ImageType"' in error.get_error_msg()


def test_invalid_parameter_types_and_storage(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-007: non-integer CateId, non-JSON UserData, unknown StorageLocation."""
    client = core_client(rpc_emulator)
    cases = [
        ("set_CateId", "abc", 400, "InvalidParameter"),
        ("set_UserData", "not json", 400, "InvalidParameter"),
        ("set_UserData", "[1, 2]", 400, "InvalidParameter"),
        ("set_FileSize", "-1", 400, "InvalidParameter"),
        ("set_StorageLocation", "outin-nope.oss-cn-shanghai.aliyuncs.com", 404,
         "InvalidStorage.NotFound"),
    ]  # fmt: skip
    for setter, value, status, code in cases:
        request = CreateUploadVideoRequest()
        request.set_Title("t")
        request.set_FileName("a.mp4")
        getattr(request, setter)(value)
        error = core_error(client, request)
        assert (error.get_http_status(), error.get_error_code()) == (status, code), setter
    ok = CreateUploadVideoRequest()
    ok.set_Title("t")
    ok.set_FileName("a.mp4")
    ok.set_StorageLocation(rpc_emulator.state.vod.storage_location)
    ok.set_UserData(json.dumps({"Extend": {"k": "v"}}))
    assert "VideoId" in core_call(client, ok)


def test_not_found_everywhere(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-006, EMU-VOD-009, EMU-VOD-012: unknown VideoId is 404 InvalidVideo.NotFound."""
    client = core_client(rpc_emulator)
    for request_class in (RefreshUploadVideoRequest, GetVideoInfoRequest, GetMezzanineInfoRequest):
        request = request_class()
        request.set_VideoId("f" * 32)
        error = core_error(client, request)
        assert error.get_http_status() == 404
        assert error.get_error_code() == "InvalidVideo.NotFound"
        assert error.get_error_msg() == "The video does not exist."


def test_file_names_may_be_any_unicode_path(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-007: only the extension and length of FileName are checked; the object key
    is generated, so the client's name never becomes part of it."""
    created = create_video(rpc_emulator, file_name="C:\\Videos\\\U0001f3ac 假期 clip.MP4")
    upload = Upload.from_response(created)  # type: ignore[arg-type]
    assert upload.key.endswith(".mp4") and "假期" not in upload.key
