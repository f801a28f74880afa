"""VOD after the upload through aliyun-python-sdk-core + aliyun-python-sdk-vod (RPC v1):
GetPlayInfo, GetVideoList, SearchMedia, UpdateVideoInfo(s), categories and the lifecycle.

Real SDK request classes, over a loopback socket and in-process (``rpc_emulator`` runs
each test in both modes). Requirements: specs/emulator-vod-sts.md §2.
"""

from __future__ import annotations

import json

import pytest
import requests
from aliyunsdkvod.request.v20170321.AddCategoryRequest import AddCategoryRequest
from aliyunsdkvod.request.v20170321.CreateUploadImageRequest import CreateUploadImageRequest
from aliyunsdkvod.request.v20170321.CreateUploadVideoRequest import CreateUploadVideoRequest
from aliyunsdkvod.request.v20170321.DeleteCategoryRequest import DeleteCategoryRequest
from aliyunsdkvod.request.v20170321.GetCategoriesRequest import GetCategoriesRequest
from aliyunsdkvod.request.v20170321.GetPlayInfoRequest import GetPlayInfoRequest
from aliyunsdkvod.request.v20170321.GetVideoInfoRequest import GetVideoInfoRequest
from aliyunsdkvod.request.v20170321.GetVideoListRequest import GetVideoListRequest
from aliyunsdkvod.request.v20170321.SearchMediaRequest import SearchMediaRequest
from aliyunsdkvod.request.v20170321.UpdateCategoryRequest import UpdateCategoryRequest
from aliyunsdkvod.request.v20170321.UpdateVideoInfoRequest import UpdateVideoInfoRequest
from aliyunsdkvod.request.v20170321.UpdateVideoInfosRequest import UpdateVideoInfosRequest
from support.rpc import RunningEmulator, Upload, core_call, core_client, core_error


def create_video(
    emulator: RunningEmulator,
    title: str = "clip",
    *,
    upload: bytes | None = b"movie bytes",
    **extra: str,
) -> str:
    request = CreateUploadVideoRequest()
    request.set_Title(title)
    request.set_FileName(extra.pop("file_name", "clip.mp4"))
    for name, value in extra.items():
        getattr(request, f"set_{name}")(value)
    response = core_call(core_client(emulator), request)
    if upload is not None:
        grant = Upload.from_response(response)
        grant.bucket(emulator).put_object(grant.key, upload)
    video_id: str = response["VideoId"]
    return video_id


def video_info(emulator: RunningEmulator, video_id: str) -> dict[str, object]:
    request = GetVideoInfoRequest()
    request.set_VideoId(video_id)
    video: dict[str, object] = core_call(core_client(emulator), request)["Video"]
    return video


def play_info(emulator: RunningEmulator, video_id: str, **extra: object) -> dict[str, object]:
    request = GetPlayInfoRequest()
    request.set_VideoId(video_id)
    for name, value in extra.items():
        getattr(request, f"set_{name}")(value)
    return core_call(core_client(emulator), request)


def fetch(url: str) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, timeout=10)


def test_get_play_info_url_plays_the_video_until_auth_timeout(
    rpc_emulator: RunningEmulator,
) -> None:
    """EMU-VOD-018, EMU-VOD-030: the PlayURL is served by the emulator and expires."""
    rpc_emulator.state.clock.freeze()
    video_id = create_video(rpc_emulator, upload=b"\x00\x01 the movie" * 100)
    answer = play_info(rpc_emulator, video_id, AuthTimeout=60)
    [stream] = answer["PlayInfoList"]["PlayInfo"]  # type: ignore[index]
    assert (stream["Definition"], stream["Format"], stream["Size"]) == ("OD", "mp4", 1200)
    assert answer["VideoBase"]["VideoId"] == video_id  # type: ignore[index]
    assert answer["VideoBase"]["Status"] == "Normal"  # type: ignore[index]
    played = fetch(stream["PlayURL"])
    assert played.status_code == 200
    assert played.content == b"\x00\x01 the movie" * 100
    rpc_emulator.state.clock.advance(61)
    assert fetch(stream["PlayURL"]).status_code == 403
    # The play credential reads that one object and calls no API.
    key_id = stream["PlayURL"].split("OSSAccessKeyId=")[1].split("&")[0]
    token = rpc_emulator.control.tokens()
    assert [t.kind for t in token if t.is_for(key_id)] == ["play-auth"]


