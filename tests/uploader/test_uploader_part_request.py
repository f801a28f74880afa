"""UPL-TRN-006: UploadPart leaves oss2's ``Bucket.upload_part`` layers but not its wire
format or its errors."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import oss2
import pytest
import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from support.uploader import MIN_PART, file_crc, stored_object, write_file

from vodref.core import Credentials, FileState, ObjectTarget
from vodref.errors import TransportError
from vodref.transport import OssHttpTransport

ENDPOINT = "http://127.0.0.1:9"  # never reached: the adapter answers
CREDENTIALS = Credentials(access_key_id="STS.id", access_key_secret="secret", security_token="tok")
TARGET = ObjectTarget(endpoint=ENDPOINT, bucket="bucket", key="dir/a b+c.mp4")


class _Recorder(BaseAdapter):
    """Records each request and answers with a scripted status, headers and body."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []
        self._status, self._headers, self._body = status, headers, body

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code = self._status
        response.headers = CaseInsensitiveDict(
            {"Content-Length": str(len(self._body)), **self._headers}
        )
        response.raw = io.BytesIO(self._body)
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def _wire(request: requests.PreparedRequest) -> tuple[Any, ...]:
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "date"}
    return request.method, request.url, headers, request.body


def test_upload_part_sends_what_oss2_sends() -> None:
    """UPL-TRN-006: same method, URL, query, headers and body as oss2's
    ``Bucket.upload_part`` signed by ``oss2.StsAuth`` (same Date: same signature too)."""
    reply = {"ETag": '"0123ABCD"', "x-oss-hash-crc64ecma": "42", "x-oss-request-id": "r1"}
    ours, theirs = _Recorder(200, reply), _Recorder(200, reply)
    transport = OssHttpTransport(session=oss2.Session(adapter=ours))
    uploaded = transport.upload_part(
        TARGET, CREDENTIALS, upload_id="U/1", number=7, data=b"part bytes"
    )
    assert (uploaded.etag, uploaded.crc64) == ("0123ABCD", 42)
    bucket = oss2.Bucket(
        oss2.StsAuth("STS.id", "secret", "tok"),
        ENDPOINT,
        "bucket",
        session=oss2.Session(adapter=theirs),
        enable_crc=False,
    )
    bucket.upload_part(TARGET.key, "U/1", 7, b"part bytes")
    [mine], [reference] = ours.sent, theirs.sent
    assert _wire(mine)[:2] == _wire(reference)[:2]
    assert _wire(mine)[3] == _wire(reference)[3]
    mine_headers, reference_headers = _wire(mine)[2], _wire(reference)[2]
    assert mine_headers.keys() == reference_headers.keys()
    for name in mine_headers.keys() - {"authorization"}:
        assert mine_headers[name] == reference_headers[name], name
    if mine.headers["Date"] == reference.headers["Date"]:  # signed within the same second
        assert mine_headers["authorization"] == reference_headers["authorization"]
    transport.close()


@pytest.mark.parametrize(
    ("status", "code"),
    [(404, "NoSuchUpload"), (403, "SignatureDoesNotMatch"), (500, "InternalError")],
)
def test_upload_part_errors_map_as_oss2s(status: int, code: str) -> None:
    """UPL-TRN-006: a non-2xx reply becomes the typed error oss2's would have become."""
    body = (
        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
        f"<Message>m</Message><RequestId>r9</RequestId></Error>"
    ).encode()
    adapter = _Recorder(status, {"x-oss-request-id": "r9"}, body)
    transport = OssHttpTransport(session=oss2.Session(adapter=adapter))
    with pytest.raises(TransportError) as failed:
        transport.upload_part(TARGET, CREDENTIALS, upload_id="U", number=1, data=b"x")
    error = failed.value.error
    assert (error.code, error.http_status, error.request_id) == (code, status, "r9")
    transport.close()


def test_upload_part_network_failure_is_typed_and_names_no_signature() -> None:
    """UPL-TRN-006: a requests failure is a NETWORK error whose text holds no secret."""

    class _Refusing(BaseAdapter):
        def send(
            self,
            request: requests.PreparedRequest,
            stream: bool = False,
            timeout: float | tuple[float, float] | tuple[float, None] | None = None,
            verify: bool | str = True,
            cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
            proxies: Mapping[str, str] | None = None,
        ) -> requests.Response:
            raise requests.ConnectionError(f"refused: {request.url}")

        def close(self) -> None:
            pass

    transport = OssHttpTransport(session=oss2.Session(adapter=_Refusing()))
    with pytest.raises(TransportError) as failed:
        transport.upload_part(TARGET, CREDENTIALS, upload_id="U", number=1, data=b"x")
    assert failed.value.error.kind.name == "NETWORK"
    assert "Signature" not in str(failed.value) and "secret" not in str(failed.value)
    transport.close()


class _SchemeRecorder(HTTPAdapter):
    """A real adapter that notes each UploadPart's Authorization scheme."""

    def __init__(self) -> None:
        super().__init__()
        self.part_schemes: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        if "partNumber=" in (request.url or ""):
            self.part_schemes.append(str(request.headers.get("authorization", "")).split()[0])
        return super().send(request, *args, **kwargs)


def test_v4_signing_uploads_parts_over_the_emulator(
    emu: Any, make_vod: Any, root_transport: Any, tmp_path: Path
) -> None:
    """UPL-TRN-007 UPL-TRN-006: a transport made with ``region=`` signs every request with
    Signature V4 scoped to that region (the emulator verifies V4 and its region,
    EMU-SEC-012), UploadPart included: the upload succeeds, every part was V4-signed, and
    the object's CRC-64 is the file's."""
    recorder = _SchemeRecorder()
    transport = OssHttpTransport(
        timeout=10.0, session=oss2.Session(adapter=recorder), region=emu.region
    )
    path = write_file(tmp_path, "v4.mp4", 3 * MIN_PART + 17, seed=4)
    vod = make_vod(transport=transport)
    [view] = vod.upload(path, timeout=30)
    assert view.state is FileState.SUCCESS, view.error
    assert recorder.part_schemes and set(recorder.part_schemes) == {"OSS4-HMAC-SHA256"}
    assert stored_object(emu, root_transport, view) == (path.stat().st_size, file_crc(path))
    transport.close()
