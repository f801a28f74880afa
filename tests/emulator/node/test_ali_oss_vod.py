"""The VOD JS SDK's UploadAuth flow, with the real ali-oss doing the OSS part.

What ``AliyunUpload.Vod`` 1.5.x does in a browser (sdk-semantics.md §2.6, §3.2, §4.5),
replayed in Node: the app calls CreateUploadVideo (here aliyunsdkcore against the
emulator), hands UploadAuth/UploadAddress to the uploader, which builds an ali-oss client
from them (``accessKeyId``/``accessKeySecret``/``stsToken``/``endpoint``/``bucket``) and
runs ``multipartUpload`` with checkpoints. The upload is interrupted, the app calls
RefreshUploadVideo for fresh credentials, and the upload resumes from the checkpoint with
them (``resumeUploadWithAuth``). The video then leaves the Uploading state.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from aliyunsdkcore.client import AcsClient
from aliyunsdkvod.request.v20170321 import (
    CreateUploadVideoRequest,
    GetVideoInfoRequest,
    RefreshUploadVideoRequest,
)
from node_support import Credentials, NodeEmulator, NodeRunner

pytestmark = [pytest.mark.node]

SIZE = 5 * 100 * 1024 + 777  # 6 parts of 100 KiB


def _vod(emulator: NodeEmulator, request: Any) -> dict[str, Any]:
    client = AcsClient(
        emulator.access_key_id, emulator.access_key_secret, "cn-shanghai", auto_retry=False
    )
    request.set_endpoint(f"127.0.0.1:{emulator.port}")
    return dict(json.loads(client.do_action_with_exception(request)))


def _decode(value: str) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(value)))


def _credentials(upload_auth: dict[str, Any]) -> Credentials:
    return Credentials(
        upload_auth["AccessKeyId"], upload_auth["AccessKeySecret"], upload_auth["SecurityToken"]
    )


def test_upload_auth_multipart_interrupted_refreshed_and_resumed(
    run_node: NodeRunner, node_emulator: NodeEmulator, tmp_path: Path
) -> None:
    data = (hashlib.sha256(b"vod-node").digest() * (SIZE // 32 + 1))[:SIZE]
    source = tmp_path / "movie.mp4"
    source.write_bytes(data)

    create = CreateUploadVideoRequest.CreateUploadVideoRequest()
    create.set_Title("ali-oss in node")
    create.set_FileName("movie.mp4")
    created = _vod(node_emulator, create)
    address = _decode(created["UploadAddress"])
    auth = _decode(created["UploadAuth"])
    # The address points back at the emulator, as the client reached it.
    assert address["Endpoint"] == node_emulator.url
    key, bucket = address["FileName"], address["Bucket"]
    checkpoint_file = tmp_path / "checkpoint.json"

    first = run_node(
        "multipart.js", "--key", key, "--file", str(source),
        "--checkpoint-file", str(checkpoint_file), "--cancel-after", "2",
        bucket=bucket, credentials=_credentials(auth),
    )  # fmt: skip
    assert first["ok"] is True and first["cancelled"] is True, first

    # The UploadAuth is good for this one object only.
    elsewhere = run_node(
        "probe.js", "--key", key + ".other.mp4", "--ops", "put",
        bucket=bucket, credentials=_credentials(auth),
    )  # fmt: skip
    assert elsewhere["results"]["put"]["error"]["name"] == "AccessDeniedError", elsewhere

    refresh = RefreshUploadVideoRequest.RefreshUploadVideoRequest()
    refresh.set_VideoId(created["VideoId"])
    refreshed = _vod(node_emulator, refresh)
    new_auth = _decode(refreshed["UploadAuth"])
    assert new_auth["AccessKeyId"] != auth["AccessKeyId"]
    assert _decode(refreshed["UploadAddress"])["FileName"] == key

    resumed = run_node(
        "multipart.js", "--key", key, "--file", str(source),
        "--resume-from", str(checkpoint_file),
        bucket=bucket, credentials=_credentials(new_auth),
    )  # fmt: skip
    assert resumed["ok"] is True, resumed
    saved = json.loads(checkpoint_file.read_text())
    assert resumed["finalCheckpoint"]["uploadId"] == saved["uploadId"]
    assert resumed["verify"]["get"]["matches"] is True
    assert resumed["verify"]["head"]["contentLength"] == str(SIZE)

    info = GetVideoInfoRequest.GetVideoInfoRequest()
    info.set_VideoId(created["VideoId"])
    video = _vod(node_emulator, info)["Video"]
    assert video["Status"] in ("UploadSucc", "Normal"), video
