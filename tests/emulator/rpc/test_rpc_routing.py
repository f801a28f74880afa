"""RPC routing, the unsigned telemetry, response formats and the app-facing contract
(``is_rpc_request``, ``classify``, ``handle``, ``error_response``).

Requirements: specs/emulator-vod-sts.md.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from support.rpc import RunningEmulator
from test_rpc_signatures import rpc_json, rpc_params, send, signed_query

from emulator import rpc
from emulator.faults import Effect, Fault, FaultEngine, Match
from emulator.http import Headers, Request
from emulator.state import EmulatorState


def make_request(
    query: str = "",
    *,
    method: str = "POST",
    path: str = "/",
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    host: str = "127.0.0.1:1",
    via_proxy: bool = False,
) -> Request:
    return Request(
        method=method,
        raw_path=path,
        raw_query=query,
        headers=Headers(headers or []),
        body=body,
        host=host,
        via_proxy=via_proxy,
    )


def test_is_rpc_request_and_classify() -> None:
    """EMU-RPC-001, EMU-RPC-012: the app's routing predicate and fault classifier."""
    acs3 = make_request(
        headers=[
            ("Authorization", "ACS3-HMAC-SHA256 Credential=x,SignedHeaders=host,Signature=0"),
            ("x-acs-action", "AssumeRole"),
            ("x-acs-version", "2015-04-01"),
        ]
    )
    assert rpc.is_rpc_request(acs3)
    info = rpc.classify(acs3)
    assert (info.service, info.operation) == ("sts", "AssumeRole")

    v1 = make_request("Action=CreateUploadVideo&Version=2017-03-21&Signature=x")
    assert rpc.is_rpc_request(v1)
    assert (rpc.classify(v1).service, rpc.classify(v1).operation) == ("vod", "CreateUploadVideo")

    form = make_request(
        headers=[("Content-Type", "application/x-www-form-urlencoded")],
        body=b"Action=ReportUploadProgress&Version=2017-03-21",
        host="vod.cn-shanghai.aliyuncs.com",
        via_proxy=True,
    )
    assert rpc.is_rpc_request(form)
    assert rpc.classify(form).operation == "ReportUploadProgress"

    # OSS traffic is never claimed: an object path, or no Action and no ACS3 header.
    assert not rpc.is_rpc_request(make_request("Action=x", path="/bucket/key"))
    assert not rpc.is_rpc_request(
        make_request("uploads", headers=[("Authorization", "OSS ak:sig")])
    )
    # aliyunsdkcore sends x-acs-action with RPC v1; that header alone does not mean ACS3.
    header_only = make_request(
        "Action=GetVideoInfo&Version=2017-03-21", headers=[("x-acs-action", "GetVideoInfo")]
    )
    assert rpc.classify(header_only).operation == "GetVideoInfo"
    unknown = rpc.classify(make_request("Action=Foo"))
    assert (unknown.service, unknown.operation) == ("vod", "Foo")


def test_error_response_format_for_injected_faults() -> None:
    """EMU-RPC-011, EMU-RPC-012: error_response(request, *, status, code, message)."""
    response = rpc.error_response(
        make_request("Action=GetVideoInfo"), status=503, code="ServiceUnavailable", message="busy"
    )
    assert response.status == 503
    body = json.loads(response.body_bytes())
    assert (body["Code"], body["Message"], body["HostId"]) == (
        "ServiceUnavailable",
        "busy",
        "127.0.0.1:1",
    )
    assert body["Recommend"].startswith("https://api.aliyun.com/troubleshoot?q=ServiceUnavailable")
    assert response.header("x-acs-request-id") == body["RequestId"]

    xml = rpc.error_response(
        make_request("Action=GetVideoInfo&Format=XML"), status=400, code="X", message="y"
    )
    assert xml.header("Content-Type") == "text/xml;charset=utf-8"
    root = ET.fromstring(xml.body_bytes())
    assert (root.tag, root.findtext("Code"), root.findtext("Message")) == ("Error", "X", "y")


