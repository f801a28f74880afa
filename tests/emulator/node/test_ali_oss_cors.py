"""CORS as ali-oss in a browser (the VOD JS upload SDK) needs it from the emulator.

ali-oss reads the ``ETag`` of every UploadPart response and throws "Please set the etag of
expose-headers in OSS" when a browser hides it; the request id
and the CRC-64 are read the same way. A browser first sends an unsigned preflight
(``OPTIONS`` with ``Origin`` and ``Access-Control-Request-*``), then the signed request
with ``Origin``; both answers must let the page through and expose those headers.

Plain ``http.client`` on 127.0.0.1 plays the browser here (Node has no CORS).
(Module name kept unique: the test tree has no ``__init__.py``.)
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

import pytest
from support.node import NodeEmulator

pytestmark = [pytest.mark.node]

ORIGIN = "http://localhost:8080"
METHODS = ("PUT", "POST", "GET", "DELETE", "HEAD")
EXPOSED = ("etag", "x-oss-request-id", "x-oss-hash-crc64ecma")
# What browser ali-oss 6.x (plus the VOD SDK's x-oss-notification) asks to send.
REQUEST_HEADERS = (
    "authorization,content-md5,content-type,x-oss-date,x-oss-security-token,"
    "x-oss-user-agent,x-oss-notification"
)


def _tokens(value: str | None) -> set[str]:
    return {item.strip().lower() for item in (value or "").split(",") if item.strip()}


def _request(
    emulator: NodeEmulator,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None = None,
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _assert_allows_origin(response: http.client.HTTPResponse) -> None:
    allow_origin = response.getheader("Access-Control-Allow-Origin")
    assert allow_origin in (ORIGIN, "*"), response.getheaders()


def _assert_exposes(response: http.client.HTTPResponse) -> None:
    exposed = _tokens(response.getheader("Access-Control-Expose-Headers"))
    missing = [h for h in EXPOSED if h not in exposed and "*" not in exposed]
    assert not missing, f"not exposed: {missing}; got {response.getheaders()}"


@pytest.mark.parametrize("style", ["path", "virtual-hosted"])
@pytest.mark.parametrize("method", METHODS)
def test_preflight_allows_the_browser_sdk(
    node_emulator: NodeEmulator, bucket_name: str, style: str, method: str
) -> None:
    """An unsigned OPTIONS preflight for an object is answered 200 with the origin, the
    method and the requested headers allowed, and ETag/x-oss-request-id/CRC exposed.

    EMU-OSS-032 (Access-Control-Allow-Origin exactly once: browsers reject two)."""
    if style == "path":
        path, host = f"/{bucket_name}/video/part.mp4?partNumber=1&uploadId=X", None
    else:
        path, host = "/video/part.mp4?partNumber=1&uploadId=X", f"{bucket_name}.localhost"
    headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": REQUEST_HEADERS,
    }
    if host is not None:
        headers["Host"] = f"{host}:{node_emulator.port}"
    response = _request(node_emulator, "OPTIONS", path, headers)
    assert response.status == 200, response.getheaders()
    _assert_allows_origin(response)
    methods = _tokens(response.getheader("Access-Control-Allow-Methods"))
    assert method.lower() in methods or "*" in methods, response.getheaders()
    allowed = _tokens(response.getheader("Access-Control-Allow-Headers"))
    if "*" not in allowed:
        assert _tokens(REQUEST_HEADERS) <= allowed, response.getheaders()
    _assert_exposes(response)


def test_preflight_lists_every_method_the_sdk_uses(
    node_emulator: NodeEmulator, bucket_name: str
) -> None:
    """EMU-OSS-032: one preflight answer allows PUT, POST, GET, DELETE and HEAD."""
    response = _request(
        node_emulator,
        "OPTIONS",
        f"/{bucket_name}/k",
        {"Origin": ORIGIN, "Access-Control-Request-Method": "PUT"},
    )
    assert response.status == 200
    methods = _tokens(response.getheader("Access-Control-Allow-Methods"))
    assert "*" in methods or {m.lower() for m in METHODS} <= methods, response.getheaders()


def test_actual_responses_carry_cors_headers(
    node_emulator: NodeEmulator, bucket_name: str, oss2_root: Callable[[str], Any]
) -> None:
    """The signed request that follows the preflight: its answer (success or OSS error)
    also names the origin and exposes ETag, the request id and the CRC-64.

    EMU-OSS-032, EMU-OSS-028 (unsigned is AccessDenied), EMU-OSS-022 (presigned GET)."""
    oss2_root(bucket_name).put_object("cors/readable.txt", b"cors body")
    # An unsigned GET of a private object is an OSS error; a browser must still be able to
    # read it (ali-oss parses the error XML and the request id).
    error = _request(node_emulator, "GET", f"/{bucket_name}/cors/readable.txt", {"Origin": ORIGIN})
    assert error.status == 403
    _assert_allows_origin(error)
    _assert_exposes(error)

    url = oss2_root(bucket_name).sign_url("GET", "cors/readable.txt", 60)
    path = url.split(str(node_emulator.port), 1)[1]
    ok = _request(node_emulator, "GET", path, {"Origin": ORIGIN})
    assert ok.status == 200
    assert ok.getheader("ETag")
    _assert_allows_origin(ok)
    _assert_exposes(ok)
