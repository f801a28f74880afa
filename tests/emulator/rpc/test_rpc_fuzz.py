"""Property: whatever arrives at the RPC layer, the answer is a well-formed POP response.

Two strategies: arbitrary requests (garbage signatures, headers and bodies), and requests
*correctly signed* with the root key around arbitrary business parameters, so that the
VOD and STS handlers themselves are fuzzed past authentication. Every answer must be JSON
(or XML for ``Format=XML``) with a RequestId, an error must carry Code and Message with a
4xx status, and nothing may be a 500. Requirements: specs/emulator-vod-sts.md
(EMU-RPC-011, EMU-RPC-012).
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.rpc import running_emulator

from emulator import rpc
from emulator.http import Headers, Request, Response
from emulator.rpc.signing import rpc_signature, rpc_string_to_sign
from emulator.state import EmulatorState

VOD_ACTIONS = [
    "CreateUploadVideo",
    "RefreshUploadVideo",
    "CreateUploadImage",
    "CreateUploadAttachedMedia",
    "GetVideoInfo",
    "GetVideoInfos",
    "GetImageInfo",
    "DeleteVideo",
    "GetMezzanineInfo",
    "ReportUploadProgress",
    "GetUploadProgress",
    "Nope",
]
PARAMETER_NAMES = [
    "Title",
    "FileName",
    "FileSize",
    "Description",
    "Tags",
    "CateId",
    "CateIds",
    "UserData",
    "StorageLocation",
    "VideoId",
    "VideoIds",
    "ImageId",
    "ImageType",
    "ImageExt",
    "BusinessType",
    "MediaExt",
    "RoleArn",
    "RoleSessionName",
    "DurationSeconds",
    "Policy",
    "Format",
    "SecurityToken",
    "Timestamp",
    "SignatureMethod",
]
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40
) | st.sampled_from(
    ["", "a.mp4", "x.m3u8", "cover", "png", "subtitle", "5", "-1", "{}", "99999999999999999999"]
)
params_strategy = st.dictionaries(
    st.sampled_from(PARAMETER_NAMES) | st.text(min_size=1, max_size=8), texts, max_size=6
)


def check(response: Response, *, xml: bool) -> None:
    assert response.status in (200, 400, 403, 404), response.status
    body = response.body_bytes()
    if xml:
        root = ET.fromstring(body)
        assert root.findtext("RequestId")
        if response.status != 200:
            assert root.tag == "Error" and root.findtext("Code")
        return
    document = json.loads(body)
    assert isinstance(document, dict) and document.get("RequestId")
    if response.status != 200:
        assert document["Code"] and isinstance(document["Message"], str)


def make(method: str, query: str, headers: list[tuple[str, str]], body: bytes) -> Request:
    return Request(
        method=method,
        raw_path="/",
        raw_query=query,
        headers=Headers(headers),
        body=body,
        host="vod.cn-shanghai.aliyuncs.com",
    )


_FUZZ = settings(suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    action=st.sampled_from([*VOD_ACTIONS, "AssumeRole"]),
    version=st.sampled_from(["2017-03-21", "2015-04-01", "", "1999-01-01"]),
    params=params_strategy,
    headers=st.lists(
        st.tuples(
            st.sampled_from(
                ["Authorization", "x-acs-action", "x-acs-date", "Content-Type", "X-Other"]
            ),
            st.text(max_size=60).map(lambda s: s.replace("\r", "").replace("\n", "")),
        ),
        max_size=4,
    ),
    body=st.binary(max_size=64),
)
def test_arbitrary_requests_get_well_formed_answers(
    method: str,
    action: str,
    version: str,
    params: dict[str, str],
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    """EMU-RPC-011, EMU-RPC-012."""
    state = EmulatorState()
    query_params = {"Action": action, "Version": version, "Signature": "x", **params}
    query = urlencode(query_params, quote_via=quote)
    response = rpc.handle(state, make(method, query, headers, body))
    check(response, xml=rpc.errors.wants_xml(make(method, query, headers, body)))


@_FUZZ
@given(
    action=st.sampled_from([*VOD_ACTIONS, "AssumeRole"]),
    params=params_strategy,
    method=st.sampled_from(["GET", "POST"]),
)
def test_signed_requests_with_arbitrary_parameters(
    action: str, params: dict[str, str], method: str
) -> None:
    """EMU-RPC-012: the service handlers, fuzzed past authentication, never fail with 500."""
    state = EmulatorState()
    params = {k: v for k, v in params.items() if k not in ("SecurityToken", "Timestamp")}
    signed = {
        **params,
        "Action": action,
        "Version": "2015-04-01" if action == "AssumeRole" else "2017-03-21",
        "AccessKeyId": state.config.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    signed["Signature"] = rpc_signature(
        rpc_string_to_sign(method, signed), state.config.access_key_secret
    )
    request = make(method, urlencode(signed, quote_via=quote), [], b"")
    response = rpc.handle(state, request)
    check(response, xml=signed.get("Format", "").upper() == "XML")
    if response.status == 200 and action.startswith("CreateUpload"):
        assert (
            state.vod.dump()["videos"]
            or state.vod.dump()["images"]
            or (state.vod.dump()["attached_media"])
        )


@_FUZZ
@given(
    action=st.sampled_from(["CreateUploadVideo", "GetVideoInfo", "AssumeRole"]),
    params=params_strategy,
    with_nonce=st.booleans(),
    with_timestamp=st.booleans(),
    method=st.sampled_from(["GET", "POST"]),
)
def test_signed_calls_over_a_socket_are_answered_once(
    action: str, params: dict[str, str], with_nonce: bool, with_timestamp: bool, method: str
) -> None:
    """EMU-RPC-012 EMU-SEC-003 EMU-SEC-014: over a real socket, a correctly signed call
    with any parameters gets a status line and never a 500; sent again verbatim it is
    never served twice (a replay is SignatureNonceUsed, a call without a nonce is refused
    both times); the server is alive afterwards."""
    params = {k: v for k, v in params.items() if k not in ("SecurityToken", "Timestamp")}
    with running_emulator() as emulator:
        signed = {
            **params,
            "Action": action,
            "Version": "2015-04-01" if action == "AssumeRole" else "2017-03-21",
            "AccessKeyId": emulator.access_key_id,
            "SignatureMethod": "HMAC-SHA1",
        }
        if with_nonce:
            signed["SignatureNonce"] = uuid.uuid4().hex
        if with_timestamp:
            signed["Timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        signed["Signature"] = rpc_signature(
            rpc_string_to_sign(method, signed), emulator.access_key_secret
        )
        target = "/?" + urlencode(signed, quote_via=quote)
        host, port = emulator.host_port.split(":")
        statuses = []
        for _ in range(2):
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            try:
                connection.request(method, target)
                answer = connection.getresponse()
                answer.read()
                statuses.append(answer.status)
            finally:
                connection.close()
        assert all(status != 500 and status < 500 for status in statuses), statuses
        assert statuses[1] != 200, statuses
        if not with_nonce:
            assert statuses == [400, 400], statuses
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            connection.request("GET", "/?Action=GetUploadProgress&Version=2017-03-21")
            assert connection.getresponse().status == 200
        finally:
            connection.close()
