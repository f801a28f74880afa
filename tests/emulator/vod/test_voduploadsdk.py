"""voduploadsdk, unmodified, through the emulator as its HTTP proxy (the README's client section).

voduploadsdk has no endpoint setting: it calls ``vod.cn-shanghai.aliyuncs.com`` through
aliyunsdkcore, uploads to the UploadAddress's endpoint with oss2, and posts unsigned
progress reports to a hard-coded host. With ``HTTP_PROXY`` pointing at
the emulator, all three reach it. Requirements: specs/emulator-vod-sts.md.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.rpc import RunningEmulator
from voduploadsdk.AliyunVodUploader import AliyunVodUploader
from voduploadsdk.UploadImageRequest import UploadImageRequest
from voduploadsdk.UploadVideoRequest import UploadVideoRequest

PROXY_VARIABLES = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy")
# Proxy mode is a socket feature; in-process mode serves voduploadsdk by intercepting
# *.aliyuncs.com instead (tests/emulator/inprocess/).
pytestmark = pytest.mark.socket_only


@pytest.fixture
def proxied(
    rpc_emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningEmulator]:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, rpc_emulator.url)
    yield rpc_emulator
    # voduploadsdk builds its own clients and never closes them; collect their pooled
    # sockets here, quietly, rather than as ResourceWarnings in some later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_voduploadsdk_multipart_video_upload_via_proxy(
    proxied: RunningEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """EMU-VOD-017, EMU-RPC-010: CreateUploadVideo, multipart with progress reports."""
    source = tmp_path / "movie.mp4"
    payload = bytes(range(256)) * 1200  # 300 KiB: three parts of 100 KiB
    source.write_bytes(payload)
    uploader = AliyunVodUploader(proxied.access_key_id, proxied.access_key_secret)
    uploader.setMultipartUpload(multipartThreshold=200 * 1024, multipartPartSize=100 * 1024)
    request = UploadVideoRequest(str(source), "proxied upload")
    info = uploader.uploadLocalVideo(request)
    assert isinstance(info, dict), capsys.readouterr().out
    address = info["UploadAddress"]
    assert address["Endpoint"] == "http://oss-cn-shanghai.aliyuncs.com"
    stored = proxied.state.oss.head_object(address["Bucket"], address["FileName"])
    assert stored is not None and stored.size == len(payload)
    videos = proxied.state.vod.dump()["videos"]
    assert [(v["video_id"], v["status"]) for v in videos] == [(info["VideoId"], "Normal")]


def test_voduploadsdk_image_upload_via_proxy(proxied: RunningEmulator, tmp_path: Path) -> None:
    """EMU-VOD-013, EMU-VOD-017."""
    source = tmp_path / "cover.png"
    source.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 500)
    uploader = AliyunVodUploader(proxied.access_key_id, proxied.access_key_secret)
    result = uploader.uploadImage(UploadImageRequest(str(source), "cover"))
    assert isinstance(result, tuple), result
    image_id, image_url = result
    assert image_url.startswith("http://outin-")
    images = proxied.state.vod.dump()["images"]
    assert [(i["media_id"], i["uploaded"], i["size"]) for i in images] == [(image_id, True, 508)]
