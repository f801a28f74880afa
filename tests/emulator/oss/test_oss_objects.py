"""Objects and buckets through oss2 (V1 auth) over a real socket."""

from __future__ import annotations

import base64
import hashlib
import io
import time

import oss2
import pytest
import requests
from support.checksums import crc64

from emulator.oss.xmlutil import http_date


def fetch(bucket: oss2.Bucket, key: str, **kwargs) -> tuple[int, bytes, dict[str, str]]:
    """GET and read the whole body (an unread response would leak its socket)."""
    result = bucket.get_object(key, **kwargs)
    return result.status, result.read(), dict(result.headers)


def test_put_get_etag_crc(bucket: oss2.Bucket) -> None:
    """EMU-OSS-003 EMU-OSS-004 EMU-OSS-050: ETag and CRC-64 exactly as OSS makes them."""
    result = bucket.put_object("dir/hello world.txt", b"hello oss")
    assert result.etag == "337B33C02F89493026843983FF272A30"
    assert result.crc == 15021467531229347219
    assert result.resp.headers["Content-MD5"] == "M3szwC+JSTAmhDmD/ycqMA=="
    status, body, headers = fetch(bucket, "dir/hello world.txt")
    assert (status, body) == (200, b"hello oss")
    assert headers["x-oss-hash-crc64ecma"] == str(crc64(b"hello oss"))
    assert headers["x-oss-object-type"] == "Normal"
    assert headers["ETag"] == '"337B33C02F89493026843983FF272A30"'


def test_empty_object_and_unicode_keys(bucket: oss2.Bucket) -> None:
    """EMU-OSS-001: keys with %2F, '+', '//', trailing '/', unicode round-trip."""
    keys = ["a+b c.txt", "a//b.txt", "dir/", "ü/日本.txt", "x?y&z=1#frag", "~*'()!.txt"]
    for key in keys:
        bucket.put_object(key, key.encode())
    for key in keys:
        assert bucket.get_object(key).read() == key.encode()
    bucket.put_object("empty", b"")
    meta = bucket.head_object("empty")
    assert meta.content_length == 0
    assert meta.server_crc == 0


def test_ranged_get(bucket: oss2.Bucket) -> None:
    """EMU-OSS-004: Range gives 206 with Content-Range and the whole object's CRC."""
    data = bytes(range(256)) * 40
    bucket.put_object("r.bin", data)
    status, body, headers = fetch(bucket, "r.bin", byte_range=(10, 99))
    assert status == 206
    assert body == data[10:100]
    assert headers["Content-Range"] == f"bytes 10-99/{len(data)}"
    assert headers["x-oss-hash-crc64ecma"] == str(crc64(data))
    assert bucket.get_object("r.bin", byte_range=(None, 5)).read() == data[-5:]
    assert bucket.get_object("r.bin", byte_range=(10000, None)).read() == data[10000:]
    # Unsatisfiable: OSS ignores it by default, answers 416 under standard behaviour.
    assert fetch(bucket, "r.bin", byte_range=(20000, 20010))[:2] == (200, data)
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.get_object(
            "r.bin", byte_range=(20000, 20010), headers={"x-oss-range-behavior": "standard"}
        )
    assert excinfo.value.status == 416
    assert excinfo.value.code == "InvalidRange"


def test_conditional_get(bucket: oss2.Bucket) -> None:
    """EMU-OSS-005: If-Match / If-None-Match / If-(Un)Modified-Since."""
    etag = bucket.put_object("c.txt", b"conditional").etag
    assert bucket.get_object("c.txt", headers={"If-Match": etag}).read() == b"conditional"
    assert fetch(bucket, "c.txt", headers={"If-Match": f'"{etag}"'})[0] == 200
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object("c.txt", headers={"If-Match": "0" * 32})
    with pytest.raises(oss2.exceptions.NotModified):
        bucket.get_object("c.txt", headers={"If-None-Match": f'"{etag}"'})
    future = http_date(bucket_now(bucket) + 3600)
    past = http_date(bucket_now(bucket) - 3600)
    with pytest.raises(oss2.exceptions.NotModified):
        bucket.get_object("c.txt", headers={"If-Modified-Since": future})
    assert fetch(bucket, "c.txt", headers={"If-Modified-Since": past})[0] == 200
    with pytest.raises(oss2.exceptions.PreconditionFailed):
        bucket.get_object("c.txt", headers={"If-Unmodified-Since": past})
    assert fetch(bucket, "c.txt", headers={"If-Unmodified-Since": future})[0] == 200


def bucket_now(bucket: oss2.Bucket) -> float:
    return time.time()


