"""RPC v1 (HMAC-SHA1) and ACS3 verification: worked examples, and every negative path.

Signed requests are built by hand here (the SDK tests cover the happy paths) so that each
field can be tampered with, then sent over a real socket. Requirements:
specs/emulator-vod-sts.md.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkvod.request.v20170321.GetVideoInfoRequest import GetVideoInfoRequest
from support.rpc import RunningEmulator, core_client

from emulator.credentials import CredentialKind, Scope
from emulator.http import Headers
from emulator.rpc.signing import (
    acs3_signature,
    acs3_string_to_sign,
    rpc_signature,
    rpc_string_to_sign,
)

VOD = "2017-03-21"


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def send(
    emulator: RunningEmulator,
    method: str,
    query: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> tuple[int, dict[str, str], bytes]:
    host, port = emulator.host_port.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, "/?" + query if query else "/", body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def rpc_params(
    emulator: RunningEmulator,
    action: str,
    *,
    access_key_id: str | None = None,
    timestamp: str | None = "now",
    **business: str,
) -> dict[str, str]:
    params = {
        "Action": action,
        "Version": VOD,
        "Format": "JSON",
        "AccessKeyId": access_key_id or emulator.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureType": "",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        **business,
    }
    if timestamp == "now":
        params["Timestamp"] = iso(time.time())
    elif timestamp is not None:
        params["Timestamp"] = timestamp
    return params


def signed_query(params: dict[str, str], secret: str, method: str = "POST") -> str:
    signed = dict(params)
    signed["Signature"] = rpc_signature(rpc_string_to_sign(method, params), secret)
    return urlencode(signed, quote_via=quote)


def rpc_json(
    emulator: RunningEmulator, params: dict[str, str], secret: str | None = None
) -> tuple[int, dict[str, Any]]:
    query = signed_query(params, secret or emulator.access_key_secret)
    status, _, body = send(emulator, "POST", query)
    return status, json.loads(body)


# -- RPC v1 ---------------------------------------------------------------------------------


def test_rpc_v1_worked_example_from_protocols_md() -> None:
    """EMU-RPC-003: the documented string-to-sign and signature."""
    params = {
        "Title": "my video",
        "FileName": "movie file.mp4",
        "Version": "2017-03-21",
        "Action": "CreateUploadVideo",
        "Format": "JSON",
        "RegionId": "cn-shanghai",
        "Timestamp": "2025-01-01T00:00:00Z",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureType": "",
        "SignatureVersion": "1.0",
        "SignatureNonce": "3d1bd3c0b5d0a6e1f5c0a1b2c3d4e5f6",
        "AccessKeyId": "LTAI5tTESTAKID",
    }
    string_to_sign = rpc_string_to_sign("POST", params)
    assert string_to_sign == (
        "POST&%2F&AccessKeyId%3DLTAI5tTESTAKID%26Action%3DCreateUploadVideo%26FileName%3D"
        "movie%2520file.mp4%26Format%3DJSON%26RegionId%3Dcn-shanghai%26SignatureMethod%3D"
        "HMAC-SHA1%26SignatureNonce%3D3d1bd3c0b5d0a6e1f5c0a1b2c3d4e5f6%26SignatureType%3D%26"
        "SignatureVersion%3D1.0%26Timestamp%3D2025-01-01T00%253A00%253A00Z%26Title%3D"
        "my%2520video%26Version%3D2017-03-21"
    )
    assert rpc_signature(string_to_sign, "TestSecret123") == "l+qe+uLOlMNjEPWxBIbg5n95mi4="


def test_get_and_form_body_requests_are_verified(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-003: GET query, POST query, and POST form-body parameters are all signed."""
    params = rpc_params(rpc_emulator, "CreateUploadVideo", Title="t", FileName="a.mp4")
    status, _, body = send(
        rpc_emulator, "GET", signed_query(params, rpc_emulator.access_key_secret, "GET")
    )
    assert status == 200, body

    params = rpc_params(rpc_emulator, "CreateUploadVideo", Title="form body", FileName="b.mp4")
    form = signed_query(params, rpc_emulator.access_key_secret)
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, body = send(rpc_emulator, "POST", "", headers=form_headers, body=form.encode())
    assert status == 200, body

    params = rpc_params(rpc_emulator, "CreateUploadVideo", Title="form body", FileName="c.mp4")
    tampered = signed_query(params, rpc_emulator.access_key_secret).replace(
        "Title=form%20body", "Title=evil"
    )
    status, _, body = send(rpc_emulator, "POST", "", headers=form_headers, body=tampered.encode())
    assert status == 400
    assert json.loads(body)["Code"] == "SignatureDoesNotMatch"


