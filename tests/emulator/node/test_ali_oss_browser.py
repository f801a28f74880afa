"""ali-oss's browser build, the code the VOD JS SDK bundles, in a simulated browser page.

``tests/node/browser.js`` loads ``ali-oss/dist/aliyun-oss-sdk.js`` with
``tests/node/lib/browser-env.js``: an XMLHttpRequest that enforces CORS as a browser does
(preflights, one matching ``Access-Control-Allow-Origin``, only exposed response headers
readable, forbidden request headers such as ``Host`` dropped) and resolves
``*.localhost`` to 127.0.0.1 as browsers do. The page is ``http://localhost:8080``.

What it shows:

- With ``endpoint: http://localhost:PORT`` (the UploadAddress the emulator hands an app that
  calls VOD at ``localhost``), ali-oss addresses ``<bucket>.localhost:PORT``; every
  request passes its preflight and ali-oss can read the ETag of each part, so the
  checkpointed multipart upload completes.
- With ``endpoint: http://127.0.0.1:PORT`` Node's ali-oss sends the bucket in a
  ``Host: <bucket>.oss-<region>.aliyuncs.com`` header, but a browser refuses to set
  ``Host``, so the request names no bucket (``/<key>`` on ``127.0.0.1``). With a VOD
  UploadAuth (scoped to one object) the emulator recovers the bucket from the credential,
  so the VOD flow works from a browser whichever address the app used. With any other
  key the first path segment is taken as the bucket and the answer is ``NoSuchBucket``
  (never ``SignatureDoesNotMatch``, which the VOD SDK would take for token expiry and
  loop on RefreshUploadVideo).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aliyunsdkcore.client import AcsClient
from aliyunsdkvod.request.v20170321 import CreateUploadVideoRequest
from support.node import Credentials, NodeEmulator, NodeRunner

pytestmark = [pytest.mark.node]

SIZE = 5 * 102400 + 4321  # 6 parts


def _expected_bytes(key: str) -> bytes:
    block = hashlib.sha256(key.encode()).digest()
    return (block * (SIZE // len(block) + 1))[:SIZE]


@pytest.fixture
def upload_grant(node_emulator: NodeEmulator) -> Iterator[dict[str, Any]]:
    """CreateUploadVideo as a web app on ``localhost`` calls it: decoded address and auth."""
    client = AcsClient(
        node_emulator.access_key_id,
        node_emulator.access_key_secret,
        "cn-shanghai",
        auto_retry=False,
    )
    try:
        request = CreateUploadVideoRequest.CreateUploadVideoRequest()
        request.set_Title("browser upload")
        request.set_FileName("clip.mp4")
        request.set_endpoint(f"localhost:{node_emulator.port}")
        answer = json.loads(client.do_action_with_exception(request))
        yield {
            "video_id": answer["VideoId"],
            "address": json.loads(base64.b64decode(answer["UploadAddress"])),
            "auth": json.loads(base64.b64decode(answer["UploadAuth"])),
        }
    finally:
        client.session.close()


def test_browser_build_uploads_with_upload_auth_through_cors(
    run_node: NodeRunner, node_emulator: NodeEmulator, upload_grant: dict[str, Any]
) -> None:
    """EMU-OSS-001 (``<bucket>.localhost``), EMU-OSS-032 (CORS), EMU-VOD-003, EMU-VOD-004,
    EMU-OSS-011..013 through the browser code path (bodies as ArrayBuffers, no streams)."""
    address, auth = upload_grant["address"], upload_grant["auth"]
    assert address["Endpoint"] == f"http://localhost:{node_emulator.port}"
    key = address["FileName"]
    creds = Credentials(auth["AccessKeyId"], auth["AccessKeySecret"], auth["SecurityToken"])
    # The UploadAuth is for this one key, so the small-object steps use it too: the script
    # puts "<key>.txt", which must be refused, then the video itself must go through.
    # The VOD SDK sends x-oss-notification (base64 of its paramData) on the multipart
    # requests: a signed x-oss-* header that the preflight must allow.
    notification = base64.b64encode(b'{"Vod":{"UserData":"{\\"k\\":1}"}}').decode()
    result = run_node(
        "browser.js", "--key", key, "--size", str(SIZE),
        "--endpoint", address["Endpoint"], "--notification", notification,
        bucket=address["Bucket"], credentials=creds,
    )  # fmt: skip
    assert result["ok"] is True, result
    assert result["put"]["ok"] is False
    assert result["put"]["error"]["name"] == "AccessDeniedError", result["put"]

    multipart = result["multipart"]
    assert multipart["ok"] is True, multipart
    assert (
        multipart["downloaded"] == multipart["md5"] == hashlib.md5(_expected_bytes(key)).hexdigest()
    )
    # Read through the exposed headers only: the multipart ETag and the CRC-64.
    assert multipart["etag"].endswith('-6"')
    assert multipart["crc64"]
    done = [e["doneParts"] for e in result["progress"]]
    assert done == [0, 1, 2, 3, 4, 5, 6, None]

    network = result["network"]
    assert not [e for e in network if e["event"] == "network-error"], network
    requests = [e for e in network if e["event"] == "request"]
    preflights = [e for e in network if e["event"] == "preflight"]
    assert requests and len(preflights) == len(requests)
    assert {e["host"] for e in requests} == {f"{address['Bucket']}.localhost:{node_emulator.port}"}
    assert all(e["allowOrigin"] == ["http://localhost:8080"] for e in preflights)
    assert all(e["missingHeaders"] == [] for e in preflights)


def test_browser_build_with_root_key_round_trip(
    run_node: NodeRunner, node_emulator: NodeEmulator, bucket_name: str
) -> None:
    """Put, head (the ``x-oss-*`` headers readable because exposed), get and a multipart
    upload from the browser build with the root key on ``localhost``, carrying an empty
    ``x-oss-notification`` (signed as ``x-oss-notification:``). EMU-OSS-020, EMU-OSS-032."""
    result = run_node(
        "browser.js", "--key", "browser/root.mp4", "--size", str(SIZE),
        "--endpoint", f"http://localhost:{node_emulator.port}",
        "--notification", "",  # the VOD SDK's value without paramData: signed, empty
        bucket=bucket_name,
    )  # fmt: skip
    assert result["ok"] is True, result
    for step in ("put", "head", "get", "multipart"):
        assert result[step]["ok"] is True, (step, result[step])
    assert result["head"]["etag"] == result["put"]["etag"]
    assert result["head"]["crc64"] == result["put"]["crc64"]
    assert result["head"]["requestId"]
    assert result["get"]["matches"] is True
    assert result["multipart"]["downloaded"] == result["multipart"]["md5"]


def test_browser_build_with_ip_endpoint_names_no_bucket(
    run_node: NodeRunner, node_emulator: NodeEmulator, bucket_name: str
) -> None:
    """An IP endpoint in a browser sends ``/<key>`` to ``127.0.0.1`` with no bucket
    anywhere. With the root key nothing says which bucket was meant: the first segment is
    taken as the bucket and the answer is NoSuchBucket, a clear failure rather than the
    SignatureDoesNotMatch that the VOD SDK would treat as token expiry. EMU-OSS-001."""
    result = run_node(
        "browser.js", "--key", "browser/ip.mp4", "--size", str(SIZE),
        "--endpoint", node_emulator.url,
        bucket=bucket_name,
    )  # fmt: skip
    assert result["ok"] is True, result
    assert result["put"]["ok"] is False
    assert result["put"]["error"]["name"] == "NoSuchBucketError", result["put"]
    assert result["multipart"]["error"]["name"] == "NoSuchBucketError"
    requests = [e for e in result["network"] if e["event"] == "request"]
    assert requests[0]["host"] == f"127.0.0.1:{node_emulator.port}"
    assert requests[0]["path"] == "/browser/ip.mp4.txt"


def test_browser_build_with_ip_endpoint_and_upload_auth_finds_the_bucket(
    run_node: NodeRunner, node_emulator: NodeEmulator
) -> None:
    """The VOD flow from a browser when the app called VOD at ``127.0.0.1``: the
    UploadAddress Endpoint is the IP, the browser's requests name no bucket, and the
    emulator takes it from the UploadAuth's one-object scope. EMU-OSS-001, EMU-VOD-003."""
    client = AcsClient(
        node_emulator.access_key_id,
        node_emulator.access_key_secret,
        "cn-shanghai",
        auto_retry=False,
    )
    try:
        request = CreateUploadVideoRequest.CreateUploadVideoRequest()
        request.set_Title("browser upload by ip")
        request.set_FileName("clip.mp4")
        request.set_endpoint(f"127.0.0.1:{node_emulator.port}")
        answer = json.loads(client.do_action_with_exception(request))
    finally:
        client.session.close()
    address = json.loads(base64.b64decode(answer["UploadAddress"]))
    auth = json.loads(base64.b64decode(answer["UploadAuth"]))
    assert address["Endpoint"] == node_emulator.url
    key = address["FileName"]
    creds = Credentials(auth["AccessKeyId"], auth["AccessKeySecret"], auth["SecurityToken"])
    result = run_node(
        "browser.js", "--key", key, "--size", str(SIZE),
        "--endpoint", address["Endpoint"],
        bucket=address["Bucket"], credentials=creds,
    )  # fmt: skip
    assert result["ok"] is True, result
    # "<key>.txt" is outside the UploadAuth's scope: its first segment is no bucket.
    assert result["put"]["ok"] is False
    multipart = result["multipart"]
    assert multipart["ok"] is True, multipart
    assert (
        multipart["downloaded"] == multipart["md5"] == hashlib.md5(_expected_bytes(key)).hexdigest()
    )
    requests = [e for e in result["network"] if e["event"] == "request"]
    assert {e["host"] for e in requests} == {f"127.0.0.1:{node_emulator.port}"}
    assert all(not e["path"].startswith(f"/{address['Bucket']}") for e in requests)


def test_browser_build_corrects_a_skewed_clock_from_server_time(
    run_node: NodeRunner, node_emulator: NodeEmulator, bucket_name: str
) -> None:
    """EMU-OSS-027 as the browser build uses it: on 403 RequestTimeTooSkewed ali-oss reads
    ``<ServerTime>`` from the error, sets ``amendTimeSkewed`` and retries (with no limit: an
    unparseable ServerTime would loop). With the page clock 30 minutes ahead the first
    request fails, the retry and everything after it succeed."""
    result = run_node(
        "browser.js", "--key", "browser/skewed.mp4", "--size", str(SIZE),
        "--endpoint", f"http://localhost:{node_emulator.port}",
        "--clock-skew-seconds", "1800",
        bucket=bucket_name,
    )  # fmt: skip
    assert result["ok"] is True, result
    for step in ("put", "head", "get", "multipart"):
        assert result[step]["ok"] is True, (step, result[step])
    assert result["multipart"]["downloaded"] == result["multipart"]["md5"]
    statuses = [e["status"] for e in result["network"] if e["event"] == "request"]
    assert statuses[0] == 403
    assert statuses.count(403) == 1, statuses