def test_head_and_meta(bucket: oss2.Bucket) -> None:
    """EMU-OSS-006 EMU-OSS-010: HEAD has the true Content-Length, metadata and CRC."""
    data = b"x" * 12345
    bucket.put_object(
        "h.mp4",
        data,
        headers={"x-oss-meta-Author": "alice", "x-oss-meta-n": "1", "Cache-Control": "no-cache"},
    )
    head = bucket.head_object("h.mp4")
    assert head.content_length == len(data)
    assert head.content_type == "video/mp4"
    assert head.headers["x-oss-meta-author"] == "alice"
    assert head.headers["Cache-Control"] == "no-cache"
    assert head.server_crc == crc64(data)
    assert head.last_modified > 0
    meta = bucket.get_object_meta("h.mp4")
    assert meta.content_length == len(data)
    assert meta.etag == hashlib.md5(data).hexdigest().upper()
    assert bucket.object_exists("h.mp4")
    assert not bucket.object_exists("missing")
    _, _, headers = fetch(
        bucket,
        "h.mp4",
        params={"response-content-type": "text/plain", "response-cache-control": "max"},
    )
    assert headers["Content-Type"] == "text/plain"
    assert headers["Cache-Control"] == "max"


def test_head_error_carries_x_oss_err(oss_emulator, bucket: oss2.Bucket) -> None:
    """EMU-OSS-006 EMU-OSS-030: a HEAD error has no body but base64 XML in x-oss-err."""
    with pytest.raises(oss2.exceptions.NoSuchKey) as excinfo:
        bucket.head_object("missing")
    assert excinfo.value.code == "NoSuchKey"
    assert excinfo.value.ec == "0026-00000001"
    raw = requests.head(bucket.sign_url("HEAD", "missing", 60), timeout=5)
    assert raw.status_code == 404
    assert raw.content == b""
    document = base64.b64decode(raw.headers["x-oss-err"])
    assert b"<Code>NoSuchKey</Code>" in document
    assert raw.headers["x-oss-ec"] == "0026-00000001"


def test_error_document_shape(oss_emulator, bucket: oss2.Bucket) -> None:
    """EMU-OSS-030 EMU-OSS-031: <Error> has Code, Message, RequestId, HostId, EC."""
    response = requests.get(bucket.sign_url("GET", "missing", 60), timeout=5)
    assert response.status_code == 404
    body = response.text
    assert "xmlns" not in body
    for tag in ("Code", "Message", "RequestId", "HostId", "Key", "EC", "RecommendDoc"):
        assert f"<{tag}>" in body
    request_id = response.headers["x-oss-request-id"]
    assert len(request_id) == 24 and request_id.upper() == request_id
    assert f"<RequestId>{request_id}</RequestId>" in body
    assert response.headers["Server"] == "AliyunOSS"
    assert response.headers["Date"].endswith(" GMT")


def test_delete_objects(bucket: oss2.Bucket) -> None:
    """EMU-OSS-007: delete is 204 even when missing; batch delete with url encoding."""
    bucket.put_object("d1", b"1")
    bucket.put_object("d 2+", b"2")
    assert bucket.delete_object("d1").status == 204
    assert bucket.delete_object("d1").status == 204
    result = bucket.batch_delete_objects(["d 2+", "never-existed"])
    assert sorted(result.deleted_keys) == ["d 2+", "never-existed"]
    assert not bucket.object_exists("d 2+")


def test_chunked_put(bucket: oss2.Bucket) -> None:
    """EMU-OSS-017: a generator body goes out chunked and is stored whole."""
    chunks = [b"a" * 1000, b"b" * 70000, b"c"]

    def generate():
        yield from chunks

    result = bucket.put_object("chunked.bin", generate())
    data = b"".join(chunks)
    assert result.crc == crc64(data)
    assert bucket.get_object("chunked.bin").read() == data
    result = bucket.put_object("filelike.bin", io.BufferedReader(io.BytesIO(data)))
    assert bucket.get_object("filelike.bin").read() == data


def test_overwrite_replaces_and_frees_blob(oss_emulator, bucket: oss2.Bucket) -> None:
    """EMU-OSS-015: overwriting an object deletes the replaced blob after the commit."""
    bucket.put_object("o", b"first")
    before = oss_emulator.state.blobs.ids()
    bucket.put_object("o", b"second")
    after = oss_emulator.state.blobs.ids()
    assert len(before) == len(after) == 1
    assert before != after
    assert bucket.get_object("o").read() == b"second"
    bucket.delete_object("o")
    assert oss_emulator.state.blobs.ids() == set()


def test_forbid_overwrite(bucket: oss2.Bucket) -> None:
    """EMU-OSS-003: x-oss-forbid-overwrite keeps an existing object."""
    bucket.put_object("keep", b"1")
    with pytest.raises(oss2.exceptions.ServerError) as excinfo:
        bucket.put_object("keep", b"2", headers={"x-oss-forbid-overwrite": "true"})
    assert excinfo.value.code == "FileAlreadyExists"
    assert bucket.get_object("keep").read() == b"1"


