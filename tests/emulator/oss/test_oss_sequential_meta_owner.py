"""Sequential multipart uploads, non-ASCII user metadata and Owner in listings, through
oss2 and alibabacloud-oss-v2, over a socket and in-process.
Requirements: specs/emulator-oss.md §2-§3 (EMU-OSS-054..EMU-OSS-056)."""

from __future__ import annotations

import base64
import hashlib

import alibabacloud_oss_v2 as oss
import oss2

PART = 100 * 1024


def test_sequential_upload_reports_whole_object_md5(bucket: oss2.Bucket) -> None:
    """EMU-OSS-054: ?sequential at initiate; Complete and later GET/HEAD carry the
    whole object's Content-MD5 (a plain multipart object has none)."""
    data = b"a" * PART + b"b" * 10
    upload_id = bucket.init_multipart_upload("seq.bin", params={"sequential": ""}).upload_id
    parts = [
        oss2.models.PartInfo(1, bucket.upload_part("seq.bin", upload_id, 1, data[:PART]).etag),
        oss2.models.PartInfo(2, bucket.upload_part("seq.bin", upload_id, 2, data[PART:]).etag),
    ]
    done = bucket.complete_multipart_upload("seq.bin", upload_id, parts)
    whole = base64.b64encode(hashlib.md5(data).digest()).decode()
    assert done.headers["Content-MD5"] == whole
    head = bucket.head_object("seq.bin")
    assert head.headers["Content-MD5"] == whole
    assert "x-emulator-sequential" not in {k.lower() for k in head.headers}
    assert bucket.get_object("seq.bin").read() == data
    plain = bucket.init_multipart_upload("plain.bin").upload_id
    etag = bucket.upload_part("plain.bin", plain, 1, b"x").etag
    bucket.complete_multipart_upload("plain.bin", plain, [oss2.models.PartInfo(1, etag)])
    assert "Content-MD5" not in bucket.head_object("plain.bin").headers


def test_non_ascii_user_metadata_is_signed_and_returned(bucket: oss2.Bucket) -> None:
    """EMU-OSS-055: UTF-8 metadata bytes are signed as UTF-8 text (V1 and V4) and come
    back as the same bytes, which requests shows as ISO-8859-1 text."""
    value = "北京 café"
    bucket.put_object("m.txt", b"v", headers={"x-oss-meta-city": value.encode("utf-8")})
    shown = bucket.head_object("m.txt").headers["x-oss-meta-city"]
    assert shown.encode("iso-8859-1").decode("utf-8") == value
    assert bucket.get_object_meta("m.txt").status == 200


def test_non_ascii_metadata_v4_and_v2(make_bucket, oss_emulator) -> None:  # type: ignore[no-untyped-def]
    """EMU-OSS-055: the same with oss2 V4 and alibabacloud-oss-v2 (V4 by default)."""
    v4 = make_bucket("meta-v4", auth=oss_emulator.auth_v4())
    v4.put_object("k", b"v", headers={"x-oss-meta-name": "Zoë Øre".encode()})
    stored = oss_emulator.state.oss.head_object("meta-v4", "k")
    assert stored is not None and stored.metadata == {"name": "Zoë Øre"}
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        oss_emulator.access_key_id, oss_emulator.access_key_secret
    )
    cfg.region, cfg.endpoint = oss_emulator.region, oss_emulator.url
    client = oss.Client(cfg)
    client.put_object(
        oss.PutObjectRequest(bucket="meta-v4", key="v2", body=b"x", metadata={"tag": "ascii"})
    )
    head = client.head_object(oss.HeadObjectRequest(bucket="meta-v4", key="v2"))
    assert head.metadata == {"tag": "ascii"}


def test_owner_in_list_objects_entries(bucket: oss2.Bucket, oss_emulator) -> None:  # type: ignore[no-untyped-def]
    """EMU-OSS-056: ListObjects entries carry Owner; ListObjectsV2 with fetch-owner."""
    bucket.put_object("o.txt", b"o")
    [entry] = bucket.list_objects().object_list
    assert entry.owner is not None
    assert entry.owner.id == oss_emulator.state.config.account_id
    [v2_entry] = bucket.list_objects_v2(fetch_owner=True).object_list
    assert v2_entry.owner.id == oss_emulator.state.config.account_id
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        oss_emulator.access_key_id, oss_emulator.access_key_secret
    )
    cfg.region, cfg.endpoint = oss_emulator.region, oss_emulator.url
    listed = oss.Client(cfg).list_objects(oss.ListObjectsRequest(bucket="test-bucket"))
    assert listed.contents[0].owner.id == oss_emulator.state.config.account_id
