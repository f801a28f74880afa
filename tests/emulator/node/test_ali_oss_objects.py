"""ali-oss 6.x against the emulator, in Node: small objects and listing.

PutObject/GetObject/HeadObject/DeleteObject in the three addressing styles, and the XML
answers ali-oss parses (listings, ListParts, DeleteMultipleObjects), ranges and presigned
URLs. How ali-oss reaches the emulator in each addressing style: see test_ali_oss.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from support.checksums import crc64
from support.node import NodeRunner, md5_etag, ok, open_uploads

pytestmark = [pytest.mark.node]

ADDRESSING = ["ip", "path", "vhost"]


# --------------------------------------------------------------------------------------
# Small objects


@pytest.mark.parametrize("addressing", ADDRESSING)
def test_put_get_head_delete_round_trip(
    run_node: NodeRunner, bucket_name: str, oss2_root: Callable[[str], Any], addressing: str
) -> None:
    """PutObject/GetObject/HeadObject/GetObjectMeta/DeleteObject through ali-oss, V1 signed
    (``x-oss-date`` in the Date slot), in all three addressing styles; chunked PutObject.

    EMU-OSS-001, EMU-OSS-003, EMU-OSS-004, EMU-OSS-006, EMU-OSS-010, EMU-OSS-017,
    EMU-OSS-020, EMU-OSS-031."""
    key = f"node/basic/{addressing}/hello world+1.txt"
    stream_key = f"node/basic/{addressing}/streamed.bin"
    result = ok(
        run_node(
            "basic.js", "--key", key, "--stream-key", stream_key,
            bucket=bucket_name, addressing=addressing,
        )
    )  # fmt: skip
    body = b"hello from ali-oss in node\n" * 37

    assert result["size"] == len(body)
    assert result["put"]["status"] == 200
    assert result["put"]["etag"] == md5_etag(body)
    assert result["put"]["crc64"] == str(crc64(body))
    assert result["put"]["requestId"]

    head = result["head"]
    assert head["status"] == 200
    assert head["etag"] == md5_etag(body)
    assert head["contentLength"] == str(len(body))
    assert head["crc64"] == str(crc64(body))
    assert head["meta"] == {"origin": "node"}
    assert head["contentType"] == "text/plain"
    assert result["objectMeta"]["contentLength"] == str(len(body))

    get = result["get"]
    assert get["status"] == 200
    assert get["matches"] is True
    assert get["crc64"] == str(crc64(body))

    streamed = result["streamed"]
    expected = b"\x01" * 70000 + b"\x02" * 50001 + b"tail"
    assert streamed["status"] == 200
    assert streamed["matches"] is True
    assert streamed["size"] == len(expected)
    assert streamed["etag"] == md5_etag(expected)
    assert streamed["crc64"] == str(crc64(expected))
    assert oss2_root(bucket_name).get_object(stream_key).read() == expected

    # The HEAD of a deleted key: no body, so ali-oss maps the bare 404 itself.
    assert result["headAfterDelete"]["name"] == "NoSuchKeyError"
    assert result["headAfterDelete"]["status"] == 404
    # The GET carries the OSS error XML, which ali-oss names Code + "Error".
    assert result["getAfterDelete"]["name"] == "NoSuchKeyError"
    assert result["getAfterDelete"]["code"] == "NoSuchKey"
    assert result["getAfterDelete"]["status"] == 404
    assert result["getAfterDelete"]["requestId"]
    assert not oss2_root(bucket_name).object_exists(key)


@pytest.mark.parametrize("addressing", ["path", "vhost"])
def test_listing_low_level_multipart_and_presigned_url(
    run_node: NodeRunner, bucket_name: str, oss2_root: Callable[[str], Any], addressing: str
) -> None:
    """The XML answers ali-oss parses with xml2js (ListObjects with a delimiter,
    ListObjectsV2 paging, ListParts, ListMultipartUploads, DeleteMultipleObjects), abort
    twice, a ranged GET and a V1 presigned URL from ``signatureUrl`` (which ali-oss
    refuses to build for an IP endpoint, hence path and vhost only).

    EMU-OSS-004, EMU-OSS-007, EMU-OSS-008, EMU-OSS-009, EMU-OSS-014, EMU-OSS-022."""
    prefix = f"node/listing/{addressing}/"
    result = ok(
        run_node("listing.js", "--prefix", prefix, bucket=bucket_name, addressing=addressing)
    )
    keys = result["keys"]

    listing = ok(result["list"])
    assert [o["name"] for o in listing["objects"]] == sorted(keys[:2])
    assert listing["prefixes"] == [prefix + "sub/"]
    assert listing["isTruncated"] is False
    for item in listing["objects"]:
        body = f"body of {item['name']}".encode()
        assert item["size"] == len(body)
        assert item["etag"] == md5_etag(body)
        assert item["lastModified"].endswith(".000Z")

    pages = ok(result["listV2Pages"])["pages"]
    assert [p["names"] for p in pages] == [sorted(keys)[:3], sorted(keys)[3:]]
    assert [p["isTruncated"] for p in pages] == [True, False]
    assert [int(p["keyCount"]) for p in pages] == [3, 1]

    multipart = ok(result["multipart"])
    assert multipart["initName"] == prefix + "low-level.bin"
    assert multipart["partEtag"] == md5_etag(b"\x07" * 150000)
    listed = multipart["listParts"]
    assert listed["uploadId"] == multipart["uploadId"]
    assert listed["count"] == 1 and listed["isTruncated"] == "false"
    assert listed["part"]["PartNumber"] == "1"
    assert listed["part"]["Size"] == "150000"
    assert listed["part"]["ETag"] == md5_etag(b"\x07" * 150000)
    assert [u["uploadId"] for u in multipart["uploads"]] == [multipart["uploadId"]]
    assert multipart["abortStatus"] == 204
    assert multipart["abortAgain"]["name"] == "NoSuchUploadError"
    assert open_uploads(oss2_root(bucket_name), prefix + "low-level.bin") == []

    deleted = ok(result["deleteMulti"])["deleted"]
    assert sorted(d["Key"] for d in deleted) == sorted([keys[0], prefix + "never-existed"])
    assert not oss2_root(bucket_name).object_exists(keys[0])

    ranged = ok(result["range"])
    assert ranged["status"] == 206 and ranged["body"] == "body"
    assert ranged["contentRange"] == f"bytes 0-3/{len('body of ' + keys[1])}"
    assert ok(result["stream"])["body"] == f"body of {keys[2]}"
    presigned = ok(result["signatureUrl"])
    assert presigned["status"] == 200 and presigned["body"] == f"body of {keys[3]}"
