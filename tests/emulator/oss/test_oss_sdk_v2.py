"""alibabacloud-oss-v2 against the emulator: V4 (default) and V1, STS, presign, uploader,
downloader, paginators, path style."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import alibabacloud_oss_v2 as oss
import pytest
import requests
from support.checksums import crc64

from emulator.credentials import CredentialKind

KIB = 1024


@pytest.fixture
def make_client(oss_emulator) -> Iterator[Callable[..., oss.Client]]:
    oss_emulator.state.oss.ensure_bucket("v2-bucket")

    def factory(
        *,
        signature_version: str | None = None,
        credentials: tuple[str, ...] | None = None,
        endpoint: str | None = None,
        **extra: Any,
    ) -> oss.Client:
        cfg = oss.config.load_default()
        cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
            *(credentials or (oss_emulator.access_key_id, oss_emulator.access_key_secret))
        )
        cfg.region = oss_emulator.region
        cfg.endpoint = endpoint or oss_emulator.url
        if signature_version:
            cfg.signature_version = signature_version
        for name, value in extra.items():
            setattr(cfg, name, value)
        return oss.Client(cfg)

    yield factory


@pytest.mark.parametrize("signature_version", [None, "v1"])
def test_objects_and_listing(make_client, signature_version: str | None) -> None:
    """EMU-OSS-051 EMU-OSS-003 EMU-OSS-009: put/get/head/list/delete with V4 (default)
    and V1; ETags keep their quotes; CRC headers check out."""
    client = make_client(signature_version=signature_version)
    put = client.put_object(
        oss.PutObjectRequest(bucket="v2-bucket", key="a b/ü+~*.txt", body=b"v2!")
    )
    assert put.etag.strip('"') == put.etag[1:-1] and put.hash_crc64 == str(crc64(b"v2!"))
    got = client.get_object(oss.GetObjectRequest(bucket="v2-bucket", key="a b/ü+~*.txt"))
    assert got.body.read() == b"v2!"
    head = client.head_object(oss.HeadObjectRequest(bucket="v2-bucket", key="a b/ü+~*.txt"))
    assert head.content_length == 3
    for index in range(5):
        client.put_object(oss.PutObjectRequest(bucket="v2-bucket", key=f"p/{index}", body=b"x"))
    paginator = client.list_objects_v2_paginator(limit=2)
    keys = [
        o.key
        for page in paginator.iter_page(oss.ListObjectsV2Request(bucket="v2-bucket"))
        for o in page.contents
    ]
    assert keys == ["a b/ü+~*.txt", "p/0", "p/1", "p/2", "p/3", "p/4"]
    v1_pages = client.list_objects_paginator(limit=3).iter_page(
        oss.ListObjectsRequest(bucket="v2-bucket", prefix="p/")
    )
    assert [o.key for page in v1_pages for o in page.contents] == [f"p/{i}" for i in range(5)]
    assert client.is_object_exist("v2-bucket", "p/0")
    assert not client.is_object_exist("v2-bucket", "nope")
    client.delete_object(oss.DeleteObjectRequest(bucket="v2-bucket", key="p/0"))
    deleted = client.delete_multiple_objects(
        oss.DeleteMultipleObjectsRequest(
            bucket="v2-bucket", objects=[oss.DeleteObject(key=f"p/{i}") for i in (1, 2)]
        )
    )
    assert sorted(d.key for d in deleted.deleted_objects) == ["p/1", "p/2"]
    with pytest.raises(oss.exceptions.OperationError) as excinfo:
        client.get_object(oss.GetObjectRequest(bucket="v2-bucket", key="nope"))
    assert excinfo.value.unwrap().code == "NoSuchKey"
    with pytest.raises(oss.exceptions.OperationError) as excinfo:
        client.head_object(oss.HeadObjectRequest(bucket="v2-bucket", key="nope"))
    assert excinfo.value.unwrap().code == "NoSuchKey"  # decoded from x-oss-err


def test_multipart_and_buckets(make_client) -> None:
    """EMU-OSS-051 EMU-OSS-013 EMU-OSS-014: v2's multipart calls with encoding-type=url
    and Content-MD5 everywhere, complete-all, bucket info and listing."""
    client = make_client()
    init = client.initiate_multipart_upload(
        oss.InitiateMultipartUploadRequest(bucket="v2-bucket", key="m/v ü.mp4")
    )
    assert init.key == "m/v ü.mp4"
    parts = [os.urandom(100 * KIB), os.urandom(10)]
    uploaded = []
    for number, data in enumerate(parts, start=1):
        result = client.upload_part(
            oss.UploadPartRequest(
                bucket="v2-bucket",
                key="m/v ü.mp4",
                upload_id=init.upload_id,
                part_number=number,
                body=data,
            )
        )
        uploaded.append(oss.UploadPart(part_number=number, etag=result.etag))
    listed = client.list_parts(
        oss.ListPartsRequest(bucket="v2-bucket", key="m/v ü.mp4", upload_id=init.upload_id)
    )
    assert [p.hash_crc64 for p in listed.parts] == [str(crc64(p)) for p in parts]
    uploads = client.list_multipart_uploads(oss.ListMultipartUploadsRequest(bucket="v2-bucket"))
    assert [u.key for u in uploads.uploads] == ["m/v ü.mp4"]
    done = client.complete_multipart_upload(
        oss.CompleteMultipartUploadRequest(
            bucket="v2-bucket",
            key="m/v ü.mp4",
            upload_id=init.upload_id,
            complete_multipart_upload=oss.CompleteMultipartUpload(parts=uploaded),
        )
    )
    assert done.key == "m/v ü.mp4"
    assert done.hash_crc64 == str(crc64(b"".join(parts)))
    second = client.initiate_multipart_upload(
        oss.InitiateMultipartUploadRequest(bucket="v2-bucket", key="all.bin")
    )
    client.upload_part(
        oss.UploadPartRequest(
            bucket="v2-bucket", key="all.bin", upload_id=second.upload_id, part_number=1, body=b"1"
        )
    )
    client.complete_multipart_upload(
        oss.CompleteMultipartUploadRequest(
            bucket="v2-bucket", key="all.bin", upload_id=second.upload_id, complete_all="yes"
        )
    )
    info = client.get_bucket_info(oss.GetBucketInfoRequest(bucket="v2-bucket"))
    assert info.bucket_info.name == "v2-bucket"
    buckets = [
        b.name
        for page in client.list_buckets_paginator().iter_page(oss.ListBucketsRequest())
        for b in page.buckets
    ]
    assert buckets == ["v2-bucket"]
    client.put_bucket(oss.PutBucketRequest(bucket="v2-fresh"))
    client.delete_bucket(oss.DeleteBucketRequest(bucket="v2-fresh"))


@pytest.mark.parametrize("signature_version", [None, "v1"])
def test_sts_and_presign(oss_emulator, make_client, signature_version: str | None) -> None:
    """EMU-OSS-051 EMU-OSS-024: STS credentials (v2's V1 mode sends the token in an
    unsigned security-token header) and presigned URLs."""
    state = oss_emulator.state
    cred = state.credentials.issue(now=state.clock.now(), ttl_seconds=600, kind=CredentialKind.STS)
    client = make_client(
        signature_version=signature_version,
        credentials=(cred.access_key_id, cred.access_key_secret, cred.security_token),
    )
    client.put_object(oss.PutObjectRequest(bucket="v2-bucket", key="sts.txt", body=b"sts"))
    presigned = client.presign(oss.GetObjectRequest(bucket="v2-bucket", key="sts.txt"))
    assert requests.get(presigned.url, timeout=5).content == b"sts"
    state.clock.advance(601)
    with pytest.raises(oss.exceptions.OperationError) as excinfo:
        client.get_object(oss.GetObjectRequest(bucket="v2-bucket", key="sts.txt"))
    assert excinfo.value.unwrap().code == "SecurityTokenExpired"


def test_uploader_and_downloader(tmp_path, make_client) -> None:
    """EMU-OSS-051: the v2 uploader (multipart, CRC checked) and downloader (ranged GETs
    with x-oss-range-behavior: standard, CRC checked)."""
    client = make_client()
    data = os.urandom(700 * KIB + 5)
    source = tmp_path / "src.bin"
    source.write_bytes(data)
    uploader = client.uploader(part_size=200 * KIB, parallel_num=3, leave_parts_on_error=True)
    result = uploader.upload_file(
        oss.PutObjectRequest(bucket="v2-bucket", key="up.bin"), filepath=str(source)
    )
    assert result.hash_crc64 == str(crc64(data))
    target = tmp_path / "down.bin"
    downloader = client.downloader(part_size=150 * KIB, parallel_num=3)
    downloader.download_file(
        oss.GetObjectRequest(bucket="v2-bucket", key="up.bin"), filepath=str(target)
    )
    assert target.read_bytes() == data


@pytest.mark.socket_only  # "localhost:PORT" is the point: in-process has no port
def test_localhost_needs_path_style(oss_emulator, make_client) -> None:
    """EMU-OSS-001 EMU-OSS-051: with a localhost endpoint v2 needs use_path_style (the
    README trap); with it, requests work."""
    port = oss_emulator.url.rsplit(":", 1)[1]
    client = make_client(endpoint=f"http://localhost:{port}", use_path_style=True)
    client.put_object(oss.PutObjectRequest(bucket="v2-bucket", key="ps.txt", body=b"path"))
    got = client.get_object(oss.GetObjectRequest(bucket="v2-bucket", key="ps.txt"))
    assert got.body.read() == b"path"