def test_content_md5(bucket: oss2.Bucket) -> None:
    """EMU-OSS-016: a wrong or malformed Content-MD5 is InvalidDigest; a right one passes."""
    good = base64.b64encode(hashlib.md5(b"body").digest()).decode()
    bucket.put_object("m", b"body", headers={"Content-MD5": good})
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(oss2.exceptions.InvalidDigest) as excinfo:
        bucket.put_object("m", b"tampered", headers={"Content-MD5": wrong})
    assert (
        excinfo.value.details["CalculatedDigest"]
        == base64.b64encode(hashlib.md5(b"tampered").digest()).decode()
    )
    with pytest.raises(oss2.exceptions.InvalidDigest):
        bucket.put_object("m", b"body", headers={"Content-MD5": "not-base64!"})
    assert bucket.get_object("m").read() == b"body"


def test_buckets(oss_emulator, make_bucket, make_service) -> None:
    """EMU-OSS-002 EMU-OSS-043: bucket create/info/location/list/delete and errors."""
    service = make_service()
    b = make_bucket("alpha-bucket", create=False)
    assert b.create_bucket().status == 200
    assert b.create_bucket().status == 200  # idempotent for the owner
    make_bucket("beta-bucket")
    names = [x.name for x in oss2.BucketIterator(service)]
    assert names == ["alpha-bucket", "beta-bucket"]
    info = b.get_bucket_info()
    assert info.name == "alpha-bucket"
    assert info.location == f"oss-{oss_emulator.region}"
    assert info.creation_date.endswith(".000Z")
    assert b.get_bucket_location().location == f"oss-{oss_emulator.region}"
    assert b.get_bucket_acl().acl == "private"
    b.put_object("k", b"v")
    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        b.delete_bucket()
    b.delete_object("k")
    assert b.delete_bucket().status == 204
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.get_bucket_info()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.put_object("k", b"v")
    # oss2 refuses bad names itself, so send the request by hand.
    response = requests.put(f"{oss_emulator.url}/Bad_Name/", timeout=5)
    assert response.status_code == 400
    assert "<Code>InvalidBucketName</Code>" in response.text


def test_backend_contract_for_vod(oss_emulator, bucket: oss2.Bucket) -> None:
    """EMU-OSS-070: ensure_bucket, head_object, delete_object, dump and reset."""
    oss = oss_emulator.state.oss
    oss.ensure_bucket("outin-vod")
    oss.ensure_bucket("outin-vod")
    assert oss.head_object("outin-vod", "none") is None
    assert oss.head_object("no-such-bucket", "none") is None
    bucket.put_object("v.mp4", b"video", headers={"x-oss-meta-vid": "1"})
    info = oss.head_object("test-bucket", "v.mp4")
    assert info is not None
    assert (info.size, info.crc64, info.content_type) == (5, crc64(b"video"), "video/mp4")
    assert info.etag == hashlib.md5(b"video").hexdigest().upper()
    assert info.metadata == {"vid": "1"}
    upload = bucket.init_multipart_upload("open.bin").upload_id
    bucket.upload_part("open.bin", upload, 1, b"p")
    dump = oss.dump()
    assert [b["name"] for b in dump["buckets"]] == ["outin-vod", "test-bucket"]
    objects = dump["buckets"][1]["objects"]
    assert objects[0]["key"] == "v.mp4" and objects[0]["crc64"] == crc64(b"video")
    assert dump["uploads"][0]["upload_id"] == upload
    assert dump["uploads"][0]["parts"][0]["size"] == 1
    oss.delete_object("test-bucket", "v.mp4")
    oss.delete_object("test-bucket", "v.mp4")
    assert oss.head_object("test-bucket", "v.mp4") is None
    oss.reset()
    assert oss.dump() == {"buckets": [], "uploads": []}
    assert oss_emulator.state.blobs.ids() == set()


def test_cors_preflight_and_exposed_headers(oss_emulator, bucket: oss2.Bucket) -> None:
    """EMU-OSS-032: a browser preflight is allowed, and responses to a request with an
    Origin expose ETag, x-oss-request-id and x-oss-hash-crc64ecma (ali-oss reads them)."""
    origin = "http://localhost:3000"
    preflight = requests.options(
        f"{oss_emulator.url}/test-bucket/browser.txt",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,x-oss-date,content-type",
        },
        timeout=5,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]
    assert "x-oss-date" in preflight.headers["Access-Control-Allow-Headers"]
    url = bucket.sign_url("PUT", "browser.txt", 60)
    put = requests.put(url, data=b"cors", headers={"Origin": origin}, timeout=5)
    assert put.status_code == 200
    assert put.headers["Access-Control-Allow-Origin"] == origin
    exposed = {h.strip().lower() for h in put.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"etag", "x-oss-request-id", "x-oss-hash-crc64ecma"} <= exposed
    missing = requests.options(f"{oss_emulator.url}/test-bucket/x", timeout=5)
    assert missing.status_code == 400