def test_hmac_sha256_signature_method(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-003: SignatureMethod=HMAC-SHA256 is verified with SHA-256."""
    params = rpc_params(rpc_emulator, "GetVideoInfo", VideoId="x")
    params["SignatureMethod"] = "HMAC-SHA256"
    signed = dict(params)
    signed["Signature"] = rpc_signature(
        rpc_string_to_sign("POST", params), rpc_emulator.access_key_secret, "HMAC-SHA256"
    )
    status, _, body = send(rpc_emulator, "POST", urlencode(signed, quote_via=quote))
    assert (status, json.loads(body)["Code"]) == (404, "InvalidVideo.NotFound")
    params["SignatureMethod"] = "MD5"
    status, body_json = rpc_json(rpc_emulator, params)
    assert (status, body_json["Code"]) == (400, "InvalidSignatureMethod")


def test_wrong_secret_is_relabelled_by_aliyunsdkcore(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-004: the message carries our string-to-sign; the SDK compares it with its
    own and, finding them equal, reports InvalidAccessKeySecret."""
    client = core_client(rpc_emulator, access_key_secret="not-the-secret")
    request = GetVideoInfoRequest()
    request.set_VideoId("x")
    request.set_protocol_type("http")
    with pytest.raises(ServerException) as raised:
        client.do_action_with_exception(request)
    assert raised.value.get_http_status() == 400
    assert raised.value.get_error_code() == "InvalidAccessKeySecret"


def test_tampered_query_is_signature_does_not_match(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-004: 400 with "server string to sign is:<STS>" (exactly one ':' before it)."""
    params = rpc_params(rpc_emulator, "GetVideoInfo", VideoId="abc")
    query = signed_query(params, rpc_emulator.access_key_secret).replace(
        "VideoId=abc", "VideoId=abd"
    )
    status, headers, body = send(rpc_emulator, "POST", query)
    error = json.loads(body)
    assert status == 400
    assert error["Code"] == "SignatureDoesNotMatch"
    tampered = dict(params, VideoId="abd")
    assert error["Message"].split(":")[1] == rpc_string_to_sign("POST", tampered)
    assert set(error) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert headers["Content-Type"] == "application/json;charset=utf-8"
    assert headers["x-acs-request-id"] == error["RequestId"]


def test_unknown_access_key(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-006."""
    params = rpc_params(rpc_emulator, "GetVideoInfo", access_key_id="LTAInobody", VideoId="x")
    status, body = rpc_json(rpc_emulator, params)
    assert (status, body["Code"]) == (404, "InvalidAccessKeyId.NotFound")


# -- timestamps and nonces ------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-3600, 3600, -901])
def test_skewed_timestamp(rpc_emulator: RunningEmulator, offset: int) -> None:
    """EMU-RPC-008: more than 15 minutes from both clocks is InvalidTimeStamp.Expired."""
    params = rpc_params(
        rpc_emulator, "GetVideoInfo", timestamp=iso(time.time() + offset), VideoId="x"
    )
    status, body = rpc_json(rpc_emulator, params)
    assert (status, body["Code"]) == (400, "InvalidTimeStamp.Expired")


def test_malformed_timestamp(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-008."""
    params = rpc_params(rpc_emulator, "GetVideoInfo", timestamp="yesterday", VideoId="x")
    status, body = rpc_json(rpc_emulator, params)
    assert (status, body["Code"]) == (400, "InvalidTimeStamp.Format")


def test_missing_timestamp_is_accepted(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-008: the JS SDK's STS mode signs without a Timestamp; it must work."""
    params = rpc_params(rpc_emulator, "GetVideoInfo", timestamp=None, VideoId="x")
    status, body = rpc_json(rpc_emulator, params)
    assert (status, body["Code"]) == (404, "InvalidVideo.NotFound")


def test_timestamp_near_the_emulated_clock_is_accepted(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-008: moving the emulator clock keeps both real-time and emulated-time
    signatures valid (tests expire tokens by moving the clock)."""
    rpc_emulator.state.clock.advance(7200)
    for moment in (time.time(), rpc_emulator.state.clock.now()):
        params = rpc_params(rpc_emulator, "GetVideoInfo", timestamp=iso(moment), VideoId="x")
        status, body = rpc_json(rpc_emulator, params)
        assert (status, body["Code"]) == (404, "InvalidVideo.NotFound")


def test_replayed_nonce_is_refused(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-009: a replay is SignatureNonceUsed; a forged request burns no nonce."""
    params = rpc_params(rpc_emulator, "GetVideoInfo", VideoId="x")
    status, body = rpc_json(rpc_emulator, params, secret="forged")
    assert body["Code"] == "SignatureDoesNotMatch"
    query = signed_query(params, rpc_emulator.access_key_secret)
    first_status, _, _ = send(rpc_emulator, "POST", query)
    assert first_status == 404
    status, _, body_bytes = send(rpc_emulator, "POST", query)
    assert (status, json.loads(body_bytes)["Code"]) == (400, "SignatureNonceUsed")


# -- temporary credentials -------------------------------------------------------------------


def test_security_token_rules(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-007: missing, mismatched, expired tokens; UploadAuth keys may not call APIs."""
    state = rpc_emulator.state
    sts = state.credentials.issue(now=state.clock.now(), ttl_seconds=900, kind=CredentialKind.STS)
    other = state.credentials.issue(now=state.clock.now(), ttl_seconds=900, kind=CredentialKind.STS)

    def call(key_id: str, secret: str, token: str | None) -> tuple[int, str]:
        extra = {} if token is None else {"SecurityToken": token}
        params = rpc_params(
            rpc_emulator, "GetVideoInfo", access_key_id=key_id, VideoId="x", **extra
        )
        status, body = rpc_json(rpc_emulator, params, secret=secret)
        return status, body["Code"]

    assert call(sts.access_key_id, sts.access_key_secret, sts.security_token) == (
        404,
        "InvalidVideo.NotFound",
    )
    assert call(sts.access_key_id, sts.access_key_secret, None) == (400, "MissingSecurityToken")
    assert call(sts.access_key_id, sts.access_key_secret, other.security_token) == (
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    )
    assert call(rpc_emulator.access_key_id, rpc_emulator.access_key_secret, sts.security_token) == (
        400,
        "InvalidSecurityToken.MismatchWithAccessKey",
    )

    upload_auth = state.credentials.issue(
        now=state.clock.now(),
        ttl_seconds=900,
        kind=CredentialKind.UPLOAD_AUTH,
        scope=Scope(bucket="b", key="k"),
    )
    assert call(
        upload_auth.access_key_id, upload_auth.access_key_secret, upload_auth.security_token
    ) == (403, "Forbidden.RAM")

    state.credentials.expire(sts.access_key_id, now=state.clock.now())
    assert call(sts.access_key_id, sts.access_key_secret, sts.security_token) == (
        400,
        "InvalidSecurityToken.Expired",
    )


# -- ACS3 ------------------------------------------------------------------------------------


def acs3_request(
    emulator: RunningEmulator,
    *,
    query: list[tuple[str, str]],
    action: str = "GetVideoInfo",
    body: bytes = b"",
    secret: str | None = None,
    signed: list[str] | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[str, dict[str, str]]:
    headers = {
        "host": emulator.host_port,
        "x-acs-action": action,
        "x-acs-version": VOD,
        "x-acs-date": iso(time.time()),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        **(extra_headers or {}),
    }
    signed_headers = signed or sorted(headers)
    string_to_sign = acs3_string_to_sign(
        method="POST",
        path="/",
        query=query,
        headers=Headers(headers.items()),
        signed_headers=signed_headers,
        body=body,
    )
    signature = acs3_signature(string_to_sign, secret or emulator.access_key_secret)
    headers["Authorization"] = (
        f"ACS3-HMAC-SHA256 Credential={emulator.access_key_id},"
        f"SignedHeaders={';'.join(signed_headers)},Signature={signature}"
    )
    return urlencode(query, quote_via=quote), headers


def test_acs3_verification_and_tampering(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-001, EMU-RPC-005: a hand-signed ACS3 request passes; tampering fails."""
    query, headers = acs3_request(rpc_emulator, query=[("VideoId", "abc")])
    status, _, body = send(rpc_emulator, "POST", query, headers=headers)
    assert (status, json.loads(body)["Code"]) == (404, "InvalidVideo.NotFound")

    query, headers = acs3_request(rpc_emulator, query=[("VideoId", "abc")])
    status, _, body = send(rpc_emulator, "POST", query.replace("abc", "abd"), headers=headers)
    assert (status, json.loads(body)["Code"]) == (400, "SignatureDoesNotMatch")

    query, headers = acs3_request(rpc_emulator, query=[("VideoId", "abc")])
    headers["x-acs-action"] = "DeleteVideo"
    status, _, body = send(rpc_emulator, "POST", query, headers=headers)
    assert (status, json.loads(body)["Code"]) == (400, "SignatureDoesNotMatch")

    query, headers = acs3_request(rpc_emulator, query=[("VideoId", "abc")])
    status, _, body = send(rpc_emulator, "POST", query, headers=headers, body=b"tampered")
    assert (status, json.loads(body)["Code"]) == (400, "SignatureDoesNotMatch")

    query, headers = acs3_request(rpc_emulator, query=[("VideoId", "abc")], secret="wrong")
    status, _, body = send(rpc_emulator, "POST", query, headers=headers)
    assert (status, json.loads(body)["Code"]) == (400, "SignatureDoesNotMatch")


def test_acs3_must_sign_the_action_and_body_hash(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-005: SignedHeaders must cover host, action, version and the content hash."""
    query, headers = acs3_request(
        rpc_emulator,
        query=[("VideoId", "abc")],
        signed=["host", "x-acs-date", "x-acs-version"],
    )
    status, _, body = send(rpc_emulator, "POST", query, headers=headers)
    assert (status, json.loads(body)["Code"]) == (400, "IncompleteSignature")

    headers["Authorization"] = "ACS3-HMAC-SHA256 Credential=,SignedHeaders=,Signature="
    status, _, body = send(rpc_emulator, "POST", query, headers=headers)
    assert (status, json.loads(body)["Code"]) == (400, "IncompleteSignature")

    headers["Authorization"] = "ACS3-HMAC-SM3 Credential=x,SignedHeaders=host,Signature=00"
    status, _, body = send(rpc_emulator, "POST", query, headers=headers)
    assert (status, json.loads(body)["Code"]) == (400, "InvalidSignatureMethod")


def test_acs3_skew_and_replay(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-008, EMU-RPC-009 for ACS3 (x-acs-date, x-acs-signature-nonce)."""
    query, headers = acs3_request(
        rpc_emulator,
        query=[("VideoId", "abc")],
        extra_headers={"x-acs-date": iso(time.time() - 7200)},
    )
    status, _, body = send(rpc_emulator, "POST", query, headers=headers)
    assert (status, json.loads(body)["Code"]) == (400, "InvalidTimeStamp.Expired")

    query, headers = acs3_request(rpc_emulator, query=[("VideoId", "abc")])
    assert send(rpc_emulator, "POST", query, headers=headers)[0] == 404
    status, _, body = send(rpc_emulator, "POST", query, headers=headers)
    assert (status, json.loads(body)["Code"]) == (400, "SignatureNonceUsed")


def test_js_sdk_sts_mode_request_shape(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-007, EMU-RPC-008: the JS SDK 1.5.x STS mode: a GET signed with an AssumeRole
    credential, SecurityToken in the query, and no Timestamp at all."""
    state = rpc_emulator.state
    sts = state.credentials.issue(now=state.clock.now(), ttl_seconds=900, kind=CredentialKind.STS)
    assert sts.security_token is not None
    params = rpc_params(
        rpc_emulator,
        "CreateUploadVideo",
        access_key_id=sts.access_key_id,
        timestamp=None,
        SecurityToken=sts.security_token,
        Title="browser upload",
        FileName="clip.mp4",
    )
    del params["SignatureType"]  # the browser does not send it
    query = signed_query(params, sts.access_key_secret, "GET")
    status, _, body = send(rpc_emulator, "GET", query)
    assert status == 200, body
    assert json.loads(body)["VideoId"]
