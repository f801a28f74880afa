"""The VOD JS SDK's UploadAuth flow, with the real ali-oss doing the OSS part.

What ``AliyunUpload.Vod`` 1.5.x does in a browser,
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aliyunsdkcore.client import AcsClient
from aliyunsdkvod.request.v20170321 import (
    CreateUploadVideoRequest,
    GetVideoInfoRequest,
    RefreshUploadVideoRequest,
)
from support.node import Credentials, NodeEmulator, NodeRunner

pytestmark = [pytest.mark.node]

SIZE = 5 * 100 * 1024 + 777  # 6 parts of 100 KiB


@pytest.fixture
def acs_client(node_emulator: NodeEmulator) -> Iterator[AcsClient]:
    """aliyunsdkcore with the root key; its connection pool is closed at teardown (left to
    the GC, its keep-alive socket surfaces as an unraisable ResourceWarning)."""
    client = AcsClient(
        node_emulator.access_key_id,
        node_emulator.access_key_secret,
        "cn-shanghai",
        auto_retry=False,
    )
    try:
        yield client
    finally:
        client.session.close()


def _vod(client: AcsClient, port: int, request: Any, host: str) -> dict[str, Any]:
    request.set_endpoint(f"{host}:{port}")
    return dict(json.loads(client.do_action_with_exception(request)))


def _decode(value: str) -> dict[str, Any]:
    return dict(json.loads(base64.b64decode(value)))


def _credentials(upload_auth: dict[str, Any]) -> Credentials:
    return Credentials(
        upload_auth["AccessKeyId"], upload_auth["AccessKeySecret"], upload_auth["SecurityToken"]
    )


@pytest.mark.parametrize(
    ("vod_host", "addressing"),
    [("127.0.0.1", "ip"), ("localhost", "vhost")],
    ids=["app-uses-127.0.0.1", "app-uses-localhost"],
)
def test_upload_auth_multipart_interrupted_refreshed_and_resumed(
    run_node: NodeRunner,
    node_emulator: NodeEmulator,
    acs_client: AcsClient,
    tmp_path: Path,
    vod_host: str,
    addressing: str,
) -> None:
    """The UploadAddress Endpoint is the address the app used for VOD. With ``localhost``
    ali-oss addresses ``<bucket>.localhost:PORT`` (virtual-hosted), the form that also
    works from a browser, which cannot override the Host header as Node ali-oss does for
    an IP endpoint.

    EMU-VOD-001, EMU-VOD-002, EMU-VOD-003, EMU-VOD-004, EMU-VOD-006, EMU-VOD-008,
    EMU-OSS-024, EMU-OSS-025."""
    data = (hashlib.sha256(b"vod-node").digest() * (SIZE // 32 + 1))[:SIZE]
    source = tmp_path / "movie.mp4"
    source.write_bytes(data)

    create = CreateUploadVideoRequest.CreateUploadVideoRequest()
    create.set_Title("ali-oss in node")
    create.set_FileName("movie.mp4")
    created = _vod(acs_client, node_emulator.port, create, vod_host)
    address = _decode(created["UploadAddress"])
    auth = _decode(created["UploadAuth"])
    # The address points back at the emulator, as the client reached it.
    assert address["Endpoint"] == f"http://{vod_host}:{node_emulator.port}"
    key, bucket = address["FileName"], address["Bucket"]
    checkpoint_file = tmp_path / "checkpoint.json"

    first = run_node(
        "multipart.js", "--key", key, "--file", str(source),
        "--checkpoint-file", str(checkpoint_file), "--cancel-after", "2",
        bucket=bucket, credentials=_credentials(auth), addressing=addressing,
    )  # fmt: skip
    assert first["ok"] is True and first["cancelled"] is True, first

    # The UploadAuth is good for this one object only.
    elsewhere = run_node(
        "probe.js", "--key", key + ".other.mp4", "--ops", "put",
        bucket=bucket, credentials=_credentials(auth), addressing=addressing,
    )  # fmt: skip
    assert elsewhere["results"]["put"]["error"]["name"] == "AccessDeniedError", elsewhere

    refresh = RefreshUploadVideoRequest.RefreshUploadVideoRequest()
    refresh.set_VideoId(created["VideoId"])
    refreshed = _vod(acs_client, node_emulator.port, refresh, vod_host)
    new_auth = _decode(refreshed["UploadAuth"])
    assert new_auth["AccessKeyId"] != auth["AccessKeyId"]
    assert _decode(refreshed["UploadAddress"])["FileName"] == key

    resumed = run_node(
        "multipart.js", "--key", key, "--file", str(source),
        "--resume-from", str(checkpoint_file),
        bucket=bucket, credentials=_credentials(new_auth), addressing=addressing,
    )  # fmt: skip
    assert resumed["ok"] is True, resumed
    saved = json.loads(checkpoint_file.read_text())
    assert resumed["finalCheckpoint"]["uploadId"] == saved["uploadId"]
    assert resumed["verify"]["get"]["matches"] is True
    assert resumed["verify"]["head"]["contentLength"] == str(SIZE)

    info = GetVideoInfoRequest.GetVideoInfoRequest()
    info.set_VideoId(created["VideoId"])
    video = _vod(acs_client, node_emulator.port, info, vod_host)["Video"]
    assert video["Status"] in ("UploadSucc", "Normal"), video


def test_upload_auth_expires_mid_upload_then_refresh_resumes(
    run_node: NodeRunner,
    node_emulator: NodeEmulator,
    acs_client: AcsClient,
    tmp_path: Path,
) -> None:
    """The token-expiry path of the VOD SDK (sdk-semantics §4.1, §4.5): the UploadAuth runs
    out between parts, ali-oss fails the upload with ``SecurityTokenExpiredError`` (code
    ``SecurityTokenExpired``, the SDK's onUploadTokenExpired trigger), and after
    RefreshUploadVideo the same checkpoint finishes the same upload.

    EMU-VOD-005, EMU-VOD-006, EMU-OSS-024."""
    data = (hashlib.sha256(b"vod-expiry").digest() * (SIZE // 32 + 1))[:SIZE]
    source = tmp_path / "expiring.mp4"
    source.write_bytes(data)
    create = CreateUploadVideoRequest.CreateUploadVideoRequest()
    create.set_Title("expiring upload auth")
    create.set_FileName("expiring.mp4")
    created = _vod(acs_client, node_emulator.port, create, "127.0.0.1")
    address = _decode(created["UploadAddress"])
    auth = _decode(created["UploadAuth"])
    key, bucket = address["FileName"], address["Bucket"]
    checkpoint_file = tmp_path / "checkpoint.json"
    first = run_node(
        "multipart.js", "--key", key, "--file", str(source),
        "--checkpoint-file", str(checkpoint_file), "--cancel-after", "2",
        bucket=bucket, credentials=_credentials(auth),
    )  # fmt: skip
    assert first["ok"] is True and first["cancelled"] is True, first
    saved = json.loads(checkpoint_file.read_text())

    clock = node_emulator.state.clock
    snapshot = clock.snapshot()
    clock.advance(float(auth["Expiration"]) + 1)
    try:
        expired = run_node(
            "multipart.js", "--key", key, "--file", str(source),
            "--resume-from", str(checkpoint_file),
            bucket=bucket, credentials=_credentials(auth),
        )  # fmt: skip
        assert expired["ok"] is False
        error = expired["error"]
        assert error["name"] == "SecurityTokenExpiredError", error
        assert error["code"] == "SecurityTokenExpired"
        assert error["status"] == 403
        assert error["message"].startswith(
            "Failed to upload some parts with error: SecurityTokenExpiredError"
        )

        refresh = RefreshUploadVideoRequest.RefreshUploadVideoRequest()
        refresh.set_VideoId(created["VideoId"])
        new_auth = _decode(_vod(acs_client, node_emulator.port, refresh, "127.0.0.1")["UploadAuth"])
        resumed = run_node(
            "multipart.js", "--key", key, "--file", str(source),
            "--resume-from", str(checkpoint_file),
            bucket=bucket, credentials=_credentials(new_auth),
        )  # fmt: skip
    finally:
        clock.restore(snapshot)
    assert resumed["ok"] is True, resumed
    assert resumed["finalCheckpoint"]["uploadId"] == saved["uploadId"]
    assert resumed["verify"]["get"]["matches"] is True
