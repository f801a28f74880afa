"""CORS on the RPC APIs (EMU-RPC-013): the JS upload SDK's STS mode signs VOD calls in the
page and sends them from the browser, so the page must be able to read the answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests
from support.rpc import RunningEmulator

from emulator.credentials import CredentialKind
from emulator.rpc.signing import rpc_signature, rpc_string_to_sign

ORIGIN = "http://localhost:8080"


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.trust_env = False
        yield http


def _js_sdk_style_url(emulator: RunningEmulator, action: str, **extra: str) -> str:
    """A VOD call signed as the JS SDK 1.5.x signs it in STS mode: HMAC-SHA1, GET, an STS
    token, and no Timestamp (sdk-semantics §1.2)."""
    credential = emulator.state.credentials.issue(
        now=emulator.state.clock.now(), ttl_seconds=600, kind=CredentialKind.STS
    )
    params = {
        "Action": action,
        "Version": "2017-03-21",
        "Format": "JSON",
        "AccessKeyId": credential.access_key_id,
        "SecurityToken": credential.security_token or "",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        **extra,
    }
    params["Signature"] = rpc_signature(
        rpc_string_to_sign("GET", params), credential.access_key_secret
    )
    return f"{emulator.url}/?{urlencode(params)}"


def test_a_browser_can_read_a_signed_vod_answer(
    rpc_emulator: RunningEmulator, session: requests.Session
) -> None:
    """EMU-RPC-013: a simple cross-origin GET gets Access-Control-Allow-Origin."""
    url = _js_sdk_style_url(
        rpc_emulator, "CreateUploadVideo", Title="from a page", FileName="clip.mp4"
    )
    answer = session.get(url, headers={"Origin": ORIGIN}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["VideoId"]
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "x-acs-request-id" in answer.headers["Access-Control-Expose-Headers"]


def test_errors_are_readable_cross_origin_too(
    rpc_emulator: RunningEmulator, session: requests.Session
) -> None:
    """EMU-RPC-013: the page must see the error code (InvalidVideo.NotFound here) to react."""
    url = _js_sdk_style_url(rpc_emulator, "RefreshUploadVideo", VideoId="0" * 32)
    answer = session.get(url, headers={"Origin": ORIGIN}, timeout=10)
    assert answer.status_code == 404
    assert answer.json()["Code"] == "InvalidVideo.NotFound"
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_preflight_on_an_rpc_url(rpc_emulator: RunningEmulator, session: requests.Session) -> None:
    """EMU-RPC-013: a page that adds its own headers gets its preflight answered."""
    answer = session.options(
        f"{rpc_emulator.url}/?Action=CreateUploadVideo&Version=2017-03-21",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-app-trace",
        },
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "GET" in answer.headers["Access-Control-Allow-Methods"]
    assert answer.headers["Access-Control-Allow-Headers"] == "x-app-trace"


def test_no_origin_no_cors_headers(
    rpc_emulator: RunningEmulator, session: requests.Session
) -> None:
    """EMU-RPC-013: server-to-server calls are answered as before."""
    url = _js_sdk_style_url(rpc_emulator, "GetVideoInfo", VideoId="0" * 32)
    answer = session.get(url, timeout=10)
    assert answer.status_code == 404
    assert "Access-Control-Allow-Origin" not in answer.headers
