"""EMU-CTL-009: the request log names how each request was signed (one word of a closed set,
never a value), so a test suite can check its client moved to Signature V4. Real clients:
oss2 (V1, V4, presigned V1 and V4), aliyunsdkcore (RPC HMAC-SHA1) and the tea client (ACS3)."""

from __future__ import annotations

from typing import Any

import oss2
import pytest
import requests
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_vod20170321 import models as vod_models
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkvod.request.v20170321.GetVideoInfoRequest import GetVideoInfoRequest
from support.rpc import RunningEmulator, core_client, tea_vod

from emulator.control.recorder import signature_scheme
from emulator.http import Headers, Request


def _last(emulator: RunningEmulator) -> dict[str, Any]:
    records: list[dict[str, Any]] = emulator.control.requests()
    return records[-1]


def test_each_client_is_logged_with_its_signature_scheme(rpc_emulator: RunningEmulator) -> None:
    """EMU-CTL-009"""
    emu = rpc_emulator
    v1 = oss2.Bucket(
        oss2.Auth(emu.access_key_id, emu.access_key_secret),
        emu.url,
        "sig-log",
        session=emu.oss_session,
    )
    v1.create_bucket()
    v1.put_object("k", b"x")
    assert _last(emu)["signature"] == "OSS"
    v4 = oss2.Bucket(
        oss2.AuthV4(emu.access_key_id, emu.access_key_secret),
        emu.url,
        "sig-log",
        region=emu.state.config.region,
        session=emu.oss_session,
    )
    v4.get_object("k").read()
    assert (_last(emu)["operation"], _last(emu)["signature"]) == ("GetObject", "OSS4-HMAC-SHA256")
    for bucket, scheme in ((v1, "OSS presigned"), (v4, "OSS4-HMAC-SHA256 presigned")):
        url = bucket.sign_url("GET", "k", 60)
        with requests.get(url, timeout=10) as response:
            assert response.status_code == 200, response.text
        assert _last(emu)["signature"] == scheme
    with requests.get(f"{emu.url}/sig-log/k", timeout=10) as response:
        assert response.status_code == 403
    assert _last(emu)["signature"] == "none"

    request = GetVideoInfoRequest()
    request.set_VideoId("missing")
    request.set_endpoint(emu.url.split("://", 1)[1])
    with pytest.raises(ServerException):  # the missing video; only the log matters here
        core_client(emu).do_action_with_exception(request)
    assert (_last(emu)["operation"], _last(emu)["signature"]) == ("GetVideoInfo", "HMAC-SHA1")
    with pytest.raises(ClientException):
        tea_vod(emu).get_video_info(vod_models.GetVideoInfoRequest(video_id="missing"))
    assert (_last(emu)["operation"], _last(emu)["signature"]) == (
        "GetVideoInfo",
        "ACS3-HMAC-SHA256",
    )


def test_a_value_in_the_scheme_place_is_never_logged() -> None:
    """EMU-CTL-009 EMU-SEC-005: a header whose first word is not a known scheme is "other"."""
    for value in ("s3cr3t-token", "Bearer s3cr3t", "OSS4-HMAC-SHA256Credential=x"):
        request = Request(
            method="GET",
            raw_path="/b/k",
            raw_query="",
            headers=Headers([("Authorization", value)]),
            body=b"",
            host="h",
        )
        assert signature_scheme(request, "oss") == "other"
