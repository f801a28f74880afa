"""Hostile input at the edge: XML bombs, oversize bodies, bad keys, traversal attempts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import oss2
import pytest
import requests

from emulator.config import EmulatorConfig
from emulator.server import ThreadedServer
from emulator.state import EmulatorState

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&lol4;</ETag></Part>
</CompleteMultipartUpload>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&xxe;</ETag></Part>
</CompleteMultipartUpload>"""
QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "'
    + b"x" * 100_000
    + b'">]><CompleteMultipartUpload>'
    + b"&a;" * 1000
    + b"</CompleteMultipartUpload>"
)
DEEP = (
    b"<CompleteMultipartUpload>"
    + b"<a>" * 100_000
    + b"</a>" * 100_000
    + b"</CompleteMultipartUpload>"
)
OVERSIZE = (
    b"<CompleteMultipartUpload>"
    + b"<Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>" * 60_000
    + b"</CompleteMultipartUpload>"
)


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, QUADRATIC, DEEP, OVERSIZE, b"<unclosed", b"\xff\xfe"],
    ids=["billion-laughs", "external-entity", "quadratic", "deep", "oversize", "broken", "binary"],
)
def test_complete_rejects_hostile_xml(bucket: oss2.Bucket, body: bytes) -> None:
    """EMU-OSS-040: defusedxml after a 2 MiB cap: every bomb is MalformedXML (400), the
    upload stays open, and nothing is expanded or read from disk."""
    upload_id = bucket.init_multipart_upload("x").upload_id
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket._do("POST", bucket.bucket_name, "x", data=body, params={"uploadId": upload_id})
    assert (excinfo.value.status, excinfo.value.code) == (400, "MalformedXML")
    assert bucket.list_parts("x", upload_id).parts == []


def test_delete_multiple_rejects_bombs_and_too_many(bucket: oss2.Bucket) -> None:
    """EMU-OSS-040 EMU-OSS-007: DeleteMultipleObjects uses the same safe parser and caps."""
    for body in (BILLION_LAUGHS.replace(b"CompleteMultipartUpload", b"Delete"), b"<Delete/>"):
        with pytest.raises(oss2.exceptions.ServerError) as excinfo:
            bucket._do("POST", bucket.bucket_name, "", data=body, params={"delete": ""})
        assert excinfo.value.code == "MalformedXML"
    keys = "".join(f"<Object><Key>k{i}</Key></Object>" for i in range(1001))
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket._do(
            "POST", bucket.bucket_name, "", data=f"<Delete>{keys}</Delete>", params={"delete": ""}
        )
    assert excinfo.value.code == "MalformedXML"


@pytest.mark.parametrize(
    ("raw_key", "code"),
    [
        ("%00nul", "InvalidObjectName"),
        ("%2Fleading-slash", "InvalidObjectName"),
        ("%5Cleading-backslash", "InvalidObjectName"),
        ("k" * 1024, "InvalidObjectName"),
        ("%FF%FE", "InvalidURI"),
    ],
)
def test_invalid_keys(oss_emulator, bucket: oss2.Bucket, raw_key: str, code: str) -> None:
    """EMU-OSS-041: keys must be 1-1023 bytes of UTF-8 without NUL or a leading slash or
    backslash; the check runs before authentication, so a raw request shows it."""
    response = requests.put(f"{oss_emulator.url}/test-bucket/{raw_key}", data=b"x", timeout=5)
    assert response.status_code == 400
    assert f"<Code>{code}</Code>" in response.text
    assert bucket.put_object("k" * 1023, b"longest").status == 200


def test_keys_never_become_paths(tmp_path: Path, oss2_clients: list[Any]) -> None:
    """EMU-OSS-041: with --data-dir, traversal-looking keys are stored as blobs with
    random hex names inside the data directory; nothing is created outside it."""
    data_dir = tmp_path / "data"
    state = EmulatorState(EmulatorConfig(data_dir=data_dir, fsync=False))
    with ThreadedServer(state) as server:
        state.oss.ensure_bucket("safe-bucket")
        bucket = oss2.Bucket(
            oss2.Auth(state.config.access_key_id, state.config.access_key_secret),
            server.url,
            "safe-bucket",
        )
        oss2_clients.append(bucket)
        keys = ["../../escape", "..\\..\\escape2", "%2e%2e/escape3", "a/../../escape4", "C:\\x"]
        for key in keys:
            bucket.put_object(key, key.encode())
        for key in keys:
            assert bucket.get_object(key).read() == key.encode()
    state.close()
    outside = [p for p in tmp_path.rglob("*") if "escape" in p.name]
    assert outside == []
    blob_names = [p.name for p in (data_dir / "blobs").rglob("*") if p.is_file()]
    assert len(blob_names) == len(keys)
    assert all(len(name) == 32 and int(name, 16) >= 0 for name in blob_names)


def test_oversize_body_is_refused(oss2_clients: list[Any]) -> None:
    """EMU-OSS-042 EMU-SRV-002: a body over max_body_bytes is EntityTooLarge before it is
    read (Content-Length and chunked alike)."""
    state = EmulatorState(EmulatorConfig(max_body_bytes=1000))
    with ThreadedServer(state) as server:
        state.oss.ensure_bucket("small-bucket")
        bucket = oss2.Bucket(
            oss2.Auth(state.config.access_key_id, state.config.access_key_secret),
            server.url,
            "small-bucket",
        )
        oss2_clients.append(bucket)
        assert bucket.put_object("ok", b"x" * 1000).status == 200
        for body in (b"x" * 1001, iter([b"x" * 600, b"x" * 600])):
            with pytest.raises(oss2.exceptions.OssError) as excinfo:
                bucket.put_object("big", body)
            assert excinfo.value.status in (400, -2)  # -2: connection closed mid-upload
    state.db.close()