def test_get_play_info_refuses_unplayable_videos(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-018: not Normal is Forbidden.IllegalStatus; a format it lacks NoneStream."""
    waiting = create_video(rpc_emulator, upload=None)
    request = GetPlayInfoRequest()
    request.set_VideoId(waiting)
    error = core_error(core_client(rpc_emulator), request)
    assert (error.get_http_status(), error.get_error_code()) == (403, "Forbidden.IllegalStatus")
    ready = create_video(rpc_emulator)
    request = GetPlayInfoRequest()
    request.set_VideoId(ready)
    request.set_Formats("m3u8,flv")
    error = core_error(core_client(rpc_emulator), request)
    assert (error.get_http_status(), error.get_error_code()) == (404, "InvalidVideo.NoneStream")
    request = GetPlayInfoRequest()
    request.set_VideoId("0" * 32)
    assert (
        core_error(core_client(rpc_emulator), request).get_error_code() == "InvalidVideo.NotFound"
    )


def test_lifecycle_walks_upload_succ_transcoding_normal(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-008, EMU-VOD-020: the stages follow the emulator clock."""
    control = rpc_emulator.control
    control.freeze()
    control.update_settings(video_normal_after_seconds=10, video_transcoding_seconds=4)
    video_id = create_video(rpc_emulator)
    assert video_info(rpc_emulator, video_id)["Status"] == "UploadSucc"
    control.advance(6)
    assert video_info(rpc_emulator, video_id)["Status"] == "Transcoding"
    control.advance(3.5)
    assert video_info(rpc_emulator, video_id)["Status"] == "Transcoding"
    control.advance(0.5)
    assert video_info(rpc_emulator, video_id)["Status"] == "Normal"
    events = [e["EventType"] for e in control.vod_events() if e["media_id"] == video_id]
    assert events == ["FileUploadComplete", "StreamTranscodeComplete", "TranscodeComplete"]


def test_injected_failures_stop_the_lifecycle(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-021: the control plane makes transcoding or the upload fail."""
    control = rpc_emulator.control
    control.freeze()
    control.update_settings(video_normal_after_seconds=10)
    doomed = create_video(rpc_emulator, "doomed")
    assert control.fail_video(doomed, "transcode")["status"] == "UploadSucc"
    control.advance(10)
    assert video_info(rpc_emulator, doomed)["Status"] == "TranscodeFail"
    events = [e for e in control.vod_events() if e["media_id"] == doomed]
    assert [(e["EventType"], e["Status"]) for e in events] == [
        ("FileUploadComplete", "success"),
        ("StreamTranscodeComplete", "fail"),
        ("TranscodeComplete", "fail"),
    ]
    never = create_video(rpc_emulator, "never", upload=None)
    assert control.fail_video(never, "upload")["status"] == "UploadFail"
    assert video_info(rpc_emulator, never)["Status"] == "UploadFail"
    with pytest.raises(Exception, match="NoSuchVideo"):
        control.fail_video("f" * 32)
    with pytest.raises(Exception, match="InvalidStage"):
        control.fail_video(never, "publish")


def list_videos(emulator: RunningEmulator, **params: object) -> dict[str, object]:
    request = GetVideoListRequest()
    for name, value in params.items():
        getattr(request, f"set_{name}")(value)
    return core_call(core_client(emulator), request)


def test_get_video_list_filters_sorts_and_pages(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-019."""
    clock = rpc_emulator.state.clock
    clock.freeze(at=1_700_000_000)
    ids = []
    for number in range(5):
        ids.append(create_video(rpc_emulator, f"v{number}", upload=b"x" if number < 3 else None))
        clock.advance(60)
    answer = list_videos(rpc_emulator)
    assert answer["Total"] == 5
    listed = [v["VideoId"] for v in answer["VideoList"]["Video"]]  # type: ignore[index]
    assert listed == ids[::-1]  # CreationTime:Desc by default
    answer = list_videos(rpc_emulator, Status="Uploading", SortBy="CreationTime:Asc")
    assert [v["VideoId"] for v in answer["VideoList"]["Video"]] == ids[3:]  # type: ignore[index]
    page = list_videos(rpc_emulator, PageSize=2, PageNo=2, SortBy="CreationTime:Asc")
    assert page["Total"] == 5
    assert [v["VideoId"] for v in page["VideoList"]["Video"]] == ids[2:4]  # type: ignore[index]
    window = list_videos(
        rpc_emulator, StartTime="2023-11-14T22:14:20Z", EndTime="2023-11-14T22:16:19Z"
    )
    assert sorted(v["VideoId"] for v in window["VideoList"]["Video"]) == sorted(ids[1:3])  # type: ignore[index]
    request = GetVideoListRequest()
    request.set_PageSize(101)
    assert core_error(core_client(rpc_emulator), request).get_error_code() == "InvalidParameter"


def search(emulator: RunningEmulator, **params: object) -> dict[str, object]:
    request = SearchMediaRequest()
    for name, value in params.items():
        getattr(request, f"set_{name}")(value)
    return core_call(core_client(emulator), request)


def test_search_media_match_fields_and_scroll(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-022."""
    clock = rpc_emulator.state.clock
    clock.freeze(at=1_700_000_000)
    cats = create_video(rpc_emulator, "Funny Cats", Tags="pets,cats")
    clock.advance(1)
    dogs = create_video(rpc_emulator, "Dog days", Tags="pets,dogs", upload=None)
    clock.advance(1)
    news = create_video(rpc_emulator, "Evening news")
    found = search(rpc_emulator, Match="Title = 'cat'")
    assert [m["MediaId"] for m in found["MediaList"]] == [cats]  # type: ignore[index]
    assert found["MediaList"][0]["Video"]["Title"] == "Funny Cats"  # type: ignore[index]
    found = search(rpc_emulator, Match="Tags in ('pets') and Status = 'Normal'")
    assert [m["MediaId"] for m in found["MediaList"]] == [cats]  # type: ignore[index]
    found = search(rpc_emulator, Match=f"VideoId in ('{dogs}', '{cats}') or Title = 'news'")
    assert found["Total"] == 3
    first = search(rpc_emulator, PageSize=2, SortBy="CreationTime:Asc")
    assert [m["MediaId"] for m in first["MediaList"]] == [cats, dogs]  # type: ignore[index]
    second = search(
        rpc_emulator, PageSize=2, ScrollToken=first["ScrollToken"], SortBy="CreationTime:Asc"
    )
    assert [m["MediaId"] for m in second["MediaList"]] == [news]  # type: ignore[index]
    assert second["ScrollToken"] == ""
    images = core_call(core_client(rpc_emulator), _image_request("cover art"))
    found = search(rpc_emulator, SearchType="image", Match="Title = 'cover'")
    assert [m["MediaId"] for m in found["MediaList"]] == [images["ImageId"]]  # type: ignore[index]
    request = SearchMediaRequest()
    request.set_Match("Title ~ 'x'")
    error = core_error(core_client(rpc_emulator), request)
    assert (error.get_error_code(), "Match" in error.get_error_msg()) == ("InvalidParameter", True)


def _image_request(title: str) -> CreateUploadImageRequest:
    request = CreateUploadImageRequest()
    request.set_ImageType("cover")
    request.set_Title(title)
    return request


def add_category(
    emulator: RunningEmulator, name: str, parent: int | None = None
) -> dict[str, object]:
    request = AddCategoryRequest()
    request.set_CateName(name)
    if parent is not None:
        request.set_ParentId(parent)
    category: dict[str, object] = core_call(core_client(emulator), request)["Category"]
    return category


def test_categories_three_levels_rename_delete(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-028."""
    sports = add_category(rpc_emulator, "Sports")
    assert (sports["Level"], sports["ParentId"], sports["Type"]) == (0, -1, "default")
    ball = add_category(rpc_emulator, "Ball", int(sports["CateId"]))  # type: ignore[call-overload]
    golf = add_category(rpc_emulator, "Golf", int(ball["CateId"]))  # type: ignore[call-overload]
    assert golf["Level"] == 2
    request = AddCategoryRequest()
    request.set_CateName("too deep")
    request.set_ParentId(golf["CateId"])
    error = core_error(core_client(rpc_emulator), request)
    assert (error.get_http_status(), error.get_error_code()) == (
        403,
        "Forbidden.CategoryLevelExceeded",
    )

    listing = GetCategoriesRequest()
    listing.set_CateId(sports["CateId"])
    answer = core_call(core_client(rpc_emulator), listing)
    assert answer["Category"]["CateName"] == "Sports"
    assert answer["SubTotal"] == 1
    assert answer["SubCategories"]["Category"][0]["SubTotal"] == 1
    roots = core_call(core_client(rpc_emulator), GetCategoriesRequest())
    assert [c["CateName"] for c in roots["SubCategories"]["Category"]] == ["Sports"]

    rename = UpdateCategoryRequest()
    rename.set_CateId(ball["CateId"])
    rename.set_CateName("Ball games")
    core_call(core_client(rpc_emulator), rename)
    video_id = create_video(rpc_emulator, CateId=golf["CateId"])
    assert video_info(rpc_emulator, video_id)["CateName"] == "Golf"

    delete = DeleteCategoryRequest()
    delete.set_CateId(ball["CateId"])
    core_call(core_client(rpc_emulator), delete)
    assert video_info(rpc_emulator, video_id)["CateId"] == -1  # subtree gone, video kept
    listing = GetCategoriesRequest()
    listing.set_CateId(golf["CateId"])
    error = core_error(core_client(rpc_emulator), listing)
    assert (error.get_http_status(), error.get_error_code()) == (404, "InvalidCateId.NotFound")


def test_update_video_info_and_infos(rpc_emulator: RunningEmulator) -> None:
    """EMU-VOD-027: validated before anything changes; unknown ids are listed."""
    category = add_category(rpc_emulator, "Docs")
    first = create_video(rpc_emulator, "first")
    second = create_video(rpc_emulator, "second")
    update = UpdateVideoInfoRequest()
    update.set_VideoId(first)
    update.set_Title("First, renamed")
    update.set_Tags("a, b")
    update.set_CateId(category["CateId"])
    core_call(core_client(rpc_emulator), update)
    info = video_info(rpc_emulator, first)
    assert (info["Title"], info["Tags"], info["CateName"]) == ("First, renamed", "a,b", "Docs")

    bad = UpdateVideoInfoRequest()
    bad.set_VideoId(first)
    bad.set_Title("should not stick")
    bad.set_CateId(999)
    assert core_error(core_client(rpc_emulator), bad).get_error_code() == "InvalidCateId.NotFound"
    assert video_info(rpc_emulator, first)["Title"] == "First, renamed"

    batch = UpdateVideoInfosRequest()
    batch.set_UpdateContent(
        json.dumps(
            [
                {"VideoId": second, "Title": "Second, renamed", "Description": "d"},
                {"VideoId": "0" * 32, "Title": "nobody"},
            ]
        )
    )
    answer = core_call(core_client(rpc_emulator), batch)
    assert answer["NonExistVideoIds"] == ["0" * 32]
    assert video_info(rpc_emulator, second)["Title"] == "Second, renamed"
    emoji = UpdateVideoInfosRequest()
    emoji.set_UpdateContent(json.dumps([{"VideoId": second, "Title": "\U0001f600"}]))
    assert core_error(core_client(rpc_emulator), emoji).get_error_code() == "IllegalCharacters"
