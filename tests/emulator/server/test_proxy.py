"""Proxy mode: voduploadsdk, which hard-codes its hosts, runs unmodified with HTTP_PROXY.

voduploadsdk builds its own ``AcsClient`` for ``vod.cn-shanghai.aliyuncs.com`` and posts
unsigned progress reports there after every part; its OSS endpoint
comes from the UploadAddress. With ``HTTP_PROXY`` pointed at the emulator, every one of
those requests arrives as an absolute-URI request for a ``*.aliyuncs.com`` host and is
answered locally.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from voduploadsdk.AliyunVodUploader import AliyunVodUploader
from voduploadsdk.UploadVideoRequest import UploadVideoRequest

from emulator.pytest_plugin import EmulatorEndpoint


@pytest.fixture
def collect_sdk_sockets() -> Iterator[None]:
    """voduploadsdk builds its own oss2 and aliyunsdkcore clients and never closes them:
    collect their pooled sockets now, quietly, not as ResourceWarnings in a later test."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.mark.usefixtures("collect_sdk_sockets")
def test_voduploadsdk_upload_local_video_through_the_proxy(
    vod_emulator: EmulatorEndpoint,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """EMU-PRX-001: uploadLocalVideo (multipart, with telemetry) completes via HTTP_PROXY."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", vod_emulator.url)
    monkeypatch.setenv("http_proxy", vod_emulator.url)
    video_file = tmp_path / "clip.mp4"
    content = os.urandom(300_000)
    video_file.write_bytes(content)

    uploader = AliyunVodUploader(vod_emulator.access_key_id, vod_emulator.access_key_secret)
    uploader.setMultipartUpload(multipartThreshold=200 * 1024, multipartPartSize=100 * 1024)
    result = uploader.uploadLocalVideo(UploadVideoRequest(str(video_file), "proxied clip"))

    state = vod_emulator.control.state()
    [video] = state["vod"]["videos"]
    assert video["video_id"] == result["VideoId"]
    assert (video["title"], video["size"]) == ("proxied clip", len(content))
    assert video["status"] in ("UploadSucc", "Normal")
    stored = vod_emulator.state.oss.get_object(video["bucket"], video["object_key"])
    assert b"".join(vod_emulator.state.oss.iter_object(stored, 0, len(content))) == content
    operations = [(r["service"], r["operation"], r["status"]) for r in state["requests"]]
    assert operations.count(("oss", "UploadPart", 200)) == 3
    assert operations.count(("vod", "ReportUploadProgress", 200)) == 3
    assert ("oss", "CompleteMultipartUpload", 200) in operations
    assert "UploadFile video Finish" in capsys.readouterr().out
