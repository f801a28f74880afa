"""VOD state lives in the state's SQLite database: a restart on the same data directory
keeps videos, media and their status. In-process (``emulator.rpc.handle``), since what is
tested is storage, not the socket. Requirements: specs/emulator-vod-sts.md.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from emulator import rpc
from emulator.config import EmulatorConfig
from emulator.http import Headers, Request
from emulator.rpc.signing import rpc_signature, rpc_string_to_sign
from emulator.state import EmulatorState


def call(state: EmulatorState, action: str, **business: str) -> tuple[int, dict[str, Any]]:
    params = {
        "Action": action,
        "Version": "2017-03-21",
        "AccessKeyId": state.config.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **business,
    }
    params["Signature"] = rpc_signature(
        rpc_string_to_sign("POST", params), state.config.access_key_secret
    )
    request = Request(
        method="POST",
        raw_path="/",
        raw_query=urlencode(params, quote_via=quote),
        headers=Headers([("Host", "127.0.0.1:9")]),
        body=b"",
        host="127.0.0.1:9",
    )
    response = rpc.handle(state, request)
    return response.status, json.loads(response.body_bytes())


def test_videos_and_images_survive_a_restart(tmp_path: Path) -> None:
    """EMU-VOD-016."""
    config = EmulatorConfig(data_dir=tmp_path, fsync=False)
    first = EmulatorState(config)
    status, video = call(first, "CreateUploadVideo", Title="kept", FileName="a.mp4")
    assert status == 200
    status, image = call(first, "CreateUploadImage", ImageType="default")
    assert status == 200
    first.close()

    second = EmulatorState(config)
    status, info = call(second, "GetVideoInfo", VideoId=video["VideoId"])
    assert (status, info["Video"]["Title"], info["Video"]["Status"]) == (200, "kept", "Uploading")
    status, _ = call(second, "GetImageInfo", ImageId=image["ImageId"])
    assert status == 200
    # The UploadAuth issued before the restart is still known to the credential store.
    auth = json.loads(base64.b64decode(video["UploadAuth"]))
    assert second.credentials.get(auth["AccessKeyId"]) is not None
    second.close()


def test_id_lists_are_bounded(tmp_path: Path) -> None:
    """EMU-VOD-010, EMU-VOD-011: at most 20 ids per call."""
    state = EmulatorState()
    ids = ",".join(f"id{i}" for i in range(21))
    for action in ("GetVideoInfos", "DeleteVideo"):
        status, body = call(state, action, VideoIds=ids)
        assert (status, body["Code"]) == (400, "InvalidParameter"), action
    status, body = call(state, "GetVideoInfos", VideoIds=" , ")
    assert (status, body["Code"]) == (400, "InvalidParameter")
