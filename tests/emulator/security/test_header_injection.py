"""Finding 4 (issue 9): header injection through the ``response-*`` overrides.

CR/LF in ``response-content-type``, ``-disposition`` and ``-cache-control`` reached the
response headers, and a value outside Latin-1 dropped the connection. Both are now 400
``InvalidArgument`` in OSS's XML format, from the official SDKs over a real socket.
"""

from __future__ import annotations

from collections.abc import Iterator

import alibabacloud_oss_v2 as oss
import oss2
import pytest
import requests
from support.rpc import RunningEmulator
from support.security import http_request, raw_exchange, status_of

PARAMS = ["response-content-type", "response-content-disposition", "response-cache-control"]
BAD_VALUES = [
    "text/plain\r\nSet-Cookie: injected=1",
    "text/plain\nX-Injected: 1",
    "text/plain\rX-Injected: 1",
    "a\x00b",
    "text/平",
    "attachment; filename=\u2028x",
]


@pytest.fixture
def bucket(served: RunningEmulator) -> Iterator[oss2.Bucket]:
    auth = oss2.Auth(served.access_key_id, served.access_key_secret)
    bucket = oss2.Bucket(auth, served.url, "inject", session=served.oss_session)
    bucket.create_bucket()
    bucket.put_object("k", b"payload")
    yield bucket


@pytest.mark.parametrize("param", PARAMS)
@pytest.mark.parametrize("value", BAD_VALUES)
def test_oss2_override_with_control_or_non_latin1_characters_is_refused(
    bucket: oss2.Bucket, param: str, value: str
) -> None:
    """EMU-SEC-004: oss2 GetObject and HeadObject with such a value: 400 InvalidArgument,
    and no injected header."""
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.get_object("k", params={param: value})
    assert (raised.value.status, raised.value.code) == (400, "InvalidArgument")
    assert "injected" not in str(raised.value.headers).lower()
    with pytest.raises(oss2.exceptions.ServerError) as raised:
        bucket.head_object("k", params={param: value})
    assert raised.value.status == 400


@pytest.mark.parametrize("value", BAD_VALUES[:2])
def test_presigned_url_with_injection_is_refused(bucket: oss2.Bucket, value: str) -> None:
    """EMU-SEC-004: the same through a presigned URL (V1) fetched by a plain client."""
    url = bucket.sign_url("GET", "k", 600, params={"response-content-type": value})
    with requests.Session() as session:
        session.trust_env = False
        answer = session.get(url, timeout=10)
    assert answer.status_code == 400
    assert "<Code>InvalidArgument</Code>" in answer.text
    assert "injected" not in {name.lower() for name in answer.headers}
    assert "x-injected" not in {name.lower() for name in answer.headers}


def test_raw_request_never_gets_an_injected_header(served: RunningEmulator) -> None:
    """EMU-SEC-004: unsigned raw bytes on a public object (overrides need a signature:
    403): a status line comes, and no line of the head starts with the injected name."""
    bucket = oss2.Bucket(
        oss2.Auth(served.access_key_id, served.access_key_secret),
        served.url,
        "public-inject",
        session=served.oss_session,
    )
    bucket.create_bucket(oss2.BUCKET_ACL_PUBLIC_READ)
    bucket.put_object("k", b"payload")
    payload = (
        b"GET /public-inject/k?response-content-type=a%0D%0AX-Injected:%201 HTTP/1.1\r\n"
        b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    reply = raw_exchange(served.url, payload)
    assert status_of(reply) == 403
    head = reply.partition(b"\r\n\r\n")[0].lower()
    assert b"\r\nx-injected" not in head


def test_legitimate_overrides_still_work(bucket: oss2.Bucket, served: RunningEmulator) -> None:
    """EMU-SEC-004: Latin-1 values and ordinary ones are served by oss2 and by
    alibabacloud-oss-v2 as before."""
    result = bucket.get_object(
        "k",
        params={
            "response-content-type": "text/plain; charset=utf-8",
            "response-content-disposition": 'attachment; filename="caf\u00e9.txt"',
        },
    )
    assert result.read() == b"payload"
    assert result.headers["Content-Type"] == "text/plain; charset=utf-8"
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        served.access_key_id, served.access_key_secret
    )
    cfg.region = "cn-shanghai"
    cfg.endpoint = served.url
    cfg.use_path_style = True
    client = oss.Client(cfg)
    answer = client.get_object(
        oss.GetObjectRequest(bucket="inject", key="k", response_cache_control="no-cache")
    )
    assert answer.body.read() == b"payload"
    assert answer.headers["Cache-Control"] == "no-cache"
    status, _, _ = http_request(served.url, "GET", "/_emulator/health")
    assert status == 200