def test_injected_fault_on_an_rpc_call(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-012: a fault matched by classify() is answered in the RPC error format."""
    engine = rpc_emulator.state.faults
    assert isinstance(engine, FaultEngine)
    engine.add(
        Fault(
            match=Match(service="vod", operation="GetVideoInfo"),
            effect=Effect.error(503, "ServiceUnavailable", "injected"),
            times=1,
        )
    )
    status, body = rpc_json(rpc_emulator, rpc_params(rpc_emulator, "GetVideoInfo", VideoId="x"))
    assert (status, body["Code"], body["Message"]) == (503, "ServiceUnavailable", "injected")
    assert "RequestId" in body
    status, body = rpc_json(rpc_emulator, rpc_params(rpc_emulator, "GetVideoInfo", VideoId="x"))
    assert (status, body["Code"]) == (404, "InvalidVideo.NotFound")


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"Version": "2099-01-01"}, 400, "InvalidVersion"),
        ({"Action": "NoSuchAction"}, 404, "InvalidAction.NotFound"),
        ({"Action": ""}, 400, "MissingParameter"),
    ],
)
def test_unknown_versions_and_actions(
    rpc_emulator: RunningEmulator, overrides: dict[str, str], status: int, code: str
) -> None:
    """EMU-RPC-002."""
    params = {**rpc_params(rpc_emulator, "GetVideoInfo", VideoId="x"), **overrides}
    got_status, body = rpc_json(rpc_emulator, params)
    assert (got_status, body["Code"]) == (status, code)


def test_product_from_host_when_version_is_missing() -> None:
    """EMU-RPC-002: no Version: the Host prefix names the product."""
    state = EmulatorState()
    unsigned = "Action=ReportUploadProgress"
    assert (
        rpc.handle(state, make_request(unsigned, host="vod.cn-shanghai.aliyuncs.com")).status == 200
    )
    # The telemetry actions are VOD's alone: no Version needed at any host.
    assert rpc.handle(state, make_request(unsigned, host="127.0.0.1:1")).status == 200
    signed_no_version = "Action=GetVideoInfo&Signature=x"
    missing = rpc.handle(state, make_request(signed_no_version, host="127.0.0.1:1"))
    body = json.loads(missing.body_bytes())
    assert (missing.status, body["Code"]) == (400, "MissingParameter")
    assert '"Version"' in body["Message"]


def test_unsigned_telemetry_and_nothing_else(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-010: voduploadsdk's form post and the JS SDK's GetUploadProgress answer 200."""
    form = urlencode(
        {
            "Action": "ReportUploadProgress",
            "Format": "JSON",
            "Version": "2017-03-21",
            "Timestamp": "2026-01-01T00:00:00Z",
            "SignatureNonce": uuid.uuid4().hex,
            "VideoId": "v",
            "Source": "PythonSDK",
        }
    )
    status, _, body = send(
        rpc_emulator,
        "POST",
        "",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=form.encode(),
    )
    assert status == 200
    assert set(json.loads(body)) == {"RequestId"}

    query = urlencode({"Action": "GetUploadProgress", "Version": "2017-03-21", "UserId": "1"})
    status, _, body = send(rpc_emulator, "GET", query)
    assert status == 200
    assert json.loads(body)["UploadProgress"] == {"UploadProgressList": []}

    query = urlencode(
        {"Action": "CreateUploadVideo", "Version": "2017-03-21", "Title": "t", "FileName": "a.mp4"}
    )
    status, _, body = send(rpc_emulator, "POST", query)
    error = json.loads(body)
    assert (status, error["Code"]) == (400, "MissingParameter")
    assert '"Signature"' in error["Message"]
    assert rpc_emulator.state.vod.dump()["videos"] == []


def test_format_xml_success_and_error(rpc_emulator: RunningEmulator) -> None:
    """EMU-RPC-011: Format=XML renders POP XML (root <Action>Response, or <Error>)."""
    params = rpc_params(rpc_emulator, "CreateUploadVideo", Title="x", FileName="a.mp4")
    params["Format"] = "XML"
    status, headers, body = send(
        rpc_emulator, "POST", signed_query(params, rpc_emulator.access_key_secret)
    )
    assert status == 200
    assert headers["Content-Type"] == "text/xml;charset=utf-8"
    root = ET.fromstring(body)
    assert root.tag == "CreateUploadVideoResponse"
    assert root.findtext("VideoId") and root.findtext("UploadAuth")

    params = rpc_params(rpc_emulator, "GetVideoInfo", VideoId="nope")
    params["Format"] = "XML"
    status, _, body = send(
        rpc_emulator, "POST", signed_query(params, rpc_emulator.access_key_secret)
    )
    root = ET.fromstring(body)
    assert (status, root.tag, root.findtext("Code")) == (404, "Error", "InvalidVideo.NotFound")


def test_unexpected_failure_is_an_rpc_internal_error() -> None:
    """EMU-RPC-012: a bug answers InternalError in the RPC format, never a traceback."""

    class BrokenVod:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("boom")

    state = EmulatorState()
    state.vod = BrokenVod()  # type: ignore[assignment]
    params = {
        "Action": "GetVideoInfo",
        "Version": "2017-03-21",
        "AccessKeyId": state.config.access_key_id,
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "VideoId": "x",
    }
    query = signed_query(params, state.config.access_key_secret)
    response = rpc.handle(state, make_request(query))
    body = json.loads(response.body_bytes())
    assert (response.status, body["Code"]) == (500, "InternalError")
    assert "boom" not in response.body_bytes().decode()


def test_proxy_requests_get_the_regional_oss_endpoint() -> None:
    """EMU-VOD-003: via the emulator as HTTP proxy, the UploadAddress names the real OSS
    host (which the proxy routes back), and URLs are virtual-hosted."""
    state = EmulatorState()
    params = {
        "Action": "CreateUploadImage",
        "Version": "2017-03-21",
        "AccessKeyId": state.config.access_key_id,
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "ImageType": "default",
    }
    query = signed_query(params, state.config.access_key_secret)
    response = rpc.handle(
        state, make_request(query, host="vod.cn-shanghai.aliyuncs.com", via_proxy=True)
    )
    body = json.loads(response.body_bytes())
    address = json.loads(base64.b64decode(body["UploadAddress"]))
    assert address["Endpoint"] == "http://oss-cn-shanghai.aliyuncs.com"
    bucket = address["Bucket"]
    assert body["ImageURL"] == (
        f"http://{bucket}.oss-cn-shanghai.aliyuncs.com/{quote(address['FileName'])}"
    )
