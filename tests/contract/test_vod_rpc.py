"""The lean VOD RPC client sends what aliyun-python-sdk-core sends, and answers alike."""

from __future__ import annotations

import calendar
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from aliyunsdkcore.utils import parameter_helper
from aliyunsdkcore.vendored.requests import adapters as vendored_adapters
from aliyunsdkcore.vendored.requests import exceptions as vendored_exceptions

from vodref import vod_rpc
from vodref.core import ErrorKind
from vodref.errors import TransportError
from vodref.vod_api import AcsVodApi
from vodref.vod_rpc import RpcVodApi, rpc_signature

NONCE = "3d1bd3c0b5d0a6e1f5c0a1b2c3d4e5f6"
STAMP = "2025-01-01T00:00:00Z"
ENDPOINT = "http://127.0.0.1:9"  # never reached: both clients' sends are captured
EXTRA = {"CateId": 1000, "Tags": "a,b", "UserData": {"Extend": {"k": "v w"}}, "Skip": None}


class _VendoredCapture(vendored_adapters.BaseAdapter):  # type: ignore[misc]
    def __init__(self, sent: list[Any]) -> None:
        super().__init__()
        self.sent = sent

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.sent.append(request)
        raise vendored_exceptions.ConnectionError("captured")

    def close(self) -> None:
        pass


class _Capture(requests.adapters.BaseAdapter):
    def __init__(self, sent: list[Any]) -> None:
        super().__init__()
        self.sent = sent

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.sent.append(request)
        raise requests.ConnectionError("captured")

    def close(self) -> None:
        pass


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


@pytest.mark.parametrize("token", [None, "CAIS-token"])
def test_rpc_request_matches_aliyunsdkcore(
    monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    """UPL-TRN-008: with the same nonce and timestamp, RpcVodApi's CreateUploadVideo,
    RefreshUploadVideo and CreateUploadImage carry the same method, query parameters
    (SecurityToken included) and Signature as AcsVodApi's, and the signature is the
    worked example's (specs: RPC signature 1.0)."""
    monkeypatch.setattr(parameter_helper, "get_uuid", lambda: NONCE)
    monkeypatch.setattr(parameter_helper, "get_iso_8061_date", lambda: STAMP)
    monkeypatch.setattr(vod_rpc, "_new_nonce", lambda: NONCE)
    stamp = calendar.timegm(time.strptime(STAMP, "%Y-%m-%dT%H:%M:%SZ"))
    acs = AcsVodApi("LTAI5tTESTAKID", "TestSecret123", security_token=token, endpoint=ENDPOINT)
    rpc = RpcVodApi(
        "LTAI5tTESTAKID",
        "TestSecret123",
        security_token=token,
        endpoint=ENDPOINT,
        wall_clock=lambda: float(stamp),
    )
    acs_sent: list[Any] = []
    rpc_sent: list[Any] = []
    acs._client.session.mount("http://", _VendoredCapture(acs_sent))
    rpc._session.mount("http://", _Capture(rpc_sent))
    calls = [
        lambda api: api.create_upload_video(
            title="my video ~*()!'é", file_name="movie file.mp4", file_size=204800, extra=EXTRA
        ),
        lambda api: api.refresh_upload_video("93ab850b4f6f44eab54b6e91d24d81d4"),
        lambda api: api.create_upload_image(image_ext="png", title="cover", extra=EXTRA),
    ]
    for call in calls:
        for api, sent in ((acs, acs_sent), (rpc, rpc_sent)):
            sent.clear()
            with pytest.raises(TransportError) as caught:
                call(api)
            assert caught.value.error.kind is ErrorKind.NETWORK
            assert "captured" not in str(caught.value)
        acs_request, rpc_request = acs_sent[0], rpc_sent[0]
        assert rpc_request.method == acs_request.method == "POST"
        assert _query(rpc_request.url) == _query(acs_request.url)
        assert rpc_request.headers["x-acs-action"] == acs_request.headers["x-acs-action"]
        assert not rpc_request.body and not acs_request.body
    acs.close()
    rpc.close()
    worked = {
        "Title": "my video",
        "FileName": "movie file.mp4",
        "Version": "2017-03-21",
        "Action": "CreateUploadVideo",
        "Format": "JSON",
        "RegionId": "cn-shanghai",
        "Timestamp": STAMP,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureType": "",
        "SignatureVersion": "1.0",
        "SignatureNonce": NONCE,
        "AccessKeyId": "LTAI5tTESTAKID",
    }
    assert rpc_signature("POST", worked, "TestSecret123") == "l+qe+uLOlMNjEPWxBIbg5n95mi4="


def test_rpc_client_against_the_emulator(vod_emulator: Any) -> None:
    """UPL-TRN-008: the emulator checks every signature: RpcVodApi's calls are accepted, a
    wrong secret is refused with the service's code, and a service error is the same
    ServiceError AcsVodApi reports."""
    emu = vod_emulator
    with RpcVodApi(emu.access_key_id, emu.access_key_secret, endpoint=emu.url) as rpc:
        grant = rpc.create_upload_video(
            title="clip", file_name="clip.mp4", file_size=1000, extra={"Tags": "x"}
        )
        assert grant.video_id and grant.upload_auth and grant.upload_address
        again = rpc.refresh_upload_video(grant.video_id)
        assert again.video_id == grant.video_id
        image = rpc.create_upload_image(image_ext="png", title=None, extra={})
        assert image.image_id and image.image_url
        with pytest.raises(TransportError) as ours:
            rpc.refresh_upload_video("no-such-video")
    acs = AcsVodApi(emu.access_key_id, emu.access_key_secret, endpoint=emu.url)
    with acs, pytest.raises(TransportError) as theirs:
        acs.refresh_upload_video("no-such-video")
    assert ours.value.error.kind is theirs.value.error.kind is ErrorKind.SERVICE
    assert ours.value.error.code == theirs.value.error.code
    assert ours.value.error.http_status == theirs.value.error.http_status
    wrong = RpcVodApi(emu.access_key_id, "wrong-secret", endpoint=emu.url)
    with wrong, pytest.raises(TransportError) as refused:
        wrong.create_upload_video(title="t", file_name="t.mp4", file_size=1, extra={})
    assert refused.value.error.code == "SignatureDoesNotMatch"
    assert "wrong-secret" not in str(refused.value)
